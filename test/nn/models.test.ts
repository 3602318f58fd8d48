// Models: construction (sequential, functional, nested), summary text, freezing, weights,
// training (fit/evaluate/predict/fitDataset), Keras progress output, callbacks, errors, leaks.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SymbolicTensor, Tensor } from '../../src/index.js';
import * as keel from '../../src/index.js';
import { seededFloats } from '../helpers.js';

const S = (x: unknown) => x as SymbolicTensor;

/** A linearly separable 2-class problem: label = (w·x > 0). */
function separable(n: number, seed: number): { x: Tensor; y: Tensor; labels: number[] } {
  const xs = seededFloats(n * 4, seed, -1, 1);
  const w = [1, -2, 0.5, 1.5];
  const labels: number[] = [];
  for (let i = 0; i < n; i++)
    labels.push(xs.slice(i * 4, i * 4 + 4).reduce((s, v, k) => s + v * w[k], 0) > 0 ? 1 : 0);
  return {
    x: keel.tensor(xs, [n, 4]),
    y: keel.oneHot(keel.tensor1d(labels, 'int32'), 2).cast('float32'),
    labels,
  };
}

function captureStdout(): { lines: () => string[]; restore: () => void } {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  return { lines: () => out.split('\n').filter((l) => l.length > 0), restore: () => spy.mockRestore() };
}

afterEach(() => vi.restoreAllMocks());

describe('building models', () => {
  it('sequential with inputShape builds at once; summary is Keras table', () => {
    const m = keel.sequential({
      name: 'seq_summary',
      layers: [
        keel.layers.dense({ units: 10, inputShape: [4], activation: 'relu', name: 'hidden' }),
        keel.layers.dense({ units: 3, name: 'out' }),
      ],
    });
    const lines: string[] = [];
    m.summary(undefined, undefined, (l) => lines.push(l));
    expect(lines).toEqual([
      'Model: "seq_summary"',
      '_'.repeat(65),
      ' Layer (type)                Output Shape              Param #   ',
      '='.repeat(65),
      ' hidden (Dense)              (None, 10)                50        ',
      ' '.repeat(65),
      ' out (Dense)                 (None, 3)                 33        ',
      '='.repeat(65),
      'Total params: 83',
      'Trainable params: 83',
      'Non-trainable params: 0',
      '_'.repeat(65),
    ]);
    expect(m.countParams()).toBe(83);
    expect(m.layers.map((l) => l.name)).toEqual(['hidden', 'out']);
  });

  it('sequential without an input shape builds on first use', () => {
    const m = keel.sequential();
    m.add(keel.layers.dense({ units: 2 }));
    expect(m.built).toBe(false);
    const y = m.predict(keel.ones([3, 5])) as Tensor;
    expect(y.shape).toEqual([3, 2]);
    expect(m.built).toBe(true);
  });

  it('functional model with a residual branch, merges, a nested model and a frozen backbone', () => {
    const inner = (() => {
      const i = keel.input({ shape: [6] });
      const h = S(keel.layers.dense({ units: 6, activation: 'relu', name: 'inner_dense' }).apply(i));
      return keel.model({
        inputs: i,
        outputs: S(keel.layers.add({ name: 'inner_add' }).apply([i, h])),
        name: 'backbone',
      });
    })();
    const x = keel.input({ shape: [6], name: 'img' });
    const f = S(inner.apply(x));
    const a = S(keel.layers.dense({ units: 4, name: 'a' }).apply(f));
    const b = S(keel.layers.dense({ units: 4, name: 'b' }).apply(f));
    const c = S(keel.layers.concatenate({ name: 'cat' }).apply([a, b]));
    const out = S(keel.layers.dense({ units: 2, name: 'head' }).apply(c));
    const m = keel.model({ inputs: x, outputs: out, name: 'outer' });
    expect(m.getLayer('backbone')).toBe(inner);
    expect(() => m.getLayer('nope')).toThrow(/no layer named 'nope' in model 'outer'/);
    expect(m.countParams()).toBe(42 + 28 + 28 + 18);
    expect((m.predict(keel.ones([5, 6])) as Tensor).shape).toEqual([5, 2]);
    const lines: string[] = [];
    m.summary(undefined, undefined, (l) => lines.push(l));
    expect(lines[2]).toBe(
      ` ${'Layer (type)'.padEnd(30)} ${'Output Shape'.padEnd(20)} ${'Param #'.padEnd(11)} ${'Connected to'.padEnd(32)} `
        .slice(0, 98)
        .trimEnd()
        .padEnd(98),
    );
    expect(lines.some((l) => l.startsWith(' backbone (Functional)'))).toBe(true);
    expect(lines.some((l) => l.includes("['a[0][0]',"))).toBe(true);
    inner.trainable = false;
    expect(m.trainableWeights.length).toBe(6);
    expect(lines.at(-3)).toBe('Trainable params: 116');
    const frozen: string[] = [];
    m.summary(undefined, undefined, (l) => frozen.push(l));
    expect(frozen.at(-3)).toBe('Trainable params: 74');
    expect(frozen.at(-2)).toBe('Non-trainable params: 42');
  });

  it('getWeights/setWeights round trip and check shapes', () => {
    const m = keel.sequential({
      layers: [keel.layers.dense({ units: 2, inputShape: [3], name: 'w_dense' })],
    });
    const ws = m.getWeights();
    const doubled = ws.map((w) => w.mul(2));
    m.setWeights(doubled);
    expect(Array.from(m.getWeights()[0].dataSync())).toEqual(Array.from(ws[0].dataSync(), (v) => v * 2));
    expect(() => m.setWeights([keel.zeros([3, 3]), keel.zeros([2])])).toThrow(
      /w_dense\/kernel has shape \[3,2\], the value has \[3,3\]/,
    );
    expect(() => m.setWeights([ws[0]])).toThrow(/expected 2 weights, got 1/);
  });

  it('rejects bad graphs and inputs', () => {
    const i1 = keel.input({ shape: [2] });
    const i2 = keel.input({ shape: [2] });
    const y = S(keel.layers.add().apply([i1, i2]));
    expect(() => keel.model({ inputs: i1, outputs: y })).toThrow(
      /depends on input .*not among the model's inputs/,
    );
    const m = keel.model({ inputs: [i1, i2], outputs: y });
    expect(() => m.predict([keel.ones([1, 2])])).toThrow(/expects 2 input\(s\), got 1/);
    expect(() => m.predict([keel.ones([1, 3]), keel.ones([1, 2])])).toThrow(
      /expects shape \[null,2\], got \[1,3\]/,
    );
    expect(() => keel.input({ shape: [0] })).toThrow(/positive integers/);
  });
});

