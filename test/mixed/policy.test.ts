// Mixed precision in models: dtype propagation through every layer type, float32 islands,
// float16 inputs, summary, precision reports, the monitor, and mixed vs float32 accuracy.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SymbolicTensor, Tensor } from '../../src/index.js';
import * as keel from '../../src/index.js';

const S = (x: unknown) => x as SymbolicTensor;
afterEach(() => keel.mixedPrecision.setGlobalPolicy('float32'));

/** Every layer type in one graph, built under the current global policy. */
function everyLayer(inputDtype: 'float32' | 'float16' = 'float32') {
  const L = keel.layers;
  const x = keel.input({ shape: [8, 8, 3], dtype: inputDtype });
  let h = S(L.rescaling({ scale: 1 / 2 }).apply(x));
  h = S(L.zeroPadding2d({ padding: 1 }).apply(h));
  h = S(L.conv2d({ filters: 4, kernelSize: 3 }).apply(h));
  h = S(L.batchNormalization().apply(h));
  h = S(L.reLU().apply(h));
  const d = S(L.depthwiseConv2d({ kernelSize: 3, padding: 'same' }).apply(h));
  h = S(L.add().apply([h, d]));
  h = S(L.multiply().apply([h, d]));
  const mp = S(L.maxPooling2d({ poolSize: 2 }).apply(h));
  const ap = S(L.averagePooling2d({ poolSize: 2 }).apply(h));
  h = S(L.concatenate().apply([mp, ap]));
  const g1 = S(L.globalAveragePooling2d().apply(h));
  const g2 = S(L.globalMaxPooling2d().apply(h));
  const f = S(
    L.flatten().apply(S(L.reshape({ targetShape: [2, 8] }).apply(S(L.concatenate().apply([g1, g2]))))),
  );
  h = S(L.dropout({ rate: 0.1 }).apply(f));
  h = S(L.dense({ units: 5 }).apply(h));
  const out = S(L.activation({ activation: 'softmax', dtype: 'float32' }).apply(h));
  return keel.model({ inputs: x, outputs: out });
}

describe('policies through models', () => {
  for (const [policy, compute] of [
    ['mixed_float16', 'float16'],
    ['mixed_bfloat16', 'bfloat16'],
  ] as const) {
    it(`${policy}: every layer computes in ${compute}, variables stay float32, the float32 output layer outputs float32`, () => {
      keel.mixedPrecision.setGlobalPolicy(policy);
      const m = everyLayer();
      for (const l of m.layers) {
        if (l.className === 'InputLayer') continue;
        const want = l.className === 'Activation' ? 'float32' : compute;
        expect(l.computeDtype, l.name).toBe(want);
        const out = l.inboundNodes[0].outputs[0];
        expect(out.dtype, `${l.name} output`).toBe(want);
      }
      expect(m.weights.every((w) => w.dtype === 'float32')).toBe(true);
      const y = m.predict(keel.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1)) as Tensor;
      expect(y.dtype).toBe('float32');
      expect(y.sum().dataSync()[0]).toBeCloseTo(2, 2);
    });
  }

  it('float16 inputs are accepted (the seed feeds float16 images) and losses are float32', async () => {
    keel.mixedPrecision.setGlobalPolicy('mixed_float16');
    const m = everyLayer('float16');
    m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const x = keel.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 2).cast('float16');
    const y = keel.oneHot(keel.tensor1d([0, 1, 2, 3], 'int32'), 5).cast('float32');
    const h = await m.fit(x, y, { epochs: 1, verbose: 0 });
    expect(Number.isFinite(h.history.loss[0])).toBe(true);
    const loss = m.compiled!.loss.fn(y, (m.predict(x) as Tensor).cast('float16'));
    expect(loss.dtype).toBe('float32');
  });

  it('summary shows each layer policy when any layer is not float32', () => {
    const m = keel.sequential({
      layers: [
        keel.layers.dense({ units: 3, inputShape: [2], dtype: 'mixed_float16', name: 'p_dense' }),
        keel.layers.activation({ activation: 'softmax', dtype: 'float32', name: 'p_out' }),
      ],
    });
    const lines: string[] = [];
    m.summary(undefined, undefined, (l) => lines.push(l));
    expect(lines[2]).toMatch(/^ Layer \(type\)\s+Output Shape\s+Param #\s+Policy\s*$/);
    expect(lines.find((l) => l.startsWith(' p_dense'))).toMatch(/\(None, 3\)\s+9\s+mixed_float16/);
    expect(lines.find((l) => l.startsWith(' p_out'))).toMatch(/float32\s*$/);
  });
});

