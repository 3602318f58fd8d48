// Automatic mixed precision for float32 models (compile({ autoMixedPrecision })), applied at
// dispatch like torch.autocast, with TensorFlow AMP's lists: matMul and convolutions run in the
// 16-bit dtype (allow list); exp/log/pow and reductions — the pieces of softmax, norms and losses —
// run in float32 (deny list); everything else keeps its inputs' dtype, and mixed float operands
// meet in the 16-bit dtype. Only the forward pass runs under autocast: the backward pass follows the
// dtypes the forward recorded.
import type { Primitive } from '../backend/primitives.js';
import type { DType } from '../dtype.js';
import { type AutocastHook, ENGINE } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';

const ALLOW = new Set<Primitive>(['matMul', 'conv2d', 'depthwiseConv2d', 'conv2dBackpropInput']);
const DENY_UNARY = new Set(['exp', 'log', 'log1p', 'expm1', 'reciprocal', 'rsqrt']);
const DENY_BINARY = new Set(['pow']);
const DENY_REDUCE = new Set(['sum', 'mean', 'prod']);

/** What an autocast region cast: counts per op ('matMul', 'unary:exp', 'reduce:sum', ...). */
export type AutocastCounts = Record<string, number>;

function opName(prim: Primitive, attrs: unknown): string {
  const op = (attrs as { op?: string } | null)?.op;
  return op ? `${prim}:${op}` : prim;
}

export class AutocastPolicy implements AutocastHook {
  readonly counts: AutocastCounts = {};
  constructor(readonly dtype: 'float16' | 'bfloat16') {
    if (dtype !== 'float16' && dtype !== 'bfloat16')
      throw new Error(`autoMixedPrecision: expected 'float16' or 'bfloat16', got '${String(dtype)}'`);
  }

  target(prim: Primitive, attrs: unknown, _inputs: readonly Tensor[]): DType | null {
    if (ALLOW.has(prim)) return this.dtype;
    const op = (attrs as { op?: string } | null)?.op;
    if (prim === 'unary' && op && DENY_UNARY.has(op)) return 'float32';
    if (prim === 'binary' && op && DENY_BINARY.has(op)) return 'float32';
    if (prim === 'reduce' && op && DENY_REDUCE.has(op)) return 'float32';
    return null;
  }

  record(prim: Primitive, attrs: unknown): void {
    const k = opName(prim, attrs);
    this.counts[k] = (this.counts[k] ?? 0) + 1;
  }
}

/** Runs fn with automatic mixed precision in `policy`'s dtype (regions nest; the inner one wins). */
export function autocast<T>(policy: AutocastPolicy, fn: () => T): T {
  const prev = ENGINE.autocast;
  ENGINE.autocast = policy;
  try {
    return fn();
  } finally {
    ENGINE.autocast = prev;
  }
}
