// HostTensor: values in host memory with a shape and dtype, and the wire format that carries elements to and
// from worker threads. Imports nothing but dtype.ts, so that workers load no tensor engine.

import { type DType, fromNumbers, isDType, type Storage, toFloat32 } from '../dtype.js';

const STORAGE: Record<DType, { name: string; check: (x: unknown) => boolean }> = {
  float32: { name: 'Float32Array', check: (x) => x instanceof Float32Array },
  float16: { name: 'Uint16Array', check: (x) => x instanceof Uint16Array },
  bfloat16: { name: 'Uint16Array', check: (x) => x instanceof Uint16Array },
  int32: { name: 'Int32Array', check: (x) => x instanceof Int32Array },
  bool: { name: 'Uint8Array', check: (x) => x instanceof Uint8Array },
};

/**
 * An n-dimensional array in host memory: the storage of `dtype` (float16/bfloat16 as Uint16Array bit
 * patterns) and a shape. Image decoders and worker maps produce them; `batch()` stacks them into one
 * Tensor without a round trip through the backend. Treat them as immutable.
 */
export class HostTensor {
  readonly data: Storage;
  readonly shape: number[];
  readonly dtype: DType;

  constructor(data: Storage, shape: number[], dtype: DType) {
    if (!isDType(dtype)) throw new Error(`HostTensor: unknown dtype '${String(dtype)}'`);
    if (!STORAGE[dtype].check(data))
      throw new Error(
        `HostTensor: ${dtype} values must be a ${STORAGE[dtype].name}, got ${(data as object)?.constructor?.name}`,
      );
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new Error(`HostTensor: bad shape [${shape}]`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length)
      throw new Error(`HostTensor: shape [${shape}] needs ${n} values, got ${data.length}`);
    this.data = data;
    this.shape = shape;
    this.dtype = dtype;
  }

  /** From plain numbers, rounded to `dtype`. */
  static from(values: ArrayLike<number>, shape: number[], dtype: DType = 'float32'): HostTensor {
    return new HostTensor(fromNumbers(dtype, values), shape, dtype);
  }

  get size(): number {
    return this.data.length;
  }

  /** The values: float32 for float dtypes (16-bit floats decoded exactly), Int32Array, Uint8Array for bool. */
  values(): Float32Array | Int32Array | Uint8Array {
    return this.dtype === 'int32' || this.dtype === 'bool'
      ? (this.data as Int32Array | Uint8Array)
      : toFloat32(this.dtype, this.data);
  }

  toString(): string {
    return `HostTensor(shape=[${this.shape}], dtype=${this.dtype})`;
  }
}

export const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;

const MARK = '__keelHostTensor';

/** Only whole, plain ArrayBuffers move (never a slice of a pool, such as small Node Buffers). */
const ownsBuffer = (v: ArrayBufferView) =>
  v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength;

/**
 * An element as structured-clonable data (HostTensors marked). With `transfer`, the buffers of typed arrays
 * are collected to move rather than copy (only for values the sender no longer needs).
 */
export function toWire(x: unknown, transfer?: Set<ArrayBuffer>): unknown {
  if (x instanceof HostTensor) {
    if (transfer && ownsBuffer(x.data)) transfer.add(x.data.buffer as ArrayBuffer);
    return { [MARK]: true, data: x.data, shape: x.shape, dtype: x.dtype };
  }
  if (ArrayBuffer.isView(x)) {
    if (transfer && ownsBuffer(x)) transfer.add(x.buffer as ArrayBuffer);
    return x;
  }
  if (Array.isArray(x)) return x.map((v) => toWire(v, transfer));
  if (isPlainObject(x)) {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) o[k] = toWire(v, transfer);
    return o;
  }
  return x;
}

export function fromWire(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(fromWire);
  if (isPlainObject(x)) {
    if (x[MARK] === true) return new HostTensor(x.data as Storage, x.shape as number[], x.dtype as DType);
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) o[k] = fromWire(v);
    return o;
  }
  return x;
}
