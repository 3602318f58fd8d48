// Native NHWC convolutions: forward, gradient with respect to the input and to the filter, in any
// operand format (16-bit operands reach the GEMM unconverted: bfloat16 goes to the VDPBF16PS kernel).
//
//   forward         y = im2col(x) . w, with the patch matrix built per task for a chunk of output
//                   rows (a thread-local buffer of bounded size) and multiplied by a one-thread GEMM
//                   straight into y; tasks (row chunks) are spread over the pool. 1x1 stride-1
//                   unpadded convolutions are one plain multi-threaded GEMM.
//   backprop input  few output rows: col = dy . w^T in one multi-threaded GEMM, then col2im.
//                   stride 1: the transposed convolution is itself a forward convolution of dy with
//                   the filter rotated by 180 degrees and its channel axes swapped, padded by
//                   (k-1)*d - pad, so it runs as above and writes dx directly (no scatter-add).
//                   stride > 1: col = dy . w^T per image chunk, then col2im adds the patches into dx
//                   (per-image tasks, or multi-threaded GEMMs when the batch is smaller than the pool).
//   backprop filter dw = im2col(x)^T . dy is a reduction over all output positions: with enough of
//                   them it is split into a fixed number of row groups (shape-dependent only, so the
//                   result does not depend on the thread count), each accumulating its own float32
//                   partial dw from chunks of im2col rows, and the partials are summed in order;
//                   otherwise chunks of im2col rows feed multi-threaded GEMMs accumulating into dw.
// A 16-bit output is accumulated in float32 and rounded once.
#include "conv.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemm_kernels.h"
#include "thread_pool.h"

