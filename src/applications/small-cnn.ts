// smallCnn: a CPU-sized convolutional classifier for the ship images and quick experiments:
// [conv 3x3 -> batch norm -> relu -> max pool] per filter count, global average pool, dense.

import { layers } from '../nn/layers/index.js';
import { input } from '../nn/layers/input.js';
import { type LayersModel, model } from '../nn/models/model.js';
import type { Shape, SymbolicTensor } from '../nn/symbolic.js';
import { loadApplicationWeights, type WeightsArg } from './weights.js';

export interface SmallCnnArgs {
  inputShape?: Shape;
  /** build on this symbolic input (e.g. a float16 image input) instead of a new one */
  inputTensor?: SymbolicTensor;
  classes?: number;
  /** filters per block; each block halves the resolution except the last */
  filters?: number[];
  includeTop?: boolean;
  weights?: WeightsArg;
  dropout?: number;
}

export async function smallCnn(args: SmallCnnArgs = {}): Promise<LayersModel> {
  const where = 'applications.smallCnn';
  const shape = args.inputTensor ? args.inputTensor.shape.slice(1) : (args.inputShape ?? [64, 64, 3]);
  const classes = args.classes ?? 5;
  const filters = args.filters ?? [32, 64, 128];
  if (shape.length !== 3)
    throw new Error(`${where}: inputShape must be [height, width, channels], got [${shape}]`);
  if (!Number.isInteger(classes) || classes < 1)
    throw new Error(`${where}: classes must be a positive integer, got ${classes}`);
  if (filters.length === 0 || !filters.every((f) => Number.isInteger(f) && f > 0))
    throw new Error(`${where}: filters must be positive integers, got [${filters}]`);
  const x0 = args.inputTensor ?? input({ shape });
  let x: SymbolicTensor = x0;
  filters.forEach((f, i) => {
    const n = `block${i + 1}`;
    x = layers
      .conv2d({
        filters: f,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: 'heNormal',
        name: `${n}_conv`,
      })
      .apply(x) as SymbolicTensor;
    // momentum 0.9: the moving statistics settle within an epoch of a small dataset
    x = layers.batchNormalization({ momentum: 0.9, name: `${n}_bn` }).apply(x) as SymbolicTensor;
    x = layers.activation({ activation: 'relu', name: `${n}_relu` }).apply(x) as SymbolicTensor;
    if (i < filters.length - 1)
      x = layers.maxPooling2d({ poolSize: 2, name: `${n}_pool` }).apply(x) as SymbolicTensor;
  });
  x = layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as SymbolicTensor;
  if (args.includeTop ?? true) {
    if (args.dropout) x = layers.dropout({ rate: args.dropout, name: 'dropout' }).apply(x) as SymbolicTensor;
    x = layers
      .dense({ units: classes, activation: 'softmax', name: 'predictions' })
      .apply(x) as SymbolicTensor;
  }
  const m = model({ inputs: x0, outputs: x, name: 'small_cnn' });
  await loadApplicationWeights(m, args.weights, where);
  return m;
}
