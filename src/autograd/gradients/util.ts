// Helpers shared by gradient rules.

import { reshape } from '../../tensor/ops/layout.js';
import { sum } from '../../tensor/ops/reduction.js';
import type { Tensor } from '../../tensor/tensor.js';

/** Sums a broadcast gradient back down to `shape` (the adjoint of broadcasting). */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  return reshape(axes.length ? sum(g, axes) : g, shape.slice());
}
