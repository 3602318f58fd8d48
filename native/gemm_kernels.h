// Keel native GEMM: shared declarations between the N-API layer (gemm.cc), the blocked driver and
// the ISA-specific micro-kernels. Everything here is float32, row-major, offsets in elements.
#ifndef KEEL_NATIVE_GEMM_KERNELS_H_
#define KEEL_NATIVE_GEMM_KERNELS_H_

#include <cstddef>
#include <cstdint>

namespace keel {

/** One batched GEMM call after argument validation; pointers already point at element 0 of each view. */
struct GemmArgs {
  const float* a;
  int64_t lda, strideA;
  bool transA;
  const float* b;
  int64_t ldb, strideB;
  bool transB;
  float* c;
  int64_t ldc, strideC;
  int64_t batch, M, N, K;
  bool accumulate;
};

/** Which micro-kernel family runs. */
enum class Isa { Portable = 0, Avx2 = 1, Avx512 = 2 };

const char* isa_name(Isa isa);

/** The ISA selected once at first use: the best the CPU supports, or KEEL_GEMM_ISA (downgrade only). */
Isa selected_isa();

/** Computes the C block [m0,m1) x [n0,n1) of batch entry bi, all of K; false if out of memory. */
using GemvTileFn = bool (*)(const GemmArgs& g, int64_t bi, int64_t m0, int64_t m1, int64_t n0, int64_t n1);

/** The matrix-vector kernels (M == 1 or N == 1) for an ISA, in gemv.cc. */
GemvTileFn gemv_tile_for(Isa isa);

/**
 * Runs the whole batched GEMM (blocking). Returns false only if scratch memory could not be
 * allocated (C is then partially written).
 */
bool gemm_run(const GemmArgs& args);

}  // namespace keel

#endif  // KEEL_NATIVE_GEMM_KERNELS_H_
