// The public API of Keel (SPEC.md): re-exports only.

import './backend/register.js';
import './tensor/chain.js';

export { applications } from './applications/index.js';
export { customGrad, grad, grads, valueAndGrad, valueAndGrads, variableGrads } from './autograd/grad.js';
export * as data from './data/index.js';
export { DTYPES, type DType } from './dtype.js';
export { type JitStats, jit } from './jit/index.js';
export * as mixedPrecision from './mixed/index.js';
export { Initializer, initializers } from './nn/initializers.js';
export * as io from './nn/io/index.js';
export { loadKerasWeights, loadLayersModel } from './nn/io/index.js';
export { type CallArgs, Layer, type LayerArgs } from './nn/layer.js';
export { layers } from './nn/layers/index.js';
export { input } from './nn/layers/input.js';
export { LayersModel, model } from './nn/models/model.js';
export { Sequential, sequential } from './nn/models/sequential.js';
export {
  AdamOptimizer,
  AdamWOptimizer,
  getOptimizer,
  type LearningRate,
  LearningRateSchedule,
  MomentumOptimizer,
  type NamedTensor,
  Optimizer,
  type OptimizerOptions,
  optimizerFromConfig,
  RMSPropOptimizer,
  SGDOptimizer,
  train,
} from './nn/optimizers/index.js';
export { Regularizer, regularizers } from './nn/regularizers.js';
export { type Shape, SymbolicTensor } from './nn/symbolic.js';
export { callbacks } from './nn/training/builtin-callbacks.js';
export { Callback, History, type Logs } from './nn/training/callbacks.js';
export type { MemoryInfo } from './tensor/engine.js';
export {
  dispose,
  getBackend,
  getDevice,
  keep,
  memory,
  ready,
  resetPeakMemory,
  setBackend,
  tidy,
} from './tensor/lifetime.js';
export * from './tensor/ops/index.js';
export * as losses from './tensor/ops/losses.js';
export { setRandomSeed } from './tensor/random.js';
export { type NestedArray, Tensor, type TypedArray, Variable } from './tensor/tensor.js';
export * as track from './track/index.js';
export * as ui from './ui/index.js';
