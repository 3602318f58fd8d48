// Gradients of every non-conv op against central finite differences of the float64 references
// (test/reference.ts), as vector-Jacobian products with a random dy; then the same gradients in float16 and
// bfloat16 must come back in that dtype and match the float32 gradient at the same (rounded) inputs.

import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as keel from '../../src/index.js';
import { expectClose, expectTensor, numericGrad, randomNd, seededFloats, TOL } from '../helpers.js';
import {
  BINARY,
  batchNormRef,
  binaryRef,
  concatRef,
  dotSum,
  gatherRef,
  logSoftmaxRef,
  MEAN,
  matMulRef,
  meanSquaredErrorRef,
  momentsRef,
  type Nd,
  NONE,
  nd,
  padRef,
  type ReduceName,
  reduceRef,
  SUM,
  SUM_BY_NONZERO_WEIGHTS,
  sigmoidCrossEntropyRef,
  sliceRef,
  softmaxCrossEntropyRef,
  softmaxRef,
  stackRef,
  tileRef,
  transposeRef,
  UNARY,
  unaryRef,
  whereRef,
} from '../reference.js';

type LowDType = 'float16' | 'bfloat16';

interface GradCase {
  /** shapes of the inputs */
  shapes: number[][];
  /** value range of each input (default [-1, 1)) */
  ranges?: [number, number][];
  keel: (...xs: Tensor[]) => Tensor;
  ref: (...xs: Nd[]) => Nd;
  /** which inputs to differentiate (default all); the others are constants */
  wrt?: number[];
  /** float32 gradient vs finite differences (default TOL.float32) */
  tol?: number;
  /** 16-bit gradient vs the float32 one, as a multiple of TOL[dtype] (default 1) */
  lowFactor?: number;
  /** skip the 16-bit comparison */
  noLow?: boolean;
}

const reshaped = (x: Nd, shape: number[]): Nd => ({ data: x.data, shape });

/** Keel's gradients of sum(f(xs) * dy) with respect to xs[wrt], as tensors. */
function keelGrads(c: GradCase, xs: Nd[], dy: Nd, dtype: 'float32' | LowDType, wrt: number[]): Tensor[] {
  const ts = xs.map((x) => keel.tensor(Array.from(x.data), x.shape, dtype));
  const f = (...ws: Tensor[]) => c.keel(...ts.map((t, i) => (wrt.includes(i) ? ws[wrt.indexOf(i)] : t)));
  // dy has the result's dtype (losses return float32 whatever their inputs)
  const y = f(...wrt.map((i) => ts[i]));
  return keel.grads(f)(
    wrt.map((i) => ts[i]),
    keel.tensor(Array.from(dy.data), dy.shape, y.dtype),
  );
}

function checkGrad(name: string, c: GradCase, seed: number): void {
  const xs = c.shapes.map((s, i) => randomNd(s, seed + 17 * i, ...(c.ranges?.[i] ?? [-1, 1])));
  const y = c.ref(...xs);
  const dy = randomNd(y.shape, seed + 1000);
  const wrt = c.wrt ?? xs.map((_, i) => i);
  const g32 = keelGrads(c, xs, dy, 'float32', wrt);
  wrt.forEach((i, k) => {
    const fd = numericGrad(
      (v) => dotSum(c.ref(...xs.map((x, j) => (j === i ? reshaped(nd(v, x.shape), x.shape) : x))), dy.data),
      xs[i].data,
    );
    expect(g32[k].dtype, `${name} d/dx${i} dtype`).toBe('float32');
    expectTensor(
      g32[k],
      reshaped(nd(fd, xs[i].shape), xs[i].shape),
      'float32',
      c.tol ?? TOL.float32,
      `${name} d/dx${i}`,
    );
  });
  if (c.noLow) return;
  for (const dtype of ['float16', 'bfloat16'] as const) {
    // the 16-bit inputs and dy, read back exactly, are where the float32 reference gradient is taken
    const rx = xs.map((x) => nd(keel.tensor(Array.from(x.data), x.shape, dtype).dataSync(), x.shape));
    const rdy = nd(keel.tensor(Array.from(dy.data), dy.shape, dtype).dataSync(), dy.shape);
    const low = keelGrads(c, rx, rdy, dtype, wrt);
    const ref = keelGrads(c, rx, rdy, 'float32', wrt);
    wrt.forEach((i, k) => {
      expect(low[k].dtype, `${name} d/dx${i} ${dtype}`).toBe(dtype);
      expect(low[k].shape).toEqual(xs[i].shape);
      expectClose(
        low[k].dataSync(),
        ref[k].dataSync(),
        TOL[dtype] * (c.lowFactor ?? 1),
        `${name} d/dx${i} ${dtype}`,
      );
    });
  }
}

