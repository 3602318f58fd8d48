// Elementwise ops against float64 references: unary, binary with numpy broadcasting, comparisons, where,
// cast, activations; int32/bool semantics as in tfjs; every error path names the op and the argument.

import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as keel from '../../src/index.js';
import { expectTensor, leaked, randomNd, seededFloats, seededShape, TOL, tensorOf } from '../helpers.js';
import { BINARY, binaryRef, type FloatDType, nd, UNARY, unaryRef, whereRef } from '../reference.js';

const FLOATS: FloatDType[] = ['float32', 'float16', 'bfloat16'];
type Unary = (x: Tensor) => Tensor;
type Binary = (a: Tensor, b: Tensor) => Tensor;
const UN: Record<string, Unary> = {
  exp: keel.exp,
  log: keel.log,
  log1p: keel.log1p,
  expm1: keel.expm1,
  sqrt: keel.sqrt,
  rsqrt: keel.rsqrt,
  reciprocal: keel.reciprocal,
  sigmoid: keel.sigmoid,
  tanh: keel.tanh,
  sin: keel.sin,
  cos: keel.cos,
};
const BIN: Record<string, Binary> = {
  add: keel.add,
  sub: keel.sub,
  mul: keel.mul,
  div: keel.div,
  pow: keel.pow,
  maximum: keel.maximum,
  minimum: keel.minimum,
  equal: keel.equal,
  notEqual: keel.notEqual,
  greater: keel.greater,
  greaterEqual: keel.greaterEqual,
  less: keel.less,
  lessEqual: keel.lessEqual,
};

// [name, op, input range, shape, tolerance factor for ops composed of several rounding steps]
const UNARY_CASES: [string, Unary, number, number, number[], number][] = [
  ['neg', keel.neg, -3, 3, [2, 3, 4], 1],
  ['abs', keel.abs, -3, 3, [5, 4], 1],
  ['exp', keel.exp, -4, 4, [3, 7], 1],
  ['log', keel.log, 0.01, 20, [31], 1],
  ['log1p', keel.log1p, -0.9, 5, [2, 2, 2, 3], 1],
  ['expm1', keel.expm1, -3, 3, [17], 1],
  ['sqrt', keel.sqrt, 0, 9, [4, 5], 1],
  ['rsqrt', keel.rsqrt, 0.05, 9, [4, 5], 1],
  ['square', keel.square, -5, 5, [3, 3], 1],
  ['reciprocal', keel.reciprocal, 0.1, 4, [13], 1],
  ['relu', keel.relu, -2, 2, [6, 5], 1],
  ['relu6', keel.relu6, -3, 9, [6, 5], 1],
  ['elu', keel.elu, -4, 3, [40], 2],
  ['leakyRelu', keel.leakyRelu, -3, 3, [8, 5], 2],
  ['sigmoid', keel.sigmoid, -8, 8, [33], 1],
  ['tanh', keel.tanh, -4, 4, [33], 1],
  ['softplus', keel.softplus, -12, 12, [50], 2],
  ['sin', keel.sin, -6, 6, [21], 1],
  ['cos', keel.cos, -6, 6, [21], 1],
  ['sign', keel.sign, -2, 2, [3, 3], 1],
  ['floor', keel.floor, -5, 5, [3, 9], 1],
  ['ceil', keel.ceil, -5, 5, [3, 9], 1],
  ['round', keel.round, -5, 5, [3, 9], 1],
];

