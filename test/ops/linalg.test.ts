// matMul against a float64 reference: every transpose combination, batches, numpy broadcasting of batch
// dimensions, per float dtype (16-bit inputs accumulate in float32); int32 as tfjs; outerProduct, dot; errors.

import { describe, expect, it } from 'vitest';
import * as keel from '../../src/index.js';
import { expectTensor, leaked, randomNd, seededShape, TOL, tensorOf } from '../helpers.js';
import { type FloatDType, matMulRef, nd } from '../reference.js';

const FLOATS: FloatDType[] = ['float32', 'float16', 'bfloat16'];
const TRANSPOSES: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

/** Shapes of a and b for op(a) [..., M, K] and op(b) [..., K, N] with the given batch shapes. */
function shapesFor(
  batchA: number[],
  batchB: number[],
  M: number,
  K: number,
  N: number,
  tA: boolean,
  tB: boolean,
): [number[], number[]] {
  return [
    [...batchA, ...(tA ? [K, M] : [M, K])],
    [...batchB, ...(tB ? [N, K] : [K, N])],
  ];
}

// [batch of a, batch of b]: plain, equal, a batch of one on either side, missing dims, both-sided broadcast
const BATCHES: [number[], number[]][] = [
  [[], []],
  [[3], [3]],
  [
    [2, 3],
    [2, 3],
  ],
  [[1], [4]],
  [[4], [1]],
  [[], [2, 3]],
  [[3], []],
  [[3], [2, 3]],
  [
    [2, 1],
    [1, 3],
  ],
  [
    [2, 1, 3],
    [4, 1],
  ],
  [[1, 1], [2]],
];

