// Elementwise CPU kernels: one JavaScript loop per op, generated once from an expression and cached.

import type { BinaryOp, UnaryOp } from '../primitives.js';

/** Scalar expressions of the unary ops, over a value `a` (floats computed in double, stored rounded). */
export const UNARY_EXPR: { [O in UnaryOp]: string } = {
  neg: '-a',
  abs: 'Math.abs(a)',
  exp: 'Math.exp(a)',
  log: 'Math.log(a)',
  log1p: 'Math.log1p(a)',
  expm1: 'Math.expm1(a)',
  sqrt: 'Math.sqrt(a)',
  rsqrt: '1 / Math.sqrt(a)',
  square: 'a * a',
  reciprocal: '1 / a',
  // branch-free for random signs ((a + |a|) / 2 is exact); the rare -Inf is a predictable branch
  relu: '(a !== -Infinity ? (a + Math.abs(a)) * 0.5 : 0)',
  sigmoid: '1 / (1 + Math.exp(-a))',
  tanh: 'Math.tanh(a)',
  sin: 'Math.sin(a)',
  cos: 'Math.cos(a)',
  sign: '(a > 0 ? 1 : a < 0 ? -1 : a === 0 ? 0 : a)',
  floor: 'Math.floor(a)',
  ceil: 'Math.ceil(a)',
  // round half to even, as tfjs and numpy do
  round: '(Math.abs(a - Math.trunc(a)) === 0.5 ? 2 * Math.round(a / 2) : Math.round(a))',
  logicalNot: '(a ? 0 : 1)',
  isFinite: '(Number.isFinite(a) ? 1 : 0)',
  isNaN: '(a !== a ? 1 : 0)',
};

/**
 * Binary expressions over `a`, `b`; integer division floors as tfjs' div does on int32. Comparisons
 * convert the boolean with `+`, which compiles without a branch (random masks would mispredict).
 */
export const BINARY_EXPR: { [O in BinaryOp]: string } = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'Math.pow(a, b)',
  maximum: 'Math.max(a, b)',
  minimum: 'Math.min(a, b)',
  equal: '+(a === b)',
  notEqual: '+(a !== b)',
  greater: '+(a > b)',
  greaterEqual: '+(a >= b)',
  less: '+(a < b)',
  lessEqual: '+(a <= b)',
  logicalAnd: '(a && b ? 1 : 0)',
  logicalOr: '(a || b ? 1 : 0)',
};

export const INT_DIV_EXPR = 'Math.floor(a / b)';

type NumArray = { [i: number]: number; length: number };
/** out[i] = expr(inputs broadcast to outShape at i). `strides[k]` are input k's strides in output dims (0 = broadcast). */
export type ElementwiseLoop = (
  inputs: NumArray[],
  out: NumArray,
  outShape: readonly number[],
  strides: number[][],
) => void;

const VARS = ['a', 'b', 'c'];
const cache = new Map<string, ElementwiseLoop>();

/**
 * The loop for `expr` over `arity` inputs: a flat path when no input broadcasts, else an odometer
 * over outer dims.
 */
export function elementwiseLoop(arity: number, expr: string): ElementwiseLoop {
  const key = `${arity}:${expr}`;
  let fn = cache.get(key);
  if (fn) return fn;
  const v = VARS.slice(0, arity);
  const loads = (idx: (k: number) => string) =>
    v.map((name, k) => `const ${name} = X${k}[${idx(k)}];`).join(' ');
  const body = `
    const n = out.length;
    ${v.map((_, k) => `const X${k} = inputs[${k}];`).join('\n')}
    let flat = true;
    for (let k = 0; k < ${arity}; k++) if (inputs[k].length !== n) flat = false;
    if (flat) {
      for (let i = 0; i < n; i++) { ${loads(() => 'i')} out[i] = ${expr}; }
      return;
    }
    const r = outShape.length;
    if (r === 0) { ${loads(() => '0')} out[0] = ${expr}; return; }
    const inner = outShape[r - 1];
    ${v.map((_, k) => `const s${k} = strides[${k}][r - 1]; let o${k} = 0;`).join('\n')}
    const idx = new Array(r).fill(0);
    for (let base = 0; base < n; base += inner) {
      ${v.map((_, k) => `let p${k} = o${k};`).join(' ')}
      for (let i = 0; i < inner; i++) {
        ${loads((k) => `p${k}`)}
        out[base + i] = ${expr};
        ${v.map((_, k) => `p${k} += s${k};`).join(' ')}
      }
      // advance the odometer over the outer dims
      for (let d = r - 2; d >= 0; d--) {
        idx[d]++;
        ${v.map((_, k) => `o${k} += strides[${k}][d];`).join(' ')}
        if (idx[d] < outShape[d]) break;
        ${v.map((_, k) => `o${k} -= strides[${k}][d] * outShape[d];`).join(' ')}
        idx[d] = 0;
      }
    }`;
  fn = new Function('inputs', 'out', 'outShape', 'strides', body) as ElementwiseLoop;
  cache.set(key, fn);
  return fn;
}

/** Strides of `shape` read as if broadcast to `outShape` (0 on broadcast dims). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const r = outShape.length;
  const strides = new Array<number>(r).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = r - shape.length + i;
    strides[d] = shape[i] === 1 && outShape[d] !== 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}
