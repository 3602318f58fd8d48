// Plain stochastic gradient descent (tfjs' SGDOptimizer): v -= lr * g.

import { mul, sub } from '../../tensor/ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import {
  type LearningRate,
  learningRateFromConfig,
  Optimizer,
  type OptimizerConfig,
  type OptimizerOptions,
  optionsFromConfig,
} from './optimizer.js';

export class SGDOptimizer extends Optimizer {
  static override readonly className: string = 'SGD';

  constructor(learningRate: LearningRate, options?: OptimizerOptions) {
    super(learningRate, options);
  }

  protected override updateVariable(value: Tensor, grad: Tensor, lr: number): Tensor {
    return sub(value, mul(grad, lr));
  }

  static fromConfig(config: OptimizerConfig): SGDOptimizer {
    return new SGDOptimizer(learningRateFromConfig(config.learningRate), optionsFromConfig(config));
  }
}
