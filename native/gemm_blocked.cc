// Blocked, multi-threaded GEMM with runtime ISA dispatch: the driver, the work partitioning, and
// the portable and AVX2 kernel families (the AVX-512 float32 and AVX512-BF16 families are in
// gemm_avx512.cc).
//
// Structure (per thread, per C tile), in the spirit of the classic Goto/BLIS decomposition:
//   for jc over the tile's columns in NC blocks
//     for pc over K in KC blocks:      pack op(B)[pc:pc+kc, jc:jc+nc] into NR-wide panels (L2)
//       for ir over the tile's rows in MR steps:
//                                      pack the MR x kc micro-panel of op(A) (stays in L1)
//         for jr over nc in NR steps:  micro-kernel: C[ir:ir+MR, jr:jr+NR] (+)= Ap * Bp
// A family is a micro-kernel (an MR x NR block of C kept in vector registers) plus the packing
// routines that feed it, one per operand format: float32 families convert bfloat16/float16
// operands to float32 while packing (so there is no separate decode pass); the BF16 family packs
// bfloat16 pairs along K for VDPBF16PS. Edge tiles use an instantiation for every row count
// (1..MR) and for one or two vector columns; the last columns are computed in zero-padded vectors
// and written with masked stores, so nothing outside C is touched. A 16-bit C is written rounded
// once per element: straight from the registers when K fits one block, else through a float32
// staging block of up to kStageRows rows that the last K block adds in before rounding.
// Threads split C into disjoint tiles (and the batch when it is large enough), a few per thread,
// taken dynamically; each thread packs its own panels. M == 1 or N == 1 (float32) goes to gemv.cc.
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
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#define KEEL_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

