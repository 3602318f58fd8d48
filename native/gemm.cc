// N-API surface of Keel's native CPU kernels (see src/backend/cpu/native.ts for the TypeScript side):
//
//   gemm(a, aOffset, lda, strideA, transA, b, bOffset, ldb, strideB, transB,
//        c, cOffset, ldc, strideC, batch, M, N, K, accumulate): void
//     For each bi < batch: C_bi[M,N] (+)= op(A_bi)[M,K] * op(B_bi)[K,N], row-major float32;
//     offsets, leading dimensions and strides in elements; stride 0 broadcasts one matrix.
//   info(): { isa: 'avx512' | 'avx2' | 'portable', threads: number }
//
// The call is synchronous and validates everything it dereferences: wrong types throw TypeError,
// out-of-range spans throw RangeError('gemm: buffers too small ...'). The module is context-aware
// (NAPI_MODULE_INIT), so it loads in worker_threads; all environments share one thread pool.
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstdio>

#include "gemm_kernels.h"
#include "thread_pool.h"

namespace {

constexpr size_t kGemmArgc = 19;
const char* const kArgNames[kGemmArgc] = {
    "a", "aOffset", "lda", "strideA", "transA", "b", "bOffset", "ldb", "strideB", "transB",
    "c", "cOffset", "ldc", "strideC", "batch", "M", "N", "K", "accumulate"};

// Throws (unless an exception is already pending) and returns nullptr for convenient `return`.
napi_value throw_type(napi_env env, const char* msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return nullptr;
}

bool get_f32(napi_env env, napi_value v, size_t idx, float** data, size_t* length) {
  char msg[160];
  bool is_ta = false;
  napi_typedarray_type type;
  void* p = nullptr;
  // Node's `data` already points at the view's first element: the view's byte_offset is applied,
  // so it must not be added again.
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, length, &p, nullptr, nullptr) != napi_ok ||
      type != napi_float32_array) {
    std::snprintf(msg, sizeof msg, "gemm: argument %zu (%s) must be a Float32Array", idx, kArgNames[idx]);
    throw_type(env, msg);
    return false;
  }
  *data = static_cast<float*>(p);
  return true;
}

bool get_index(napi_env env, napi_value v, size_t idx, int64_t* out) {
  char msg[160];
  napi_valuetype t;
  double d = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
      !std::isfinite(d) || d < 0 || d > 9007199254740991.0 || std::floor(d) != d) {
    std::snprintf(msg, sizeof msg, "gemm: argument %zu (%s) must be a non-negative integer number", idx,
                  kArgNames[idx]);
    throw_type(env, msg);
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
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
  size_t argc = kGemmArgc;
  napi_value argv[kGemmArgc];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return throw_type(env, "gemm: bad call");
  if (argc != kGemmArgc) {
    char msg[128];
    std::snprintf(msg, sizeof msg, "gemm: expected %zu arguments, got %zu", kGemmArgc, argc);
    return throw_type(env, msg);
  }
  float *a, *b, *c;
  size_t a_len, b_len, c_len;
  int64_t aOff, lda, sA, bOff, ldb, sB, cOff, ldc, sC, batch, M, N, K;
  bool tA, tB, acc;
  if (!get_f32(env, argv[0], 0, &a, &a_len) || !get_index(env, argv[1], 1, &aOff) ||
      !get_index(env, argv[2], 2, &lda) || !get_index(env, argv[3], 3, &sA) || !get_bool(env, argv[4], 4, &tA) ||
      !get_f32(env, argv[5], 5, &b, &b_len) || !get_index(env, argv[6], 6, &bOff) ||
      !get_index(env, argv[7], 7, &ldb) || !get_index(env, argv[8], 8, &sB) || !get_bool(env, argv[9], 9, &tB) ||
      !get_f32(env, argv[10], 10, &c, &c_len) || !get_index(env, argv[11], 11, &cOff) ||
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

  keel::GemmArgs g{a + (K == 0 ? 0 : aOff), lda, sA, tA, b + (K == 0 ? 0 : bOff), ldb, sB, tB,
                   c + cOff, ldc, sC, batch, M, N, K, acc};
  if (!keel::gemm_run(g)) napi_throw_error(env, "ERR_MEMORY_ALLOCATION_FAILED", "gemm: out of memory for packing buffers");
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info /*info*/) {
  napi_value obj, isa, threads;
  if (napi_create_object(env, &obj) != napi_ok) return nullptr;
  const char* name = keel::isa_name(keel::selected_isa());
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &isa);
  napi_create_int32(env, keel::pool_size(), &threads);
  napi_set_named_property(env, obj, "isa", isa);
  napi_set_named_property(env, obj, "threads", threads);
  return obj;
}

void EnvCleanup(void* /*arg*/) { keel::pool_env_release(); }

}  // namespace

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return nullptr;
  keel::pool_env_acquire();
  napi_add_env_cleanup_hook(env, EnvCleanup, nullptr);
  return exports;
}
