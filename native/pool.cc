// Native pooling (per image on the pool's threads: the gradients add into their image's dx only)
// and the strided copy behind transpose, slice, pad, concat and tile.
#include "pool.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "thread_pool.h"

namespace keel {
namespace {

/** Calls tap(x offset of channel 0) for each in-bounds cell of output pixel (n, oh, ow); returns the count. */
template <class Tap>
inline int64_t window(const ConvGeom& g, int64_t n, int64_t oh, int64_t ow, Tap tap) {
  int64_t count = 0;
  for (int64_t kh = 0; kh < g.kH; ++kh) {
    const int64_t ih = oh * g.sH - g.pT + kh * g.dH;
    if (ih < 0 || ih >= g.inH) continue;
    for (int64_t kw = 0; kw < g.kW; ++kw) {
      const int64_t iw = ow * g.sW - g.pL + kw * g.dW;
      if (iw < 0 || iw >= g.inW) continue;
      tap(((n * g.inH + ih) * g.inW + iw) * g.inC);
      ++count;
    }
  }
  return count;
}

/**
 * One image, all float32: xi its input (inH x inW x C), dy its output gradient (outH x outW x C),
 * ri its result (the output for Max/Avg, the input gradient for the gradients).
 */
void pool_image(PoolOp op, const float* xi, const float* dy, float* ri, const ConvGeom& g) {
  const int64_t C = g.inC;
  const int64_t img = g.inH * g.inW * C;
  if (op == PoolOp::MaxGrad || op == PoolOp::AvgGrad) std::memset(ri, 0, static_cast<size_t>(img) * 4);
  std::vector<float> best(static_cast<size_t>(C));
  std::vector<int32_t> where(static_cast<size_t>(C));  // offsets within the image
  std::vector<int64_t> taps;
  // the loops below are branch-free per channel (selects), so the compiler vectorises them
  for (int64_t oh = 0; oh < g.outH; ++oh)
    for (int64_t ow = 0; ow < g.outW; ++ow) {
      const int64_t y_at = (oh * g.outW + ow) * C;
      taps.clear();
      window(g, 0, oh, ow, [&](int64_t x_at) { taps.push_back(x_at); });
      const int64_t count = static_cast<int64_t>(taps.size());
      switch (op) {
        case PoolOp::Max: {
          float* __restrict y = ri + y_at;
          std::fill(y, y + C, -std::numeric_limits<float>::infinity());
          for (const int64_t t : taps) {
            const float* __restrict xv = xi + t;
            for (int64_t c = 0; c < C; ++c) {
              const float v = xv[c], cur = y[c];
              y[c] = (v > cur || v != v) ? v : cur;  // NaN propagates, as in TensorFlow
            }
          }
          break;
        }
        case PoolOp::MaxGrad: {
          if (count == 0) break;
          float* __restrict b = best.data();
          int32_t* __restrict wh = where.data();
          const float* __restrict x0 = xi + taps[0];
          for (int64_t c = 0; c < C; ++c) {
            b[c] = x0[c];
            wh[c] = static_cast<int32_t>(taps[0] + c);
          }
          for (int64_t k = 1; k < count; ++k) {
            const float* __restrict xv = xi + taps[k];
            const int32_t base = static_cast<int32_t>(taps[k]);
            for (int32_t c = 0; c < static_cast<int32_t>(C); ++c) {
              const float v = xv[c], cur = b[c];
              const int32_t at = base + c, was = wh[c];
              const int32_t take = -static_cast<int32_t>(v > cur);  // all ones: the first maximum wins ties
              b[c] = v > cur ? v : cur;
              wh[c] = (at & take) | (was & ~take);
            }
          }
          for (int64_t c = 0; c < C; ++c) ri[wh[c]] += dy[y_at + c];
          break;
        }
        case PoolOp::Avg: {
          float* __restrict y = ri + y_at;
          std::fill(y, y + C, 0.0f);
          for (const int64_t t : taps) {
            const float* __restrict xv = xi + t;
            for (int64_t c = 0; c < C; ++c) y[c] += xv[c];
          }
          const double inv = 1.0 / static_cast<double>(count);
          for (int64_t c = 0; c < C; ++c)
            y[c] = count > 0 ? static_cast<float>(y[c] * inv) : std::numeric_limits<float>::quiet_NaN();
          break;
        }
        case PoolOp::AvgGrad: {
          const double inv = count > 0 ? 1.0 / static_cast<double>(count) : 0.0;
          for (const int64_t t : taps) {
            float* __restrict d = ri + t;
            const float* __restrict g0 = dy + y_at;
            for (int64_t c = 0; c < C; ++c) d[c] = static_cast<float>(d[c] + static_cast<double>(g0[c]) * inv);
          }
          break;
        }
      }
    }
}

// Per-thread float32 images of 16-bit operands (the pool's threads persist: no allocation per call)
thread_local std::vector<float> tls_x, tls_dy, tls_res;

/** Image n of a float32 or 16-bit array as float32: the array itself, or decoded into `buf`. */
const float* image_f32(const void* p, DType t, int64_t n, int64_t size, std::vector<float>& buf) {
  if (t == DType::F32) return static_cast<const float*>(p) + n * size;
  if (buf.size() < static_cast<size_t>(size)) buf.resize(static_cast<size_t>(size));
  dtype_to_f32(static_cast<const char*>(p) + n * size * dtype_size(t), buf.data(), size, t);
  return buf.data();
}

/** n elements of B bytes from s (stride si) to d (stride di), in elements. */
template <int B>
inline void strided_run(const char* s, int64_t si, char* d, int64_t di, int64_t n) {
  for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * di * B, s + i * si * B, B);
}

}  // namespace

