// track.callback(run) on small fits: per-epoch and sampled per-batch metrics, training_time, the
// policy and, under mixed_float16, loss scale and skipped steps; the progress lines in the run's log.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as keel from '../../src/index.js';
import { track } from '../../src/index.js';
import { silenceStdio, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function data(n: number, seed: number) {
  const x = keel.randomNormal([n, 4], 0, 1, 'float32', seed);
  const labels = keel.argMax(
    keel.matMul(
      x,
      keel.tensor([
        [1, -1],
        [-1, 1],
        [0.5, 0],
        [0, 0.5],
      ]),
    ),
    1,
  );
  return { x, y: keel.oneHot(labels, 2) };
}

function model(dtype?: string) {
  const m = keel.sequential({
    layers: [
      keel.layers.dense({ units: 8, inputShape: [4], activation: 'relu', dtype }),
      keel.layers.dense({ units: 2, activation: 'softmax', dtype: 'float32' }),
    ],
  });
  m.compile({ optimizer: keel.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

const EPOCH_KEYS = [
  'accuracy',
  'epoch',
  'epoch_time',
  'images_per_sec',
  'learning_rate',
  'loss',
  'ms_per_step',
  'peak_tensor_bytes',
  'val_accuracy',
  'val_loss',
];

describe('track.callback', () => {
  it('logs a float32 fit: epoch metrics, sampled batches, training_time, config', async () => {
    const runsDir = join(tmp.dir, 'f32');
    const restore = silenceStdio(); // before init: the run captures what would have been printed
    const run = track.init({ project: 'cb', runsDir, systemInterval: 0, config: { epochs: 99 } });
    const { x, y } = data(64, 1);
    const cb = track.callback(run, { maxBatchPoints: 10 });
    const h = await model().fit(x, y, {
      epochs: 3,
      batchSize: 8,
      verbose: 1,
      validationData: [x, y],
      callbacks: [cb],
    });
    await run.finish();
    restore();
    const r = track.openReader(runsDir);
    const info = r.getRun(run.id);
    const keys = info.metricKeys.map((k) => k.key);
    expect(keys).toEqual(['batch/accuracy', 'batch/loss', ...EPOCH_KEYS, 'training_time'].sort());
    // epoch metrics at step = epoch index, equal to what fit returned
    const loss = r.metrics(run.id, 'loss').points;
    expect(loss.map((p) => p[0])).toEqual([0, 1, 2]);
    expect(loss.map((p) => p[1])).toEqual(h.history.loss);
    expect(r.metrics(run.id, 'val_accuracy').points.map((p) => p[1])).toEqual(h.history.val_accuracy);
    expect(r.metrics(run.id, 'epoch').points.map((p) => p[1])).toEqual([0, 1, 2]);
    // 24 batches thinned to a stride of ceil(24 / 10) = 3, at global batch steps
    expect(r.metrics(run.id, 'batch/loss').points.map((p) => p[0])).toEqual([0, 3, 6, 9, 12, 15, 18, 21]);
    const ips = r.metrics(run.id, 'images_per_sec').points[2][1]!;
    const msps = r.metrics(run.id, 'ms_per_step').points[2][1]!;
    expect(ips).toBeGreaterThan(0);
    // 8 images per step: images/s and ms/step describe the same epoch
    expect(Math.abs((8 * 1000) / msps / ips - 1)).toBeLessThan(1e-6);
    expect(info.summary.training_time as number).toBeGreaterThan(0);
    expect(info.summary.loss).toBe(h.history.loss[2]);
    expect(info.config).toMatchObject({
      epochs: 99,
      policy: 'float32',
      optimizer: 'Adam',
      steps_per_epoch: 8,
      samples: 64,
      batch_size: 8,
    });
    expect(info.config).not.toHaveProperty('loss_scale');
    expect(cb.stats).toMatchObject({
      epochs: 3,
      stepsPerEpoch: 8,
      batchSize: 8,
      msPerStep: msps,
      imagesPerSec: ips,
      skippedSteps: null,
    });
    expect(cb.stats.trainingTimeSec).toBe(info.summary.training_time);
    // the progress logger's lines are the run's log
    const logs = r.logs(run.id);
    expect(logs[0]).toBe('Epoch 1/3');
    expect(logs[1]).toMatch(/^8\/8 \[=+\] - \d+s \d+(ms|us|s)\/step - loss: \d\.\d{4} - accuracy: /);
    expect(logs.filter((l) => l.startsWith('Epoch '))).toEqual(['Epoch 1/3', 'Epoch 2/3', 'Epoch 3/3']);
    r.close();
  });

  it('under mixed_float16 logs the loss scale and skipped steps', async () => {
    const runsDir = join(tmp.dir, 'mixed');
    const run = track.init({ runsDir, systemInterval: 0, captureConsole: false });
    const { x, y } = data(32, 2);
    const m = model('mixed_float16');
    expect(m.optimizer).toBeInstanceOf(keel.mixedPrecision.LossScaleOptimizer);
    await m.fit(x, y, {
      epochs: 2,
      batchSize: 8,
      verbose: 0,
      callbacks: [track.callback(run, { finishOnEnd: true })],
    });
    expect(run.status).toBe('finished');
    const r = track.openReader(runsDir);
    const info = r.getRun(run.id);
    expect(info.config).toMatchObject({ policy: 'mixed_float16', loss_scale: 'dynamic', optimizer: 'Adam' });
    expect(info.summary.loss_scale).toBe((m.optimizer as keel.mixedPrecision.LossScaleOptimizer).lossScale);
    expect(info.summary.skipped_steps).toBe(0);
    expect(r.metrics(run.id, 'batch/loss_scale').points).toHaveLength(8);
    expect(r.metrics(run.id, 'loss_scale').points).toHaveLength(2);
    r.close();
  });

  it('thins batches of unknown-length epochs to about maxBatchPoints', () => {
    const run = track.init({ mode: 'disabled' });
    const logged: number[] = [];
    const orig = run.log.bind(run);
    run.log = (m, o) => {
      if ('batch/loss' in m) logged.push(o!.step!);
      orig(m, o);
    };
    const cb = track.callback(run, { maxBatchPoints: 100 });
    cb.setParams({
      epochs: 3,
      initialEpoch: 0,
      steps: null,
      samples: null,
      verbose: 0,
      metrics: ['loss'],
      doValidation: false,
    });
    cb.onTrainBegin();
    let step = 0;
    for (let e = 0; e < 3; e++) {
      cb.onEpochBegin();
      for (let b = 0; b < 10_000; b++, step++) cb.onBatchEnd(b, { batch: b, size: 4, loss: 1 / (step + 1) });
      cb.onEpochEnd(e, { loss: 1 });
      // the first epoch doubles its stride as points accumulate (log growth: 100 * (1 + log2(100) / 2));
      // later ones spread what is left of the budget
      if (e === 0) expect(logged.length).toBeLessThan(450);
    }
    expect(logged.length).toBeLessThan(600);
    expect(logged[0]).toBe(0);
    expect(logged.at(-1)).toBeGreaterThan(29_000);
  });
});
