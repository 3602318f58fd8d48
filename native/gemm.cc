// N-API surface of Keel's native CPU kernels (see src/backend/cpu/native.ts for the TypeScript side):
//
//   gemm(a, aOffset, lda, strideA, transA, b, bOffset, ldb, strideB, transB,
//        c, cOffset, ldc, strideC, batch, M, N, K, accumulate[, types]): void
//     For each bi < batch: C_bi[M,N] (+)= op(A_bi)[M,K] * op(B_bi)[K,N], row-major;
//     offsets, leading dimensions and strides in elements; stride 0 broadcasts one matrix.
//     types (default 0: all float32) = aType | bType << 2 | cType << 4 with 0 = float32
//     (Float32Array), 1 = bfloat16, 2 = float16 (Uint16Array bit patterns). Accumulation is float32;
//     a 16-bit C is rounded to nearest even once per element.
//   conv2d(op, in1, in2, out, types, batch, inH, inW, inC, outH, outW, outC, kH, kW,
//          strideH, strideW, dilationH, dilationW, padTop, padLeft): void
//     NHWC convolution (native/conv.h): op 0 = forward (x, w) -> y, 1 = gradient with respect to
//     the input (dy, w) -> dx, 2 = gradient with respect to the filter (x, dy) -> dw; types as
//     above for (in1, in2, out). Every element of out is written.
//   fused(program, inputs, outputs): void
//     Runs a fused elementwise program (native/fused.h) over arrays: Float32Array for float32,
//     Uint16Array for bfloat16/float16, Uint8Array for bool; outputs are the stores, then the
//     reduction's result. Malformed programs and short or mistyped arrays throw.
//   codegenLoad(path, names): External[]
//     The generated fused kernels `names` of the shared library at path (native/codegen.h).
//   fusedGenerated(kernel, program, inputs, outputs): void
//     As fused, with a generated kernel compiled from that program instead of the interpreter;
//     the same checks of the program and the arrays.
//   pool2d(op, in1, in2, out, types, <the 15 geometry arguments of conv2d, outC = inC>): void
//     NHWC pooling (native/pool.h): op 0 max (x) -> y, 1 max gradient (dy, x) -> dx, 2 average
//     (x) -> y, 3 average gradient (dy) -> dx (in2 is not read); types as for gemm.
//   copyStrided(src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape): void
//     Copies the elements of shape (number[]) between typed arrays of one type, strides in elements.
//   info(): { isa: 'avx512' | 'avx2' | 'portable', bf16: 'avx512bf16' | 'convert', threads: number }
//
// The calls are synchronous and validate everything they dereference: wrong types throw TypeError,
// out-of-range spans throw RangeError('gemm: buffers too small ...'). The module is context-aware
// (NAPI_MODULE_INIT), so it loads in worker_threads; all environments share one thread pool.
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "codegen.h"
#include "conv.h"
#include "fused.h"
#include "pool.h"
#include "gemm_kernels.h"
#include "thread_pool.h"

namespace {

constexpr size_t kGemmArgc = 19;
const char* const kArgNames[kGemmArgc + 1] = {
    "a", "aOffset", "lda", "strideA", "transA", "b", "bOffset", "ldb", "strideB", "transB",
    "c", "cOffset", "ldc", "strideC", "batch", "M", "N", "K", "accumulate", "types"};

// Throws (unless an exception is already pending) and returns nullptr for convenient `return`.
napi_value throw_type(napi_env env, const char* msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return nullptr;
}

/** A typed array of the storage `t` needs (Float32Array for float32, Uint16Array for 16-bit formats). */
bool get_array(napi_env env, napi_value v, const char* fn, size_t idx, const char* name, keel::DType t, void** data,
               size_t* length) {
  char msg[200];
  bool is_ta = false;
  napi_typedarray_type type;
  void* p = nullptr;
  const bool f32 = t == keel::DType::F32;
  // Node's `data` already points at the view's first element: the view's byte_offset is applied,
  // so it must not be added again.
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, length, &p, nullptr, nullptr) != napi_ok ||
      type != (f32 ? napi_float32_array : napi_uint16_array)) {
    if (f32) std::snprintf(msg, sizeof msg, "%s: argument %zu (%s) must be a Float32Array", fn, idx, name);
    else std::snprintf(msg, sizeof msg, "%s: argument %zu (%s) must be a Uint16Array (%s bits)", fn, idx, name, keel::dtype_name(t));
    throw_type(env, msg);
    return false;
  }
  *data = p;
  return true;
}

