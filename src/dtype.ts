// Dtypes, their storage, and exact float16/bfloat16 <-> float32 conversion (round to nearest even).

export const DTYPES = ['float32', 'float16', 'bfloat16', 'int32', 'bool'] as const;
export type DType = (typeof DTYPES)[number];
export type FloatDType = 'float32' | 'float16' | 'bfloat16';

/** The typed array each dtype is stored in: 16-bit floats are raw bit patterns. */
export type StorageOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'int32'
    ? Int32Array
    : D extends 'bool'
      ? Uint8Array
      : Uint16Array;
export type Storage = Float32Array | Uint16Array | Int32Array | Uint8Array;

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int32: 4,
  bool: 1,
};

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function isFloatDType(d: DType): d is FloatDType {
  return d === 'float32' || d === 'float16' || d === 'bfloat16';
}

export function is16Bit(d: DType): d is 'float16' | 'bfloat16' {
  return d === 'float16' || d === 'bfloat16';
}

export function allocStorage(dtype: DType, size: number): Storage {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'bool':
      return new Uint8Array(size);
    default:
      return dtype satisfies never;
  }
}

// Scratch views to reinterpret float32 bits.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 (given as a JS number, rounded to float32 first) -> IEEE binary16 bits, RNE. */
export function float32ToFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0); // Inf / quiet NaN
  const e = exp - 127 + 15; // re-biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> Inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the full significand right, round to nearest even.
    if (e < -10) return sign; // below half the smallest subnormal
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && (h & 1) === 1)) h += 1;
    return sign | h;
  }
  // Normal: drop 13 bits with RNE; a carry out of the mantissa correctly bumps the exponent.
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h += 1;
  return sign | h;
}

/** IEEE binary16 bits -> float32 value (exact). */
export function float16BitsToFloat32(h: number): number {
  return F16_TABLE[h & 0xffff];
}

/** float32 -> bfloat16 bits, RNE; NaN stays a quiet NaN. */
export function float32ToBfloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits -> float32 value (exact). */
export function bfloat16BitsToFloat32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

function slowFloat16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** All 65,536 float16 values, so decoding is one table load. */
const F16_TABLE = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = slowFloat16ToFloat32(h);
  return t;
})();

/** The bfloat16 decode needs no table: a shift into a Uint32 view of the output. */
export function decodeFloat16(
  src: Uint16Array,
  out: Float32Array = new Float32Array(src.length),
): Float32Array {
  const n = src.length;
  for (let i = 0; i < n; i++) out[i] = F16_TABLE[src[i]];
  return out;
}

export function decodeBfloat16(
  src: Uint16Array,
  out: Float32Array = new Float32Array(src.length),
): Float32Array {
  const o = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const n = src.length;
  for (let i = 0; i < n; i++) o[i] = src[i] << 16;
  return out;
}

export function encodeFloat16(
  src: ArrayLike<number>,
  out: Uint16Array = new Uint16Array(src.length),
): Uint16Array {
  const n = src.length;
  for (let i = 0; i < n; i++) out[i] = float32ToFloat16Bits(src[i]);
  return out;
}

export function encodeBfloat16(
  src: ArrayLike<number>,
  out: Uint16Array = new Uint16Array(src.length),
): Uint16Array {
  const n = src.length;
  if (src instanceof Float32Array) {
    // Fast path: reinterpret the float32 bits directly.
    const b = new Uint32Array(src.buffer, src.byteOffset, n);
    for (let i = 0; i < n; i++) {
      const bits = b[i];
      out[i] =
        (bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0
          ? ((bits >>> 16) | 0x40) & 0xffff
          : ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
    }
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = float32ToBfloat16Bits(src[i]);
  return out;
}

/** Storage -> float32 values (16-bit floats decoded, ints/bools widened). */
export function toFloat32(dtype: DType, s: Storage): Float32Array {
  if (dtype === 'float32') return s as Float32Array;
  if (dtype === 'float16') return decodeFloat16(s as Uint16Array);
  if (dtype === 'bfloat16') return decodeBfloat16(s as Uint16Array);
  return Float32Array.from(s);
}

/** Numbers -> storage of `dtype`, rounding as the dtype requires. */
export function fromNumbers(dtype: DType, values: ArrayLike<number>, out?: Storage): Storage {
  switch (dtype) {
    case 'float32': {
      const o = (out as Float32Array) ?? new Float32Array(values.length);
      o.set(values);
      return o;
    }
    case 'float16':
      return encodeFloat16(values, out as Uint16Array | undefined);
    case 'bfloat16':
      return encodeBfloat16(values, out as Uint16Array | undefined);
    case 'int32': {
      const o = (out as Int32Array) ?? new Int32Array(values.length);
      for (let i = 0; i < values.length; i++) o[i] = Math.trunc(values[i]);
      return o;
    }
    case 'bool': {
      const o = (out as Uint8Array) ?? new Uint8Array(values.length);
      // NaN is true, as in tfjs and C (it is not zero)
      for (let i = 0; i < values.length; i++) o[i] = values[i] !== 0 ? 1 : 0;
      return o;
    }
    default:
      return dtype satisfies never;
  }
}
