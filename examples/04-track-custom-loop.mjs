// Tracking a custom training loop: config, per-step metrics, the seed's training_time, and a
// summary, recorded in ./keel-runs (or RUNS_DIR); `keel runs show ID` and `keel ui` read it.
// Run: node examples/04-track-custom-loop.mjs
import * as keel from 'keel';

const config = { lr: 0.05, steps: Number(process.env.STEPS ?? 100), hidden: 32 };
const run = keel.track.init({ project: 'examples', name: 'custom-loop', config, runsDir: process.env.RUNS_DIR });

const x = keel.randomNormal([256, 8], 0, 1, 'float32', 1);
const y = keel.matMul(x, keel.randomNormal([8, 1], 0, 1, 'float32', 2));
const w1 = keel.variable(keel.randomNormal([8, config.hidden], 0, 0.3, 'float32', 3), true, 'w1');
const w2 = keel.variable(keel.randomNormal([config.hidden, 1], 0, 0.3, 'float32', 4), true, 'w2');
const optimizer = keel.train.adam(config.lr);

const start = performance.now();
for (let step = 0; step < config.steps; step++) {
  const loss = keel.tidy(() =>
    optimizer.minimize(() => keel.losses.meanSquaredError(y, keel.matMul(keel.relu(keel.matMul(x, w1)), w2)), true, [w1, w2]).dataSync()[0],
  );
  run.log({ loss, learning_rate: optimizer.learningRate }, { step });
}
run.log({ training_time: (performance.now() - start) / 1000 });
run.summary.final_loss = run.summary.loss;
await run.finish();
console.log(`run ${run.id}: final loss ${Number(run.summary.loss).toFixed(4)}`);