function gradCases(cases: Record<string, GradCase>, seed: number): void {
  Object.entries(cases).forEach(([name, c], k) => {
    it(name, () => checkGrad(name, c, seed + 100 * k));
  });
}

const u = (
  name: string,
  lo: number,
  hi: number,
  op: (x: Tensor) => Tensor,
  extra: Partial<GradCase> = {},
): GradCase => ({
  shapes: [[3, 4]],
  ranges: [[lo, hi]],
  keel: op,
  ref: (x) => unaryRef(x, UNARY[name]),
  ...extra,
});

describe('unary gradients', () => {
  gradCases(
    {
      neg: u('neg', -2, 2, keel.neg),
      abs: u('abs', -2, 2, keel.abs),
      exp: u('exp', -2, 2, keel.exp),
      log: u('log', 0.2, 3, keel.log),
      log1p: u('log1p', -0.5, 3, keel.log1p),
      expm1: u('expm1', -2, 2, keel.expm1),
      sqrt: u('sqrt', 0.2, 3, keel.sqrt),
      rsqrt: u('rsqrt', 0.2, 3, keel.rsqrt),
      square: u('square', -2, 2, keel.square),
      reciprocal: u('reciprocal', 0.3, 3, keel.reciprocal),
      relu: u('relu', -2, 2, keel.relu),
      relu6: u('relu6', -3, 9, keel.relu6),
      elu: u('elu', -2, 2, keel.elu),
      leakyRelu: u('leakyRelu', -2, 2, keel.leakyRelu),
      sigmoid: u('sigmoid', -4, 4, keel.sigmoid),
      tanh: u('tanh', -2, 2, keel.tanh),
      softplus: u('softplus', -5, 5, keel.softplus),
      sin: u('sin', -3, 3, keel.sin),
      cos: u('cos', -3, 3, keel.cos),
      'elu with alpha': {
        ...u('elu', -2, 2, (x) => keel.elu(x, 0.3)),
        ref: (x) => unaryRef(x, (v) => (v > 0 ? v : 0.3 * Math.expm1(v))),
      },
      'leakyRelu with alpha': {
        ...u('leakyRelu', -2, 2, (x) => keel.leakyRelu(x, 0.1)),
        ref: (x) => unaryRef(x, (v) => (v > 0 ? v : 0.1 * v)),
      },
      clipByValue: {
        ...u('relu', -2, 2, (x) => keel.clipByValue(x, -0.5, 0.7)),
        ref: (x) => unaryRef(x, (v) => Math.min(Math.max(v, -0.5), 0.7)),
      },
      'chained unaries': {
        ...u('exp', 0.2, 2, (x) => x.sqrt().log().mul(x).sigmoid()),
        ref: (x) => unaryRef(x, (v) => 1 / (1 + Math.exp(-Math.log(Math.sqrt(v)) * v))),
      },
    },
    10_000,
  );

  it('step functions (sign, floor, ceil, round) have zero gradient', () => {
    for (const op of [keel.sign, keel.floor, keel.ceil, keel.round]) {
      for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
        const g = keel.grad((x) => op(x).mul(3))(keel.tensor([-1.3, 0.2, 2.7], [3], dtype));
        expectTensor(g, nd([0, 0, 0], [3]), dtype, 0);
      }
    }
  });

  it('values at the kinks follow tfjs: relu, abs and relu6 as subgradients; softplus is smooth', () => {
    const at = (f: (x: Tensor) => Tensor, v: number[]) => Array.from(keel.grad(f)(keel.tensor(v)).dataSync());
    expect(at(keel.relu, [0, 1e-30, -1e-30])).toEqual([0, 1, 0]);
    expect(at(keel.relu6, [0, 6, 3])).toEqual([0, 1, 1]);
    expect(at(keel.abs, [-2, 3])).toEqual([-1, 1]);
    expect(at(keel.leakyRelu, [0, -1])).toEqual([Math.fround(0.2), Math.fround(0.2)]);
    expect(at(keel.elu, [0, -1])).toEqual([1, Math.fround(Math.exp(-1))]);
    // softplus' = sigmoid everywhere, 1/2 at 0 (tfjs: 0.5); finite at the extremes
    expect(at(keel.softplus, [0, -200, 200])).toEqual([0.5, 0, 1]);
    expect(at(keel.sqrt, [0])).toEqual([Number.POSITIVE_INFINITY]);
  });
});

