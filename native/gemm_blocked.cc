// Blocked, multi-threaded float32 GEMM with runtime ISA dispatch.
//
// Structure (per thread, per C tile), in the spirit of the classic Goto/BLIS decomposition:
//   for jc over the tile's columns in NC blocks
//     for pc over K in KC blocks:      pack op(B)[pc:pc+kc, jc:jc+nc] into NR-wide panels (L2)
//       for ir over the tile's rows in MR steps:
//                                      pack the MR x kc micro-panel of op(A) (stays in L1)
//         for jr over nc in NR steps:  micro-kernel: C[ir:ir+MR, jr:jr+NR] (+)= Ap * Bp
// The micro-kernels keep an MR x NR block of C in vector registers (AVX-512: 14 x 32 in 28 zmm,
// AVX2: 6 x 16 in 12 ymm, portable: 4 x 8). Edge tiles use an instantiation for every row count
// (1..MR) and for one or two vector columns; the last columns are computed in zero-padded vectors
// and written with masked loads/stores, so nothing outside C is touched. With AVX-512 the
// transposing packs (op(A) rows, op(B) columns strided in memory) use 16 x 16 in-register
// transposes. Threads split C into disjoint tiles (and the batch when it is large enough), a few
// per thread, taken dynamically; each thread packs its own panels, which costs a little redundant
// packing but needs no synchronisation inside a call. M == 1 or N == 1 goes to gemv.cc instead.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "gemm_kernels.h"
#include "thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#define KEEL_X86 1
// GCC 12's AVX-512 headers trip a false -Wmaybe-uninitialized (_mm512_undefined_ps is `__Y = __Y`,
// GCC PR105593) once shuffles are inlined; silence it for the header only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#define KEEL_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define KEEL_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace keel {
namespace {

using UkrFn = void (*)(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, int nr, bool beta);
using PackAFn = void (*)(const GemmArgs& g, const float* A, int64_t i0, int64_t p0, int64_t kc, float* out);

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// ------------------------------------------------------------------------------------------------
// Packing (plain C++, the compiler vectorises what it can for the baseline target).

/** A micro-panel: rows [i0, i0+R) of op(A), columns [p0, p0+kc), stored out[k*R + r]. */
template <int R>
void pack_a(const GemmArgs& g, const float* A, int64_t i0, int64_t p0, int64_t kc, float* __restrict out) {
  const int64_t lda = g.lda;
  if (!g.transA) {  // op(A)[i][k] = A[i*lda + k]: interleave R rows
    const float* src = A + i0 * lda + p0;
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const float* s = src + r * lda + k;
        out[(k + 0) * R + r] = s[0];
        out[(k + 1) * R + r] = s[1];
        out[(k + 2) * R + r] = s[2];
        out[(k + 3) * R + r] = s[3];
      }
    }
    for (; k < kc; ++k) {
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) out[k * R + r] = src[r * lda + k];
    }
  } else {  // op(A)[i][k] = A[k*lda + i]: copy R contiguous values per k
    const float* src = A + p0 * lda + i0;
    for (int64_t k = 0; k < kc; ++k) {
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) out[k * R + r] = src[k * lda + r];
    }
  }
}

/**
 * B block: columns [j0, j0+nc), rows [p0, p0+kc) of op(B) as NR-wide panels. Panel jp starts at
 * out + jp*kc and is stored [k*W + j] with W = the panel width rounded up to VL (zero padded).
 */
