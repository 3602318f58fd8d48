// LossScaleOptimizer: the exact scale sequence, skipped steps, unscaling, clipping, compile's
// auto-wrap, checkpoints, the scale-collapse error, and learning when float16 gradients underflow.
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as keel from '../../src/index.js';

const { LossScaleOptimizer } = keel.mixedPrecision;

function withVar(name: string, values: number[]) {
  return keel.variable(keel.tensor(values), true, name);
}

describe('LossScaleOptimizer', () => {
  it('follows the dynamic scale sequence: /2 and skip on non-finite, x2 after growth steps', () => {
    const v = withVar('lso_seq', [1, 2]);
    const opt = new LossScaleOptimizer(keel.train.sgd(0.1), { initialScale: 8, dynamicGrowthSteps: 3 });
    const good = () => ({ lso_seq: keel.tensor([1, 1]) });
    const bad = (x: number) => ({ lso_seq: keel.tensor([1, x]) });
    const seq: [number, number, boolean][] = [];
    const steps = [
      good(),
      good(),
      bad(Number.NaN),
      good(),
      good(),
      good(),
      good(),
      bad(Number.POSITIVE_INFINITY),
      bad(Number.NEGATIVE_INFINITY),
    ];
    for (const g of steps) {
      opt.applyGradients(g);
      seq.push([opt.lossScale, opt.dynamicCounter, opt.lastStepSkipped]);
    }
    expect(seq).toEqual([
      [8, 1, false],
      [8, 2, false],
      [4, 0, true],
      [4, 1, false],
      [4, 2, false],
      [8, 0, false],
      [8, 1, false],
      [4, 0, true],
      [2, 0, true],
    ]);
    expect(opt.skippedSteps).toBe(3);
    expect(opt.iterations).toBe(6);
    const got = Array.from(v.dataSync());
    expect(got[0]).toBeCloseTo(0.4, 6);
    expect(got[1]).toBeCloseTo(1.4, 6);
  });

  it('a skipped step leaves variables and Adam slots bit-identical', async () => {
    const v = withVar('lso_skip', [0.5, -1.5, 2]);
    const opt = new LossScaleOptimizer(keel.train.adam(0.01));
    opt.applyGradients({ lso_skip: keel.tensor([0.1, 0.2, 0.3]) });
    const before = Array.from(v.dataSync());
    const slotsBefore = (await opt.getWeights()).map((w) => [w.name, Array.from(w.tensor.dataSync())]);
    opt.applyGradients({ lso_skip: keel.tensor([0.1, Number.NaN, 0.3]) });
    expect(Array.from(v.dataSync())).toEqual(before);
    const slotsAfter = (await opt.getWeights()).map((w) => [w.name, Array.from(w.tensor.dataSync())]);
    // only the scale and its counter change
    const state = (ws: unknown[][]) => ws.filter(([n]) => n !== 'loss_scale' && n !== 'dynamic_counter');
    expect(state(slotsAfter)).toEqual(state(slotsBefore));
    expect(opt.lossScale).toBe(2 ** 14);
  });

  it('scales the loss, unscales gradients, and minimize equals the unscaled update', () => {
    const opt = new LossScaleOptimizer(keel.train.sgd(0.5), { initialScale: 1024 });
    expect(opt.getScaledLoss(keel.scalar(3)).dataSync()[0]).toBe(3072);
    const [g] = opt.getUnscaledGradients([keel.tensor([2048, 1024]).cast('float16')]);
    expect(g.dtype).toBe('float32');
    expect(Array.from(g.dataSync())).toEqual([2, 1]);
    const a = withVar('lso_min_a', [1, 2, 3]);
    const b = withVar('lso_min_b', [1, 2, 3]);
    const f = (v: Tensor) => () => keel.square(v).sum();
    const loss = opt.minimize(f(a), true, [a])!;
    keel.train.sgd(0.5).minimize(f(b), false, [b]);
    expect(loss.dataSync()[0]).toBe(14);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
  });

  it('clips unscaled gradients (clipNorm on the inner optimizer)', () => {
    const v = withVar('lso_clip', [0, 0]);
    const opt = new LossScaleOptimizer(keel.train.sgd(1, { clipNorm: 1 }), { initialScale: 2 ** 10 });
    opt.minimize(() => keel.mul(v, keel.tensor([3, 4])).sum(), false, [v]);
    // gradient (3,4) has norm 5 -> clipped to (0.6, 0.8); clipping the scaled gradient would give the same
    // direction but a scaled norm check would not clip at all
    const got = Array.from(v.dataSync());
    expect(got[0]).toBeCloseTo(-0.6, 6);
    expect(got[1]).toBeCloseTo(-0.8, 6);
  });

  it('fixed scale never changes and still skips non-finite steps', () => {
    withVar('lso_fixed', [1]);
    const opt = new LossScaleOptimizer(keel.train.sgd(0.1), { dynamic: false, initialScale: 128 });
    opt.applyGradients({ lso_fixed: keel.tensor([Number.NaN]) });
    opt.applyGradients({ lso_fixed: keel.tensor([1]) });
    expect(opt.lossScale).toBe(128);
    expect(opt.skippedSteps).toBe(1);
  });

  it('checkpoints and restores the scale and counter with the inner state', async () => {
    withVar('lso_ckpt', [1, 1]);
    const a = new LossScaleOptimizer(keel.train.adam(0.1), { initialScale: 64, dynamicGrowthSteps: 10 });
    a.applyGradients({ lso_ckpt: keel.tensor([1, Number.NaN]) });
    a.applyGradients({ lso_ckpt: keel.tensor([1, 2]) });
    const saved = await a.getWeights();
    const b = new LossScaleOptimizer(keel.train.adam(0.1), { initialScale: 64, dynamicGrowthSteps: 10 });
    await b.setWeights(saved);
    expect([b.lossScale, b.dynamicCounter, b.iterations]).toEqual([32, 1, 1]);
    await expect(b.setWeights(saved.slice(0, -2))).rejects.toThrow(/no 'loss_scale' and 'dynamic_counter'/);
  });

  it('reports a collapsing scale as an error naming the likely cause; minScale floors it instead', () => {
    withVar('lso_collapse', [1]);
    const opt = new LossScaleOptimizer(keel.train.sgd(0.1), { initialScale: 4 });
    opt.applyGradients({ lso_collapse: keel.tensor([Number.NaN]) });
    opt.applyGradients({ lso_collapse: keel.tensor([Number.NaN]) });
    expect(() => opt.applyGradients({ lso_collapse: keel.tensor([Number.NaN]) })).toThrow(
      /loss scale fell below 1 after 3 skipped steps.*forward pass/,
    );
    const floored = new LossScaleOptimizer(keel.train.sgd(0.1), { initialScale: 2, minScale: 1 });
    for (let i = 0; i < 5; i++) floored.applyGradients({ lso_collapse: keel.tensor([Number.NaN]) });
    expect(floored.lossScale).toBe(1);
    expect(() => new LossScaleOptimizer(keel.train.sgd(0.1), { initialScale: 0 })).toThrow(
      /initialScale must be a finite number > 0/,
    );
    expect(() => new LossScaleOptimizer(floored)).toThrow(/already a LossScaleOptimizer/);
  });
});

