// Layers: forward against float64 references, gradients against finite differences, policies,
// configs, and bad inputs.
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as keel from '../../src/index.js';
import { expectClose, numericGrad, seededFloats } from '../helpers.js';
import { refConv2d, refPool } from '../reference-conv.js';

const t = (shape: number[], seed: number, lo = -1, hi = 1) =>
  keel.tensor(
    seededFloats(
      shape.reduce((a, b) => a * b, 1),
      seed,
      lo,
      hi,
    ),
    shape,
  );
const vals = (x: Tensor) => Float64Array.from(x.dataSync());

/** x[n, i] · w[i, j] + b[j] in float64. */
function denseRef(
  x: Float64Array,
  n: number,
  k: number,
  w: Float64Array,
  m: number,
  b: Float64Array,
): Float64Array {
  const y = new Float64Array(n * m);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < m; j++) {
      let s = b[j];
      for (let i = 0; i < k; i++) s += x[r * k + i] * w[i * m + j];
      y[r * m + j] = s;
    }
  return y;
}

describe('dense', () => {
  it('computes act(x W + b) against float64, for rank 2 and rank 3 inputs', () => {
    const layer = keel.layers.dense({ units: 5, activation: 'tanh' });
    const x = t([4, 3], 1);
    const y = layer.apply(x) as Tensor;
    const [w, b] = layer.getWeights().map(vals);
    expect(y.shape).toEqual([4, 5]);
    expectClose(y.dataSync(), denseRef(vals(x), 4, 3, w, 5, b).map(Math.tanh), 1e-5);
    const x3 = t([2, 2, 3], 2);
    const y3 = layer.apply(x3) as Tensor;
    expect(y3.shape).toEqual([2, 2, 5]);
    expectClose(y3.dataSync(), denseRef(vals(x3), 4, 3, w, 5, b).map(Math.tanh), 1e-5);
  });

  it('initializes with glorotUniform within its limit, bias zeros, names weights layer/kernel', () => {
    const layer = keel.layers.dense({ units: 40, inputShape: [60], name: 'fc_init' });
    layer.apply(keel.zeros([1, 60]));
    const [w, b] = layer.getWeights();
    const limit = Math.sqrt(6 / (60 + 40));
    const wv = w.dataSync();
    expect(Math.max(...wv.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...wv.map(Math.abs))).toBeGreaterThan(limit * 0.9);
    expect(Array.from(b.dataSync()).every((v) => v === 0)).toBe(true);
    expect(layer.weights.map((v) => layer.originalNameOf(v))).toEqual(['fc_init/kernel', 'fc_init/bias']);
  });

  it('gradients of a dense layer match finite differences of a float64 reference', () => {
    const layer = keel.layers.dense({ units: 3, activation: 'sigmoid' });
    const x = t([2, 4], 3);
    layer.apply(x);
    const [w, b] = layer.getWeights().map(vals);
    const xv = vals(x);
    const loss = (wv: Float64Array) =>
      denseRef(xv, 2, 4, wv, 3, b).reduce((s, v) => s + (1 / (1 + Math.exp(-v))) ** 2, 0);
    const { grads } = keel.variableGrads(
      () => (layer.apply(x) as Tensor).square().sum(),
      layer.trainableWeights,
    );
    const kernelName = layer.trainableWeights[0].name;
    expectClose(grads[kernelName].dataSync(), numericGrad(loss, w), 1e-4);
  });

  it('rejects bad units, activations and input shapes', () => {
    expect(() => keel.layers.dense({ units: 0 })).toThrow(/Dense .*units must be a positive integer/);
    expect(() => keel.layers.dense({ units: 2, activation: 'nope' })).toThrow(/unknown activation 'nope'/);
    const l = keel.layers.dense({ units: 2 });
    l.apply(keel.zeros([1, 3]));
    expect(() => l.apply(keel.zeros([1, 4]))).toThrow(/last dimension is 4.*expects 3/);
  });
});

