// Pretrained weights for applications: a Keras .h5 file given by path (nothing is downloaded).
import { existsSync } from 'node:fs';
import type { LayersModel } from '../nn/models/model.js';

export type WeightsArg = null | undefined | string;

export async function loadApplicationWeights(
  m: LayersModel,
  weights: WeightsArg,
  where: string,
): Promise<void> {
  if (weights === null || weights === undefined) return;
  if (weights === 'imagenet') {
    throw new Error(
      `${where}: weights 'imagenet' cannot be downloaded by Keel; download the Keras .h5 file yourself and pass its path (weights: '/path/to/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5')`,
    );
  }
  if (typeof weights !== 'string')
    throw new Error(`${where}: weights must be null or the path of a Keras .h5 file, got ${typeof weights}`);
  if (!existsSync(weights)) throw new Error(`${where}: weights file '${weights}' does not exist`);
  const { loadKerasWeights } = await import('../nn/io/keras-h5.js');
  await loadKerasWeights(m, weights);
}
