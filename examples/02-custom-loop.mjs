// A custom training loop with loss scaling, as the Keras mixed-precision guide writes it:
// scale the loss, differentiate, unscale the gradients, apply (a step with Inf/NaN is skipped).
// Run: node examples/02-custom-loop.mjs
import * as keel from 'keel';

keel.mixedPrecision.setGlobalPolicy('mixed_float16');
const model = keel.sequential({
  layers: [
    keel.layers.dense({ units: 64, inputShape: [32], activation: 'relu' }),
    keel.layers.dense({ units: 4 }),
    keel.layers.activation({ activation: 'softmax', dtype: 'float32' }),
  ],
});
keel.mixedPrecision.setGlobalPolicy('float32');

const optimizer = new keel.mixedPrecision.LossScaleOptimizer(keel.train.adam(1e-3));
const x = keel.randomNormal([256, 32], 0, 1, 'float32', 2);
const labels = keel.argMax(x.slice([0, 0], [-1, 4]), 1);
const y = keel.oneHot(labels, 4).cast('float32');

const steps = Number(process.env.STEPS ?? 200);
for (let step = 0; step < steps; step++) {
  const loss = keel.tidy(() => {
    const { value, grads } = keel.variableGrads(() => {
      const predictions = model.apply(x, { training: true });
      const l = keel.losses.softmaxCrossEntropy(y, keel.log(predictions));
      return optimizer.getScaledLoss(l);
    }, model.trainableWeights);
    const unscaled = optimizer.getUnscaledGradients(grads);
    optimizer.applyGradients(unscaled);
    return value.dataSync()[0] / optimizer.lossScale;
  });
  if (step % 50 === 0 || step === steps - 1) {
    console.log(`step ${step}: loss ${loss.toFixed(4)}, loss scale ${optimizer.lossScale}, skipped ${optimizer.skippedSteps}`);
  }
}
const acc = keel.tidy(() => keel.mean(keel.equal(keel.argMax(model.predict(x), 1), labels).cast('float32')).dataSync()[0]);
console.log(`accuracy ${acc.toFixed(4)}`);