bool pool_run(PoolOp op, const void* in1, DType t1, const void* in2, DType t2, void* out, DType to, const ConvGeom& g) {
  const int64_t img_x = g.inH * g.inW * g.inC;
  const int64_t img_y = g.outH * g.outW * g.inC;
  const bool grad = op == PoolOp::MaxGrad || op == PoolOp::AvgGrad;
  // operands: x is in1 (Max, Avg) or in2 (MaxGrad); dy is in1 (the gradients); AvgGrad reads no x
  const void* xp = op == PoolOp::MaxGrad ? in2 : in1;
  const DType tx = op == PoolOp::MaxGrad ? t2 : t1;
  const int64_t img_r = grad ? img_x : img_y;
  // image by image on the pool's threads; a 16-bit image is decoded, pooled in float32 and rounded
  // once per element, in per-thread buffers (a whole-tensor float32 copy cost page faults and one
  // thread's decode: the 16-bit pools ran 6x slower than the float32 ones)
  parallel_tasks(g.batch, pool_size(), [&](int64_t n) {
    const float* xi = op == PoolOp::AvgGrad ? nullptr : image_f32(xp, tx, n, img_x, tls_x);
    const float* dyi = grad ? image_f32(in1, t1, n, img_y, tls_dy) : nullptr;
    float* ri;
    if (to == DType::F32) {
      ri = static_cast<float*>(out) + n * img_r;
    } else {
      if (tls_res.size() < static_cast<size_t>(img_r)) tls_res.resize(static_cast<size_t>(img_r));
      ri = tls_res.data();
    }
    pool_image(op, xi, dyi, ri, g);
    if (to != DType::F32) f32_to_dtype(ri, static_cast<char*>(out) + n * img_r * dtype_size(to), img_r, to);
    return true;
  });
  return true;
}

void copy_strided(const void* src, int64_t src_offset, const int64_t* ss, void* dst, int64_t dst_offset,
                  const int64_t* ds, const int64_t* shape, int rank, int size) {
  const char* s = static_cast<const char*>(src) + src_offset * size;
  char* d = static_cast<char*>(dst) + dst_offset * size;
  if (rank == 0) {
    std::memcpy(d, s, static_cast<size_t>(size));
    return;
  }
  int64_t total = 1;
  for (int i = 0; i < rank; ++i) total *= shape[i];
  if (total == 0) return;
  const int last = rank - 1;
  const int64_t inner = shape[last];
  const int64_t rows = total / inner;
  const int64_t s_in = ss[last], d_in = ds[last];
  // rows split over threads when there is enough to move
  const int64_t bytes = total * size;
  const int64_t tasks = bytes < (int64_t{1} << 20) ? 1 : std::min<int64_t>(rows, 4 * pool_size());
  parallel_tasks(tasks, tasks == 1 ? 1 : pool_size(), [&](int64_t t) {
    const int64_t r0 = rows * t / tasks, r1 = rows * (t + 1) / tasks;
    int64_t idx[32] = {0};
    int64_t so = 0, dof = 0, rest = r0;
    for (int k = last - 1; k >= 0; --k) {
      idx[k] = rest % shape[k];
      rest /= shape[k];
      so += idx[k] * ss[k];
      dof += idx[k] * ds[k];
    }
    for (int64_t r = r0; r < r1; ++r) {
      const char* sp = s + so * size;
      char* dp = d + dof * size;
      if (s_in == 1 && d_in == 1) {
        std::memmove(dp, sp, static_cast<size_t>(inner * size));
      } else {
        switch (size) {
          case 1:
            strided_run<1>(sp, s_in, dp, d_in, inner);
            break;
          case 2:
            strided_run<2>(sp, s_in, dp, d_in, inner);
            break;
          case 4:
            strided_run<4>(sp, s_in, dp, d_in, inner);
            break;
          default:
            strided_run<8>(sp, s_in, dp, d_in, inner);
        }
      }
      for (int k = last - 1; k >= 0; --k) {
        ++idx[k];
        so += ss[k];
        dof += ds[k];
        if (idx[k] < shape[k]) break;
        so -= ss[k] * shape[k];
        dof -= ds[k] * shape[k];
        idx[k] = 0;
      }
    }
    return true;
  });
}

}  // namespace keel