bool get_gemm_array(napi_env env, napi_value v, size_t idx, keel::DType t, void** data, size_t* length) {
  return get_array(env, v, "gemm", idx, kArgNames[idx], t, data, length);
}

/** The types argument: three 2-bit codes, each 0..2. */
bool get_types(napi_env env, napi_value v, const char* fn, size_t idx, keel::DType out[3]) {
  napi_valuetype t;
  double d = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
      !(d >= 0 && d < 64) || std::floor(d) != d || (static_cast<int>(d) & 3) == 3 || ((static_cast<int>(d) >> 2) & 3) == 3 ||
      ((static_cast<int>(d) >> 4) & 3) == 3) {
    char msg[200];
    std::snprintf(msg, sizeof msg, "%s: argument %zu (types) must be aType | bType << 2 | cType << 4 with codes 0 (float32), 1 (bfloat16), 2 (float16)", fn, idx);
    throw_type(env, msg);
    return false;
  }
  const int code = static_cast<int>(d);
  for (int i = 0; i < 3; ++i) out[i] = static_cast<keel::DType>((code >> (2 * i)) & 3);
  return true;
}

bool get_index_named(napi_env env, napi_value v, const char* fn, size_t idx, const char* name, int64_t* out) {
  char msg[160];
  napi_valuetype t;
  double d = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
      !std::isfinite(d) || d < 0 || d > 9007199254740991.0 || std::floor(d) != d) {
    std::snprintf(msg, sizeof msg, "%s: argument %zu (%s) must be a non-negative integer number", fn, idx, name);
    throw_type(env, msg);
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool get_index(napi_env env, napi_value v, size_t idx, int64_t* out) {
  return get_index_named(env, v, "gemm", idx, kArgNames[idx], out);
}

bool get_bool(napi_env env, napi_value v, size_t idx, bool* out) {
  char msg[160];
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_boolean || napi_get_value_bool(env, v, out) != napi_ok) {
    std::snprintf(msg, sizeof msg, "gemm: argument %zu (%s) must be a boolean", idx, kArgNames[idx]);
    throw_type(env, msg);
    return false;
  }
  return true;
}

// Elements one operand spans: off + (batch-1)*stride + (rows-1)*ld + cols, exact in 128 bits.
unsigned __int128 span(int64_t off, int64_t stride, int64_t batch, int64_t rows, int64_t ld, int64_t cols) {
  using u128 = unsigned __int128;
  return static_cast<u128>(off) + static_cast<u128>(batch - 1) * static_cast<u128>(stride) +
         static_cast<u128>(rows - 1) * static_cast<u128>(ld) + static_cast<u128>(cols);
}

napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = kGemmArgc + 1;
  napi_value argv[kGemmArgc + 1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return throw_type(env, "gemm: bad call");
  if (argc != kGemmArgc && argc != kGemmArgc + 1) {
    char msg[128];
    std::snprintf(msg, sizeof msg, "gemm: expected %zu arguments (%zu with types), got %zu", kGemmArgc, kGemmArgc + 1, argc);
    return throw_type(env, msg);
  }
  keel::DType types[3] = {keel::DType::F32, keel::DType::F32, keel::DType::F32};
  if (argc == kGemmArgc + 1 && !get_types(env, argv[kGemmArgc], "gemm", kGemmArgc, types)) return nullptr;
  void *a, *b, *c;
  size_t a_len, b_len, c_len;
  int64_t aOff, lda, sA, bOff, ldb, sB, cOff, ldc, sC, batch, M, N, K;
  bool tA, tB, acc;
  if (!get_gemm_array(env, argv[0], 0, types[0], &a, &a_len) || !get_index(env, argv[1], 1, &aOff) ||
      !get_index(env, argv[2], 2, &lda) || !get_index(env, argv[3], 3, &sA) || !get_bool(env, argv[4], 4, &tA) ||
      !get_gemm_array(env, argv[5], 5, types[1], &b, &b_len) || !get_index(env, argv[6], 6, &bOff) ||
      !get_index(env, argv[7], 7, &ldb) || !get_index(env, argv[8], 8, &sB) || !get_bool(env, argv[9], 9, &tB) ||
      !get_gemm_array(env, argv[10], 10, types[2], &c, &c_len) || !get_index(env, argv[11], 11, &cOff) ||
      !get_index(env, argv[12], 12, &ldc) || !get_index(env, argv[13], 13, &sC) ||
      !get_index(env, argv[14], 14, &batch) || !get_index(env, argv[15], 15, &M) ||
      !get_index(env, argv[16], 16, &N) || !get_index(env, argv[17], 17, &K) ||
      !get_bool(env, argv[18], 18, &acc))
    return nullptr;
  if (batch == 0 || M == 0 || N == 0) return nullptr;  // nothing to write

  const unsigned __int128 needC = span(cOff, sC, batch, M, ldc, N);
  const unsigned __int128 needA = K == 0 ? 0 : tA ? span(aOff, sA, batch, K, lda, M) : span(aOff, sA, batch, M, lda, K);
  const unsigned __int128 needB = K == 0 ? 0 : tB ? span(bOff, sB, batch, N, ldb, K) : span(bOff, sB, batch, K, ldb, N);
  if (needA > a_len || needB > b_len || needC > c_len) {
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "gemm: buffers too small for batch=%lld M=%lld N=%lld K=%lld (A needs %.0f/%zu, B %.0f/%zu, C %.0f/%zu)",
                  static_cast<long long>(batch), static_cast<long long>(M), static_cast<long long>(N),
                  static_cast<long long>(K), static_cast<double>(needA), a_len, static_cast<double>(needB), b_len,
                  static_cast<double>(needC), c_len);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return nullptr;
  }

  const auto at = [](void* p, int64_t off, keel::DType t) { return static_cast<char*>(p) + off * keel::dtype_size(t); };
  keel::GemmArgs g{at(a, K == 0 ? 0 : aOff, types[0]), lda, sA, tA, at(b, K == 0 ? 0 : bOff, types[1]), ldb, sB, tB,
                   at(c, cOff, types[2]), ldc, sC, batch, M, N, K, acc};
  g.ta = types[0];
  g.tb = types[1];
  g.tc = types[2];
  if (!keel::gemm_run(g)) napi_throw_error(env, "ERR_MEMORY_ALLOCATION_FAILED", "gemm: out of memory for packing buffers");
  return nullptr;
}

constexpr size_t kConvArgc = 20;
const char* const kConvNames[kConvArgc] = {"op",   "in1",     "in2",     "out",       "types",     "batch",  "inH",
                                           "inW",  "inC",     "outH",    "outW",      "outC",      "kH",     "kW",
                                           "strideH", "strideW", "dilationH", "dilationW", "padTop", "padLeft"};

/** The arguments conv2d and pool2d share: op, in1, in2, out, types, then a convolution's geometry. */
struct WindowCall {
  int64_t op;
  keel::DType types[3];
  keel::ConvGeom g;
  void *p1, *p2, *po;
  size_t l1, l2, lo;

  /** Whether in1, in2 and out hold n1, n2 and no elements; throws a RangeError naming them if not. */
  bool fits(napi_env env, const char* fn, unsigned __int128 n1, unsigned __int128 n2, unsigned __int128 no) const {
    if (n1 <= l1 && n2 <= l2 && no <= lo) return true;
    char msg[200];
    std::snprintf(msg, sizeof msg, "%s: buffers too small (in1 needs %.0f/%zu, in2 %.0f/%zu, out %.0f/%zu)", fn,
                  static_cast<double>(n1), l1, static_cast<double>(n2), l2, static_cast<double>(no), lo);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return false;
  }
};

