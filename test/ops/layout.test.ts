// Shape and data-movement ops against float64 references, for every dtype (data movement is exact):
// reshape, transpose, expandDims, squeeze, broadcastTo, slice, pad, concat, stack, unstack, tile, gather, oneHot.

import { describe, expect, it } from 'vitest';
import type { DType } from '../../src/dtype.js';
import * as keel from '../../src/index.js';
import { expectTensor, leaked, randomNd, seededFloats, seededShape, tensorOf } from '../helpers.js';
import {
  concatRef,
  gatherRef,
  type Nd,
  nd,
  oneHotRef,
  padRef,
  sliceRef,
  stackRef,
  tileRef,
  transposeRef,
} from '../reference.js';

const ALL: DType[] = ['float32', 'float16', 'bfloat16', 'int32', 'bool'];

/** Random values for any dtype: floats in [-4, 4), small ints, or bools. */
function input(shape: number[], seed: number, dtype: DType) {
  const x = randomNd(shape, seed, -4, 4);
  if (dtype === 'int32') x.data = x.data.map(Math.round);
  if (dtype === 'bool') x.data = x.data.map((v) => Number(v > 0));
  return tensorOf(x, dtype);
}

const reshaped = (x: Nd, shape: number[]): Nd => ({ data: x.data, shape });

