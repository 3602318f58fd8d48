// The block loops of the fused-kernel interpreter (native/fused.cc), written once and compiled once
// per instruction set: fused.cc includes this file inside a namespace per ISA, under
// `#pragma GCC target`, so the compiler vectorises the same loops for AVX-512, AVX2 or the baseline.
// Every loop works on `n` float32 values of a block, with the ops' values of fused_scalar.h.
// No includes here: fused.cc includes what this needs before opening the namespace.

#include "fused_scalar.h"

// one vectorised loop per op: the op is a constant in each, so unary_value / binary_value fold
#define KEEL_UNARY(C)                                                      \
  case UnaryCode::C:                                                       \
    for (int i = 0; i < n; ++i) o[i] = unary_value(UnaryCode::C, a[i]); \
    break;

inline void unary_block(int op, const float* __restrict a, float* __restrict o, int n) {
  switch (static_cast<UnaryCode>(op)) {
    KEEL_UNARY(Neg)
    KEEL_UNARY(Abs)
    KEEL_UNARY(Exp)
    KEEL_UNARY(Log)
    KEEL_UNARY(Log1p)
    KEEL_UNARY(Expm1)
    KEEL_UNARY(Sqrt)
    KEEL_UNARY(Rsqrt)
    KEEL_UNARY(Square)
    KEEL_UNARY(Reciprocal)
    KEEL_UNARY(Relu)
    KEEL_UNARY(Sigmoid)
    KEEL_UNARY(Tanh)
    KEEL_UNARY(Sin)
    KEEL_UNARY(Cos)
    KEEL_UNARY(Sign)
    KEEL_UNARY(Floor)
    KEEL_UNARY(Ceil)
    KEEL_UNARY(Round)
    KEEL_UNARY(LogicalNot)
    KEEL_UNARY(IsFinite)
    KEEL_UNARY(IsNaN)
    case UnaryCode::Count:  // rejected when the program is decoded
      break;
  }
}
#undef KEEL_UNARY

/** o = a (op) b over n values; U = 1: a is one value (a[0]) for all, U = 2: b is. */
template <int U>
inline void binary_impl(int op, const float* __restrict a, const float* __restrict b, float* __restrict o, int n) {
  const float a0 = a[0], b0 = b[0];
#define KEEL_BINARY(C)                                                                                       \
  case BinaryCode::C:                                                                                        \
    for (int i = 0; i < n; ++i) o[i] = binary_value(BinaryCode::C, U == 1 ? a0 : a[i], U == 2 ? b0 : b[i]); \
    break;
  switch (static_cast<BinaryCode>(op)) {
    KEEL_BINARY(Add)
    KEEL_BINARY(Sub)
    KEEL_BINARY(Mul)
    KEEL_BINARY(Div)
    KEEL_BINARY(Pow)
    KEEL_BINARY(Maximum)
    KEEL_BINARY(Minimum)
    KEEL_BINARY(Equal)
    KEEL_BINARY(NotEqual)
    KEEL_BINARY(Greater)
    KEEL_BINARY(GreaterEqual)
    KEEL_BINARY(Less)
    KEEL_BINARY(LessEqual)
    KEEL_BINARY(LogicalAnd)
    KEEL_BINARY(LogicalOr)
    case BinaryCode::Count:
      break;
  }
#undef KEEL_BINARY
}

inline void binary_block(int op, const float* a, const float* b, float* o, int n) { binary_impl<0>(op, a, b, o, n); }
inline void binary_block_a1(int op, const float* a, const float* b, float* o, int n) { binary_impl<1>(op, a, b, o, n); }
inline void binary_block_b1(int op, const float* a, const float* b, float* o, int n) { binary_impl<2>(op, a, b, o, n); }

inline void where_block(const float* __restrict c, const float* __restrict a, const float* __restrict b,
                        float* __restrict o, int n) {
  for (int i = 0; i < n; ++i) o[i] = truthy(c[i]) ? a[i] : b[i];
}

inline void to_bool_block(const float* __restrict a, float* __restrict o, int n) {
  for (int i = 0; i < n; ++i) o[i] = to_bool_value(a[i]);
}

/** acc[j] (op)= v[j]: consecutive accumulators (reductions with inner > 1). */
inline void reduce_lanes(int op, const float* __restrict v, double* __restrict acc, int n) {
  switch (static_cast<ReduceCode>(op)) {
    case ReduceCode::Sum:
    case ReduceCode::Mean:
      for (int j = 0; j < n; ++j) acc[j] += v[j];
      break;
    case ReduceCode::Prod:
      for (int j = 0; j < n; ++j) acc[j] *= v[j];
      break;
    case ReduceCode::Max:
      for (int j = 0; j < n; ++j)
        if (v[j] > acc[j] || v[j] != v[j]) acc[j] = v[j];
      break;
    case ReduceCode::Min:
      for (int j = 0; j < n; ++j)
        if (v[j] < acc[j] || v[j] != v[j]) acc[j] = v[j];
      break;
    case ReduceCode::Count:
      break;
  }
}

/**
 * acc (op)= v[0..n): one accumulator (reductions over trailing axes). Sums and products keep 8
 * partial accumulators (vector lanes; a single chain would wait on the adder's latency for every
 * element), combined pairwise at the end: in double, so the order changes no float32 result but in
 * rare ties of rounding.
 */
inline double reduce_row(int op, const float* __restrict v, double acc, int n) {
  const ReduceCode code = static_cast<ReduceCode>(op);
  if (code == ReduceCode::Sum || code == ReduceCode::Mean || code == ReduceCode::Prod) {
    const bool sum = code != ReduceCode::Prod;
    double part[8];
    for (int t = 0; t < 8; ++t) part[t] = sum ? 0.0 : 1.0;
    int j = 0;
    if (sum)
      for (; j + 8 <= n; j += 8)
        for (int t = 0; t < 8; ++t) part[t] += v[j + t];
    else
      for (; j + 8 <= n; j += 8)
        for (int t = 0; t < 8; ++t) part[t] *= v[j + t];
    for (int w = 4; w >= 1; w /= 2)
      for (int t = 0; t < w; ++t) part[t] = sum ? part[t] + part[t + w] : part[t] * part[t + w];
    acc = sum ? acc + part[0] : acc * part[0];
    for (; j < n; ++j) acc = sum ? acc + v[j] : acc * v[j];
    return acc;
  }
  switch (code) {
    case ReduceCode::Sum:
    case ReduceCode::Mean:
    case ReduceCode::Prod:
      break;
    case ReduceCode::Max:
      for (int j = 0; j < n; ++j)
        if (v[j] > acc || v[j] != v[j]) acc = v[j];
      break;
    case ReduceCode::Min:
      for (int j = 0; j < n; ++j)
        if (v[j] < acc || v[j] != v[j]) acc = v[j];
      break;
    case ReduceCode::Count:
      break;
  }
  return acc;
}

inline void reduce_wrap(int op, const float* __restrict v, double* __restrict acc, int n, int64_t inner, int64_t k) {
  // run by run (a run: the channels of one position), each a vectorised lanes loop inlined here
  while (n > 0) {
    const int m = static_cast<int>(std::min<int64_t>(n, inner - k));
    reduce_lanes(op, v, acc + k, m);
    v += m;
    n -= m;
    k = 0;
  }
}

const BlockOps kOps = {&unary_block,  &binary_block, &binary_block_a1, &binary_block_b1, &where_block,
                       &to_bool_block, &reduce_lanes, &reduce_row,      &reduce_wrap};
