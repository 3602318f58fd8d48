// Reductions against float64 references: sum, mean, prod, max, min, logSumExp over every axis combination
// with keepDims, per float dtype (accumulating in float32 or better); argMax/argMin; int32/bool results.

import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as keel from '../../src/index.js';
import { expectTensor, leaked, randomNd, seededFloats, seededShape, TOL, tensorOf } from '../helpers.js';
import { argReduceRef, type FloatDType, nd, type ReduceName, reduceRef } from '../reference.js';

const FLOATS: FloatDType[] = ['float32', 'float16', 'bfloat16'];
type Reduce = (x: Tensor, axis?: number | number[] | null, keepDims?: boolean) => Tensor;
const OPS: [ReduceName, Reduce, number, number][] = [
  ['sum', keel.sum, -1, 1],
  ['mean', keel.mean, -1, 1],
  ['prod', keel.prod, 0.6, 1.5],
  ['max', keel.max, -1, 1],
  ['min', keel.min, -1, 1],
  ['logSumExp', keel.logSumExp, -3, 3],
];
// every axis argument form: all (undefined/null), one, negative, contiguous groups, non-contiguous groups
const AXES: (number | number[] | null | undefined)[] = [
  undefined,
  null,
  0,
  1,
  -1,
  [0, 1],
  [1, 2],
  [0, 2],
  [2, 0],
  [0, 1, 2],
  [],
  [-3, -1],
];

