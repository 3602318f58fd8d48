// Gradient rules of unary, binary, where and cast.

import type { BinaryOp, UnaryOp } from '../../backend/primitives.js';
import { isFloatDType } from '../../dtype.js';
import { zerosLike } from '../../tensor/ops/creation.js';
import {
  add,
  cast,
  cos,
  div,
  greater,
  greaterEqual,
  lessEqual,
  log,
  mul,
  neg,
  pow,
  sign,
  sin,
  square,
  sub,
  where,
} from '../../tensor/ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GradTable } from '../rule.js';
import { unbroadcast } from './util.js';

type Saved = { x: Tensor; y: Tensor };
/** Per unary op: what it needs (x and/or y) and dx given dy. null = not differentiable. */
const UNARY: {
  [O in UnaryOp]: { x?: true; y?: true; dx: ((dy: Tensor, s: Saved) => Tensor) | 'zero' | null };
} = {
  neg: { dx: (dy) => neg(dy) },
  abs: { x: true, dx: (dy, { x }) => mul(dy, sign(x)) },
  exp: { y: true, dx: (dy, { y }) => mul(dy, y) },
  log: { x: true, dx: (dy, { x }) => div(dy, x) },
  log1p: { x: true, dx: (dy, { x }) => div(dy, add(x, 1)) },
  expm1: { y: true, dx: (dy, { y }) => mul(dy, add(y, 1)) },
  sqrt: { y: true, dx: (dy, { y }) => div(dy, mul(y, 2)) },
  // d(x^-1/2) = -1/2 x^-3/2 = -1/2 y^3
  rsqrt: { y: true, dx: (dy, { y }) => mul(dy, mul(mul(square(y), y), -0.5)) },
  square: { x: true, dx: (dy, { x }) => mul(dy, mul(x, 2)) },
  reciprocal: { y: true, dx: (dy, { y }) => neg(mul(dy, square(y))) },
  // dy * step(x), as tfjs: a multiply by a 0/1 mask is branch-free where `where` is not
  relu: { x: true, dx: (dy, { x }) => mul(dy, cast(greater(x, 0), dy.dtype)) },
  sigmoid: { y: true, dx: (dy, { y }) => mul(dy, mul(y, sub(1, y))) },
  tanh: { y: true, dx: (dy, { y }) => mul(dy, sub(1, square(y))) },
  sin: { x: true, dx: (dy, { x }) => mul(dy, cos(x)) },
  cos: { x: true, dx: (dy, { x }) => neg(mul(dy, sin(x))) },
  sign: { dx: 'zero' },
  floor: { dx: 'zero' },
  ceil: { dx: 'zero' },
  round: { dx: 'zero' },
  logicalNot: { dx: null },
  isFinite: { dx: null },
  isNaN: { dx: null },
};

type Pair = { a: Tensor; b: Tensor; y: Tensor };
/** Per binary op: [da, db] before un-broadcasting; null = not differentiable. */
const BINARY: { [O in BinaryOp]: { y?: true; grads: ((dy: Tensor, s: Pair) => [Tensor, Tensor]) | null } } = {
  add: { grads: (dy) => [dy, dy] },
  sub: { grads: (dy) => [dy, neg(dy)] },
  mul: { grads: (dy, { a, b }) => [mul(dy, b), mul(dy, a)] },
  div: { grads: (dy, { a, b }) => [div(dy, b), neg(div(mul(dy, a), square(b)))] },
  // d(a^b)/da = b a^(b-1); d/db = a^b log a (taken as 0 where a <= 0)
  pow: {
    y: true,
    grads: (dy, { a, b, y }) => [
      mul(dy, mul(b, pow(a, sub(b, 1)))),
      mul(dy, where(greater(a, 0), mul(y, log(where(greater(a, 0), a, 1))), 0)),
    ],
  },
  maximum: { grads: (dy, { a, b }) => [where(greaterEqual(a, b), dy, 0), where(greaterEqual(a, b), 0, dy)] },
  minimum: { grads: (dy, { a, b }) => [where(lessEqual(a, b), dy, 0), where(lessEqual(a, b), 0, dy)] },
  equal: { grads: null },
  notEqual: { grads: null },
  greater: { grads: null },
  greaterEqual: { grads: null },
  less: { grads: null },
  lessEqual: { grads: null },
  logicalAnd: { grads: null },
  logicalOr: { grads: null },
};

export const elementwiseGrads: Pick<GradTable, 'unary' | 'binary' | 'where' | 'cast'> = {
  unary: {
    save: ({ op }) => ({ inputs: UNARY[op].x ? [0] : [], output: !!UNARY[op].y }),
    grad: (dy, { attrs, inputs, output, inputMeta }) => {
      const rule = UNARY[attrs.op].dx;
      if (rule === null || !isFloatDType(inputMeta[0].dtype)) return [null];
      if (rule === 'zero') return [zerosLike(dy)];
      return [rule(dy, { x: inputs[0]!, y: output! })];
    },
  },
  binary: {
    save: ({ op }) => ({
      inputs: BINARY[op].grads && op !== 'add' && op !== 'sub' ? [0, 1] : [],
      output: !!BINARY[op].y,
    }),
    grad: (dy, { attrs, inputs, output, inputMeta }) => {
      const rule = BINARY[attrs.op].grads;
      if (rule === null || !isFloatDType(inputMeta[0].dtype)) return [null, null];
      const [da, db] = rule(dy, { a: inputs[0]!, b: inputs[1]!, y: output! });
      return [unbroadcast(da, inputMeta[0].shape), unbroadcast(db, inputMeta[1].shape)];
    },
  },
  where: {
    save: () => ({ inputs: [0], output: false }),
    grad: (dy, { inputs, inputMeta }) => {
      if (!isFloatDType(inputMeta[1].dtype)) return [null, null, null];
      const c = inputs[0]!;
      return [
        null,
        unbroadcast(where(c, dy, 0), inputMeta[1].shape),
        unbroadcast(where(c, 0, dy), inputMeta[2].shape),
      ];
    },
  },
  cast: {
    save: () => ({ inputs: [], output: false }),
    grad: (dy, { inputMeta }) => [
      isFloatDType(inputMeta[0].dtype) && isFloatDType(dy.dtype) ? cast(dy, inputMeta[0].dtype) : null,
    ],
  },
};