describe('unary ops against float64 references', () => {
  UNARY_CASES.forEach(([name, op, lo, hi, shape, factor], k) => {
    it.each(FLOATS)(`${name} (%s)`, (dtype) => {
      const { t, x } = tensorOf(randomNd(shape, 100 + k, lo, hi), dtype);
      expectTensor(op(t), unaryRef(x, UNARY[name]), dtype, TOL[dtype] * factor, name);
    });
  });

  it('chained methods call the same ops', () => {
    const { t, x } = tensorOf(randomNd([4, 3], 7, 0.1, 2));
    expectTensor(
      t.sqrt().log().neg(),
      unaryRef(x, (v) => -Math.log(Math.sqrt(v))),
      'float32',
      4 * TOL.float32,
    );
    expectTensor(
      t.relu6().square(),
      unaryRef(x, (v) => Math.min(v, 6) ** 2),
      'float32',
    );
  });

  it('round halves to even, as tfjs and numpy do', () => {
    const x = keel.tensor([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.6, -2.6, 3]);
    expect(Array.from(keel.round(x).dataSync())).toEqual([0, 2, 2, -0, -2, -2, 3, -3, 3]);
  });

  it('propagates NaN and infinities like IEEE arithmetic', () => {
    const x = keel.tensor([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -1]);
    const v = (t: Tensor) => Array.from(t.dataSync());
    expect(v(keel.exp(x))).toEqual([Number.NaN, Number.POSITIVE_INFINITY, 0, 1, Math.fround(Math.exp(-1))]);
    expect(v(keel.log(x))).toEqual([
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NaN,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
    ]);
    expect(v(keel.relu(x))).toEqual([Number.NaN, Number.POSITIVE_INFINITY, 0, 0, 0]);
    expect(v(keel.sigmoid(x))).toEqual([Number.NaN, 1, 0, 0.5, Math.fround(1 / (1 + Math.E))]);
    expect(v(keel.softplus(x))).toEqual([
      Number.NaN,
      Number.POSITIVE_INFINITY,
      0,
      Math.fround(Math.LN2),
      Math.fround(Math.log1p(Math.exp(-1))),
    ]);
    expect(v(keel.sqrt(x))[4]).toBeNaN();
    expect(v(keel.isNaN(x))).toEqual([1, 0, 0, 0, 0]);
    expect(v(keel.isFinite(x))).toEqual([0, 0, 0, 1, 1]);
    expect(keel.isNaN(x).dtype).toBe('bool');
  });

  it('16-bit results overflow to infinity and underflow through subnormals', () => {
    expect(Array.from(keel.exp(keel.tensor([12, -17], [2], 'float16')).dataSync())).toEqual([
      Number.POSITIVE_INFINITY,
      2 ** -24, // exp(-17) = 4.1e-8 rounds to the smallest float16 subnormal
    ]);
    // bfloat16 has float32's range
    expect(keel.exp(keel.tensor([12], [1], 'bfloat16')).dataSync()[0]).toBe(162816);
  });

  it('int32 ops stay int32 (neg, abs, square, relu, relu6, sign); bool is rejected by arithmetic', () => {
    const i = keel.tensor([-7, -1, 0, 3, 9], [5], 'int32');
    for (const [name, op] of [
      ['neg', keel.neg],
      ['abs', keel.abs],
      ['square', keel.square],
      ['relu', keel.relu],
      ['relu6', keel.relu6],
      ['sign', keel.sign],
    ] as [string, Unary][]) {
      expectTensor(op(i), unaryRef(nd([-7, -1, 0, 3, 9], [5]), UNARY[name]), 'int32', 0, name);
    }
    expectTensor(keel.logicalNot(keel.tensor([true, false])), nd([0, 1], [2]), 'bool');
    expectTensor(keel.isNaN(i), nd([0, 0, 0, 0, 0], [5]), 'bool');
  });

  it('errors name the op and the argument', () => {
    const i = keel.tensor([1, 2], [2], 'int32');
    const b = keel.tensor([true, false]);
    for (const op of [
      'exp',
      'log',
      'log1p',
      'expm1',
      'sqrt',
      'rsqrt',
      'reciprocal',
      'sigmoid',
      'tanh',
      'sin',
      'cos',
    ] as const) {
      expect(() => UN[op](i), op).toThrow(
        new RegExp(`^${op}: argument 'x' must be a float tensor.*got int32`),
      );
    }
    expect(() => keel.elu(i)).toThrow(/elu: argument 'x' must be a float tensor.*int32/);
    expect(() => keel.softplus(i)).toThrow(/softplus: argument 'x' must be a float tensor.*int32/);
    expect(() => keel.neg(b)).toThrow(/neg: argument 'x' must be numeric, got bool/);
    expect(() => keel.logicalNot(i)).toThrow(/logicalNot: argument 'x' must be bool, got int32/);
    expect(() => keel.relu('abc' as never)).toThrow(
      /relu: argument 'x' must be a tensor, number or array, got string/,
    );
    expect(() => keel.abs([[1, 2], [3]])).toThrow(/abs: argument 'x' is not rectangular/);
    const d = keel.tensor([1]);
    d.dispose();
    expect(() => keel.exp(d)).toThrow(/exp: argument 'x' .* is disposed/);
  });
});

