// AVX-512 kernel families: float32 (14 x 32 FMA micro-kernel; bfloat16/float16 operands are widened
// to float32 while packing) and bfloat16 (14 x 32 VDPBF16PS micro-kernel on bfloat16 pairs, float32
// accumulation), plus AVX-512 bulk conversions between float32 and the 16-bit formats.
//
// Packed layouts (4-byte units, see gemm_blocked.cc for the loops around them):
//   float32 family: A micro-panel out[k*R + r] = op(A)[i0+r][p0+k];
//                   B panel (NR = 32 columns) out[k*W + j] = op(B)[p0+k][j0+j], W = 16 or 32.
//   bfloat16 family: the same with one unit per K pair: A word (p, r) holds op(A)[i0+r][p0+2p] in
//                   its low half and op(A)[i0+r][p0+2p+1] in its high half (zero past the end of
//                   K), B word (p, j) likewise; VDPBF16PS multiplies and sums each pair into float32.
// The transposing packs use 16 x 16 in-register transposes of 32-bit elements (float32 values or
// bfloat16 pairs); pair interleaves use VPERMW / VPERMT2W.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

#include "gemm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
// GCC 12's AVX-512 headers trip a false -Wmaybe-uninitialized (_mm512_undefined_ps is `__Y = __Y`,
// GCC PR105593) once shuffles are inlined; silence it for the header only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#define KEEL_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define KEEL_AVX512_INLINE inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,fma")))

// AVX512-BF16 needs GCC >= 10 or clang >= 9 (KEEL_NO_BF16 turns it off for older toolchains).
#if !defined(KEEL_NO_BF16) && ((defined(__clang__) && __clang_major__ >= 9) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 10))
#define KEEL_HAVE_BF16 1
#define KEEL_TARGET_BF16 __attribute__((target("avx512bf16,avx512f,avx512bw,avx512vl,fma")))
#endif

namespace keel {
namespace {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

inline __mmask16 lanes_mask(int n) { return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u); }

// ------------------------------------------------------------------------------------------------
// Loads of 16 elements of any format as float32, and the 16-bit rounding (bit-exact with dtype.ts).

KEEL_AVX512_INLINE __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
KEEL_AVX512_INLINE __m512 load16(const Bf16* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
KEEL_AVX512_INLINE __m512 load16(const F16* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
KEEL_AVX512_INLINE __m512 load16m(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
KEEL_AVX512_INLINE __m512 load16m(const Bf16* p, __mmask16 m) {
  const __m256i h = _mm256_maskz_loadu_epi16(m, p);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
KEEL_AVX512_INLINE __m512 load16m(const F16* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }

KEEL_AVX512_INLINE __m256i round_bf16(__m512 v) {
  const __m512i b = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(b, _mm512_set1_epi32(0x7fff)), lsb), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(0x40)));
  return _mm512_cvtepi32_epi16(r);
}
KEEL_AVX512_INLINE __m256i round16(__m512 v, DType t) {
  return t == DType::BF16 ? round_bf16(v) : _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
KEEL_AVX512_INLINE __m512 widen16(__m256i h, DType t) {
  return t == DType::BF16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)) : _mm512_cvtph_ps(h);
}

/** The epilogue of one 16-wide vector of row i, columns [16v, 16v+16) & m (see UkrOut). */
KEEL_AVX512_INLINE void store_vec(__m512 r, const UkrOut& o, int i, int v, __mmask16 m) {
  if (!o.store16) {
    float* p = o.cf + i * o.ldcf + 16 * v;
    if (o.beta) r = _mm512_add_ps(_mm512_maskz_loadu_ps(m, p), r);
    _mm512_mask_storeu_ps(p, m, r);
    return;
  }
  if (o.beta) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, o.cf + i * o.ldcf + 16 * v));
  uint16_t* c = static_cast<uint16_t*>(o.c16) + i * o.ldc16 + 16 * v;
  if (o.acc16) r = _mm512_add_ps(r, widen16(_mm256_maskz_loadu_epi16(m, c), o.t16));
  _mm256_mask_storeu_epi16(c, m, round16(r, o.t16));
}

// ------------------------------------------------------------------------------------------------
// float32 family packing.

