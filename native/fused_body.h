// The block loops of the fused-kernel interpreter (native/fused.cc), written once and compiled once
// per instruction set: fused.cc includes this file inside a namespace per ISA, under
// `#pragma GCC target`, so the compiler vectorises the same loops for AVX-512, AVX2 or the baseline.
// Every loop works on `n` float32 values of a block; the semantics are those of the JavaScript
// kernels (src/backend/cpu/elementwise.ts): arithmetic in float32 (exact as JavaScript's double
// operation rounded once), transcendental functions in double and rounded once, JavaScript's NaN
// rules for maximum/minimum/pow and for truthiness.
// No includes here: fused.cc includes what this needs before opening the namespace.

inline bool truthy(float x) { return x != 0.0f && x == x; }

inline void unary_block(int op, const float* __restrict a, float* __restrict o, int n) {
  switch (static_cast<UnaryCode>(op)) {
    case UnaryCode::Neg:
      for (int i = 0; i < n; ++i) o[i] = -a[i];
      break;
    case UnaryCode::Abs:
      for (int i = 0; i < n; ++i) o[i] = std::fabs(a[i]);
      break;
    case UnaryCode::Exp:
      for (int i = 0; i < n; ++i) o[i] = static_cast<float>(std::exp(static_cast<double>(a[i])));
      break;
    case UnaryCode::Log:
      for (int i = 0; i < n; ++i) o[i] = static_cast<float>(std::log(static_cast<double>(a[i])));
      break;
    case UnaryCode::Log1p:
      for (int i = 0; i < n; ++i) o[i] = static_cast<float>(std::log1p(static_cast<double>(a[i])));
      break;
    case UnaryCode::Expm1:
      for (int i = 0; i < n; ++i) o[i] = static_cast<float>(std::expm1(static_cast<double>(a[i])));
      break;
    case UnaryCode::Sqrt:
      for (int i = 0; i < n; ++i) o[i] = std::sqrt(a[i]);
      break;
    case UnaryCode::Rsqrt:
      for (int i = 0; i < n; ++i) o[i] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(a[i])));
      break;
    case UnaryCode::Square:
      for (int i = 0; i < n; ++i) o[i] = a[i] * a[i];
      break;
    case UnaryCode::Reciprocal:
      for (int i = 0; i < n; ++i) o[i] = 1.0f / a[i];
      break;
    case UnaryCode::Relu:
      // +0 for negatives and -0, NaN kept (as (a + |a|) / 2 gives in JavaScript)
      for (int i = 0; i < n; ++i) o[i] = a[i] > 0.0f ? a[i] : (a[i] != a[i] ? a[i] : 0.0f);
      break;
    case UnaryCode::Sigmoid:
      for (int i = 0; i < n; ++i) o[i] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(a[i]))));
      break;
    case UnaryCode::Tanh:
      for (int i = 0; i < n; ++i) o[i] = static_cast<float>(std::tanh(static_cast<double>(a[i])));
      break;
    case UnaryCode::Sin:
      for (int i = 0; i < n; ++i) o[i] = static_cast<float>(std::sin(static_cast<double>(a[i])));
      break;
    case UnaryCode::Cos:
      for (int i = 0; i < n; ++i) o[i] = static_cast<float>(std::cos(static_cast<double>(a[i])));
      break;
    case UnaryCode::Sign:
      for (int i = 0; i < n; ++i) o[i] = a[i] > 0.0f ? 1.0f : a[i] < 0.0f ? -1.0f : a[i] == 0.0f ? 0.0f : a[i];
      break;
    case UnaryCode::Floor:
      for (int i = 0; i < n; ++i) o[i] = std::floor(a[i]);
      break;
    case UnaryCode::Ceil:
      for (int i = 0; i < n; ++i) o[i] = std::ceil(a[i]);
      break;
    case UnaryCode::Round:  // half to even: the default rounding mode
      for (int i = 0; i < n; ++i) o[i] = std::nearbyint(a[i]);
      break;
    case UnaryCode::LogicalNot:
      for (int i = 0; i < n; ++i) o[i] = truthy(a[i]) ? 0.0f : 1.0f;
      break;
    case UnaryCode::IsFinite:
      for (int i = 0; i < n; ++i) o[i] = std::fabs(a[i]) <= 3.4028234663852886e38f ? 1.0f : 0.0f;
      break;
    case UnaryCode::IsNaN:
      for (int i = 0; i < n; ++i) o[i] = a[i] != a[i] ? 1.0f : 0.0f;
      break;
    case UnaryCode::Count:  // rejected when the program is decoded
      break;
  }
}

