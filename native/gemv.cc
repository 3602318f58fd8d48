// Matrix-vector products: the M == 1 and N == 1 cases of the GEMM, which are bound by memory
// bandwidth. The blocked path would pack the whole matrix (twice the traffic) and, for N == 1, waste
// 15 of 16 vector lanes; here the matrix is streamed once, unpacked, as either
//   dots:  out[r] = sum_k X[r*ldx + k] * v[k]        (matrix rows contiguous along K), or
//   axpys: out[l] = sum_k v[k] * X[k*ldx + l]        (matrix rows contiguous along the output),
// with v the vector operand gathered into a contiguous buffer. The code is one template over the
// vector width (GCC vector extensions), compiled once per ISA through target-attributed wrappers.
// Only float32 operands come here (16-bit ones take the blocked path, which converts while packing).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "gemm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define KEEL_X86 1
#define KEEL_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define KEEL_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif
#define KEEL_INLINE inline __attribute__((always_inline))

namespace keel {
namespace {

template <int W>
struct Vec {
  typedef float type __attribute__((vector_size(sizeof(float) * W)));
  typedef float utype __attribute__((vector_size(sizeof(float) * W), aligned(4), may_alias));
};

// Vectors go by reference: by value they would hit -Wpsabi (ABI of wide vectors without the ISA).
#define VLOAD(p) (*reinterpret_cast<const typename Vec<W>::utype*>(p))

template <int W>
KEEL_INLINE void vstore(float* p, const typename Vec<W>::type& v) {
  *reinterpret_cast<typename Vec<W>::utype*>(p) = v;
}

template <int W>
KEEL_INLINE float hsum(const typename Vec<W>::type& v) {
  float s = 0;
  for (int i = 0; i < W; ++i) s += v[i];
  return s;
}

/** out[r] = sum_k X[r*ldx + k] * v[k] for r < R. */
template <int W>
KEEL_INLINE void dots_body(const float* X, int64_t ldx, int64_t R, const float* v, int64_t K, float* out) {
  using V = typename Vec<W>::type;
  const int64_t Kv = K - K % W;
  int64_t r = 0;
  for (; r + 4 <= R; r += 4) {
    const float* x0 = X + r * ldx;
    const float* x1 = x0 + ldx;
    const float* x2 = x1 + ldx;
    const float* x3 = x2 + ldx;
    V a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (int64_t k = 0; k < Kv; k += W) {
      const V vk = VLOAD(v + k);
      a0 += VLOAD(x0 + k) * vk;
      a1 += VLOAD(x1 + k) * vk;
      a2 += VLOAD(x2 + k) * vk;
      a3 += VLOAD(x3 + k) * vk;
    }
    float s0 = hsum<W>(a0), s1 = hsum<W>(a1), s2 = hsum<W>(a2), s3 = hsum<W>(a3);
    for (int64_t k = Kv; k < K; ++k) {
      s0 += x0[k] * v[k];
      s1 += x1[k] * v[k];
      s2 += x2[k] * v[k];
      s3 += x3[k] * v[k];
    }
    out[r] = s0;
    out[r + 1] = s1;
    out[r + 2] = s2;
    out[r + 3] = s3;
  }
  for (; r < R; ++r) {  // same operation order per row as above: results do not depend on grouping
    const float* x0 = X + r * ldx;
    V a0 = {};
    for (int64_t k = 0; k < Kv; k += W) a0 += VLOAD(x0 + k) * VLOAD(v + k);
    float s = hsum<W>(a0);
    for (int64_t k = Kv; k < K; ++k) s += x0[k] * v[k];
    out[r] = s;
  }
}

/**
 * out[l] = sum_k v[k] * X[k*ldx + l] for l < L. Rows of X are streamed contiguously, four at a time,
 * into an output block that stays in L1 (a register-blocked order would jump a whole row stride
 * every few hundred bytes, which defeats the prefetchers). Every output element sees the same
 * operation order wherever the caller splits the range, so results do not depend on threading.
 */
template <int W>
KEEL_INLINE void axpys_body(const float* X, int64_t ldx, int64_t K, const float* v, int64_t L, float* out) {
  using V = typename Vec<W>::type;
  constexpr int64_t kBlock = 2048;  // output floats per pass (8 KiB)
  for (int64_t l0 = 0; l0 < L; l0 += kBlock) {
    const int64_t n = std::min(kBlock, L - l0);
    const int64_t nv = n - n % W;
    float* o = out + l0;
    std::memset(o, 0, sizeof(float) * n);
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) {
      const float* x0 = X + k * ldx + l0;
      const float* x1 = x0 + ldx;
      const float* x2 = x1 + ldx;
      const float* x3 = x2 + ldx;
      const V v0 = V{} + v[k], v1 = V{} + v[k + 1], v2 = V{} + v[k + 2], v3 = V{} + v[k + 3];
      for (int64_t l = 0; l < nv; l += W) {
        V acc = VLOAD(o + l);
        acc += v0 * VLOAD(x0 + l);
        acc += v1 * VLOAD(x1 + l);
        acc += v2 * VLOAD(x2 + l);
        acc += v3 * VLOAD(x3 + l);
        vstore<W>(o + l, acc);
      }
      for (int64_t l = nv; l < n; ++l) {  // the vector lanes' operation order, for any split
        float acc = o[l];
        acc += v[k] * x0[l];
        acc += v[k + 1] * x1[l];
        acc += v[k + 2] * x2[l];
        acc += v[k + 3] * x3[l];
        o[l] = acc;
      }
    }
    for (; k < K; ++k) {
      const float* x0 = X + k * ldx + l0;
      const V v0 = V{} + v[k];
      for (int64_t l = 0; l < nv; l += W) {
        V acc = VLOAD(o + l);
        acc += v0 * VLOAD(x0 + l);
        vstore<W>(o + l, acc);
      }
      for (int64_t l = nv; l < n; ++l) o[l] += v[k] * x0[l];
    }
  }
}

#ifdef KEEL_X86
KEEL_TARGET_AVX512 void dots_avx512(const float* X, int64_t ldx, int64_t R, const float* v, int64_t K, float* out) {
  dots_body<16>(X, ldx, R, v, K, out);
}
KEEL_TARGET_AVX512 void axpys_avx512(const float* X, int64_t ldx, int64_t K, const float* v, int64_t L, float* out) {
  axpys_body<16>(X, ldx, K, v, L, out);
}
KEEL_TARGET_AVX2 void dots_avx2(const float* X, int64_t ldx, int64_t R, const float* v, int64_t K, float* out) {
  dots_body<8>(X, ldx, R, v, K, out);
}
KEEL_TARGET_AVX2 void axpys_avx2(const float* X, int64_t ldx, int64_t K, const float* v, int64_t L, float* out) {
  axpys_body<8>(X, ldx, K, v, L, out);
}
#endif
void dots_portable(const float* X, int64_t ldx, int64_t R, const float* v, int64_t K, float* out) {
  dots_body<4>(X, ldx, R, v, K, out);
}
void axpys_portable(const float* X, int64_t ldx, int64_t K, const float* v, int64_t L, float* out) {
  axpys_body<4>(X, ldx, K, v, L, out);
}

using DotsFn = void (*)(const float* X, int64_t ldx, int64_t R, const float* v, int64_t K, float* out);
using AxpysFn = void (*)(const float* X, int64_t ldx, int64_t K, const float* v, int64_t L, float* out);

/** Per-thread buffers: the gathered vector operand and the output chunk. */
struct GemvScratch {
  float* v = nullptr;
  float* out = nullptr;
  std::size_t v_len = 0, out_len = 0;
  ~GemvScratch() {
    std::free(v);
    std::free(out);
  }
  static bool grow(float*& p, std::size_t& len, std::size_t need) {
    if (need <= len) return true;
    std::free(p);
    p = static_cast<float*>(std::malloc(need * sizeof(float)));
    len = p ? need : 0;
    return p != nullptr;
  }
};
thread_local GemvScratch tls_gemv;

/** The C block [m0,m1) x [n0,n1) of batch entry bi when M == 1 or N == 1. */
template <DotsFn dots, AxpysFn axpys>
bool gemv_tile(const GemmArgs& g, int64_t bi, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const float* A = static_cast<const float*>(g.a) + bi * g.strideA;
  const float* B = static_cast<const float*>(g.b) + bi * g.strideB;
  float* C = static_cast<float*>(g.c) + bi * g.strideC;
  const int64_t K = g.K;
  const bool row = g.M == 1;  // else N == 1
  const int64_t lo = row ? n0 : m0, len = row ? n1 - n0 : m1 - m0;
  GemvScratch& s = tls_gemv;
  if (!GemvScratch::grow(s.out, s.out_len, static_cast<std::size_t>(len))) return false;

  // The vector operand: op(A)[0][:] when M == 1, op(B)[:][0] when N == 1.
  const float* vsrc = row ? A : B;
  const int64_t vstride = row ? (g.transA ? g.lda : 1) : (g.transB ? 1 : g.ldb);
  const float* v = vsrc;
  if (vstride != 1) {
    if (!GemvScratch::grow(s.v, s.v_len, static_cast<std::size_t>(K))) return false;
    for (int64_t k = 0; k < K; ++k) s.v[k] = vsrc[k * vstride];
    v = s.v;
  }
  if (row) {
    if (g.transB) dots(B + lo * g.ldb, g.ldb, len, v, K, s.out);   // op(B)[k][j] = B[j*ldb + k]
    else axpys(B + lo, g.ldb, K, v, len, s.out);                    // op(B)[k][j] = B[k*ldb + j]
    float* c = C + lo;
    if (g.accumulate) for (int64_t t = 0; t < len; ++t) c[t] += s.out[t];
    else std::memcpy(c, s.out, sizeof(float) * len);
  } else {
    if (g.transA) axpys(A + lo, g.lda, K, v, len, s.out);            // op(A)[i][k] = A[k*lda + i]
    else dots(A + lo * g.lda, g.lda, len, v, K, s.out);              // op(A)[i][k] = A[i*lda + k]
    float* c = C + lo * g.ldc;
    if (g.accumulate) for (int64_t t = 0; t < len; ++t) c[t * g.ldc] += s.out[t];
    else for (int64_t t = 0; t < len; ++t) c[t * g.ldc] = s.out[t];
  }
  return true;
}

}  // namespace

GemvTileFn gemv_tile_for(Isa isa) {
  switch (isa) {
#ifdef KEEL_X86
    case Isa::Avx512Bf16:
    case Isa::Avx512:
      return &gemv_tile<dots_avx512, axpys_avx512>;
    case Isa::Avx2:
      return &gemv_tile<dots_avx2, axpys_avx2>;
#endif
    default:
      return &gemv_tile<dots_portable, axpys_portable>;
  }
}

}  // namespace keel
