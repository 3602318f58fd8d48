// The backend-neutral description of a fused kernel that the JIT hands to a backend to compile:
// an SSA list of elementwise expressions over broadcast inputs, some of them stored, optionally
// feeding one reduction. The CPU backend generates JavaScript from it; a CUDA backend, CUDA C.
import type { DType } from '../dtype.js';
import type { BinaryOp, ReduceOp, UnaryOp } from './primitives.js';

export type FusedExpr =
  | { kind: 'input'; input: number; dtype: DType }
  | { kind: 'unary'; op: UnaryOp; a: number; dtype: DType }
  | { kind: 'binary'; op: BinaryOp; a: number; b: number; dtype: DType }
  | { kind: 'where'; cond: number; a: number; b: number; dtype: DType }
  | { kind: 'cast'; a: number; dtype: DType };

export interface FusedSpec {
  /** external inputs, each broadcast to `shape` (numpy rules) */
  inputs: { shape: readonly number[]; dtype: DType }[];
  /** the elementwise domain: every expression is evaluated once per element of this shape */
  shape: readonly number[];
  exprs: FusedExpr[];
  /** expressions written to their own output buffers (in `shape`, their expression's dtype) */
  stores: number[];
  /** a reduction of one expression over contiguous axes of `shape`, written as the last output */
  reduce?: { op: ReduceOp; expr: number; axes: number[]; shape: readonly number[]; dtype: DType };
}

/**
 * A compiled fused kernel: input buffers in, output buffers out (stores, then the reduction).
 * `reuse[k]`, when given, is an input buffer of store k's size and dtype that dies here: the
 * kernel writes store k into it (element i is read before it is written) instead of allocating.
 */
export type FusedKernel = (inputs: readonly object[], reuse?: readonly (object | null)[]) => object[];

export interface FusedCompiler {
  compileFused(spec: FusedSpec): { kernel: FusedKernel; source: string };
}
