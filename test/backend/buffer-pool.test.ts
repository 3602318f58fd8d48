// The CPU backend's pool of freed buffers: kernels that take a recycled (dirty) array must write
// every element of it. Each kernel runs twice on the same inputs: once with the pool empty, once
// after freed arrays of its output size, filled with NaN, were put in the pool; the results must be
// identical. Arrays handed out by dataSync must never be recycled.

import { afterEach, describe, expect, it } from 'vitest';
import type { CpuBackend } from '../../src/backend/cpu/backend-cpu.js';
import { BufferPool } from '../../src/backend/cpu/buffer-pool.js';
import * as keel from '../../src/index.js';
import { ENGINE } from '../../src/tensor/engine.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const cpu = () => ENGINE.backend as unknown as CpuBackend;

/** Puts freed NaN-filled arrays of `t`'s size and dtype in the pool (a few of them). */
function poison(shape: number[], dtype: keel.DataType): void {
  for (let i = 0; i < 3; i++) keel.fill(shape, Number.NaN, dtype).dispose();
}

function expectSameTwice(name: string, f: () => Tensor): void {
  cpu().releasePool();
  const clean = keel.tidy(f);
  const want = Array.from(clean.dataSync());
  poison(clean.shape, clean.dtype);
  const dirty = keel.tidy(f);
  expect(Array.from(dirty.dataSync()), name).toEqual(want);
  keel.dispose([clean, dirty]);
}

afterEach(() => cpu().releasePool());

describe('recycled output buffers', () => {
  it('are overwritten entirely by every kernel that takes them', () => {
    for (const dtype of ['float32', 'bfloat16'] as const) {
      const x = keel.randomNormal([8, 32, 32, 16], 0, 1, 'float32', 1).cast(dtype);
      const w = keel.randomNormal([3, 3, 16, 16], 0, 0.2, 'float32', 2).cast(dtype);
      const m = keel.randomNormal([256, 128], 0, 1, 'float32', 3).cast(dtype);
      const bias = keel.randomNormal([16], 0, 1, 'float32', 4).cast(dtype);
      const cases: [string, () => Tensor][] = [
        ['matMul', () => keel.matMul(m, m, true, false)],
        ['conv2d', () => keel.conv2d(x, w, 1, 'same')],
        ['conv2d grads', () => keel.grads((a, b) => keel.conv2d(a, b, 1, 'same').sum())([x, w])[0]],
        ['conv2d filter grad', () => keel.grads((a, b) => keel.conv2d(a, b, 2, 'same').sum())([x, w])[1]],
        ['maxPool', () => keel.maxPool(x, 2, 1, 'same')],
        ['maxPool grad', () => keel.grad((a) => keel.maxPool(a, 3, 2, 'same').sum())(x)],
        ['avgPool', () => keel.avgPool(x, 2, 1, 'same')],
        ['avgPool grad', () => keel.grad((a) => keel.avgPool(a, 2, 1, 'same').sum())(x)],
        ['transpose', () => keel.transpose(x, [0, 3, 1, 2])],
        ['broadcastTo', () => keel.broadcastTo(bias, [8, 32, 32, 16])],
        ['slice', () => keel.slice(x, [1, 0, 0, 0], [6, 32, 32, 16])],
        ['concat', () => keel.concat([x, x], 3)],
        [
          'pad',
          () =>
            keel.pad(x, [
              [0, 0],
              [1, 1],
              [1, 1],
              [0, 0],
            ]),
        ],
        ['fused add+relu (eager)', () => keel.relu(keel.add(x, bias))],
        ['sum over N, H, W', () => keel.sum(x.reshape([8 * 32 * 32 * 4, 4]), 0)],
        ['cast', () => keel.cast(x, dtype === 'float32' ? 'bfloat16' : 'float32')],
        ['jit step', () => keel.jit((a: Tensor) => keel.relu(keel.add(keel.mul(a, 2), bias)).sum([1, 2]))(x)],
      ];
      for (const [name, f] of cases) expectSameTwice(`${name} ${dtype}`, f);
      keel.dispose([x, w, m, bias]);
    }
  });

  it('never include an array that dataSync handed out', () => {
    const t = keel.fill([64, 1024], 7);
    const seen = t.dataSync();
    t.dispose();
    // allocations of that size now come from elsewhere: the caller's array keeps its values
    const others = Array.from({ length: 3 }, () => keel.fill([64, 1024], 1));
    expect(seen.every((v) => v === 7)).toBe(true);
    keel.dispose(others);
  });
});

describe('BufferPool', () => {
  it('hands back buffers of the exact size, ignores small ones, and drops the oldest past its bound', () => {
    const pool = new BufferPool(16, 100);
    const a = new ArrayBuffer(40);
    const b = new ArrayBuffer(40);
    const c = new ArrayBuffer(32);
    pool.put(new ArrayBuffer(8)); // under minBytes: not kept
    pool.put(a);
    pool.put(b);
    expect(pool.bytes).toBe(80);
    expect(pool.take(8)).toBeUndefined();
    expect(pool.take(32)).toBeUndefined();
    pool.put(c); // 112 > 100: the oldest (a) goes
    expect(pool.bytes).toBe(72);
    expect(pool.take(40)).toBe(b);
    expect(pool.take(40)).toBeUndefined();
    expect(pool.take(32)).toBe(c);
    expect(pool.bytes).toBe(0);
    pool.put(new ArrayBuffer(101)); // larger than the whole pool: not kept
    expect(pool.bytes).toBe(0);
  });
});
