// Dataset elements: batching them into Tensors (collate), cloning and disposing the Tensors inside them.

import { type DType, fromNumbers, isDType, isFloatDType, type Storage } from '../dtype.js';
import { collectTensors, ENGINE } from '../tensor/engine.js';
import { cast, reshape, stack } from '../tensor/ops/index.js';
import { Tensor } from '../tensor/tensor.js';
import { HostTensor, isPlainObject } from './host.js';

/** A HostTensor as a Tensor (one upload to the backend). */
export function hostToTensor(h: HostTensor): Tensor {
  return ENGINE.makeTensor(h.data, h.shape.slice(), h.dtype);
}

/** dtype for batch(): one dtype for every float field, or one per top-level field (object key or tuple index). */
export type BatchDtype = DType | Record<string, DType>;

/** A nested array of numbers/booleans (a value, not a tuple of fields). */
function isNumericArray(x: unknown): boolean {
  if (!Array.isArray(x)) return typeof x === 'number' || typeof x === 'boolean';
  if (x.length === 0) return true;
  const scalar = (v: unknown) => typeof v === 'number' || typeof v === 'boolean';
  return Array.isArray(x[0]) ? x.every((v) => Array.isArray(v) && isNumericArray(v)) : x.every(scalar);
}

function typedDtype(a: ArrayBufferView): DType {
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'bool';
  return 'float32';
}

function flattenValue(x: unknown, where: string): { flat: ArrayLike<number>; shape: number[]; dtype: DType } {
  if (typeof x === 'number') return { flat: [x], shape: [], dtype: 'float32' };
  if (typeof x === 'boolean') return { flat: [x ? 1 : 0], shape: [], dtype: 'bool' };
  if (ArrayBuffer.isView(x) && !(x instanceof DataView))
    return {
      flat: x as unknown as ArrayLike<number>,
      shape: [(x as Float32Array).length],
      dtype: typedDtype(x),
    };
  const shape: number[] = [];
  let v: unknown = x;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  const flat: number[] = [];
  const walk = (a: unknown, d: number) => {
    if (d === shape.length) {
      if (typeof a !== 'number' && typeof a !== 'boolean')
        throw new Error(`batch: ${where} has a non-numeric value ${String(a)}`);
      flat.push(Number(a));
      return;
    }
    if (!Array.isArray(a) || a.length !== shape[d])
      throw new Error(`batch: ${where} is not a rectangular array`);
    for (const e of a) walk(e, d + 1);
  };
  walk(x, 0);
  return { flat, shape, dtype: typeof v === 'boolean' ? 'bool' : 'float32' };
}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (path: string) => (path ? `field '${path}'` : 'the element');

function target(natural: DType, want: DType | undefined, where: string): DType {
  if (want === undefined) return natural;
  if (!isDType(want)) throw new Error(`batch: unknown dtype '${String(want)}' for ${where}`);
  // a float dtype applies to float values only; labels stay int32
  if (isFloatDType(want) && !isFloatDType(natural)) return natural;
  return want;
}

function stackHost(items: HostTensor[], want: DType | undefined, path: string): Tensor {
  const first = items[0];
  const out = target(first.dtype, want, fmt(path));
  items.forEach((h, i) => {
    if (!sameShape(h.shape, first.shape))
      throw new Error(
        `batch: element ${i} ${fmt(path)} has shape [${h.shape}], element 0 has [${first.shape}]`,
      );
  });
  const n = first.size;
  const shape = [items.length, ...first.shape];
  if (items.every((h) => h.dtype === out)) {
    const storage = new (first.data.constructor as new (n: number) => Storage)(n * items.length);
    items.forEach((h, i) => {
      storage.set(h.data as never, i * n);
    });
    return ENGINE.makeTensor(storage, shape, out);
  }
  const f32 = new Float32Array(n * items.length);
  items.forEach((h, i) => {
    f32.set(h.values(), i * n);
  });
  return ENGINE.makeTensor(fromNumbers(out, f32), shape, out);
}

function stackTensors(items: Tensor[], want: DType | undefined, path: string): Tensor {
  const first = items[0];
  items.forEach((t, i) => {
    if (t.dtype !== first.dtype)
      throw new Error(`batch: element ${i} ${fmt(path)} is ${t.dtype}, element 0 is ${first.dtype}`);
    if (!sameShape(t.shape, first.shape))
      throw new Error(
        `batch: element ${i} ${fmt(path)} has shape [${t.shape}], element 0 has [${first.shape}]`,
      );
  });
  const out = target(first.dtype, want, fmt(path));
  const s = stack(items);
  if (out === s.dtype) return s;
  const c = cast(s, out);
  s.dispose();
  return c;
}