template <int NR, int VL>
void pack_b(const GemmArgs& g, const float* B, int64_t j0, int64_t nc, int64_t p0, int64_t kc, float* __restrict out) {
  const int64_t ldb = g.ldb;
  for (int64_t jp = 0; jp < nc; jp += NR) {
    const int w = static_cast<int>(std::min<int64_t>(NR, nc - jp));
    float* dst = out + jp * kc;
    if (!g.transB) {  // op(B)[k][j] = B[k*ldb + j]
      const float* src = B + p0 * ldb + j0 + jp;
      if (w == NR) {
        for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * NR, src + k * ldb, sizeof(float) * NR);
      } else {
        const int W = static_cast<int>(round_up(w, VL));
        for (int64_t k = 0; k < kc; ++k) {
          for (int j = 0; j < w; ++j) dst[k * W + j] = src[k * ldb + j];
          for (int j = w; j < W; ++j) dst[k * W + j] = 0.0f;
        }
      }
    } else {  // op(B)[k][j] = B[j*ldb + k]
      const float* src = B + (j0 + jp) * ldb + p0;
      if (w == NR) {
        int64_t k = 0;
        for (; k + 4 <= kc; k += 4) {
#pragma GCC unroll 32
          for (int j = 0; j < NR; ++j) {
            const float* s = src + j * ldb + k;
            dst[(k + 0) * NR + j] = s[0];
            dst[(k + 1) * NR + j] = s[1];
            dst[(k + 2) * NR + j] = s[2];
            dst[(k + 3) * NR + j] = s[3];
          }
        }
        for (; k < kc; ++k)
          for (int j = 0; j < NR; ++j) dst[k * NR + j] = src[j * ldb + k];
      } else {
        const int W = static_cast<int>(round_up(w, VL));
        for (int64_t k = 0; k < kc; ++k) {
          for (int j = 0; j < w; ++j) dst[k * W + j] = src[j * ldb + k];
          for (int j = w; j < W; ++j) dst[k * W + j] = 0.0f;
        }
      }
    }
  }
}

#ifdef KEEL_X86
/** In-register transpose of 16 rows of 16 floats: afterwards r[c] holds column c of the input. */
KEEL_TARGET_AVX512 inline void transpose16x16(__m512 r[16]) {
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
 * Transposing pack of up to 16 source rows: dst[k*W + r] = src[r*ld + k] for r < rows, k < kc, and
 * zeros for rows <= r < lanes (lanes <= 16 values are written per k).
 */
KEEL_TARGET_AVX512 void tpack16(const float* src, int64_t ld, int rows, int lanes, int64_t kc, float* dst, int64_t W) {
  const __mmask16 out_mask = static_cast<__mmask16>((1u << lanes) - 1u);
  __m512 r[16];
  int64_t k = 0;
  for (; k + 16 <= kc; k += 16) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) r[i] = i < rows ? _mm512_loadu_ps(src + i * ld + k) : _mm512_setzero_ps();
    transpose16x16(r);
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) _mm512_mask_storeu_ps(dst + (k + c) * W, out_mask, r[c]);
  }
  if (k < kc) {
    const int rem = static_cast<int>(kc - k);
    const __mmask16 kmask = static_cast<__mmask16>((1u << rem) - 1u);
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) r[i] = i < rows ? _mm512_maskz_loadu_ps(kmask, src + i * ld + k) : _mm512_setzero_ps();
    transpose16x16(r);
    for (int c = 0; c < rem; ++c) _mm512_mask_storeu_ps(dst + (k + c) * W, out_mask, r[c]);
  }
}

template <int R>
struct Avx512PackA {
  KEEL_TARGET_AVX512 static void run(const GemmArgs& g, const float* A, int64_t i0, int64_t p0, int64_t kc,
                                     float* __restrict out) {
    if (!g.transA) {
      tpack16(A + i0 * g.lda + p0, g.lda, R, R, kc, out, R);
    } else {
      const __mmask16 m = static_cast<__mmask16>((1u << R) - 1u);
      const float* src = A + p0 * g.lda + i0;
      for (int64_t k = 0; k < kc; ++k) _mm512_mask_storeu_ps(out + k * R, m, _mm512_maskz_loadu_ps(m, src + k * g.lda));
    }
  }
};

/** B block packing for NR = 32 panels (see pack_b); transposed B goes through tpack16. */
KEEL_TARGET_AVX512 void avx512_pack_b(const GemmArgs& g, const float* B, int64_t j0, int64_t nc, int64_t p0,
                                      int64_t kc, float* __restrict out) {
  if (!g.transB) {
    pack_b<32, 16>(g, B, j0, nc, p0, kc, out);
    return;
  }
  const int64_t ldb = g.ldb;
  for (int64_t jp = 0; jp < nc; jp += 32) {
    const int w = static_cast<int>(std::min<int64_t>(32, nc - jp));
    const int W = w > 16 ? 32 : 16;
    const float* src = B + (j0 + jp) * ldb + p0;
    float* dst = out + jp * kc;
    tpack16(src, ldb, std::min(w, 16), 16, kc, dst, W);
    if (w > 16) tpack16(src + 16 * ldb, ldb, w - 16, 16, kc, dst + 16, W);
  }
}
#endif  // KEEL_X86

template <int R>
struct GenericPackA {
  static void run(const GemmArgs& g, const float* A, int64_t i0, int64_t p0, int64_t kc, float* __restrict out) {
    pack_a<R>(g, A, i0, p0, kc, out);
  }
};

