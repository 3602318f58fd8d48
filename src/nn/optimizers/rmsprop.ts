// RMSProp (tfjs' RMSPropOptimizer): slots 'rms' (mean square), 'momentum' and, when centered, 'mg'.

import { add, div, mul, sqrt, square, sub } from '../../tensor/ops/elementwise.js';
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

/**
 * ms = decay ms + (1 - decay) g²;  mom = momentum mom + lr g / sqrt(ms + eps);  w -= mom.
 * Centered: mg = decay mg + (1 - decay) g and the denominator is sqrt(ms - mg² + eps), as in
 * TensorFlow's ApplyCenteredRMSProp (tfjs 4.x subtracts eps there, which can take the root of a
 * negative number once the gradient is nearly constant; Keel does not copy that).
 */
export class RMSPropOptimizer extends Optimizer {
  static override readonly className: string = 'RMSProp';
  readonly decay: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly centered: boolean;

  constructor(
    learningRate: LearningRate,
    decay = 0.9,
    momentum = 0,
    epsilon = 1e-7,
    centered = false,
    options?: OptimizerOptions,
  ) {
    super(learningRate, options);
    this.decay = checkRange(this.who, 'decay', decay, 0, 1, { hi: true });
    this.momentum = checkRange(this.who, 'momentum', momentum, 0, 1);
    this.epsilon = checkRange(this.who, 'epsilon', epsilon, 0, Number.POSITIVE_INFINITY);
    this.centered = Boolean(centered);
  }

  protected override slotNames(): readonly string[] {
    return this.centered ? ['rms', 'momentum', 'mg'] : ['rms', 'momentum'];
  }

  protected override updateVariable(
    value: Tensor,
    grad: Tensor,
    lr: number,
    slots: Record<string, Variable>,
  ): Tensor {
    const ms = add(mul(slots.rms, this.decay), mul(square(grad), 1 - this.decay));
    let denominator: Tensor;
    if (this.centered) {
      const mg = add(mul(slots.mg, this.decay), mul(grad, 1 - this.decay));
      slots.mg.assign(mg);
      denominator = sqrt(add(sub(ms, square(mg)), this.epsilon));
    } else {
      denominator = sqrt(add(ms, this.epsilon));
    }
    const mom = add(mul(slots.momentum, this.momentum), div(mul(grad, lr), denominator));
    slots.rms.assign(ms);
    slots.momentum.assign(mom);
    return sub(value, mom);
  }

  override getConfig(): OptimizerConfig {
    return {
      ...super.getConfig(),
      decay: this.decay,
      momentum: this.momentum,
      epsilon: this.epsilon,
      centered: this.centered,
    };
  }

  static fromConfig(config: OptimizerConfig): RMSPropOptimizer {
    return new RMSPropOptimizer(
      learningRateFromConfig(config.learningRate),
      config.decay as number | undefined,
      config.momentum as number | undefined,
      config.epsilon as number | undefined,
      config.centered as boolean | undefined,
      optionsFromConfig(config),
    );
  }
}
