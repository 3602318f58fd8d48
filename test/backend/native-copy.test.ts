// The native strided copy (native/pool.cc copy_strided, behind transpose, slice, pad, concat and
// broadcast for 4096+ elements) against an element-by-element reference, for every element size,
// with offsets, zero strides (broadcast) and enough rows to be split over threads; and its checks.

import { describe, expect, it } from 'vitest';
import { stridesOf, transposeStrides } from '../../src/backend/cpu/layout.js';
import { loadNative } from '../../src/backend/cpu/native.js';

const native = loadNative();
const copy = native?.copyStrided ? native.copyStrided.bind(native) : null;
if (!copy)
  console.warn(
    'native-copy.test: no native addon with copyStrided (not built, or KEEL_NO_NATIVE set); skipped.',
  );

type Arr = Float32Array | Uint16Array | Uint8Array | Float64Array | Int32Array;

/** dst[dstOffset + Σ i·dstStrides] = src[srcOffset + Σ i·srcStrides] over `shape`, one index at a time. */
function reference(
  src: Arr,
  so: number,
  ss: number[],
  dst: Arr,
  dO: number,
  ds: number[],
  shape: number[],
): void {
  const n = shape.reduce((p, d) => p * d, 1);
  for (let flat = 0; flat < n; flat++) {
    let rest = flat;
    let s = so;
    let d = dO;
    for (let k = shape.length - 1; k >= 0; k--) {
      const i = rest % shape[k];
      rest = Math.floor(rest / shape[k]);
      s += i * ss[k];
      d += i * ds[k];
    }
    dst[d] = src[s];
  }
}

const filled = <T extends Arr>(C: new (n: number) => T, n: number): T => {
  const a = new C(n);
  for (let i = 0; i < n; i++) a[i] = (i * 7919) % 251;
  return a;
};

describe.skipIf(!copy)('native copyStrided', () => {
  const kinds = [Float32Array, Uint16Array, Uint8Array, Float64Array, Int32Array] as const;
  it('transposes, slices, pads and broadcasts like the reference, for every element size', () => {
    const shape = [6, 40, 30, 24];
    const n = shape.reduce((p, d) => p * d, 1);
    for (const C of kinds) {
      const src = filled(C as never, n + 10) as Arr;
      const cases: [string, number, number[], number, number[], number[], number][] = [];
      for (const perm of [
        [0, 3, 1, 2],
        [3, 2, 1, 0],
        [1, 0, 2, 3],
      ]) {
        const t = transposeStrides(shape, perm);
        cases.push([`transpose ${perm}`, 0, t.strides, 0, stridesOf(t.shape), t.shape, n]);
      }
      const s = stridesOf(shape);
      cases.push([
        'slice',
        1 * s[0] + 3 * s[1] + 2 * s[2] + 5,
        s,
        0,
        stridesOf([4, 30, 20, 17]),
        [4, 30, 20, 17],
        4 * 30 * 20 * 17,
      ]);
      const padded = [6, 42, 32, 24];
      const ps = stridesOf(padded);
      cases.push(['pad', 0, s, ps[1] + ps[2], ps, shape, 6 * 42 * 32 * 24]);
      cases.push(['broadcast', 7, [0, 0, 1, 0], 0, stridesOf(shape), shape, n]);
      for (const [name, so, ss, dO, ds, sh, dstLen] of cases) {
        const want = new (C as never as new (n: number) => Arr)(dstLen + 3);
        const got = new (C as never as new (n: number) => Arr)(dstLen + 3);
        reference(src, so, ss, want, dO, ds, sh);
        copy!(src, so, ss, got, dO, ds, sh);
        expect(Array.from(got), `${C.name} ${name}`).toEqual(Array.from(want));
      }
    }
  });

  it('rejects arrays of different types and spans past either end, naming them', () => {
    const a = new Float32Array(100);
    expect(() => copy!(a, 0, [1], new Uint16Array(100), 0, [1], [100])).toThrow(/one type/);
    expect(() => copy!(a, 1, [1], new Float32Array(100), 0, [1], [100])).toThrow(/reads element 100 of 100/);
    expect(() => copy!(a, 0, [1], new Float32Array(99), 0, [1], [100])).toThrow(/writes 99 of 99/);
    expect(() => copy!(a, 0, [1, 1], new Float32Array(100), 0, [1], [100])).toThrow(/one length/);
    expect(() => copy!(a, 0, [-1], new Float32Array(100), 0, [1], [100])).toThrow(/non-negative integer/);
  });
});
