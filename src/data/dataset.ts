// Dataset: a lazy, async-iterable sequence of elements with tfjs-data's operators (map, batch, shuffle, prefetch,
// repeat, take, skip, cache, ...). Every iteration is a new pass; seeded operators are deterministic per pass.

import { ENGINE } from '../tensor/engine.js';
import { tidy } from '../tensor/lifetime.js';
import type { Tensor } from '../tensor/tensor.js';
import { assertNoTensors, type BatchDtype, cloneElement, disposeElement, tensorsIn } from './element.js';
import type { HostTensor } from './host.js';
import { batchIter, mapConcurrent, type Position, prefetchIter, shuffleIter } from './iterators.js';
import { mixSeed, Random, seedOf } from './random.js';
import { type FnSpec, workerPool } from './workers.js';

/** A function exported by an ES module, run on worker threads by `map(ref, { workers })`. */
export interface WorkerFunction {
  module: string | URL;
  /** the export's name; default 'default' */
  name?: string;
}

export interface MapOptions {
  /** how many calls may be in flight at once (async functions, or worker tasks); order is always kept */
  parallel?: number;
  /**
   * run the function on this many worker threads. The function must be self-contained (it is sent as source
   * text: no closures or imports; it gets `(element, context)`), or a `{ module, name }` reference.
   */
  workers?: number;
  /** plain data passed to worker functions as their second argument */
  context?: unknown;
}

export interface BatchOptions {
  /** drop a last batch smaller than the batch size (tf.data's drop_remainder); default false */
  dropRemainder?: boolean;
  /** tfjs' name for the opposite: keep a small last batch; default true */
  smallLastBatch?: boolean;
  /** the dtype of float fields (e.g. 'float16' inputs for a mixed policy), or one per top-level field */
  dtype?: BatchDtype;
}

type Factory<T> = (pass: number) => AsyncIterator<T>;

/** The type of a batch of elements of type T: each value field becomes a Tensor. */
export type Batched<T> = T extends Tensor | HostTensor | number | boolean | ArrayBufferView
  ? Tensor
  : T extends readonly (number | boolean)[] | readonly (readonly (number | boolean)[])[]
    ? Tensor
    : T extends object
      ? { [K in keyof T]: Batched<T[K]> }
      : unknown;

/** The element type of a dataset. */
export type ElementOf<D> = D extends Dataset<infer E> ? E : never;

function checkCount(n: number, what: string, where: string, allowZero = true): void {
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1))
    throw new Error(
      `${where}: ${what} must be a${allowZero ? ' non-negative' : ' positive'} integer, got ${n}`,
    );
}

const isAsyncFunction = (f: unknown) => typeof f === 'function' && f.constructor?.name === 'AsyncFunction';
let nextFnKey = 0;

/** Runs fn on x, disposing the Tensors of x that the result does not hold. */
async function applyOwned<T, U>(x: T, run: (x: T) => U | Promise<U>): Promise<U> {
  const inputs = tensorsIn(x);
  let out: U;
  try {
    out = await run(x);
  } catch (e) {
    disposeElement(x);
    throw e;
  }
  if (inputs.size > 0) {
    const kept = tensorsIn(out);
    for (const t of inputs) if (!kept.has(t) && !t.isDisposed) t.dispose();
  }
  return out;
}

/** A lazy, async-iterable sequence of elements (tfjs-data's Dataset). Each iteration is a new pass. */
export class Dataset<T = unknown> implements AsyncIterable<T> {
  /** the number of elements when known; Infinity for an endless dataset; null when unknown */
  readonly size: number | null;
  private passes = 0;
  private readonly factory: Factory<T>;

  /** @internal use data.array, data.generator, data.zip or the loaders */
  constructor(factory: Factory<T>, size: number | null = null) {
    this.factory = factory;
    this.size = size;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.factory(this.passes++);
  }

  /** tfjs: an iterator over a new pass. */
  async iterator(): Promise<AsyncIterator<T>> {
    return this[Symbol.asyncIterator]();
  }

  /** A new dataset built from this one by an iterator stage. */
  protected derive<U>(
    stage: (src: Dataset<T>, pass: number) => AsyncIterator<U>,
    size: number | null,
  ): Dataset<U> {
    return new Dataset<U>((pass) => stage(this, pass), size);
  }

