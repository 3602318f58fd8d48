// Dataset semantics: order, shuffle determinism, batch remainders and dtypes, repeat/take/skip, prefetch, cache,
// zip, generator, parallel map (main thread and worker threads) keeping order, and tensor ownership.

import { afterAll, describe, expect, it } from 'vitest';
import * as keel from '../../src/index.js';
import { data } from '../../src/index.js';

const { array, generator, zip, HostTensor } = data;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const values = async (ds: AsyncIterable<keel.Tensor>) => {
  const out: number[][] = [];
  for await (const t of ds) {
    out.push(Array.from(t.dataSync()));
    t.dispose();
  }
  return out;
};

afterAll(async () => {
  await data.terminateWorkers();
});

describe('Dataset basics', () => {
  it('array yields items in order, every pass', async () => {
    const ds = array([1, 2, 3]);
    expect(ds.size).toBe(3);
    expect(await ds.toArray()).toEqual([1, 2, 3]);
    expect(await ds.toArray()).toEqual([1, 2, 3]);
  });

  it('map, filter, take, skip, repeat, concatenate and their sizes', async () => {
    const ds = array(range(10));
    expect(await ds.map((x) => x * 2).toArray()).toEqual(range(10).map((x) => x * 2));
    expect(await ds.filter((x) => x % 3 === 0).toArray()).toEqual([0, 3, 6, 9]);
    expect(await ds.take(3).toArray()).toEqual([0, 1, 2]);
    expect(ds.take(3).size).toBe(3);
    expect(await ds.take(0).toArray()).toEqual([]);
    expect(await ds.skip(8).toArray()).toEqual([8, 9]);
    expect(ds.skip(20).size).toBe(0);
    expect(await ds.skip(3).take(2).toArray()).toEqual([3, 4]);
    expect(await array([1, 2]).repeat(3).toArray()).toEqual([1, 2, 1, 2, 1, 2]);
    expect(array([1, 2]).repeat(3).size).toBe(6);
    expect(array([1, 2]).repeat().size).toBe(Infinity);
    expect(await array([1, 2]).repeat().take(5).toArray()).toEqual([1, 2, 1, 2, 1]);
    expect(await array([]).repeat().toArray()).toEqual([]);
    expect(
      await array([1])
        .concatenate(array([2, 3]))
        .toArray(),
    ).toEqual([1, 2, 3]);
    await expect(array([1]).repeat().toArray()).rejects.toThrow(/endless/);
  });

  it('mapAsync and async map functions', async () => {
    const ds = array(range(5)).mapAsync(async (x) => {
      await new Promise((r) => setTimeout(r, 5 - x));
      return x + 1;
    });
    expect(await ds.toArray()).toEqual([1, 2, 3, 4, 5]);
    expect(
      await array([1, 2])
        .map(async (x) => x * 3)
        .toArray(),
    ).toEqual([3, 6]);
  });

  it('parallel map keeps the input order and runs calls concurrently', async () => {
    let inFlight = 0;
    let peak = 0;
    const ds = array(range(20)).map(
      async (x) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, (x * 7) % 5));
        inFlight--;
        return x * x;
      },
      { parallel: 4 },
    );
    expect(await ds.toArray()).toEqual(range(20).map((x) => x * x));
    expect(peak).toBe(4);
  });

  it('errors in map reach the consumer at the element that failed', async () => {
    const ds = array(range(6)).map(
      async (x) => {
        if (x === 3) throw new Error('bad element 3');
        return x;
      },
      { parallel: 3 },
    );
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const x of ds) seen.push(x);
      })(),
    ).rejects.toThrow('bad element 3');
    expect(seen).toEqual([0, 1, 2]);
  });

  it('generator: called anew per pass; sync, async and plain iterators', async () => {
    let calls = 0;
    const ds = generator(function* () {
      calls++;
      yield* [1, 2, 3];
    });
    expect(ds.size).toBe(null);
    expect(await ds.toArray()).toEqual([1, 2, 3]);
    expect(await ds.toArray()).toEqual([1, 2, 3]);
    expect(calls).toBe(2);
    const asyncDs = generator(async function* () {
      yield 'a';
      yield 'b';
    });
    expect(await asyncDs.toArray()).toEqual(['a', 'b']);
    let i = 0;
    const plain = generator(() => ({
      next: () => (i < 2 ? { value: i++, done: false } : { value: undefined, done: true }),
    }));
    expect(await plain.toArray()).toEqual([0, 1]);
    await expect(generator(() => 5 as never).toArray()).rejects.toThrow(/iterator/);
  });

  it('early stop closes the upstream generator', async () => {
    let closed = false;
    const ds = generator(function* () {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    });
    expect(
      await ds
        .map((x) => x + 1)
        .prefetch(2)
        .take(3)
        .toArray(),
    ).toEqual([1, 2, 3]);
    expect(closed).toBe(true);
  });

  it('zip: arrays and objects of datasets, ends with the shortest', async () => {
    expect(await zip([array([1, 2, 3]), array(['a', 'b'])]).toArray()).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    const z = zip({ x: array([1, 2]), y: array([3, 4]) });
    expect(z.size).toBe(2);
    expect(await z.toArray()).toEqual([
      { x: 1, y: 3 },
      { x: 2, y: 4 },
    ]);
    expect(() => zip([array([1]), [1] as never])).toThrow(/not a Dataset/);
  });

  it('bad arguments are errors naming the operator', () => {
    const ds = array([1]);
    expect(() => ds.batch(0)).toThrow(/batch: batchSize must be a positive integer/);
    expect(() => ds.shuffle(0)).toThrow(/shuffle: bufferSize/);
    expect(() => ds.take(-1)).toThrow(/take: count/);
    expect(() => ds.skip(1.5)).toThrow(/skip: count/);
    expect(() => ds.prefetch(0)).toThrow(/prefetch/);
    expect(() => ds.repeat(-2)).toThrow(/repeat/);
    expect(() => ds.map(5 as never)).toThrow(/map: expected a function/);
    expect(() => ds.map((x) => x, { parallel: 0 })).toThrow(/parallel/);
    expect(() => ds.batch(2, { dropRemainder: true, smallLastBatch: true })).toThrow(/contradict/);
    expect(() => array(5 as never)).toThrow(/expected an array/);
  });
});

