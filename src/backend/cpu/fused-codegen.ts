// C++ for one fused kernel: the program of src/backend/cpu/fused-native.ts as a single loop over
// its elements that keeps every intermediate value in a register, for the system C++ compiler to
// vectorise (src/backend/cpu/kernel-compiler.ts). The interpreter (native/fused.cc) passes over a
// block of 1024 values once per expression, loading and storing each time: Adam's update, 13
// expressions, ran at a third of the memory's speed. Both use the ops of native/fused_scalar.h, the
// same decodings and the same aliasing casts (bfloat16 stays float32 until stored).
// A kernel with broadcast (row or strided) inputs loops over runs along the innermost dim, a strided
// input's offset kept by an odometer over the outer dims. Programs with float16 values, or with
// strided inputs and runs shorter than 8, are left to the interpreter; so are reductions but those into accumulators along
// the innermost dim (BatchNorm's statistics, bias gradients, global pooling), whose elements the
// kernel adds in the interpreter's order into the interpreter's partials (the same result). The
// values are those of the interpreter but for the sign and payload of NaNs (the C++ compiler may
// swap the operands of a commutative op, and an op of two NaNs returns one of them).
import { BINARY_OPS, REDUCE_OPS, UNARY_OPS } from '../primitives.js';

const HEADER = 12;
const BF16 = 1;
const F16 = 2;
const BOOL = 3;
const KIND = { input: 0, unary: 1, binary: 2, where: 3, cast: 4 } as const;
const MODE = { flat: 0, scalar: 1, strided: 2, row: 3 } as const;
const STORAGE = ['float', 'uint16_t', 'uint16_t', 'uint8_t'];

/** The function's name in fusedCpp's source, for the kernel compiler to replace by its own. */
export const KERNEL_NAME = '__keel_kernel__';

/** The interpreter's block (native/fused.cc): its tasks, which a reduction's kernel runs, are blocks. */
const BLOCK = 1024;

/** The C++ name of an op code's enumerator (native/fused.h spells them in PascalCase). */
const pascal = (op: string) => op[0].toUpperCase() + op.slice(1);

/** Element `at` of input array `p` (storage code `code`) as a float32 expression. */
function decode(p: string, at: string, code: number): string {
  if (code === BF16) return `keel::bf16_to_f32(${p}[${at}])`;
  return code === BOOL ? `static_cast<float>(${p}[${at}])` : `${p}[${at}]`;
}

/** Value v stored as storage code `code`. */
function encode(v: string, code: number): string {
  if (code === BF16) return `keel::f32_to_bf16(${v})`;
  return code === BOOL ? `static_cast<uint8_t>(${v})` : v;
}

/** The accumulation of value v into double accumulator a, as native/fused_body.h's reduce_lanes. */
function accumulate(op: string, a: string, v: string): string {
  if (op === 'sum' || op === 'mean') return `${a} += ${v};`;
  if (op === 'prod') return `${a} *= ${v};`;
  const cmp = op === 'max' ? '>' : '<';
  return `if (${v} ${cmp} ${a} || ${v} != ${v}) ${a} = ${v};`;
}

/**
 * The source of `extern "C" void KERNEL_NAME(const void* const* in, void* const* out, int64_t lo, int64_t
 * hi, double* acc)` computing elements [lo, hi) of `program` (whole runs along the innermost dim
 * when it has broadcast inputs or a reduction; see native/fused.h), or null when the program is one
 * the generator leaves to the interpreter.
 */
