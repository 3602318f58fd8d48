// Data-movement CPU kernels on raw storage (no decoding): strided copy, and what is built from it.

import type { Storage } from '../../dtype.js';
import { loadNative } from './native.js';

/** Below this many elements a copy stays in JavaScript (a native call costs more). */
const NATIVE_COPY_MIN = 4096;

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/**
 * Copies the elements of `shape` from src (at srcOffset, with srcStrides) to dst (at dstOffset, with
 * dstStrides). Transpose, broadcast, slice, pad, concat and tile are all this one loop.
 */
export function copyStrided(
  src: Storage | Float64Array,
  srcOffset: number,
  srcStrides: readonly number[],
  dst: Storage | Float64Array,
  dstOffset: number,
  dstStrides: readonly number[],
  shape: readonly number[],
): void {
  const r = shape.length;
  if (r === 0) {
    dst[dstOffset] = src[srcOffset];
    return;
  }
  let total = 1;
  for (const d of shape) total *= d;
  if (total === 0) return;
  const native = total >= NATIVE_COPY_MIN ? loadNative() : null;
  if (native?.copyStrided && src.constructor === dst.constructor) {
    native.copyStrided(src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape);
    return;
  }
  const inner = shape[r - 1];
  const ss = srcStrides[r - 1];
  const ds = dstStrides[r - 1];
  const idx = new Array<number>(r).fill(0);
  let so = srcOffset;
  let dO = dstOffset;
  for (let done = 0; done < total; done += inner) {
    if (ss === 1 && ds === 1) {
      // contiguous run: let the engine do a memmove
      (dst as Float32Array).set((src as Float32Array).subarray(so, so + inner), dO);
    } else {
      for (let i = 0, p = so, q = dO; i < inner; i++, p += ss, q += ds) dst[q] = src[p];
    }
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      so += srcStrides[d];
      dO += dstStrides[d];
      if (idx[d] < shape[d]) break;
      so -= srcStrides[d] * shape[d];
      dO -= dstStrides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** The output shape of a transpose and the input strides that read it in output order. */
export function transposeStrides(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; strides: number[] } {
  const inStrides = stridesOf(shape);
  return { shape: perm.map((p) => shape[p]), strides: perm.map((p) => inStrides[p]) };
}