  /**
   * Applies fn to each element. A synchronous fn runs inside tidy() (Tensors it creates and does not return are
   * freed); Tensors of the input that the output does not hold are disposed. With `parallel` (async functions)
   * or `workers` (worker threads), several calls run at once and the output keeps the input order.
   */
  map<U>(
    fn: ((x: T, context?: unknown) => U | Promise<U>) | WorkerFunction,
    options: MapOptions = {},
  ): Dataset<U> {
    const where = 'map';
    const { workers, parallel } = options;
    if (workers !== undefined) checkCount(workers, 'workers', where);
    if (parallel !== undefined) checkCount(parallel, 'parallel', where, false);
    if (workers) return this.mapOnWorkers<U>(fn, workers, parallel ?? 2 * workers, options.context);
    if (typeof fn !== 'function')
      throw new Error(`${where}: expected a function (a { module, name } reference needs { workers })`);
    const run = isAsyncFunction(fn)
      ? fn
      : (x: T) => {
          try {
            return tidy(() => fn(x) as U);
          } catch (e) {
            if (/must be synchronous/.test((e as Error).message))
              throw new Error(
                `${where}: the function returned a Promise; declare it async or use mapAsync()`,
              );
            throw e;
          }
        };
    return this.mapWith((x) => applyOwned(x, run), parallel ?? 1);
  }

  /** tfjs' mapAsync: fn may return a Promise (no tidy around it). */
  mapAsync<U>(fn: (x: T) => Promise<U>, options: MapOptions = {}): Dataset<U> {
    if (typeof fn !== 'function') throw new Error('mapAsync: expected a function');
    if (options.workers) return this.map(fn, options);
    if (options.parallel !== undefined) checkCount(options.parallel, 'parallel', 'mapAsync', false);
    return this.mapWith((x) => applyOwned(x, fn), options.parallel ?? 1);
  }

  /** @internal an order-keeping concurrent map that also sees each element's position (pass, index) */
  mapWith<U>(call: (x: T, pos: Position) => Promise<U>, window: number): Dataset<U> {
    return this.derive((src, pass) => mapConcurrent(src, call, window, pass), this.size);
  }