describe('training', () => {
  it('fit reaches > 95% accuracy on a linearly separable set and evaluate agrees', async () => {
    const { x, y } = separable(400, 1);
    const m = keel.sequential({
      layers: [
        keel.layers.dense({ units: 8, inputShape: [4], activation: 'relu' }),
        keel.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    m.compile({ optimizer: keel.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const h = await m.fit(x, y, { epochs: 15, batchSize: 32, verbose: 0, seed: 1 });
    expect(h.epoch).toEqual([...Array(15).keys()]);
    expect(h.history.accuracy.at(-1)).toBeGreaterThan(0.95);
    const [loss, acc] = m.evaluate(x, y) as Tensor[];
    expect(acc.dataSync()[0]).toBeGreaterThan(0.95);
    expect(loss.dataSync()[0]).toBeLessThan(h.history.loss[0]);
  });

  it('sparse labels, binary outputs and validation split/data produce val_ metrics', async () => {
    const { x, labels } = separable(200, 2);
    const sparse = keel.tensor1d(labels, 'int32');
    const m = keel.sequential({
      layers: [keel.layers.dense({ units: 2, inputShape: [4], activation: 'softmax' })],
    });
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const h = await m.fit(x, sparse, { epochs: 2, validationSplit: 0.25, verbose: 0 });
    expect(Object.keys(h.history).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
    const bin = keel.tensor(labels, [200, 1], 'float32');
    const b = keel.sequential({
      layers: [keel.layers.dense({ units: 1, inputShape: [4], activation: 'sigmoid' })],
    });
    b.compile({ optimizer: keel.train.sgd(0.5), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
    const hb = await b.fit(x, bin, { epochs: 20, verbose: 0, validationData: [x, bin] });
    expect(hb.history.val_accuracy.at(-1)).toBeGreaterThan(0.9);
  });

  it('prints the Keras progress format, one line per epoch when not a terminal', async () => {
    const { x, y } = separable(100, 3);
    const m = keel.sequential({
      layers: [keel.layers.dense({ units: 2, inputShape: [4], activation: 'softmax' })],
    });
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const cap = captureStdout();
    await m.fit(x, y, { epochs: 2, batchSize: 25, validationData: [x, y] });
    cap.restore();
    const lines = cap.lines();
    expect(lines[0]).toBe('Epoch 1/2');
    expect(lines[1]).toMatch(
      /^4\/4 \[==============================\] - \d+s \d+(ms|us|s)\/step - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}$/,
    );
    expect(lines[2]).toBe('Epoch 2/2');
    expect(lines).toHaveLength(4);
    const cap2 = captureStdout();
    await m.fit(x, y, { epochs: 1, batchSize: 25, verbose: 2 });
    cap2.restore();
    expect(cap2.lines()[1]).toMatch(
      /^4\/4 - \d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4} - \d+s\/epoch - \d+(ms|us|s)\/step$/,
    );
  });

  it('progress bars and value formats match Keras', async () => {
    const { progressBar, formatValue, formatStepTime } = await import('../../src/nn/training/progress.js');
    expect(progressBar(12, 78)).toBe('12/78 [===>..........................]');
    expect(progressBar(78, 78)).toBe('78/78 [==============================]');
    expect(progressBar(0, 5)).toBe('0/5 [..............................]');
    expect(formatValue(0.22594)).toBe('0.2259');
    expect(formatValue(0.00012345)).toBe('1.2345e-04');
    expect(formatStepTime(0.23)).toBe('230ms/step');
    expect(formatStepTime(2.4)).toBe('2s/step');
    expect(formatStepTime(0.000087)).toBe('87us/step');
  });

  it('callbacks: hooks, earlyStopping, csvLogger, learningRateScheduler, terminateOnNaN, modelCheckpoint needs save', async () => {
    const { x, y } = separable(64, 4);
    const m = keel.sequential({
      layers: [keel.layers.dense({ units: 2, inputShape: [4], activation: 'softmax' })],
    });
    const opt = keel.train.sgd(0.1);
    m.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    const seen: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'keel-cb-'));
    const csv = join(dir, 'log.csv');
    const lrs: number[] = [];
    await m.fit(x, y, {
      epochs: 3,
      batchSize: 32,
      verbose: 0,
      callbacks: [
        {
          onTrainBegin: () => void seen.push('train'),
          onEpochEnd: (e) => void seen.push(`epoch${e}`),
          onBatchEnd: (b) => void seen.push(`batch${b}`),
        },
        keel.callbacks.csvLogger(csv),
        keel.callbacks.learningRateScheduler((epoch) => 0.1 / (epoch + 1)),
        { onEpochBegin: () => void lrs.push(opt.learningRate as number) },
      ],
    });
    expect(seen).toEqual([
      'train',
      'batch0',
      'batch1',
      'epoch0',
      'batch0',
      'batch1',
      'epoch1',
      'batch0',
      'batch1',
      'epoch2',
    ]);
    expect(lrs.map((v) => +v.toFixed(6))).toEqual([0.1, 0.05, 0.033333]);
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('epoch,loss');
    expect(rows).toHaveLength(4);
    // earlyStopping on a metric that never improves stops after patience epochs
    const stop = keel.callbacks.earlyStopping({ monitor: 'loss', patience: 2, mode: 'max' });
    const h = await m.fit(x, y, { epochs: 20, verbose: 0, callbacks: [stop] });
    expect(h.epoch.length).toBe(3);
    // terminateOnNaN stops at the first non-finite loss
    const bad = keel.sequential({
      layers: [keel.layers.dense({ units: 2, inputShape: [4], kernelInitializer: 'ones' })],
    });
    bad.compile({ optimizer: keel.train.sgd(1e30), loss: 'meanSquaredError' });
    const huge = keel.mul(x, 1e20);
    const cap = captureStdout();
    const hb = await bad.fit(huge, y, {
      epochs: 5,
      batchSize: 16,
      verbose: 0,
      callbacks: [keel.callbacks.terminateOnNaN()],
    });
    cap.restore();
    expect(hb.epoch.length).toBe(1);
    expect(cap.lines().some((l) => /Invalid loss, terminating training/.test(l))).toBe(true);
    expect(() => keel.callbacks.earlyStopping({ patience: -1 })).toThrow(
      /patience must be a non-negative integer/,
    );
  });

  it('fitDataset and evaluateDataset take async iterables of { xs, ys }', async () => {
    const { x, y } = separable(96, 5);
    async function* batches() {
      for (let i = 0; i < 96; i += 32) yield { xs: x.slice([i, 0], [32, 4]), ys: y.slice([i, 0], [32, 2]) };
    }
    const m = keel.sequential({
      layers: [keel.layers.dense({ units: 2, inputShape: [4], activation: 'softmax' })],
    });
    m.compile({ optimizer: keel.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const h = await m.fitDataset({ [Symbol.asyncIterator]: batches }, { epochs: 3, verbose: 0 });
    expect(h.history.loss).toHaveLength(3);
    const [loss] = (await m.evaluateDataset({ [Symbol.asyncIterator]: batches })) as Tensor[];
    expect(loss.dataSync()[0]).toBeCloseTo(h.history.loss[2], 0);
  });

  it('errors: fit before compile, unknown loss/metric/optimizer, mismatched samples, bad options', async () => {
    const m = keel.sequential({
      name: 'err_model',
      layers: [keel.layers.dense({ units: 2, inputShape: [4] })],
    });
    const x = keel.ones([8, 4]);
    const y = keel.ones([8, 2]);
    await expect(m.fit(x, y)).rejects.toThrow(/model 'err_model' must be compiled first/);
    expect(() => m.compile({ optimizer: 'adam', loss: 'hinge' })).toThrow(/unknown loss 'hinge'/);
    expect(() => m.compile({ optimizer: 'adam', loss: 'meanSquaredError', metrics: ['f1'] })).toThrow(
      /unknown metric 'f1'/,
    );
    expect(() => m.compile({ optimizer: 'adagrad', loss: 'meanSquaredError' })).toThrow(
      /compile: unknown optimizer "adagrad"/,
    );
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    await expect(m.fit(x, keel.ones([7, 2]), { verbose: 0 })).rejects.toThrow(/x has 8 samples but y has 7/);
    await expect(m.fit(keel.ones([8, 5]), y, { verbose: 0 })).rejects.toThrow(
      /expects shape \[null,4\], got \[8,5\]/,
    );
    await expect(m.fit(x, y, { verbose: 0, batchSize: 0 })).rejects.toThrow(
      /batchSize must be a positive integer/,
    );
    await expect(m.fit(x, y, { verbose: 0, validationSplit: 1.5 })).rejects.toThrow(
      /validationSplit must be in \[0, 1\)/,
    );
    await expect(m.fit(x, keel.ones([8, 3]), { verbose: 0 })).rejects.toThrow(
      /meanSquaredError: labels have shape \[8,3\], predictions \[8,2\]/,
    );
  });

  for (const policy of ['float32', 'mixed_float16']) {
    it(`a run resumed from a checkpoint (weights + optimizer state) continues with the same losses (${policy})`, async () => {
      const { x, y } = separable(64, 9);
      const make = () => {
        const m = keel.sequential({
          layers: [
            keel.layers.dense({
              units: 8,
              inputShape: [4],
              activation: 'relu',
              name: 'ckpt_hidden',
              dtype: policy,
              kernelInitializer: keel.initializers.glorotUniform({ seed: 1 }),
            }),
            keel.layers.dense({
              units: 2,
              activation: 'softmax',
              name: 'ckpt_out',
              dtype: 'float32',
              kernelInitializer: keel.initializers.glorotUniform({ seed: 2 }),
            }),
          ],
        });
        m.compile({ optimizer: keel.train.adam(0.05), loss: 'categoricalCrossentropy' });
        return m;
      };
      const fitArgs = { batchSize: 16, shuffle: false, verbose: 0 as const };
      const full = make();
      const whole = (await full.fit(x, y, { ...fitArgs, epochs: 4 })).history.loss;
      full.optimizer!.dispose();
      full.dispose();
      const first = make();
      await first.fit(x, y, { ...fitArgs, epochs: 2 });
      const dir = mkdtempSync(join(tmpdir(), 'keel-ckpt-'));
      await first.saveWeights(join(dir, 'w.safetensors'));
      const state = await first.optimizer!.getWeights();
      first.optimizer!.dispose();
      first.dispose();
      const resumed = make();
      await resumed.loadWeights(join(dir, 'w.safetensors'));
      await resumed.optimizer!.setWeights(state);
      const rest = (await resumed.fit(x, y, { ...fitArgs, epochs: 4, initialEpoch: 2 })).history.loss;
      expect(rest).toEqual(whole.slice(2));
      resumed.optimizer!.dispose();
      resumed.dispose();
    });
  }

  it('training in tidy-free loops does not leak tensors', async () => {
    const { x, y } = separable(64, 6);
    const m = keel.sequential({
      layers: [
        keel.layers.dense({ units: 4, inputShape: [4], activation: 'relu' }),
        keel.layers.batchNormalization(),
        keel.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    m.compile({ optimizer: keel.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    await m.fit(x, y, { epochs: 1, verbose: 0 });
    const before = keel.memory().numTensors;
    await m.fit(x, y, { epochs: 3, batchSize: 16, verbose: 0, validationSplit: 0.25 });
    keel.dispose(m.predict(x));
    expect(keel.memory().numTensors).toBe(before);
  });
});