describe('conv2d, pooling, padding', () => {
  it('conv2d layer matches a float64 convolution (same padding, stride 2, bias, relu)', () => {
    const layer = keel.layers.conv2d({
      filters: 4,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
    });
    const x = t([2, 7, 6, 3], 4);
    const y = layer.apply(x) as Tensor;
    const [w, b] = layer.getWeights().map(vals);
    const ref = refConv2d(vals(x), [2, 7, 6, 3], w, [3, 3, 3, 4], {
      strides: [2, 2],
      dilations: [1, 1],
      pad: 'same',
    });
    expect(y.shape).toEqual(ref.shape);
    expectClose(
      y.dataSync(),
      ref.y.map((v, i) => Math.max(0, v + b[i % 4])),
      1e-5,
    );
  });

  it('symbolic output shapes follow TensorFlow rules', () => {
    const x = keel.input({ shape: [9, 9, 3] });
    const c = keel.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2 }).apply(x) as keel.SymbolicTensor;
    expect(c.shape).toEqual([null, 4, 4, 8]);
    const d = keel.layers
      .depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' })
      .apply(x) as keel.SymbolicTensor;
    expect(d.shape).toEqual([null, 9, 9, 6]);
    const p = keel.layers.maxPooling2d({ poolSize: 2 }).apply(x) as keel.SymbolicTensor;
    expect(p.shape).toEqual([null, 4, 4, 3]);
    const z = keel.layers
      .zeroPadding2d({
        padding: [
          [1, 2],
          [3, 4],
        ],
      })
      .apply(x) as keel.SymbolicTensor;
    expect(z.shape).toEqual([null, 12, 16, 3]);
    const g = keel.layers.globalAveragePooling2d().apply(x) as keel.SymbolicTensor;
    expect(g.shape).toEqual([null, 3]);
  });

  it('pooling layers match float64 references; global pools reduce height and width', () => {
    const x = t([2, 5, 5, 3], 5);
    const xv = vals(x);
    const mp = keel.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as Tensor;
    expectClose(
      mp.dataSync(),
      refPool('max', xv, [2, 5, 5, 3], [3, 3], { strides: [2, 2], dilations: [1, 1], pad: 'same' }).y,
      1e-6,
    );
    const ap = keel.layers.averagePooling2d({ poolSize: 2 }).apply(x) as Tensor;
    expectClose(
      ap.dataSync(),
      refPool('avg', xv, [2, 5, 5, 3], [2, 2], { strides: [2, 2], dilations: [1, 1], pad: 'valid' }).y,
      1e-6,
    );
    const gm = keel.layers.globalMaxPooling2d().apply(x) as Tensor;
    const ga = keel.layers.globalAveragePooling2d().apply(x) as Tensor;
    const wantMax = new Float64Array(6).fill(-Infinity);
    const wantAvg = new Float64Array(6);
    for (let i = 0; i < xv.length; i++) {
      const n = Math.floor(i / 75);
      const c = i % 3;
      wantMax[n * 3 + c] = Math.max(wantMax[n * 3 + c], xv[i]);
      wantAvg[n * 3 + c] += xv[i] / 25;
    }
    expectClose(gm.dataSync(), wantMax, 1e-6);
    expectClose(ga.dataSync(), wantAvg, 1e-6);
  });

  it('zeroPadding2d pads height and width with zeros', () => {
    const y = keel.layers.zeroPadding2d({ padding: 1 }).apply(keel.ones([1, 1, 1, 2])) as Tensor;
    expect(y.shape).toEqual([1, 3, 3, 2]);
    expect(y.sum().dataSync()[0]).toBe(2);
    expect(Array.from(y.slice([0, 1, 1, 0], [1, 1, 1, 2]).dataSync())).toEqual([1, 1]);
  });

  it('rejects bad conv and pool arguments', () => {
    expect(() => keel.layers.conv2d({ filters: 2, kernelSize: 0 })).toThrow(
      /kernelSize must be positive integers/,
    );
    expect(() => keel.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'full' as 'same' })).toThrow(
      /padding must be 'valid' or 'same'/,
    );
    expect(() => keel.layers.conv2d({ filters: 2, kernelSize: 3, dataFormat: 'channelsFirst' })).toThrow(
      /channelsLast/,
    );
    expect(() =>
      keel.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(keel.input({ shape: [4, 4] })),
    ).toThrow(/rank 4/);
    expect(() => keel.layers.maxPooling2d({ poolSize: 0 })).toThrow(/poolSize and strides must be positive/);
  });
});

