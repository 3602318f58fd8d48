// Eager elementwise ops as one-expression fused programs for the native interpreter
// (src/backend/cpu/fused-native.ts): each builder returns the cache key that determines the spec
// (op, dtypes, shapes) and the spec itself, built only on a cache miss.
import type { DType } from '../../dtype.js';
import type { OutputSpec, TensorInfo } from '../backend.js';
import type { FusedSpec } from '../fused.js';
import type { BinaryOp, ReduceOp, UnaryOp } from '../primitives.js';

export interface EagerSpec {
  key: string;
  spec: () => FusedSpec;
}

type Shaped = Pick<TensorInfo, 'shape' | 'dtype'>;
const sig = (t: Shaped) => `${t.dtype}|${t.shape}`;
const input = (k: number, t: Shaped) => ({ kind: 'input' as const, input: k, dtype: t.dtype });
const inputsOf = (ts: readonly Shaped[]) => ts.map((t) => ({ shape: t.shape, dtype: t.dtype }));

export function unarySpec(x: Shaped, op: UnaryOp, out: OutputSpec): EagerSpec {
  return {
    key: `u|${op}|${sig(x)}|${out.dtype}`,
    spec: () => ({
      inputs: inputsOf([x]),
      shape: out.shape,
      exprs: [input(0, x), { kind: 'unary', op, a: 0, dtype: out.dtype }],
      stores: [1],
    }),
  };
}

export function binarySpec(a: Shaped, b: Shaped, op: BinaryOp, out: OutputSpec): EagerSpec {
  return {
    key: `b|${op}|${sig(a)}|${sig(b)}|${sig(out)}`,
    spec: () => ({
      inputs: inputsOf([a, b]),
      shape: out.shape,
      exprs: [input(0, a), input(1, b), { kind: 'binary', op, a: 0, b: 1, dtype: out.dtype }],
      stores: [2],
    }),
  };
}

export function whereSpec(c: Shaped, a: Shaped, b: Shaped, out: OutputSpec): EagerSpec {
  return {
    key: `w|${sig(c)}|${sig(a)}|${sig(b)}|${sig(out)}`,
    spec: () => ({
      inputs: inputsOf([c, a, b]),
      shape: out.shape,
      exprs: [
        input(0, c),
        input(1, a),
        input(2, b),
        { kind: 'where', cond: 0, a: 1, b: 2, dtype: out.dtype },
      ],
      stores: [3],
    }),
  };
}

export function castSpec(x: Shaped, dtype: DType): EagerSpec {
  return {
    key: `c|${sig(x)}|${dtype}`,
    spec: () => ({
      inputs: inputsOf([x]),
      shape: x.shape,
      exprs: [input(0, x), { kind: 'cast', a: 0, dtype }],
      stores: [1],
    }),
  };
}

export function reduceSpec(x: Shaped, op: ReduceOp, axes: number[], out: OutputSpec): EagerSpec {
  return {
    key: `r|${op}|${axes}|${sig(x)}|${out.dtype}`,
    spec: () => ({
      inputs: inputsOf([x]),
      shape: x.shape,
      exprs: [input(0, x)],
      stores: [],
      reduce: { op, expr: 0, axes, shape: out.shape, dtype: out.dtype },
    }),
  };
}

export function broadcastSpec(x: Shaped, shape: readonly number[]): EagerSpec {
  return {
    key: `bt|${sig(x)}|${shape}`,
    spec: () => ({ inputs: inputsOf([x]), shape, exprs: [input(0, x)], stores: [0] }),
  };
}
