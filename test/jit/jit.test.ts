// jit() and compile({ jitCompile }): eager and jitted steps agree in every policy, graphs are cached
// by shape, dropout stays deterministic for a seed, and nothing leaks.
import { afterEach, describe, expect, it } from 'vitest';
import type { LayersModel, Tensor } from '../../src/index.js';
import * as keel from '../../src/index.js';
import { trainStepStats } from '../../src/nn/training/loop.js';

const L = keel.layers;
afterEach(() => keel.mixedPrecision.setGlobalPolicy('float32'));

function mlp() {
  return keel.sequential({
    layers: [
      L.dense({
        units: 32,
        inputShape: [16],
        kernelInitializer: keel.initializers.glorotUniform({ seed: 1 }),
      }),
      L.batchNormalization(),
      L.reLU(),
      L.dropout({ rate: 0.2, seed: 5 }),
      L.dense({
        units: 4,
        activation: 'softmax',
        dtype: 'float32',
        kernelInitializer: keel.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
}

function cnn() {
  return keel.sequential({
    layers: [
      L.conv2d({
        filters: 8,
        kernelSize: 3,
        padding: 'same',
        inputShape: [12, 12, 3],
        activation: 'relu',
        kernelInitializer: keel.initializers.heNormal({ seed: 3 }),
      }),
      L.maxPooling2d({ poolSize: 2 }),
      L.conv2d({
        filters: 16,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: keel.initializers.heNormal({ seed: 4 }),
      }),
      L.globalAveragePooling2d(),
      L.dense({ units: 4, kernelInitializer: keel.initializers.glorotUniform({ seed: 5 }) }),
      L.activation({ activation: 'softmax', dtype: 'float32' }),
    ],
  });
}

async function resnet18() {
  return keel.applications.resNet18({ inputShape: [32, 32, 3], classes: 4 });
}

/** Runs `steps` training steps with and without the JIT from the same weights; returns both loss lists. */
async function eagerVsJit(
  make: () => LayersModel | Promise<LayersModel>,
  x: Tensor,
  y: Tensor,
  steps: number,
) {
  const out: Record<string, number[]> = {};
  let weights: Tensor[] | null = null;
  for (const jitCompile of [false, true]) {
    const m = await make();
    if (!weights) {
      // seeded He-normal kernels (the rest as initialised): the same starting point in every run,
      // whatever the global random state (bfloat16 rounding noise depends on the weights)
      weights = m.getWeights().map((w, i) => {
        if (w.shape.length < 2) return w;
        const fanIn = w.shape.slice(0, -1).reduce((a, b) => a * b, 1);
        return keel.randomNormal(w.shape, 0, Math.sqrt(2 / fanIn), 'float32', 100 + i);
      });
    }
    m.setWeights(weights);
    m.compile({ optimizer: keel.train.adam(0.01), loss: 'categoricalCrossentropy', jitCompile });
    out[String(jitCompile)] = [];
    for (let i = 0; i < steps; i++) out[String(jitCompile)].push(m.trainOnBatch(x, y).loss);
    if (jitCompile) out.kernels = [trainStepStats(m)!.lastKernels, trainStepStats(m)!.lastNodes];
    m.dispose();
  }
  return out;
}

const onehot = (n: number, k: number) =>
  keel
    .oneHot(
      keel.tensor1d(
        Array.from({ length: n }, (_, i) => i % k),
        'int32',
      ),
      k,
    )
    .cast('float32');

/**
 * float32 and float16 steps are bit-identical to eager ones. bfloat16 kernels keep values at float32
 * precision between the ops they fuse (one rounding at the store instead of one per op), so a
 * bfloat16 step agrees with eager within bfloat16 rounding.
 */
function expectSameLosses(jitted: number[], eager: number[], policy: string, bf16Tolerance = 1e-2): void {
  if (policy !== 'mixed_bfloat16') {
    expect(jitted, policy).toEqual(eager);
    return;
  }
  expect(jitted).toHaveLength(eager.length);
  jitted.forEach((v, i) => {
    expect(
      Math.abs(v - eager[i]) / Math.abs(eager[i]),
      `${policy} step ${i}: ${v} vs ${eager[i]}`,
    ).toBeLessThan(bf16Tolerance);
  });
}

describe('eager vs jit', () => {
  for (const policy of ['float32', 'mixed_float16', 'mixed_bfloat16']) {
    it(`MLP with batchNorm, relu and dropout: same losses under ${policy}`, async () => {
      keel.mixedPrecision.setGlobalPolicy(policy);
      const r = await eagerVsJit(mlp, keel.randomNormal([64, 16], 0, 1, 'float32', 7), onehot(64, 4), 3);
      expectSameLosses(r.true, r.false, policy);
      expect(r.kernels[0]).toBeLessThan(r.kernels[1]);
    });

    it(`CNN: same losses under ${policy}`, async () => {
      keel.mixedPrecision.setGlobalPolicy(policy);
      const r = await eagerVsJit(cnn, keel.randomNormal([8, 12, 12, 3], 0, 1, 'float32', 8), onehot(8, 4), 2);
      expectSameLosses(r.true, r.false, policy);
    });
  }

  it('ResNet18 step: same losses in float32 and mixed_bfloat16', async () => {
    for (const policy of ['float32', 'mixed_bfloat16']) {
      keel.mixedPrecision.setGlobalPolicy(policy);
      // batch 16: with few images a batch norm's variance is ill-conditioned and amplifies any
      // rounding (at batch 8 the bfloat16 losses of eager and jit differ by up to 4.5% over inits)
      const r = await eagerVsJit(
        resnet18,
        keel.randomNormal([16, 32, 32, 3], 0, 1, 'float32', 9),
        onehot(16, 4),
        1,
      );
      // bfloat16 rounding noise (2^-9 relative per op) accumulates over 18 layers
      expectSameLosses(r.true, r.false, policy, 3e-2);
    }
  }, 60_000);
});

describe('jit()', () => {
  it('compiles once per input signature and replays the cached graph', () => {
    const w = keel.variable(keel.randomNormal([8, 8], 0, 1, 'float32', 1), true, 'jit_cache_w');
    const f = keel.jit((x: Tensor) => keel.sum(keel.relu(keel.matMul(x, w))).dataSync()[0]);
    const a = keel.randomNormal([16, 8], 0, 1, 'float32', 2);
    const b = keel.randomNormal([32, 8], 0, 1, 'float32', 3);
    const want = (x: Tensor) => keel.sum(keel.relu(keel.matMul(x, w))).dataSync()[0];
    expect(f(a)).toBe(want(a));
    expect(f(a)).toBe(want(a));
    expect(f.stats.compiles).toBe(1);
    expect(f(b)).toBe(want(b));
    expect(f.stats.compiles).toBe(2);
    f(a);
    expect(f.stats.compiles).toBe(2);
    expect(f.stats.executions).toBe(4);
  });

  it('attributes that differ only in a non-finite value compile their own graphs (pad by +-Infinity, NaN)', () => {
    // JSON writes NaN and +-Infinity as null: the compile key must still tell them apart
    const x = keel.variable(keel.ones([100]), true, 'jit_nonfinite_x');
    let value = Number.POSITIVE_INFINITY;
    const f = keel.jit(() =>
      keel.tidy(() => {
        const d = keel.pad(keel.mul(x, 2), [[1, 1]], value).dataSync();
        return [d[0], d[1], d[101]];
      }),
    );
    expect(f()).toEqual([Number.POSITIVE_INFINITY, 2, Number.POSITIVE_INFINITY]);
    value = Number.NEGATIVE_INFINITY;
    expect(f()).toEqual([Number.NEGATIVE_INFINITY, 2, Number.NEGATIVE_INFINITY]);
    value = Number.NaN;
    expect(f()).toEqual([Number.NaN, 2, Number.NaN]);
    value = Number.POSITIVE_INFINITY;
    expect(f()).toEqual([Number.POSITIVE_INFINITY, 2, Number.POSITIVE_INFINITY]);
    expect(f.stats.compiles).toBe(3);
    x.dispose();
  });

  it('dropout with a seed gives the same mask eager and jitted', () => {
    const x = keel.ones([20, 20]);
    const eager = keel.dropout(x, 0.5, undefined, 11).dataSync();
    const jitted = keel
      .jit(() => keel.dropout(x, 0.5, undefined, 11))()
      .dataSync();
    expect(Array.from(jitted)).toEqual(Array.from(eager));
  });

  it('variable updates behave as in eager mode, and 100 jitted steps leak nothing', () => {
    const x = keel.randomNormal([10, 10], 0, 1, 'float32', 4);
    const make = (name: string) => {
      const w = keel.variable(keel.ones([10, 10]), true, name);
      const opt = keel.train.sgd(0.01);
      return {
        w,
        step: () =>
          keel.tidy(
            () => opt.minimize(() => keel.mean(keel.square(keel.matMul(x, w))), true, [w])!.dataSync()[0],
          ),
      };
    };
    const e = make('jit_leak_eager');
    const j = make('jit_leak_jit');
    const step = keel.jit(j.step);
    e.step();
    step();
    const before = keel.memory();
    for (let i = 0; i < 100; i++) expect(step()).toBe(e.step());
    const after = keel.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(Array.from(j.w.dataSync())).toEqual(Array.from(e.w.dataSync()));
    expect(step.stats.compiles).toBe(1);
  });

  it('lowers peak memory of a training step', async () => {
    const x = keel.randomNormal([16, 12, 12, 3], 0, 1, 'float32', 12);
    const y = onehot(16, 4);
    const peaks: number[] = [];
    for (const jitCompile of [false, true]) {
      const m = cnn();
      m.compile({ optimizer: keel.train.adam(0.01), loss: 'categoricalCrossentropy', jitCompile });
      m.trainOnBatch(x, y);
      keel.resetPeakMemory();
      const base = keel.memory().numBytes;
      m.trainOnBatch(x, y);
      peaks.push(keel.memory().peakBytes - base);
      m.dispose();
    }
    expect(peaks[1]).toBeLessThan(peaks[0]);
  });

  it('refuses non-functions and async functions', () => {
    expect(() => keel.jit(42 as never)).toThrow(/jit: expected a function/);
    expect(() => keel.jit(async () => 1)()).toThrow(/must be synchronous/);
  });
});
