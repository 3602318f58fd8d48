// Neural-network ops against float64 references: softmax, logSoftmax, moments, batchNorm, dropout, and
// tf.losses (softmaxCrossEntropy, sigmoidCrossEntropy, meanSquaredError) with weights, label smoothing and
// every Reduction, per float dtype; tfjs' defaults; errors naming the op and the argument.

import { describe, expect, it } from 'vitest';
import * as keel from '../../src/index.js';
import { expectClose, expectTensor, leaked, randomNd, seededFloats, TOL, tensorOf } from '../helpers.js';
import {
  batchNormRef,
  type FloatDType,
  logSoftmaxRef,
  MEAN,
  meanSquaredErrorRef,
  momentsRef,
  type Nd,
  NONE,
  nd,
  roundScalar,
  SUM,
  SUM_BY_NONZERO_WEIGHTS,
  sigmoidCrossEntropyRef,
  softmaxCrossEntropyRef,
  softmaxRef,
} from '../reference.js';

const FLOATS: FloatDType[] = ['float32', 'float16', 'bfloat16'];
const { Reduction } = keel.losses;

describe('softmax and logSoftmax', () => {
  it.each(FLOATS)('along every axis of a rank-3 tensor (%s)', (dtype) => {
    const { t, x } = tensorOf(randomNd([3, 4, 5], 1, -4, 4), dtype);
    for (const axis of [-1, 0, 1, 2, -2]) {
      // a handful of roundings (max, sub, exp, sum, div / log, add, sub) in 16 bits
      expectTensor(keel.softmax(t, axis), softmaxRef(x, axis), dtype, 2 * TOL[dtype], `softmax axis ${axis}`);
      expectTensor(
        keel.logSoftmax(t, axis),
        logSoftmaxRef(x, axis),
        dtype,
        2 * TOL[dtype],
        `logSoftmax axis ${axis}`,
      );
    }
    expectTensor(keel.softmax(t), softmaxRef(x), dtype, 2 * TOL[dtype]);
    expectTensor(t.logSoftmax(), logSoftmaxRef(x), dtype, 2 * TOL[dtype]);
  });

  it('rows sum to one; huge logits do not overflow; -Inf logits get probability 0', () => {
    const { t } = tensorOf(randomNd([6, 7], 2, -10, 10));
    expectClose(keel.sum(keel.softmax(t), -1).dataSync(), new Array(6).fill(1), 1e-6);
    const big = nd([1000, 1001, 1002, -1000], [4]);
    expectTensor(keel.softmax(keel.tensor(Array.from(big.data))), softmaxRef(big), 'float32');
    expectTensor(keel.logSoftmax(keel.tensor(Array.from(big.data))), logSoftmaxRef(big), 'float32');
    expectTensor(keel.softmax(keel.tensor([0, Number.NEGATIVE_INFINITY])), nd([1, 0], [2]), 'float32', 0);
    expectTensor(
      keel.softmax(keel.tensor([60000, 60000, 0], [3], 'float16')),
      nd([0.5, 0.5, 0], [3]),
      'float16',
    );
  });

  it('logSoftmax of int32 is float32 (tfjs); softmax needs floats (tfjs)', () => {
    expectTensor(
      keel.logSoftmax(keel.tensor([1, 2, 3], [3], 'int32')),
      logSoftmaxRef(nd([1, 2, 3], [3])),
      'float32',
    );
    expect(() => keel.softmax(keel.tensor([1, 2], [2], 'int32'))).toThrow(
      /softmax: argument 'logits' must be a float tensor.*int32/,
    );
  });

  it('errors name the op and the argument', () => {
    expect(() => keel.softmax(keel.ones([2, 3]), 2)).toThrow(
      /softmax: dim 2 is out of range for a tensor of rank 2/,
    );
    expect(() => keel.softmax(keel.scalar(1))).toThrow(
      /softmax: dim -1 is out of range for a tensor of rank 0/,
    );
    expect(() => keel.logSoftmax(keel.ones([2, 3]), -3)).toThrow(/logSoftmax: axis -3 is out of range/);
    expect(() => keel.logSoftmax(keel.tensor([true]))).toThrow(
      /logSoftmax: argument 'logits' must be numeric, got bool/,
    );
  });
});