describe('batchNormalization', () => {
  it('training uses batch statistics and moves the moving statistics by momentum', () => {
    const bn = keel.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 });
    const x = t([6, 4], 6, -2, 3);
    const y = bn.apply(x, { training: true }) as Tensor;
    const xv = vals(x);
    const mean = new Float64Array(4);
    const variance = new Float64Array(4);
    for (let i = 0; i < 24; i++) mean[i % 4] += xv[i] / 6;
    for (let i = 0; i < 24; i++) variance[i % 4] += (xv[i] - mean[i % 4]) ** 2 / 6;
    expectClose(
      y.dataSync(),
      xv.map((v, i) => (v - mean[i % 4]) / Math.sqrt(variance[i % 4] + 1e-3)),
      1e-5,
    );
    const [, , movingMean, movingVar] = bn.getWeights().map(vals);
    expectClose(
      movingMean,
      mean.map((m) => 0.1 * m),
      1e-5,
    );
    expectClose(
      movingVar,
      variance.map((v) => 0.9 + 0.1 * v),
      1e-5,
    );
    // inference uses the moving statistics
    const yi = bn.apply(x, { training: false }) as Tensor;
    expectClose(
      yi.dataSync(),
      xv.map((v, i) => (v - movingMean[i % 4]) / Math.sqrt(movingVar[i % 4] + 1e-3)),
      1e-5,
    );
  });

  it('has trainable gamma/beta and non-trainable moving statistics, all float32 under mixed policies', () => {
    const bn = keel.layers.batchNormalization({ dtype: 'mixed_float16' });
    const y = bn.apply(keel.ones([2, 3]).cast('float16'), { training: true }) as Tensor;
    expect(y.dtype).toBe('float16');
    expect(bn.trainableWeights.length).toBe(2);
    expect(bn.nonTrainableWeights.length).toBe(2);
    expect(bn.weights.every((w) => w.dtype === 'float32')).toBe(true);
  });

  it('gradient w.r.t. gamma matches finite differences', () => {
    const bn = keel.layers.batchNormalization();
    const x = t([5, 3], 7, -1, 2);
    bn.apply(x, { training: false });
    const xv = vals(x);
    const w = keel.randomNormal([5, 3], 0, 1, 'float32', 9);
    const wv = vals(w);
    const f = (gamma: Float64Array) => {
      const mean = new Float64Array(3);
      const v = new Float64Array(3);
      for (let i = 0; i < 15; i++) mean[i % 3] += xv[i] / 5;
      for (let i = 0; i < 15; i++) v[i % 3] += (xv[i] - mean[i % 3]) ** 2 / 5;
      let s = 0;
      for (let i = 0; i < 15; i++)
        s += wv[i] * gamma[i % 3] * ((xv[i] - mean[i % 3]) / Math.sqrt(v[i % 3] + 1e-3));
      return s;
    };
    const { grads } = keel.variableGrads(
      () => keel.mul(bn.apply(x, { training: true }) as Tensor, w).sum(),
      bn.trainableWeights,
    );
    expectClose(grads[bn.trainableWeights[0].name].dataSync(), numericGrad(f, [1, 1, 1]), 1e-4);
  });

  it('gradient w.r.t. the input (fused training-mode batch norm) matches finite differences', () => {
    const bn = keel.layers.batchNormalization({ epsilon: 1e-3 });
    const x = t([4, 3], 17, -1, 2);
    const w = keel.randomNormal([4, 3], 0, 1, 'float32', 18);
    const wv = vals(w);
    const gamma = [1.5, -0.5, 2];
    bn.apply(x, { training: false });
    bn.setWeights([keel.tensor(gamma), keel.tensor([0.1, 0.2, 0.3]), keel.zeros([3]), keel.ones([3])]);
    const f = (xv: Float64Array) => {
      let s = 0;
      for (let c = 0; c < 3; c++) {
        let m = 0;
        let v = 0;
        for (let r = 0; r < 4; r++) m += xv[r * 3 + c] / 4;
        for (let r = 0; r < 4; r++) v += (xv[r * 3 + c] - m) ** 2 / 4;
        for (let r = 0; r < 4; r++)
          s += wv[r * 3 + c] * ((gamma[c] * (xv[r * 3 + c] - m)) / Math.sqrt(v + 1e-3) + 0.1 * (c + 1));
      }
      return s;
    };
    const g = keel.grad((xi: Tensor) => keel.mul(bn.apply(xi, { training: true }) as Tensor, w).sum())(x);
    expectClose(g.dataSync(), numericGrad(f, vals(x)), 1e-4);
  });
});

