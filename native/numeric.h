// Keel native: the 16-bit float formats, scalar and bulk conversions.
//
// Rounding float32 -> 16 bits is round-to-nearest-even with NaN kept a quiet NaN, bit for bit as
// src/dtype.ts does it (float32ToBfloat16Bits / float32ToFloat16Bits): bfloat16 NaN is
// (bits >> 16) | 0x40, float16 NaN is sign | 0x7c00 | 0x200 | (mantissa >> 13), subnormals round
// exactly (no flush to zero). The AVX-512 variants below do the same with integer operations
// (bfloat16; the BF16 instruction VCVTNEPS2BF16 would flush subnormals) and VCVTPS2PH (float16,
// which follows IEEE and so matches the scalar code).
#ifndef KEEL_NATIVE_NUMERIC_H_
#define KEEL_NATIVE_NUMERIC_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace keel {

/** Element formats of GEMM / convolution operands (the codes the N-API surface uses). */
enum class DType : uint8_t { F32 = 0, BF16 = 1, F16 = 2 };

inline int dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }
inline const char* dtype_name(DType t) { return t == DType::F32 ? "float32" : t == DType::BF16 ? "bfloat16" : "float16"; }

/** Tag types for typed 16-bit pointers (both are stored as uint16 bit patterns). */
struct Bf16 {
  uint16_t bits;
};
struct F16 {
  uint16_t bits;
};

inline uint32_t f32_bits(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}
inline float bits_f32(uint32_t b) {
  float x;
  std::memcpy(&x, &b, 4);
  return x;
}

inline uint16_t f32_to_bf16(float x) {
  const uint32_t bits = f32_bits(x);
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x7fffffu) != 0) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

inline float bf16_to_f32(uint16_t h) { return bits_f32(static_cast<uint32_t>(h) << 16); }

inline uint16_t f32_to_f16(float x) {
  const uint32_t bits = f32_bits(x);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const uint32_t exp = (bits >> 23) & 0xffu;
  const uint32_t mant = bits & 0x7fffffu;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant != 0 ? 0x200u | (mant >> 13) : 0u));
  const int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);
    const uint32_t m = mant | 0x800000u;
    const int shift = 14 - e;
    const uint32_t half = 1u << (shift - 1);
    const uint32_t rest = m & ((1u << shift) - 1u);
    uint32_t h = m >> shift;
    if (rest > half || (rest == half && (h & 1u))) h += 1;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h += 1;
  return static_cast<uint16_t>(sign | h);
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (mant << 13));  // Inf / NaN (payload kept)
  if (exp != 0) return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
  if (mant == 0) return bits_f32(sign);
  int e = 113;  // subnormal: normalise
  while (!(mant & 0x400u)) {
    mant <<= 1;
    --e;
  }
  return bits_f32(sign | (static_cast<uint32_t>(e) << 23) | ((mant & 0x3ffu) << 13));
}

inline float to_f32(float x) { return x; }
inline float to_f32(Bf16 x) { return bf16_to_f32(x.bits); }
inline float to_f32(F16 x) { return f16_to_f32(x.bits); }

/** Reads element i of an array of format t as float32. */
inline float load_as_f32(const void* p, int64_t i, DType t) {
  if (t == DType::F32) return static_cast<const float*>(p)[i];
  const uint16_t h = static_cast<const uint16_t*>(p)[i];
  return t == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
}

/** Converts n float32 values to format t (rounding), dst may be float / uint16 storage. */
void f32_to_dtype(const float* src, void* dst, int64_t n, DType t);
/** Converts n values of format t to float32. */
void dtype_to_f32(const void* src, float* dst, int64_t n, DType t);
/** dst[i] = round(dst_old[i] (+) src[i]) for 16-bit dst when accumulate; plain conversion otherwise. */
void f32_store(const float* src, void* dst, int64_t n, DType t, bool accumulate);

}  // namespace keel

#endif  // KEEL_NATIVE_NUMERIC_H_
