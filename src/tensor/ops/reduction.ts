// Reductions: sum, mean, prod, max, min, argMax/argMin, logSumExp, moments (float32 accumulation inside).

import type { ReduceOp } from '../../backend/primitives.js';
import type { DType } from '../../dtype.js';
import { isFloatDType } from '../../dtype.js';
import { ENGINE } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { add, cast, exp, log, square, sub } from './elementwise.js';
import { reshape } from './layout.js';
import { check, convert, normAxes, normAxis, scoped, type TensorLike } from './util.js';

function reduce(
  op: ReduceOp,
  x: TensorLike,
  axis: number | number[] | undefined | null,
  keepDims: boolean,
): Tensor {
  return scoped(() => {
    let t = convert(x, 'x', op);
    const axes = normAxes(axis, t.rank, op);
    let dtype: DType = t.dtype;
    if (t.dtype === 'bool' && op !== 'max' && op !== 'min') {
      // tfjs: sum/prod of bools count in int32; max/min of bools stay bool (any/all)
      t = cast(t, 'int32');
      dtype = 'int32';
    }
    if (op === 'mean' && !isFloatDType(t.dtype)) {
      t = cast(t, 'float32');
      dtype = 'float32';
    }
    const outShape = t.shape.filter((_, i) => !axes.includes(i));
    const y =
      axes.length === 0 ? reshape(t, t.shape) : ENGINE.run('reduce', [t], { op, axes }, outShape, dtype);
    return keepDims
      ? reshape(
          y,
          t.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
        )
      : y;
  });
}

export const sum = (x: TensorLike, axis?: number | number[] | null, keepDims = false) =>
  reduce('sum', x, axis, keepDims);
export const mean = (x: TensorLike, axis?: number | number[] | null, keepDims = false) =>
  reduce('mean', x, axis, keepDims);
export const prod = (x: TensorLike, axis?: number | number[] | null, keepDims = false) =>
  reduce('prod', x, axis, keepDims);
export const max = (x: TensorLike, axis?: number | number[] | null, keepDims = false) =>
  reduce('max', x, axis, keepDims);
export const min = (x: TensorLike, axis?: number | number[] | null, keepDims = false) =>
  reduce('min', x, axis, keepDims);

function argReduce(op: 'argMax' | 'argMin', x: TensorLike, axis: number): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', op);
    check(t.rank > 0, op, () => 'needs a tensor of rank >= 1');
    const a = normAxis(axis, t.rank, op);
    return ENGINE.run(
      'argReduce',
      [t],
      { op, axis: a },
      t.shape.filter((_, i) => i !== a),
      'int32',
    );
  });
}

export const argMax = (x: TensorLike, axis = 0) => argReduce('argMax', x, axis);
export const argMin = (x: TensorLike, axis = 0) => argReduce('argMin', x, axis);

/** log(sum(exp(x))) computed stably by subtracting the max first. */
export function logSumExp(x: TensorLike, axis?: number | number[] | null, keepDims = false): Tensor {
  return scoped(() => {
    let t = convert(x, 'x', 'logSumExp');
    check(t.dtype !== 'bool', 'logSumExp', () => `argument 'x' must be numeric, got bool`);
    // tfjs computes int32 inputs in float32
    if (t.dtype === 'int32') t = cast(t, 'float32');
    const axes = normAxes(axis, t.rank, 'logSumExp');
    const m = ENGINE.noGrad(() => max(t, axes, true));
    const y = add(log(sum(exp(sub(t, m)), axes, true)), m);
    return keepDims
      ? y
      : reshape(
          y,
          t.shape.filter((_, i) => !axes.includes(i)),
        );
  });
}

/** Mean and (biased) variance over `axes`. */
export function moments(
  x: TensorLike,
  axes?: number | number[] | null,
  keepDims = false,
): { mean: Tensor; variance: Tensor } {
  return scoped(() => {
    const t = convert(x, 'x', 'moments');
    const m = mean(t, axes, true);
    const variance = mean(square(sub(t, m)), axes, keepDims);
    const outMean = keepDims ? m : reshape(m, variance.shape);
    return { mean: outMean, variance };
  });
}
