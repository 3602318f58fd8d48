// Keel native 2-D convolutions on NHWC data (see conv.cc).
#ifndef KEEL_NATIVE_CONV_H_
#define KEEL_NATIVE_CONV_H_

#include <cstdint>

#include "numeric.h"

namespace keel {

/**
 * Geometry of conv2d(x [batch, inH, inW, inC], w [kH, kW, inC, outC]) -> y [batch, outH, outW, outC]:
 * y[n, oh, ow, oc] = sum over kh, kw, c of x[n, oh*sH - pT + kh*dH, ow*sW - pL + kw*dW, c] * w[kh, kw, c, oc]
 * (out-of-range input positions count as zero), as src/tensor/ops/conv-info.ts computes it.
 */
struct ConvGeom {
  int64_t batch, inH, inW, inC, outH, outW, outC, kH, kW, sH, sW, dH, dW, pT, pL;
};

enum class ConvOp { Forward = 0, BackpropInput = 1, BackpropFilter = 2 };

/**
 * Forward: (x, w) -> y. BackpropInput: (dy, w) -> dx. BackpropFilter: (x, dy) -> dw. Every element
 * of the output is written. Operands in any of the three formats; float32 accumulation; a 16-bit
 * output is rounded once per element. False if scratch memory could not be allocated.
 */
bool conv_run(ConvOp op, const void* in1, DType t1, const void* in2, DType t2, void* out, DType to, const ConvGeom& g);

}  // namespace keel

#endif  // KEEL_NATIVE_CONV_H_
