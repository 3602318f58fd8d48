// The async iterators behind Dataset's operators. Ownership: a stage owns every element it has pulled and not
// yet handed on; it disposes the Tensors of elements it drops (skip, filter, early stop) and of batched inputs.

import type { Random } from '../tensor/random.js';
import { type BatchDtype, collate, disposeElement } from './element.js';

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error) => ({ ok: false as const, error }),
  );

/** Position of an element: which pass over the dataset, and its index in that pass. */
export interface Position {
  pass: number;
  index: number;
}

/**
 * Calls `call` on up to `window` elements at once and yields the results in input order. The upstream is
 * pulled one element at a time; results still in flight when the consumer stops are disposed on arrival.
 */
export async function* mapConcurrent<T, U>(
  src: AsyncIterable<T>,
  call: (x: T, pos: Position) => Promise<U>,
  window: number,
  pass: number,
): AsyncGenerator<U> {
  const it = src[Symbol.asyncIterator]();
  const queue: Promise<Settled<U>>[] = [];
  let ended = false;
  let index = 0;
  try {
    for (;;) {
      while (!ended && queue.length < window) {
        const r = await it.next();
        if (r.done) ended = true;
        else queue.push(settle(Promise.resolve().then(() => call(r.value, { pass, index: index++ }))));
      }
      const head = queue.shift();
      if (!head) return;
      const s = await head;
      if (!s.ok) throw s.error;
      yield s.value;
    }
  } finally {
    for (const p of queue) void p.then((s) => s.ok && disposeElement(s.value));
    if (!ended) await it.return?.();
  }
}

/** tf.data's shuffle: a buffer of `size` elements; each output is a random pick, replaced by the next input. */
export async function* shuffleIter<T>(src: AsyncIterable<T>, size: number, rng: Random): AsyncGenerator<T> {
  const it = src[Symbol.asyncIterator]();
  const buf: T[] = [];
  let ended = false;
  const pull = async (): Promise<IteratorResult<T>> => {
    const r = await it.next();
    if (r.done) ended = true;
    return r;
  };
  try {
    while (!ended && buf.length < size) {
      const r = await pull();
      if (!r.done) buf.push(r.value);
    }
    while (buf.length > 0) {
      const i = rng.int(buf.length);
      const v = buf[i];
      const r = ended ? null : await pull();
      if (r && !r.done) buf[i] = r.value;
      else {
        buf[i] = buf[buf.length - 1];
        buf.pop();
      }
      yield v;
    }
  } finally {
    for (const v of buf) disposeElement(v);
    if (!ended) await it.return?.();
  }
}

/** Groups `size` consecutive elements into one batched element (see collate). */
export async function* batchIter<T>(
  src: AsyncIterable<T>,
  size: number,
  dropRemainder: boolean,
  dtype?: BatchDtype,
): AsyncGenerator<unknown> {
  let items: T[] = [];
  const take = () => {
    const group = items;
    items = [];
    try {
      return collate(group, dtype);
    } finally {
      for (const x of group) disposeElement(x);
    }
  };
  try {
    for await (const x of src) {
      items.push(x);
      if (items.length === size) yield take();
    }
    if (items.length > 0 && !dropRemainder) yield take();
  } finally {
    for (const x of items) disposeElement(x);
  }
}

/** Pulls up to `n` elements ahead of the consumer in the background. */
export async function* prefetchIter<T>(src: AsyncIterable<T>, n: number): AsyncGenerator<T> {
  const it = src[Symbol.asyncIterator]();
  const queue: Settled<IteratorResult<T>>[] = [];
  let stopped = false;
  let wakeConsumer: (() => void) | null = null;
  let wakePump: (() => void) | null = null;
  const signal = (w: (() => void) | null) => w?.();
  const pump = async () => {
    try {
      for (;;) {
        while (queue.length >= n && !stopped) {
          await new Promise<void>((r) => {
            wakePump = r;
          });
        }
        if (stopped) return;
        const r = await it.next();
        if (stopped) {
          if (!r.done) disposeElement(r.value);
          return;
        }
        queue.push({ ok: true, value: r });
        signal(wakeConsumer);
        if (r.done) return;
      }
    } catch (error) {
      queue.push({ ok: false, error });
      signal(wakeConsumer);
    }
  };
  const pumping = pump();
  let finished = false;
  try {
    for (;;) {
      while (queue.length === 0) {
        await new Promise<void>((r) => {
          wakeConsumer = r;
        });
      }
      const s = queue.shift()!;
      signal(wakePump);
      if (!s.ok) {
        finished = true;
        throw s.error;
      }
      if (s.value.done) {
        finished = true;
        return;
      }
      yield s.value.value;
    }
  } finally {
    stopped = true;
    signal(wakePump);
    for (const s of queue) if (s.ok && !s.value.done) disposeElement(s.value.value);
    if (!finished) {
      await pumping;
      await it.return?.();
    }
  }
}
