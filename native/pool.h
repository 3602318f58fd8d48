// Keel native 2-D pooling and strided copies on NHWC data (see pool.cc).
#ifndef KEEL_NATIVE_POOL_H_
#define KEEL_NATIVE_POOL_H_

#include <cstdint>

#include "conv.h"
#include "numeric.h"

namespace keel {

enum class PoolOp { Max = 0, MaxGrad = 1, Avg = 2, AvgGrad = 3 };

/**
 * Pooling with the geometry of a convolution (outC == inC, the filter only a window):
 *   Max     (x) -> y: the window's maximum; NaN propagates; a window entirely in padding gives -Inf.
 *   MaxGrad (dy, x) -> dx: each dy goes to the first in-bounds position holding its window's maximum.
 *   Avg     (x) -> y: the mean of the in-bounds cells (NaN for a window entirely in padding).
 *   AvgGrad (dy) -> dx: dy / count spread over the in-bounds cells.
 * Float32 arithmetic in the order of src/backend/cpu/pool.ts (same results); 16-bit operands are
 * decoded and a 16-bit output rounded once. `in2` is read by MaxGrad only. False on OOM.
 */
bool pool_run(PoolOp op, const void* in1, DType t1, const void* in2, DType t2, void* out, DType to, const ConvGeom& g);

/**
 * Copies the elements of `shape` (rank dims) from src + srcOffset (element strides srcStrides) to
 * dst + dstOffset (dstStrides), elements of `size` bytes (1, 2, 4 or 8).
 */
void copy_strided(const void* src, int64_t src_offset, const int64_t* src_strides, void* dst, int64_t dst_offset,
                  const int64_t* dst_strides, const int64_t* shape, int rank, int size);

}  // namespace keel

#endif  // KEEL_NATIVE_POOL_H_