describe('moments', () => {
  it.each(FLOATS)('mean and biased variance over axes, with keepDims (%s)', (dtype) => {
    const { t, x } = tensorOf(randomNd([3, 4, 5], 3, -2, 3), dtype);
    for (const axes of [undefined, 0, -1, [0, 1], [0, 2], [0, 1, 2]]) {
      for (const keepDims of [false, true]) {
        const got = keel.moments(t, axes, keepDims);
        const want = momentsRef(x, axes, keepDims);
        const what = `axes ${JSON.stringify(axes)} keepDims ${keepDims}`;
        expectTensor(got.mean, want.mean, dtype, TOL[dtype], `mean ${what}`);
        expectTensor(got.variance, want.variance, dtype, 2 * TOL[dtype], `variance ${what}`);
      }
    }
  });

  it('int32 input gives float32 moments (tfjs); errors', () => {
    const m = keel.moments(keel.tensor([1, 2, 4], [3], 'int32'));
    const want = momentsRef(nd([1, 2, 4], [3]));
    expectTensor(m.mean, want.mean, 'float32');
    expectTensor(m.variance, want.variance, 'float32');
    expect(() => keel.moments(keel.ones([2, 3]), 2)).toThrow(/mean: axis 2 is out of range/);
  });
});

describe('batchNorm', () => {
  it.each(FLOATS)('broadcasts [C] and [H, 1] statistics, with and without offset/scale (%s)', (dtype) => {
    const { t, x } = tensorOf(randomNd([2, 3, 4], 4, -3, 3), dtype);
    const stat = (shape: number[], seed: number, lo: number, hi: number) =>
      tensorOf(randomNd(shape, seed, lo, hi), dtype);
    for (const shape of [[4], [3, 1], [1, 3, 4]]) {
      const m = stat(shape, 5, -1, 1);
      const v = stat(shape, 6, 0.2, 2);
      const o = stat(shape, 7, -1, 1);
      const g = stat(shape, 8, 0.5, 2);
      // six roundings in 16 bits (add, rsqrt, mul, sub, mul, add)
      const tol = 3 * TOL[dtype];
      expectTensor(keel.batchNorm(t, m.t, v.t), batchNormRef(x, m.x, v.x), dtype, tol, `[${shape}]`);
      expectTensor(
        keel.batchNorm(t, m.t, v.t, o.t, g.t, 0.01),
        batchNormRef(x, m.x, v.x, o.x, g.x, 0.01),
        dtype,
        tol,
        `[${shape}]`,
      );
      expectTensor(
        keel.batchNorm(t, m.t, v.t, undefined, g.t),
        batchNormRef(x, m.x, v.x, undefined, g.x),
        dtype,
        tol,
      );
      expectTensor(t.batchNorm(m.t, v.t, o.t), batchNormRef(x, m.x, v.x, o.x), dtype, tol);
    }
    // numbers and arrays take x's dtype
    expectTensor(
      keel.batchNorm(t, 0.5, [1, 2, 3, 4], 0, 2),
      batchNormRef(x, nd([0.5], []), nd([1, 2, 3, 4], [4]), nd([0], []), nd([2], [])),
      dtype,
      3 * TOL[dtype],
    );
  });

  it('the default varianceEpsilon is 0.001 (tfjs)', () => {
    // tfjs: batchNorm(ones([2,3]), zeros([3]), ones([3])) = 1/sqrt(1.001) = 0.9995003938674927
    expect(keel.batchNorm(keel.ones([2, 3]), keel.zeros([3]), keel.ones([3])).dataSync()[0]).toBeCloseTo(
      0.9995003938674927,
      6,
    );
  });

  it('errors name batchNorm and the argument', () => {
    const x = keel.ones([2, 3]);
    const h = keel.ones([3], 'float16');
    expect(() => keel.batchNorm(x, h, keel.ones([3]))).toThrow(
      /batchNorm: argument 'x' is float32 but 'mean' is float16/,
    );
    expect(() => keel.batchNorm(keel.ones([2, 3], 'bfloat16'), keel.ones([3], 'bfloat16'), h)).toThrow(
      /batchNorm: argument 'x' is bfloat16 but 'variance' is float16/,
    );
    expect(() => keel.batchNorm(x, 0, 1, h)).toThrow(
      /batchNorm: argument 'x' is float32 but 'offset' is float16/,
    );
    expect(() => keel.batchNorm(x, 0, 1, 0, h)).toThrow(
      /batchNorm: argument 'x' is float32 but 'scale' is float16/,
    );
    expect(() => keel.batchNorm(x, keel.ones([4]), 1)).toThrow(
      /batchNorm: argument 'mean' has shape \[4\], which does not broadcast to x's shape \[2,3\]/,
    );
    expect(() => keel.batchNorm(x, 0, keel.ones([2, 2, 3]))).toThrow(
      /batchNorm: argument 'variance' has shape \[2,2,3\]/,
    );
    expect(() => keel.batchNorm(x, 0, 1, undefined, keel.ones([2]))).toThrow(
      /batchNorm: argument 'scale' has shape \[2\]/,
    );
    expect(() => keel.batchNorm(x, 0, 1, 0, 1, -1)).toThrow(
      /batchNorm: varianceEpsilon must be >= 0, got -1/,
    );
    expect(() => keel.batchNorm(keel.ones([2], 'int32'), 0, 1)).toThrow(
      /batchNorm: argument 'x' must be a float tensor.*int32/,
    );
    expect(() => keel.batchNorm(x, keel.tensor([true, false, true]), 1)).toThrow(
      /batchNorm: argument 'mean' must be numeric, got bool/,
    );
  });
});