/** Parses and checks a window call of `fn` (ops 0..max_op, described by op_help); false when it threw. */
bool get_window_call(napi_env env, napi_callback_info info, const char* fn, int64_t max_op, const char* op_help,
                     WindowCall* c) {
  size_t argc = kConvArgc;
  napi_value argv[kConvArgc];
  char msg[200];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != kConvArgc) {
    std::snprintf(msg, sizeof msg, "%s: expected %zu arguments, got %zu", fn, kConvArgc, argc);
    throw_type(env, msg);
    return false;
  }
  if (!get_index_named(env, argv[0], fn, 0, kConvNames[0], &c->op) || !get_types(env, argv[4], fn, 4, c->types))
    return false;
  if (c->op > max_op) {
    std::snprintf(msg, sizeof msg, "%s: argument 0 (op) must be %s", fn, op_help);
    throw_type(env, msg);
    return false;
  }
  int64_t v[15];
  for (size_t i = 5; i < kConvArgc; ++i)
    if (!get_index_named(env, argv[i], fn, i, kConvNames[i], &v[i - 5])) return false;
  c->g = keel::ConvGeom{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  const keel::ConvGeom& g = c->g;
  if (g.kH < 1 || g.kW < 1 || g.sH < 1 || g.sW < 1 || g.dH < 1 || g.dW < 1) {
    std::snprintf(msg, sizeof msg, "%s: kernel sizes, strides and dilations must be >= 1", fn);
    throw_type(env, msg);
    return false;
  }
  return get_array(env, argv[1], fn, 1, kConvNames[1], c->types[0], &c->p1, &c->l1) &&
         get_array(env, argv[2], fn, 2, kConvNames[2], c->types[1], &c->p2, &c->l2) &&
         get_array(env, argv[3], fn, 3, kConvNames[3], c->types[2], &c->po, &c->lo);
}

napi_value Conv2d(napi_env env, napi_callback_info info) {
  WindowCall c;
  if (!get_window_call(env, info, "conv2d", 2, "0 (forward), 1 (input gradient) or 2 (filter gradient)", &c))
    return nullptr;
  const keel::ConvGeom& g = c.g;
  using u128 = unsigned __int128;
  const u128 xs = static_cast<u128>(g.batch) * g.inH * g.inW * g.inC;
  const u128 ys = static_cast<u128>(g.batch) * g.outH * g.outW * g.outC;
  const u128 ws = static_cast<u128>(g.kH) * g.kW * g.inC * g.outC;
  const auto op_ = static_cast<keel::ConvOp>(c.op);
  const u128 n1 = op_ == keel::ConvOp::BackpropInput ? ys : xs;
  const u128 n2 = op_ == keel::ConvOp::Forward ? ws : op_ == keel::ConvOp::BackpropInput ? ws : ys;
  const u128 no = op_ == keel::ConvOp::Forward ? ys : op_ == keel::ConvOp::BackpropInput ? xs : ws;
  if (!c.fits(env, "conv2d", n1, n2, no)) return nullptr;
  if (!keel::conv_run(op_, c.p1, c.types[0], c.p2, c.types[1], c.po, c.types[2], g))
    napi_throw_error(env, "ERR_MEMORY_ALLOCATION_FAILED", "conv2d: out of memory for scratch buffers");
  return nullptr;
}

/** Element `i` of a JavaScript array of typed arrays, checked against a fused dtype code. */
bool get_fused_array(napi_env env, napi_value list, uint32_t i, int code, const char* what, void** data, size_t* length) {
  static const napi_typedarray_type kTypes[4] = {napi_float32_array, napi_uint16_array, napi_uint16_array, napi_uint8_array};
  static const char* const kNames[4] = {"Float32Array (float32)", "Uint16Array (bfloat16 bits)", "Uint16Array (float16 bits)", "Uint8Array (bool)"};
  napi_value v;
  bool is_ta = false;
  napi_typedarray_type type;
  if (napi_get_element(env, list, i, &v) != napi_ok || napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, length, data, nullptr, nullptr) != napi_ok || type != kTypes[code]) {
    char msg[160];
    std::snprintf(msg, sizeof msg, "fused: %s %u must be a %s", what, i, kNames[code]);
    throw_type(env, msg);
    return false;
  }
  return true;
}