const BROADCASTS: [number[], number[]][] = [
  [
    [2, 3],
    [2, 3],
  ],
  [[2, 3], [3]],
  [
    [4, 1, 3],
    [1, 2, 1],
  ],
  [[], [2, 2]],
  [[3, 1], [1]],
];

describe('binary gradients with broadcasting (summed back to each input shape)', () => {
  const ops: [string, (a: Tensor, b: Tensor) => Tensor, [number, number], [number, number]][] = [
    ['add', keel.add, [-1, 1], [-1, 1]],
    ['sub', keel.sub, [-1, 1], [-1, 1]],
    ['mul', keel.mul, [-1, 1], [-1, 1]],
    ['div', keel.div, [-1, 1], [0.5, 2]],
    ['pow', keel.pow, [0.5, 2], [-1.5, 2]],
    ['maximum', keel.maximum, [-1, 1], [-1, 1]],
    ['minimum', keel.minimum, [-1, 1], [-1, 1]],
    ['squaredDifference', keel.squaredDifference, [-1, 1], [-1, 1]],
  ];
  const cases: Record<string, GradCase> = {};
  for (const [name, op, ra, rb] of ops) {
    for (const [sa, sb] of BROADCASTS) {
      cases[`${name} [${sa}] [${sb}]`] = {
        shapes: [sa, sb],
        ranges: [ra, rb],
        keel: op,
        ref: (a, b) => binaryRef(a, b, BINARY[name]),
      };
    }
  }
  cases['pow with a constant integer exponent and negative bases'] = {
    shapes: [[5], [5]],
    ranges: [
      [-2, 2],
      [3, 3],
    ],
    wrt: [0],
    keel: (a) => keel.pow(a, 3),
    ref: (a) => unaryRef(a, (v) => v ** 3),
  };
  cases['number operands'] = {
    shapes: [[2, 3]],
    keel: (a) => keel.div(keel.sub(2, keel.mul(a, 3)), keel.add(a, 4)),
    ref: (a) => unaryRef(a, (v) => (2 - 3 * v) / (v + 4)),
  };
  cases['the same tensor used twice'] = {
    shapes: [[3, 2]],
    keel: (a) => keel.mul(a, keel.add(a, 1)),
    ref: (a) => unaryRef(a, (v) => v * (v + 1)),
  };
  gradCases(cases, 20_000);

  it('maximum/minimum ties send the gradient to a (tfjs)', () => {
    const [ga, gb] = keel.grads((a: Tensor, b: Tensor) => keel.maximum(a, b))([
      keel.tensor([1, 2]),
      keel.tensor([1, 3]),
    ]);
    expect(Array.from(ga.dataSync())).toEqual([1, 0]);
    expect(Array.from(gb.dataSync())).toEqual([0, 1]);
    const [ha, hb] = keel.grads((a: Tensor, b: Tensor) => keel.minimum(a, b))([
      keel.tensor([1, 2]),
      keel.tensor([1, 3]),
    ]);
    expect(Array.from(ha.dataSync())).toEqual([1, 1]);
    expect(Array.from(hb.dataSync())).toEqual([0, 0]);
  });

  it('pow: d/db is 0 where the base is not positive (tfjs)', () => {
    const [, gb] = keel.grads((a: Tensor, b: Tensor) => keel.pow(a, b))([
      keel.tensor([-2, 0, 2]),
      keel.tensor([2, 2, 2]),
    ]);
    expect(Array.from(gb.dataSync())).toEqual([0, 0, Math.fround(4 * Math.LN2)]);
  });
});

