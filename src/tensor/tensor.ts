// Tensor and Variable: immutable views of a backend buffer with a shape and dtype.

import type { DataId } from '../backend/backend.js';
import type { DType, Storage } from '../dtype.js';
import { decodeBfloat16, decodeFloat16 } from '../dtype.js';
import { ENGINE } from './engine.js';

export type Rank = number;
export type TypedArray = Float32Array | Int32Array | Uint8Array;
/** Nested JS arrays of a tensor's values, as `array()` returns them. */
export type NestedArray = number | NestedArray[];

/** A buffer shared by the tensors that view it (reshape shares); freed when the last one lets go. */
export interface DataRef {
  /** mutable only when a deferred (JIT) region hands its buffers to the real backend */
  dataId: DataId;
  backendName: string;
  readonly bytes: number;
  /** bytes if stored as float32 (twice `bytes` for 16-bit dtypes) */
  readonly asF32: number;
  refCount: number;
}

let nextTensorId = 0;

export class Tensor {
  readonly id: number;
  readonly shape: number[];
  readonly dtype: DType;
  readonly size: number;
  /** @internal the buffer; null once disposed */
  ref: DataRef | null;
  /** @internal true for tensors the tape holds privately (not counted, not scoped) */
  readonly internal: boolean;
  /** @internal kept out of tidy's disposal */
  kept = false;

  /**
   * @internal use the op functions (tensor(), zeros(), ...) to make tensors. `id` is given only to
   * the tape's private aliases, which keep their original's id so that enclosing tapes (higher-order
   * gradients) see an op on the alias as an op on the original.
   */
  constructor(ref: DataRef, shape: number[], dtype: DType, internal = false, id?: number) {
    this.id = id ?? nextTensorId++;
    this.ref = ref;
    this.shape = shape;
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.internal = internal;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.ref === null;
  }

  /** @internal the live buffer, or an error naming the operation that wanted it */
  dataRef(op: string): DataRef {
    if (this.ref === null)
      throw new Error(`${op}: tensor ${this.id} (shape [${this.shape}], ${this.dtype}) is disposed`);
    return this.ref;
  }

  /** Values as a new array: Float32Array for float dtypes (16-bit ones decoded exactly), Int32Array, Uint8Array for bool. */
  dataSync(): TypedArray {
    return toUserArray(this.dtype, ENGINE.readSync(this));
  }

  async data(): Promise<TypedArray> {
    return toUserArray(this.dtype, await ENGINE.read(this));
  }

  async array(): Promise<NestedArray> {
    return nest(await this.data(), this.shape);
  }

  arraySync(): NestedArray {
    return nest(this.dataSync(), this.shape);
  }

  dispose(): void {
    ENGINE.disposeTensor(this);
  }

  toString(): string {
    return `Tensor(shape=[${this.shape}], dtype=${this.dtype})`;
  }
}

/** A mutable tensor: training updates it in place with `assign`; tidy never disposes it. */
export class Variable extends Tensor {
  readonly name: string;
  trainable: boolean;

  /** @internal use variable() */
  constructor(ref: DataRef, shape: number[], dtype: DType, name: string, trainable: boolean) {
    super(ref, shape, dtype);
    this.name = name;
    this.trainable = trainable;
  }

  /** Replaces the value; the new value must have this variable's shape and dtype. */
  assign(value: Tensor): void {
    ENGINE.assignVariable(this, value);
  }
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function toUserArray(dtype: DType, s: Storage): TypedArray {
  if (dtype === 'float16') return decodeFloat16(s as Uint16Array);
  if (dtype === 'bfloat16') return decodeBfloat16(s as Uint16Array);
  return s.slice() as TypedArray;
}

function nest(values: TypedArray, shape: readonly number[]): NestedArray {
  if (shape.length === 0) return values[0];
  const build = (offset: number, dim: number): NestedArray[] => {
    const n = shape[dim];
    const stride = sizeOf(shape.slice(dim + 1));
    const out: NestedArray[] = [];
    for (let i = 0; i < n; i++) {
      out.push(dim === shape.length - 1 ? values[offset + i] : build(offset + i * stride, dim + 1));
    }
    return out;
  };
  return build(0, 0);
}
