// mixedPrecision.*: Keras' mixed_precision API in camelCase.
export { Policy, globalPolicy, setGlobalPolicy, type PolicyName } from './policy.js';
export { LossScaleOptimizer, type LossScaleOptions } from './loss-scale-optimizer.js';
export { PrecisionMonitor, type PrecisionReport, type UnderflowStats, gradientUnderflow, precisionReport } from './diagnostics.js';
export { autocast, AutocastPolicy, type AutocastCounts } from './autocast.js';