// ------------------------------------------------------------------------------------------------
// Micro-kernels. Each computes C[R x nr] (+)= Ap[kc x R]^T * Bp[kc x NV*VL]; beta=false overwrites
// C without reading it. Ap is stored [k*R + r], Bp [k*NV*VL + j] (64-byte aligned panels).

#ifdef KEEL_X86
template <int R, int NV>
struct Avx512Ukr {
  KEEL_TARGET_AVX512 static void run(int64_t kc, const float* __restrict A, const float* __restrict B,
                                     float* __restrict C, int64_t ldc, int nr, bool beta) {
    __m512 acc[R][NV];
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc + nr - 1), _MM_HINT_T0);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
    }
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
      A += R;
      B += 16 * NV;
    }
    __mmask16 mask[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      const int rem = nr - 16 * v;
      mask[v] = rem >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << rem) - 1u);
    }
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      float* row = C + i * ldc;
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) {
        __m512 r = acc[i][v];
        if (beta) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mask[v], row + 16 * v));
        _mm512_mask_storeu_ps(row + 16 * v, mask[v], r);
      }
    }
  }
};

template <int R, int NV>
struct Avx2Ukr {
  KEEL_TARGET_AVX2 static void run(int64_t kc, const float* __restrict A, const float* __restrict B,
                                   float* __restrict C, int64_t ldc, int nr, bool beta) {
    __m256 acc[R][NV];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc + nr - 1), _MM_HINT_T0);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();
    }
#pragma GCC unroll 4
    for (int64_t k = 0; k < kc; ++k) {
      __m256 bv[NV];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) bv[v] = _mm256_load_ps(B + 8 * v);
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        const __m256 a = _mm256_broadcast_ss(A + i);
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(a, bv[v], acc[i][v]);
      }
      A += R;
      B += 8 * NV;
    }
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i mask[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8 * v), iota);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      float* row = C + i * ldc;
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) {
        __m256 r = acc[i][v];
        if (beta) r = _mm256_add_ps(r, _mm256_maskload_ps(row + 8 * v, mask[v]));
        _mm256_maskstore_ps(row + 8 * v, mask[v], r);
      }
    }
  }
};
#endif  // KEEL_X86

/** Portable kernel: GCC vector extensions (SSE2 on x86-64, NEON on arm64, scalar elsewhere). */
template <int R, int NV>
struct PortableUkr {
  typedef float v4f __attribute__((vector_size(16)));
  static void run(int64_t kc, const float* __restrict A, const float* __restrict B, float* __restrict C,
                  int64_t ldc, int nr, bool beta) {
    v4f acc[R][NV];
    for (int i = 0; i < R; ++i)
      for (int v = 0; v < NV; ++v) acc[i][v] = v4f{0.0f, 0.0f, 0.0f, 0.0f};
    for (int64_t k = 0; k < kc; ++k) {
      v4f bv[NV];
      for (int v = 0; v < NV; ++v) std::memcpy(&bv[v], B + 4 * v, sizeof(v4f));
#pragma GCC unroll 4
      for (int i = 0; i < R; ++i) {
        const float a = A[i];
        for (int v = 0; v < NV; ++v) acc[i][v] += a * bv[v];
      }
      A += R;
      B += 4 * NV;
    }
    for (int i = 0; i < R; ++i) {
      float* row = C + i * ldc;
      float tmp[4 * NV];
      std::memcpy(tmp, acc[i], sizeof(tmp));
      if (beta) {
        for (int j = 0; j < nr; ++j) row[j] += tmp[j];
      } else {
        for (int j = 0; j < nr; ++j) row[j] = tmp[j];
      }
    }
  }
};

// ------------------------------------------------------------------------------------------------
// Per-ISA configuration and the dispatch tables for the edge row counts.

struct RowOps {
  PackAFn pack;
  UkrFn ukr[2];  // one or two vector columns
};

using PackBFn = void (*)(const GemmArgs& g, const float* B, int64_t j0, int64_t nc, int64_t p0, int64_t kc,
                        float* out);

template <template <int, int> class Ukr, template <int> class PackA, std::size_t... I>
constexpr std::array<RowOps, sizeof...(I)> make_rows(std::index_sequence<I...>) {
  return {{RowOps{&PackA<static_cast<int>(I) + 1>::run,
                  {&Ukr<static_cast<int>(I) + 1, 1>::run, &Ukr<static_cast<int>(I) + 1, 2>::run}}...}};
}