// Pairs of shapes that broadcast (numpy rules), the last one empty.
const BROADCAST_SHAPES: [number[], number[]][] = [
  [
    [2, 3],
    [2, 3],
  ],
  [[2, 3], [3]],
  [
    [4, 1, 3],
    [1, 5, 1],
  ],
  [[], [2, 2]],
  [[3, 1], []],
  [
    [2, 1, 4, 1],
    [3, 1, 2],
  ],
  [[1], [5, 1, 1]],
  [
    [0, 3],
    [1, 3],
  ],
];

const BINARY_CASES: [string, Binary, [number, number], [number, number]][] = [
  ['add', keel.add, [-3, 3], [-3, 3]],
  ['sub', keel.sub, [-3, 3], [-3, 3]],
  ['mul', keel.mul, [-3, 3], [-3, 3]],
  ['div', keel.div, [-3, 3], [0.25, 3]],
  ['pow', keel.pow, [0.1, 3], [-2, 2]],
  ['maximum', keel.maximum, [-2, 2], [-2, 2]],
  ['minimum', keel.minimum, [-2, 2], [-2, 2]],
  ['squaredDifference', keel.squaredDifference, [-2, 2], [-2, 2]],
];

describe('binary ops with broadcasting against float64 references', () => {
  BINARY_CASES.forEach(([name, op, ra, rb], k) => {
    it.each(FLOATS)(`${name} (%s) on every broadcast pair`, (dtype) => {
      BROADCAST_SHAPES.forEach(([sa, sb], j) => {
        const a = tensorOf(randomNd(sa, 1000 * k + j, ...ra), dtype);
        const b = tensorOf(randomNd(sb, 1000 * k + j + 500, ...rb), dtype);
        const factor = name === 'squaredDifference' ? 2 : 1;
        expectTensor(
          op(a.t, b.t),
          binaryRef(a.x, b.x, BINARY[name]),
          dtype,
          TOL[dtype] * factor,
          `${name} [${sa}] [${sb}]`,
        );
        expectTensor(
          op(b.t, a.t),
          binaryRef(b.x, a.x, BINARY[name]),
          dtype,
          TOL[dtype] * factor,
          `${name} [${sb}] [${sa}]`,
        );
      });
    });
  });

  it.each(FLOATS)('random broadcastable shapes of rank 0..4 (%s)', (dtype) => {
    for (let s = 0; s < 12; s++) {
      const sa = seededShape(s % 5, 2000 + s);
      // b: a suffix of a's shape with some dims set to 1, and a's dims set to 1 where b keeps them
      const keep = seededFloats(sa.length, 2100 + s);
      const sb = sa.slice(Math.floor(keep[0] * sa.length)).map((d, i) => (keep[i] > 0.6 ? 1 : d));
      const a = tensorOf(
        randomNd(
          sa.map((d, i) => (keep[i] < -0.6 ? 1 : d)),
          2200 + s,
        ),
        dtype,
      );
      const b = tensorOf(randomNd(sb, 2300 + s), dtype);
      for (const name of ['add', 'sub', 'mul', 'maximum'] as const) {
        expectTensor(
          BIN[name](a.t, b.t),
          binaryRef(a.x, b.x, BINARY[name]),
          dtype,
          TOL[dtype],
          `${name} [${a.x.shape}] [${sb}]`,
        );
      }
    }
  });

  it('chained methods and number operands (numbers take the tensor dtype)', () => {
    for (const dtype of FLOATS) {
      const { t, x } = tensorOf(randomNd([3, 4], 5), dtype);
      expectTensor(
        t.add(1.5).mul(2).sub(0.25).div(3),
        unaryRef(x, (v) => ((v + 1.5) * 2 - 0.25) / 3),
        dtype,
        4 * TOL[dtype],
      );
      expectTensor(
        keel.sub(1, t),
        unaryRef(x, (v) => 1 - v),
        dtype,
      );
      expectTensor(
        keel.maximum(t, [0, 0.5, -0.5, 0]),
        binaryRef(x, nd([0, 0.5, -0.5, 0], [4]), BINARY.maximum),
        dtype,
      );
    }
    expectTensor(keel.add(2, 3), nd([5], []), 'float32');
  });

  it('pow of negative bases with integer exponents, and 0^0 = 1', () => {
    const a = keel.tensor([-2, -3, 0, 4, -1.5]);
    const b = keel.tensor([3, 2, 0, 0.5, 2]);
    expectTensor(keel.pow(a, b), nd([-8, 9, 1, 2, 2.25], [5]), 'float32', 0);
    expect(keel.pow(-2, 0.5).dataSync()[0]).toBeNaN();
  });

  it('maximum/minimum propagate NaN; div by zero gives infinities', () => {
    const a = keel.tensor([Number.NaN, 1, 1, -1, 0]);
    const b = keel.tensor([1, Number.NaN, 0, 0, 0]);
    expect(Array.from(keel.maximum(a, b).dataSync()).slice(0, 2)).toEqual([Number.NaN, Number.NaN]);
    expect(Array.from(keel.minimum(a, b).dataSync()).slice(0, 2)).toEqual([Number.NaN, Number.NaN]);
    expect(Array.from(keel.div(a, b).dataSync()).slice(2)).toEqual([
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
    ]);
  });

  it('int32 arithmetic stays int32; int32 div floors (tfjs floorDiv); int32 pow truncates', () => {
    const a = keel.tensor([7, -7, 7, -7, 5, 0], [6], 'int32');
    const b = keel.tensor([2, 2, -2, -2, 1, 3], [6], 'int32');
    expectTensor(keel.add(a, b), nd([9, -5, 5, -9, 6, 3], [6]), 'int32');
    expectTensor(keel.sub(a, b), nd([5, -9, 9, -5, 4, -3], [6]), 'int32');
    expectTensor(keel.mul(a, b), nd([14, -14, -14, 14, 5, 0], [6]), 'int32');
    expectTensor(keel.div(a, b), nd([3, -4, -4, 3, 5, 0], [6]), 'int32');
    expectTensor(keel.maximum(a, b), nd([7, 2, 7, -2, 5, 3], [6]), 'int32');
    expectTensor(keel.minimum(a, b), nd([2, -7, -2, -7, 1, 0], [6]), 'int32');
    expectTensor(
      keel.pow(keel.tensor([2, 2, 3], [3], 'int32'), keel.tensor([-1, 3, 2], [3], 'int32')),
      nd([0, 8, 9], [3]),
      'int32',
    );
    // integer literals keep int32; fractional literals promote to float32 (tfjs upcasting)
    expectTensor(keel.add(a, 1), nd([8, -6, 8, -6, 6, 1], [6]), 'int32');
    expectTensor(keel.mul(a, 1.5), nd([10.5, -10.5, 10.5, -10.5, 7.5, 0], [6]), 'float32');
    // int32 wraps around like a machine integer
    expectTensor(keel.add(keel.tensor([2147483647], [1], 'int32'), 1), nd([-2147483648], [1]), 'int32');
  });

  it('int32 or bool meeting a float is cast to the float dtype', () => {
    const i = keel.tensor([1, 2, 3], [3], 'int32');
    const b = keel.tensor([true, false, true]);
    for (const dtype of FLOATS) {
      const f = keel.tensor([0.5, 0.25, -1], [3], dtype);
      expectTensor(keel.add(i, f), nd([1.5, 2.25, 2], [3]), dtype);
      expectTensor(keel.mul(f, b), nd([0.5, 0, -1], [3]), dtype);
    }
    expectTensor(keel.add(b, 1), nd([2, 1, 2], [3]), 'float32');
  });

  it('errors: mixed float dtypes name both, bool arithmetic, shapes that do not broadcast', () => {
    const h = keel.tensor([1, 2], [2], 'float16');
    const f = keel.tensor([1, 2], [2], 'float32');
    const bf = keel.tensor([1, 2], [2], 'bfloat16');
    for (const name of [
      'add',
      'sub',
      'mul',
      'div',
      'pow',
      'maximum',
      'minimum',
      'equal',
      'greater',
      'less',
    ] as const) {
      expect(() => BIN[name](h, f), name).toThrow(
        new RegExp(`^${name}: argument 'a' is float16 but 'b' is float32`),
      );
    }
    expect(() => keel.add(f, bf)).toThrow(/add: argument 'a' is float32 but 'b' is bfloat16/);
    expect(() => keel.squaredDifference(bf, h)).toThrow(/bfloat16.*float16/);
    const b = keel.tensor([true, false]);
    expect(() => keel.add(b, b)).toThrow(/add: arithmetic on bool tensors/);
    expect(() => keel.mul(keel.ones([2, 3]), keel.ones([4]))).toThrow(
      /mul: shapes \[2,3\] and \[4\] cannot be broadcast together/,
    );
    expect(() => keel.maximum(keel.ones([2, 1, 3]), keel.ones([4, 2]))).toThrow(
      /maximum: shapes \[2,1,3\] and \[4,2\] cannot be broadcast/,
    );
    expect(() => keel.add(keel.ones([2]), 'x' as never)).toThrow(
      /add: argument 'b' must be a tensor, number or array/,
    );
  });
});

