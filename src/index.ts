// The public API of Keel (SPEC.md): re-exports only.

import './backend/register.js';
import './tensor/chain.js';

export { DTYPES, type DType } from './dtype.js';
export { Tensor, Variable, type NestedArray, type TypedArray } from './tensor/tensor.js';
export * from './tensor/ops/index.js';
export { tidy, dispose, keep, memory, resetPeakMemory, setBackend, getBackend, ready } from './tensor/lifetime.js';
export type { MemoryInfo } from './tensor/engine.js';
export { grad, grads, valueAndGrad, valueAndGrads, variableGrads, customGrad } from './autograd/grad.js';
export * as losses from './tensor/ops/losses.js';
export { train, Optimizer, AdamOptimizer, SGDOptimizer } from './nn/optimizers/index.js';