/** JavaScript's Math.max / Math.min: NaN if either is NaN, +0 above -0. */
inline float js_max(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == b) return bits_f32(f32_bits(a) & f32_bits(b));  // -0 only when both are -0
  return a > b ? a : b;
}
inline float js_min(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == b) return bits_f32(f32_bits(a) | f32_bits(b));  // -0 when either is -0
  return a < b ? a : b;
}

/** JavaScript's Math.pow: as C's pow, except that (+-1) ** (+-Infinity or NaN) is NaN. */
inline float js_pow(float a, float b) {
  if (std::fabs(a) == 1.0f && !(std::fabs(b) <= 3.4028234663852886e38f)) return std::numeric_limits<float>::quiet_NaN();
  return static_cast<float>(std::pow(static_cast<double>(a), static_cast<double>(b)));
}

/** o = a (op) b over n values; U = 1: a is one value (a[0]) for all, U = 2: b is. */
template <int U>
inline void binary_impl(int op, const float* __restrict a, const float* __restrict b, float* __restrict o, int n) {
  const float a0 = a[0], b0 = b[0];
#define KA(i) (U == 1 ? a0 : a[i])
#define KB(i) (U == 2 ? b0 : b[i])
  switch (static_cast<BinaryCode>(op)) {
    case BinaryCode::Add:
      for (int i = 0; i < n; ++i) o[i] = KA(i) + KB(i);
      break;
    case BinaryCode::Sub:
      for (int i = 0; i < n; ++i) o[i] = KA(i) - KB(i);
      break;
    case BinaryCode::Mul:
      for (int i = 0; i < n; ++i) o[i] = KA(i) * KB(i);
      break;
    case BinaryCode::Div:
      for (int i = 0; i < n; ++i) o[i] = KA(i) / KB(i);
      break;
    case BinaryCode::Pow:
      for (int i = 0; i < n; ++i) o[i] = js_pow(KA(i), KB(i));
      break;
    case BinaryCode::Maximum:
      for (int i = 0; i < n; ++i) o[i] = js_max(KA(i), KB(i));
      break;
    case BinaryCode::Minimum:
      for (int i = 0; i < n; ++i) o[i] = js_min(KA(i), KB(i));
      break;
    case BinaryCode::Equal:
      for (int i = 0; i < n; ++i) o[i] = KA(i) == KB(i) ? 1.0f : 0.0f;
      break;
    case BinaryCode::NotEqual:
      for (int i = 0; i < n; ++i) o[i] = KA(i) != KB(i) ? 1.0f : 0.0f;
      break;
    case BinaryCode::Greater:
      for (int i = 0; i < n; ++i) o[i] = KA(i) > KB(i) ? 1.0f : 0.0f;
      break;
    case BinaryCode::GreaterEqual:
      for (int i = 0; i < n; ++i) o[i] = KA(i) >= KB(i) ? 1.0f : 0.0f;
      break;
    case BinaryCode::Less:
      for (int i = 0; i < n; ++i) o[i] = KA(i) < KB(i) ? 1.0f : 0.0f;
      break;
    case BinaryCode::LessEqual:
      for (int i = 0; i < n; ++i) o[i] = KA(i) <= KB(i) ? 1.0f : 0.0f;
      break;
    case BinaryCode::LogicalAnd:
      for (int i = 0; i < n; ++i) o[i] = truthy(KA(i)) && truthy(KB(i)) ? 1.0f : 0.0f;
      break;
    case BinaryCode::LogicalOr:
      for (int i = 0; i < n; ++i) o[i] = truthy(KA(i)) || truthy(KB(i)) ? 1.0f : 0.0f;
      break;
    case BinaryCode::Count:
      break;
  }
}
#undef KA
#undef KB

inline void binary_block(int op, const float* a, const float* b, float* o, int n) { binary_impl<0>(op, a, b, o, n); }
inline void binary_block_a1(int op, const float* a, const float* b, float* o, int n) { binary_impl<1>(op, a, b, o, n); }
inline void binary_block_b1(int op, const float* a, const float* b, float* o, int n) { binary_impl<2>(op, a, b, o, n); }

inline void where_block(const float* __restrict c, const float* __restrict a, const float* __restrict b,
                        float* __restrict o, int n) {
  for (int i = 0; i < n; ++i) o[i] = truthy(c[i]) ? a[i] : b[i];
}

/** Cast to bool: "not zero", so NaN is true (as tfjs and C casts do). */
inline void to_bool_block(const float* __restrict a, float* __restrict o, int n) {
  for (int i = 0; i < n; ++i) o[i] = a[i] != 0.0f ? 1.0f : 0.0f;
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