/** In-register transpose of 16 rows of 16 32-bit elements: afterwards r[c] holds column c of the input. */
KEEL_AVX512_INLINE void transpose16x16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {  // pairs of rows interleaved per 128-bit lane
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {  // r[4i+j], lane L: rows 4i..4i+3 of column 4L+j
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {  // gather the four 128-bit row groups of each column
    t[j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
    t[4 + j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
    t[8 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
    t[12 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xDD);
    r[4 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0x88);
    r[12 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0xDD);
  }
}

/**
 * Transposing pack of up to 16 source rows: dst[k*W + r] = float(src[r*ld + k]) for r < rows,
 * k < kc, and zeros for rows <= r < lanes (lanes <= 16 values are written per k).
 */
template <class T>
KEEL_TARGET_AVX512 void tpack16(const T* src, int64_t ld, int rows, int lanes, int64_t kc, float* dst, int64_t W) {
  const __mmask16 out_mask = lanes_mask(lanes);
  __m512 r[16];
  int64_t k = 0;
  for (; k + 16 <= kc; k += 16) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) r[i] = i < rows ? load16(src + i * ld + k) : _mm512_setzero_ps();
    transpose16x16(r);
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) _mm512_mask_storeu_ps(dst + (k + c) * W, out_mask, r[c]);
  }
  if (k < kc) {
    const int rem = static_cast<int>(kc - k);
    const __mmask16 kmask = lanes_mask(rem);
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) r[i] = i < rows ? load16m(src + i * ld + k, kmask) : _mm512_setzero_ps();
    transpose16x16(r);
    for (int c = 0; c < rem; ++c) _mm512_mask_storeu_ps(dst + (k + c) * W, out_mask, r[c]);
  }
}

template <class T>
KEEL_TARGET_AVX512 void f32_pack_a(const GemmArgs& g, const void* Av, int64_t i0, int R, int64_t p0, int64_t kc,
                                   void* outv) {
  const T* A = static_cast<const T*>(Av);
  float* out = static_cast<float*>(outv);
  if (!g.transA) {
    tpack16<T>(A + i0 * g.lda + p0, g.lda, R, R, kc, out, R);
  } else {
    const __mmask16 m = lanes_mask(R);
    const T* src = A + p0 * g.lda + i0;
    for (int64_t k = 0; k < kc; ++k) _mm512_mask_storeu_ps(out + k * R, m, load16m(src + k * g.lda, m));
  }
}