#ifdef KEEL_X86
struct Avx512Cfg {
  static constexpr int MR = 14, NR = 32, VL = 16;
  static constexpr int64_t KC = 256, NC = 512;
  static const std::array<RowOps, MR> rows;
  static constexpr PackBFn pack_block_b = &avx512_pack_b;
};
const std::array<RowOps, Avx512Cfg::MR> Avx512Cfg::rows =
    make_rows<Avx512Ukr, Avx512PackA>(std::make_index_sequence<14>());

struct Avx2Cfg {
  static constexpr int MR = 6, NR = 16, VL = 8;
  static constexpr int64_t KC = 256, NC = 384;
  static const std::array<RowOps, MR> rows;
  static constexpr PackBFn pack_block_b = &pack_b<NR, VL>;
};
const std::array<RowOps, Avx2Cfg::MR> Avx2Cfg::rows = make_rows<Avx2Ukr, GenericPackA>(std::make_index_sequence<6>());
#endif

struct PortableCfg {
  static constexpr int MR = 4, NR = 8, VL = 4;
  static constexpr int64_t KC = 256, NC = 256;
  static const std::array<RowOps, MR> rows;
  static constexpr PackBFn pack_block_b = &pack_b<NR, VL>;
};
const std::array<RowOps, PortableCfg::MR> PortableCfg::rows =
    make_rows<PortableUkr, GenericPackA>(std::make_index_sequence<4>());

// ------------------------------------------------------------------------------------------------
// Per-thread packing buffers (64-byte aligned, grown on demand, freed when the thread exits).

struct Scratch {
  float* a = nullptr;
  float* b = nullptr;
  std::size_t a_len = 0, b_len = 0;
  ~Scratch() {
    std::free(a);
    std::free(b);
  }
  static bool grow(float*& p, std::size_t& len, std::size_t need) {
    if (need <= len) return true;
    std::free(p);
    const std::size_t bytes = static_cast<std::size_t>(round_up(static_cast<int64_t>(need * sizeof(float)), 64));
    p = static_cast<float*>(std::aligned_alloc(64, bytes));
    len = p ? need : 0;
    return p != nullptr;
  }
};
thread_local Scratch tls_scratch;

/** One C tile [m0,m1) x [n0,n1) of batch entry bi, all of K. Returns false if out of memory. */
template <class Cfg>
bool run_tile(const GemmArgs& g, int64_t bi, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  constexpr int MR = Cfg::MR, NR = Cfg::NR;
  const float* A = g.a + bi * g.strideA;
  const float* B = g.b + bi * g.strideB;
  float* C = g.c + bi * g.strideC;
  const int64_t K = g.K, ldc = g.ldc;
  // Even splits: K into ceil(K/KC) blocks, the tile's columns into NR-aligned blocks of <= NC.
  const int64_t kc_max = ceil_div(K, ceil_div(K, Cfg::KC));
  const int64_t cols = n1 - n0;
  const int64_t nc_max = round_up(ceil_div(cols, ceil_div(cols, Cfg::NC)), NR);
  Scratch& s = tls_scratch;
  if (!Scratch::grow(s.a, s.a_len, static_cast<std::size_t>(kc_max * MR)) ||
      !Scratch::grow(s.b, s.b_len, static_cast<std::size_t>(kc_max * nc_max)))
    return false;
  const RowOps& full = Cfg::rows[MR - 1];
  for (int64_t jc = n0; jc < n1; jc += nc_max) {
    const int64_t nc = std::min(nc_max, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += kc_max) {
      const int64_t kc = std::min(kc_max, K - pc);
      const bool beta = g.accumulate || pc > 0;
      Cfg::pack_block_b(g, B, jc, nc, pc, kc, s.b);
      for (int64_t ir = m0; ir < m1; ir += MR) {
        const int rows = static_cast<int>(std::min<int64_t>(MR, m1 - ir));
        const RowOps& ops = rows == MR ? full : Cfg::rows[rows - 1];
        ops.pack(g, A, ir, pc, kc, s.a);
        float* Crow = C + ir * ldc + jc;
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          ops.ukr[nr > Cfg::VL ? 1 : 0](kc, s.a, s.b + jr * kc, Crow + jr, ldc, nr, beta);
        }
      }
    }
  }
  return true;
}

using TileFn = GemvTileFn;  // same signature: one C block of one batch entry

