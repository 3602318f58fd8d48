// Fused kernels run by the native addon's interpreter (native/fused.h): a FusedSpec becomes an
// Int32Array program of the collapsed loop nest, the inputs' layouts and the expressions, which the
// addon runs block by block, vectorised, on all cores. Specs over int32 values stay with the
// generated JavaScript (src/backend/cpu/fused.ts), whose results they otherwise match: the same
// per-dtype rounding, float32 arithmetic, transcendental functions in double, float64 accumulation.
import type { DType, Storage } from '../../dtype.js';
import { allocStorage } from '../../dtype.js';
import type { FusedSpec } from '../fused.js';
import { BINARY_OPS, REDUCE_OPS, UNARY_OPS } from '../primitives.js';
import { broadcastStrides } from './elementwise.js';
import { collapse, type LoopDim } from './fused.js';
import { fusedCpp } from './fused-codegen.js';
import type { KernelCompiler } from './kernel-compiler.js';
import type { NativeKernels } from './native.js';
import { reductionLayout } from './reduce.js';

const MAGIC = 0x4b46;
const MAX_DIMS = 16;
const CODE: Partial<Record<DType, number>> = { float32: 0, bfloat16: 1, float16: 2, bool: 3 };
const KIND = { input: 0, unary: 1, binary: 2, where: 3, cast: 4 } as const;
const MODE = { flat: 0, scalar: 1, strided: 2, row: 3 } as const;
/** Longest row the interpreter decodes once and tiles (native/fused.cc). */
const MAX_ROW = 1 << 20;

export type FusedNative = Required<Pick<NativeKernels, 'fused'>>['fused'];

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * The program for `spec`, or null when the interpreter cannot run it (int32 values, more than
 * 2^31 - 1 elements or 16 loop dims).
 */
export function encodeFused(spec: FusedSpec): Int32Array | null {
  const dtypes = [...spec.inputs.map((i) => i.dtype), ...spec.exprs.map((e) => e.dtype)];
  if (spec.reduce) dtypes.push(spec.reduce.dtype === 'bool' ? 'int32' : spec.reduce.dtype);
  if (dtypes.some((d) => CODE[d] === undefined)) return null;
  const n = size(spec.shape);
  if (n < 1 || n > 0x7fffffff) return null;
  const allStrides = spec.inputs.map((inp) => broadcastStrides(inp.shape, spec.shape));
  const mode: number[] = spec.inputs.map((inp) => {
    const m = size(inp.shape);
    return m === n ? MODE.flat : m === 1 ? MODE.scalar : MODE.strided;
  });
  const strided = spec.inputs.map((_, k) => k).filter((k) => mode[k] === MODE.strided);
  const sStrides = strided.map((k) => allStrides[k]);
  let dims: LoopDim[];
  let red = [-1, 0, 1, n, 1, 0];
  if (spec.reduce) {
    // collapsed per section ([outer, reduced, inner]), so no run along the innermost dim crosses one
    const layout = reductionLayout(spec.shape, spec.reduce.axes);
    if (!layout) return null;
    const sorted = [...spec.reduce.axes].sort((a, b) => a - b);
    const r = spec.shape.length;
    const lo = sorted.length ? sorted[0] : r;
    const hi = sorted.length ? sorted[sorted.length - 1] + 1 : r;
    dims = [
      ...collapse(spec.shape, sStrides, 0, lo),
      ...collapse(spec.shape, sStrides, lo, hi),
      ...collapse(spec.shape, sStrides, hi, r),
    ];
    const op = REDUCE_OPS.indexOf(spec.reduce.op);
    red = [op, spec.reduce.expr, layout.outer, layout.r, layout.inner, CODE[spec.reduce.dtype]!];
  } else dims = collapse(spec.shape, sStrides, 0, spec.shape.length);
  if (dims.length === 0) dims = [{ size: 1, strides: strided.map(() => 0) }];
  if (dims.length > MAX_DIMS) return null;
  // strided inputs that move along the innermost dim only (a bias over NHWC) are rows
  const innermost = dims[dims.length - 1];
  strided.forEach((k, j) => {
    if (innermost.size <= MAX_ROW && dims.slice(0, -1).every((d) => d.strides[j] === 0)) mode[k] = MODE.row;
  });
  const words: number[] = [
    MAGIC,
    spec.inputs.length,
    spec.exprs.length,
    spec.stores.length,
    dims.length,
    ...red,
    n,
    ...dims.map((d) => d.size),
  ];
  spec.inputs.forEach((inp, k) => {
    const j = strided.indexOf(k);
    words.push(CODE[inp.dtype]!, mode[k], ...dims.map((d) => (j < 0 ? 0 : d.strides[j])));
  });
  for (const e of spec.exprs) {
    const code = CODE[e.dtype]!;
    switch (e.kind) {
      case 'input':
        words.push(KIND.input, 0, e.input, 0, 0, code);
        break;
      case 'unary':
        words.push(KIND.unary, UNARY_OPS.indexOf(e.op), e.a, 0, 0, code);
        break;
      case 'binary':
        words.push(KIND.binary, BINARY_OPS.indexOf(e.op), e.a, e.b, 0, code);
        break;
      case 'where':
        words.push(KIND.where, 0, e.cond, e.a, e.b, code);
        break;
      case 'cast':
        words.push(KIND.cast, 0, e.a, 0, 0, code);
        break;
    }
  }
  words.push(...spec.stores);
  if (words.some((w) => !Number.isInteger(w) || w > 0x7fffffff || w < -0x80000000)) return null;
  return Int32Array.from(words);
}