/** B block packing for NR = 32 panels: panel jp at out + jp*kc, stored [k*W + j], W = 16 or 32. */
template <class T>
KEEL_TARGET_AVX512 void f32_pack_b(const GemmArgs& g, const void* Bv, int64_t j0, int64_t nc, int64_t p0, int64_t kc,
                                   void* outv) {
  const T* B = static_cast<const T*>(Bv);
  float* out = static_cast<float*>(outv);
  const int64_t ldb = g.ldb;
  for (int64_t jp = 0; jp < nc; jp += 32) {
    const int w = static_cast<int>(std::min<int64_t>(32, nc - jp));
    const int W = w > 16 ? 32 : 16;
    float* dst = out + jp * kc;
    if (!g.transB) {
      const T* src = B + p0 * ldb + j0 + jp;
      if (w == 32) {
        for (int64_t k = 0; k < kc; ++k) {
          _mm512_store_ps(dst + k * 32, load16(src + k * ldb));
          _mm512_store_ps(dst + k * 32 + 16, load16(src + k * ldb + 16));
        }
      } else {
        const __mmask16 m0 = lanes_mask(w), m1 = w > 16 ? lanes_mask(w - 16) : static_cast<__mmask16>(0);
        for (int64_t k = 0; k < kc; ++k) {
          _mm512_store_ps(dst + k * W, load16m(src + k * ldb, m0));
          if (W == 32) _mm512_store_ps(dst + k * W + 16, load16m(src + k * ldb + 16, m1));
        }
      }
    } else {
      const T* src = B + (j0 + jp) * ldb + p0;
      tpack16<T>(src, ldb, std::min(w, 16), 16, kc, dst, W);
      if (w > 16) tpack16<T>(src + 16 * ldb, ldb, w - 16, 16, kc, dst + 16, W);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// float32 micro-kernel: C[R x nr] (+)= Ap[kc x R]^T * Bp[kc x 16*NV].

template <int R, int NV, bool ROWS>
struct Avx512UkrT {
  KEEL_TARGET_AVX512 static void run(int64_t kc, const void* Av, int64_t as, const void* Bv, const UkrOut& o, int nr) {
    const float* __restrict A = static_cast<const float*>(Av);
    const float* __restrict B = static_cast<const float*>(Bv);
    __m512 acc[R][NV];
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      if (o.beta) {
        _mm_prefetch(reinterpret_cast<const char*>(o.cf + i * o.ldcf), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(o.cf + i * o.ldcf + nr - 1), _MM_HINT_T0);
      }
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
    }
    if (!ROWS) {  // a(i, k) = A[k*as + i]
#pragma GCC unroll 4
      for (int64_t k = 0; k < kc; ++k) {
        __m512 bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(B + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < R; ++i) {
          const __m512 a = _mm512_set1_ps(A[i]);
#pragma GCC unroll 2
          for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(a, bv[v], acc[i][v]);
        }
        A += as;
        B += 16 * NV;
      }
    } else {  // a(i, k) = A[i*as + k]: rows read in place
      const float* a0 = A;
      const float* a3 = A + 3 * as;
      const float* a6 = A + 6 * as;
      const float* a9 = A + 9 * as;
      const float* a12 = A + 12 * as;
#pragma GCC unroll 2
      for (int64_t k = 0; k < kc; ++k) {
        __m512 bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(B + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < R; ++i) {
          const float* base = i < 3 ? a0 : i < 6 ? a3 : i < 9 ? a6 : i < 12 ? a9 : a12;
          const int64_t off = (i < 3 ? i : i < 6 ? i - 3 : i < 9 ? i - 6 : i < 12 ? i - 9 : i - 12) * as;
          const __m512 a = _mm512_set1_ps(base[off + k]);
#pragma GCC unroll 2
          for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(a, bv[v], acc[i][v]);
        }
        B += 16 * NV;
      }
    }
    __mmask16 mask[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) mask[v] = lanes_mask(nr - 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) store_vec(acc[i][v], o, i, v, mask[v]);
    }
  }
};
template <int R, int NV>
using Avx512Ukr = Avx512UkrT<R, NV, false>;
template <int R, int NV>
using Avx512UkrRows = Avx512UkrT<R, NV, true>;

template <template <int, int> class Ukr, template <int, int> class UkrRows, std::size_t... I>
Family make_family(const char* name, int MR, int NR, int VL, int kstep, int64_t KC, int64_t NC,
                   std::array<PackAFn, 3> pa, std::array<PackBFn, 3> pb, std::index_sequence<I...>) {
  Family f{name, MR, NR, VL, kstep, KC, NC, {}, {}, {pa[0], pa[1], pa[2]}, {pb[0], pb[1], pb[2]}};
  ((f.ukr[I][0] = &Ukr<static_cast<int>(I) + 1, 1>::run, f.ukr[I][1] = &Ukr<static_cast<int>(I) + 1, 2>::run), ...);
  ((f.ukr_rows[I][0] = &UkrRows<static_cast<int>(I) + 1, 1>::run,
    f.ukr_rows[I][1] = &UkrRows<static_cast<int>(I) + 1, 2>::run),
   ...);
  return f;
}

const Family kAvx512 = make_family<Avx512Ukr, Avx512UkrRows>(
    "avx512", 14, 32, 16, 1, 256, 512, {&f32_pack_a<float>, &f32_pack_a<Bf16>, &f32_pack_a<F16>},
    {&f32_pack_b<float>, &f32_pack_b<Bf16>, &f32_pack_b<F16>}, std::make_index_sequence<14>());

// ------------------------------------------------------------------------------------------------
// bfloat16 family (VDPBF16PS).

#ifdef KEEL_HAVE_BF16

/**
 * Word-transposing pack of up to 16 bfloat16 rows: dst[p*W + r] = the pair (src_r[2p], src_r[2p+1])
 * for r < rows (src_r = src + r*ld, halves), p < npairs; zeros for rows <= r < lanes. When odd,
 * the last pair's high half (k = kc) is zero and never read.
 */
KEEL_TARGET_AVX512 void tpack16w(const uint16_t* src, int64_t ld, int rows, int lanes, int64_t kc, uint32_t* dst,
                                 int64_t W) {
  const __mmask16 out_mask = lanes_mask(lanes);
  const int64_t full = kc / 2;  // complete pairs
  __m512 r[16];
  int64_t p = 0;
  for (; p + 16 <= full; p += 16) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) r[i] = i < rows ? _mm512_loadu_ps(src + i * ld + 2 * p) : _mm512_setzero_ps();
    transpose16x16(r);
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) _mm512_mask_storeu_ps(dst + (p + c) * W, out_mask, r[c]);
  }
  if (p < full) {
    const int rem = static_cast<int>(full - p);
    const __mmask16 pmask = lanes_mask(rem);
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i)
      r[i] = i < rows ? _mm512_maskz_loadu_ps(pmask, src + i * ld + 2 * p) : _mm512_setzero_ps();
    transpose16x16(r);
    for (int c = 0; c < rem; ++c) _mm512_mask_storeu_ps(dst + (p + c) * W, out_mask, r[c]);
  }
  if (kc & 1) {
    uint32_t* d = dst + full * W;
    for (int i = 0; i < lanes; ++i) d[i] = i < rows ? src[i * ld + kc - 1] : 0u;
  }
}