export function fusedCpp(program: Int32Array): string | null {
  const [, nInputs, nExprs, nStores, nDims, reduceOp, reduceExpr, , r, inner] = program;
  const dims = Array.from(program.subarray(HEADER, HEADER + nDims));
  const rowLen = dims[nDims - 1];
  const reducing = reduceOp !== -1;
  if (reducing && (inner < 2 || BLOCK % inner !== 0 || rowLen !== inner)) return null;
  const inputAt = HEADER + nDims;
  const exprAt = inputAt + nInputs * (2 + nDims);
  const storeAt = exprAt + nExprs * 6;
  const inputs = Array.from({ length: nInputs }, (_, k) => {
    const w = inputAt + k * (2 + nDims);
    return {
      code: program[w],
      mode: program[w + 1],
      strides: Array.from(program.subarray(w + 2, w + 2 + nDims)),
    };
  });
  // float16 values convert one by one in scalar code (the interpreter converts blocks with F16C):
  // such programs stay interpreted
  const exprCodes = Array.from({ length: nExprs }, (_, e) => program[exprAt + 6 * e + 5]);
  if (inputs.some((i) => i.code === F16) || exprCodes.includes(F16)) return null;
  const strided = inputs.map((_, k) => k).filter((k) => inputs[k].mode === MODE.strided);
  if (strided.length > 0 && rowLen < 8) return null;
  const hasRows = reducing || strided.length > 0 || inputs.some((i) => i.mode === MODE.row);
  const outer = dims.slice(0, -1);
  const before: string[] = [];
  const body: string[] = [];
  inputs.forEach((inp, k) => {
    before.push(
      `  const ${STORAGE[inp.code]}* __restrict in${k} = static_cast<const ${STORAGE[inp.code]}*>(in[${k}]);`,
    );
    if (inp.mode === MODE.scalar) before.push(`  const float s${k} = ${decode(`in${k}`, '0', inp.code)};`);
  });
  const value: string[] = [];
  for (let e = 0; e < nExprs; e++) {
    const [kind, op, a, b, c, code] = program.subarray(exprAt + 6 * e, exprAt + 6 * e + 6);
    const v = `v${e}`;
    let rhs: string;
    switch (kind) {
      case KIND.input: {
        const inp = inputs[a];
        rhs =
          inp.mode === MODE.scalar
            ? `s${a}`
            : inp.mode === MODE.row
              ? decode(`in${a}`, `j * ${inp.strides[nDims - 1]}`, inp.code)
              : inp.mode === MODE.strided
                ? decode(`in${a}`, `o${a} + j * ${inp.strides[nDims - 1]}`, inp.code)
                : decode(`in${a}`, 'i', inp.code);
        break;
      }
      case KIND.unary:
        rhs = `unary_value(keel::UnaryCode::${pascal(UNARY_OPS[op])}, ${value[a]})`;
        break;
      case KIND.binary:
        rhs = `binary_value(keel::BinaryCode::${pascal(BINARY_OPS[op])}, ${value[a]}, ${value[b]})`;
        break;
      case KIND.where:
        rhs = `truthy(${value[a]}) ? ${value[b]} : ${value[c]}`;
        break;
      default: {
        // cast: to bool changes the value; every other cast relabels it (no float16 here)
        if (code === BOOL && exprCodes[a] !== BOOL) rhs = `to_bool_value(${value[a]})`;
        else {
          value.push(value[a]);
          continue;
        }
        body.push(`      const float ${v} = ${rhs};`);
        value.push(v);
        continue;
      }
    }
    body.push(`      const float ${v} = ${rhs};`);
    value.push(v);
  }
  for (let k = 0; k < nStores; k++) {
    const e = program[storeAt + k];
    before.push(
      `  ${STORAGE[exprCodes[e]]}* __restrict out${k} = static_cast<${STORAGE[exprCodes[e]]}*>(out[${k}]);`,
    );
    body.push(`      out${k}[i] = ${encode(value[e], exprCodes[e])};`);
  }
  // the reduced values go through a float32 row: GCC 12 does not vectorise a select (relu) in a loop
  // that also adds into doubles, but does each loop alone
  if (reducing) body.push(`      t[j] = ${value[reduceExpr]};`);
  const accumulateRow = reducing
    ? [
        `    for (int64_t j = 0; j < ${rowLen}; ++j) {`,
        `      ${accumulate(REDUCE_OPS[reduceOp], 'a[j]', 't[j]')}`,
        '    }',
      ]
    : [];
  // ivdep: no element depends on another (an output reusing an input is read first at the same
  // index), and without it the compiler gives up on loops of seven or more arrays (too many
  // pairs to check for overlap at run time), Adam's update among them
  // (on the loop over runs too, but for a reduction's, which carries its accumulators from run to
  // run: GCC vectorises a short run's loop at that level, else with a run-time overlap check that an
  // output written over its input fails, falling back to scalar code)
  const loop = hasRows
    ? [
        ...(reducing ? [] : ['#pragma GCC ivdep']),
        `  for (int64_t s = lo; s < hi; s += ${rowLen}) {`,
        ...(reducing
          ? [`    double* __restrict a = acc + s / ${r * inner} * ${inner};`, `    float t[${rowLen}];`]
          : []),
        '#pragma GCC ivdep',
        `    for (int64_t j = 0; j < ${rowLen}; ++j) {`,
        '      const int64_t i = s + j;',
      ]
    : ['  {', '#pragma GCC ivdep', '    for (int64_t i = lo; i < hi; ++i) {'];
  // strided inputs: the outer index of the first run, each input's offset there, and their steps
  const odometer: string[] = [];
  if (strided.length > 0 && outer.length > 0) {
    before.push(`  static const int64_t dims[${outer.length}] = {${outer.join(', ')}};`);
    before.push(`  int64_t idx[${outer.length}];`);
    before.push(`  for (int64_t q = lo / ${rowLen}, d = ${outer.length - 1}; d >= 0; --d) {`);
    before.push('    idx[d] = q % dims[d];');
    before.push('    q /= dims[d];');
    before.push('  }');
    for (const k of strided) {
      const st = inputs[k].strides.slice(0, -1);
      before.push(`  static const int64_t st${k}[${outer.length}] = {${st.join(', ')}};`);
      before.push(`  int64_t o${k} = ${st.map((_, d) => `idx[${d}] * st${k}[${d}]`).join(' + ')};`);
    }
    odometer.push(`    for (int64_t d = ${outer.length - 1}; d >= 0; --d) {`);
    odometer.push('      ++idx[d];');
    for (const k of strided) odometer.push(`      o${k} += st${k}[d];`);
    odometer.push('      if (idx[d] < dims[d]) break;');
    for (const k of strided) odometer.push(`      o${k} -= dims[d] * st${k}[d];`);
    odometer.push('      idx[d] = 0;');
    odometer.push('    }');
  } else {
    for (const k of strided) before.push(`  const int64_t o${k} = 0;`);
  }
  return [
    `extern "C" void ${KERNEL_NAME}(const void* const* in, void* const* out, int64_t lo, int64_t hi, double* acc) {`,
    ...before,
    ...loop,
    ...body,
    '    }',
    ...accumulateRow,
    ...odometer,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The lines every translation unit of generated kernels starts with. */
export const CPP_PRELUDE = [
  '// Fused kernels generated by Keel (src/backend/cpu/fused-codegen.ts).',
  '#include <cmath>',
  '#include <cstdint>',
  '#include <cstring>',
  '#include <limits>',
  '#include "fused.h"',
  '#include "numeric.h"',
  'namespace {',
  '#include "fused_scalar.h"',
  '}  // namespace',
  '',
].join('\n');
