// Gradient rules of reductions.

import { isFloatDType } from '../../dtype.js';
import { cast, div, equal, mul, where } from '../../tensor/ops/elementwise.js';
import { broadcastTo, reshape } from '../../tensor/ops/layout.js';
import { prod, sum } from '../../tensor/ops/reduction.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GradTable } from '../rule.js';

/** dy of a reduction, reshaped with the reduced axes as 1s and broadcast back to the input shape. */
function expand(t: Tensor, shape: readonly number[], axes: readonly number[]): Tensor {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return broadcastTo(reshape(t, kept), shape.slice());
}

/**
 * d prod(x) / d x_i = the product of the other elements of x_i's group. y / x_i is that product only
 * where x_i != 0; with zeros: one zero gets the product of the non-zeros, everything else 0 (as tfjs).
 */
function prodOfOthers(x: Tensor, y: Tensor, shape: readonly number[], axes: readonly number[]): Tensor {
  const isZero = equal(x, 0);
  const zeros = expand(sum(cast(isZero, 'int32'), axes.slice(), true), shape, axes);
  const nonZeroProd = expand(prod(where(isZero, 1, x), axes.slice(), true), shape, axes);
  // y / x where the group has no zero (x != 0 there); the division elsewhere is never selected
  const noZero = div(expand(y, shape, axes), where(isZero, 1, x));
  const oneZero = where(isZero, nonZeroProd, 0);
  return where(equal(zeros, 0), noZero, where(equal(zeros, 1), oneZero, 0));
}

export const reductionGrads: Pick<GradTable, 'reduce' | 'argReduce'> = {
  reduce: {
    save: ({ op }) => ({
      inputs: op === 'sum' || op === 'mean' ? [] : [0],
      output: op !== 'sum' && op !== 'mean',
    }),
    grad: (dy, { attrs: { op, axes }, inputs, output, inputMeta }) => {
      const { shape, dtype } = inputMeta[0];
      if (!isFloatDType(dtype)) return [null];
      const g = expand(dy, shape, axes);
      switch (op) {
        case 'sum':
          return [g];
        case 'mean':
          return [
            div(
              g,
              axes.reduce((n, a) => n * shape[a], 1),
            ),
          ];
        case 'prod':
          return [mul(g, prodOfOthers(inputs[0]!, output!, shape, axes))];
        case 'max':
        case 'min':
          // every element equal to the extreme receives the gradient (as tfjs does)
          return [where(equal(inputs[0]!, expand(output!, shape, axes)), g, 0)];
        default:
          return op satisfies never;
      }
    },
  },
  argReduce: { save: () => ({ inputs: [], output: false }), grad: () => [null] },
};