function stackValues(items: unknown[], want: DType | undefined, path: string): Tensor {
  const parts = items.map((x, i) => flattenValue(x, `element ${i} ${fmt(path)}`));
  const first = parts[0];
  parts.forEach((p, i) => {
    if (!sameShape(p.shape, first.shape))
      throw new Error(
        `batch: element ${i} ${fmt(path)} has shape [${p.shape}], element 0 has [${first.shape}]`,
      );
  });
  const out = target(first.dtype, want, fmt(path));
  const n = parts.reduce((a, p) => a + p.flat.length, 0);
  const all = new Float64Array(n);
  let at = 0;
  for (const p of parts) {
    all.set(p.flat, at);
    at += p.flat.length;
  }
  return ENGINE.makeTensor(fromNumbers(out, all), [items.length, ...first.shape], out);
}

/**
 * Stacks n elements of the same structure into one: each Tensor/HostTensor/number/array field becomes
 * a Tensor with a leading batch dimension; objects and tuples (arrays of non-numbers) batch per field.
 */
export function collate(items: unknown[], dtype?: BatchDtype, path = ''): unknown {
  const first = items[0];
  const fieldDtype = (key: string) =>
    dtype === undefined || typeof dtype === 'string'
      ? dtype
      : path === ''
        ? (dtype as Record<string, DType>)[key]
        : undefined;
  const inherit = typeof dtype === 'string' ? dtype : undefined;
  if (first instanceof Tensor) {
    if (!items.every((x) => x instanceof Tensor))
      throw new Error(`batch: ${fmt(path)} mixes Tensors and other values`);
    return stackTensors(items as Tensor[], inherit, path);
  }
  if (first instanceof HostTensor) {
    if (!items.every((x) => x instanceof HostTensor))
      throw new Error(`batch: ${fmt(path)} mixes HostTensors and other values`);
    return stackHost(items as HostTensor[], inherit, path);
  }
  if (
    typeof first === 'number' ||
    typeof first === 'boolean' ||
    ArrayBuffer.isView(first) ||
    (Array.isArray(first) && isNumericArray(first))
  )
    return stackValues(items, inherit, path);
  if (Array.isArray(first)) {
    return first.map((_, k) => {
      const key = path ? `${path}[${k}]` : String(k);
      return collate(
        items.map((x, i) => {
          if (!Array.isArray(x) || x.length !== first.length)
            throw new Error(`batch: element ${i} does not have the structure of element 0 at ${fmt(path)}`);
          return x[k];
        }),
        fieldDtype(String(k)),
        key,
      );
    });
  }
  if (isPlainObject(first)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(first)) {
      out[k] = collate(
        items.map((x, i) => {
          if (!isPlainObject(x) || !(k in x))
            throw new Error(`batch: element ${i} has no ${fmt(path ? `${path}.${k}` : k)}`);
          return x[k];
        }),
        fieldDtype(k),
        path ? `${path}.${k}` : k,
      );
    }
    return out;
  }
  throw new Error(
    `batch: ${fmt(path)} is ${first === null ? 'null' : typeof first}; only Tensors, HostTensors, numbers, booleans, ` +
      'typed arrays and nested number arrays can be batched (inside objects or arrays)',
  );
}

/** Disposes every Tensor inside an element. */
export function disposeElement(x: unknown): void {
  collectTensors(x, (t) => {
    if (!t.isDisposed) t.dispose();
  });
}

/** The Tensors inside an element. */
export function tensorsIn(x: unknown): Set<Tensor> {
  const s = new Set<Tensor>();
  collectTensors(x, (t) => s.add(t));
  return s;
}

/** A copy of the element's structure whose Tensors are new handles on the same buffers (disposable independently). */
export function cloneElement<T>(x: T): T {
  if (x instanceof Tensor) return reshape(x, x.shape) as T;
  if (Array.isArray(x)) return x.map((v) => cloneElement(v)) as T;
  if (isPlainObject(x)) {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) o[k] = cloneElement(v);
    return o as T;
  }
  return x;
}

/** Throws when an element holds a Tensor (worker threads cannot receive them). */
export function assertNoTensors(x: unknown, where: string): void {
  collectTensors(x, () => {
    throw new Error(
      `${where}: elements sent to worker threads cannot hold Tensors; map on workers before batch(), or use HostTensor`,
    );
  });
}