/** Generated kernels for hot fused programs (src/backend/cpu/kernel-compiler.ts), when available. */
export interface FusedCodegen {
  compiler(): KernelCompiler | null;
  run: Required<NativeKernels>['fusedGenerated'];
}

/** Runs of a fused kernel after which it is compiled to native code (a training loop's steps). */
export const HOT_RUNS = 8;

/**
 * The native kernel for `spec` (null when encodeFused declines it); same contract as
 * compileFusedJs. With `codegen`, a program the generator takes is compiled once hot and then run
 * as generated code (the same values).
 */
export function compileFusedNative(
  spec: FusedSpec,
  fused: FusedNative,
  /** output arrays (every element is written, so they need not be zeroed) */
  alloc: (dtype: DType, n: number) => Storage = allocStorage,
  codegen?: FusedCodegen,
): { run: (inputs: Storage[], reuse: (Storage | null)[]) => Storage[]; program: Int32Array } | null {
  const program = encodeFused(spec);
  if (!program) return null;
  const n = size(spec.shape);
  const storeTypes = spec.stores.map((e) => spec.exprs[e].dtype);
  const red = spec.reduce;
  const redSize = red ? size(red.shape) : 0;
  let generated: object | null = null;
  // runs so far; then, once hot: whether the kernel was asked for (false: the generator declined it)
  let runs = 0;
  let asked = false;
  const run = (inputs: Storage[], reuse: (Storage | null)[]): Storage[] => {
    const outs = storeTypes.map((d, k) => reuse[k] ?? alloc(d, n));
    if (red) outs.push(alloc(red.dtype, redSize));
    if (generated) {
      codegen!.run(generated, program, inputs, outs);
      return outs;
    }
    fused(program, inputs, outs);
    if (!codegen || ++runs < HOT_RUNS) return outs;
    if (runs === HOT_RUNS) {
      const compiler = codegen.compiler();
      const source = compiler && fusedCpp(program);
      asked = !!source;
      if (source)
        compiler!.request(source, (k) => {
          generated = k;
        });
    } else if (asked) codegen.compiler()!.poll();
    return outs;
  };
  return { run, program };
}