describe('reductions against float64 references', () => {
  OPS.forEach(([name, op, lo, hi], k) => {
    it.each(FLOATS)(`${name} (%s) over every axis form, with and without keepDims`, (dtype) => {
      const { t, x } = tensorOf(randomNd([3, 4, 5], 300 + k, lo, hi), dtype);
      AXES.forEach((axis) => {
        for (const keepDims of [false, true]) {
          const what = `${name}(axis ${JSON.stringify(axis)}, keepDims ${keepDims})`;
          // logSumExp composes max, sub, exp, sum, log, add: a few roundings in 16 bits
          const tol = TOL[dtype] * (name === 'logSumExp' ? 2 : 1);
          expectTensor(op(t, axis, keepDims), reduceRef(name, x, axis, keepDims), dtype, tol, what);
        }
      });
    });
  });

  it.each(FLOATS)('random shapes of rank 1..4 (%s)', (dtype) => {
    for (let s = 0; s < 8; s++) {
      const rank = 1 + (s % 4);
      const shape = seededShape(rank, 900 + s, 5);
      const axis = Math.floor(seededFloats(1, 950 + s, 0, rank)[0]);
      const { t, x } = tensorOf(randomNd(shape, 970 + s), dtype);
      for (const [name, op] of OPS.filter(([n]) => n !== 'prod')) {
        expectTensor(
          op(t, axis),
          reduceRef(name, x, axis),
          dtype,
          2 * TOL[dtype],
          `${name} [${shape}] axis ${axis}`,
        );
      }
    }
  });

  it('16-bit sums accumulate in float32 or better: 4096 ones in float16 sum to 4096', () => {
    // a float16 accumulator would stall at 2048 (2048 + 1 rounds back to 2048)
    expectTensor(keel.sum(keel.ones([4096], 'float16')), nd([4096], []), 'float16', 0);
    expectTensor(keel.sum(keel.ones([512], 'bfloat16')), nd([512], []), 'bfloat16', 0);
    // the mean of values whose sum overflows float16 is still finite
    expectTensor(keel.mean(keel.fill([8], 60000, 'float16')), nd([60000], []), 'float16');
    // float32 accumulation of many small terms
    const x = randomNd([100000], 5, 0, 1);
    expectTensor(keel.sum(keel.tensor(Array.from(x.data))), reduceRef('sum', x), 'float32');
  });

  it('chained methods', () => {
    const { t, x } = tensorOf(randomNd([2, 3], 1));
    expectTensor(t.sum(1), reduceRef('sum', x, 1), 'float32');
    expectTensor(t.mean(0, true), reduceRef('mean', x, 0, true), 'float32');
    expectTensor(t.max(), reduceRef('max', x), 'float32');
    expectTensor(t.logSumExp(-1, true), reduceRef('logSumExp', x, -1, true), 'float32');
  });

  it('scalars reduce to themselves; NaN propagates through max/min/sum; -Inf inputs in logSumExp', () => {
    expectTensor(keel.sum(keel.scalar(3)), nd([3], []), 'float32');
    expectTensor(keel.max(keel.scalar(3), [], true), nd([3], []), 'float32');
    const n = keel.tensor([1, Number.NaN, 3]);
    for (const op of [keel.max, keel.min, keel.sum, keel.mean, keel.prod])
      expect(op(n).dataSync()[0]).toBeNaN();
    expectTensor(keel.logSumExp(keel.tensor([Number.NEGATIVE_INFINITY, 0])), nd([0], []), 'float32');
    // large values: no overflow thanks to the max shift
    expectTensor(keel.logSumExp(keel.tensor([1000, 1000])), nd([1000 + Math.LN2], []), 'float32');
    expectTensor(
      keel.logSumExp(keel.tensor([100, 100], [2], 'float16')),
      nd([100 + Math.LN2], []),
      'float16',
    );
  });

  it('int32 and bool: sum/prod/max/min of int32 are int32, sum of bool counts, mean is float32', () => {
    const i = keel.tensor(
      [
        [1, -2, 3],
        [4, 5, -6],
      ],
      [2, 3],
      'int32',
    );
    expectTensor(keel.sum(i), nd([5], []), 'int32');
    expectTensor(keel.sum(i, 1), nd([2, 3], [2]), 'int32');
    expectTensor(keel.prod(i, 0), nd([4, -10, -18], [3]), 'int32');
    expectTensor(keel.max(i, 1, true), nd([3, 5], [2, 1]), 'int32');
    expectTensor(keel.min(i), nd([-6], []), 'int32');
    expectTensor(keel.mean(i, 0), nd([2.5, 1.5, -1.5], [3]), 'float32');
    // int32 sums stay exact beyond float32's 24 bits, also when the reduced axes are not contiguous
    const big = keel.tensor([16777217, 1, 16777217, 1], [2, 1, 2], 'int32');
    expectTensor(keel.sum(big, [0, 2]), nd([33554436], [1]), 'int32');
    const b = keel.tensor([
      [true, false, true],
      [true, true, true],
    ]);
    expectTensor(keel.sum(b), nd([5], []), 'int32');
    expectTensor(keel.sum(b, 1), nd([2, 3], [2]), 'int32');
    expectTensor(keel.prod(b, 1), nd([0, 1], [2]), 'int32');
    expectTensor(keel.mean(b), nd([5 / 6], []), 'float32');
    // tfjs: max/min of bools are bool ("any"/"all")
    expectTensor(keel.max(b, 1), nd([1, 1], [2]), 'bool');
    expectTensor(keel.min(b, 1), nd([0, 1], [2]), 'bool');
  });

  it('logSumExp of int32 works in float32, as tfjs', () => {
    const x = nd([1, 2, 3], [3]);
    expectTensor(keel.logSumExp(keel.tensor([1, 2, 3], [3], 'int32')), reduceRef('logSumExp', x), 'float32');
  });

  it('errors name the op and the axis', () => {
    const x = keel.ones([2, 3]);
    for (const [name, op] of OPS) {
      expect(() => op(x, 2), name).toThrow(
        new RegExp(`^${name}: axis 2 is out of range for a tensor of rank 2`),
      );
      expect(() => op(x, -3), name).toThrow(new RegExp(`^${name}: axis -3 is out of range`));
      expect(() => op(x, 0.5), name).toThrow(new RegExp(`^${name}: axis must be an integer, got 0.5`));
      expect(() => op(x, [1, -1]), name).toThrow(new RegExp(`^${name}: duplicate axes in \\[1,-1\\]`));
    }
    expect(() => keel.logSumExp(keel.tensor([true]))).toThrow(
      /logSumExp: argument 'x' must be numeric, got bool/,
    );
    const d = keel.ones([2]);
    d.dispose();
    expect(() => keel.sum(d)).toThrow(/sum: argument 'x' .* is disposed/);
  });
});