namespace keel {
namespace {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// ------------------------------------------------------------------------------------------------
// Generic packing (plain C++; float32 panels, any operand format, converted on the way).

/** A micro-panel: rows [i0, i0+R) of op(A), columns [p0, p0+kc), stored out[k*R + r]. */
template <class T>
void pack_a_generic(const GemmArgs& g, const void* Av, int64_t i0, int R, int64_t p0, int64_t kc, void* outv) {
  const T* A = static_cast<const T*>(Av);
  float* __restrict out = static_cast<float*>(outv);
  const int64_t lda = g.lda;
  if (!g.transA) {  // op(A)[i][k] = A[i*lda + k]
    for (int r = 0; r < R; ++r) {
      const T* s = A + (i0 + r) * lda + p0;
      for (int64_t k = 0; k < kc; ++k) out[k * R + r] = to_f32(s[k]);
    }
  } else {  // op(A)[i][k] = A[k*lda + i]
    for (int64_t k = 0; k < kc; ++k) {
      const T* s = A + (p0 + k) * lda + i0;
      for (int r = 0; r < R; ++r) out[k * R + r] = to_f32(s[r]);
    }
  }
}

/**
 * B block: columns [j0, j0+nc), rows [p0, p0+kc) of op(B) as NR-wide panels. Panel jp starts at
 * out + jp*kc and is stored [k*W + j] with W = the panel width rounded up to VL (zero padded).
 */
template <int NR, int VL, class T>
void pack_b_generic(const GemmArgs& g, const void* Bv, int64_t j0, int64_t nc, int64_t p0, int64_t kc, void* outv) {
  const T* B = static_cast<const T*>(Bv);
  float* __restrict out = static_cast<float*>(outv);
  const int64_t ldb = g.ldb;
  for (int64_t jp = 0; jp < nc; jp += NR) {
    const int w = static_cast<int>(std::min<int64_t>(NR, nc - jp));
    const int W = static_cast<int>(round_up(w, VL));
    float* dst = out + jp * kc;
    if (!g.transB) {  // op(B)[k][j] = B[k*ldb + j]
      const T* src = B + p0 * ldb + j0 + jp;
      for (int64_t k = 0; k < kc; ++k) {
        for (int j = 0; j < w; ++j) dst[k * W + j] = to_f32(src[k * ldb + j]);
        for (int j = w; j < W; ++j) dst[k * W + j] = 0.0f;
      }
    } else {  // op(B)[k][j] = B[j*ldb + k]
      const T* src = B + (j0 + jp) * ldb + p0;
      for (int64_t k = 0; k < kc; ++k) {
        for (int j = 0; j < w; ++j) dst[k * W + j] = to_f32(src[j * ldb + k]);
        for (int j = w; j < W; ++j) dst[k * W + j] = 0.0f;
      }
    }
  }
}

/** The plain float32 case, as fast as plain C++ gets (4-way unrolled interleave). */
template <>
void pack_a_generic<float>(const GemmArgs& g, const void* Av, int64_t i0, int R, int64_t p0, int64_t kc, void* outv) {
  const float* A = static_cast<const float*>(Av);
  float* __restrict out = static_cast<float*>(outv);
  const int64_t lda = g.lda;
  if (!g.transA) {
    const float* src = A + i0 * lda + p0;
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
      for (int r = 0; r < R; ++r) {
        const float* s = src + r * lda + k;
        out[(k + 0) * R + r] = s[0];
        out[(k + 1) * R + r] = s[1];
        out[(k + 2) * R + r] = s[2];
        out[(k + 3) * R + r] = s[3];
      }
    }
    for (; k < kc; ++k)
      for (int r = 0; r < R; ++r) out[k * R + r] = src[r * lda + k];
  } else {
    const float* src = A + p0 * lda + i0;
    for (int64_t k = 0; k < kc; ++k) std::memcpy(out + k * R, src + k * lda, sizeof(float) * R);
  }
}

/** Scalar epilogue: one row of nr results `vals` into o (see UkrOut). */
inline void store_row_scalar(const float* vals, int nr, const UkrOut& o, int i) {
  float* cf = o.cf ? o.cf + i * o.ldcf : nullptr;
  if (!o.store16) {
    if (o.beta) {
      for (int j = 0; j < nr; ++j) cf[j] += vals[j];
    } else {
      for (int j = 0; j < nr; ++j) cf[j] = vals[j];
    }
    return;
  }
  uint16_t* c = static_cast<uint16_t*>(o.c16) + i * o.ldc16;
  const bool bf = o.t16 == DType::BF16;
  for (int j = 0; j < nr; ++j) {
    float v = vals[j];
    if (o.beta) v += cf[j];
    if (o.acc16) v += bf ? bf16_to_f32(c[j]) : f16_to_f32(c[j]);
    c[j] = bf ? f32_to_bf16(v) : f32_to_f16(v);
  }
}

// ------------------------------------------------------------------------------------------------
// Micro-kernels of the portable and AVX2 families. Each computes C[R x nr] (+)= Ap[kc x R]^T *
// Bp[kc x NV*VL]; Ap is stored [k*R + r], Bp [k*NV*VL + j] (64-byte aligned panels).

/** Portable kernel: GCC vector extensions (SSE2 on x86-64, NEON on arm64, scalar elsewhere). */
template <int R, int NV>
struct PortableUkr {
  typedef float v4f __attribute__((vector_size(16)));
  static void run(int64_t kc, const void* Av, int64_t as, const void* Bv, const UkrOut& o, int nr) {
    const float* __restrict A = static_cast<const float*>(Av);
    const float* __restrict B = static_cast<const float*>(Bv);
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
      A += as;
      B += 4 * NV;
    }
    for (int i = 0; i < R; ++i) {
      float tmp[4 * NV];
      std::memcpy(tmp, acc[i], sizeof(tmp));
      store_row_scalar(tmp, nr, o, i);
    }
  }
};

