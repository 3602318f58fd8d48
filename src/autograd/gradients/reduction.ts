// Gradient rules of reductions.

import { isFloatDType } from '../../dtype.js';
import { div, equal, mul, where } from '../../tensor/ops/elementwise.js';
import { broadcastTo, reshape } from '../../tensor/ops/layout.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GradTable } from '../rule.js';

/** dy of a reduction, reshaped with the reduced axes as 1s and broadcast back to the input shape. */
function expand(t: Tensor, shape: readonly number[], axes: readonly number[]): Tensor {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return broadcastTo(reshape(t, kept), shape.slice());
}

export const reductionGrads: Pick<GradTable, 'reduce' | 'argReduce'> = {
  reduce: {
    save: ({ op }) => ({ inputs: op === 'sum' || op === 'mean' ? [] : [0], output: op !== 'sum' && op !== 'mean' }),
    grad: (dy, { attrs: { op, axes }, inputs, output, inputMeta }) => {
      const { shape, dtype } = inputMeta[0];
      if (!isFloatDType(dtype)) return [null];
      const g = expand(dy, shape, axes);
      switch (op) {
        case 'sum':
          return [g];
        case 'mean':
          return [div(g, axes.reduce((n, a) => n * shape[a], 1))];
        case 'prod':
          return [mul(g, div(expand(output!, shape, axes), inputs[0]!))];
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