describe('shuffle', () => {
  const pass = (ds: data.Dataset<number>) => ds.toArray();

  it('is a permutation, the same for the same seed, different per pass and per seed', async () => {
    const a = array(range(50)).shuffle(50, 7);
    const b = array(range(50)).shuffle(50, 7);
    const a1 = await pass(a);
    const a2 = await pass(a);
    expect([...a1].sort((x, y) => x - y)).toEqual(range(50));
    expect(a1).not.toEqual(range(50));
    expect(a1).toEqual(await pass(b));
    expect(a2).toEqual(await pass(b));
    expect(a2).not.toEqual(a1);
    expect(await pass(array(range(50)).shuffle(50, 8))).not.toEqual(a1);
    const fixed = array(range(50)).shuffle(50, 7, false);
    expect(await pass(fixed)).toEqual(await pass(fixed));
    expect(await pass(array(range(20)).shuffle(20, 'seed'))).toEqual(
      await pass(array(range(20)).shuffle(20, 'seed')),
    );
  });

  it('a small buffer only moves elements locally', async () => {
    const out = await pass(array(range(100)).shuffle(4, 1));
    expect([...out].sort((x, y) => x - y)).toEqual(range(100));
    // with a buffer of 4, element i cannot come out before position i - 3
    for (const [pos, v] of out.entries()) expect(v).toBeLessThanOrEqual(pos + 3);
  });

  it('repeat after shuffle reshuffles each repetition deterministically', async () => {
    const ds = array(range(10)).shuffle(10, 3).repeat(2);
    const out = await ds.toArray();
    expect(out.slice(0, 10)).not.toEqual(out.slice(10));
    expect(await array(range(10)).shuffle(10, 3).repeat(2).toArray()).toEqual(out);
  });
});

