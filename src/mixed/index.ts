// mixedPrecision.*: Keras' mixed_precision API in camelCase.

export { type AutocastCounts, AutocastPolicy, autocast } from './autocast.js';
export {
  gradientUnderflow,
  PrecisionMonitor,
  type PrecisionReport,
  precisionReport,
  type UnderflowStats,
} from './diagnostics.js';
export { LossScaleOptimizer, type LossScaleOptions } from './loss-scale-optimizer.js';
export { globalPolicy, Policy, type PolicyName, setGlobalPolicy } from './policy.js';