/**
 * fused(program, inputs, outputs), checked: runs the interpreter, or the generated kernel fn
 * compiled from the same program (argv: program, inputs, outputs).
 */
napi_value run_fused(napi_env env, napi_value* argv, keel::GeneratedKernel fn) {
  bool is_ta = false, in_arr = false, out_arr = false;
  napi_typedarray_type type;
  size_t len = 0;
  void* prog = nullptr;
  if (napi_is_typedarray(env, argv[0], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[0], &type, &len, &prog, nullptr, nullptr) != napi_ok || type != napi_int32_array ||
      napi_is_array(env, argv[1], &in_arr) != napi_ok || !in_arr || napi_is_array(env, argv[2], &out_arr) != napi_ok ||
      !out_arr)
    return throw_type(env, "fused: expected (program: Int32Array, inputs: TypedArray[], outputs: TypedArray[])");
  keel::FusedProgram p;
  char err[200];
  // per-thread, reused: an eager op on a small tensor should not pay for allocations
  static thread_local std::vector<int64_t> need;
  static thread_local std::vector<const void*> ins;
  static thread_local std::vector<void*> outs;
  need.resize(len);  // at most one input per program int
  if (!keel::fused_decode(static_cast<const int32_t*>(prog), static_cast<int64_t>(len), &p, need.data(), err, sizeof err))
    return throw_type(env, err);
  uint32_t n_in = 0, n_out = 0;
  napi_get_array_length(env, argv[1], &n_in);
  napi_get_array_length(env, argv[2], &n_out);
  const uint32_t want_out = static_cast<uint32_t>(p.n_stores + (p.reduce_op >= 0 ? 1 : 0));
  if (n_in != static_cast<uint32_t>(p.n_inputs) || n_out != want_out) {
    std::snprintf(err, sizeof err, "fused: the program takes %d inputs and %u outputs, got %u and %u", p.n_inputs, want_out, n_in, n_out);
    return throw_type(env, err);
  }
  ins.resize(n_in);
  outs.resize(n_out);
  for (uint32_t k = 0; k < n_in; ++k) {
    void* d;
    size_t l;
    if (!get_fused_array(env, argv[1], k, p.inputs[k * (2 + p.n_dims)], "input", &d, &l)) return nullptr;
    if (static_cast<int64_t>(l) < need[k]) {
      std::snprintf(err, sizeof err, "fused: input %u has %zu elements, the program reads %lld", k, l, static_cast<long long>(need[k]));
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", err);
      return nullptr;
    }
    ins[k] = d;
  }
  for (uint32_t k = 0; k < n_out; ++k) {
    const bool red = k == static_cast<uint32_t>(p.n_stores);
    const int code = red ? p.reduce_dtype : p.exprs[6 * p.stores[k] + 5];
    const int64_t want = red ? p.outer * p.inner : p.n;
    void* d;
    size_t l;
    if (!get_fused_array(env, argv[2], k, code, "output", &d, &l)) return nullptr;
    if (static_cast<int64_t>(l) < want) {
      std::snprintf(err, sizeof err, "fused: output %u has %zu elements, the program writes %lld", k, l, static_cast<long long>(want));
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", err);
      return nullptr;
    }
    outs[k] = d;
  }
  if (fn) {
    if (!keel::fused_run_generated(fn, p, ins.data(), outs.data()))
      return throw_type(env, "fusedGenerated: the program's reduction is not one a generated kernel runs");
  } else if (!keel::fused_run(p, ins.data(), outs.data())) {
    napi_throw_error(env, "ERR_MEMORY_ALLOCATION_FAILED", "fused: out of memory");
  }
  return nullptr;
}

napi_value Fused(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 3)
    return throw_type(env, "fused: expected (program: Int32Array, inputs: TypedArray[], outputs: TypedArray[])");
  return run_fused(env, argv, nullptr);
}