describe.each(ALL)('layout ops (%s)', (dtype) => {
  it('reshape, with -1 inferred, shares values', () => {
    const { t, x } = input([2, 3, 4], 1, dtype);
    expectTensor(keel.reshape(t, [4, 6]), reshaped(x, [4, 6]), dtype, 0);
    expectTensor(keel.reshape(t, [-1, 2]), reshaped(x, [12, 2]), dtype, 0);
    expectTensor(t.reshape([24]), reshaped(x, [24]), dtype, 0);
    expectTensor(t.flatten(), reshaped(x, [24]), dtype, 0);
    expectTensor(keel.reshape(keel.zeros([0, 3], dtype), [3, 2, 0]), nd([], [3, 2, 0]), dtype, 0);
    expectTensor(keel.reshape(keel.zeros([0, 3], dtype), [-1, 1]), nd([], [0, 1]), dtype, 0);
    expectTensor(keel.reshape(input([1], 5, dtype).t, []), reshaped(input([1], 5, dtype).x, []), dtype, 0);
  });

  it('transpose: default reverses the axes; every permutation of rank 3; rank 4', () => {
    const { t, x } = input([2, 3, 4], 2, dtype);
    expectTensor(keel.transpose(t), transposeRef(x), dtype, 0);
    for (const perm of [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ]) {
      expectTensor(keel.transpose(t, perm), transposeRef(x, perm), dtype, 0, `perm [${perm}]`);
    }
    const b = input([2, 1, 3, 2], 3, dtype);
    expectTensor(b.t.transpose([3, 1, 0, 2]), transposeRef(b.x, [3, 1, 0, 2]), dtype, 0);
    expectTensor(keel.transpose(input([5], 4, dtype).t), input([5], 4, dtype).x, dtype, 0);
  });

  it('expandDims and squeeze', () => {
    const { t, x } = input([2, 3], 4, dtype);
    expectTensor(keel.expandDims(t), reshaped(x, [1, 2, 3]), dtype, 0);
    expectTensor(keel.expandDims(t, 1), reshaped(x, [2, 1, 3]), dtype, 0);
    expectTensor(keel.expandDims(t, 2), reshaped(x, [2, 3, 1]), dtype, 0);
    expectTensor(keel.expandDims(t, -1), reshaped(x, [2, 3, 1]), dtype, 0);
    expectTensor(keel.expandDims(t, -3), reshaped(x, [1, 2, 3]), dtype, 0);
    const s = input([1, 2, 1, 3, 1], 5, dtype);
    expectTensor(keel.squeeze(s.t), reshaped(s.x, [2, 3]), dtype, 0);
    expectTensor(keel.squeeze(s.t, [0, 4]), reshaped(s.x, [2, 1, 3]), dtype, 0);
    expectTensor(s.t.squeeze([-3]), reshaped(s.x, [1, 2, 3, 1]), dtype, 0);
  });

  it('broadcastTo', () => {
    const { t, x } = input([3, 1], 6, dtype);
    const want = (shape: number[]) => {
      const lifted = [...new Array(shape.length - 2).fill(1), 3, 1];
      return tileRef(
        reshaped(x, lifted),
        shape.map((d, i) => d / lifted[i]),
      );
    };
    expectTensor(keel.broadcastTo(t, [3, 4]), want([3, 4]), dtype, 0);
    expectTensor(keel.broadcastTo(t, [2, 3, 5]), want([2, 3, 5]), dtype, 0);
    expectTensor(keel.broadcastTo(t, [3, 1]), x, dtype, 0);
    expectTensor(keel.broadcastTo(t, [1, 3, 1]), reshaped(x, [1, 3, 1]), dtype, 0);
  });

  it('slice: arrays, a number begin, -1 and missing sizes, empty slices', () => {
    const { t, x } = input([4, 5, 3], 7, dtype);
    const cases: [number[], number[]][] = [
      [
        [0, 0, 0],
        [4, 5, 3],
      ],
      [
        [1, 2, 0],
        [2, 3, 3],
      ],
      [
        [3, 4, 2],
        [1, 1, 1],
      ],
      [
        [1, 0, 1],
        [-1, 2, -1],
      ],
      [
        [2, 1, 0],
        [0, 2, 3],
      ],
    ];
    for (const [b, s] of cases)
      expectTensor(keel.slice(t, b, s), sliceRef(x, b, s), dtype, 0, `slice ${b} ${s}`);
    expectTensor(keel.slice(t, 2), sliceRef(x, [2, 0, 0], [-1, -1, -1]), dtype, 0);
    expectTensor(keel.slice(t, 1, 2), sliceRef(x, [1, 0, 0], [2, -1, -1]), dtype, 0);
    expectTensor(keel.slice(t, [1, 3]), sliceRef(x, [1, 3, 0], [-1, -1, -1]), dtype, 0);
    expectTensor(t.slice([0, 1], [2, 2]), sliceRef(x, [0, 1, 0], [2, 2, -1]), dtype, 0);
  });

  it('pad with zeros and with a constant', () => {
    const { t, x } = input([2, 3], 8, dtype);
    const p: [number, number][] = [
      [1, 2],
      [0, 3],
    ];
    expectTensor(keel.pad(t, p), padRef(x, p), dtype, 0);
    const value = dtype === 'bool' ? 1 : dtype === 'int32' ? -7 : 2.5;
    expectTensor(keel.pad(t, p, value), padRef(x, p, value), dtype, 0);
    expectTensor(
      t.pad([
        [0, 0],
        [0, 0],
      ]),
      x,
      dtype,
      0,
    );
    const s = input([], 9, dtype);
    expectTensor(keel.pad(s.t, []), s.x, dtype, 0);
  });

  it('concat along every axis, negative axes, three inputs, and as a method', () => {
    const a = input([2, 3, 2], 10, dtype);
    for (const [axis, sb, sc] of [
      [0, [1, 3, 2], [3, 3, 2]],
      [1, [2, 1, 2], [2, 4, 2]],
      [2, [2, 3, 3], [2, 3, 1]],
      [-1, [2, 3, 1], [2, 3, 2]],
      [-3, [1, 3, 2], [0, 3, 2]],
    ] as [number, number[], number[]][]) {
      const b = input(sb, 11 + axis, dtype);
      const c = input(sc, 21 + axis, dtype);
      expectTensor(
        keel.concat([a.t, b.t, c.t], axis),
        concatRef([a.x, b.x, c.x], axis),
        dtype,
        0,
        `axis ${axis}`,
      );
    }
    const b = input([2, 3, 2], 12, dtype);
    expectTensor(a.t.concat(b.t), concatRef([a.x, b.x]), dtype, 0);
    expectTensor(a.t.concat([b.t], 1), concatRef([a.x, b.x], 1), dtype, 0);
    expectTensor(keel.concat([a.t]), a.x, dtype, 0);
  });

  it('stack and unstack along every axis', () => {
    const xs = [0, 1, 2].map((k) => input([2, 3], 30 + k, dtype));
    for (const axis of [0, 1, 2, -1, -3]) {
      expectTensor(
        keel.stack(
          xs.map((v) => v.t),
          axis,
        ),
        stackRef(
          xs.map((v) => v.x),
          axis,
        ),
        dtype,
        0,
        `stack axis ${axis}`,
      );
    }
    const { t, x } = input([2, 3, 4], 33, dtype);
    for (const axis of [0, 1, 2, -1]) {
      const parts = keel.unstack(t, axis);
      const a = axis < 0 ? axis + 3 : axis;
      expect(parts.length).toBe(x.shape[a]);
      parts.forEach((p, k) => {
        const begin = [0, 0, 0];
        const size = [-1, -1, -1];
        begin[a] = k;
        size[a] = 1;
        const s = sliceRef(x, begin, size);
        expectTensor(
          p,
          reshaped(
            s,
            x.shape.filter((_, i) => i !== a),
          ),
          dtype,
          0,
        );
      });
    }
    const one = input([], 34, dtype);
    expectTensor(keel.stack([one.t, one.t]), stackRef([one.x, one.x]), dtype, 0);
  });

  it('tile', () => {
    const { t, x } = input([2, 3], 40, dtype);
    for (const reps of [
      [1, 1],
      [2, 1],
      [1, 3],
      [3, 2],
      [0, 2],
    ])
      expectTensor(keel.tile(t, reps), tileRef(x, reps), dtype, 0, `reps ${reps}`);
    const r = input([2, 1, 3], 41, dtype);
    expectTensor(r.t.tile([2, 3, 1]), tileRef(r.x, [2, 3, 1]), dtype, 0);
    const s = input([], 42, dtype);
    expectTensor(keel.tile(s.t, []), s.x, dtype, 0);
  });

  it('gather along every axis with vector and matrix indices', () => {
    const { t, x } = input([4, 3, 5], 50, dtype);
    const idx = [nd([3, 0, 0, 2], [4]), nd([1, 2, 0, 1, 1, 0], [2, 3]), nd([2], [1]), nd([1], [])];
    for (const axis of [0, 1, 2, -1]) {
      const n = x.shape[axis < 0 ? axis + 3 : axis];
      for (const i of idx) {
        const ii = nd(
          i.data.map((v) => v % n),
          i.shape,
        );
        const it = keel.tensor(Array.from(ii.data), ii.shape, 'int32');
        expectTensor(
          keel.gather(t, it, axis),
          gatherRef(x, ii, axis),
          dtype,
          0,
          `axis ${axis} indices [${ii.shape}]`,
        );
      }
    }
    expectTensor(t.gather([1, 1]), gatherRef(x, nd([1, 1], [2])), dtype, 0);
  });
});