describe('argMax / argMin', () => {
  it.each(FLOATS)('every axis of a rank-3 tensor (%s), returning int32', (dtype) => {
    const { t, x } = tensorOf(randomNd([3, 4, 5], 41), dtype);
    for (const axis of [0, 1, 2, -1, -3]) {
      expectTensor(keel.argMax(t, axis), argReduceRef(true, x, axis), 'int32', 0, `argMax axis ${axis}`);
      expectTensor(keel.argMin(t, axis), argReduceRef(false, x, axis), 'int32', 0, `argMin axis ${axis}`);
    }
    // default axis 0 (tfjs)
    expectTensor(keel.argMax(t), argReduceRef(true, x, 0), 'int32');
    expectTensor(t.argMin(1), argReduceRef(false, x, 1), 'int32');
  });

  it('ties give the first index; NaN counts as the extreme; int32 and bool inputs', () => {
    expectTensor(keel.argMax(keel.tensor([1, 3, 3, 2])), nd([1], []), 'int32');
    expectTensor(
      keel.argMin(
        keel.tensor([
          [2, 1, 1],
          [0, 0, 5],
        ]),
        1,
      ),
      nd([1, 0], [2]),
      'int32',
    );
    expectTensor(keel.argMax(keel.tensor([1, Number.NaN, 3])), nd([1], []), 'int32');
    expectTensor(keel.argMin(keel.tensor([1, 0, Number.NaN])), nd([2], []), 'int32');
    expectTensor(
      keel.argMax(
        keel.tensor(
          [
            [1, 9],
            [7, 3],
          ],
          [2, 2],
          'int32',
        ),
        0,
      ),
      nd([1, 0], [2]),
      'int32',
    );
    expectTensor(keel.argMax(keel.tensor([false, true, true])), nd([1], []), 'int32');
    const x = nd(
      seededFloats(60, 8).map((v) => Math.round(v * 2)),
      [3, 4, 5],
    );
    expectTensor(keel.argMax(keel.tensor(Array.from(x.data), x.shape), 2), argReduceRef(true, x, 2), 'int32');
  });

  it('errors name the op and the axis', () => {
    expect(() => keel.argMax(keel.ones([2, 3]), 2)).toThrow(
      /argMax: axis 2 is out of range for a tensor of rank 2/,
    );
    expect(() => keel.argMin(keel.ones([2, 3]), -3)).toThrow(/argMin: axis -3 is out of range/);
    expect(() => keel.argMax(keel.scalar(1))).toThrow(/argMax: needs a tensor of rank >= 1/);
    expect(() => keel.argMax(keel.ones([2]), 1.5)).toThrow(/argMax: axis must be an integer/);
  });
});

describe('memory', () => {
  it('reductions free their intermediates and converted arrays', () => {
    const x = keel.tensor([[1, -2, 3]]);
    const i = keel.tensor([1, 2], [2], 'int32');
    const cases: [string, () => unknown][] = [
      ['sum keepDims', () => keel.sum(x, 1, true)],
      ['sum of bool array', () => keel.sum([true, false])],
      ['mean int32', () => keel.mean(i)],
      ['logSumExp', () => keel.logSumExp(x, 1)],
      ['moments', () => keel.moments(x, 1)],
      ['argMax array', () => keel.argMax([1, 3, 2])],
      ['failing sum', () => keel.sum([1, 2], 3)],
    ];
    for (const [name, f] of cases) expect(leaked(f), name).toBe(0);
  });
});