describe('other layers', () => {
  it('activation, reLU(maxValue), flatten, reshape, rescaling, dropout, add, multiply, concatenate', () => {
    const x = t([2, 3, 4], 8, -3, 3);
    const xv = vals(x);
    expectClose(
      (keel.layers.activation({ activation: 'sigmoid' }).apply(x) as Tensor).dataSync(),
      xv.map((v) => 1 / (1 + Math.exp(-v))),
      1e-6,
    );
    expectClose(
      (keel.layers.reLU({ maxValue: 1.5 }).apply(x) as Tensor).dataSync(),
      xv.map((v) => Math.min(Math.max(v, 0), 1.5)),
      0,
    );
    expect((keel.layers.flatten().apply(x) as Tensor).shape).toEqual([2, 12]);
    expect((keel.layers.reshape({ targetShape: [4, -1] }).apply(x) as Tensor).shape).toEqual([2, 4, 3]);
    expectClose(
      (keel.layers.rescaling({ scale: 1 / 255, offset: -1 }).apply(x) as Tensor).dataSync(),
      xv.map((v) => v / 255 - 1),
      1e-6,
    );
    const drop = keel.layers.dropout({ rate: 0.5, seed: 3 });
    expectClose((drop.apply(x) as Tensor).dataSync(), xv, 0);
    const dropped = (drop.apply(keel.ones([1000]), { training: true }) as Tensor).dataSync();
    expect(dropped.every((v) => v === 0 || v === 2)).toBe(true);
    expect(Math.abs(Array.from(dropped).reduce((a: number, b: number) => a + b, 0) / 1000 - 1)).toBeLessThan(
      0.1,
    );
    const y = t([2, 3, 4], 9);
    const yv = vals(y);
    expectClose(
      (keel.layers.add().apply([x, y]) as Tensor).dataSync(),
      xv.map((v, i) => v + yv[i]),
      1e-6,
    );
    expectClose(
      (keel.layers.multiply().apply([x, y]) as Tensor).dataSync(),
      xv.map((v, i) => v * yv[i]),
      1e-6,
    );
    expect((keel.layers.concatenate({ axis: 1 }).apply([x, y]) as Tensor).shape).toEqual([2, 6, 4]);
  });

  it('merge layers check their input shapes', () => {
    const a = keel.input({ shape: [3] });
    const b = keel.input({ shape: [4] });
    expect(() => keel.layers.add().apply([a, b])).toThrow(/Add .*same shape.*\[null,3\] and \[null,4\]/);
    expect(() => keel.layers.add().apply(a)).toThrow(/at least 2 inputs/);
    expect((keel.layers.concatenate().apply([a, b]) as keel.SymbolicTensor).shape).toEqual([null, 7]);
    expect(() => keel.layers.reshape({ targetShape: [5] }).apply(a)).toThrow(/cannot reshape \[3\]/);
  });

  it('layer names are unique and Keras-style; configs carry Keras keys', () => {
    const d1 = keel.layers.dense({ units: 1 });
    const d2 = keel.layers.dense({ units: 1 });
    expect(d1.name).not.toBe(d2.name);
    expect(keel.layers.batchNormalization().name).toMatch(/^batch_normalization(_\d+)?$/);
    expect(keel.layers.conv2d({ filters: 1, kernelSize: 1 }).name).toMatch(/^conv2d(_\d+)?$/);
    expect(keel.layers.conv2d({ filters: 3, kernelSize: 2, name: 'c' }).getConfig()).toMatchObject({
      name: 'c',
      filters: 3,
      kernel_size: [2, 2],
      padding: 'valid',
    });
  });
});