describe('diagnostics', () => {
  it('precisionReport gives per-layer dtypes, the loss scale, memory saved and gradient underflow', () => {
    keel.mixedPrecision.setGlobalPolicy('mixed_float16');
    const m = everyLayer();
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    const x = keel.randomNormal([8, 8, 8, 3], 0, 1, 'float32', 3);
    const y = keel.oneHot(keel.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32'), 5).cast('float32');
    const before = m.getWeights().map((w) => Array.from(w.dataSync()));
    const r = m.precisionReport(x, y);
    expect(r.policy).toBe('mixed_float16');
    expect(r.lossScale).toBe(2 ** 15);
    expect(r.layers.find((l) => l.className === 'Conv2D')).toMatchObject({
      policy: 'mixed_float16',
      computeDtype: 'float16',
      variableDtype: 'float32',
    });
    expect(r.step!.peakBytes).toBeGreaterThan(0);
    expect(r.step!.savedBytes).toBeGreaterThan(0);
    expect(r.step!.peakBytesAsFloat32).toBe(r.step!.peakBytes + r.step!.savedBytes);
    expect(r.step!.underflow.sampled).toBeGreaterThan(0);
    // measuring does not train
    expect(m.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
  });

  it('gradientUnderflow counts values float16 flushes to zero or stores as subnormals', () => {
    const g = keel.tensor([0, 1e-9, -2e-8, 1e-6, -3e-5, 1e-3, 1]);
    expect(keel.mixedPrecision.gradientUnderflow([g])).toEqual({
      sampled: 7,
      wouldFlush: 2,
      wouldBeSubnormal: 2,
      flushFraction: 2 / 7,
      subnormalFraction: 2 / 7,
    });
  });

  it('PrecisionMonitor records the loss scale, skipped steps and sampled underflow per step', async () => {
    const m = keel.sequential({
      layers: [
        keel.layers.dense({ units: 2, inputShape: [3], dtype: 'mixed_float16', kernelInitializer: 'zeros' }),
      ],
    });
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const mon = new keel.mixedPrecision.PrecisionMonitor({ sampleEvery: 2 });
    await m.fit(keel.ones([8, 3]), keel.ones([8, 2]), {
      epochs: 1,
      batchSize: 2,
      verbose: 0,
      callbacks: [mon],
    });
    expect(mon.history.step).toEqual([0, 1, 2, 3]);
    expect(mon.history.lossScale).toEqual([2 ** 15, 2 ** 15, 2 ** 15, 2 ** 15]);
    expect(mon.history.flushFraction.map((f) => f !== null)).toEqual([true, false, true, false]);
    expect(mon.skippedSteps).toBe(0);
  });
});

describe('mixed vs float32 training', () => {
  /** Five classes of oriented stripes with noise, 12x12 RGB. */
  function stripes(n: number, seed: number) {
    const size = 12;
    const noise = keel.randomNormal([n * size * size * 3], 0, 0.4, 'float32', seed).dataSync();
    const v = new Float32Array(n * size * size * 3);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = i % 5;
      labels.push(k);
      const a = (k * Math.PI) / 5;
      for (let yy = 0; yy < size; yy++)
        for (let xx = 0; xx < size; xx++)
          for (let c = 0; c < 3; c++) {
            const at = ((i * size + yy) * size + xx) * 3 + c;
            v[at] = Math.sin((xx * Math.cos(a) + yy * Math.sin(a)) * 1.2) + noise[at];
          }
    }
    return {
      x: keel.tensor(v, [n, size, size, 3]),
      y: keel.oneHot(keel.tensor1d(labels, 'int32'), 5).cast('float32'),
    };
  }

  it('mixed_float16 and mixed_bfloat16 reach float32 accuracy within 2 points from the same seed', async () => {
    const train = stripes(400, 1);
    const test = stripes(200, 2);
    const acc: Record<string, number> = {};
    for (const policy of ['float32', 'mixed_float16', 'mixed_bfloat16']) {
      keel.mixedPrecision.setGlobalPolicy(policy);
      const L = keel.layers;
      const m = keel.sequential({
        layers: [
          L.conv2d({
            filters: 8,
            kernelSize: 3,
            inputShape: [12, 12, 3],
            activation: 'relu',
            kernelInitializer: keel.initializers.heNormal({ seed: 1 }),
          }),
          L.maxPooling2d({ poolSize: 2 }),
          L.conv2d({
            filters: 16,
            kernelSize: 3,
            activation: 'relu',
            kernelInitializer: keel.initializers.heNormal({ seed: 2 }),
          }),
          L.globalAveragePooling2d(),
          L.dense({ units: 5, kernelInitializer: keel.initializers.glorotUniform({ seed: 3 }) }),
          L.activation({ activation: 'softmax', dtype: 'float32' }),
        ],
      });
      m.compile({ optimizer: keel.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      await m.fit(train.x, train.y, { epochs: 8, batchSize: 32, verbose: 0, seed: 7 });
      acc[policy] = (m.evaluate(test.x, test.y) as Tensor[])[1].dataSync()[0];
    }
    expect(acc.float32).toBeGreaterThan(0.9);
    expect(Math.abs(acc.mixed_float16 - acc.float32)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(acc.mixed_bfloat16 - acc.float32)).toBeLessThanOrEqual(0.02);
  }, 120_000);
});

describe('policy warnings', () => {
  it("warns once that 'mixed_float16' saves memory but not time on the CPU, and that 'float16' is not mixed", async () => {
    vi.resetModules(); // a fresh policy module: its warn-once set starts empty
    const fresh = await import('../../src/mixed/policy.js');
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      fresh.setGlobalPolicy('mixed_float16');
      fresh.setGlobalPolicy('mixed_float16');
      fresh.setGlobalPolicy('mixed_bfloat16');
      fresh.setGlobalPolicy('float16');
      const messages = spy.mock.calls.map((c) => String(c[0]));
      expect(messages).toHaveLength(2);
      expect(messages[0]).toMatch(/'mixed_float16' on the CPU saves activation memory but not time/);
      expect(messages[1]).toMatch(/Did you mean 'mixed_float16'\?/);
    } finally {
      spy.mockRestore();
      fresh.setGlobalPolicy('float32');
    }
  });
});