namespace keel {
namespace {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Elements of a thread's patch buffer (per task) and of the shared one (chunked filter gradient).
constexpr int64_t kTaskPatchBudget = 128 * 1024;
constexpr int64_t kSharedPatchBudget = 4 * 1024 * 1024;
// Below this many output rows a forward convolution is one GEMM over the whole patch matrix.
constexpr int64_t kFewRows = 512;

struct Buffer {
  void* p = nullptr;
  std::size_t len = 0;
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { std::free(p); }
  bool grow(std::size_t bytes) {
    if (bytes <= len) return true;
    std::free(p);
    const std::size_t n = (bytes + 63) / 64 * 64;
    p = std::aligned_alloc(64, n);
    len = p ? n : 0;
    return p != nullptr;
  }
  template <class T>
  T* as() const {
    return static_cast<T*>(p);
  }
};
thread_local Buffer tls_patch;  // im2col rows of one task
thread_local Buffer tls_acc;    // float32 accumulators of one task
thread_local Buffer tls_rot;    // the rotated filter of a stride-1 input gradient
// Kept between calls of the calling thread (large: fresh allocations would cost page faults):
thread_local Buffer tls_sum;  // float32 filter-gradient partials / accumulator
thread_local Buffer tls_col;  // a patch matrix shared by a call's tasks (filter / few-row input gradients)

bool is_pointwise(const ConvGeom& g) {
  return g.kH == 1 && g.kW == 1 && g.sH == 1 && g.sW == 1 && g.pT == 0 && g.pL == 0 && g.outH == g.inH &&
         g.outW == g.inW;
}

/** Row stride of a patch buffer: the patch, padded off multiples of 4 KiB (L1 set aliasing). */
int64_t patch_ld(int64_t patch, int es) { return (patch * es) % 4096 == 0 ? patch + 64 / es : patch; }

/** memcpy / memset for the short runs of im2col (a few channels): inline, no library call. */
inline void copy_run(char* __restrict d, const char* __restrict s, int64_t n) {
  for (; n >= 32; n -= 32, d += 32, s += 32) std::memcpy(d, s, 32);
  if (n >= 16) std::memcpy(d, s, 16), d += 16, s += 16, n -= 16;
  if (n >= 8) std::memcpy(d, s, 8), d += 8, s += 8, n -= 8;
  if (n >= 4) std::memcpy(d, s, 4), d += 4, s += 4, n -= 4;
  if (n >= 2) std::memcpy(d, s, 2);
}
inline void zero_run(char* d, int64_t n) {
  static const char zeros[32] = {};
  for (; n >= 32; n -= 32, d += 32) std::memcpy(d, zeros, 32);
  if (n > 0) std::memset(d, 0, static_cast<std::size_t>(n));
}

/** Rows [r0, r0+rows) of the patch matrix of x (row = output position, columns (kh, kw, c)), row stride ld. */
void im2col(const char* x, int es, const ConvGeom& g, int64_t r0, int64_t rows, char* col, int64_t ld) {
  const int64_t perImage = g.outH * g.outW;
  const int64_t cBytes = g.inC * es;
  const int64_t runBytes = g.kW * cBytes;
  const bool runs = g.dW == 1;
  // (n, oh, ow) of row r0, then stepped along
  int64_t n = r0 / perImage, oh = (r0 % perImage) / g.outW, ow = r0 % g.outW;
  for (int64_t r = 0; r < rows; ++r) {
    char* dst = col + r * ld * es;
    const int64_t ih0 = oh * g.sH - g.pT, iw0 = ow * g.sW - g.pL;
    const bool inner = runs && iw0 >= 0 && iw0 + g.kW <= g.inW;
    for (int64_t kh = 0; kh < g.kH; ++kh) {
      const int64_t ih = ih0 + kh * g.dH;
      if (ih < 0 || ih >= g.inH) {
        zero_run(dst, runBytes);
        dst += runBytes;
        continue;
      }
      const char* rowBase = x + (n * g.inH + ih) * g.inW * cBytes;
      if (inner) {
        copy_run(dst, rowBase + iw0 * cBytes, runBytes);
        dst += runBytes;
        continue;
      }
      for (int64_t kw = 0; kw < g.kW; ++kw) {
        const int64_t iw = iw0 + kw * g.dW;
        if (iw >= 0 && iw < g.inW) copy_run(dst, rowBase + iw * cBytes, cBytes);
        else zero_run(dst, cBytes);
        dst += cBytes;
      }
    }
    if (++ow == g.outW) {
      ow = 0;
      if (++oh == g.outH) {
        oh = 0;
        ++n;
      }
    }
  }
}

/** Adds the float32 patch rows [r0, r0+rows) of image n back into acc (that image's inH x inW x inC). */
void col2im_add(const float* col, const ConvGeom& g, int64_t r0, int64_t rows, float* acc) {
  const int64_t patch = g.kH * g.kW * g.inC;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t gr = r0 + r;
    const int64_t oh = gr / g.outW, ow = gr % g.outW;
    const int64_t ih0 = oh * g.sH - g.pT, iw0 = ow * g.sW - g.pL;
    const float* src = col + r * patch;
    for (int64_t kh = 0; kh < g.kH; ++kh) {
      const int64_t ih = ih0 + kh * g.dH;
      if (ih < 0 || ih >= g.inH) {
        src += g.kW * g.inC;
        continue;
      }
      float* rowBase = acc + ih * g.inW * g.inC;
      for (int64_t kw = 0; kw < g.kW; ++kw, src += g.inC) {
        const int64_t iw = iw0 + kw * g.dW;
        if (iw < 0 || iw >= g.inW) continue;
        float* d = rowBase + iw * g.inC;
        for (int64_t c = 0; c < g.inC; ++c) d[c] += src[c];
      }
    }
  }
}

GemmArgs plain(const void* a, int64_t lda, bool tA, DType ta, const void* b, int64_t ldb, bool tB, DType tb, void* c,
               int64_t ldc, DType tc, int64_t M, int64_t N, int64_t K, bool accumulate, bool direct_a = false) {
  GemmArgs g{a, lda, 0, tA, b, ldb, 0, tB, c, ldc, 0, 1, M, N, K, accumulate};
  g.ta = ta;
  g.tb = tb;
  g.tc = tc;
  g.direct_a = direct_a;
  return g;
}

/** dst[c][r] = src[r][c] for an R x C matrix, in 32 x 32 blocks (both sides stay in cache). */
template <class T>
void transpose_tile(const T* src, T* dst, int64_t R, int64_t C) {
  constexpr int64_t B = 32;
  for (int64_t r0 = 0; r0 < R; r0 += B)
    for (int64_t c0 = 0; c0 < C; c0 += B) {
      const int64_t r1 = std::min(R, r0 + B), c1 = std::min(C, c0 + B);
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) dst[c * R + r] = src[r * C + c];
    }
}

