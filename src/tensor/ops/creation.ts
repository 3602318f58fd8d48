// Creating tensors: from values, filled, random (seeded), and variables.

import type { DType } from '../../dtype.js';
import { allocStorage, fromNumbers, isFloatDType } from '../../dtype.js';
import { ENGINE } from '../engine.js';
import { Random } from '../random.js';
import { sizeOf, type Tensor, type Variable } from '../tensor.js';
import { check, checkDtypeName, checkShape, fail, flatten, inferDtype, type TensorLike } from './util.js';

/** tf.tensor(values, shape?, dtype?): values are nested arrays, a flat array with `shape`, or a typed array. */
export function tensor(values: TensorLike, shape?: number[], dtype?: DType): Tensor {
  const op = 'tensor';
  if (values instanceof Object && 'shape' in values && 'dtype' in values)
    fail(op, 'values is already a Tensor; use clone() or cast()');
  const d = dtype === undefined ? inferDtype(values) : checkDtypeName(dtype, op);
  const { flat, shape: inferred } = flatten(values, op, 'values');
  let s = inferred;
  if (shape !== undefined) {
    s = checkShape(shape, op);
    const n = sizeOf(s);
    if (flat.length === 1 && n !== 1) return fill(s, flat[0], d);
    check(flat.length === n, op, () => `shape [${s}] needs ${n} values, got ${flat.length}`);
  }
  return ENGINE.makeTensor(fromNumbers(d, flat), s, d);
}

export function scalar(value: number | boolean, dtype?: DType): Tensor {
  check(
    typeof value === 'number' || typeof value === 'boolean',
    'scalar',
    () => `value must be a number or boolean, got ${typeof value}`,
  );
  return tensor(value, [], dtype);
}

function ranked(rank: number) {
  return (values: TensorLike, shape?: number[], dtype?: DType): Tensor => {
    const t = tensor(values, shape, dtype);
    if (t.rank !== rank) {
      t.dispose();
      fail(`tensor${rank}d`, `values must have rank ${rank}, got shape [${t.shape}]`);
    }
    return t;
  };
}
/** tfjs' signature: tensor1d(values, dtype?) — no shape argument. */
export function tensor1d(values: TensorLike, dtype?: DType): Tensor {
  return ranked(1)(values, undefined, dtype);
}
export const tensor2d = ranked(2);
export const tensor3d = ranked(3);
export const tensor4d = ranked(4);

export function fill(shape: number[], value: number, dtype: DType = 'float32'): Tensor {
  const s = checkShape(shape, 'fill');
  const d = checkDtypeName(dtype, 'fill');
  const storage = allocStorage(d, sizeOf(s));
  if (value !== 0) storage.fill(fromNumbers(d, [value])[0]);
  return ENGINE.makeTensor(storage, s, d);
}

export function zeros(shape: number[], dtype: DType = 'float32'): Tensor {
  return fill(shape, 0, dtype);
}

export function ones(shape: number[], dtype: DType = 'float32'): Tensor {
  return fill(shape, 1, dtype);
}

export function zerosLike(x: Tensor): Tensor {
  return fill(x.shape, 0, x.dtype);
}

export function onesLike(x: Tensor): Tensor {
  return fill(x.shape, 1, x.dtype);
}

/** Numbers from start (inclusive) to stop (exclusive) by step. */
export function range(start: number, stop: number, step = 1, dtype: DType = 'float32'): Tensor {
  const d = checkDtypeName(dtype, 'range');
  check(d !== 'bool', 'range', () => 'dtype must be numeric, got bool');
  check(
    [start, stop, step].every(Number.isFinite),
    'range',
    () => `start, stop and step must be finite, got ${start}, ${stop}, ${step}`,
  );
  check(step !== 0, 'range', () => 'step must not be 0');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const v = new Array<number>(n);
  for (let i = 0; i < n; i++) v[i] = start + i * step;
  return ENGINE.makeTensor(fromNumbers(d, v), [n], d);
}

function randomFloats(op: string, shape: number[], dtype: DType, gen: () => number): Tensor {
  const s = checkShape(shape, op);
  const d = checkDtypeName(dtype, op);
  check(isFloatDType(d) || d === 'int32', op, () => `dtype must be a float dtype or int32, got ${d}`);
  const n = sizeOf(s);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = gen();
  return ENGINE.makeTensor(fromNumbers(d, v), s, d);
}

function checkNormal(op: string, mean: number, stdDev: number): void {
  check(
    Number.isFinite(mean) && Number.isFinite(stdDev) && stdDev >= 0,
    op,
    () => `mean ${mean} and stdDev ${stdDev} must be finite, stdDev >= 0`,
  );
}

export function randomNormal(
  shape: number[],
  mean = 0,
  stdDev = 1,
  dtype: DType = 'float32',
  seed?: number,
): Tensor {
  checkNormal('randomNormal', mean, stdDev);
  const r = new Random(seed);
  return randomFloats('randomNormal', shape, dtype, () => mean + stdDev * r.normal());
}

/** Normal values re-drawn until within two standard deviations (Keras' truncated normal). */
export function truncatedNormal(
  shape: number[],
  mean = 0,
  stdDev = 1,
  dtype: DType = 'float32',
  seed?: number,
): Tensor {
  checkNormal('truncatedNormal', mean, stdDev);
  const r = new Random(seed);
  return randomFloats('truncatedNormal', shape, dtype, () => {
    for (;;) {
      const z = r.normal();
      if (Math.abs(z) <= 2) return mean + stdDev * z;
    }
  });
}

export function randomUniform(
  shape: number[],
  minval = 0,
  maxval = 1,
  dtype: DType = 'float32',
  seed?: number,
): Tensor {
  check(
    Number.isFinite(minval) && Number.isFinite(maxval) && maxval >= minval,
    'randomUniform',
    () => `need finite minval <= maxval, got ${minval}, ${maxval}`,
  );
  const r = new Random(seed);
  const int = dtype === 'int32';
  return randomFloats('randomUniform', shape, dtype, () => {
    const u = minval + (maxval - minval) * r.uniform();
    return int ? Math.floor(u) : u;
  });
}

let nextVariableId = 0;

/** A trainable (by default) variable holding a copy of `initialValue`, optionally cast to `dtype`. */
export function variable(initialValue: Tensor, trainable = true, name?: string, dtype?: DType): Variable {
  const d = dtype === undefined ? initialValue.dtype : checkDtypeName(dtype, 'variable');
  check(!initialValue.isDisposed, 'variable', () => 'initialValue is disposed');
  check(
    d === initialValue.dtype,
    'variable',
    () => `initialValue is ${initialValue.dtype}; cast it to ${d} first`,
  );
  const copy = ENGINE.makeTensor(ENGINE.readSync(initialValue).slice(), initialValue.shape.slice(), d);
  const v = ENGINE.makeVariable(copy, name ?? `variable${nextVariableId++}`, trainable, d);
  copy.dispose();
  return v;
}