describe('comparisons and logical ops return bool', () => {
  const CMP = ['equal', 'notEqual', 'greater', 'greaterEqual', 'less', 'lessEqual'] as const;
  it.each(FLOATS)('comparisons (%s) with ties and broadcasting', (dtype) => {
    // values on a coarse grid so that ties happen
    const ga = nd(seededFloats(12, 3, 0, 4).map(Math.floor), [3, 4]);
    const gb = nd(seededFloats(4, 4, 0, 4).map(Math.floor), [4]);
    const a = tensorOf(ga, dtype);
    const b = tensorOf(gb, dtype);
    for (const name of CMP) {
      expectTensor(BIN[name](a.t, b.t), binaryRef(a.x, b.x, BINARY[name]), 'bool', 0, name);
      expectTensor(BIN[name](b.t, a.t), binaryRef(b.x, a.x, BINARY[name]), 'bool', 0, name);
    }
  });

  it('comparisons on int32, bool, mixed int/float, and NaN', () => {
    const i = keel.tensor([1, 2, 3], [3], 'int32');
    expectTensor(keel.greater(i, 2), nd([0, 0, 1], [3]), 'bool');
    expectTensor(keel.less(i, 2.5), nd([1, 1, 0], [3]), 'bool');
    expectTensor(keel.equal(i, keel.tensor([1, 2.5, 3])), nd([1, 0, 1], [3]), 'bool');
    const b = keel.tensor([true, false, true]);
    expectTensor(keel.equal(b, true), nd([1, 0, 1], [3]), 'bool');
    expectTensor(keel.notEqual(b, keel.tensor([true, true, false])), nd([0, 1, 1], [3]), 'bool');
    const n = keel.tensor([Number.NaN, 1]);
    expectTensor(keel.equal(n, n), nd([0, 1], [2]), 'bool');
    expectTensor(keel.notEqual(n, n), nd([1, 0], [2]), 'bool');
    expectTensor(keel.greaterEqual(n, 0), nd([0, 1], [2]), 'bool');
  });

  it('logicalAnd/logicalOr broadcast bools; non-bool arguments are errors', () => {
    const a = keel.tensor([
      [true, false],
      [true, true],
    ]);
    const b = keel.tensor([false, true]);
    expectTensor(keel.logicalAnd(a, b), nd([0, 0, 0, 1], [2, 2]), 'bool');
    expectTensor(keel.logicalOr(a, b), nd([1, 1, 1, 1], [2, 2]), 'bool');
    expectTensor(a.logicalAnd(true), nd([1, 0, 1, 1], [2, 2]), 'bool');
    expect(() => keel.logicalAnd(a, keel.ones([2]))).toThrow(
      /logicalAnd: arguments must be bool, got bool and float32/,
    );
    expect(() => keel.logicalOr(keel.ones([2], 'int32'), b)).toThrow(
      /logicalOr: arguments must be bool, got int32 and bool/,
    );
    expect(() => keel.logicalAnd(a, keel.tensor([true, false, true]))).toThrow(
      /logicalAnd: shapes \[2,2\] and \[3\]/,
    );
  });
});