bool forward(const void* x, DType tx, const void* w, DType tw, void* y, DType ty, const ConvGeom& g) {
  const int64_t rows = g.batch * g.outH * g.outW;
  const int64_t patch = g.kH * g.kW * g.inC;
  if (is_pointwise(g)) return gemm_run(plain(x, g.inC, false, tx, w, g.outC, false, tw, y, g.outC, ty, rows, g.outC, g.inC, false));
  const int threads = pool_size();
  const int ex = dtype_size(tx), ey = dtype_size(ty);
  const int64_t ld = patch_ld(patch, ex);
  if (rows < kFewRows && rows * ld <= kSharedPatchBudget) {
    // Few output rows (deep layers' small images): per-task GEMMs would each pack the whole filter
    // for a handful of rows, so build the patch matrix once and run one multi-threaded GEMM.
    if (!tls_patch.grow(static_cast<std::size_t>(rows * ld * ex))) return false;
    im2col(static_cast<const char*>(x), ex, g, 0, rows, tls_patch.as<char>(), ld);
    return gemm_run(plain(tls_patch.p, ld, false, tx, w, g.outC, false, tw, y, g.outC, ty, rows, g.outC, patch, false, true));
  }
  // Row chunks: a bounded patch buffer, and several tasks per thread when there are rows enough.
  int64_t mc = std::min(std::max<int64_t>(1, kTaskPatchBudget / patch), ceil_div(rows, 4 * static_cast<int64_t>(threads)));
  mc = std::max<int64_t>(std::min<int64_t>(rows, 14), ceil_div(mc, 14) * 14);
  const int64_t ntasks = ceil_div(rows, mc);
  return parallel_tasks(ntasks, threads, [&](int64_t t) {
    const int64_t r0 = t * mc, n = std::min(mc, rows - r0);
    if (!tls_patch.grow(static_cast<std::size_t>(n * ld * ex))) return false;
    im2col(static_cast<const char*>(x), ex, g, r0, n, tls_patch.as<char>(), ld);
    return gemm_run(plain(tls_patch.p, ld, false, tx, w, g.outC, false, tw, static_cast<char*>(y) + r0 * g.outC * ey,
                          g.outC, ty, n, g.outC, patch, false, true),
                    1);
  });
}

/**
 * Image n's float32 accumulator for an input gradient, zeroed: dx's own image when dx is float32,
 * else this thread's scratch (finish_image rounds it into dx). nullptr when out of memory.
 */
float* image_accumulator(void* dx, DType tdx, int64_t n, int64_t imgSize) {
  float* acc;
  if (tdx == DType::F32) {
    acc = static_cast<float*>(dx) + n * imgSize;
  } else {
    if (!tls_acc.grow(static_cast<std::size_t>(imgSize * 4))) return nullptr;
    acc = tls_acc.as<float>();
  }
  std::memset(acc, 0, static_cast<std::size_t>(imgSize * 4));
  return acc;
}

/** Stores image n's accumulator into a 16-bit dx (a float32 dx already holds it). */
void finish_image(const float* acc, void* dx, DType tdx, int64_t n, int64_t imgSize) {
  if (tdx != DType::F32) f32_to_dtype(acc, static_cast<char*>(dx) + n * imgSize * dtype_size(tdx), imgSize, tdx);
}

