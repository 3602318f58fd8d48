// Automatic mixed precision: which ops are cast, gradients, and agreement with float32.
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as keel from '../../src/index.js';
import { expectClose } from '../helpers.js';

const { autocast, AutocastPolicy, LossScaleOptimizer } = keel.mixedPrecision;

describe('autocast', () => {
  it('runs matMul/conv in 16-bit, exp/log/reductions in float32, and mixed operands meet in 16-bit', () => {
    const p = new AutocastPolicy('float16');
    const a = keel.randomNormal([4, 3], 0, 1, 'float32', 1);
    const b = keel.randomNormal([3, 2], 0, 1, 'float32', 2);
    autocast(p, () => {
      const y = keel.matMul(a, b);
      expect(y.dtype).toBe('float16');
      expect(keel.exp(y).dtype).toBe('float32');
      expect(keel.sum(y).dtype).toBe('float32');
      expect(keel.relu(y).dtype).toBe('float16');
      expect(keel.add(y, keel.ones([2])).dtype).toBe('float16');
      expect(keel.softmax(y).dtype).toBe('float32');
      const c = keel.conv2d(keel.ones([1, 4, 4, 2]), keel.ones([3, 3, 2, 1]), 1, 'same');
      expect(c.dtype).toBe('float16');
    });
    expect(p.counts).toMatchObject({
      matMul: 1,
      'unary:exp': expect.any(Number),
      'reduce:sum': expect.any(Number),
      conv2d: 1,
    });
    // outside the region nothing is cast and mixing float dtypes is an error again
    expect(keel.matMul(a, b).dtype).toBe('float32');
    expect(() => keel.add(keel.ones([1]).cast('float16'), keel.ones([1]))).toThrow(
      /float16.*float32|mixing float dtypes/,
    );
  });

  it('gradients flow through autocast regions back to float32 inputs', () => {
    const p = new AutocastPolicy('bfloat16');
    const w = keel.variable(keel.randomNormal([3, 2], 0, 1, 'float32', 3), true, 'amp_grad_w');
    const x = keel.randomNormal([5, 3], 0, 1, 'float32', 4);
    const f = () => keel.sum(keel.square(keel.matMul(x, w)));
    const eager = keel.variableGrads(f, [w]).grads.amp_grad_w;
    const amp = keel.variableGrads(() => autocast(p, f), [w]).grads.amp_grad_w;
    expect(amp.dtype).toBe('float32');
    expectClose(amp.dataSync(), eager.dataSync(), 3e-2);
  });
});

describe('compile({ autoMixedPrecision })', () => {
  function cnn() {
    const L = keel.layers;
    return keel.sequential({
      layers: [
        L.conv2d({
          filters: 4,
          kernelSize: 3,
          inputShape: [8, 8, 3],
          activation: 'relu',
          kernelInitializer: keel.initializers.heNormal({ seed: 1 }),
        }),
        L.batchNormalization(),
        L.globalAveragePooling2d(),
        L.dense({
          units: 3,
          activation: 'softmax',
          kernelInitializer: keel.initializers.glorotUniform({ seed: 2 }),
        }),
      ],
    });
  }

  it('casts the intended ops, matches float32 within 16-bit tolerance, and adds loss scaling for float16', async () => {
    const x = keel.randomNormal([16, 8, 8, 3], 0, 1, 'float32', 5);
    const y = keel
      .oneHot(
        keel.tensor1d(
          Array.from({ length: 16 }, (_, i) => i % 3),
          'int32',
        ),
        3,
      )
      .cast('float32');
    const ref = cnn();
    ref.compile({ optimizer: keel.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    for (const dtype of ['bfloat16', 'float16'] as const) {
      const m = cnn();
      m.setWeights(ref.getWeights());
      m.compile({
        optimizer: keel.train.sgd(0.1),
        loss: 'categoricalCrossentropy',
        autoMixedPrecision: dtype,
      });
      expect(m.optimizer instanceof LossScaleOptimizer).toBe(dtype === 'float16');
      const want = ref.predict(x) as Tensor;
      const got = m.predict(x) as Tensor;
      expect(got.dtype).toBe('float32');
      expectClose(got.dataSync(), want.dataSync(), dtype === 'float16' ? 5e-3 : 3e-2, dtype);
      const r = m.precisionReport();
      expect(r.autoMixedPrecision?.dtype).toBe(dtype);
      expect(Object.keys(r.autoMixedPrecision!.castOps)).toEqual(
        expect.arrayContaining(['conv2d', 'matMul', 'unary:exp']),
      );
      const h = await m.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0, shuffle: false });
      expect(h.history.loss[2]).toBeLessThan(h.history.loss[0]);
    }
    expect(() =>
      cnn().compile({ optimizer: 'sgd', loss: 'meanSquaredError', autoMixedPrecision: 'int8' as 'float16' }),
    ).toThrow(/autoMixedPrecision must be 'float16', 'bfloat16' or null/);
  });
});