describe('loss scaling in models', () => {
  const build = (policy: string) =>
    keel.sequential({
      layers: [keel.layers.dense({ units: 1, inputShape: [4], dtype: policy, kernelInitializer: 'zeros' })],
    });

  it('compile wraps the optimizer under mixed_float16 only', () => {
    const m16 = build('mixed_float16');
    m16.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    expect(m16.optimizer).toBeInstanceOf(LossScaleOptimizer);
    const mb = build('mixed_bfloat16');
    mb.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    expect(mb.optimizer).not.toBeInstanceOf(LossScaleOptimizer);
    const own = new LossScaleOptimizer(keel.train.sgd(0.1), { initialScale: 4 });
    m16.compile({ optimizer: own, loss: 'meanSquaredError' });
    expect(m16.optimizer).toBe(own);
  });

  it('a float16 model whose gradients underflow learns with loss scaling and stalls without', async () => {
    const x = keel.randomNormal([64, 4], 0, 1, 'float32', 3);
    const y = keel.matMul(x, keel.tensor([[1], [-1], [0.5], [2]]));
    // a tiny loss: its float16 gradients (~1e-9) flush to zero unless scaled
    const tiny = (yt: Tensor, yp: Tensor) =>
      keel.mul(keel.mean(keel.square(keel.sub(yp.cast('float32'), yt))), 1e-8);
    const run = async (scaled: boolean) => {
      const m = build('mixed_float16');
      const inner = keel.train.adam(0.1);
      m.compile({ optimizer: scaled ? new LossScaleOptimizer(inner) : inner, loss: tiny });
      if (!scaled) m.compiled!.optimizer = inner;
      const h = await m.fit(x, y, { epochs: 15, batchSize: 16, verbose: 0, seed: 1 });
      return { loss: h.history.loss, kernel: Array.from(m.getWeights()[0].dataSync()) };
    };
    const withScaling = await run(true);
    const without = await run(false);
    // without scaling every gradient flushed to zero: the zero-initialised kernel never moved
    expect(without.kernel).toEqual([0, 0, 0, 0]);
    expect(withScaling.loss.at(-1)!).toBeLessThan(withScaling.loss[0] * 0.5);
  });
});
