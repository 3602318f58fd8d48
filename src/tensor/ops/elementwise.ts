// Elementwise ops (unary, binary with broadcasting, where, cast) and activations built from them.

import type { BinaryOp, UnaryOp } from '../../backend/primitives.js';
import { COMPARISON_OPS } from '../../backend/primitives.js';
import type { DType } from '../../dtype.js';
import { ENGINE } from '../engine.js';
import type { Tensor } from '../tensor.js';
import {
  broadcastShapes,
  check,
  checkDtypeName,
  commonDtype,
  convert,
  convertPair,
  fail,
  requireFloat,
  scoped,
  type TensorLike,
} from './util.js';

const FLOAT_ONLY: ReadonlySet<UnaryOp> = new Set([
  'exp',
  'log',
  'log1p',
  'expm1',
  'sqrt',
  'rsqrt',
  'reciprocal',
  'sigmoid',
  'tanh',
  'sin',
  'cos',
]);

function unary(op: UnaryOp, x: TensorLike): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', op);
    if (FLOAT_ONLY.has(op)) requireFloat(t, 'x', op);
    let dtype: DType = t.dtype;
    if (op === 'logicalNot') {
      check(t.dtype === 'bool', op, () => `argument 'x' must be bool, got ${t.dtype}`);
    } else if (op === 'isFinite' || op === 'isNaN') {
      dtype = 'bool';
    } else {
      check(t.dtype !== 'bool', op, () => `argument 'x' must be numeric, got bool`);
    }
    return ENGINE.run('unary', [t], { op }, t.shape.slice(), dtype);
  });
}

function binary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  return scoped(() => {
    let [ta, tb] = convertPair(a, b, op);
    const logical = op === 'logicalAnd' || op === 'logicalOr';
    if (logical) {
      check(
        ta.dtype === 'bool' && tb.dtype === 'bool',
        op,
        () => `arguments must be bool, got ${ta.dtype} and ${tb.dtype}`,
      );
    } else {
      const d = commonDtype(ta, tb, op);
      if (ta.dtype !== d) ta = cast(ta, d);
      if (tb.dtype !== d) tb = cast(tb, d);
      if (!COMPARISON_OPS.has(op))
        check(d !== 'bool', op, () => 'arithmetic on bool tensors; cast them first');
    }
    const shape = broadcastShapes(ta.shape, tb.shape, op);
    const dtype: DType = COMPARISON_OPS.has(op) ? 'bool' : ta.dtype;
    return ENGINE.run('binary', [ta, tb], { op }, shape, dtype);
  });
}

export const neg = (x: TensorLike) => unary('neg', x);
export const abs = (x: TensorLike) => unary('abs', x);
export const exp = (x: TensorLike) => unary('exp', x);
export const log = (x: TensorLike) => unary('log', x);
export const log1p = (x: TensorLike) => unary('log1p', x);
export const expm1 = (x: TensorLike) => unary('expm1', x);
export const sqrt = (x: TensorLike) => unary('sqrt', x);
export const rsqrt = (x: TensorLike) => unary('rsqrt', x);
export const square = (x: TensorLike) => unary('square', x);
export const reciprocal = (x: TensorLike) => unary('reciprocal', x);
export const relu = (x: TensorLike) => unary('relu', x);
export const sigmoid = (x: TensorLike) => unary('sigmoid', x);
export const tanh = (x: TensorLike) => unary('tanh', x);
export const sin = (x: TensorLike) => unary('sin', x);
export const cos = (x: TensorLike) => unary('cos', x);
export const sign = (x: TensorLike) => unary('sign', x);
export const floor = (x: TensorLike) => unary('floor', x);
export const ceil = (x: TensorLike) => unary('ceil', x);
export const round = (x: TensorLike) => unary('round', x);
export const logicalNot = (x: TensorLike) => unary('logicalNot', x);
// biome-ignore lint/suspicious/noShadowRestrictedNames: tfjs' op name
export const isFinite = (x: TensorLike) => unary('isFinite', x);
// biome-ignore lint/suspicious/noShadowRestrictedNames: tfjs' op name
export const isNaN = (x: TensorLike) => unary('isNaN', x);

