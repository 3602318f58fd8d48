// Test helpers: seeded random values, float64 comparisons with per-dtype tolerances, finite differences.

import { expect } from 'vitest';
import type { DType } from '../src/dtype.js';

/** Deterministic uniform values in [lo, hi) (mulberry32). */
export function seededFloats(n: number, seed: number, lo = -1, hi = 1): number[] {
  let a = seed >>> 0;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = lo + (hi - lo) * u;
  }
  return out;
}

/** Relative tolerance in norm for one op's result in each dtype (unit roundoff with headroom). */
export const TOL: Record<DType, number> = { float32: 1e-5, float16: 2e-3, bfloat16: 1.6e-2, int32: 0, bool: 0 };

/** ||got - want|| / max(||want||, tiny) <= tol */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what = ''): void {
  expect(got.length, `${what} length`).toBe(want.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i]) || !Number.isFinite(want[i])) {
      expect(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])), `${what} [${i}]: ${got[i]} vs ${want[i]}`).toBe(true);
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
