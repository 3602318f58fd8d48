// Chained Tensor methods (x.add(y).relu().sum()), as tfjs offers, each calling the op of the same name.

import type { DType } from '../dtype.js';
import * as ops from './ops/index.js';
import { Tensor } from './tensor.js';

/** Ops whose first argument is the tensor itself. */
const METHODS = {
  add: ops.add,
  sub: ops.sub,
  mul: ops.mul,
  div: ops.div,
  pow: ops.pow,
  maximum: ops.maximum,
  minimum: ops.minimum,
  squaredDifference: ops.squaredDifference,
  equal: ops.equal,
  notEqual: ops.notEqual,
  greater: ops.greater,
  greaterEqual: ops.greaterEqual,
  less: ops.less,
  lessEqual: ops.lessEqual,
  logicalAnd: ops.logicalAnd,
  logicalOr: ops.logicalOr,
  logicalNot: ops.logicalNot,
  neg: ops.neg,
  abs: ops.abs,
  exp: ops.exp,
  log: ops.log,
  log1p: ops.log1p,
  expm1: ops.expm1,
  sqrt: ops.sqrt,
  rsqrt: ops.rsqrt,
  square: ops.square,
  reciprocal: ops.reciprocal,
  relu: ops.relu,
  relu6: ops.relu6,
  elu: ops.elu,
  leakyRelu: ops.leakyRelu,
  sigmoid: ops.sigmoid,
  tanh: ops.tanh,
  softplus: ops.softplus,
  sin: ops.sin,
  cos: ops.cos,
  sign: ops.sign,
  floor: ops.floor,
  ceil: ops.ceil,
  round: ops.round,
  isFinite: ops.isFinite,
  isNaN: ops.isNaN,
  clipByValue: ops.clipByValue,
  cast: ops.cast,
  reshape: ops.reshape,
  transpose: ops.transpose,
  expandDims: ops.expandDims,
  squeeze: ops.squeeze,
  broadcastTo: ops.broadcastTo,
  slice: ops.slice,
  pad: ops.pad,
  tile: ops.tile,
  gather: ops.gather,
  unstack: ops.unstack,
  sum: ops.sum,
  mean: ops.mean,
  prod: ops.prod,
  max: ops.max,
  min: ops.min,
  argMax: ops.argMax,
  argMin: ops.argMin,
  logSumExp: ops.logSumExp,
  matMul: ops.matMul,
  dot: ops.dot,
  softmax: ops.softmax,
  logSoftmax: ops.logSoftmax,
  conv2d: ops.conv2d,
  depthwiseConv2d: ops.depthwiseConv2d,
  maxPool: ops.maxPool,
  avgPool: ops.avgPool,
  batchNorm: ops.batchNorm,
  dropout: ops.dropout,
};

// biome-ignore lint/suspicious/noExplicitAny: the mapped type below strips the first parameter
type Rest<F> = F extends (x: any, ...rest: infer R) => infer O ? (...rest: R) => O : never;
type ChainMethods = { [K in keyof typeof METHODS]: Rest<(typeof METHODS)[K]> };

declare module './tensor.js' {
  interface Tensor extends ChainMethods {
    /** x.concat(y, axis) = concat([x, y], axis) */
    concat(others: Tensor | Tensor[], axis?: number): Tensor;
    clone(): Tensor;
    flatten(): Tensor;
    asScalar(): Tensor;
    as1D(): Tensor;
    asType(dtype: DType): Tensor;
    toFloat(): Tensor;
    print(): void;
  }
}

for (const [name, fn] of Object.entries(METHODS)) {
  Object.defineProperty(Tensor.prototype, name, {
    value(this: Tensor, ...args: unknown[]) {
      return (fn as (...a: unknown[]) => Tensor)(this, ...args);
    },
    writable: true,
    configurable: true,
  });
}

Object.assign(Tensor.prototype, {
  concat(this: Tensor, others: Tensor | Tensor[], axis = 0) {
    return ops.concat([this, ...(Array.isArray(others) ? others : [others])], axis);
  },
  clone(this: Tensor) {
    return ops.reshape(this, this.shape);
  },
  flatten(this: Tensor) {
    return ops.reshape(this, [this.size]);
  },
  asScalar(this: Tensor) {
    return ops.reshape(this, []);
  },
  as1D(this: Tensor) {
    return ops.reshape(this, [this.size]);
  },
  asType(this: Tensor, dtype: DType) {
    return ops.cast(this, dtype);
  },
  toFloat(this: Tensor) {
    return ops.cast(this, 'float32');
  },
  print(this: Tensor) {
    console.log(`Tensor ${this.dtype} [${this.shape}]\n${JSON.stringify(this.arraySync())}`);
  },
});