bool backprop_input(const void* dy, DType tdy, const void* w, DType tw, void* dx, DType tdx, const ConvGeom& g) {
  const int64_t rows = g.batch * g.outH * g.outW;
  if (is_pointwise(g))  // dx = dy . w^T, w is [inC, outC]
    return gemm_run(plain(dy, g.outC, false, tdy, w, g.outC, true, tw, dx, g.inC, tdx, rows, g.inC, g.outC, false));
  const int ew = dtype_size(tw);
  const int64_t patch_all = g.kH * g.kW * g.inC;
  if (rows < kFewRows && rows * patch_all <= kSharedPatchBudget) {
    // Few output rows (small images deep in a network): one multi-threaded GEMM col = dy . w^T
    // for every row (w read as it is: no rotated copy, packed once), then col2im per image.
    if (!tls_col.grow(static_cast<std::size_t>(rows * patch_all * 4))) return false;
    const float* col = tls_col.as<float>();
    if (!gemm_run(plain(dy, g.outC, false, tdy, w, g.outC, true, tw, tls_col.p, patch_all, DType::F32, rows, patch_all,
                        g.outC, false)))
      return false;
    const int64_t perImage = g.outH * g.outW;
    const int64_t imgSize = g.inH * g.inW * g.inC;
    return parallel_tasks(g.batch, pool_size(), [&](int64_t n) {
      float* acc = image_accumulator(dx, tdx, n, imgSize);
      if (!acc) return false;
      col2im_add(col + n * perImage * patch_all, g, 0, perImage, acc);
      finish_image(acc, dx, tdx, n, imgSize);
      return true;
    });
  }
  if (g.sH == 1 && g.sW == 1) {
    // dx[ih] = sum_kh dy[ih + pT - kh*d] w[kh] = sum_kh' dy[ih - ((kH-1)*d - pT) + kh'*d] w[kH-1-kh']
    // the rotated filter, in a buffer kept between calls (no page faults), one tap per task
    if (!tls_rot.grow(static_cast<std::size_t>(g.kH * g.kW * g.inC * g.outC * ew))) return false;
    char* rot = tls_rot.as<char>();
    parallel_tasks(g.kH * g.kW, pool_size(), [&](int64_t tap) {
      const int64_t kh = tap / g.kW, kw = tap % g.kW;
      const char* src = static_cast<const char*>(w) + ((g.kH - 1 - kh) * g.kW + (g.kW - 1 - kw)) * g.inC * g.outC * ew;
      char* dst = rot + tap * g.outC * g.inC * ew;
      if (ew == 4) transpose_tile(reinterpret_cast<const uint32_t*>(src), reinterpret_cast<uint32_t*>(dst), g.inC, g.outC);
      else transpose_tile(reinterpret_cast<const uint16_t*>(src), reinterpret_cast<uint16_t*>(dst), g.inC, g.outC);
      return true;
    });
    const ConvGeom t{g.batch, g.outH, g.outW, g.outC, g.inH, g.inW, g.inC, g.kH, g.kW, 1, 1, g.dH, g.dW,
                     (g.kH - 1) * g.dH - g.pT, (g.kW - 1) * g.dW - g.pL};
    return forward(dy, tdy, rot, tw, dx, tdx, t);
  }
  // Strided: col2im of dy . w^T, image by image.
  const int64_t patch = g.kH * g.kW * g.inC;
  const int64_t perImage = g.outH * g.outW;
  const int64_t imgSize = g.inH * g.inW * g.inC;
  const int64_t cr = std::max<int64_t>(1, std::min(perImage, kTaskPatchBudget * 4 / patch));
  const int edy = dtype_size(tdy);
  const bool perImageTasks = g.batch >= pool_size();
  auto image = [&](int64_t n) {
    float* acc = image_accumulator(dx, tdx, n, imgSize);
    if (!acc) return false;
    if (!tls_patch.grow(static_cast<std::size_t>(cr * patch * 4))) return false;
    float* col = tls_patch.as<float>();
    for (int64_t r0 = 0; r0 < perImage; r0 += cr) {
      const int64_t n_rows = std::min(cr, perImage - r0);
      const char* a = static_cast<const char*>(dy) + (n * perImage + r0) * g.outC * edy;
      if (!gemm_run(plain(a, g.outC, false, tdy, w, g.outC, true, tw, col, patch, DType::F32, n_rows, patch, g.outC, false),
                    perImageTasks ? 1 : 0))
        return false;
      col2im_add(col, g, r0, n_rows, acc);
    }
    finish_image(acc, dx, tdx, n, imgSize);
    return true;
  };
  if (perImageTasks) return parallel_tasks(g.batch, pool_size(), image);
  for (int64_t n = 0; n < g.batch; ++n)
    if (!image(n)) return false;
  return true;
}

