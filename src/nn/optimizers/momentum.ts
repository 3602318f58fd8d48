// SGD with momentum (tfjs' MomentumOptimizer): accum = momentum * accum + g, then
// v -= lr * accum, or with Nesterov v -= lr * (g + momentum * accum).

import { add, mul, sub } from '../../tensor/ops/elementwise.js';
import type { Tensor, Variable } from '../../tensor/tensor.js';
import {
  checkRange,
  type LearningRate,
  learningRateFromConfig,
  Optimizer,
  type OptimizerConfig,
  type OptimizerOptions,
  optionsFromConfig,
} from './optimizer.js';

export class MomentumOptimizer extends Optimizer {
  static override readonly className: string = 'Momentum';
  readonly momentum: number;
  readonly useNesterov: boolean;

  constructor(learningRate: LearningRate, momentum: number, useNesterov = false, options?: OptimizerOptions) {
    super(learningRate, options);
    this.momentum = checkRange(this.who, 'momentum', momentum, 0, 1);
    this.useNesterov = Boolean(useNesterov);
  }

  protected override slotNames(): readonly string[] {
    return ['momentum'];
  }

  protected override updateVariable(
    value: Tensor,
    grad: Tensor,
    lr: number,
    slots: Record<string, Variable>,
  ): Tensor {
    const accum = add(mul(slots.momentum, this.momentum), grad);
    slots.momentum.assign(accum);
    const step = this.useNesterov ? add(grad, mul(accum, this.momentum)) : accum;
    return sub(value, mul(step, lr));
  }

  override getConfig(): OptimizerConfig {
    return { ...super.getConfig(), momentum: this.momentum, useNesterov: this.useNesterov };
  }

  static fromConfig(config: OptimizerConfig): MomentumOptimizer {
    return new MomentumOptimizer(
      learningRateFromConfig(config.learningRate),
      config.momentum as number,
      config.useNesterov as boolean,
      optionsFromConfig(config),
    );
  }
}
