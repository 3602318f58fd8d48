// Plain stochastic gradient descent: v -= lr * g.

import { mul, sub } from '../../tensor/ops/elementwise.js';
import type { Tensor, Variable } from '../../tensor/tensor.js';
import { Optimizer } from './optimizer.js';

export class SGDOptimizer extends Optimizer {
  constructor(public learningRate: number) {
    super();
    if (!(learningRate > 0)) throw new Error(`train.sgd: learningRate must be > 0, got ${learningRate}`);
  }

  protected override update(v: Variable, g: Tensor): void {
    v.assign(sub(v, mul(g, this.learningRate)));
  }
}