describe('oneHot', () => {
  it('int32 by default, with on/off values and out-of-range indices all off', () => {
    const idx = nd([0, 2, 1, -1, 3, 2], [2, 3]);
    const it = keel.tensor(Array.from(idx.data), [2, 3], 'int32');
    expectTensor(keel.oneHot(it, 3), oneHotRef(idx, 3), 'int32');
    expectTensor(
      keel.oneHot(keel.tensor([1, 0], [2], 'int32'), 2, 5, -1),
      oneHotRef(nd([1, 0], [2]), 2, 5, -1),
      'int32',
    );
    expectTensor(keel.oneHot([2, 0], 4), oneHotRef(nd([2, 0], [2]), 4), 'int32');
    // like tfjs, an int32 result truncates fractional on/off values; a float dtype keeps them
    expectTensor(keel.oneHot([0, 2], 3, 2.5, 0.5), oneHotRef(nd([0, 2], [2]), 3, 2, 0), 'int32');
    for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
      expectTensor(
        keel.oneHot([0, 2], 3, 2.5, 0.5, dtype),
        oneHotRef(nd([0, 2], [2]), 3, 2.5, 0.5),
        dtype,
        0,
      );
    }
    expectTensor(keel.oneHot(keel.scalar(1, 'int32'), 2), oneHotRef(nd([1], []), 2), 'int32');
  });

  it('errors', () => {
    expect(() => keel.oneHot(keel.tensor([0.5, 1]), 2)).toThrow(
      /oneHot: argument 'indices' must be int32, got float32/,
    );
    expect(() => keel.oneHot([0, 1], 0)).toThrow(/oneHot: depth must be a positive integer, got 0/);
    expect(() => keel.oneHot([0, 1], 2.5)).toThrow(/oneHot: depth must be a positive integer, got 2.5/);
    expect(() => keel.oneHot([0, 1], 2, 1, 0, 'float64' as never)).toThrow(/oneHot: unknown dtype 'float64'/);
  });
});

describe('range (behind oneHot)', () => {
  it('counts from start by step, excluding stop', () => {
    expectTensor(keel.range(0, 5), nd([0, 1, 2, 3, 4], [5]), 'float32');
    expectTensor(keel.range(1, -2, -0.5), nd([1, 0.5, 0, -0.5, -1, -1.5], [6]), 'float32');
    expectTensor(keel.range(2, 9, 3, 'int32'), nd([2, 5, 8], [3]), 'int32');
    expectTensor(keel.range(3, 1), nd([], [0]), 'float32');
    expect(() => keel.range(0, 1, 0)).toThrow(/range: step must not be 0/);
    expect(() => keel.range(0, Number.POSITIVE_INFINITY)).toThrow(
      /range: start, stop and step must be finite/,
    );
    expect(() => keel.range(0, 2, 1, 'float64' as never)).toThrow(/range: unknown dtype 'float64'/);
  });
});

