// Argument checking and conversion shared by every op: errors name the op, the argument and what was expected.

import type { DType } from '../../dtype.js';
import { fromNumbers, isDType, isFloatDType } from '../../dtype.js';
import { ENGINE } from '../engine.js';
import { Tensor } from '../tensor.js';

/** What ops accept where a tensor is expected: a tensor, a number, or (nested) arrays of numbers/booleans. */
export type TensorLike = Tensor | number | boolean | TensorLikeArray | Float32Array | Int32Array | Uint8Array;
export interface TensorLikeArray extends Array<number | boolean | TensorLikeArray> {}

export function fail(op: string, msg: string): never {
  throw new Error(`${op}: ${msg}`);
}

export function check(cond: boolean, op: string, msg: () => string): asserts cond {
  if (!cond) fail(op, msg());
}

export function describe(t: Tensor): string {
  return `shape [${t.shape}] ${t.dtype}`;
}

/** Flattens nested arrays, checking they are rectangular; returns values and inferred shape. */
export function flatten(values: unknown, op: string, arg: string): { flat: number[]; shape: number[] } {
  if (typeof values === 'number' || typeof values === 'boolean') return { flat: [Number(values)], shape: [] };
  if (ArrayBuffer.isView(values))
    return { flat: Array.from(values as Float32Array), shape: [(values as Float32Array).length] };
  if (!Array.isArray(values))
    fail(op, `argument '${arg}' must be a tensor, number or array, got ${typeof values}`);
  const shape: number[] = [];
  let level: unknown = values;
  while (Array.isArray(level) || ArrayBuffer.isView(level)) {
    const arr = level as ArrayLike<unknown>;
    shape.push(arr.length);
    level = arr[0];
  }
  const flat: number[] = [];
  const walk = (v: unknown, dim: number, path: string) => {
    if (dim === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean')
        fail(op, `argument '${arg}' has a non-numeric element at ${path}: ${String(v)}`);
      flat.push(Number(v));
      return;
    }
    if (!(Array.isArray(v) || ArrayBuffer.isView(v)) || (v as ArrayLike<unknown>).length !== shape[dim])
      fail(op, `argument '${arg}' is not rectangular: element ${path} should have length ${shape[dim]}`);
    const arr = v as ArrayLike<unknown>;
    for (let i = 0; i < arr.length; i++) walk(arr[i], dim + 1, `${path}[${i}]`);
  };
  walk(values, 0, arg);
  return { flat, shape };
}

export function inferDtype(values: unknown): DType {
  let v = values;
  while (Array.isArray(v) || ArrayBuffer.isView(v)) {
    if (v instanceof Int32Array) return 'int32';
    if (v instanceof Uint8Array) return 'bool';
    v = (v as ArrayLike<unknown>)[0];
  }
  return typeof v === 'boolean' ? 'bool' : 'float32';
}

/** Turns a tensor-like argument into a tensor; numbers take `dtypeHint` when given. */
export function convert(x: TensorLike, arg: string, op: string, dtypeHint?: DType): Tensor {
  if (x instanceof Tensor) {
    if (x.isDisposed) fail(op, `argument '${arg}' (tensor ${x.id}, shape [${x.shape}]) is disposed`);
    return x;
  }
  const { flat, shape } = flatten(x, op, arg);
  let dtype = dtypeHint ?? inferDtype(x);
  if (dtype === 'int32' && flat.some((v) => !Number.isInteger(v))) dtype = 'float32';
  return ENGINE.makeTensor(fromNumbers(dtype, flat), shape, dtype);
}

export function checkDtypeName(dtype: unknown, op: string): DType {
  if (!isDType(dtype))
    fail(op, `unknown dtype '${String(dtype)}'; expected one of float32, float16, bfloat16, int32, bool`);
  return dtype;
}

export function requireFloat(t: Tensor, arg: string, op: string): void {
  check(
    isFloatDType(t.dtype),
    op,
    () => `argument '${arg}' must be a float tensor (float32, float16 or bfloat16), got ${t.dtype}`,
  );
}

/**
 * Two operands' common dtype: equal dtypes pass; int32/bool meets a float and is cast up (as tfjs does);
 * two different float dtypes are an error — mixed precision casts explicitly.
 */
export function commonDtype(a: Tensor, b: Tensor, op: string, names = ['a', 'b']): DType {
  if (a.dtype === b.dtype) return a.dtype;
  const fa = isFloatDType(a.dtype);
  const fb = isFloatDType(b.dtype);
  // under automatic mixed precision, mixed floats meet in the 16-bit dtype (TF AMP's infer list)
  if (fa && fb && ENGINE.autocast) return ENGINE.autocast.dtype;
  if (fa && fb)
    fail(
      op,
      `argument '${names[0]}' is ${a.dtype} but '${names[1]}' is ${b.dtype}: mixing float dtypes is not allowed, cast one explicitly`,
    );
  if (fa) return a.dtype;
  if (fb) return b.dtype;
  return 'int32';
}

/** Converts two tensor-like operands so that numbers adopt the tensor operand's dtype. */
export function convertPair(a: TensorLike, b: TensorLike, op: string): [Tensor, Tensor] {
  const ta = a instanceof Tensor ? convert(a, 'a', op) : null;
  const tb = b instanceof Tensor ? convert(b, 'b', op) : null;
  const A = ta ?? convert(a, 'a', op, literalDtype(a, tb));
  const B = tb ?? convert(b, 'b', op, literalDtype(b, A));
  return [A, B];
}

function literalDtype(x: TensorLike, other: Tensor | null): DType | undefined {
  if (!other) return undefined;
  if (other.dtype === 'bool') return inferDtype(x) === 'bool' ? 'bool' : undefined;
  return other.dtype;
}

/** Resolves a possibly negative axis against `rank`. */
export function normAxis(axis: number, rank: number, op: string, arg = 'axis'): number {
  check(Number.isInteger(axis), op, () => `${arg} must be an integer, got ${axis}`);
  const a = axis < 0 ? axis + rank : axis;
  check(a >= 0 && a < rank, op, () => `${arg} ${axis} is out of range for a tensor of rank ${rank}`);
  return a;
}

/** Axes argument (undefined = all) as sorted unique non-negative axes. */
export function normAxes(axis: number | number[] | undefined | null, rank: number, op: string): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: rank }, (_, i) => i);
  const list = Array.isArray(axis) ? axis : [axis];
  const out = [...new Set(list.map((a) => normAxis(a, rank, op)))];
  check(out.length === list.length, op, () => `duplicate axes in [${list}]`);
  return out.sort((x, y) => x - y);
}

export function broadcastShapes(a: readonly number[], b: readonly number[], op: string): number[] {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    check(
      da === db || da === 1 || db === 1,
      op,
      () => `shapes [${a}] and [${b}] cannot be broadcast together`,
    );
    out[i] = da === 1 ? db : da;
  }
  return out;
}

export function checkShape(shape: readonly number[], op: string, arg = 'shape'): number[] {
  check(
    Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0),
    op,
    () => `${arg} must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
  );
  return shape.slice();
}

/**
 * Runs an op's body in its own scope, as tfjs' op wrapper does: intermediate tensors and tensors
 * converted from arrays are freed even outside tidy(); the result (a tensor, or tensors in an
 * array/object) survives into the caller's scope. The tape keeps its own handles, so gradients still work.
 */
export function scoped<T>(fn: () => T): T {
  ENGINE.startScope();
  let out: T | undefined;
  try {
    out = fn();
    return out;
  } finally {
    ENGINE.endScope(out);
  }
}