describe('matMul against a float64 reference', () => {
  it.each(FLOATS)('every transpose combination and batch broadcast (%s)', (dtype) => {
    let seed = 0;
    for (const [batchA, batchB] of BATCHES) {
      for (const [tA, tB] of TRANSPOSES) {
        const [M, K, N] = seededShape(3, 500 + seed, 6);
        const [sa, sb] = shapesFor(batchA, batchB, M, K, N, tA, tB);
        const a = tensorOf(randomNd(sa, 600 + seed), dtype);
        const b = tensorOf(randomNd(sb, 700 + seed), dtype);
        seed++;
        const what = `a [${sa}] b [${sb}] tA ${tA} tB ${tB}`;
        expectTensor(keel.matMul(a.t, b.t, tA, tB), matMulRef(a.x, b.x, tA, tB), dtype, TOL[dtype], what);
      }
    }
  });

  it.each(FLOATS)('long inner dimension accumulates in float32 (%s)', (dtype) => {
    for (const [tA, tB] of TRANSPOSES) {
      const [sa, sb] = shapesFor([2], [2], 7, 700, 9, tA, tB);
      const a = tensorOf(randomNd(sa, 11), dtype);
      const b = tensorOf(randomNd(sb, 12), dtype);
      expectTensor(
        keel.matMul(a.t, b.t, tA, tB),
        matMulRef(a.x, b.x, tA, tB),
        dtype,
        TOL[dtype],
        `tA ${tA} tB ${tB}`,
      );
    }
  });

  it('larger blocked sizes, as a method', () => {
    const a = tensorOf(randomNd([67, 130], 21));
    const b = tensorOf(randomNd([130, 45], 22));
    expectTensor(a.t.matMul(b.t), matMulRef(a.x, b.x), 'float32');
    expectTensor(b.t.matMul(a.t, true, true), matMulRef(b.x, a.x, true, true), 'float32');
  });

  it('empty dimensions: K = 0 gives zeros, M = 0 an empty result', () => {
    expectTensor(
      keel.matMul(keel.ones([2, 0]), keel.ones([0, 3])),
      nd([0, 0, 0, 0, 0, 0], [2, 3]),
      'float32',
      0,
    );
    expectTensor(keel.matMul(keel.ones([0, 4]), keel.ones([4, 3])), nd([], [0, 3]), 'float32', 0);
    expectTensor(keel.matMul(keel.ones([2, 0, 4]), keel.ones([4, 3])), nd([], [2, 0, 3]), 'float32', 0);
  });

  it('int32 matrices multiply to int32 (tfjs); int32 meeting a float is cast up', () => {
    const a = nd([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = nd([7, -8, 9, 10, -11, 12], [3, 2]);
    const ai = keel.tensor(Array.from(a.data), [2, 3], 'int32');
    const bi = keel.tensor(Array.from(b.data), [3, 2], 'int32');
    expectTensor(keel.matMul(ai, bi), matMulRef(a, b), 'int32');
    expectTensor(keel.matMul(ai, bi, true, true), matMulRef(a, b, true, true), 'int32');
    for (const dtype of FLOATS) expectTensor(keel.matMul(ai, keel.cast(bi, dtype)), matMulRef(a, b), dtype);
  });

  it('errors name matMul and the argument', () => {
    const a = keel.ones([2, 3]);
    expect(() => keel.matMul(a, keel.ones([2, 3]))).toThrow(
      /^matMul: inner dimensions differ: a \[2,3\] has 3, b \[2,3\] has 2/,
    );
    expect(() => keel.matMul(a, keel.ones([2, 3]), true, true)).toThrow(
      /matMul: inner dimensions differ: a \[2,3\] \(transposed\) has 2, b \[2,3\] \(transposed\) has 3/,
    );
    expect(() => keel.matMul(keel.ones([3]), keel.ones([3, 2]))).toThrow(
      /matMul: inputs must have rank >= 2, got shapes \[3\] and \[3,2\]/,
    );
    expect(() => keel.matMul(a, keel.ones([3]))).toThrow(/matMul: inputs must have rank >= 2/);
    expect(() => keel.matMul(keel.ones([2, 2, 3]), keel.ones([3, 3, 4]))).toThrow(
      /matMul: batch dimensions \[2\] of a \[2,2,3\] and \[3\] of b \[3,3,4\] cannot be broadcast together/,
    );
    expect(() => keel.matMul(keel.ones([2, 3], 'float16'), keel.ones([3, 2]))).toThrow(
      /matMul: argument 'a' is float16 but 'b' is float32/,
    );
    expect(() => keel.matMul(a, keel.ones([3, 2], 'bfloat16'))).toThrow(
      /matMul: argument 'a' is float32 but 'b' is bfloat16/,
    );
    expect(() => keel.matMul(keel.ones([2, 3], 'bool'), a)).toThrow(
      /matMul: argument 'a' must be numeric, got bool/,
    );
  });
});

describe('outerProduct and dot', () => {
  it.each(FLOATS)('outerProduct (%s)', (dtype) => {
    const a = tensorOf(randomNd([4], 1), dtype);
    const b = tensorOf(randomNd([5], 2), dtype);
    const want = matMulRef({ data: a.x.data, shape: [4, 1] }, { data: b.x.data, shape: [1, 5] });
    expectTensor(keel.outerProduct(a.t, b.t), want, dtype);
  });

  it.each(FLOATS)('dot of vectors and matrices (%s)', (dtype) => {
    const v = tensorOf(randomNd([4], 3), dtype);
    const w = tensorOf(randomNd([4], 4), dtype);
    const m = tensorOf(randomNd([4, 3], 5), dtype);
    const n = tensorOf(randomNd([2, 4], 6), dtype);
    const col = (x: typeof v.x, shape: number[]) => ({ data: x.data, shape });
    expectTensor(keel.dot(v.t, w.t), { ...matMulRef(col(v.x, [1, 4]), col(w.x, [4, 1])), shape: [] }, dtype);
    expectTensor(keel.dot(v.t, m.t), { ...matMulRef(col(v.x, [1, 4]), m.x), shape: [3] }, dtype);
    expectTensor(keel.dot(n.t, v.t), { ...matMulRef(n.x, col(v.x, [4, 1])), shape: [2] }, dtype);
    expectTensor(n.t.dot(m.t), matMulRef(n.x, m.x), dtype);
  });

  it('errors', () => {
    expect(() => keel.outerProduct(keel.ones([2, 1]), keel.ones([2]))).toThrow(
      /outerProduct: inputs must be vectors, got \[2,1\] and \[2\]/,
    );
    expect(() => keel.dot(keel.ones([2, 2, 2]), keel.ones([2]))).toThrow(
      /dot: inputs must have rank 1 or 2, got \[2,2,2\] and \[2\]/,
    );
    expect(() => keel.dot(keel.ones([3]), keel.ones([2]))).toThrow(/matMul: inner dimensions differ/);
  });
});

describe('memory', () => {
  it('matMul, outerProduct and dot free their intermediates', () => {
    const [a, b] = [keel.ones([2, 1, 2, 3]), keel.ones([3, 3, 1])];
    const [ai, bi] = [keel.ones([2, 3], 'int32'), keel.ones([3, 1], 'int32')];
    const cases: [string, () => unknown][] = [
      ['broadcast batch', () => keel.matMul(a, b)],
      ['int32', () => keel.matMul(ai, bi)],
      ['arrays', () => keel.matMul([[1, 2]], [[3], [4]])],
      ['outerProduct', () => keel.outerProduct([1, 2], [3, 4, 5])],
      ['dot', () => keel.dot([1, 2], [3, 4])],
      ['failing', () => keel.matMul([[1, 2]], [[3, 4]])],
    ];
    for (const [name, f] of cases) expect(leaked(f), name).toBe(0);
  });
});