describe('where and cast gradients', () => {
  const cond = (shape: number[], seed: number) =>
    nd(
      seededFloats(
        shape.reduce((p, d) => p * d, 1),
        seed,
      ).map((v) => Number(v > 0)),
      shape,
    );
  const c1 = cond([2, 3], 1);
  const c2 = cond([3], 2);
  const boolOf = (c: Nd) =>
    keel.tensor(
      Array.from(c.data, (v) => v !== 0),
      c.shape,
      'bool',
    );
  gradCases(
    {
      'where, same shapes': {
        shapes: [
          [2, 3],
          [2, 3],
        ],
        keel: (a, b) => keel.where(boolOf(c1), a, b),
        ref: (a, b) => whereRef(c1, a, b),
      },
      'where, broadcast branches': {
        shapes: [[2, 1], []],
        keel: (a, b) => keel.where(boolOf(c1), a, b),
        ref: (a, b) => whereRef(c1, a, b),
      },
      'where, broadcast condition': {
        shapes: [
          [4, 3],
          [4, 1],
        ],
        keel: (a, b) => keel.where(boolOf(c2), a, b),
        ref: (a, b) => whereRef(c2, a, b),
      },
      'cast to the same dtype': {
        shapes: [[4]],
        keel: (a) => keel.cast(a, a.dtype).mul(2),
        ref: (a) => unaryRef(a, (v) => 2 * v),
      },
    },
    30_000,
  );

  it('cast between float dtypes gives each input a gradient of its own dtype', () => {
    const g = keel.grad((x) => keel.cast(keel.cast(x, 'float16').mul(3), 'float32').sum())(
      keel.tensor([1, 2]),
    );
    expectTensor(g, nd([3, 3], [2]), 'float32', 0);
    const h = keel.grad((x) => keel.cast(x, 'bfloat16').square().sum())(
      keel.tensor([0.5, 1], [2], 'float16'),
    );
    expectTensor(h, nd([1, 2], [2]), 'float16', 0);
  });

  it('no gradient flows through int32/bool values', () => {
    expect(() => keel.grad((x) => keel.cast(keel.cast(x, 'int32'), 'float32'))(keel.tensor([1.5]))).toThrow(
      /grad: cannot compute the gradient/,
    );
    const g = keel.grad((x) => keel.add(x, keel.cast(keel.greater(x, 0), 'float32')))(keel.tensor([-1, 1]));
    expectTensor(g, nd([1, 1], [2]), 'float32', 0);
  });
});