describe('dropout', () => {
  it.each(FLOATS)('zeroes a seeded mask and scales the rest by 1/(1-rate) (%s)', (dtype) => {
    const { t, x } = tensorOf(randomNd([100, 100], 9, 0.5, 2), dtype);
    const rate = 0.3;
    const y = keel.dropout(t, rate, undefined, 123);
    expect(y.dtype).toBe(dtype);
    expect(y.shape).toEqual([100, 100]);
    const v = y.dataSync();
    // reproducible for a seed
    expect(Array.from(keel.dropout(t, rate, undefined, 123).dataSync())).toEqual(Array.from(v));
    expect(Array.from(keel.dropout(t, rate, undefined, 124).dataSync())).not.toEqual(Array.from(v));
    const kept = Array.from(v, (_, i) => i).filter((i) => v[i] !== 0);
    // 10,000 Bernoulli(0.7) draws: within 5 standard deviations (0.0046) of 0.7
    expect(Math.abs(kept.length / v.length - 0.7)).toBeLessThan(0.023);
    const scale = roundScalar(1 / (1 - rate), dtype);
    expectClose(
      kept.map((i) => v[i]),
      kept.map((i) => roundScalar(x.data[i] * scale, dtype)),
      0,
    );
  });

  it('rate 0 is the identity; noiseShape broadcasts one mask (null takes x size)', () => {
    const { t, x } = tensorOf(randomNd([8, 50], 10, 1, 2));
    expectTensor(keel.dropout(t, 0), x, 'float32', 0);
    for (const ns of [[8, 1], [8, null], [1, 50], [50]] as (number | null)[][]) {
      const v = keel.dropout(t, 0.5, ns, 5).dataSync();
      const dropped = (r: number, c: number) => v[r * 50 + c] === 0;
      for (let r = 0; r < 8; r++) {
        for (let c = 0; c < 50; c++) {
          if (ns[ns.length - 1] === 1) expect(dropped(r, c), `ns [${ns}]`).toBe(dropped(r, 0));
          if (ns.length === 1 || ns[0] === 1) expect(dropped(r, c), `ns [${ns}]`).toBe(dropped(0, c));
        }
      }
      const frac = Array.from(v).filter((a) => a === 0).length / v.length;
      expect(frac).toBeGreaterThan(0.1);
      expect(frac).toBeLessThan(0.9);
    }
  });

  it('errors name dropout and the argument', () => {
    const x = keel.ones([2, 3]);
    for (const rate of [1, -0.1, Number.NaN, 1.5])
      expect(() => keel.dropout(x, rate)).toThrow(/dropout: rate must be in \[0, 1\)/);
    expect(() => keel.dropout(x, 0.5, [3, 2])).toThrow(
      /dropout: noiseShape \[3,2\] does not broadcast to x's shape \[2,3\]/,
    );
    expect(() => keel.dropout(x, 0.5, [1, 2, 3])).toThrow(/dropout: noiseShape \[1,2,3\] does not broadcast/);
    expect(() => keel.dropout(keel.ones([2], 'int32'), 0.5)).toThrow(
      /dropout: argument 'x' must be a float tensor.*int32/,
    );
  });
});