  private mapOnWorkers<U>(
    fn: ((x: T, context?: unknown) => unknown) | WorkerFunction,
    workers: number,
    window: number,
    context: unknown,
  ): Dataset<U> {
    let spec: FnSpec;
    if (typeof fn === 'function') {
      const source = fn.toString();
      if (/^(async\s+)?[A-Za-z_$][\w$]*\s*\(/.test(source) && !/^(async\s+)?function\b/.test(source))
        throw new Error(
          'map: a method shorthand cannot run on workers; pass a function expression or an arrow function',
        );
      if (/\[native code\]/.test(source))
        throw new Error('map: a native or bound function cannot run on workers');
      spec = { kind: 'source', source };
    } else if (fn && typeof fn === 'object' && 'module' in fn) {
      spec = {
        kind: 'module',
        url: String(fn.module instanceof URL ? fn.module.href : fn.module),
        name: fn.name ?? 'default',
      };
    } else throw new Error('map: expected a function or a { module, name } reference');
    return this.mapOnPool<U>(spec, workers, window, context);
  }

  /** @internal run a worker function spec on a pool */
  mapOnPool<U>(spec: FnSpec, workers: number, window: number, context?: unknown): Dataset<U> {
    const pool = workerPool(workers);
    const task = { key: `fn${nextFnKey++}`, spec, context };
    return this.mapWith(async (x) => {
      assertNoTensors(x, 'map (workers)');
      return (await pool.run(task, x)) as U;
    }, window);
  }

  /** Keeps the elements for which pred is true (Tensors of dropped elements are disposed). */
  filter(pred: (x: T) => boolean | Promise<boolean>): Dataset<T> {
    if (typeof pred !== 'function') throw new Error('filter: expected a function');
    return this.derive(async function* (src) {
      for await (const x of src) {
        let keep: boolean;
        try {
          keep = await pred(x);
        } catch (e) {
          disposeElement(x);
          throw e;
        }
        if (keep) yield x;
        else disposeElement(x);
      }
    }, null);
  }

  /**
   * Groups consecutive elements into batches: Tensors, HostTensors, numbers and arrays become Tensors with a
   * leading batch dimension; objects ({ xs, ys }) and tuples batch field by field.
   * `batch(32)`, `batch(32, true)` (drop the remainder), `batch(32, { dtype: 'float16' })`.
   */
  batch(batchSize: number, options: boolean | BatchOptions = {}): Dataset<Batched<T>> {
    checkCount(batchSize, 'batchSize', 'batch', false);
    const o = typeof options === 'boolean' ? { dropRemainder: options } : options;
    if (
      o.dropRemainder !== undefined &&
      o.smallLastBatch !== undefined &&
      o.dropRemainder === o.smallLastBatch
    )
      throw new Error('batch: dropRemainder and smallLastBatch contradict each other; give one');
    const drop = o.dropRemainder ?? (o.smallLastBatch === undefined ? false : !o.smallLastBatch);
    const n = this.size;
    const size =
      n === null || n === Infinity ? n : drop ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
    return this.derive((src) => batchIter(src, batchSize, drop, o.dtype) as AsyncIterator<Batched<T>>, size);
  }

  /**
   * Shuffles with a buffer of `bufferSize` elements (the whole dataset for a full shuffle). The order is a
   * function of the seed and the pass number: each pass differs (unless reshuffleEachIteration is false) and
   * the same seed gives the same sequence of passes.
   */
  shuffle(bufferSize: number, seed?: number | string, reshuffleEachIteration = true): Dataset<T> {
    checkCount(bufferSize, 'bufferSize', 'shuffle', false);
    const base = seedOf(seed, 'shuffle');
    return this.derive(
      (src, pass) =>
        shuffleIter(src, bufferSize, new Random(reshuffleEachIteration ? mixSeed(base, pass) : base)),
      this.size,
    );
  }

  /** Keeps up to `bufferSize` elements ready ahead of the consumer (work overlaps training). */
  prefetch(bufferSize: number): Dataset<T> {
    checkCount(bufferSize, 'bufferSize', 'prefetch', false);
    return this.derive((src) => prefetchIter(src, bufferSize), this.size);
  }

  /** Repeats the dataset `count` times (forever when omitted); each repetition is a new pass. */
  repeat(count?: number): Dataset<T> {
    if (count !== undefined) checkCount(count, 'count', 'repeat');
    const n = this.size;
    const size = count === undefined ? (n === 0 ? 0 : Infinity) : n === null ? null : n * count;
    return this.derive(async function* (src) {
      for (let i = 0; count === undefined || i < count; i++) {
        let any = false;
        for await (const x of src) {
          any = true;
          yield x;
        }
        if (!any) return; // an empty dataset repeated forever is empty, not a hang
      }
    }, size);
  }

  /** The first `count` elements. */
  take(count: number): Dataset<T> {
    checkCount(count, 'count', 'take');
    const size = this.size === null ? null : Math.min(this.size, count);
    return this.derive(async function* (src) {
      if (count === 0) return;
      let i = 0;
      for await (const x of src) {
        yield x;
        if (++i >= count) return;
      }
    }, size);
  }

  /** All but the first `count` elements. */
  skip(count: number): Dataset<T> {
    checkCount(count, 'count', 'skip');
    const size = this.size === null ? null : Math.max(0, this.size - count);
    return this.derive(async function* (src) {
      let i = 0;
      for await (const x of src) {
        if (i++ < count) disposeElement(x);
        else yield x;
      }
    }, size);
  }

  /**
   * Keeps the elements of the first complete pass in memory and replays them on later passes (yielding new
   * Tensor handles each time). A pass stopped early caches nothing.
   */
  cache(): Dataset<T> {
    let stored: T[] | null = null;
    return this.derive(async function* (src) {
      if (stored) {
        for (const x of stored) yield cloneElement(x);
        return;
      }
      const acc: T[] = [];
      let complete = false;
      try {
        for await (const x of src) {
          const copy = cloneElement(x);
          for (const t of tensorsIn(copy)) ENGINE.keep(t);
          acc.push(copy);
          yield x;
        }
        complete = true;
      } finally {
        if (complete && !stored) stored = acc;
        else for (const x of acc) disposeElement(x);
      }
    }, this.size);
  }

  /** This dataset's elements, then other's. */
  concatenate(other: Dataset<T>): Dataset<T> {
    if (!(other instanceof Dataset)) throw new Error('concatenate: expected a Dataset');
    const size = this.size === null || other.size === null ? null : this.size + other.size;
    return this.derive(async function* (src) {
      yield* src;
      yield* other;
    }, size);
  }

  /** Calls f on every element of one pass. */
  async forEachAsync(f: (x: T) => void | Promise<void>): Promise<void> {
    for await (const x of this) await f(x);
  }

  /** Every element of one pass, in an array (the dataset must be finite). */
  async toArray(): Promise<T[]> {
    if (this.size === Infinity) throw new Error('toArray: the dataset is endless (repeat() without a count)');
    const out: T[] = [];
    for await (const x of this) out.push(x);
    return out;
  }
}