/** fusedGenerated(kernel, program, inputs, outputs): a kernel of codegenLoad on its program's arrays. */
napi_value FusedGenerated(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  void* fn = nullptr;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 4 ||
      napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external || napi_get_value_external(env, argv[0], &fn) != napi_ok ||
      !fn)
    return throw_type(env, "fusedGenerated: expected (kernel: External, program: Int32Array, inputs: TypedArray[], outputs: TypedArray[])");
  return run_fused(env, argv + 1, reinterpret_cast<keel::GeneratedKernel>(fn));
}

/** codegenLoad(path, names): the generated kernels `names` of the shared library at path. */
napi_value CodegenLoad(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  bool is_arr = false;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 2 ||
      napi_is_array(env, argv[1], &is_arr) != napi_ok || !is_arr)
    return throw_type(env, "codegenLoad: expected (path: string, names: string[])");
  char path[4096];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len + 1 >= sizeof path)
    return throw_type(env, "codegenLoad: path must be a string shorter than 4096 bytes");
  std::string err;
  void* lib = keel::codegen_open(path, &err);
  if (!lib) {
    napi_throw_error(env, "ERR_DLOPEN_FAILED", ("codegenLoad: " + err).c_str());
    return nullptr;
  }
  uint32_t n = 0;
  napi_get_array_length(env, argv[1], &n);
  napi_value out;
  napi_create_array_with_length(env, n, &out);
  for (uint32_t i = 0; i < n; ++i) {
    napi_value v, ext;
    char name[256];
    size_t nl = 0;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok ||
        napi_get_value_string_utf8(env, v, name, sizeof name, &nl) != napi_ok || nl + 1 >= sizeof name)
      return throw_type(env, "codegenLoad: names must be strings shorter than 256 bytes");
    keel::GeneratedKernel fn = keel::codegen_symbol(lib, name, &err);
    if (!fn) {
      napi_throw_error(env, "ERR_DLOPEN_FAILED", ("codegenLoad: " + err).c_str());
      return nullptr;
    }
    napi_create_external(env, reinterpret_cast<void*>(fn), nullptr, nullptr, &ext);
    napi_set_element(env, out, i, ext);
  }
  return out;
}

napi_value Pool2d(napi_env env, napi_callback_info info) {
  WindowCall c;
  if (!get_window_call(env, info, "pool2d", 3, "0 (max), 1 (max gradient), 2 (average) or 3 (average gradient)", &c))
    return nullptr;
  const keel::ConvGeom& g = c.g;
  if (g.outC != g.inC) return throw_type(env, "pool2d: outC must equal inC (a pool keeps the channels)");
  using u128 = unsigned __int128;
  const u128 xs = static_cast<u128>(g.batch) * g.inH * g.inW * g.inC;
  const u128 ys = static_cast<u128>(g.batch) * g.outH * g.outW * g.inC;
  const auto op_ = static_cast<keel::PoolOp>(c.op);
  const bool grad = op_ == keel::PoolOp::MaxGrad || op_ == keel::PoolOp::AvgGrad;
  const u128 n1 = grad ? ys : xs;
  const u128 n2 = op_ == keel::PoolOp::MaxGrad ? xs : 0;
  const u128 no = grad ? xs : ys;
  if (!c.fits(env, "pool2d", n1, n2, no)) return nullptr;
  if (!keel::pool_run(op_, c.p1, c.types[0], c.p2, c.types[1], c.po, c.types[2], g))
    napi_throw_error(env, "ERR_MEMORY_ALLOCATION_FAILED", "pool2d: out of memory");
  return nullptr;
}

/** A number[] of non-negative integers (strides or a shape), at most 32 long. */
bool get_dims(napi_env env, napi_value v, size_t idx, const char* name, int64_t* out, uint32_t* n) {
  bool is_arr = false;
  char msg[160];
  if (napi_is_array(env, v, &is_arr) != napi_ok || !is_arr || napi_get_array_length(env, v, n) != napi_ok || *n > 32) {
    std::snprintf(msg, sizeof msg, "copyStrided: argument %zu (%s) must be an array of at most 32 integers", idx, name);
    throw_type(env, msg);
    return false;
  }
  for (uint32_t i = 0; i < *n; ++i) {
    napi_value e;
    if (napi_get_element(env, v, i, &e) != napi_ok || !get_index_named(env, e, "copyStrided", idx, name, &out[i])) return false;
  }
  return true;
}

