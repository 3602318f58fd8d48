// Bulk conversions between float32 and the 16-bit formats (see numeric.h): AVX-512 when the CPU has
// it (gemm_avx512.cc), else scalar code with the same results.
#include "numeric.h"

#include "gemm_kernels.h"

namespace keel {

namespace {
bool use_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  return static_cast<int>(selected_isa()) >= static_cast<int>(Isa::Avx512);
#else
  return false;
#endif
}
}  // namespace

void f32_to_dtype(const float* src, void* dst, int64_t n, DType t) {
  if (t == DType::F32) {
    if (src != dst) std::memmove(dst, src, static_cast<std::size_t>(n) * 4);
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  if (use_avx512()) return avx512_f32_to_dtype(src, dst, n, t);
#endif
  uint16_t* d = static_cast<uint16_t*>(dst);
  if (t == DType::BF16) {
    for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
  }
}

void dtype_to_f32(const void* src, float* dst, int64_t n, DType t) {
  if (t == DType::F32) {
    if (src != dst) std::memmove(dst, src, static_cast<std::size_t>(n) * 4);
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  if (use_avx512()) return avx512_dtype_to_f32(src, dst, n, t);
#endif
  const uint16_t* s = static_cast<const uint16_t*>(src);
  if (t == DType::BF16) {
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
  }
}

void f32_store(const float* src, void* dst, int64_t n, DType t, bool accumulate) {
  if (!accumulate) return f32_to_dtype(src, dst, n, t);
  if (t == DType::F32) {
    float* d = static_cast<float*>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] += src[i];
    return;
  }
  // rare (accumulating into a 16-bit array): in blocks through a float32 buffer
  float buf[256];
  uint16_t* d = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; i += 256) {
    const int64_t m = n - i < 256 ? n - i : 256;
    dtype_to_f32(d + i, buf, m, t);
    for (int64_t j = 0; j < m; ++j) buf[j] += src[i + j];
    f32_to_dtype(buf, d + i, m, t);
  }
}

}  // namespace keel
