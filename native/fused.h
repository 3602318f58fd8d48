// Keel native fused elementwise kernels: an interpreter of the JIT's fused-kernel programs (and of
// single eager ops), run block by block over float32 registers, vectorised, on all cores.
//
// A program is an Int32Array built by src/backend/cpu/fused-native.ts from a FusedSpec
// (src/backend/fused.ts):
//   header [12]: magic, nInputs, nExprs, nStores, nDims, reduceOp (-1: none), reduceExpr, outer, r,
//                inner, reduceDtype, n (elements of the domain)
//   dims [nDims]: the collapsed loop nest over the domain, outermost first
//   per input [2 + nDims]: dtype, mode (0: flat, indexed like the domain; 1: one scalar;
//                2: strided; 3: a row, strided along the innermost dim only, as a bias over
//                NHWC: decoded once and tiled), its stride along each dim (strided and row inputs)
//   per expression [6]: kind (0 input, 1 unary, 2 binary, 3 where, 4 cast), op, a, b, c, dtype
//                (operands refer to earlier expressions; an input expression's `a` is its input)
//   per store [1]: the expression written to the next output buffer (in its own dtype)
// Dtype codes: 0 float32, 1 bfloat16, 2 float16 (bit patterns), 3 bool (bytes). Unary and binary op
// codes follow UNARY_OPS / BINARY_OPS of src/backend/primitives.ts, reduce codes REDUCE_OPS.
// A reduction sums (etc.) one expression over the middle of the domain seen as [outer, r, inner]
// into the last output, accumulating in double.
#ifndef KEEL_NATIVE_FUSED_H_
#define KEEL_NATIVE_FUSED_H_

#include <cstdint>

namespace keel {

enum class UnaryCode : int {
  Neg, Abs, Exp, Log, Log1p, Expm1, Sqrt, Rsqrt, Square, Reciprocal, Relu, Sigmoid, Tanh, Sin, Cos, Sign,
  Floor, Ceil, Round, LogicalNot, IsFinite, IsNaN, Count
};
enum class BinaryCode : int {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum, Equal, NotEqual, Greater, GreaterEqual, Less, LessEqual,
  LogicalAnd, LogicalOr, Count
};
enum class ReduceCode : int { Sum, Mean, Prod, Max, Min, Count };

constexpr int kFusedMagic = 0x4b46;  // "KF"
constexpr int kFusedHeader = 12;
constexpr int kFusedMaxDims = 16;

/** The per-ISA block loops (native/fused_body.h). */
struct BlockOps {
  void (*unary)(int op, const float* a, float* o, int n);
  void (*binary)(int op, const float* a, const float* b, float* o, int n);
  /** the same with a (binary_a1) or b (binary_b1) one value for all n */
  void (*binary_a1)(int op, const float* a, const float* b, float* o, int n);
  void (*binary_b1)(int op, const float* a, const float* b, float* o, int n);
  void (*where)(const float* c, const float* a, const float* b, float* o, int n);
  void (*to_bool)(const float* a, float* o, int n);
  void (*reduce_lanes)(int op, const float* v, double* acc, int n);
  double (*reduce_row)(int op, const float* v, double acc, int n);
  /** acc[k] (op)= v[j] for j < n, with k starting at k0 and wrapping at `inner` (runs of channels). */
  void (*reduce_wrap)(int op, const float* v, double* acc, int n, int64_t inner, int64_t k0);
};

/** A decoded, validated program (pointers into the caller's Int32Array). */
struct FusedProgram {
  int n_inputs, n_exprs, n_stores, n_dims;
  int reduce_op, reduce_expr, reduce_dtype;
  int64_t outer, r, inner, n;
  int64_t dims[kFusedMaxDims];
  const int32_t* inputs;  // n_inputs x (2 + n_dims)
  const int32_t* exprs;   // n_exprs x 6
  const int32_t* stores;  // n_stores
};

/**
 * Decodes and checks a program of `len` ints; on failure returns false with a message in `err`.
 * `need[k]` receives the elements input k must have (n, 1, or its furthest strided position + 1).
 */
bool fused_decode(const int32_t* prog, int64_t len, FusedProgram* p, int64_t* need, char* err, int err_len);

/** Runs a decoded program: inputs[k] / outputs[k] are storage arrays of their dtypes. False on OOM. */
bool fused_run(const FusedProgram& p, const void* const* inputs, void* const* outputs);

/**
 * A fused kernel compiled from generated C++ (src/backend/cpu/fused-codegen.ts): computes elements
 * [lo, hi) of its program's domain; a kernel with row or strided inputs is called on whole runs
 * along the innermost dim only. A reduction's kernel adds its elements, in order, into acc[o * inner
 * + k] (a partial of the caller's, offset so that these indices are valid).
 */
using GeneratedKernel = void (*)(const void* const* inputs, void* const* outputs, int64_t lo, int64_t hi, double* acc);

/**
 * Runs generated kernel fn, compiled from program p, over p's domain on all cores (a reduction in
 * the interpreter's tasks and order). False for a reduction the generator does not take (its
 * innermost dim must be the inner one, dividing the interpreter's block).
 */
bool fused_run_generated(GeneratedKernel fn, const FusedProgram& p, const void* const* inputs, void* const* outputs);

}  // namespace keel

#endif  // KEEL_NATIVE_FUSED_H_