export const add = (a: TensorLike, b: TensorLike) => binary('add', a, b);
export const sub = (a: TensorLike, b: TensorLike) => binary('sub', a, b);
export const mul = (a: TensorLike, b: TensorLike) => binary('mul', a, b);
export const div = (a: TensorLike, b: TensorLike) => binary('div', a, b);
export const pow = (base: TensorLike, exponent: TensorLike) => binary('pow', base, exponent);
export const maximum = (a: TensorLike, b: TensorLike) => binary('maximum', a, b);
export const minimum = (a: TensorLike, b: TensorLike) => binary('minimum', a, b);
export const equal = (a: TensorLike, b: TensorLike) => binary('equal', a, b);
export const notEqual = (a: TensorLike, b: TensorLike) => binary('notEqual', a, b);
export const greater = (a: TensorLike, b: TensorLike) => binary('greater', a, b);
export const greaterEqual = (a: TensorLike, b: TensorLike) => binary('greaterEqual', a, b);
export const less = (a: TensorLike, b: TensorLike) => binary('less', a, b);
export const lessEqual = (a: TensorLike, b: TensorLike) => binary('lessEqual', a, b);
export const logicalAnd = (a: TensorLike, b: TensorLike) => binary('logicalAnd', a, b);
export const logicalOr = (a: TensorLike, b: TensorLike) => binary('logicalOr', a, b);

/** Elementwise choice: `condition ? a : b`, all three broadcast together. */
export function where(condition: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  return scoped(() => {
    const c = convert(condition, 'condition', 'where', 'bool');
    check(c.dtype === 'bool', 'where', () => `argument 'condition' must be bool, got ${c.dtype}`);
    let [ta, tb] = convertPair(a, b, 'where');
    const d = commonDtype(ta, tb, 'where');
    if (ta.dtype !== d) ta = cast(ta, d);
    if (tb.dtype !== d) tb = cast(tb, d);
    const shape = broadcastShapes(broadcastShapes(c.shape, ta.shape, 'where'), tb.shape, 'where');
    return ENGINE.run('where', [c, ta, tb], {}, shape, d);
  });
}

/** Explicit dtype conversion; 16-bit floats round to nearest even, floats to int32 truncate. */
export function cast(x: TensorLike, dtype: DType): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'cast');
    const d = checkDtypeName(dtype, 'cast');
    if (t.dtype === d) return ENGINE.run('reshape', [t], { shape: t.shape.slice() }, t.shape.slice(), d);
    return ENGINE.run('cast', [t], { dtype: d }, t.shape.slice(), d);
  });
}

export function relu6(x: TensorLike): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'relu6');
    return minimum(relu(t), 6);
  });
}

export function elu(x: TensorLike, alpha = 1): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'elu');
    requireFloat(t, 'x', 'elu');
    return where(greater(t, 0), t, mul(expm1(minimum(t, 0)), alpha));
  });
}

export function leakyRelu(x: TensorLike, alpha = 0.2): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'leakyRelu');
    return where(greater(t, 0), t, mul(t, alpha));
  });
}

/**
 * log(1 + e^x), stable for large |x|: x + log1p(e^-x) for x >= 0, log1p(e^x) below. Each branch only
 * sees its own half of the line (so neither overflows nor poisons the other's gradient with NaN), and
 * the gradient is sigmoid(x) everywhere, 1/2 at 0 (max(x,0) + log1p(e^-|x|) would give 0 there).
 */
export function softplus(x: TensorLike): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'softplus');
    requireFloat(t, 'x', 'softplus');
    const pos = add(t, log1p(exp(neg(maximum(t, 0)))));
    const negative = log1p(exp(minimum(t, 0)));
    return where(greaterEqual(t, 0), pos, negative);
  });
}

/** Clamps x to [clipValueMin, clipValueMax]; the result keeps x's dtype (int32 too, as tfjs). */
export function clipByValue(x: TensorLike, clipValueMin: number, clipValueMax: number): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'clipByValue');
    check(t.dtype !== 'bool', 'clipByValue', () => `argument 'x' must be numeric, got bool`);
    if (!(clipValueMin <= clipValueMax))
      fail('clipByValue', `clipValueMin ${clipValueMin} must be <= clipValueMax ${clipValueMax}`);
    const y = minimum(maximum(t, clipValueMin), clipValueMax);
    return y.dtype === t.dtype ? y : cast(y, t.dtype);
  });
}

export function squaredDifference(a: TensorLike, b: TensorLike): Tensor {
  return scoped(() => {
    return square(sub(a, b));
  });
}