#ifdef KEEL_X86
template <int R, int NV>
struct Avx2Ukr {
  KEEL_TARGET_AVX2 static void run(int64_t kc, const void* Av, int64_t as, const void* Bv, const UkrOut& o, int nr) {
    const float* __restrict A = static_cast<const float*>(Av);
    const float* __restrict B = static_cast<const float*>(Bv);
    __m256 acc[R][NV];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      if (o.beta) {
        _mm_prefetch(reinterpret_cast<const char*>(o.cf + i * o.ldcf), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(o.cf + i * o.ldcf + nr - 1), _MM_HINT_T0);
      }
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
      A += as;
      B += 8 * NV;
    }
    if (o.store16) {
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        float tmp[8 * NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) _mm256_storeu_ps(tmp + 8 * v, acc[i][v]);
        store_row_scalar(tmp, nr, o, i);
      }
      return;
    }
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i mask[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8 * v), iota);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      float* row = o.cf + i * o.ldcf;
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) {
        __m256 r = acc[i][v];
        if (o.beta) r = _mm256_add_ps(_mm256_maskload_ps(row + 8 * v, mask[v]), r);
        _mm256_maskstore_ps(row + 8 * v, mask[v], r);
      }
    }
  }
};
#endif  // KEEL_X86

template <template <int, int> class Ukr, std::size_t... I>
Family make_family(const char* name, int MR, int NR, int VL, int kstep, int64_t KC, int64_t NC,
                             std::array<PackAFn, 3> pa, std::array<PackBFn, 3> pb, std::index_sequence<I...>) {
  Family f{name, MR, NR, VL, kstep, KC, NC, {}, {}, {pa[0], pa[1], pa[2]}, {pb[0], pb[1], pb[2]}};
  ((f.ukr[I][0] = &Ukr<static_cast<int>(I) + 1, 1>::run, f.ukr[I][1] = &Ukr<static_cast<int>(I) + 1, 2>::run), ...);
  return f;
}

// ------------------------------------------------------------------------------------------------
// Per-thread packing buffers (64-byte aligned, grown on demand, freed when the thread exits).

struct Scratch {
  void* a = nullptr;
  void* b = nullptr;
  void* stage = nullptr;
  std::size_t a_len = 0, b_len = 0, stage_len = 0;
  ~Scratch() {
    std::free(a);
    std::free(b);
    std::free(stage);
  }
  static bool grow(void*& p, std::size_t& len, std::size_t bytes) {
    if (bytes <= len) return true;
    std::free(p);
    const std::size_t n = static_cast<std::size_t>(round_up(static_cast<int64_t>(bytes), 64));
    p = std::aligned_alloc(64, n);
    len = p ? n : 0;
    return p != nullptr;
  }
};
thread_local Scratch tls_scratch;

// Rows of C per float32 staging block (a 16-bit C whose K spans several blocks).
constexpr int64_t kStageRows = 448;

