// Seeded pseudo-random numbers (xoshiro128**): deterministic for a seed, fast, and independent per stream.

/** The stream of seeds for generators made without one (setRandomSeed); null: Math.random. */
let global: Random | null = null;

/**
 * Makes every random op and initializer called without a seed deterministic from here on (as Keras'
 * `keras.utils.set_random_seed`): each draws its seed from one stream seeded by `seed`. `null`
 * goes back to unpredictable seeds.
 */
export function setRandomSeed(seed: number | null): void {
  if (seed !== null && !Number.isFinite(seed))
    throw new Error(`setRandomSeed: expected a finite number or null, got ${seed}`);
  global = seed === null ? null : new Random(seed);
}

/** A generator of uniform floats in [0, 1) and standard normals. */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  /** Without a seed: the next seed of setRandomSeed's stream, else a random one. */
  constructor(seed: number = global ? global.nextU32() : Math.floor(Math.random() * 2 ** 32)) {
    // splitmix32 expands the seed into four non-zero state words
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() || 1;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of randomness. */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Standard normal by the Box–Muller transform (pairs, the second kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
