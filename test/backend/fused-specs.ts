// Fused-kernel specs for the native kernels' tests (fused-native, fused-codegen): one op, and random programs.
import type { FusedSpec } from '../../src/backend/fused.js';
import { type BINARY_OPS, COMPARISON_OPS, REDUCE_OPS, type UNARY_OPS } from '../../src/backend/primitives.js';
import type { DType } from '../../src/dtype.js';
import { rng } from '../helpers.js';

const FLOATS: DType[] = ['float32', 'bfloat16', 'float16'];

/** One unary op over an input of `shape` (bool in and out where the op is logical). */
export const unarySpec = (op: (typeof UNARY_OPS)[number], dtype: DType, shape: number[]): FusedSpec => {
  const inType: DType = op === 'logicalNot' ? 'bool' : dtype;
  const outType: DType = op === 'logicalNot' || op === 'isFinite' || op === 'isNaN' ? 'bool' : dtype;
  return {
    inputs: [{ shape, dtype: inType }],
    shape,
    exprs: [
      { kind: 'input', input: 0, dtype: inType },
      { kind: 'unary', op, a: 0, dtype: outType },
    ],
    stores: [1],
  };
};

/** One binary op over inputs of shapes sa and sb broadcast to so. */
export const binarySpec = (
  op: (typeof BINARY_OPS)[number],
  dtype: DType,
  [sa, sb, so]: number[][],
): FusedSpec => {
  const logical = op === 'logicalAnd' || op === 'logicalOr';
  const inType: DType = logical ? 'bool' : dtype;
  return {
    inputs: [
      { shape: sa, dtype: inType },
      { shape: sb, dtype: inType },
    ],
    shape: so,
    exprs: [
      { kind: 'input', input: 0, dtype: inType },
      { kind: 'input', input: 1, dtype: inType },
      { kind: 'binary', op, a: 0, b: 1, dtype: COMPARISON_OPS.has(op) ? 'bool' : dtype },
    ],
    stores: [2],
  };
};

/**
 * A random spec of exact operations (their float32 results equal JavaScript's bit for bit): rank 1-5,
 * inputs broadcast along random dims, a random expression DAG, random stores, and sometimes a
 * reduction over a random group of contiguous axes.
 */
export function randomSpec(seed: number, big: boolean): FusedSpec {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const rank = 1 + Math.floor(r() * 5);
  const shape = Array.from({ length: rank }, () => 1 + Math.floor(r() * (big ? 14 : 6)));
  if (big) shape[0] = 40;
  const dtype = pick(FLOATS);
  const nIn = 1 + Math.floor(r() * 4);
  const inputs = Array.from({ length: nIn }, () => ({
    shape: shape.slice(Math.floor(r() * rank)).map((d) => (r() < 0.3 ? 1 : d)),
    dtype,
  }));
  const exprs: FusedSpec['exprs'] = inputs.map((inp, k) => ({ kind: 'input', input: k, dtype: inp.dtype }));
  const EXACT_UNARY = ['neg', 'abs', 'square', 'relu', 'floor', 'ceil', 'round', 'sign'] as const;
  const EXACT_BINARY = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'greater', 'lessEqual'] as const;
  const floats = () => exprs.map((e, i) => (e.dtype === 'bool' ? -1 : i)).filter((i) => i >= 0);
  const nOps = 3 + Math.floor(r() * 8);
  for (let k = 0; k < nOps; k++) {
    const kind = r();
    if (kind < 0.35) exprs.push({ kind: 'unary', op: pick(EXACT_UNARY), a: pick(floats()), dtype });
    else if (kind < 0.8) {
      const op = pick(EXACT_BINARY);
      exprs.push({
        kind: 'binary',
        op,
        a: pick(floats()),
        b: pick(floats()),
        dtype: COMPARISON_OPS.has(op) ? 'bool' : dtype,
      });
    } else {
      const bools = exprs.map((e, i) => (e.dtype === 'bool' ? i : -1)).filter((i) => i >= 0);
      if (bools.length)
        exprs.push({ kind: 'where', cond: pick(bools), a: pick(floats()), b: pick(floats()), dtype });
      else exprs.push({ kind: 'cast', a: pick(floats()), dtype: 'bool' });
    }
  }
  const last = exprs.length - 1;
  const stores = [...new Set([last, pick(floats())])];
  const spec: FusedSpec = { inputs, shape, exprs, stores };
  if (r() < 0.5) {
    const lo = Math.floor(r() * rank);
    const hi = lo + 1 + Math.floor(r() * (rank - lo));
    const axes = Array.from({ length: hi - lo }, (_, i) => lo + i);
    const expr = pick(floats());
    spec.reduce = {
      op: pick(REDUCE_OPS),
      expr,
      axes,
      shape: shape.filter((_, i) => !axes.includes(i)),
      dtype,
    };
  }
  return spec;
}
