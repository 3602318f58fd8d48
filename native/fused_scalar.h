// The value of every elementwise op of a fused kernel on one float32 element: the one definition
// of their semantics, used by the interpreter's block loops (native/fused_body.h, where the op is a
// constant in each loop and the switch folds away) and by the C++ that the JIT generates per fused
// kernel (src/backend/cpu/fused-codegen.ts). The semantics are those of the JavaScript kernels
// (src/backend/cpu/elementwise.ts): arithmetic in float32 (exact as JavaScript's double operation
// rounded once), transcendental functions in double and rounded once, JavaScript's NaN rules for
// maximum/minimum/pow and for truthiness.
// Include after <cmath>, <cstring>, <limits> and "fused.h" and "numeric.h" (for the op codes and
// the bit casts); no namespace of its own, so each includer decides where it lives.

inline bool truthy(float x) { return x != 0.0f && x == x; }

/** JavaScript's Math.max / Math.min: NaN if either is NaN, +0 above -0. */
inline float js_max(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == b) return keel::bits_f32(keel::f32_bits(a) & keel::f32_bits(b));  // -0 only when both are -0
  return a > b ? a : b;
}
inline float js_min(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == b) return keel::bits_f32(keel::f32_bits(a) | keel::f32_bits(b));  // -0 when either is -0
  return a < b ? a : b;
}

/** JavaScript's Math.pow: as C's pow, except that (+-1) ** (+-Infinity or NaN) is NaN. */
inline float js_pow(float a, float b) {
  if (std::fabs(a) == 1.0f && !(std::fabs(b) <= 3.4028234663852886e38f)) return std::numeric_limits<float>::quiet_NaN();
  return static_cast<float>(std::pow(static_cast<double>(a), static_cast<double>(b)));
}

inline float unary_value(keel::UnaryCode op, float a) {
  using U = keel::UnaryCode;
  switch (op) {
    case U::Neg:
      return -a;
    case U::Abs:
      return std::fabs(a);
    case U::Exp:
      return static_cast<float>(std::exp(static_cast<double>(a)));
    case U::Log:
      return static_cast<float>(std::log(static_cast<double>(a)));
    case U::Log1p:
      return static_cast<float>(std::log1p(static_cast<double>(a)));
    case U::Expm1:
      return static_cast<float>(std::expm1(static_cast<double>(a)));
    case U::Sqrt:
      return std::sqrt(a);
    case U::Rsqrt:
      return static_cast<float>(1.0 / std::sqrt(static_cast<double>(a)));
    case U::Square:
      return a * a;
    case U::Reciprocal:
      return 1.0f / a;
    case U::Relu:  // +0 for negatives and -0, NaN kept (as (a + |a|) / 2 gives in JavaScript)
      return a > 0.0f || a != a ? a : 0.0f;  // one select: vectorises inside any loop
    case U::Sigmoid:
      return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(a))));
    case U::Tanh:
      return static_cast<float>(std::tanh(static_cast<double>(a)));
    case U::Sin:
      return static_cast<float>(std::sin(static_cast<double>(a)));
    case U::Cos:
      return static_cast<float>(std::cos(static_cast<double>(a)));
    case U::Sign:
      return a > 0.0f ? 1.0f : a < 0.0f ? -1.0f : a == 0.0f ? 0.0f : a;
    case U::Floor:
      return std::floor(a);
    case U::Ceil:
      return std::ceil(a);
    case U::Round:  // half to even: the default rounding mode
      return std::nearbyint(a);
    case U::LogicalNot:
      return truthy(a) ? 0.0f : 1.0f;
    case U::IsFinite:
      return std::fabs(a) <= 3.4028234663852886e38f ? 1.0f : 0.0f;
    case U::IsNaN:
      return a != a ? 1.0f : 0.0f;
    case U::Count:  // rejected when a program is decoded
      break;
  }
  return a;
}

inline float binary_value(keel::BinaryCode op, float a, float b) {
  using B = keel::BinaryCode;
  switch (op) {
    case B::Add:
      return a + b;
    case B::Sub:
      return a - b;
    case B::Mul:
      return a * b;
    case B::Div:
      return a / b;
    case B::Pow:
      return js_pow(a, b);
    case B::Maximum:
      return js_max(a, b);
    case B::Minimum:
      return js_min(a, b);
    case B::Equal:
      return a == b ? 1.0f : 0.0f;
    case B::NotEqual:
      return a != b ? 1.0f : 0.0f;
    case B::Greater:
      return a > b ? 1.0f : 0.0f;
    case B::GreaterEqual:
      return a >= b ? 1.0f : 0.0f;
    case B::Less:
      return a < b ? 1.0f : 0.0f;
    case B::LessEqual:
      return a <= b ? 1.0f : 0.0f;
    case B::LogicalAnd:
      return truthy(a) && truthy(b) ? 1.0f : 0.0f;
    case B::LogicalOr:
      return truthy(a) || truthy(b) ? 1.0f : 0.0f;
    case B::Count:
      break;
  }
  return a;
}

/** Cast to bool: "not zero", so NaN is true (as tfjs and C casts do). */
inline float to_bool_value(float a) { return a != 0.0f ? 1.0f : 0.0f; }