napi_value CopyStrided(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 7)
    return throw_type(env, "copyStrided: expected (src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape)");
  napi_typedarray_type ts, td;
  size_t ls, ld;
  void *ps, *pd;
  bool a = false, b = false;
  if (napi_is_typedarray(env, argv[0], &a) != napi_ok || !a || napi_is_typedarray(env, argv[3], &b) != napi_ok || !b ||
      napi_get_typedarray_info(env, argv[0], &ts, &ls, &ps, nullptr, nullptr) != napi_ok ||
      napi_get_typedarray_info(env, argv[3], &td, &ld, &pd, nullptr, nullptr) != napi_ok || ts != td)
    return throw_type(env, "copyStrided: src (argument 0) and dst (argument 3) must be typed arrays of one type");
  int size = 0;
  switch (ts) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: size = 1; break;
    case napi_int16_array: case napi_uint16_array: size = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: size = 4; break;
    default: size = 8;
  }
  int64_t so, dof, ss[32], ds[32], shape[32];
  uint32_t nss, nds, rank;
  if (!get_index_named(env, argv[1], "copyStrided", 1, "srcOffset", &so) || !get_dims(env, argv[2], 2, "srcStrides", ss, &nss) ||
      !get_index_named(env, argv[4], "copyStrided", 4, "dstOffset", &dof) || !get_dims(env, argv[5], 5, "dstStrides", ds, &nds) ||
      !get_dims(env, argv[6], 6, "shape", shape, &rank))
    return nullptr;
  if (nss != rank || nds != rank) return throw_type(env, "copyStrided: srcStrides, dstStrides and shape must have one length");
  using u128 = unsigned __int128;
  u128 far_s = static_cast<u128>(so), far_d = static_cast<u128>(dof), total = 1;
  for (uint32_t i = 0; i < rank; ++i) {
    total *= static_cast<u128>(shape[i]);
    if (shape[i] > 0) {
      far_s += static_cast<u128>(shape[i] - 1) * static_cast<u128>(ss[i]);
      far_d += static_cast<u128>(shape[i] - 1) * static_cast<u128>(ds[i]);
    }
  }
  if (total == 0) return nullptr;
  if (far_s >= ls || far_d >= ld) {
    char msg[200];
    std::snprintf(msg, sizeof msg, "copyStrided: reads element %.0f of %zu (src) and writes %.0f of %zu (dst)",
                  static_cast<double>(far_s), ls, static_cast<double>(far_d), ld);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return nullptr;
  }
  keel::copy_strided(ps, so, ss, pd, dof, ds, shape, static_cast<int>(rank), size);
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info /*info*/) {
  napi_value obj, isa, bf16, threads;
  if (napi_create_object(env, &obj) != napi_ok) return nullptr;
  const keel::Isa sel = keel::selected_isa();
  napi_create_string_utf8(env, keel::isa_name(sel), NAPI_AUTO_LENGTH, &isa);
  napi_create_string_utf8(env, sel == keel::Isa::Avx512Bf16 ? "avx512bf16" : "convert", NAPI_AUTO_LENGTH, &bf16);
  napi_create_int32(env, keel::pool_size(), &threads);
  napi_set_named_property(env, obj, "isa", isa);
  napi_set_named_property(env, obj, "bf16", bf16);
  napi_set_named_property(env, obj, "threads", threads);
  return obj;
}

void EnvCleanup(void* /*arg*/) { keel::pool_env_release(); }

}  // namespace

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"conv2d", nullptr, Conv2d, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"fused", nullptr, Fused, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"fusedGenerated", nullptr, FusedGenerated, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"codegenLoad", nullptr, CodegenLoad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"pool2d", nullptr, Pool2d, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"copyStrided", nullptr, CopyStrided, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return nullptr;
  keel::pool_env_acquire();
  napi_add_env_cleanup_hook(env, EnvCleanup, nullptr);
  return exports;
}
