// The fused-kernel interpreter (see fused.h for the program format). The domain is cut into blocks
// of kBlock elements, split evenly over the participating threads; per block every input is loaded
// (decoded to float32, or read in place when it is a float32 array walked like the domain), the
// expressions run one after another over float32 registers of kBlock values (reused once their
// values are dead: see assign_slots), and the stores encode the registers into their outputs. Loads walk the collapsed loop nest segment by segment (a
// segment: a run along the innermost dim), which is also how a reduction finds its accumulators.
#include "fused.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "gemm_kernels.h"
#include "numeric.h"
#include "thread_pool.h"

namespace keel {
namespace fused_portable {
#include "fused_body.h"
}  // namespace fused_portable
}  // namespace keel

#if defined(__x86_64__) || defined(__i386__)
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
namespace keel {
namespace fused_avx2 {
#include "fused_body.h"
}  // namespace fused_avx2
}  // namespace keel
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")
namespace keel {
namespace fused_avx512 {
#include "fused_body.h"
}  // namespace fused_avx512
}  // namespace keel
#pragma GCC pop_options
#endif

namespace keel {
namespace {

constexpr int kBlock = 1024;
// Registers lie kRegStride floats apart: 64 bytes more than a block, so that a pass reading one
// register and writing another does not hit addresses 4 KiB apart (the CPU then takes the load for
// a read of the store it follows and stalls: a chain of multiplies ran at 5 cycles a vector).
constexpr int kRegStride = kBlock + 16;
constexpr int64_t kMinParallel = 32768;  // below this, one thread (waking the pool costs more)
enum Code { kF32 = 0, kBf16 = 1, kF16 = 2, kBool = 3 };
enum Kind { kInput = 0, kUnary = 1, kBinary = 2, kWhere = 3, kCast = 4 };
enum Mode { kFlat = 0, kScalar = 1, kStrided = 2, kRow = 3 };

const BlockOps& ops_for_cpu() {
#if defined(__x86_64__) || defined(__i386__)
  const Isa isa = selected_isa();
  if (isa >= Isa::Avx512) return fused_avx512::kOps;
  if (isa == Isa::Avx2) return fused_avx2::kOps;
#endif
  return fused_portable::kOps;
}

DType fmt(int code) { return code == kBf16 ? DType::BF16 : code == kF16 ? DType::F16 : DType::F32; }

/** Bytes per element of a storage code. */
int code_bytes(int code) { return code == kF32 ? 4 : code == kBool ? 1 : 2; }

/** n values of input storage (code) from p[at + j*stride] into dst as float32. */
void load(const void* p, int code, int64_t at, int64_t stride, float* dst, int n) {
  if (stride == 1 && code != kBool) return dtype_to_f32(static_cast<const char*>(p) + at * code_bytes(code), dst, n, fmt(code));
  if (stride == 0) {
    const float v = code == kBool ? static_cast<const uint8_t*>(p)[at] : load_as_f32(p, at, fmt(code));
    std::fill(dst, dst + n, v);
    return;
  }
  switch (code) {
    case kF32:
      for (int j = 0; j < n; ++j) dst[j] = static_cast<const float*>(p)[at + j * stride];
      break;
    case kBool:
      for (int j = 0; j < n; ++j) dst[j] = static_cast<const uint8_t*>(p)[at + j * stride];
      break;
    default:
      for (int j = 0; j < n; ++j) dst[j] = load_as_f32(p, at + j * stride, fmt(code));
  }
}

void store(const float* src, void* p, int code, int64_t at, int n) {
  if (code == kBool) {
    uint8_t* d = static_cast<uint8_t*>(p) + at;
    for (int j = 0; j < n; ++j) d[j] = static_cast<uint8_t>(src[j]);
    return;
  }
  f32_to_dtype(src, static_cast<char*>(p) + at * code_bytes(code), n, fmt(code));
}

/** Rounds n float32 values to float16 precision (src may equal dst). */
void round_f16(const float* src, float* dst, uint16_t* tmp, int n) {
  f32_to_dtype(src, tmp, n, DType::F16);
  dtype_to_f32(tmp, dst, n, DType::F16);
}

double reduce_init(int op) {
  switch (static_cast<ReduceCode>(op)) {
    case ReduceCode::Prod:
      return 1;
    case ReduceCode::Max:
      return -std::numeric_limits<double>::infinity();
    case ReduceCode::Min:
      return std::numeric_limits<double>::infinity();
    default:
      return 0;
  }
}

struct Partial {
  std::vector<double> acc;
  int64_t lo = 0;  // accumulator index of acc[0]
};

struct Job {
  const FusedProgram* p;
  const void* const* in;
  void* const* out;
  const BlockOps* ops;
  int64_t n_blocks;
  int64_t n_tasks;
  std::vector<Partial>* partials;  // one per task (reductions)
  const std::vector<std::vector<float>>* rows;  // per input: its decoded row (row-broadcast inputs)
  const int* slot;   // per expression: its register (see assign_slots)
  int n_slots;
};

/** A strided input expression's walk through a block: its position and the previous run. */
struct StridedRun {
  const int32_t* in;  // the input's layout in the program
  const void* src;
  float* reg;
  int64_t pos, prev;  // position of the current run; where the previous run started (-1: none)
  int prev_off, prev_len;
};

/** Per-thread scratch that outlives a call (the pool's threads persist): no allocation per op. */
struct Scratch {
  std::vector<float> regs;
  std::vector<uint16_t> tmp;
  std::vector<const float*> val;  // each expression's values in this block
  std::vector<char> uni;          // val[e] is one value for the whole block
  std::vector<StridedRun> runs;
};
thread_local Scratch t_scratch;

/**
 * Prefetches the flat inputs and the outputs of the block at i0. A block of one stream is a 4 KiB
 * page (1024 float32 values), and the hardware's stream prefetchers stop at page boundaries: without
 * this, every block of a domain larger than the caches starts each of its streams with a miss, and a
 * many-stream kernel (Adam: 4 inputs, 3 outputs) ran at a quarter of the memory's bandwidth.
 */
void prefetch_block(const FusedProgram& p, const Job& job, int64_t i0, int len) {
  const int stride_len = 2 + p.n_dims;
  const auto lines = [&](const void* base, int64_t bytes_per, bool write) {
    const char* b = static_cast<const char*>(base) + i0 * bytes_per;
    const int64_t bytes = len * bytes_per;
    for (int64_t off = 0; off < bytes; off += 64) {
      if (write) __builtin_prefetch(b + off, 1, 3);
      else __builtin_prefetch(b + off, 0, 3);
    }
  };
  for (int k = 0; k < p.n_inputs; ++k) {
    const int32_t* in = p.inputs + stride_len * k;
    if (in[1] == kFlat) lines(job.in[k], code_bytes(in[0]), false);
  }
  for (int k = 0; k < p.n_stores; ++k) {
    lines(job.out[k], code_bytes(p.exprs[6 * p.stores[k] + 5]), true);
  }
}

/** Whether cast expression x (kind kCast) only relabels its operand's values (no register of its own). */
bool cast_aliases(const FusedProgram& p, const int32_t* x) {
  const int to = x[5], from = p.exprs[6 * x[2] + 5];
  return !(to == kBool && from != kBool) && !(to == kF16 && from != kF16);
}

/**
 * Registers by liveness: expression e's block of kBlock values lives from its definition to its last
 * reader (to the end for stores and the reduced value; strided inputs, decoded before the first
 * expression, from the start), and registers of dead values are reused. Adam's 27 expressions had
 * 27 blocks of 4 KiB, more than the L1 cache holds, so every pass over a block went to L2; a handful
 * is live at any time. An aliasing cast reads its operand's register, which lives as long as the cast.
 * Returns the number of registers.
 */
int assign_slots(const FusedProgram& p, std::vector<int>& slot) {
  const int n = p.n_exprs;
  std::vector<int> end(static_cast<size_t>(n)), owner(static_cast<size_t>(n));
  const int stride_len = 2 + p.n_dims;
  for (int e = 0; e < n; ++e) {
    end[e] = e;
    owner[e] = e;
    const int32_t* x = p.exprs + 6 * e;
    const int refs = x[0] == kInput ? 0 : x[0] == kWhere ? 3 : x[0] == kBinary ? 2 : 1;
    for (int k = 0; k < refs; ++k) end[x[2 + k]] = std::max(end[x[2 + k]], e);
    if (x[0] == kCast && cast_aliases(p, x)) owner[e] = owner[x[2]];
  }
  for (int k = 0; k < p.n_stores; ++k) end[p.stores[k]] = n;
  if (p.reduce_op >= 0) end[p.reduce_expr] = n;
  // a value read through an alias lives as long as the alias (an owner comes before its aliases)
  for (int e = n - 1; e >= 0; --e) end[owner[e]] = std::max(end[owner[e]], end[e]);
  slot.assign(static_cast<size_t>(n), -1);
  std::vector<int> holder;  // per register: the expression in it (-1: free)
  const auto take = [&](int e) {
    int r = 0;
    while (r < static_cast<int>(holder.size()) && holder[r] >= 0) ++r;
    if (r == static_cast<int>(holder.size())) holder.push_back(-1);
    holder[r] = e;
    slot[e] = r;
  };
  for (int e = 0; e < n; ++e) {
    const int32_t* x = p.exprs + 6 * e;
    if (x[0] == kInput && p.inputs[stride_len * x[2] + 1] == kStrided) take(e);
  }
  for (int e = 0; e < n; ++e) {
    for (int& h : holder)
      if (h >= 0 && end[h] < e) h = -1;
    if (slot[e] < 0) take(e);
  }
  return static_cast<int>(holder.size());
}

/** Task t's blocks: the t-th of n_tasks even runs of blocks, as elements [from, to). */
void task_range(const FusedProgram& p, int64_t n_blocks, int64_t n_tasks, int64_t t, int64_t* from, int64_t* to) {
  const int64_t b0 = n_blocks * t / n_tasks;
  const int64_t b1 = n_blocks * (t + 1) / n_tasks;
  *from = b0 * kBlock;
  *to = std::min(p.n, b1 * kBlock);
}

/** The accumulators of the outer indices that elements [from, to) reach, at their initial value. */
void start_partial(const FusedProgram& p, int64_t from, int64_t to, Partial* part) {
  const int64_t rin = p.r * p.inner;
  const int64_t o_lo = from / rin;
  const int64_t o_hi = (to - 1) / rin;
  part->lo = o_lo * p.inner;
  part->acc.assign(static_cast<size_t>((o_hi - o_lo + 1) * p.inner), reduce_init(p.reduce_op));
}

/** Combines the tasks' partial accumulators in task order, then scales and stores the reduction. */
void finish_reduction(const FusedProgram& p, const std::vector<Partial>& partials, void* const* outputs) {
  const int64_t m = p.outer * p.inner;
  std::vector<double> acc(static_cast<size_t>(m), reduce_init(p.reduce_op));
  const auto op = static_cast<ReduceCode>(p.reduce_op);
  for (const Partial& part : partials) {
    for (size_t j = 0; j < part.acc.size(); ++j) {
      double& a = acc[static_cast<size_t>(part.lo) + j];
      const double x = part.acc[j];
      if (op == ReduceCode::Sum || op == ReduceCode::Mean) a += x;
      else if (op == ReduceCode::Prod) a *= x;
      else if (op == ReduceCode::Max ? (x > a || x != x) : (x < a || x != x)) a = x;
    }
  }
  const double scale = op == ReduceCode::Mean ? 1.0 / static_cast<double>(p.r) : 1.0;
  float vals[kBlock];
  for (int64_t j0 = 0; j0 < m; j0 += kBlock) {
    const int len = static_cast<int>(std::min<int64_t>(kBlock, m - j0));
    for (int j = 0; j < len; ++j) vals[j] = static_cast<float>(op == ReduceCode::Mean ? acc[j0 + j] * scale : acc[j0 + j]);
    store(vals, outputs[p.n_stores], p.reduce_dtype, j0, len);
  }
}

/** The interpreter's split of a domain: its blocks, the threads and tasks that run them. */
struct Split {
  int64_t n_blocks;
  int threads;
  int64_t n_tasks;
};
Split split_of(const FusedProgram& p) {
  const int64_t n_blocks = (p.n + kBlock - 1) / kBlock;
  const int threads = p.n < kMinParallel ? 1 : pool_size();
  // a few tasks per thread balance threads that other work slows down
  return {n_blocks, threads, std::min<int64_t>(n_blocks, threads == 1 ? 1 : 4 * threads)};
}

/** Task t: the t-th of n_tasks even runs of blocks. */
void run_blocks(const Job& job, int64_t task) {
  const FusedProgram& p = *job.p;
  int64_t from, to;
  task_range(p, job.n_blocks, job.n_tasks, task, &from, &to);
  if (from >= to) return;
  Scratch& s = t_scratch;
  // 16 floats more than the registers, so that they can start on a 64-byte boundary
  if (s.regs.size() < static_cast<size_t>(job.n_slots) * kRegStride + 16) s.regs.resize(static_cast<size_t>(job.n_slots) * kRegStride + 16);
  float* const regs = s.regs.data() + ((64 - reinterpret_cast<uintptr_t>(s.regs.data()) % 64) % 64) / 4;
  if (s.tmp.size() < kBlock) s.tmp.resize(kBlock);
  s.val.resize(static_cast<size_t>(p.n_exprs));
  s.uni.resize(static_cast<size_t>(p.n_exprs));
  s.runs.resize(static_cast<size_t>(p.n_exprs));
  std::vector<const float*>& val = s.val;
  std::vector<char>& uni = s.uni;
  const int stride_len = 2 + p.n_dims;
  const int last = p.n_dims - 1;
  const bool reducing = p.reduce_op >= 0;
  const int64_t rin = p.r * p.inner;
  Partial* part = reducing ? &(*job.partials)[task] : nullptr;
  if (reducing) start_partial(p, from, to, part);
  int64_t idx[kFusedMaxDims];
  for (int64_t i0 = from; i0 < to; i0 += kBlock) {
    const int len = static_cast<int>(std::min<int64_t>(kBlock, to - i0));
    if (i0 + kBlock < to) prefetch_block(p, job, i0 + kBlock, static_cast<int>(std::min<int64_t>(kBlock, to - i0 - kBlock)));
    const auto reg_of = [&](int e) { return regs + static_cast<size_t>(job.slot[e]) * kRegStride; };
    // pass 1: the segment walk for strided inputs (the others are loaded where they are read)
    bool any_strided = false;
    std::fill(uni.begin(), uni.end(), 0);
    for (int e = 0; e < p.n_exprs; ++e) {
      const int32_t* x = p.exprs + 6 * e;
      if (x[0] != kInput || p.inputs[stride_len * x[2] + 1] != kStrided) continue;
      any_strided = true;
      val[e] = reg_of(e);
    }
    if (any_strided) {
      int64_t rest = i0;
      for (int d = last; d >= 0; --d) {
        idx[d] = rest % p.dims[d];
        rest /= p.dims[d];
      }
      // the strided input expressions, their positions at the block start
      StridedRun* runs = s.runs.data();
      int n_st = 0;
      for (int e = 0; e < p.n_exprs; ++e) {
        const int32_t* x = p.exprs + 6 * e;
        if (x[0] != kInput) continue;
        const int32_t* in = p.inputs + stride_len * x[2];
        if (in[1] != kStrided) continue;
        int64_t pos = 0;
        for (int d = 0; d < p.n_dims; ++d) pos += idx[d] * in[2 + d];
        runs[n_st++] = {in, job.in[x[2]], reg_of(e), pos, -1, 0, 0};
      }
      for (int off = 0; off < len;) {
        const int L = static_cast<int>(std::min<int64_t>(p.dims[last] - idx[last], len - off));
        for (int q = 0; q < n_st; ++q) {
          StridedRun& u = runs[q];
          // a run that starts where the previous one did (a broadcast over the dim above) is a copy
          // of the values already decoded
          if (u.pos == u.prev && L <= u.prev_len) {
            const float* from = u.reg + u.prev_off;
            float* to = u.reg + off;
            for (int j = 0; j < L; ++j) to[j] = from[j];
          } else {
            load(u.src, u.in[0], u.pos, u.in[2 + last], u.reg + off, L);
            u.prev = u.pos;
            u.prev_off = off;
            u.prev_len = L;
          }
          u.pos += static_cast<int64_t>(L) * u.in[2 + last];
        }
        off += L;
        // advance the odometer and each input's position with it
        idx[last] += L;
        for (int d = last; d > 0 && idx[d] == p.dims[d]; --d) {
          idx[d] = 0;
          ++idx[d - 1];
          for (int q = 0; q < n_st; ++q) runs[q].pos += runs[q].in[2 + d - 1] - p.dims[d] * runs[q].in[2 + d];
        }
      }
    }
    // pass 2: the expressions. A uniform value (uni: a scalar input, or computed from uniform
    // values only) is one element, computed once and expanded only where an op needs a whole block.
    const auto expand = [&](int e) {
      if (!uni[e]) return;
      float* reg = reg_of(e);
      std::fill(reg, reg + len, val[e][0]);
      val[e] = reg;
      uni[e] = 0;
    };
    for (int e = 0; e < p.n_exprs; ++e) {
      const int32_t* x = p.exprs + 6 * e;
      float* reg = reg_of(e);
      const int dtype = x[5];
      int n = len;  // values computed: 1 for a uniform result
      switch (x[0]) {
        case kInput: {
          const int32_t* in = p.inputs + stride_len * x[2];
          const int code = in[0];
          if (in[1] == kFlat) {
            if (code == kF32) val[e] = static_cast<const float*>(job.in[x[2]]) + i0;
            else {
              load(job.in[x[2]], code, i0, 1, reg, len);
              val[e] = reg;
            }
          } else if (in[1] == kScalar) {
            load(job.in[x[2]], code, 0, 0, reg, 1);  // one value for the block (see uni)
            val[e] = reg;
            uni[e] = 1;
          } else if (in[1] == kRow) {
            // the value depends on the innermost index only: the row, tiled from position i0 % D
            const std::vector<float>& row = (*job.rows)[x[2]];
            const int64_t D = static_cast<int64_t>(row.size());
            int64_t k = i0 % D;
            for (int off = 0; off < len;) {
              const int m = static_cast<int>(std::min<int64_t>(D - k, len - off));
              std::memcpy(reg + off, row.data() + k, static_cast<size_t>(m) * 4);
              off += m;
              k = 0;
            }
            val[e] = reg;
          }
          continue;
        }
        case kUnary:
          uni[e] = uni[x[2]];
          n = uni[e] ? 1 : len;
          job.ops->unary(x[1], val[x[2]], reg, n);
          break;
        case kBinary: {
          const bool ua = uni[x[2]], ub = uni[x[3]];
          uni[e] = ua && ub;
          n = uni[e] ? 1 : len;
          if (ua && !ub) job.ops->binary_a1(x[1], val[x[2]], val[x[3]], reg, n);
          else if (ub && !ua) job.ops->binary_b1(x[1], val[x[2]], val[x[3]], reg, n);
          else job.ops->binary(x[1], val[x[2]], val[x[3]], reg, n);
          break;
        }
        case kWhere:
          expand(x[2]);
          expand(x[3]);
          expand(x[4]);
          job.ops->where(val[x[2]], val[x[3]], val[x[4]], reg, len);
          break;
        case kCast: {
          const int from_code = p.exprs[6 * x[2] + 5];
          uni[e] = uni[x[2]];
          n = uni[e] ? 1 : len;
          if (dtype == kBool && from_code != kBool) job.ops->to_bool(val[x[2]], reg, n);
          else if (dtype == kF16 && from_code != kF16) round_f16(val[x[2]], reg, s.tmp.data(), n);
          else {
            val[e] = val[x[2]];  // the value is unchanged (bfloat16 stays at float32 precision until stored)
            continue;
          }
          val[e] = reg;
          continue;
        }
      }
      if (dtype == kF16) round_f16(reg, reg, s.tmp.data(), n);
      val[e] = reg;
    }
    // pass 3: stores and the reduction
    for (int k = 0; k < p.n_stores; ++k) {
      const int e = p.stores[k];
      expand(e);
      store(val[e], job.out[k], p.exprs[6 * e + 5], i0, len);
    }
    if (reducing) expand(p.reduce_expr);
    if (reducing) {
      // element i goes to accumulator (i / (r * inner)) * inner + i % inner: walk the block in runs
      // of one outer index
      const float* v = val[p.reduce_expr];
      double* acc = part->acc.data() - part->lo;
      if (rin == 1) {
        job.ops->reduce_lanes(p.reduce_op, v, acc + i0, len);
      } else {
        for (int64_t i = i0; i < i0 + len;) {
          const int64_t o = i / rin;
          const int m = static_cast<int>(std::min(i0 + len, (o + 1) * rin) - i);
          if (p.inner == 1) acc[o] = job.ops->reduce_row(p.reduce_op, v + (i - i0), acc[o], m);
          else job.ops->reduce_wrap(p.reduce_op, v + (i - i0), acc + o * p.inner, m, p.inner, i % p.inner);
          i += m;
        }
      }
    }
  }
}

bool fail(char* err, int err_len, const char* msg, long long a = 0, long long b = 0) {
  std::snprintf(err, static_cast<size_t>(err_len), msg, a, b);
  return false;
}

}  // namespace

bool fused_decode(const int32_t* prog, int64_t len, FusedProgram* p, int64_t* need, char* err, int err_len) {
  if (len < kFusedHeader || prog[0] != kFusedMagic) return fail(err, err_len, "fused: not a fused-kernel program");
  p->n_inputs = prog[1];
  p->n_exprs = prog[2];
  p->n_stores = prog[3];
  p->n_dims = prog[4];
  p->reduce_op = prog[5];
  p->reduce_expr = prog[6];
  p->outer = prog[7];
  p->r = prog[8];
  p->inner = prog[9];
  p->reduce_dtype = prog[10];
  p->n = prog[11];
  if (p->n_inputs < 0 || p->n_exprs < 1 || p->n_stores < 0 || p->n_dims < 1 || p->n_dims > kFusedMaxDims || p->n < 1)
    return fail(err, err_len, "fused: bad program header");
  const int64_t want = kFusedHeader + p->n_dims + static_cast<int64_t>(p->n_inputs) * (2 + p->n_dims) +
                       static_cast<int64_t>(p->n_exprs) * 6 + p->n_stores;
  if (len != want) return fail(err, err_len, "fused: program has %lld ints, its header describes %lld", len, want);
  const int32_t* at = prog + kFusedHeader;
  int64_t n = 1;
  for (int d = 0; d < p->n_dims; ++d) {
    if (at[d] < 1) return fail(err, err_len, "fused: dim %lld has size %lld", d, at[d]);
    p->dims[d] = at[d];
    n *= at[d];
  }
  if (n != p->n) return fail(err, err_len, "fused: dims hold %lld elements, the header says %lld", n, p->n);
  at += p->n_dims;
  p->inputs = at;
  for (int k = 0; k < p->n_inputs; ++k, at += 2 + p->n_dims) {
    if (at[0] < 0 || at[0] > kBool || at[1] < 0 || at[1] > kRow)
      return fail(err, err_len, "fused: input %lld has a bad dtype or mode", k);
    if (at[1] == kFlat) need[k] = p->n;
    else if (at[1] == kScalar) need[k] = 1;
    else if (at[1] == kRow && (p->dims[p->n_dims - 1] > (1 << 20) || at[1 + p->n_dims] < 0))
      return fail(err, err_len, "fused: input %lld is a row longer than 2^20 elements", k);
    else {
      int64_t far = 0;
      for (int d = 0; d < p->n_dims; ++d) {
        if (at[2 + d] < 0) return fail(err, err_len, "fused: input %lld has a negative stride", k);
        far += (p->dims[d] - 1) * static_cast<int64_t>(at[2 + d]);
      }
      need[k] = far + 1;
    }
  }
  p->exprs = at;
  for (int e = 0; e < p->n_exprs; ++e, at += 6) {
    const int kind = at[0], op = at[1], dtype = at[5];
    const bool refs_ok = kind == kInput   ? at[2] >= 0 && at[2] < p->n_inputs
                         : kind == kWhere ? at[2] >= 0 && at[2] < e && at[3] >= 0 && at[3] < e && at[4] >= 0 && at[4] < e
                         : kind == kBinary ? at[2] >= 0 && at[2] < e && at[3] >= 0 && at[3] < e
                                           : at[2] >= 0 && at[2] < e;
    const bool op_ok = kind == kUnary    ? op >= 0 && op < static_cast<int>(UnaryCode::Count)
                       : kind == kBinary ? op >= 0 && op < static_cast<int>(BinaryCode::Count)
                                         : kind >= kInput && kind <= kCast;
    if (!refs_ok || !op_ok || dtype < 0 || dtype > kBool)
      return fail(err, err_len, "fused: expression %lld is malformed", e);
    if (kind == kInput && p->inputs[(2 + p->n_dims) * at[2]] != dtype)
      return fail(err, err_len, "fused: expression %lld reads input %lld in another dtype", e, at[2]);
  }
  p->stores = at;
  for (int k = 0; k < p->n_stores; ++k)
    if (at[k] < 0 || at[k] >= p->n_exprs) return fail(err, err_len, "fused: store %lld names no expression", k);
  if (p->reduce_op >= 0) {
    if (p->reduce_op >= static_cast<int>(ReduceCode::Count) || p->reduce_expr < 0 || p->reduce_expr >= p->n_exprs ||
        p->reduce_dtype < 0 || p->reduce_dtype > kF16 || p->outer < 1 || p->r < 1 || p->inner < 1 ||
        p->outer * p->r * p->inner != p->n)
      return fail(err, err_len, "fused: bad reduction");
  } else if (p->reduce_op != -1) {
    return fail(err, err_len, "fused: bad reduction op %lld", p->reduce_op);
  }
  return true;
}

bool fused_run(const FusedProgram& p, const void* const* inputs, void* const* outputs) {
  const Split sp = split_of(p);
  std::vector<Partial> partials(p.reduce_op >= 0 ? sp.n_tasks : 0);
  // row-broadcast inputs, decoded once: element k of the innermost dim
  std::vector<std::vector<float>> rows;
  const int64_t D = p.dims[p.n_dims - 1];
  for (int k = 0; k < p.n_inputs; ++k) {
    const int32_t* in = p.inputs + k * (2 + p.n_dims);
    if (in[1] != kRow) continue;
    rows.resize(static_cast<size_t>(p.n_inputs));
    rows[k].resize(static_cast<size_t>(D));
    load(inputs[k], in[0], 0, in[1 + p.n_dims], rows[k].data(), static_cast<int>(D));
  }
  std::vector<int> slot;
  const int n_slots = assign_slots(p, slot);
  const Job job{&p, inputs, outputs, &ops_for_cpu(), sp.n_blocks, sp.n_tasks, &partials, &rows, slot.data(), n_slots};
  parallel_tasks(sp.n_tasks, sp.threads, [&](int64_t t) {
    run_blocks(job, t);
    return true;
  });
  if (p.reduce_op >= 0) finish_reduction(p, partials, outputs);
  return true;
}

bool fused_run_generated(GeneratedKernel fn, const FusedProgram& p, const void* const* inputs, void* const* outputs) {
  if (p.reduce_op >= 0) {
    // the interpreter's tasks, each summing its elements in order into its own partial: the same
    // additions in the same order, so the same result (the kernel's runs stay inside a block)
    if (kBlock % p.inner != 0 || p.dims[p.n_dims - 1] != p.inner) return false;
    const Split sp = split_of(p);
    std::vector<Partial> partials(sp.n_tasks);
    parallel_tasks(sp.n_tasks, sp.threads, [&](int64_t t) {
      int64_t from, to;
      task_range(p, sp.n_blocks, sp.n_tasks, t, &from, &to);
      if (from >= to) return true;
      start_partial(p, from, to, &partials[t]);
      fn(inputs, outputs, from, to, partials[t].acc.data() - partials[t].lo);
      return true;
    });
    finish_reduction(p, partials, outputs);
    return true;
  }
  bool rows = false;
  for (int k = 0; k < p.n_inputs; ++k) rows = rows || p.inputs[k * (2 + p.n_dims) + 1] >= kStrided;
  // tasks start on whole runs along the innermost dim when there are broadcast (row or strided)
  // inputs, else on 64-element boundaries (no output cache line is shared)
  const int64_t unit = rows ? p.dims[p.n_dims - 1] : 64;
  const int64_t units = (p.n + unit - 1) / unit;
  const int threads = split_of(p).threads;
  const int64_t n_tasks = std::min<int64_t>(units, threads == 1 ? 1 : 4 * threads);
  parallel_tasks(n_tasks, threads, [&](int64_t t) {
    const int64_t lo = units * t / n_tasks * unit;
    const int64_t hi = std::min(p.n, units * (t + 1) / n_tasks * unit);
    if (lo < hi) fn(inputs, outputs, lo, hi, nullptr);
    return true;
  });
  return true;
}

}  // namespace keel
