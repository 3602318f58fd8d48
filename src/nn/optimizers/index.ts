// train.*: optimizer factories with tfjs' names and positional signatures; Keras' options
// (clipNorm, clipValue, globalClipNorm, weightDecay) go in an optional trailing object.

import { AdamOptimizer, AdamWOptimizer } from './adam.js';
import { MomentumOptimizer } from './momentum.js';
import { type LearningRate, Optimizer, type OptimizerConfig, type OptimizerOptions } from './optimizer.js';
import { RMSPropOptimizer } from './rmsprop.js';
import { schedules } from './schedules.js';
import { SGDOptimizer } from './sgd.js';

export {
  type GradientsInput,
  type LearningRate,
  type NamedGradients,
  type NamedTensor,
  Optimizer,
  type OptimizerConfig,
  type OptimizerOptions,
} from './optimizer.js';
export {
  CosineDecay,
  type CosineDecayArgs,
  ExponentialDecay,
  type ExponentialDecayArgs,
  LearningRateSchedule,
  PiecewiseConstantDecay,
  type PiecewiseConstantDecayArgs,
} from './schedules.js';
export { AdamOptimizer, AdamWOptimizer, MomentumOptimizer, RMSPropOptimizer, SGDOptimizer };

export const train = {
  sgd: (learningRate: LearningRate, options?: OptimizerOptions) => new SGDOptimizer(learningRate, options),
  momentum: (learningRate: LearningRate, momentum: number, useNesterov = false, options?: OptimizerOptions) =>
    new MomentumOptimizer(learningRate, momentum, useNesterov, options),
  adam: (
    learningRate?: LearningRate,
    beta1?: number,
    beta2?: number,
    epsilon?: number,
    options?: OptimizerOptions,
  ) => new AdamOptimizer(learningRate, beta1, beta2, epsilon, options),
  adamw: (
    learningRate?: LearningRate,
    beta1?: number,
    beta2?: number,
    epsilon?: number,
    weightDecay?: number,
    options?: OptimizerOptions,
  ) => new AdamWOptimizer(learningRate, beta1, beta2, epsilon, weightDecay, options),
  rmsprop: (
    learningRate: LearningRate,
    decay?: number,
    momentum?: number,
    epsilon?: number,
    centered?: boolean,
    options?: OptimizerOptions,
  ) => new RMSPropOptimizer(learningRate, decay, momentum, epsilon, centered, options),
  schedules,
};

const FROM_CONFIG: Record<string, (config: OptimizerConfig) => Optimizer> = {
  SGD: SGDOptimizer.fromConfig,
  Momentum: MomentumOptimizer.fromConfig,
  Adam: AdamOptimizer.fromConfig,
  AdamW: AdamWOptimizer.fromConfig,
  RMSProp: RMSPropOptimizer.fromConfig,
};

/** Rebuilds an optimizer from `getClassName()` and `getConfig()` (as saved in a model's training config). */
export function optimizerFromConfig(className: string, config: OptimizerConfig): Optimizer {
  const make = FROM_CONFIG[className];
  if (!make)
    throw new Error(
      `optimizerFromConfig: unknown optimizer class '${className}'; known: ${Object.keys(FROM_CONFIG).join(', ')}`,
    );
  return make(config);
}

/**
 * compile()'s optimizer argument: an Optimizer is returned as is; a name (case-insensitive) makes
 * one with tfjs-layers' defaults: 'sgd' (lr 0.01), 'adam' (0.001, 0.9, 0.999, 1e-7), 'adamw'
 * (Keras' defaults), 'rmsprop' (0.001, decay 0.9, momentum 0, 1e-7).
 */
export function getOptimizer(identifier: string | Optimizer): Optimizer {
  if (identifier instanceof Optimizer) return identifier;
  const makers: Record<string, () => Optimizer> = {
    sgd: () => new SGDOptimizer(0.01),
    adam: () => new AdamOptimizer(0.001, 0.9, 0.999, 1e-7),
    adamw: () => new AdamWOptimizer(),
    rmsprop: () => new RMSPropOptimizer(0.001, 0.9, 0, 1e-7),
  };
  const make = typeof identifier === 'string' ? makers[identifier.toLowerCase()] : undefined;
  if (!make)
    throw new Error(
      `unknown optimizer ${JSON.stringify(identifier)}; expected an Optimizer or one of 'sgd', 'adam', 'adamw', 'rmsprop'`,
    );
  return make();
}