/** One C tile [m0,m1) x [n0,n1) of batch entry bi, all of K, with family f. False if out of memory. */
bool run_tile(const Family& f, const GemmArgs& g, int64_t bi, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int MR = f.MR, NR = f.NR;
  const char* A = static_cast<const char*>(g.a) + bi * g.strideA * dtype_size(g.ta);
  const char* B = static_cast<const char*>(g.b) + bi * g.strideB * dtype_size(g.tb);
  char* C = static_cast<char*>(g.c) + bi * g.strideC * dtype_size(g.tc);
  const int64_t K = g.K, ldc = g.ldc;
  // Even splits: K into ceil(K/KC) blocks (even sizes for paired formats), the tile's columns into
  // NR-aligned blocks of <= NC.
  int64_t kc_max = ceil_div(K, ceil_div(K, f.KC));
  if (f.kstep > 1) kc_max = round_up(kc_max, f.kstep);
  const int64_t ku_max = ceil_div(kc_max, f.kstep);
  const int64_t cols = n1 - n0;
  const int64_t nc_max = round_up(ceil_div(cols, ceil_div(cols, f.NC)), NR);
  const bool c16 = g.tc != DType::F32;
  const bool staged = c16 && K > kc_max;
  const int64_t mcb = staged ? round_up(kStageRows, MR) : m1 - m0;
  Scratch& s = tls_scratch;
  if (!Scratch::grow(s.a, s.a_len, static_cast<std::size_t>(ku_max * MR * 4)) ||
      !Scratch::grow(s.b, s.b_len, static_cast<std::size_t>(ku_max * nc_max * 4)) ||
      (staged && !Scratch::grow(s.stage, s.stage_len, static_cast<std::size_t>(mcb * nc_max * 4))))
    return false;
  const PackAFn pack_a = f.pack_a[static_cast<int>(g.ta)];
  const PackBFn pack_b = f.pack_b[static_cast<int>(g.tb)];
  float* stage = static_cast<float*>(s.stage);
  // A in place: in the family's own format, and either asked for or used by at most two panels.
  const bool a_native = g.ta == (f.kstep == 2 ? DType::BF16 : DType::F32);
  const bool direct_ok = a_native && (g.direct_a || cols <= 2 * NR);
  const bool direct_t = direct_ok && g.transA && f.kstep == 1;       // a(i, k) = A[k*lda + i]
  const bool direct_rows = direct_ok && !g.transA && f.ukr_rows[0][0];  // a(i, k) = A[i*lda + k]
  const int es_a = dtype_size(g.ta);
  for (int64_t mb = m0; mb < m1; mb += mcb) {
    const int64_t me = std::min(m1, mb + mcb);
    for (int64_t jc = n0; jc < n1; jc += nc_max) {
      const int64_t nc = std::min(nc_max, n1 - jc);
      for (int64_t pc = 0; pc < K; pc += kc_max) {
        const int64_t kc = std::min(kc_max, K - pc);
        const int64_t ku = ceil_div(kc, f.kstep);
        const bool last = pc + kc >= K;
        pack_b(g, B, jc, nc, pc, kc, s.b);
        for (int64_t ir = mb; ir < me; ir += MR) {
          const int rows = static_cast<int>(std::min<int64_t>(MR, me - ir));
          const void* ap;
          int64_t as;
          const UkrFn* ukr;
          if (direct_t) {
            ap = A + (pc * g.lda + ir) * es_a;
            as = g.lda;
            ukr = f.ukr[rows - 1];
          } else if (direct_rows) {
            ap = A + (ir * g.lda + pc) * es_a;
            as = g.lda;
            ukr = f.ukr_rows[rows - 1];
          } else {
            pack_a(g, A, ir, rows, pc, kc, s.a);
            ap = s.a;
            as = rows;
            ukr = f.ukr[rows - 1];
          }
          for (int64_t jr = 0; jr < nc; jr += NR) {
            const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
            UkrOut o;
            if (!c16) {
              o = UkrOut{reinterpret_cast<float*>(C) + ir * ldc + jc + jr, ldc, nullptr, 0, DType::F32,
                         g.accumulate || pc > 0, false, false};
            } else {
              o = UkrOut{staged ? stage + (ir - mb) * nc_max + jr : nullptr, nc_max,
                         reinterpret_cast<uint16_t*>(C) + ir * ldc + jc + jr, ldc, g.tc, pc > 0, last, g.accumulate};
            }
            ukr[nr > f.VL ? 1 : 0](kc, ap, as, static_cast<const char*>(s.b) + jr * ku * 4, o, nr);
          }
        }
      }
    }
  }
  return true;
}

// ------------------------------------------------------------------------------------------------
// Families and dispatch.

const Family kPortable = make_family<PortableUkr>(
    "portable", 4, 8, 4, 1, 256, 256,
    {&pack_a_generic<float>, &pack_a_generic<Bf16>, &pack_a_generic<F16>},
    {&pack_b_generic<8, 4, float>, &pack_b_generic<8, 4, Bf16>, &pack_b_generic<8, 4, F16>},
    std::make_index_sequence<4>());

#ifdef KEEL_X86
const Family kAvx2 = make_family<Avx2Ukr>(
    "avx2", 6, 16, 8, 1, 256, 384,
    {&pack_a_generic<float>, &pack_a_generic<Bf16>, &pack_a_generic<F16>},
    {&pack_b_generic<16, 8, float>, &pack_b_generic<16, 8, Bf16>, &pack_b_generic<16, 8, F16>},
    std::make_index_sequence<6>());
