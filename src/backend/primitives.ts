// The primitive ops of the narrow waist: every backend implements exactly these, autograd has one rule each.

import type { DType } from '../dtype.js';

export const UNARY_OPS = [
  'neg',
  'abs',
  'exp',
  'log',
  'log1p',
  'expm1',
  'sqrt',
  'rsqrt',
  'square',
  'reciprocal',
  'relu',
  'sigmoid',
  'tanh',
  'sin',
  'cos',
  'sign',
  'floor',
  'ceil',
  'round',
  'logicalNot',
  'isFinite',
  'isNaN',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

export const BINARY_OPS = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'equal',
  'notEqual',
  'greater',
  'greaterEqual',
  'less',
  'lessEqual',
  'logicalAnd',
  'logicalOr',
] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

/** Binary ops whose result is bool whatever the input dtype. */
export const COMPARISON_OPS: ReadonlySet<BinaryOp> = new Set([
  'equal',
  'notEqual',
  'greater',
  'greaterEqual',
  'less',
  'lessEqual',
  'logicalAnd',
  'logicalOr',
]);

export const REDUCE_OPS = ['sum', 'mean', 'prod', 'max', 'min'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

/** [top, bottom, left, right] explicit padding of a 2-D window op. */
export type Pad4 = readonly [number, number, number, number];

/** Geometry shared by conv2d, depthwiseConv2d and pools (NHWC), fully resolved. */
export interface Conv2DInfo {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  /** depthwise channel multiplier (1 for pools and plain conv). */
  multiplier: number;
}

/** Attributes of each primitive (its static parameters); inputs are tensors. */
export interface PrimitiveAttrs {
  unary: { op: UnaryOp };
  binary: { op: BinaryOp };
  where: Record<string, never>;
  cast: { dtype: DType };
  reduce: { op: ReduceOp; axes: number[] };
  argReduce: { op: 'argMax' | 'argMin'; axis: number };
  reshape: { shape: number[] };
  transpose: { perm: number[] };
  broadcastTo: { shape: number[] };
  slice: { begin: number[]; size: number[] };
  pad: { paddings: [number, number][]; value: number };
  concat: { axis: number };
  gather: { axis: number };
  scatterAdd: { axis: number; size: number };
  matMul: { transposeA: boolean; transposeB: boolean };
  conv2d: { info: Conv2DInfo };
  conv2dBackpropInput: { info: Conv2DInfo };
  conv2dBackpropFilter: { info: Conv2DInfo };
  depthwiseConv2d: { info: Conv2DInfo };
  depthwiseConv2dBackpropInput: { info: Conv2DInfo };
  depthwiseConv2dBackpropFilter: { info: Conv2DInfo };
  maxPool: { info: Conv2DInfo };
  maxPoolGrad: { info: Conv2DInfo };
  avgPool: { info: Conv2DInfo };
  avgPoolGrad: { info: Conv2DInfo };
}

export type Primitive = keyof PrimitiveAttrs;
export const PRIMITIVES = [
  'unary',
  'binary',
  'where',
  'cast',
  'reduce',
  'argReduce',
  'reshape',
  'transpose',
  'broadcastTo',
  'slice',
  'pad',
  'concat',
  'gather',
  'scatterAdd',
  'matMul',
  'conv2d',
  'conv2dBackpropInput',
  'conv2dBackpropFilter',
  'depthwiseConv2d',
  'depthwiseConv2dBackpropInput',
  'depthwiseConv2dBackpropFilter',
  'maxPool',
  'maxPoolGrad',
  'avgPool',
  'avgPoolGrad',
] as const satisfies readonly Primitive[];