describe('where', () => {
  it.each(FLOATS)('selects with three-way broadcasting (%s)', (dtype) => {
    const cases: [number[], number[], number[]][] = [
      [
        [2, 3],
        [2, 3],
        [2, 3],
      ],
      [[3], [2, 3], []],
      [
        [2, 1],
        [1, 4],
        [2, 4],
      ],
      [[], [3], [3]],
    ];
    cases.forEach(([sc, sa, sb], k) => {
      const c = nd(
        seededFloats(
          sc.reduce((p, d) => p * d, 1),
          40 + k,
        ).map((v) => Number(v > 0)),
        sc,
      );
      const a = tensorOf(randomNd(sa, 50 + k), dtype);
      const b = tensorOf(randomNd(sb, 60 + k), dtype);
      const ct = keel.tensor(
        Array.from(c.data, (v) => v !== 0),
        sc,
        'bool',
      );
      expectTensor(
        keel.where(ct, a.t, b.t),
        whereRef(c, a.x, b.x),
        dtype,
        0,
        `where [${sc}] [${sa}] [${sb}]`,
      );
    });
  });

  it('takes int32 and bool branches, literal conditions and number branches', () => {
    expectTensor(keel.where([true, false], keel.tensor([1, 2], [2], 'int32'), 7), nd([1, 7], [2]), 'int32');
    expectTensor(keel.where([false, true], true, keel.tensor([false, false])), nd([0, 1], [2]), 'bool');
    expectTensor(
      keel.where(keel.tensor([true, false]), keel.tensor([1, 2], [2], 'int32'), keel.tensor([0.5, 0.5])),
      nd([1, 0.5], [2]),
      'float32',
    );
  });

  it('errors: condition not bool, mixed float branches, shapes', () => {
    expect(() => keel.where(keel.ones([2]), keel.ones([2]), keel.zeros([2]))).toThrow(
      /where: argument 'condition' must be bool, got float32/,
    );
    expect(() => keel.where([true, false], keel.ones([2], 'float16'), keel.zeros([2]))).toThrow(
      /where: argument 'a' is float16 but 'b' is float32/,
    );
    expect(() => keel.where([true, false, true], keel.ones([2]), keel.zeros([2]))).toThrow(
      /where: shapes \[3\] and \[2\] cannot be broadcast/,
    );
  });
});