describe('reduction gradients', () => {
  const cases: Record<string, GradCase> = {};
  const forms: [number | number[] | undefined, boolean][] = [
    [undefined, false],
    [0, false],
    [-1, true],
    [[0, 2], false],
    [[1, 2], true],
  ];
  type Reduce = (x: Tensor, axis?: number | number[], keepDims?: boolean) => Tensor;
  const reductions: [ReduceName, Reduce, [number, number]][] = [
    ['sum', keel.sum, [-1, 1]],
    ['mean', keel.mean, [-1, 1]],
    ['prod', keel.prod, [0.5, 1.5]],
    ['max', keel.max, [-1, 1]],
    ['min', keel.min, [-1, 1]],
    ['logSumExp', keel.logSumExp, [-2, 2]],
  ];
  for (const [name, op, range] of reductions) {
    for (const [axis, keepDims] of forms) {
      cases[`${name} axis ${JSON.stringify(axis)} keepDims ${keepDims}`] = {
        shapes: [[2, 3, 4]],
        ranges: [range],
        keel: (x) => op(x, axis, keepDims),
        ref: (x) => reduceRef(name, x, axis, keepDims),
      };
    }
  }
  gradCases(cases, 40_000);

  it('prod with zeros: the product of the other elements (tfjs), no NaN', () => {
    const g = (v: number[][], axis?: number) =>
      keel
        .grad((x) => keel.prod(x, axis))(keel.tensor(v))
        .arraySync();
    expect(g([[0, 2, 3]])).toEqual([[6, 0, 0]]);
    expect(g([[0, 0, 3]])).toEqual([[0, 0, 0]]);
    expect(
      g(
        [
          [0, 2, 3],
          [1, 2, 3],
        ],
        1,
      ),
    ).toEqual([
      [6, 0, 0],
      [6, 3, 2],
    ]);
    expect(
      g(
        [
          [0, 2],
          [4, 0],
        ],
        0,
      ),
    ).toEqual([
      [4, 0],
      [0, 2],
    ]);
    expect(
      keel
        .grad((x) => keel.prod(x))(keel.tensor([0, 2, 4], [3], 'float16'))
        .dataSync(),
    ).toEqual(new Float32Array([8, 0, 0]));
  });

  it('max/min: every element equal to the extreme receives the gradient (tfjs)', () => {
    expect(
      Array.from(
        keel
          .grad((x) => keel.max(x))(keel.tensor([3, 1, 3]))
          .dataSync(),
      ),
    ).toEqual([1, 0, 1]);
    expect(
      keel
        .grad((x) => keel.min(x, 1))(
          keel.tensor([
            [1, 1, 2],
            [0, 5, 0],
          ]),
        )
        .arraySync(),
    ).toEqual([
      [1, 1, 0],
      [1, 0, 1],
    ]);
  });

  it('int32 reductions have no gradient', () => {
    expect(() =>
      keel.grad((x) => keel.cast(keel.sum(x), 'float32'))(keel.tensor([1, 2], [2], 'int32')),
    ).toThrow(/grad: cannot compute the gradient/);
  });
});