describe('dtype policies on layers', () => {
  it('computeDtype/variableDtype follow the policy; float inputs are cast, int inputs are not', () => {
    const d = keel.layers.dense({ units: 2, dtype: 'mixed_bfloat16' });
    expect(d.dtypePolicy.name).toBe('mixed_bfloat16');
    expect(d.computeDtype).toBe('bfloat16');
    expect(d.variableDtype).toBe('float32');
    const y = d.apply(keel.ones([3, 4])) as Tensor;
    expect(y.dtype).toBe('bfloat16');
    expect(d.weights.every((w) => w.dtype === 'float32')).toBe(true);
    const flat = keel.layers.flatten({ dtype: 'mixed_float16' });
    expect((flat.apply(keel.tensor([[1, 2]], [1, 2], 'int32')) as Tensor).dtype).toBe('int32');
  });

  it('the gradient of a mixed layer flows back to its float32 variables', () => {
    const d = keel.layers.dense({ units: 2, dtype: 'mixed_float16' });
    const x = keel.ones([3, 4]);
    d.apply(x);
    const { grads } = keel.variableGrads(
      () => (d.apply(x) as Tensor).cast('float32').sum(),
      d.trainableWeights,
    );
    for (const g of Object.values(grads)) expect(g.dtype).toBe('float32');
    expectClose(grads[d.trainableWeights[0].name].dataSync(), new Array(8).fill(3), 2e-3);
  });

  it('the global policy applies to layers created after it is set', () => {
    keel.mixedPrecision.setGlobalPolicy('mixed_float16');
    try {
      expect(keel.layers.dense({ units: 1 }).computeDtype).toBe('float16');
    } finally {
      keel.mixedPrecision.setGlobalPolicy('float32');
    }
    expect(keel.layers.dense({ units: 1 }).computeDtype).toBe('float32');
    expect(() => keel.layers.dense({ units: 1, dtype: 'int32' })).toThrow(
      /dtype 'int32' is not a float dtype or policy/,
    );
    expect(() => new keel.mixedPrecision.Policy('mixed_int8')).toThrow(/unknown policy 'mixed_int8'/);
    // Keras writes Policy('mixed_float16') without `new`; both forms make the same kind of object
    const called = keel.mixedPrecision.Policy('mixed_bfloat16');
    expect(called).toBeInstanceOf(keel.mixedPrecision.Policy);
    expect(new keel.mixedPrecision.Policy('float16')).toBeInstanceOf(keel.mixedPrecision.Policy);
    expect([called.computeDtype, called.variableDtype]).toEqual(['bfloat16', 'float32']);
    expect(keel.layers.dense({ units: 1, dtype: called }).dtypePolicy).toBe(called);
  });
});

describe('initializers and regularizers', () => {
  it('variance-scaling initializers have the right spread; names resolve in both cases', () => {
    const he = keel.initializers.heNormal({ seed: 1 }).apply([3, 3, 64, 64]);
    const v = he.dataSync();
    const std = Math.sqrt(Array.from(v).reduce((s: number, x: number) => s + x * x, 0) / v.length);
    expect(Math.abs(std / Math.sqrt(2 / 576) - 1)).toBeLessThan(0.05);
    const l = keel.layers.dense({ units: 3, kernelInitializer: 'he_uniform' });
    l.apply(keel.zeros([1, 2]));
    expect(() =>
      keel.layers.dense({ units: 3, kernelInitializer: 'bogus' }).apply(keel.zeros([1, 2])),
    ).toThrow(/unknown initializer 'bogus'/);
  });

  it('kernel regularizers add l2 * sum(w^2) to the layer losses', () => {
    const l = keel.layers.dense({
      units: 2,
      kernelRegularizer: keel.regularizers.l2({ l2: 0.5 }),
      kernelInitializer: 'ones',
    });
    l.apply(keel.zeros([1, 3]));
    const [r] = l.regularizationLosses();
    expect(r.dataSync()[0]).toBeCloseTo(0.5 * 6, 6);
  });
});