describe('losses', () => {
  const REDUCTIONS = [NONE, MEAN, SUM, SUM_BY_NONZERO_WEIGHTS];
  const labelsOneHot = (n: number, c: number, seed: number): Nd => {
    const k = seededFloats(n, seed, 0, c).map(Math.floor);
    return nd(
      Array.from({ length: n * c }, (_, i) => Number(k[Math.floor(i / c)] === i % c)),
      [n, c],
    );
  };

  it.each(FLOATS)(
    'softmaxCrossEntropy: defaults, weights, label smoothing, every reduction (%s logits)',
    (dtype) => {
      const y = labelsOneHot(6, 5, 1);
      const z = tensorOf(randomNd([6, 5], 2, -3, 3), dtype);
      const w = randomNd([6], 3, 0, 2);
      w.data[2] = 0;
      const yt = keel.tensor(Array.from(y.data), y.shape);
      const wt = keel.tensor(Array.from(w.data), w.shape);
      // losses are computed in float32 from the (rounded) 16-bit inputs
      expectTensor(
        keel.losses.softmaxCrossEntropy(yt, z.t),
        softmaxCrossEntropyRef(y, z.x),
        'float32',
        2 * TOL.float32,
      );
      for (const reduction of REDUCTIONS) {
        for (const smoothing of [0, 0.1]) {
          const got = keel.losses.softmaxCrossEntropy(yt, z.t, wt, smoothing, reduction);
          const want = softmaxCrossEntropyRef(y, z.x, w, smoothing, reduction);
          expectTensor(
            got,
            want,
            'float32',
            2 * TOL.float32,
            `reduction ${reduction} smoothing ${smoothing}`,
          );
          const unweighted = keel.losses.softmaxCrossEntropy(yt, z.t, undefined, smoothing, reduction);
          expectTensor(
            unweighted,
            softmaxCrossEntropyRef(y, z.x, undefined, smoothing, reduction),
            'float32',
            2 * TOL.float32,
          );
        }
      }
      // a scalar weight
      expectTensor(
        keel.losses.softmaxCrossEntropy(yt, z.t, 2),
        softmaxCrossEntropyRef(y, z.x, nd([2], [])),
        'float32',
        2 * TOL.float32,
      );
    },
  );

  it.each(FLOATS)(
    'sigmoidCrossEntropy: defaults, weights, label smoothing, every reduction (%s logits)',
    (dtype) => {
      const y = nd(
        seededFloats(12, 4).map((v) => Number(v > 0)),
        [3, 4],
      );
      const z = tensorOf(randomNd([3, 4], 5, -20, 20), dtype);
      const w = randomNd([3, 1], 6, 0, 2);
      const yt = keel.tensor(Array.from(y.data), y.shape);
      const wt = keel.tensor(Array.from(w.data), w.shape);
      expectTensor(
        keel.losses.sigmoidCrossEntropy(yt, z.t),
        sigmoidCrossEntropyRef(y, z.x),
        'float32',
        2 * TOL.float32,
      );
      for (const reduction of REDUCTIONS) {
        for (const smoothing of [0, 0.2]) {
          const got = keel.losses.sigmoidCrossEntropy(yt, z.t, wt, smoothing, reduction);
          expectTensor(
            got,
            sigmoidCrossEntropyRef(y, z.x, w, smoothing, reduction),
            'float32',
            2 * TOL.float32,
            `reduction ${reduction}`,
          );
        }
      }
    },
  );

  it.each(FLOATS)('meanSquaredError: defaults, weights, every reduction (%s predictions)', (dtype) => {
    const y = randomNd([4, 3], 7);
    const p = tensorOf(randomNd([4, 3], 8), dtype);
    const w = randomNd([4, 3], 9, 0, 1);
    w.data[0] = 0;
    w.data[5] = 0;
    const yt = keel.tensor(Array.from(y.data), y.shape);
    expectTensor(keel.losses.meanSquaredError(yt, p.t), meanSquaredErrorRef(y, p.x), 'float32');
    for (const reduction of REDUCTIONS) {
      const got = keel.losses.meanSquaredError(yt, p.t, keel.tensor(Array.from(w.data), w.shape), reduction);
      expectTensor(
        got,
        meanSquaredErrorRef(y, p.x, w, reduction),
        'float32',
        TOL.float32,
        `reduction ${reduction}`,
      );
    }
  });

  it("match tfjs' outputs on fixed inputs", () => {
    // values printed by @tensorflow/tfjs 4.22 (cpu backend) for the same calls
    const y = keel.tensor([
      [1, 0],
      [0, 1],
    ]);
    const z = keel.tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(keel.losses.softmaxCrossEntropy(y, z, [1, 0]).dataSync()[0]).toBeCloseTo(1.3132617473602295, 6);
    expect(keel.losses.softmaxCrossEntropy(y, z, [1, 0.5], 0.1, Reduction.MEAN).dataSync()[0]).toBeCloseTo(
      0.9632616639137268,
      6,
    );
    expect(keel.losses.meanSquaredError(y, z, [[1], [0]]).dataSync()[0]).toBeCloseTo(2, 6);
    expect(keel.losses.meanSquaredError(y, z, [[1], [2]], Reduction.MEAN).dataSync()[0]).toBeCloseTo(
      6.666666507720947,
      6,
    );
    expect(
      keel.losses
        .softmaxCrossEntropy(keel.tensor([[1, 0]], [1, 2], 'int32'), keel.tensor([[1, 2]]))
        .dataSync()[0],
    ).toBeCloseTo(1.3132617473602295, 6);
  });

  it('stable for extreme logits; int32 and bool labels are accepted (as tfjs)', () => {
    const z = nd([100, -100, 0, 50], [4]);
    const y = nd([0, 1, 1, 1], [4]);
    const zt = keel.tensor(Array.from(z.data));
    expectTensor(
      keel.losses.sigmoidCrossEntropy(keel.tensor(Array.from(y.data), [4], 'int32'), zt),
      sigmoidCrossEntropyRef(y, z),
      'float32',
    );
    expectTensor(
      keel.losses.sigmoidCrossEntropy(keel.tensor([false, true, true, true]), zt),
      sigmoidCrossEntropyRef(y, z),
      'float32',
    );
    const big = nd([1000, -1000, 0, 1000, 1000, 0], [2, 3]);
    const lab = nd([0, 1, 0, 1, 0, 0], [2, 3]);
    const got = keel.losses.softmaxCrossEntropy(
      keel.tensor(Array.from(lab.data), [2, 3]),
      keel.tensor(Array.from(big.data), [2, 3]),
    );
    expectTensor(got, softmaxCrossEntropyRef(lab, big), 'float32');
  });

  it('16-bit logits and labels may be mixed with float32: losses compute in float32', () => {
    const y = keel.tensor([[1, 0]], [1, 2], 'float32');
    expect(keel.losses.softmaxCrossEntropy(y, keel.tensor([[1, 2]], [1, 2], 'float16')).dtype).toBe(
      'float32',
    );
    expect(keel.losses.meanSquaredError(keel.ones([2], 'bfloat16'), keel.ones([2], 'float16')).dtype).toBe(
      'float32',
    );
  });

  it('errors name the loss and the argument', () => {
    const a = keel.ones([2, 3]);
    expect(() => keel.losses.softmaxCrossEntropy(keel.ones([2, 4]), a)).toThrow(
      /softmaxCrossEntropy: 'onehotLabels' has shape \[2,4\] but 'logits' has \[2,3\]/,
    );
    expect(() => keel.losses.sigmoidCrossEntropy(keel.ones([3]), a)).toThrow(
      /sigmoidCrossEntropy: 'multiClassLabels' has shape \[3\] but 'logits' has \[2,3\]/,
    );
    expect(() => keel.losses.meanSquaredError(a, keel.ones([3, 2]))).toThrow(
      /meanSquaredError: 'labels' has shape \[2,3\] but 'predictions' has \[3,2\]/,
    );
    expect(() => keel.losses.softmaxCrossEntropy(keel.scalar(1), keel.scalar(1))).toThrow(
      /softmaxCrossEntropy: 'logits' must have rank >= 1/,
    );
    expect(() => keel.losses.softmaxCrossEntropy(a, a, keel.ones([3]))).toThrow(
      /softmaxCrossEntropy: 'weights' has shape \[3\], which does not broadcast to the losses' shape \[2\]/,
    );
    expect(() => keel.losses.meanSquaredError(a, a, keel.ones([2]))).toThrow(
      /meanSquaredError: 'weights' has shape \[2\]/,
    );
    expect(() => keel.losses.meanSquaredError(a, a, undefined, 7 as never)).toThrow(
      /meanSquaredError: unknown reduction 7/,
    );
  });
});

describe('memory', () => {
  it('nn ops and losses free their intermediates and converted arrays', () => {
    const x = keel.tensor([[1, -2, 3]]);
    const cases: [string, () => unknown][] = [
      ['softmax', () => keel.softmax(x)],
      ['logSoftmax', () => keel.logSoftmax(x)],
      ['batchNorm', () => keel.batchNorm(x, [0, 1, 2], 1, 0.5, [2, 2, 2])],
      ['dropout', () => keel.dropout(x, 0.5, [1, 1], 3)],
      ['softmaxCrossEntropy', () => keel.losses.softmaxCrossEntropy([[0, 0, 1]], x, [2], 0.1)],
      ['sigmoidCrossEntropy', () => keel.losses.sigmoidCrossEntropy([[0, 0, 1]], x)],
      [
        'meanSquaredError',
        () => keel.losses.meanSquaredError([[0, 0, 1]], x, [[1, 0, 1]], keel.losses.Reduction.MEAN),
      ],
      ['failing batchNorm', () => keel.batchNorm(x, [0, 1], 1)],
    ];
    for (const [name, f] of cases) expect(leaked(f), name).toBe(0);
  });
});