describe('random shapes', () => {
  it('transpose/slice/concat/tile on random rank-1..5 shapes', () => {
    for (let s = 0; s < 10; s++) {
      const rank = 1 + (s % 5);
      const shape = seededShape(rank, 60 + s, 4);
      const { t, x } = input(shape, 70 + s, 'float32');
      const keys = seededFloats(rank, 80 + s);
      const order = shape.map((_, i) => i).sort((p, q) => keys[p] - keys[q]);
      expectTensor(
        keel.transpose(t, order),
        transposeRef(x, order),
        'float32',
        0,
        `transpose [${shape}] [${order}]`,
      );
      const begin = shape.map((d, i) => Math.floor(seededFloats(1, 300 + s + i, 0, d)[0]));
      const size = shape.map((d, i) => Math.floor(seededFloats(1, 400 + s + i, 0, d - begin[i] + 1)[0]));
      expectTensor(
        keel.slice(t, begin, size),
        sliceRef(x, begin, size),
        'float32',
        0,
        `slice [${shape}] ${begin} ${size}`,
      );
      const axis = s % rank;
      expectTensor(keel.concat([t, t], axis), concatRef([x, x], axis), 'float32', 0);
      const reps = shape.map((_, i) => 1 + ((s + i) % 2));
      expectTensor(keel.tile(t, reps), tileRef(x, reps), 'float32', 0);
    }
  });
});

