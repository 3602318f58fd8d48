// The seed's model: ResNet50 as a frozen feature extractor on the ship images, a float16 image
// input under mixed_float16, a float32 softmax head, loss scaling and the JIT.
// Run: node examples/03-resnet50-transfer.mjs [SHIPS_DIR] [WEIGHTS.h5]
// Without SHIPS_DIR a small synthetic ship set is generated; without weights the base is random
// (Keras' resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5 loads by layer name).
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as keel from 'keel';

const size = Number(process.env.IMAGE_SIZE ?? 64);
let dir = process.argv[2];
if (!dir) {
  dir = join(tmpdir(), 'keel-example-ships');
  if (!existsSync(join(dir, 'train', 'train.csv'))) await keel.data.writeSyntheticShips(dir, { count: Number(process.env.COUNT ?? 200), size: 64, seed: 0 });
}
const weights = process.argv[3] ?? null;

keel.mixedPrecision.setGlobalPolicy('mixed_float16');
const images = keel.input({ shape: [size, size, 3], dtype: 'float16' });
const base = await keel.applications.resNet50({ includeTop: false, inputTensor: images, weights });
base.trainable = false; // train only the head
const features = keel.layers.globalAveragePooling2d().apply(base.outputs[0]);
const preds = keel.layers.dense({ units: 5, activation: 'softmax', dtype: 'float32' }).apply(features);
const model = keel.model({ inputs: images, outputs: preds });
keel.mixedPrecision.setGlobalPolicy('float32');
console.log(`params: ${model.countParams()} (trainable ${model.trainableWeights.reduce((n, w) => n + w.size, 0)})`);

const { train, validation } = await keel.data.ships(dir, {
  imageSize: size,
  batchSize: Number(process.env.BATCH ?? 16),
  dtype: 'float16',
  labelMode: 'categorical',
  preprocess: weights ? 'caffe' : 'unit',
  limit: process.env.LIMIT ? Number(process.env.LIMIT) : undefined,
  cache: true,
});
model.compile({ optimizer: keel.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'], jitCompile: true });
const t0 = performance.now();
const history = await model.fitDataset(train, { epochs: Number(process.env.EPOCHS ?? 2), validationData: validation });
console.log(`training_time ${((performance.now() - t0) / 1000).toFixed(1)}s, loss scale ${model.optimizer.lossScale}, val_accuracy ${history.history.val_accuracy.at(-1).toFixed(4)}`);