struct IsaImpl {
  Isa isa;
  int MR, NR;
  TileFn tile;
  TileFn gemv;  // M == 1 or N == 1
};

IsaImpl impl_for(Isa isa) {
  switch (isa) {
#ifdef KEEL_X86
    case Isa::Avx512:
      return {Isa::Avx512, Avx512Cfg::MR, Avx512Cfg::NR, &run_tile<Avx512Cfg>, gemv_tile_for(Isa::Avx512)};
    case Isa::Avx2:
      return {Isa::Avx2, Avx2Cfg::MR, Avx2Cfg::NR, &run_tile<Avx2Cfg>, gemv_tile_for(Isa::Avx2)};
#endif
    default:
      return {Isa::Portable, PortableCfg::MR, PortableCfg::NR, &run_tile<PortableCfg>, gemv_tile_for(Isa::Portable)};
  }
}

Isa detect_isa() {
  Isa best = Isa::Portable;
#ifdef KEEL_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    best = Isa::Avx512;
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    best = Isa::Avx2;
#endif
  // KEEL_GEMM_ISA=avx2|portable forces a lesser kernel (for testing); it never upgrades.
  if (const char* env = std::getenv("KEEL_GEMM_ISA")) {
    Isa want = best;
    if (std::strcmp(env, "portable") == 0) want = Isa::Portable;
    else if (std::strcmp(env, "avx2") == 0) want = Isa::Avx2;
    else if (std::strcmp(env, "avx512") == 0) want = Isa::Avx512;
    if (static_cast<int>(want) < static_cast<int>(best)) best = want;
  }
  return best;
}

const IsaImpl& impl() {
  static const IsaImpl chosen = impl_for(detect_isa());
  return chosen;
}

// ------------------------------------------------------------------------------------------------
// Work partitioning.

// Below this many flops per thread, extra threads cost more in wake-up/sync than they save.
constexpr double kMinFlopsPerThread = 2.0 * 96 * 96 * 96;
// Over-decomposition: up to this many tasks per thread, each at least kMinFlopsPerTask, while the
// redundant packing it adds (tm/M + tn/N, roughly its cost relative to the multiply) stays small.
constexpr int kTasksPerThread = 2;
constexpr double kMinFlopsPerTask = 2.0 * 64 * 64 * 64;
constexpr double kMaxExtraPack = 0.01;

struct Job {
  const GemmArgs* g;
  TileFn tile;
  int MR, NR;          // split units along M and N (the micro-tile, or 64 for matrix-vector)
  int64_t tm, tn;      // tiles per matrix along M and N
  int64_t pm, pn;      // units along M and N
  bool batch_parallel;  // one batch entry per task group; else each task walks the batch in order
  int64_t b_first;     // first batch entry whose product matters
  int64_t ntasks;
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
};

void run_task(Job& j, int64_t t) {
  const GemmArgs& g = *j.g;
  const int64_t tiles = j.tm * j.tn;
  const int64_t grp = t / tiles, tile = t % tiles;
  const int64_t ti = tile / j.tn, tj = tile % j.tn;
  const int64_t m0 = std::min(g.M, (ti * j.pm / j.tm) * j.MR), m1 = std::min(g.M, ((ti + 1) * j.pm / j.tm) * j.MR);
  const int64_t n0 = std::min(g.N, (tj * j.pn / j.tn) * j.NR), n1 = std::min(g.N, ((tj + 1) * j.pn / j.tn) * j.NR);
  if (m0 >= m1 || n0 >= n1) return;
  const int64_t b_lo = j.batch_parallel ? grp : j.b_first;
  const int64_t b_hi = j.batch_parallel ? grp + 1 : g.batch;
  for (int64_t bi = b_lo; bi < b_hi; ++bi) {
    if (!j.tile(g, bi, m0, m1, n0, n1)) {
      j.failed.store(true, std::memory_order_relaxed);
      return;
    }
  }
}

void job_body(void* ctx, int /*participant*/) {
  Job& j = *static_cast<Job*>(ctx);
  for (;;) {
    const int64_t t = j.next.fetch_add(1, std::memory_order_relaxed);
    if (t >= j.ntasks) return;
    run_task(j, t);
  }
}