/** Interleave of two bfloat16 rows: words j < n of out = (lo[j], hi[j]); hi may be null (zeros). */
KEEL_AVX512_INLINE __m512i interleave16(const uint16_t* lo, const uint16_t* hi, __mmask16 m) {
  const __m256i a = _mm256_maskz_loadu_epi16(m, lo);
  const __m256i b = hi ? _mm256_maskz_loadu_epi16(m, hi) : _mm256_setzero_si256();
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21,
                                       5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1));
}

KEEL_TARGET_AVX512 void bf16_pack_a(const GemmArgs& g, const void* Av, int64_t i0, int R, int64_t p0, int64_t kc,
                                    void* outv) {
  const uint16_t* A = static_cast<const uint16_t*>(Av);
  uint32_t* out = static_cast<uint32_t*>(outv);
  if (!g.transA) {  // rows contiguous along K: pairs are 32-bit words of the row
    tpack16w(A + i0 * g.lda + p0, g.lda, R, R, kc, out, R);
    return;
  }
  const __mmask16 m = lanes_mask(R);
  const int64_t P = ceil_div(kc, 2);
  for (int64_t p = 0; p < P; ++p) {
    const uint16_t* lo = A + (p0 + 2 * p) * g.lda + i0;
    const uint16_t* hi = 2 * p + 1 < kc ? lo + g.lda : nullptr;
    _mm512_mask_storeu_epi32(out + p * R, m, interleave16(lo, hi, m));
  }
}

/** B block: panels of 32 columns (W = 16 or 32 words wide) at out + jp * P words, P = ceil(kc/2). */
KEEL_TARGET_AVX512 void bf16_pack_b(const GemmArgs& g, const void* Bv, int64_t j0, int64_t nc, int64_t p0, int64_t kc,
                                    void* outv) {
  const uint16_t* B = static_cast<const uint16_t*>(Bv);
  uint32_t* out = static_cast<uint32_t*>(outv);
  const int64_t ldb = g.ldb;
  const int64_t P = ceil_div(kc, 2);
  const __m512i idx_lo = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38, 6,
                                          37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
  const __m512i idx_hi = _mm512_set_epi16(63, 31, 62, 30, 61, 29, 60, 28, 59, 27, 58, 26, 57, 25, 56, 24, 55, 23, 54,
                                          22, 53, 21, 52, 20, 51, 19, 50, 18, 49, 17, 48, 16);
  for (int64_t jp = 0; jp < nc; jp += 32) {
    const int w = static_cast<int>(std::min<int64_t>(32, nc - jp));
    const int W = w > 16 ? 32 : 16;
    uint32_t* dst = out + jp * P;
    if (!g.transB) {  // rows k and k+1 of B, interleaved
      const __mmask32 m = w >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((1u << w) - 1u);
      const uint16_t* src = B + p0 * ldb + j0 + jp;
      for (int64_t p = 0; p < P; ++p) {
        const uint16_t* r0 = src + 2 * p * ldb;
        const __m512i a = _mm512_maskz_loadu_epi16(m, r0);
        const __m512i b = 2 * p + 1 < kc ? _mm512_maskz_loadu_epi16(m, r0 + ldb) : _mm512_setzero_si512();
        _mm512_store_si512(dst + p * W, _mm512_permutex2var_epi16(a, idx_lo, b));
        if (W == 32) _mm512_store_si512(dst + p * W + 16, _mm512_permutex2var_epi16(a, idx_hi, b));
      }
    } else {  // column j of op(B) is row j of B, contiguous along K
      const uint16_t* src = B + (j0 + jp) * ldb + p0;
      tpack16w(src, ldb, std::min(w, 16), 16, kc, dst, W);
      if (w > 16) tpack16w(src + 16 * ldb, ldb, w - 16, 16, kc, dst + 16, W);
    }
  }
}

