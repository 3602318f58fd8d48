// Downsampling a series for display while keeping its extremes: the first and last points, then per
// step-range bucket the minimum and the maximum (in step order), so spikes and dips survive.
import type { Columns } from './chunks.js';

/**
 * Indices (ascending) of at most maxPoints points of a series sorted by step, or null when it
 * already fits. NaN values are skipped for the extremes; a bucket holding only NaN keeps its first point.
 */
export function downsampleIndices(
  steps: Float64Array,
  values: Float64Array,
  maxPoints: number,
): Int32Array | null {
  const n = steps.length;
  if (n <= maxPoints) return null;
  const buckets = Math.floor((maxPoints - 2) / 2);
  if (buckets < 1) return maxPoints >= 2 ? Int32Array.of(0, n - 1) : Int32Array.of(n - 1);
  const lo = steps[1];
  const range = steps[n - 2] - lo;
  const interior = n - 2;
  const minAt = new Int32Array(buckets).fill(-1);
  const maxAt = new Int32Array(buckets).fill(-1);
  const firstAt = new Int32Array(buckets).fill(-1);
  for (let i = 1; i < n - 1; i++) {
    // by step range; by position when every interior point has the same step
    const b =
      range > 0
        ? Math.min(buckets - 1, Math.floor(((steps[i] - lo) / range) * buckets))
        : Math.floor(((i - 1) * buckets) / interior);
    if (firstAt[b] < 0) firstAt[b] = i;
    const v = values[i];
    if (Number.isNaN(v)) continue;
    if (minAt[b] < 0 || v < values[minAt[b]]) minAt[b] = i;
    if (maxAt[b] < 0 || v > values[maxAt[b]]) maxAt[b] = i;
  }
  const out = [0];
  for (let b = 0; b < buckets; b++) {
    if (firstAt[b] < 0) continue;
    if (minAt[b] < 0) {
      out.push(firstAt[b]);
      continue;
    }
    const a = Math.min(minAt[b], maxAt[b]);
    const c = Math.max(minAt[b], maxAt[b]);
    out.push(a);
    if (c !== a) out.push(c);
  }
  out.push(n - 1);
  return Int32Array.from(out);
}

/** The columns at the chosen indices (all of them when idx is null). */
export function pick(c: Columns, idx: Int32Array | null): Columns {
  if (!idx) return c;
  const take = (src: Float64Array) => Float64Array.from(idx, (i) => src[i]);
  return { steps: take(c.steps), values: take(c.values), walls: take(c.walls) };
}
