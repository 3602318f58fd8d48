// Seeds for the data pipeline: one independent, order-free random stream per (seed, pass, element).

import { Random } from '../tensor/random.js';

/** Mixes numbers (or strings) into one 32-bit seed (murmur3-style finalizer per word). */
export function mixSeed(...parts: (number | string)[]): number {
  let h = 0x811c9dc5;
  const word = (w: number) => {
    let k = Math.imul(w >>> 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  };
  for (const p of parts) {
    if (typeof p === 'string') for (let i = 0; i < p.length; i++) word(p.charCodeAt(i));
    else {
      word(p);
      word(Math.floor(p / 2 ** 32));
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seeded generator for one (seed, ...path) position, independent of every other position. */
export function rngAt(...parts: (number | string)[]): Random {
  return new Random(mixSeed(...parts));
}

/** A seed argument (number or tfjs-style string) as a number; a random one when absent. */
export function seedOf(seed: number | string | undefined, where: string): number {
  if (seed === undefined) return Math.floor(Math.random() * 2 ** 32);
  if (typeof seed === 'string') return mixSeed(seed);
  if (!Number.isFinite(seed))
    throw new Error(`${where}: seed must be a finite number or a string, got ${seed}`);
  return Math.trunc(seed);
}

/** Fisher–Yates shuffle in place. */
export function shuffleInPlace<T>(a: T[], rng: Random): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

export { Random };