describe('cast', () => {
  it.each(FLOATS)('float32 -> %s rounds to nearest even', (dtype) => {
    const x = randomNd([64], 77, -1000, 1000);
    const t = keel.cast(keel.tensor(Array.from(x.data)), dtype);
    expectTensor(t, x, dtype, 0);
  });

  it('float -> int32 truncates toward zero; -> bool is "not zero" (NaN is true, as tfjs)', () => {
    const x = keel.tensor([1.7, -1.7, 0.2, -0, 3, Number.NaN]);
    expectTensor(keel.cast(x, 'int32'), nd([1, -1, 0, 0, 3, 0], [6]), 'int32');
    expectTensor(keel.cast(x, 'bool'), nd([1, 1, 1, 0, 1, 1], [6]), 'bool');
    expectTensor(keel.cast(keel.tensor([0, 2, -3], [3], 'int32'), 'bool'), nd([0, 1, 1], [3]), 'bool');
    expectTensor(keel.cast(keel.tensor([0.5, 0], [2], 'float16'), 'bool'), nd([1, 0], [2]), 'bool');
  });

  it('between float dtypes, from int32 and bool, and to the same dtype (a copy)', () => {
    const h = keel.tensor([1 + 2 ** -10, 3.140625, 65504], [3], 'float16');
    // float16 -> bfloat16 rounds 1 + 2^-10 to 1 and 3.140625 to 3.140625 (exact in 8 bits)
    expectTensor(keel.cast(h, 'bfloat16'), nd([1, 3.140625, 65536], [3]), 'bfloat16', 0);
    expectTensor(keel.cast(h, 'float32'), nd([1 + 2 ** -10, 3.140625, 65504], [3]), 'float32', 0);
    expectTensor(
      keel.cast(keel.tensor([16777217, 3], [2], 'int32'), 'float32'),
      nd([16777216, 3], [2]),
      'float32',
      0,
    );
    expectTensor(
      keel.cast(keel.tensor([257, -3], [2], 'int32'), 'bfloat16'),
      nd([256, -3], [2]),
      'bfloat16',
      0,
    );
    expectTensor(keel.cast(keel.tensor([true, false]), 'float16'), nd([1, 0], [2]), 'float16', 0);
    const f = keel.tensor([1, 2]);
    const same = keel.cast(f, 'float32');
    expect(same).not.toBe(f);
    f.dispose();
    expectTensor(same, nd([1, 2], [2]), 'float32');
  });

  it('errors name cast and the bad dtype', () => {
    expect(() => keel.cast(keel.ones([1]), 'float64' as never)).toThrow(/cast: unknown dtype 'float64'/);
  });
});

