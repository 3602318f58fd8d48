// Reduction CPU kernels over float values, accumulating in double (at least float32, as the spec asks).

import type { ReduceOp } from '../primitives.js';

type NumArray = { [i: number]: number; length: number };

/**
 * The layout every reduction is brought to: x viewed as [outer, reduced, inner] with the reduced
 * block contiguous in the middle. Returns null when the reduced axes are not one contiguous group.
 */
export function reductionLayout(
  shape: readonly number[],
  axes: readonly number[],
): { outer: number; r: number; inner: number } | null {
  const sorted = [...axes].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1] + 1) return null;
  const lo = sorted.length ? sorted[0] : shape.length;
  const hi = sorted.length ? sorted[sorted.length - 1] + 1 : shape.length;
  const prod = (a: number, b: number) => shape.slice(a, b).reduce((p, d) => p * d, 1);
  return { outer: prod(0, lo), r: prod(lo, hi), inner: prod(hi, shape.length) };
}

const INIT: Record<ReduceOp, number> = {
  sum: 0,
  mean: 0,
  prod: 1,
  max: Number.NEGATIVE_INFINITY,
  min: Number.POSITIVE_INFINITY,
};

/** out[o, i] = reduce_r x[o, r, i]; `out` is filled entirely. */
export function reduceOuterRInner(
  op: ReduceOp,
  x: NumArray,
  out: NumArray,
  outer: number,
  r: number,
  inner: number,
): void {
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(INIT[op]);
    const base = o * r * inner;
    if (op === 'sum' || op === 'mean') {
      for (let k = 0; k < r; k++) {
        const row = base + k * inner;
        for (let i = 0; i < inner; i++) acc[i] += x[row + i];
      }
    } else if (op === 'prod') {
      for (let k = 0; k < r; k++) {
        const row = base + k * inner;
        for (let i = 0; i < inner; i++) acc[i] *= x[row + i];
      }
    } else if (op === 'max') {
      for (let k = 0; k < r; k++) {
        const row = base + k * inner;
        for (let i = 0; i < inner; i++) {
          const v = x[row + i];
          if (v > acc[i] || Number.isNaN(v)) acc[i] = v;
        }
      }
    } else {
      for (let k = 0; k < r; k++) {
        const row = base + k * inner;
        for (let i = 0; i < inner; i++) {
          const v = x[row + i];
          if (v < acc[i] || Number.isNaN(v)) acc[i] = v;
        }
      }
    }
    // mean divides before the store, so a 16-bit mean cannot overflow where its sum would
    const scale = op === 'mean' ? 1 / r : 1;
    for (let i = 0; i < inner; i++) out[o * inner + i] = acc[i] * scale;
  }
}

/** Index of the first max (or min) along r of x viewed as [outer, r, inner]; a NaN wins (as numpy; tfjs' CPU backend skips NaNs). */
export function argReduceOuterRInner(
  isMax: boolean,
  x: NumArray,
  out: Int32Array,
  outer: number,
  r: number,
  inner: number,
): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * r * inner + i;
      let best = x[base];
      let at = 0;
      for (let k = 1; k < r && !Number.isNaN(best); k++) {
        const v = x[base + k * inner];
        if (isMax ? v > best : v < best) {
          best = v;
          at = k;
        } else if (Number.isNaN(v)) {
          best = v;
          at = k;
        }
      }
      out[o * inner + i] = at;
    }
  }
}