bool backprop_filter(const void* x, DType tx, const void* dy, DType tdy, void* dw, DType tdw, const ConvGeom& g) {
  const int64_t rows = g.batch * g.outH * g.outW;
  const int64_t patch = g.kH * g.kW * g.inC;
  const int64_t P = patch * g.outC;
  const bool pw = is_pointwise(g);
  const int ex = dtype_size(tx), edy = dtype_size(tdy), edw = dtype_size(tdw);
  const int64_t ld = patch_ld(patch, ex);
  const char* xb = static_cast<const char*>(x);
  const char* dyb = static_cast<const char*>(dy);
  // Row groups: at least 1024 rows each, at most 16, partials bounded to 8M floats.
  const int64_t groups = std::min<int64_t>({16, rows / 1024, std::max<int64_t>(1, (int64_t{8} << 20) / P)});
  if (groups >= 4) {
    if (!tls_sum.grow(static_cast<std::size_t>(groups * P * 4))) return false;
    float* partial = tls_sum.as<float>();
    const int64_t cr = std::max<int64_t>(1, std::min<int64_t>(512, kTaskPatchBudget * 2 / patch));
    const bool ok = parallel_tasks(groups, pool_size(), [&](int64_t gi) {
      const int64_t lo = gi * rows / groups, hi = (gi + 1) * rows / groups;
      float* part = partial + gi * P;
      for (int64_t r0 = lo; r0 < hi; r0 += cr) {
        const int64_t n = std::min(cr, hi - r0);
        const void* a;
        if (pw) {
          a = xb + r0 * g.inC * ex;
        } else {
          if (!tls_patch.grow(static_cast<std::size_t>(n * ld * ex))) return false;
          im2col(xb, ex, g, r0, n, tls_patch.as<char>(), ld);
          a = tls_patch.p;
        }
        if (!gemm_run(plain(a, pw ? patch : ld, true, tx, dyb + r0 * g.outC * edy, g.outC, false, tdy, part, g.outC,
                            DType::F32, patch, g.outC, n, r0 > lo, !pw),
                      1))
          return false;
      }
      return true;
    });
    if (ok) {
      // Sum the partials in group order, in parallel over element ranges, into partial[0..P).
      const int64_t span = 16384;
      parallel_tasks(ceil_div(P, span), pool_size(), [&](int64_t t) {
        const int64_t e0 = t * span, e1 = std::min(P, e0 + span);
        for (int64_t gi = 1; gi < groups; ++gi) {
          const float* src = partial + gi * P;
          for (int64_t e = e0; e < e1; ++e) partial[e] += src[e];
        }
        f32_to_dtype(partial + e0, static_cast<char*>(dw) + e0 * edw, e1 - e0, tdw);
        return true;
      });
    }
    return ok;
  }
  // Few rows: chunks of the patch matrix (built in parallel), each a multi-threaded GEMM into dw.
  if (tdw != DType::F32 && !tls_sum.grow(static_cast<std::size_t>(P * 4))) return false;
  float* acc = tdw == DType::F32 ? static_cast<float*>(dw) : tls_sum.as<float>();
  const int64_t cr = std::max<int64_t>(1, std::min(rows, kSharedPatchBudget / patch));
  char* col = nullptr;
  if (!pw) {
    if (!tls_col.grow(static_cast<std::size_t>(std::min(cr, rows) * ld * ex))) return false;
    col = tls_col.as<char>();
  }
  bool ok = true;
  for (int64_t r0 = 0; r0 < rows && ok; r0 += cr) {
    const int64_t n = std::min(cr, rows - r0);
    const void* a = xb + r0 * g.inC * ex;
    if (!pw) {
      const int64_t sub = 256;
      parallel_tasks(ceil_div(n, sub), pool_size(), [&](int64_t t) {
        const int64_t s0 = t * sub;
        im2col(xb, ex, g, r0 + s0, std::min(sub, n - s0), col + s0 * ld * ex, ld);
        return true;
      });
      a = col;
    }
    ok = gemm_run(plain(a, pw ? patch : ld, true, tx, dyb + r0 * g.outC * edy, g.outC, false, tdy, acc, g.outC, DType::F32,
                        patch, g.outC, n, r0 > 0));
  }
  if (acc != dw && ok) f32_to_dtype(acc, dw, P, tdw);
  return ok;
}

}  // namespace

bool conv_run(ConvOp op, const void* in1, DType t1, const void* in2, DType t2, void* out, DType to, const ConvGeom& g) {
  const int64_t outSize = op == ConvOp::Forward         ? g.batch * g.outH * g.outW * g.outC
                          : op == ConvOp::BackpropInput ? g.batch * g.inH * g.inW * g.inC
                                                        : g.kH * g.kW * g.inC * g.outC;
  if (outSize <= 0) return true;
  const int64_t reduce = op == ConvOp::Forward         ? g.kH * g.kW * g.inC
                         : op == ConvOp::BackpropInput ? g.kH * g.kW * g.outC * g.outH * g.outW
                                                       : g.batch * g.outH * g.outW;
  if (reduce <= 0) {
    std::memset(out, 0, static_cast<std::size_t>(outSize * dtype_size(to)));
    return true;
  }
  switch (op) {
    case ConvOp::Forward:
      return forward(in1, t1, in2, t2, out, to, g);
    case ConvOp::BackpropInput:
      return backprop_input(in1, t1, in2, t2, out, to, g);
    default:
      return backprop_filter(in1, t1, in2, t2, out, to, g);
  }
}

}  // namespace keel
