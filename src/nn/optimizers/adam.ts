// Adam (tfjs' AdamOptimizer) and AdamW (Keras 3's AdamW), with float32 moment slots 'm' and 'v'.

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
 * tfjs' Adam (defaults lr 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7), at step t = iterations + 1:
 * m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g²;  w -= lr * m̂ / (sqrt(v̂) + eps)
 * with m̂ = m / (1 - b1^t), v̂ = v / (1 - b2^t).
 */
export class AdamOptimizer extends Optimizer {
  static override readonly className: string = 'Adam';
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  constructor(
    learningRate: LearningRate = 0.001,
    beta1 = 0.9,
    beta2 = 0.999,
    epsilon = 1e-7,
    options?: OptimizerOptions,
  ) {
    super(learningRate, options);
    this.beta1 = checkRange(this.who, 'beta1', beta1, 0, 1, { hi: true });
    this.beta2 = checkRange(this.who, 'beta2', beta2, 0, 1, { hi: true });
    this.epsilon = checkRange(this.who, 'epsilon', epsilon, 0, Number.POSITIVE_INFINITY);
  }

  protected override slotNames(): readonly string[] {
    return ['m', 'v'];
  }

  /** Updates and returns the moments. */
  protected moments(grad: Tensor, slots: Record<string, Variable>): { m: Tensor; v: Tensor } {
    const m = add(mul(slots.m, this.beta1), mul(grad, 1 - this.beta1));
    const v = add(mul(slots.v, this.beta2), mul(square(grad), 1 - this.beta2));
    slots.m.assign(m);
    slots.v.assign(v);
    return { m, v };
  }

  protected override updateVariable(
    value: Tensor,
    grad: Tensor,
    lr: number,
    slots: Record<string, Variable>,
  ): Tensor {
    const t = this.iterations + 1;
    const { m, v } = this.moments(grad, slots);
    const mHat = div(m, 1 - this.beta1 ** t);
    const vHat = div(v, 1 - this.beta2 ** t);
    return sub(value, mul(div(mHat, add(sqrt(vHat), this.epsilon)), lr));
  }

  override getConfig(): OptimizerConfig {
    return { ...super.getConfig(), beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

  static fromConfig(config: OptimizerConfig): AdamOptimizer {
    return new AdamOptimizer(
      learningRateFromConfig(config.learningRate),
      config.beta1 as number | undefined,
      config.beta2 as number | undefined,
      config.epsilon as number | undefined,
      optionsFromConfig(config),
    );
  }
}

/**
 * Keras 3's AdamW (defaults lr 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7, weightDecay 0.004).
 * Each step first decays the weights, w -= lr * weightDecay * w (decoupled, skipped for names given
 * to excludeFromWeightDecay), then takes Keras' Adam step:
 * m += (g - m)(1 - b1);  v += (g² - v)(1 - b2);  w -= m * lr * sqrt(1 - b2^t) / (1 - b1^t) / (sqrt(v) + eps).
 * (Keras adds epsilon to sqrt(v), not to sqrt(v̂) as tfjs' Adam does.)
 */
export class AdamWOptimizer extends AdamOptimizer {
  static override readonly className: string = 'AdamW';

  constructor(
    learningRate: LearningRate = 0.001,
    beta1 = 0.9,
    beta2 = 0.999,
    epsilon = 1e-7,
    weightDecay = 0.004,
    options: OptimizerOptions = {},
  ) {
    super(learningRate, beta1, beta2, epsilon, { ...options, weightDecay });
    if (this.weightDecay === undefined) this.weightDecay = 0.004;
  }

  protected override moments(grad: Tensor, slots: Record<string, Variable>): { m: Tensor; v: Tensor } {
    const m = add(slots.m, mul(sub(grad, slots.m), 1 - this.beta1));
    const v = add(slots.v, mul(sub(square(grad), slots.v), 1 - this.beta2));
    slots.m.assign(m);
    slots.v.assign(v);
    return { m, v };
  }

  protected override updateVariable(
    value: Tensor,
    grad: Tensor,
    lr: number,
    slots: Record<string, Variable>,
  ): Tensor {
    const t = this.iterations + 1;
    const { m, v } = this.moments(grad, slots);
    const alpha = (lr * Math.sqrt(1 - this.beta2 ** t)) / (1 - this.beta1 ** t);
    return sub(value, div(mul(m, alpha), add(sqrt(v), this.epsilon)));
  }

  static override fromConfig(config: OptimizerConfig): AdamWOptimizer {
    return new AdamWOptimizer(
      learningRateFromConfig(config.learningRate),
      config.beta1 as number | undefined,
      config.beta2 as number | undefined,
      config.epsilon as number | undefined,
      config.weightDecay as number | undefined,
      optionsFromConfig(config),
    );
  }
}
