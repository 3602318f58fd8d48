// The sources of datasets: data.array, data.generator and data.zip.

import { Dataset, type ElementOf } from './dataset.js';
import { cloneElement, disposeElement } from './element.js';

/** A dataset of the array's items (Tensors inside are yielded as new handles, so consumers may dispose them). */
export function array<T>(items: T[]): Dataset<T> {
  if (!Array.isArray(items)) throw new Error(`data.array: expected an array, got ${typeof items}`);
  return new Dataset<T>(async function* () {
    for (const x of items) yield cloneElement(x);
  }, items.length);
}

type Source<T> = Iterator<T> | AsyncIterator<T> | Iterable<T> | AsyncIterable<T>;

/** A dataset from a generator function, called anew for each pass (sync or async generators, or iterators). */
export function generator<T>(fn: () => Source<T>): Dataset<T> {
  if (typeof fn !== 'function')
    throw new Error('data.generator: expected a function that returns an iterator');
  return new Dataset<T>(async function* () {
    const g = fn() as Source<T> & Partial<Iterator<T>>;
    if (g && typeof (g as AsyncIterable<T>)[Symbol.asyncIterator] === 'function')
      yield* g as AsyncIterable<T>;
    else if (g && typeof (g as Iterable<T>)[Symbol.iterator] === 'function') yield* g as Iterable<T>;
    else if (g && typeof g.next === 'function') {
      const it = g as AsyncIterator<T>;
      try {
        for (;;) {
          const r = await it.next();
          if (r.done) return;
          yield r.value;
        }
      } finally {
        await it.return?.();
      }
    } else throw new Error('data.generator: the function must return an iterator or an iterable');
  });
}

/** Zips datasets into a dataset of arrays (or objects) of their elements; it ends with the shortest. */
export function zip<T extends Dataset<unknown>[] | Record<string, Dataset<unknown>>>(
  datasets: T,
): Dataset<{ [K in keyof T]: ElementOf<T[K]> }> {
  const isArr = Array.isArray(datasets);
  if (!datasets || typeof datasets !== 'object')
    throw new Error('data.zip: expected an array or object of datasets');
  const keys = Object.keys(datasets);
  const list = Object.values(datasets) as Dataset<unknown>[];
  if (list.length === 0) throw new Error('data.zip: needs at least one dataset');
  list.forEach((d, i) => {
    if (!(d instanceof Dataset))
      throw new Error(`data.zip: ${isArr ? `item ${i}` : `'${keys[i]}'`} is not a Dataset`);
  });
  const sizes = list.map((d) => d.size);
  const size = sizes.some((s) => s === null) ? null : Math.min(...(sizes as number[]));
  return new Dataset(async function* () {
    const its = list.map((d) => d[Symbol.asyncIterator]());
    try {
      for (;;) {
        const rs = await Promise.all(its.map((i) => i.next()));
        if (rs.some((r) => r.done)) {
          for (const r of rs) if (!r.done) disposeElement(r.value);
          return;
        }
        const vals = rs.map((r) => r.value);
        yield (isArr ? vals : Object.fromEntries(keys.map((k, i) => [k, vals[i]]))) as {
          [K in keyof T]: ElementOf<T[K]>;
        };
      }
    } finally {
      await Promise.all(its.map((i) => i.return?.()));
    }
  }, size);
}
