// Test helpers: seeded random values, float64 comparisons with per-dtype tolerances, finite differences.

import { expect } from 'vitest';
import type { DType } from '../src/dtype.js';
import type { Tensor } from '../src/index.js';
import * as keel from '../src/index.js';
import { type Nd, roundTo, sizeOf } from './reference.js';

/** A seeded uniform generator on [0, 1) (mulberry32): the same sequence every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic uniform values in [lo, hi). */
export function seededFloats(n: number, seed: number, lo = -1, hi = 1): number[] {
  const u = rng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * u());
}

/** Relative tolerance in norm for one op's result in each dtype (unit roundoff with headroom). */
export const TOL: Record<DType, number> = {
  float32: 1e-5,
  float16: 2e-3,
  bfloat16: 1.6e-2,
  int32: 0,
  bool: 0,
};

/** ||got - want|| / max(||want||, tiny) <= tol */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what = ''): void {
  expect(got.length, `${what} length`).toBe(want.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i]) || !Number.isFinite(want[i])) {
      expect(
        Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])),
        `${what} [${i}]: ${got[i]} vs ${want[i]}`,
      ).toBe(true);
      continue;
    }
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  const rel = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
  expect(rel, `${what} relative error ${rel} > ${tol}`).toBeLessThanOrEqual(tol);
}

/** Central finite differences of a float64 function at x. */
export function numericGrad(f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-5): Float64Array {
  const xs = Float64Array.from(x);
  const g = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    xs[i] = v + h;
    const fp = f(xs);
    xs[i] = v - h;
    const fm = f(xs);
    xs[i] = v;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

// ---- tensors against float64 references (test/reference.ts) -------------------------------

/** Seeded values in [lo, hi) as a float64 array of `shape`, rounded to float32 (what a float32 tensor holds). */
export function randomNd(shape: readonly number[], seed: number, lo = -1, hi = 1): Nd {
  return {
    data: Float64Array.from(seededFloats(sizeOf(shape), seed, lo, hi), Math.fround),
    shape: shape.slice(),
  };
}

/** A Keel tensor of `dtype` made from x, and the values it actually stores (read back exactly) as an Nd. */
export function tensorOf(x: Nd, dtype: DType = 'float32'): { t: Tensor; x: Nd } {
  const t = keel.tensor(Array.from(x.data), x.shape.slice(), dtype);
  return { t, x: toNd(t) };
}

export function toNd(t: Tensor): Nd {
  return { data: Float64Array.from(t.dataSync()), shape: t.shape.slice() };
}

/**
 * `got` has dtype `dtype`, want's shape, and values close to want (a float64 reference) rounded to `dtype`:
 * relative error in norm <= tol for floats, exact for int32/bool.
 */
export function expectTensor(got: Tensor, want: Nd, dtype: DType, tol: number = TOL[dtype], what = ''): void {
  expect(got.dtype, `${what} dtype`).toBe(dtype);
  expect(got.shape, `${what} shape`).toEqual(want.shape);
  const values = got.dataSync();
  if (dtype === 'int32' || dtype === 'bool') {
    expect(Array.from(values), `${what} values`).toEqual(
      Array.from(want.data, (v) => (dtype === 'bool' ? Number(v !== 0) : v + 0)),
    );
    return;
  }
  expectClose(values, roundTo(want.data, dtype), tol, what);
}

/** Deterministic random shape of `rank` with dims in [1, maxDim]. */
export function seededShape(rank: number, seed: number, maxDim = 4): number[] {
  return seededFloats(rank, seed, 1, maxDim + 1).map(Math.floor);
}

/** Live tensors created by f beyond those it returns (0 when intermediates and converted arrays are freed). */
export function leaked(f: () => unknown): number {
  const before = keel.memory().numTensors;
  let returned = 0;
  try {
    const r = f();
    returned = r instanceof keel.Tensor ? 1 : Array.isArray(r) ? r.length : Object.keys(r as object).length;
  } catch {
    // failing ops must free what they made too
  }
  return keel.memory().numTensors - before - returned;
}