describe('batch', () => {
  it('remainders: kept by default, dropped with dropRemainder (tfjs smallLastBatch too)', async () => {
    const ds = array(range(10));
    expect(ds.batch(4).size).toBe(3);
    expect(await values(ds.batch(4))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(ds.batch(4, true).size).toBe(2);
    expect(await values(ds.batch(4, true))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect((await values(ds.batch(4, { smallLastBatch: false }))).length).toBe(2);
    expect((await values(ds.batch(5, true))).length).toBe(2);
  });

  it('stacks { xs, ys } fields, tuples and nested arrays; numbers become float32', async () => {
    const els = range(5).map((i) => ({ xs: [i, i + 0.5], ys: i % 2 }));
    const [b] = (await array(els).batch(5).toArray()) as { xs: keel.Tensor; ys: keel.Tensor }[];
    expect(b.xs.shape).toEqual([5, 2]);
    expect(b.xs.dtype).toBe('float32');
    expect(Array.from(b.ys.dataSync())).toEqual([0, 1, 0, 1, 0]);
    keel.dispose(b);
    const [t] = (await array([
      [1, [1, 2]],
      [2, [3, 4]],
    ])
      .batch(2)
      .toArray()) as [keel.Tensor, keel.Tensor][];
    expect(t[0].shape).toEqual([2]);
    expect(t[1].shape).toEqual([2, 2]);
    keel.dispose(t);
  });

  it('batches come out in the dtype asked for (float fields only)', async () => {
    const els = range(4).map((i) => ({
      xs: HostTensor.from([i / 3, 1], [2]),
      ys: new HostTensor(Int32Array.of(i), [], 'int32'),
    }));
    for (const dtype of ['float16', 'bfloat16', 'float32'] as const) {
      const [b] = (await array(els).batch(4, { dtype }).toArray()) as { xs: keel.Tensor; ys: keel.Tensor }[];
      expect(b.xs.dtype).toBe(dtype);
      expect(b.xs.shape).toEqual([4, 2]);
      expect(b.ys.dtype).toBe('int32');
      const want = keel.tensor(
        range(4).flatMap((i) => [i / 3, 1]),
        [4, 2],
        dtype,
      );
      expect(Array.from(b.xs.dataSync())).toEqual(Array.from(want.dataSync()));
      keel.dispose([b, want]);
    }
    const [c] = (await array(els)
      .batch(2, { dtype: { xs: 'float16' } })
      .toArray()) as { xs: keel.Tensor; ys: keel.Tensor }[];
    expect(c.xs.dtype).toBe('float16');
    keel.dispose(c);
  });

  it('stacks Tensors and disposes the inputs', async () => {
    const before = keel.memory().numTensors;
    const ds = array([0, 1, 2])
      .map((i) => keel.fill([2, 2], i))
      .batch(3, { dtype: 'float16' });
    const [b] = (await ds.toArray()) as keel.Tensor[];
    expect(b.shape).toEqual([3, 2, 2]);
    expect(b.dtype).toBe('float16');
    b.dispose();
    expect(keel.memory().numTensors).toBe(before);
  });

  it('mismatched shapes and unbatchable values are clear errors', async () => {
    await expect(
      array([[1, 2], [3]])
        .batch(2)
        .toArray(),
    ).rejects.toThrow(/element 1 .*shape \[1\].*\[2\]/);
    await expect(
      array([{ a: 'x' }])
        .batch(1)
        .toArray(),
    ).rejects.toThrow(/field 'a' is string/);
    await expect(
      array([{ a: 1 }, { b: 1 }])
        .batch(2)
        .toArray(),
    ).rejects.toThrow(/element 1 has no field 'a'/);
  });
});

describe('prefetch and cache', () => {
  it('prefetch pulls ahead in the background and keeps order', async () => {
    let pulled = 0;
    const ds = generator(function* () {
      for (let i = 0; i < 10; i++) {
        pulled++;
        yield i;
      }
    }).prefetch(3);
    const it = ds[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(0);
    await new Promise((r) => setTimeout(r, 10));
    expect(pulled).toBeGreaterThanOrEqual(4); // the one taken + 3 buffered
    expect(pulled).toBeLessThanOrEqual(5);
    const rest: number[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
    expect(rest).toEqual(range(10).slice(1));
  });

  it('prefetch passes errors through', async () => {
    const ds = generator(function* () {
      yield 1;
      throw new Error('generator broke');
    }).prefetch(2);
    await expect(ds.toArray()).rejects.toThrow('generator broke');
  });

  it('cache replays the first complete pass', async () => {
    let calls = 0;
    const ds = array(range(4))
      .map((x) => {
        calls++;
        return x * 10;
      })
      .cache();
    expect(await ds.take(2).toArray()).toEqual([0, 10]); // incomplete: not cached
    expect(await ds.toArray()).toEqual([0, 10, 20, 30]);
    const n = calls;
    expect(await ds.toArray()).toEqual([0, 10, 20, 30]);
    expect(calls).toBe(n);
  });

  it('cached and array Tensors can be disposed by each consumer', async () => {
    const t = keel.tensor([1, 2, 3]);
    const ds = array([t]).cache();
    for (let pass = 0; pass < 3; pass++) {
      const [x] = await ds.toArray();
      expect(Array.from(x.dataSync())).toEqual([1, 2, 3]);
      x.dispose();
    }
    expect(t.isDisposed).toBe(false);
    t.dispose();
  });

  it('map disposes input tensors it does not return; tidy frees temporaries', async () => {
    const before = keel.memory().numTensors;
    const ds = array([1, 2, 3])
      .map((i) => ({ a: keel.scalar(i), b: keel.scalar(-i) }))
      .map((e) => keel.add(e.a, keel.mul(e.a, 2))); // e.b is dropped; the mul is a temporary
    const out = await ds.toArray();
    expect(out.map((t) => t.dataSync()[0])).toEqual([3, 6, 9]);
    keel.dispose(out);
    expect(keel.memory().numTensors).toBe(before);
  });

  it('fitDataset-style consumption leaves no tensors behind', async () => {
    const before = keel.memory().numTensors;
    const ds = array(range(10))
      .map((i) => ({ xs: HostTensor.from([i, i], [2]), ys: i % 2 }))
      .shuffle(10, 1)
      .batch(3)
      .prefetch(2);
    let batches = 0;
    for await (const b of ds) {
      batches++;
      keel.dispose(b);
      if (batches === 2) break;
    }
    await new Promise((r) => setTimeout(r, 10));
    expect(keel.memory().numTensors).toBe(before);
  });
});

describe('map on worker threads', () => {
  it('runs a self-contained function on workers, in order, with a context', async () => {
    const ds = array(range(12)).map(
      (x: number, ctx: unknown) => {
        let s = 0;
        for (let i = 0; i <= x; i++) s += i * (ctx as { k: number }).k;
        return { x, s, tid: 1 };
      },
      { workers: 2, context: { k: 2 } },
    );
    const out = await ds.toArray();
    expect(out.map((o) => o.x)).toEqual(range(12));
    expect(out.map((o) => o.s)).toEqual(range(12).map((x) => x * (x + 1)));
  });

  it('moves HostTensors both ways', async () => {
    const ds = array(range(3).map((i) => HostTensor.from([i, i + 1], [2], 'float16'))).map(
      (h: data.HostTensor) => ({ doubled: h, shape: h.shape, dtype: h.dtype }),
      { workers: 1 },
    );
    const out = await ds.toArray();
    expect(out[2].doubled).toBeInstanceOf(HostTensor);
    expect(Array.from(out[2].doubled.values())).toEqual([2, 3]);
    expect(out[0].dtype).toBe('float16');
  });

  it('errors from workers and bad functions are reported', async () => {
    const bad = array([1, 2]).map(
      (x: number) => {
        if (x === 2) throw new Error(`worker says no to ${x}`);
        return x;
      },
      { workers: 1 },
    );
    await expect(bad.toArray()).rejects.toThrow('worker says no to 2');
    const closure = 5;
    await expect(
      array([1])
        .map((x: number) => x + closure, { workers: 1 })
        .toArray(),
    ).rejects.toThrow(/closure is not defined/);
    const obj = {
      method(x: number) {
        return x;
      },
    };
    expect(() => array([1]).map(obj.method, { workers: 1 })).toThrow(/method shorthand/);
    await expect(
      array([keel.scalar(1)])
        .map((x) => x, { workers: 1 })
        .toArray(),
    ).rejects.toThrow(/cannot hold Tensors/);
  });

  it('runs a function exported by a module', async () => {
    const url = new URL('./fixtures/worker-fn.mjs', import.meta.url);
    const out = await array([1, 2, 3]).map({ module: url, name: 'triple' }, { workers: 2 }).toArray();
    expect(out).toEqual([3, 6, 9]);
    await expect(array([1]).map({ module: url, name: 'nope' }, { workers: 1 }).toArray()).rejects.toThrow(
      /no exported function 'nope'/,
    );
  });
});
