// Tensor creation and reading: shapes, dtypes, values, random seeds, and bad inputs.

import { describe, expect, it } from 'vitest';
import * as keel from '../../src/index.js';

describe('creating tensors', () => {
  it('infers shape and dtype from nested arrays', () => {
    const t = keel.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.size).toBe(6);
    expect(t.arraySync()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(keel.tensor([true, false]).dtype).toBe('bool');
    expect(keel.tensor(new Int32Array([1, 2])).dtype).toBe('int32');
    expect(keel.scalar(3).shape).toEqual([]);
  });

  it('takes a flat array with a shape, and a single value fills the shape', () => {
    expect(keel.tensor([1, 2, 3, 4], [2, 2]).arraySync()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(Array.from(keel.tensor([5], [3]).dataSync())).toEqual([5, 5, 5]);
  });

  it('stores float16/bfloat16 rounded to nearest even and reads them back exactly as float32', async () => {
    const h = keel.tensor([1 + 2 ** -11, 65520, 1e-8, 0.1], [4], 'float16');
    expect(h.dtype).toBe('float16');
    const v = await h.data();
    expect(v).toBeInstanceOf(Float32Array);
    expect(Array.from(v)).toEqual([1, Number.POSITIVE_INFINITY, 0, Math.fround(0.0999755859375)]);
    const b = keel.tensor([1 + 2 ** -8, 3.0e38], [2], 'bfloat16');
    expect(Array.from(b.dataSync())).toEqual([1, 3.00405527047391e38]);
  });

  it('tensor1d..4d check ranks; zeros/ones/fill/zerosLike/onesLike', () => {
    expect(keel.tensor2d([[1]]).rank).toBe(2);
    expect(() => keel.tensor2d([1, 2])).toThrow(/tensor2d: values must have rank 2/);
    expect(keel.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]).shape).toEqual([1, 2, 2, 1]);
    expect(Array.from(keel.fill([2], 7, 'int32').dataSync())).toEqual([7, 7]);
    expect(keel.onesLike(keel.zeros([2], 'bfloat16')).dtype).toBe('bfloat16');
    expect(Array.from(keel.zerosLike(keel.ones([3])).dataSync())).toEqual([0, 0, 0]);
  });

  it('random ops are deterministic for a seed and have the right moments', () => {
    const a = keel.randomNormal([10000], 2, 3, 'float32', 42).dataSync();
    const b = keel.randomNormal([10000], 2, 3, 'float32', 42).dataSync();
    expect(a).toEqual(b);
    const mean = Array.from(a).reduce((s: number, x: number) => s + x, 0) / a.length;
    const sd = Math.sqrt(Array.from(a).reduce((s: number, x: number) => s + (x - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean - 2)).toBeLessThan(0.1);
    expect(Math.abs(sd - 3)).toBeLessThan(0.1);
    const u = keel.randomUniform([10000], -1, 1, 'float16', 7).dataSync();
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...u)).toBeLessThanOrEqual(1);
    expect(keel.randomNormal([4], 0, 1, 'float32', 1).dataSync()).not.toEqual(
      keel.randomNormal([4], 0, 1, 'float32', 2).dataSync(),
    );
  });

  it('rejects bad inputs with messages naming the problem', () => {
    expect(() => keel.tensor([[1, 2], [3]])).toThrow(/not rectangular/);
    expect(() => keel.tensor([1, 2, 3], [2, 2])).toThrow(/shape \[2,2\] needs 4 values, got 3/);
    expect(() => keel.tensor([1], [2], 'float64' as never)).toThrow(/unknown dtype 'float64'/);
    expect(() => keel.zeros([2, -1])).toThrow(/non-negative integers/);
    expect(() => keel.tensor(['a'] as never)).toThrow(/non-numeric element/);
    expect(() => keel.randomNormal([2], 0, -1)).toThrow(/stdDev/);
  });

  it('variables: names, trainable flag, unique names, dtype', () => {
    const v = keel.variable(keel.ones([2]), false, 'tensor_test_v');
    expect(v.name).toBe('tensor_test_v');
    expect(v.trainable).toBe(false);
    expect(() => keel.variable(keel.ones([2]), true, 'tensor_test_v')).toThrow(/already exists/);
    v.dispose();
    const w = keel.variable(keel.ones([2]), true, 'tensor_test_v');
    expect(w.dtype).toBe('float32');
    w.dispose();
  });
});

describe('backends', () => {
  it("say what is missing: 'cuda' is not built yet, unknown names list the available ones", async () => {
    await expect(keel.setBackend('cuda')).rejects.toThrow(/no CUDA backend yet/);
    await expect(keel.setBackend('tpu')).rejects.toThrow(/unknown backend 'tpu'; available: cpu, cuda/);
    expect(keel.getBackend()).toBe('cpu');
  });
});

describe('setRandomSeed', () => {
  const draw = () => {
    const a = keel.randomNormal([64]).dataSync();
    const model = keel.sequential({ layers: [keel.layers.dense({ units: 4, inputShape: [3] })] });
    const w = model.getWeights()[0].dataSync();
    model.dispose();
    return [...a, ...w];
  };

  it('makes unseeded random ops and initializers repeat, and null makes them unpredictable again', () => {
    try {
      keel.setRandomSeed(42);
      const first = draw();
      keel.setRandomSeed(42);
      expect(draw()).toEqual(first);
      keel.setRandomSeed(43);
      expect(draw()).not.toEqual(first);
      keel.setRandomSeed(null);
      expect(draw()).not.toEqual(draw());
      // an explicit seed is unaffected by the global one
      keel.setRandomSeed(7);
      const s = keel.randomUniform([8], 0, 1, 'float32', 5).dataSync();
      keel.setRandomSeed(8);
      expect(keel.randomUniform([8], 0, 1, 'float32', 5).dataSync()).toEqual(s);
    } finally {
      keel.setRandomSeed(null);
    }
  });

  it('rejects a seed that is not a finite number', () => {
    expect(() => keel.setRandomSeed(Number.NaN)).toThrow(
      /setRandomSeed: expected a finite number or null, got NaN/,
    );
  });
});