template <int R, int NV, bool ROWS>
struct Bf16UkrT {
  KEEL_TARGET_BF16 static void run(int64_t kc, const void* Av, int64_t as, const void* Bv, const UkrOut& o, int nr) {
    const uint32_t* __restrict B = static_cast<const uint32_t*>(Bv);
    const int64_t P = ceil_div(kc, 2);
    __m512 acc[R][NV];
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      if (o.beta) {
        _mm_prefetch(reinterpret_cast<const char*>(o.cf + i * o.ldcf), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(o.cf + i * o.ldcf + nr - 1), _MM_HINT_T0);
      }
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
    }
    if (!ROWS) {  // packed pairs: word (p, i) = A[p*as + i]
      const uint32_t* __restrict A = static_cast<const uint32_t*>(Av);
#pragma GCC unroll 2
      for (int64_t p = 0; p < P; ++p) {
        __m512bh bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) bv[v] = (__m512bh)_mm512_load_si512(B + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < R; ++i) {
          const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(A[i]));
#pragma GCC unroll 2
          for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], a, bv[v]);
        }
        A += as;
        B += 16 * NV;
      }
    } else {  // rows of bfloat16 in place: the pair (2p, 2p+1) of row i is a 32-bit word at A + i*as + 2p
      const uint16_t* A = static_cast<const uint16_t*>(Av);
      const uint16_t* a0 = A;
      const uint16_t* a3 = A + 3 * as;
      const uint16_t* a6 = A + 6 * as;
      const uint16_t* a9 = A + 9 * as;
      const uint16_t* a12 = A + 12 * as;
      const int64_t full = kc / 2;
      for (int64_t p = 0; p <= full; ++p) {
        if (p == full && !(kc & 1)) break;
        const bool tail = p == full;  // odd K: the last pair is (A[kc-1], 0)
        __m512bh bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) bv[v] = (__m512bh)_mm512_load_si512(B + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < R; ++i) {
          const uint16_t* base = i < 3 ? a0 : i < 6 ? a3 : i < 9 ? a6 : i < 12 ? a9 : a12;
          const int64_t off = (i < 3 ? i : i < 6 ? i - 3 : i < 9 ? i - 6 : i < 12 ? i - 9 : i - 12) * as;
          uint32_t w;
          if (!tail) std::memcpy(&w, base + off + 2 * p, 4);
          else w = base[off + 2 * p];
          const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(w));
#pragma GCC unroll 2
          for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], a, bv[v]);
        }
        B += 16 * NV;
      }
    }
    __mmask16 mask[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) mask[v] = lanes_mask(nr - 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) store_vec(acc[i][v], o, i, v, mask[v]);
    }
  }
};
template <int R, int NV>
using Bf16Ukr = Bf16UkrT<R, NV, false>;
template <int R, int NV>
using Bf16UkrRows = Bf16UkrT<R, NV, true>;

const Family kAvx512Bf16 = make_family<Bf16Ukr, Bf16UkrRows>("avx512bf16", 14, 32, 16, 2, 512, 512,
                                                {nullptr, &bf16_pack_a, nullptr}, {nullptr, &bf16_pack_b, nullptr},
                                                std::make_index_sequence<14>());
#endif  // KEEL_HAVE_BF16

// ------------------------------------------------------------------------------------------------
// Bulk conversions.

KEEL_TARGET_AVX512 void to16_impl(const float* src, uint16_t* dst, int64_t n, DType t) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), round16(_mm512_loadu_ps(src + i), t));
  if (i < n) {
    const __mmask16 m = lanes_mask(static_cast<int>(n - i));
    _mm256_mask_storeu_epi16(dst + i, m, round16(_mm512_maskz_loadu_ps(m, src + i), t));
  }
}

KEEL_TARGET_AVX512 void from16_impl(const uint16_t* src, float* dst, int64_t n, DType t) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(dst + i, widen16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)), t));
  if (i < n) {
    const __mmask16 m = lanes_mask(static_cast<int>(n - i));
    _mm512_mask_storeu_ps(dst + i, m, widen16(_mm256_maskz_loadu_epi16(m, src + i), t));
  }
}

}  // namespace

const Family& family_avx512() { return kAvx512; }

const Family* family_avx512_bf16() {
#ifdef KEEL_HAVE_BF16
  return &kAvx512Bf16;
#else
  return nullptr;
#endif
}

void avx512_f32_to_dtype(const float* src, void* dst, int64_t n, DType t) {
  to16_impl(src, static_cast<uint16_t*>(dst), n, t);
}

void avx512_dtype_to_f32(const void* src, float* dst, int64_t n, DType t) {
  from16_impl(static_cast<const uint16_t*>(src), dst, n, t);
}

}  // namespace keel

#endif  // x86
