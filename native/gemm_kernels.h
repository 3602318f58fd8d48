// Keel native GEMM: shared declarations between the N-API layer (gemm.cc), the blocked driver
// (gemm_blocked.cc), the ISA-specific kernel families (gemm_blocked.cc, gemm_avx512.cc), the
// matrix-vector path (gemv.cc) and the convolutions (conv.cc). Row-major, offsets in elements.
//
// Operands may be float32, bfloat16 or float16 (16-bit formats stored as uint16 bit patterns), each
// independently; accumulation is always float32. A 16-bit C receives the float32 result rounded to
// nearest even once, after the whole K reduction (accumulate: round(C_old + A*B)).
#ifndef KEEL_NATIVE_GEMM_KERNELS_H_
#define KEEL_NATIVE_GEMM_KERNELS_H_

#include <cstddef>
#include <cstdint>

#include "numeric.h"

namespace keel {

/** One batched GEMM call after argument validation; pointers already point at element 0 of each view. */
struct GemmArgs {
  const void* a;
  int64_t lda, strideA;
  bool transA;
  const void* b;
  int64_t ldb, strideB;
  bool transB;
  void* c;
  int64_t ldc, strideC;
  int64_t batch, M, N, K;
  bool accumulate;
  DType ta = DType::F32, tb = DType::F32, tc = DType::F32;
  /**
   * Let the micro-kernel read A in place (no packing) whatever N is: for callers whose A is cache
   * friendly (conv's im2col buffers). Without it, A is read in place only when N <= 2 NR (each
   * micro-panel is then used at most twice, so packing it would cost more than it saves).
   */
  bool direct_a = false;
};

/** Which micro-kernel family runs (ordered: a CPU supporting one supports the ones below). */
enum class Isa { Portable = 0, Avx2 = 1, Avx512 = 2, Avx512Bf16 = 3 };

/** The float32 kernel's name ('avx512' also on BF16 CPUs): 'avx512' | 'avx2' | 'portable'. */
const char* isa_name(Isa isa);

/** The ISA selected once at first use: the best the CPU supports, or KEEL_GEMM_ISA (downgrade only). */
Isa selected_isa();

/** Computes the C block [m0,m1) x [n0,n1) of batch entry bi, all of K; false if out of memory. */
using GemvTileFn = bool (*)(const GemmArgs& g, int64_t bi, int64_t m0, int64_t m1, int64_t n0, int64_t n1);

/** The matrix-vector kernels (M == 1 or N == 1, float32 operands only) for an ISA, in gemv.cc. */
GemvTileFn gemv_tile_for(Isa isa);

/**
 * Runs the whole batched GEMM on up to max_threads threads of the pool (0: as many as useful).
 * Returns false only if scratch memory could not be allocated (C is then partially written).
 */
bool gemm_run(const GemmArgs& args, int max_threads = 0);

// ------------------------------------------------------------------------------------------------
// Kernel families (internal to the blocked driver and its ISA files).

/** Where a micro-kernel's MR x nr results go. */
struct UkrOut {
  float* cf;       // float32 destination: C itself, or a staging block for a 16-bit C
  int64_t ldcf;
  void* c16;       // 16-bit C (store16)
  int64_t ldc16;
  DType t16;
  bool beta;     // add the values already in cf
  bool store16;  // round into c16 (this is the last K block) instead of writing cf
  bool acc16;    // store16: add c16's current values first (accumulate into a 16-bit C)
};

/**
 * C[R x nr] = (beta ? C : 0) + op(A)[R x kc] * Bp[kc x NR]; R is the template row count. A is read
 * with a runtime stride `as` (in the family's 4-byte units for ukr: a(i, k) = A[k*as + i], packed
 * panels have as = R; in A's elements for ukr_rows: a(i, k) = A[i*as + k], A read in place).
 */
using UkrFn = void (*)(int64_t kc, const void* A, int64_t as, const void* B, const UkrOut& o, int nr);
/** Packs rows [i0, i0+rows) x columns [p0, p0+kc) of op(A) into the family's micro-panel layout. */
using PackAFn = void (*)(const GemmArgs& g, const void* A, int64_t i0, int rows, int64_t p0, int64_t kc, void* out);
/** Packs columns [j0, j0+nc) x rows [p0, p0+kc) of op(B) into NR-wide panels (panel jp at jp * kunits). */
using PackBFn = void (*)(const GemmArgs& g, const void* B, int64_t j0, int64_t nc, int64_t p0, int64_t kc, void* out);

constexpr int kMaxMR = 16;

struct Family {
  const char* name;
  int MR, NR, VL;
  int kstep;           // K elements per 4-byte packed unit: 1 (float32 panels) or 2 (bfloat16 pairs)
  int64_t KC, NC;
  UkrFn ukr[kMaxMR][2];       // [rows - 1][one or two vector columns]; A k-major (packed, or op(A) = A^T in place)
  UkrFn ukr_rows[kMaxMR][2];  // A row-major in place (non-transposed A in the family's own format); may be null
  PackAFn pack_a[3];     // by the operand's DType; nullptr = not supported by this family
  PackBFn pack_b[3];
};

const Family& family_portable();
#if defined(__x86_64__) || defined(__i386__)
const Family& family_avx2();
const Family& family_avx512();
const Family* family_avx512_bf16();  // nullptr when the compiler has no AVX512-BF16 support
/** Bulk conversions with AVX-512 (gemm_avx512.cc); used by numeric.cc when the CPU has it. */
void avx512_f32_to_dtype(const float* src, void* dst, int64_t n, DType t);
void avx512_dtype_to_f32(const void* src, float* dst, int64_t n, DType t);
#endif

}  // namespace keel

#endif  // KEEL_NATIVE_GEMM_KERNELS_H_
