// Tensor lifetime: tidy, dispose, keep, memory() accounting, and no leaks over a training loop.

import { describe, expect, it } from 'vitest';
import * as keel from '../../src/index.js';

describe('memory accounting', () => {
  it('counts bytes per dtype: 4 for float32/int32, 2 for float16/bfloat16, 1 for bool', () => {
    const before = keel.memory();
    const ts = [
      keel.zeros([10, 10], 'float32'),
      keel.zeros([10, 10], 'float16'),
      keel.zeros([10, 10], 'bfloat16'),
      keel.zeros([10, 10], 'int32'),
      keel.zeros([10, 10], 'bool'),
    ];
    const after = keel.memory();
    expect(after.numTensors - before.numTensors).toBe(5);
    expect(after.numBytes - before.numBytes).toBe(400 + 200 + 200 + 400 + 100);
    keel.dispose(ts);
    expect(keel.memory().numBytes).toBe(before.numBytes);
    expect(keel.memory().numTensors).toBe(before.numTensors);
  });

  it('reshape shares the buffer: bytes are counted once and freed with the last view', () => {
    const base = keel.memory().numBytes;
    const a = keel.ones([4, 4]);
    const b = a.reshape([16]);
    expect(keel.memory().numBytes - base).toBe(64);
    a.dispose();
    expect(b.dataSync()).toEqual(new Float32Array(16).fill(1));
    b.dispose();
    expect(keel.memory().numBytes).toBe(base);
  });

  it('peakBytes records the high-water mark and resetPeakMemory lowers it to current use', () => {
    keel.resetPeakMemory();
    const base = keel.memory().numBytes;
    const big = keel.zeros([1000, 100]);
    big.dispose();
    expect(keel.memory().peakBytes).toBeGreaterThanOrEqual(base + 400_000);
    keel.resetPeakMemory();
    expect(keel.memory().peakBytes).toBe(keel.memory().numBytes);
  });
});

describe('tidy, keep, dispose', () => {
  it('tidy disposes intermediates and keeps returned tensors (nested containers too)', () => {
    const before = keel.memory().numTensors;
    const out = keel.tidy(() => {
      const a = keel.ones([3]);
      const b = a.add(1).mul(2);
      return { b, list: [a.sum()] };
    });
    expect(keel.memory().numTensors - before).toBe(2);
    expect(Array.from(out.b.dataSync())).toEqual([4, 4, 4]);
    keel.dispose(out);
    expect(keel.memory().numTensors).toBe(before);
  });

  it('keep() survives the scope; nested tidy moves results to the parent', () => {
    const before = keel.memory().numTensors;
    let kept: keel.Tensor | null = null;
    const r = keel.tidy(() => {
      const inner = keel.tidy(() => keel.scalar(2).square());
      kept = keel.keep(keel.scalar(7));
      keel.scalar(9); // garbage
      return inner;
    });
    expect(r.dataSync()[0]).toBe(4);
    expect(kept!.dataSync()[0]).toBe(7);
    expect(keel.memory().numTensors - before).toBe(2);
    keel.dispose([r, kept!]);
  });

  it('tidy disposes everything when fn throws, and refuses async functions', () => {
    const before = keel.memory().numTensors;
    expect(() =>
      keel.tidy(() => {
        keel.ones([5]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(keel.memory().numTensors).toBe(before);
    expect(() => keel.tidy((async () => keel.ones([1])) as never)).toThrow(/synchronous/);
  });

  it('using a disposed tensor is an error naming the op', () => {
    const a = keel.ones([2]);
    a.dispose();
    expect(a.isDisposed).toBe(true);
    expect(() => keel.add(a, 1)).toThrow(/add: .*disposed/);
    expect(() => a.dataSync()).toThrow(/disposed/);
  });

  it('variables are not disposed by tidy; assign swaps buffers without leaking', () => {
    const v = keel.variable(
      keel.tidy(() => keel.zeros([8])),
      true,
      'memtest_v',
    );
    const before = keel.memory();
    for (let i = 0; i < 10; i++) keel.tidy(() => v.assign(v.add(1)));
    expect(keel.memory().numTensors).toBe(before.numTensors);
    expect(keel.memory().numBytes).toBe(before.numBytes);
    expect(v.dataSync()[0]).toBe(10);
    expect(() => v.assign(keel.zeros([3]))).toThrow(/memtest_v.*\[3\].*\[8\]/);
    expect(() => v.assign(keel.zeros([8], 'float16'))).toThrow(/float16.*float32/);
    v.dispose();
  });
});

describe('a training loop does not leak', () => {
  it('100 Adam steps inside tidy end with the numTensors and numBytes they started with', () => {
    const w = keel.variable(keel.randomNormal([6, 3], 0, 0.1, 'float32', 1), true, 'leak_w');
    const b = keel.variable(keel.zeros([3]), true, 'leak_b');
    const x = keel.randomNormal([16, 6], 0, 1, 'float32', 2);
    const y = keel.oneHot(
      keel.tensor1d(
        Array.from({ length: 16 }, (_, i) => i % 3),
        'int32',
      ),
      3,
    );
    const opt = keel.train.adam(0.05);
    const loss = () => keel.losses.softmaxCrossEntropy(y, keel.matMul(x, w).add(b));
    // the first step creates Adam's slots; count from after it
    keel.tidy(() => opt.minimize(loss, false, [w, b]));
    const start = keel.memory();
    let first = 0;
    let last = 0;
    for (let i = 0; i < 100; i++) {
      const l = keel.tidy(() => opt.minimize(loss, true, [w, b])!.dataSync()[0]);
      if (i === 0) first = l;
      last = l;
    }
    const end = keel.memory();
    expect(end.numTensors).toBe(start.numTensors);
    expect(end.numBytes).toBe(start.numBytes);
    expect(last).toBeLessThan(first * 0.5);
    keel.dispose([w, b, x, y]);
    opt.dispose();
  });
});