describe('layout gradients', () => {
  const idx = nd([2, 0, 2, 1], [2, 2]);
  gradCases(
    {
      reshape: {
        shapes: [[2, 3, 2]],
        keel: (x) => keel.reshape(x, [3, -1]),
        ref: (x) => reshaped(x, [3, 4]),
      },
      transpose: {
        shapes: [[2, 3, 4]],
        keel: (x) => keel.transpose(x, [2, 0, 1]),
        ref: (x) => transposeRef(x, [2, 0, 1]),
      },
      'transpose default': { shapes: [[2, 3]], keel: (x) => keel.transpose(x), ref: (x) => transposeRef(x) },
      expandDims: {
        shapes: [[2, 3]],
        keel: (x) => keel.expandDims(x, 1),
        ref: (x) => reshaped(x, [2, 1, 3]),
      },
      squeeze: { shapes: [[2, 1, 3, 1]], keel: (x) => keel.squeeze(x), ref: (x) => reshaped(x, [2, 3]) },
      broadcastTo: {
        shapes: [[3, 1]],
        keel: (x) => keel.broadcastTo(x, [2, 3, 4]),
        ref: (x) => tileRef(reshaped(x, [1, 3, 1]), [2, 1, 4]),
      },
      slice: {
        shapes: [[4, 5]],
        keel: (x) => keel.slice(x, [1, 2], [2, -1]),
        ref: (x) => sliceRef(x, [1, 2], [2, 3]),
      },
      pad: {
        shapes: [[2, 3]],
        keel: (x) =>
          keel.pad(
            x,
            [
              [1, 0],
              [2, 1],
            ],
            5,
          ),
        ref: (x) =>
          padRef(
            x,
            [
              [1, 0],
              [2, 1],
            ],
            5,
          ),
      },
      'concat axis 1': {
        shapes: [
          [2, 3],
          [2, 1],
          [2, 2],
        ],
        keel: (a, b, c) => keel.concat([a, b, c], 1),
        ref: (a, b, c) => concatRef([a, b, c], 1),
      },
      'concat axis 0': {
        shapes: [
          [1, 3],
          [2, 3],
        ],
        keel: (a, b) => keel.concat([a, b]),
        ref: (a, b) => concatRef([a, b]),
      },
      stack: {
        shapes: [
          [2, 3],
          [2, 3],
        ],
        keel: (a, b) => keel.stack([a, b], 1),
        ref: (a, b) => stackRef([a, b], 1),
      },
      unstack: {
        shapes: [[3, 2]],
        keel: (x) => keel.unstack(x, 1)[1].mul(keel.unstack(x, 0)[2].sum()),
        ref: (x) => {
          const col = [x.data[1], x.data[3], x.data[5]];
          const s = x.data[4] + x.data[5];
          return nd(
            col.map((v) => v * s),
            [3],
          );
        },
      },
      tile: { shapes: [[2, 3]], keel: (x) => keel.tile(x, [2, 3]), ref: (x) => tileRef(x, [2, 3]) },
      'gather with repeated indices': {
        shapes: [[3, 4]],
        keel: (x) => keel.gather(x, keel.tensor(Array.from(idx.data), idx.shape, 'int32')),
        ref: (x) => gatherRef(x, idx),
      },
      'gather axis 1': {
        shapes: [[2, 3, 2]],
        keel: (x) => keel.gather(x, keel.tensor(Array.from(idx.data), idx.shape, 'int32'), 1),
        ref: (x) => gatherRef(x, idx, 1),
      },
    },
    50_000,
  );
});

describe('matMul gradients: every transpose combination and broadcast batch', () => {
  const cases: Record<string, GradCase> = {};
  const batches: [number[], number[]][] = [
    [[], []],
    [[2], [2]],
    [[], [2, 2]],
    [[2, 1], [3]],
    [[1], [2]],
  ];
  for (const [ba, bb] of batches) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const [M, K, N] = [2, 3, 4];
        cases[`a [${ba}] b [${bb}] tA ${tA} tB ${tB}`] = {
          shapes: [
            [...ba, ...(tA ? [K, M] : [M, K])],
            [...bb, ...(tB ? [N, K] : [K, N])],
          ],
          keel: (a, b) => keel.matMul(a, b, tA, tB),
          ref: (a, b) => matMulRef(a, b, tA, tB),
        };
      }
    }
  }
  cases.outerProduct = {
    shapes: [[3], [4]],
    keel: (a, b) => keel.outerProduct(a, b),
    ref: (a, b) => matMulRef(reshaped(a, [3, 1]), reshaped(b, [1, 4])),
  };
  cases['dot of vectors'] = {
    shapes: [[5], [5]],
    keel: (a, b) => keel.dot(a, b),
    ref: (a, b) => reshaped(matMulRef(reshaped(a, [1, 5]), reshaped(b, [5, 1])), []),
  };
  cases['matrix-vector dot'] = {
    shapes: [[3, 5], [5]],
    keel: (a, b) => keel.dot(a, b),
    ref: (a, b) => reshaped(matMulRef(a, reshaped(b, [5, 1])), [3]),
  };
  gradCases(cases, 60_000);
});

