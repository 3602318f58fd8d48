// The seed's first example, in Keel: a mixed_float16 policy on the layers, the softmax kept in
// float32 for numeric stability, then fit. compile() adds loss scaling because of the policy.
// Run: node examples/01-policy.mjs
import * as keel from 'keel';

const policy = new keel.mixedPrecision.Policy('mixed_float16');
const model = keel.sequential({
  layers: [
    keel.layers.dense({ units: 10, inputShape: [20], dtype: policy }),
    keel.layers.dense({ units: 10, dtype: policy }),
    // Softmax should be done in float32 for numeric stability.
    keel.layers.activation({ activation: 'softmax', dtype: 'float32' }),
  ],
});
model.summary();

// A toy task: the label is the index of the largest of the first ten features.
const x = keel.randomNormal([512, 20], 0, 1, 'float32', 1);
const y = keel.oneHot(keel.argMax(x.slice([0, 0], [-1, 10]), 1), 10).cast('float32');
model.compile({ optimizer: keel.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
console.log(`optimizer: ${model.optimizer.getClassName()}, loss scale ${model.optimizer.lossScale}`);
const history = await model.fit(x, y, { epochs: Number(process.env.EPOCHS ?? 5), batchSize: 32, validationSplit: 0.2 });
console.log(`final accuracy ${history.history.accuracy.at(-1).toFixed(4)}, output dtype ${model.predict(x.slice([0, 0], [1, 20])).dtype}`);