describe('layout errors name the op and the argument', () => {
  const x = keel.ones([2, 3]);
  it('reshape', () => {
    expect(() => keel.reshape(x, [4, 2])).toThrow(
      /reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,2\] \(8 elements\)/,
    );
    expect(() => keel.reshape(x, [-1, 4])).toThrow(
      /reshape: cannot reshape \[2,3\] \(6 elements\) to \[-1,4\]/,
    );
    expect(() => keel.reshape(x, [-1, -1])).toThrow(/reshape: invalid shape \[-1,-1\]/);
    expect(() => keel.reshape(x, [2.5, 2])).toThrow(/reshape: invalid shape \[2.5,2\]/);
    expect(() => keel.reshape(x, [-2, -3])).toThrow(/reshape: invalid shape/);
    // -1 next to a 0 is ambiguous (numpy refuses it too)
    expect(() => keel.reshape(keel.zeros([0, 3]), [3, -1, 0])).toThrow(
      /reshape: cannot reshape \[0,3\] \(0 elements\) to \[3,-1,0\]/,
    );
  });
  it('transpose, expandDims, squeeze, broadcastTo', () => {
    expect(() => keel.transpose(x, [0, 0])).toThrow(
      /transpose: perm \[0,0\] is not a permutation of the 2 axes of \[2,3\]/,
    );
    expect(() => keel.transpose(x, [1, 0, 2])).toThrow(/transpose: perm \[1,0,2\] is not a permutation/);
    expect(() => keel.expandDims(x, 3)).toThrow(/expandDims: axis 3 is out of range for a tensor of rank 3/);
    expect(() => keel.expandDims(x, -4)).toThrow(/expandDims: axis -4 is out of range/);
    expect(() => keel.squeeze(x, [0])).toThrow(/squeeze: cannot squeeze axis 0 of size 2 \(shape \[2,3\]\)/);
    expect(() => keel.squeeze(x, [2])).toThrow(/squeeze: axis 2 is out of range/);
    expect(() => keel.broadcastTo(x, [3])).toThrow(
      /broadcastTo: cannot broadcast \[2,3\] to lower rank \[3\]/,
    );
    expect(() => keel.broadcastTo(x, [4, 3])).toThrow(
      /broadcastTo: cannot broadcast \[2,3\] to \[4,3\]: dim 0 is 2/,
    );
    expect(() => keel.broadcastTo(keel.ones([1]), [-1])).toThrow(
      /broadcastTo: shape must be an array of non-negative integers/,
    );
    expect(() => keel.broadcastTo(keel.ones([1]), [2.5])).toThrow(
      /broadcastTo: shape must be an array of non-negative integers/,
    );
  });
  it('slice and pad', () => {
    expect(() => keel.slice(x, [1, 0], [2, 3])).toThrow(
      /slice: begin \[1,0\] size \[2,3\] is out of bounds for shape \[2,3\] at axis 0/,
    );
    expect(() => keel.slice(x, [0, -1])).toThrow(/slice: begin \[0,-1\] .* at axis 1/);
    expect(() => keel.slice(x, [0, 0], [1, 1.5])).toThrow(/slice: .* at axis 1/);
    expect(() => keel.slice(x, [0, 0, 0])).toThrow(/slice: begin\/size must have rank 2/);
    expect(() => keel.slice(keel.scalar(1), 0)).toThrow(/slice: begin\/size must have rank 0/);
    expect(() => keel.slice(x, [0, 0], [1, -2])).toThrow(/slice: .* out of bounds/);
    expect(() => keel.pad(x, [[1, 1]])).toThrow(
      /pad: paddings must have one \[before, after\] per axis \(2\), got 1/,
    );
    expect(() =>
      keel.pad(x, [
        [1, 1],
        [-1, 0],
      ]),
    ).toThrow(/pad: paddings must be non-negative integers/);
    expect(() =>
      keel.pad(x, [
        [1, 1],
        [0.5, 0],
      ]),
    ).toThrow(/pad: paddings must be non-negative integers/);
  });
  it('concat, stack, unstack, tile', () => {
    expect(() => keel.concat([])).toThrow(/concat: needs a non-empty list of tensors/);
    expect(() => keel.concat([x, keel.ones([2, 4])], 0)).toThrow(
      /concat: tensors\[1\] has shape \[2,4\], incompatible with \[2,3\] on axes other than 0/,
    );
    expect(() => keel.concat([x, keel.ones([6])])).toThrow(/concat: tensors\[1\] has shape \[6\]/);
    expect(() => keel.concat([x, x], 2)).toThrow(/concat: axis 2 is out of range for a tensor of rank 2/);
    expect(() => keel.concat([x, keel.ones([2, 3], 'float16')])).toThrow(
      /concat: tensors\[1\] is float16 but tensors\[0\] is float32/,
    );
    expect(() => keel.concat([keel.scalar(1), keel.scalar(2)])).toThrow(
      /concat: axis 0 is out of range for a tensor of rank 0/,
    );
    expect(() => keel.stack([])).toThrow(/stack: needs a non-empty list/);
    expect(() => keel.stack([x, keel.ones([3, 2])])).toThrow(
      /stack: tensors\[1\] has shape \[3,2\], tensors\[0\] has \[2,3\]/,
    );
    expect(() => keel.stack([x, keel.ones([2, 3], 'bfloat16')])).toThrow(
      /stack: tensors\[1\] is bfloat16 but tensors\[0\] is float32/,
    );
    expect(() => keel.stack([x, x], 3)).toThrow(/stack: axis 3 is out of range for a tensor of rank 3/);
    expect(() => keel.unstack(x, 2)).toThrow(/unstack: axis 2 is out of range/);
    expect(() => keel.tile(x, [2])).toThrow(/tile: reps must have 2 non-negative integers, got \[2\]/);
    expect(() => keel.tile(x, [1, -1])).toThrow(/tile: reps must have 2 non-negative integers/);
    expect(() => keel.tile(x, [1, 1.5])).toThrow(/tile: reps must have 2 non-negative integers/);
  });
  it('gather', () => {
    expect(() => keel.gather(x, keel.tensor([0.5]))).toThrow(
      /gather: argument 'indices' must be int32, got float32/,
    );
    expect(() => keel.gather(x, [0.5])).toThrow(/gather: argument 'indices' must be int32, got float32/);
    expect(() => keel.gather(x, [0], 2)).toThrow(/gather: axis 2 is out of range/);
    expect(() => keel.gather(x, [2])).toThrow(
      /gather: index 2 at position 0 is out of range \[0, 2\) on axis 0/,
    );
    expect(() => keel.gather(x, [0, -1], 1)).toThrow(
      /gather: index -1 at position 1 is out of range \[0, 3\) on axis 1/,
    );
  });
});

describe('memory', () => {
  it('layout ops free their intermediates and converted arrays', () => {
    const x = keel.tensor([[1, -2, 3]]);
    const cases: [string, () => unknown][] = [
      ['tile', () => keel.tile(x, [2, 2])],
      ['stack', () => keel.stack([x, x, [[4, 5, 6]]])],
      ['unstack', () => keel.unstack(x, 1)],
      ['oneHot', () => keel.oneHot([1, 0], 3, 2.5, 1)],
      ['broadcastTo', () => keel.broadcastTo(x, [2, 2, 3])],
      ['gather array', () => keel.gather([1, 2, 3], [2, 0])],
      ['concat arrays', () => keel.concat([[1], [2, 3]])],
      ['failing concat', () => keel.concat([x, [1]])],
    ];
    for (const [name, f] of cases) expect(leaked(f), name).toBe(0);
  });
});