describe('nn gradients', () => {
  const mom = (
    which: 'mean' | 'variance',
    axes: number | number[] | undefined,
    keepDims: boolean,
  ): GradCase => ({
    shapes: [[3, 4]],
    keel: (x) => keel.moments(x, axes, keepDims)[which],
    ref: (x) => momentsRef(x, axes, keepDims)[which],
  });
  gradCases(
    {
      softmax: {
        shapes: [[3, 5]],
        ranges: [[-3, 3]],
        keel: (x) => keel.softmax(x),
        ref: (x) => softmaxRef(x),
      },
      'softmax axis 0': {
        shapes: [[3, 5]],
        ranges: [[-3, 3]],
        keel: (x) => keel.softmax(x, 0),
        ref: (x) => softmaxRef(x, 0),
      },
      logSoftmax: {
        shapes: [[3, 5]],
        ranges: [[-3, 3]],
        keel: (x) => keel.logSoftmax(x),
        ref: (x) => logSoftmaxRef(x),
      },
      'logSoftmax axis 1 of 3': {
        shapes: [[2, 3, 2]],
        ranges: [[-3, 3]],
        keel: (x) => keel.logSoftmax(x, 1),
        ref: (x) => logSoftmaxRef(x, 1),
      },
      'moments mean': mom('mean', undefined, false),
      'moments variance': mom('variance', undefined, false),
      'moments variance axis 0 keepDims': mom('variance', 0, true),
      'moments variance axes [1]': mom('variance', [1], false),
      'batchNorm (every input)': {
        shapes: [[2, 3, 4], [4], [4], [4], [4]],
        ranges: [
          [-2, 2],
          [-1, 1],
          [0.3, 2],
          [-1, 1],
          [0.5, 2],
        ],
        keel: (x, m, v, o, g) => keel.batchNorm(x, m, v, o, g, 0.01),
        ref: (x, m, v, o, g) => batchNormRef(x, m, v, o, g, 0.01),
        lowFactor: 2,
      },
      'batchNorm [3, 1] statistics, no offset/scale': {
        shapes: [
          [2, 3, 4],
          [3, 1],
          [3, 1],
        ],
        ranges: [
          [-2, 2],
          [-1, 1],
          [0.3, 2],
        ],
        keel: (x, m, v) => keel.batchNorm(x, m, v),
        ref: (x, m, v) => batchNormRef(x, m, v),
        // six roundings in 16 bits forward and more backward; measured up to 0.9 TOL
        lowFactor: 2,
      },
    },
    70_000,
  );

  it.each(['float32', 'float16', 'bfloat16'] as const)(
    'dropout: the gradient is the kept mask scaled by 1/(1-rate) (%s)',
    (dtype) => {
      const x = keel.tensor(seededFloats(200, 3, 0.5, 1.5), [10, 20], dtype);
      const dy = keel.tensor(seededFloats(200, 4), [10, 20], dtype);
      const y = keel.dropout(x, 0.25, undefined, 9).dataSync();
      const g = keel.grad((t) => keel.dropout(t, 0.25, undefined, 9))(x, dy);
      const scale = 1 / 0.75;
      const d = dy.dataSync();
      expect(g.dtype).toBe(dtype);
      expectClose(
        g.dataSync(),
        Array.from(y, (v, i) => (v === 0 ? 0 : d[i] * scale)),
        TOL[dtype],
      );
    },
  );

  it('softplus and sigmoidCrossEntropy are differentiable at 0 (gradient sigmoid(0) = 1/2)', () => {
    expect(
      keel
        .grad((z) => keel.softplus(z))(keel.tensor([0]))
        .dataSync()[0],
    ).toBe(0.5);
    // tfjs: d/dz sigmoidCrossEntropy(1, z) at z = 0 is sigmoid(0) - 1 = -0.5
    expect(
      keel
        .grad((z) => keel.losses.sigmoidCrossEntropy(keel.tensor([1]), z))(keel.tensor([0]))
        .dataSync()[0],
    ).toBe(-0.5);
  });
});