/** Splits `tiles` into tm x tn with tm <= pm, tn <= pn, minimising redundant packing; false if none. */
bool factor_tiles(int64_t tiles, int64_t pm, int64_t pn, int64_t M, int64_t N, int64_t& tm, int64_t& tn) {
  bool found = false;
  double best = 0;
  for (int64_t a = 1; a <= tiles; ++a) {
    if (tiles % a != 0) continue;
    const int64_t b = tiles / a;
    if (a > pm || b > pn) continue;
    // Splitting M repacks B once per extra M tile; splitting N repacks A once per extra N tile.
    const double cost = static_cast<double>(a) * static_cast<double>(N) + static_cast<double>(b) * static_cast<double>(M);
    if (!found || cost < best) {
      found = true;
      best = cost;
      tm = a;
      tn = b;
    }
  }
  return found;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    default:
      return "portable";
  }
}

Isa selected_isa() { return impl().isa; }

bool gemm_run(const GemmArgs& g) {
  if (g.batch <= 0 || g.M <= 0 || g.N <= 0) return true;
  if (g.K <= 0) {
    if (!g.accumulate)
      for (int64_t bi = 0; bi < g.batch; ++bi)
        for (int64_t i = 0; i < g.M; ++i) std::memset(g.c + bi * g.strideC + i * g.ldc, 0, sizeof(float) * g.N);
    return true;
  }
  const IsaImpl& im = impl();
  Job j;
  j.g = &g;
  // Matrix-vector shapes stream the matrix once instead of packing it (memory-bound either way).
  // Their split points are multiples of 64, so how rows/columns group into vectors (and thus the
  // rounding of each element) is the same for every thread count, as it is for the blocked path.
  const bool gemv = g.M == 1 || g.N == 1;
  j.tile = gemv ? im.gemv : im.tile;
  j.MR = gemv ? 64 : im.MR;
  j.NR = gemv ? 64 : im.NR;
  j.pm = ceil_div(g.M, j.MR);
  j.pn = ceil_div(g.N, j.NR);
  j.tm = j.tn = 1;

  // Which C writes may run concurrently: rows of one C must not overlap (ldc >= N), and different
  // batch entries may run in parallel only if their C matrices are disjoint. stride 0 with
  // overwrite keeps only the last product, exactly as the sequential definition does.
  const int64_t c_span = (g.M - 1) * g.ldc + g.N;
  const bool rows_disjoint = g.M == 1 || g.ldc >= g.N;
  const bool batch_disjoint = rows_disjoint && (g.batch == 1 || g.strideC >= c_span);
  j.batch_parallel = batch_disjoint && g.batch > 1;
  j.b_first = (g.strideC == 0 && !g.accumulate) ? g.batch - 1 : 0;
  const bool tiles_ok = rows_disjoint && (batch_disjoint || g.strideC == 0);

  const int64_t work_batch = j.batch_parallel ? g.batch : g.batch - j.b_first;
  const double flops = 2.0 * static_cast<double>(g.M) * static_cast<double>(g.N) * static_cast<double>(g.K) *
                       static_cast<double>(work_batch);
  const int want = static_cast<int>(std::min<double>(pool_size(), std::max(1.0, flops / kMinFlopsPerThread)));
  if (want > 1 && (j.batch_parallel || tiles_ok)) {
    // Aim for a few tasks per thread so a thread that starts late (or a core busy with another
    // process) leaves its share to the others; split matrices further only while the extra
    // packing stays cheap and tasks stay big.
    const int64_t groups = j.batch_parallel ? g.batch : 1;
    const int64_t needed = ceil_div(want, groups);  // tiles per matrix to occupy `want` threads
    const int64_t target = ceil_div(int64_t{kTasksPerThread} * want, groups);
    for (int64_t t = std::max(needed, target); t >= 1; --t) {
      int64_t tm = 1, tn = 1;
      if (!factor_tiles(t, j.pm, j.pn, g.M, g.N, tm, tn)) continue;
      const double extra_pack = static_cast<double>(tm) / static_cast<double>(g.M) +
                                static_cast<double>(tn) / static_cast<double>(g.N);
      if (t <= needed || (extra_pack <= kMaxExtraPack && flops / static_cast<double>(groups * t) >= kMinFlopsPerTask)) {
        j.tm = tm;
        j.tn = tn;
        break;
      }
    }
  }
  j.ntasks = (j.batch_parallel ? g.batch : 1) * j.tm * j.tn;
  const int participants = static_cast<int>(std::min<int64_t>(want, j.ntasks));
  pool_run(participants, &job_body, &j);
  return !j.failed.load();
}

}  // namespace keel
