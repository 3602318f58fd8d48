// The public API of Keel (SPEC.md): re-exports only.

import './backend/register.js';
import './tensor/chain.js';

export { DTYPES, type DType } from './dtype.js';
export { Tensor, Variable, type NestedArray, type TypedArray } from './tensor/tensor.js';
export * from './tensor/ops/index.js';
export { tidy, dispose, keep, memory, resetPeakMemory, setBackend, getBackend, getDevice, ready } from './tensor/lifetime.js';
export type { MemoryInfo } from './tensor/engine.js';
export { grad, grads, valueAndGrad, valueAndGrads, variableGrads, customGrad } from './autograd/grad.js';
export * as losses from './tensor/ops/losses.js';
export { train, Optimizer, AdamOptimizer, SGDOptimizer } from './nn/optimizers/index.js';
export { AdamWOptimizer, MomentumOptimizer, RMSPropOptimizer, LearningRateSchedule, getOptimizer, optimizerFromConfig, type NamedTensor, type OptimizerOptions, type LearningRate } from './nn/optimizers/index.js';
export { Layer, type LayerArgs, type CallArgs } from './nn/layer.js';
export { SymbolicTensor, type Shape } from './nn/symbolic.js';
export { layers } from './nn/layers/index.js';
export { input } from './nn/layers/input.js';
export { LayersModel, model } from './nn/models/model.js';
export { Sequential, sequential } from './nn/models/sequential.js';
export { initializers, Initializer } from './nn/initializers.js';
export { regularizers, Regularizer } from './nn/regularizers.js';
export * as mixedPrecision from './mixed/index.js';
export { callbacks } from './nn/training/builtin-callbacks.js';
export { Callback, History, type Logs } from './nn/training/callbacks.js';
export * as io from './nn/io/index.js';
export { loadLayersModel, loadKerasWeights } from './nn/io/index.js';
export { applications } from './applications/index.js';
export { jit, type JitStats } from './jit/index.js';
export * as track from './track/index.js';
export * as data from './data/index.js';
export * as ui from './ui/index.js';