describe('loss gradients (labels and logits/predictions)', () => {
  const onehot = (n: number, c: number, seed: number) => {
    const k = seededFloats(n, seed, 0, c).map(Math.floor);
    return Array.from({ length: n * c }, (_, i) => Number(k[Math.floor(i / c)] === i % c));
  };
  const y1 = nd(onehot(4, 3, 1), [4, 3]);
  const yt = () => keel.tensor(Array.from(y1.data), y1.shape);
  const w = nd([1, 0, 2, 0.5], [4]);
  const wt = () => keel.tensor(Array.from(w.data), w.shape);
  const cases: Record<string, GradCase> = {};
  for (const reduction of [NONE, MEAN, SUM, SUM_BY_NONZERO_WEIGHTS]) {
    cases[`softmaxCrossEntropy wrt logits, reduction ${reduction}`] = {
      shapes: [[4, 3]],
      ranges: [[-3, 3]],
      keel: (z) => keel.losses.softmaxCrossEntropy(yt(), z, wt(), 0.1, reduction),
      ref: (z) => softmaxCrossEntropyRef(y1, z, w, 0.1, reduction),
    };
    cases[`sigmoidCrossEntropy wrt logits, reduction ${reduction}`] = {
      shapes: [[4, 3]],
      ranges: [[-4, 4]],
      keel: (z) =>
        keel.losses.sigmoidCrossEntropy(yt(), z, keel.tensor([[1], [0], [2], [0.5]]), 0.2, reduction),
      ref: (z) => sigmoidCrossEntropyRef(y1, z, nd([1, 0, 2, 0.5], [4, 1]), 0.2, reduction),
    };
    cases[`meanSquaredError wrt both, reduction ${reduction}`] = {
      shapes: [
        [4, 3],
        [4, 3],
      ],
      keel: (y, p) => keel.losses.meanSquaredError(y, p, keel.tensor([[1], [0], [2], [0.5]]), reduction),
      ref: (y, p) => meanSquaredErrorRef(y, p, nd([1, 0, 2, 0.5], [4, 1]), reduction),
    };
  }
  cases['softmaxCrossEntropy wrt soft labels and logits, defaults'] = {
    shapes: [
      [4, 3],
      [4, 3],
    ],
    ranges: [
      [0, 1],
      [-3, 3],
    ],
    keel: (y, z) => keel.losses.softmaxCrossEntropy(y, z),
    ref: (y, z) => softmaxCrossEntropyRef(y, z),
  };
  cases['sigmoidCrossEntropy wrt labels and logits, defaults'] = {
    shapes: [
      [4, 3],
      [4, 3],
    ],
    ranges: [
      [0, 1],
      [-3, 3],
    ],
    keel: (y, z) => keel.losses.sigmoidCrossEntropy(y, z),
    ref: (y, z) => sigmoidCrossEntropyRef(y, z),
  };
  gradCases(cases, 80_000);

  it('a small network end to end: dense -> relu -> dense -> softmax cross-entropy', () => {
    const x = randomNd([5, 4], 1);
    const lab = nd(onehot(5, 3, 2), [5, 3]);
    const c: GradCase = {
      shapes: [[4, 6], [6], [6, 3], [3]],
      keel: (w1, b1, w2, b2) => {
        const h = keel.relu(
          keel.add(keel.matMul(keel.tensor(Array.from(x.data), x.shape, w1.dtype), w1), b1),
        );
        return keel.losses.softmaxCrossEntropy(
          keel.tensor(Array.from(lab.data), lab.shape),
          keel.add(keel.matMul(h, w2), b2),
        );
      },
      ref: (w1, b1, w2, b2) => {
        const h = binaryRef(binaryRef(matMulRef(x, w1), b1, BINARY.add), nd([0], []), BINARY.maximum);
        return softmaxCrossEntropyRef(lab, binaryRef(matMulRef(h, w2), b2, BINARY.add));
      },
    };
    checkGrad('mlp', c, 90_000);
  });
});