#endif

Isa detect_isa() {
  Isa best = Isa::Portable;
#ifdef KEEL_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma")) {
    best = Isa::Avx512;
    if (family_avx512_bf16() && __builtin_cpu_supports("avx512bf16")) best = Isa::Avx512Bf16;
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
    best = Isa::Avx2;
  }
#endif
  // KEEL_GEMM_ISA=avx512|avx2|portable forces a lesser kernel (for testing); it never upgrades.
  if (const char* env = std::getenv("KEEL_GEMM_ISA")) {
    Isa want = best;
    if (std::strcmp(env, "portable") == 0) want = Isa::Portable;
    else if (std::strcmp(env, "avx2") == 0) want = Isa::Avx2;
    else if (std::strcmp(env, "avx512") == 0) want = Isa::Avx512;
    else if (std::strcmp(env, "avx512bf16") == 0) want = Isa::Avx512Bf16;
    if (static_cast<int>(want) < static_cast<int>(best)) best = want;
  }
  return best;
}

/** The float32 family of an ISA. */
const Family& f32_family(Isa isa) {
  switch (isa) {
#ifdef KEEL_X86
    case Isa::Avx512Bf16:
    case Isa::Avx512:
      return family_avx512();
    case Isa::Avx2:
      return kAvx2;
#endif
    default:
      return kPortable;
  }
}

/** The family for these operand formats: the BF16 kernel for two bfloat16 operands when available. */
const Family& family_for(const GemmArgs& g) {
  const Isa isa = selected_isa();
#ifdef KEEL_X86
  if (isa == Isa::Avx512Bf16 && g.ta == DType::BF16 && g.tb == DType::BF16) return *family_avx512_bf16();
#endif
  return f32_family(isa);
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
  const Family* fam;    // blocked path, else gemv
  GemvTileFn gemv;
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
    const bool ok = j.fam ? run_tile(*j.fam, g, bi, m0, m1, n0, n1) : j.gemv(g, bi, m0, m1, n0, n1);
    if (!ok) {
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

const Family& family_portable() { return kPortable; }
#ifdef KEEL_X86
const Family& family_avx2() { return kAvx2; }
#endif

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512Bf16:
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    default:
      return "portable";
  }
}

Isa selected_isa() {
  static const Isa chosen = detect_isa();
  return chosen;
}

bool gemm_run(const GemmArgs& g, int max_threads) {
  if (g.batch <= 0 || g.M <= 0 || g.N <= 0) return true;
  if (g.K <= 0) {
    if (!g.accumulate) {
      const int es = dtype_size(g.tc);
      for (int64_t bi = 0; bi < g.batch; ++bi)
        for (int64_t i = 0; i < g.M; ++i)
          std::memset(static_cast<char*>(g.c) + (bi * g.strideC + i * g.ldc) * es, 0, static_cast<std::size_t>(es * g.N));
    }
    return true;
  }
  Job j;
  j.g = &g;
  // Matrix-vector shapes stream the matrix once instead of packing it (memory-bound either way).
  // Their split points are multiples of 64, so how rows/columns group into vectors (and thus the
  // rounding of each element) is the same for every thread count, as it is for the blocked path.
  const bool all_f32 = g.ta == DType::F32 && g.tb == DType::F32 && g.tc == DType::F32;
  const bool gemv = all_f32 && (g.M == 1 || g.N == 1);
  if (gemv) {
    j.fam = nullptr;
    j.gemv = gemv_tile_for(selected_isa());
    j.MR = j.NR = 64;
  } else {
    j.fam = &family_for(g);
    j.gemv = nullptr;
    j.MR = j.fam->MR;
    j.NR = j.fam->NR;
  }
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
  const int limit = max_threads > 0 ? std::min(max_threads, pool_size()) : pool_size();
  const int want = static_cast<int>(std::min<double>(limit, std::max(1.0, flops / kMinFlopsPerThread)));
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