describe('composite activations and helpers', () => {
  it.each(FLOATS)('clipByValue (%s)', (dtype) => {
    const { t, x } = tensorOf(randomNd([5, 6], 9, -3, 3), dtype);
    expectTensor(
      keel.clipByValue(t, -1, 1.5),
      unaryRef(x, (v) => Math.min(Math.max(v, -1), 1.5)),
      dtype,
    );
    expectTensor(
      t.clipByValue(0, 0),
      unaryRef(x, () => 0),
      dtype,
    );
  });

  it('clipByValue keeps int32 (bounds truncate as in tfjs)', () => {
    expectTensor(
      keel.clipByValue(keel.tensor([-5, 0, 5], [3], 'int32'), -1.5, 1.5),
      nd([-1, 0, 1], [3]),
      'int32',
    );
  });

  it('elu, leakyRelu take their alpha; relu6 clips at 6', () => {
    const { t, x } = tensorOf(randomNd([20], 11, -5, 8));
    expectTensor(
      keel.elu(t, 0.5),
      unaryRef(x, (v) => (v > 0 ? v : 0.5 * Math.expm1(v))),
      'float32',
      2 * TOL.float32,
    );
    expectTensor(
      keel.leakyRelu(t, 0.01),
      unaryRef(x, (v) => (v > 0 ? v : 0.01 * v)),
      'float32',
      2 * TOL.float32,
    );
    expectTensor(keel.leakyRelu(keel.tensor([-2, 2], [2], 'int32')), nd([-0.4, 2], [2]), 'float32');
    expectTensor(keel.relu6(keel.tensor([-1, 3, 6, 7, 100])), nd([0, 3, 6, 6, 6], [5]), 'float32', 0);
  });

  it('softplus is stable for large |x|', () => {
    const x = nd([-100, -30, 30, 100, 1e-3, -1e-3], [6]);
    expectTensor(keel.softplus(keel.tensor(Array.from(x.data))), unaryRef(x, UNARY.softplus), 'float32');
  });

  it('errors', () => {
    expect(() => keel.clipByValue(keel.ones([2]), 2, 1)).toThrow(
      /clipByValue: clipValueMin 2 must be <= clipValueMax 1/,
    );
    expect(() => keel.clipByValue(keel.ones([2], 'bool'), 0, 1)).toThrow(
      /clipByValue: argument 'x' must be numeric, got bool/,
    );
    expect(() => keel.clipByValue(keel.ones([2]), Number.NaN, 1)).toThrow(/clipByValue: clipValueMin NaN/);
  });
});

describe('memory', () => {
  it('composite ops free their intermediates and converted arrays, also when they throw', () => {
    const x = keel.tensor([[1, -2, 3]]);
    const i = keel.tensor([[1, 2, 3]], [1, 3], 'int32');
    const cases: [string, () => unknown][] = [
      ['add array', () => keel.add(x, [1, 2, 3])],
      ['add int32', () => keel.add(x, i)],
      ['relu6', () => keel.relu6(x)],
      ['elu', () => keel.elu(x)],
      ['leakyRelu', () => keel.leakyRelu(x)],
      ['softplus', () => keel.softplus(x)],
      ['clipByValue int32', () => keel.clipByValue(i, 0.5, 2.5)],
      ['squaredDifference', () => keel.squaredDifference(x, 1)],
      ['where arrays', () => keel.where([[true, false, true]], x, 0)],
      ['cast array', () => keel.cast([1, 2], 'float16')],
      ['failing add', () => keel.add(x, [1, 2, 3, 4])],
      ['failing where', () => keel.where([1, 0, 1], [1, 2, 3], [4, 5, 6])],
    ];
    for (const [name, f] of cases) expect(leaked(f), name).toBe(0);
  });
});
