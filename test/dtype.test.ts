// float16/bfloat16 conversion: bit-exact against independent references over every bit pattern.

import { getFloat16, setFloat16 } from '@petamoriken/float16';
import { describe, expect, it } from 'vitest';
import {
  bfloat16BitsToFloat32,
  decodeBfloat16,
  decodeFloat16,
  encodeBfloat16,
  encodeFloat16,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from '../src/dtype.js';
import { seededFloats } from './helpers.js';

const view = new DataView(new ArrayBuffer(4));
function refF16Bits(x: number): number {
  setFloat16(view, 0, Math.fround(x));
  return view.getUint16(0);
}
function refF16Value(h: number): number {
  view.setUint16(0, h);
  return getFloat16(view, 0);
}

/** bfloat16 reference by exact arithmetic: the nearest of the two bfloat16 neighbours, ties to even. */
function refBf16Bits(x: number): number {
  view.setFloat32(0, x);
  const bits = view.getUint32(0);
  if (Number.isNaN(x)) return -1; // checked separately
  const lo = bits >>> 16;
  const hi = lo + 1;
  const bf16Value = (h: number) => {
    view.setUint32(0, (h << 16) >>> 0);
    return view.getFloat32(0);
  };
  const fx = Math.fround(x);
  const a = bf16Value(lo);
  if (a === fx) return lo;
  const b = bf16Value(hi); // may be the next binade or infinity: both exact
  const da = Math.abs(fx - a);
  const db = Math.abs(b - fx);
  if (da < db) return lo;
  if (db < da) return hi & 0xffff;
  return (lo & 1) === 0 ? lo : hi & 0xffff;
}

describe('float16', () => {
  it('decodes all 65,536 bit patterns exactly', () => {
    for (let h = 0; h < 65536; h++) {
      const got = float16BitsToFloat32(h);
      const want = refF16Value(h);
      if (Number.isNaN(want)) expect(Number.isNaN(got)).toBe(true);
      else if (!Object.is(got, want)) expect({ h, got }).toEqual({ h, got: want });
    }
  });

  it('round-trips every non-NaN bit pattern through float32', () => {
    for (let h = 0; h < 65536; h++) {
      const v = float16BitsToFloat32(h);
      if (Number.isNaN(v)) expect(float32ToFloat16Bits(v) & 0x7e00).toBe(0x7e00);
      else if (float32ToFloat16Bits(v) !== h) expect(float32ToFloat16Bits(v)).toBe(h);
    }
  });

  it('rounds random float32 values to nearest even like the reference', () => {
    const xs = [
      ...seededFloats(200_000, 1, -70000, 70000),
      ...seededFloats(100_000, 2, -1e-4, 1e-4),
      ...seededFloats(100_000, 3, -1e-7, 1e-7),
      ...seededFloats(50_000, 4, -4, 4),
    ];
    for (const x of xs) {
      const got = float32ToFloat16Bits(x);
      const want = refF16Bits(x);
      if (got !== want) expect({ x, got }).toEqual({ x, got: want });
    }
  });

  it('rounds midpoints between neighbours to even, and handles the edges', () => {
    for (let h = 0; h < 0x7bff; h += 7) {
      const mid = (float16BitsToFloat32(h) + float16BitsToFloat32(h + 1)) / 2;
      if (Math.fround(mid) !== mid) continue;
      expect(float32ToFloat16Bits(mid)).toBe(h % 2 === 0 ? h : h + 1);
    }
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // halfway to 65536 rounds to even = Inf
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff);
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-1e6)).toBe(0xfc00);
    expect(float32ToFloat16Bits(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(1); // smallest subnormal
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0); // tie -> even (0)
    expect(float32ToFloat16Bits(2 ** -25 * 1.5)).toBe(1);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(Number.NaN) & 0x7e00).toBe(0x7e00);
  });

  it('array encode/decode match the scalar functions', () => {
    const xs = Float32Array.from(seededFloats(10_000, 5, -1000, 1000));
    const enc = encodeFloat16(xs);
    for (let i = 0; i < xs.length; i++) expect(enc[i]).toBe(float32ToFloat16Bits(xs[i]));
    const dec = decodeFloat16(enc);
    for (let i = 0; i < xs.length; i++) expect(dec[i]).toBe(float16BitsToFloat32(enc[i]));
  });
});

describe('bfloat16', () => {
  it('decodes all 65,536 bit patterns as the top half of a float32', () => {
    for (let h = 0; h < 65536; h++) {
      view.setUint32(0, (h << 16) >>> 0);
      const want = view.getFloat32(0);
      const got = bfloat16BitsToFloat32(h);
      if (Number.isNaN(want)) expect(Number.isNaN(got)).toBe(true);
      else if (!Object.is(got, want)) expect({ h, got }).toEqual({ h, got: want });
    }
  });

  it('rounds random float32 values to nearest even like the reference', () => {
    const xs = [
      ...seededFloats(200_000, 6, -1e6, 1e6),
      ...seededFloats(100_000, 7, -1e-30, 1e-30),
      ...seededFloats(100_000, 8, -3.3e38, 3.3e38),
      ...seededFloats(50_000, 9, -2, 2),
    ];
    for (const x of xs) {
      const got = float32ToBfloat16Bits(x);
      const want = refBf16Bits(x);
      if (got !== want) expect({ x, got }).toEqual({ x, got: want });
    }
    const arr = Float32Array.from(xs.slice(0, 20_000));
    const enc = encodeBfloat16(arr);
    for (let i = 0; i < arr.length; i++) expect(enc[i]).toBe(float32ToBfloat16Bits(arr[i]));
    const dec = decodeBfloat16(enc);
    for (let i = 0; i < arr.length; i++) expect(dec[i]).toBe(bfloat16BitsToFloat32(enc[i]));
  });

  it('keeps NaN a NaN, overflows to Inf, keeps subnormals', () => {
    expect(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(Number.NaN)))).toBe(true);
    expect(float32ToBfloat16Bits(3.4e38)).toBe(0x7f80);
    expect(float32ToBfloat16Bits(Number.NEGATIVE_INFINITY)).toBe(0xff80);
    expect(float32ToBfloat16Bits(9.2e-41)).toBe(1);
    expect(float32ToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie -> even (up)
  });
});
