// Convolutions and pools in NHWC (tfjs' conv2d, depthwiseConv2d, conv2dTranspose, maxPool, avgPool).
// Rank-3 inputs get a batch of one added and removed. 16-bit inputs compute in float32 inside.
import type { Conv2DInfo } from '../../backend/primitives.js';
import { ENGINE } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { computeConv2DInfo, type PadType, pair, type RoundingMode } from './conv-info.js';
import { check, commonDtype, convert, describe, fail, requireFloat, type TensorLike } from './util.js';

export { computeConv2DInfo, type ExplicitPadding, type PadType, type RoundingMode } from './conv-info.js';

function checkFormat(dataFormat: string, op: string): void {
  if (dataFormat !== 'NHWC') fail(op, `only dataFormat 'NHWC' is supported, got '${dataFormat}'`);
}

/** The input as rank 4 (and whether a batch dim was added). */
function asBatch(x: Tensor, op: string, arg: string): [Tensor, boolean] {
  check(x.rank === 3 || x.rank === 4, op, () => `'${arg}' must be rank 3 or 4 (NHWC), got ${describe(x)}`);
  return x.rank === 3 ? [x.reshape([1, ...x.shape]), true] : [x, false];
}

function unbatch(y: Tensor, added: boolean): Tensor {
  return added ? y.reshape(y.shape.slice(1)) : y;
}

/**
 * Runs an op's body in its own scope, as tfjs' op wrapper does: tensors converted from arrays and
 * the batch reshapes of rank-3 inputs are freed even when the caller is not inside tidy().
 */
function scoped(fn: () => Tensor): Tensor {
  ENGINE.startScope();
  let out: Tensor | undefined;
  try {
    out = fn();
    return out;
  } finally {
    ENGINE.endScope(out);
  }
}

function outShape(i: Conv2DInfo): number[] {
  return [i.batch, i.outH, i.outW, i.outC];
}

/** conv2d and depthwiseConv2d: the same argument checks and geometry, a different last filter dim. */
function windowedConv(
  op: 'conv2d' | 'depthwiseConv2d',
  x: TensorLike,
  filter: TensorLike,
  strides: number | [number, number],
  pad: PadType,
  dataFormat: 'NHWC' | 'NCHW',
  dilations: number | [number, number],
  dimRoundingMode: RoundingMode | undefined,
): Tensor {
  return scoped(() => {
    const tx = convert(x, 'x', op);
    const tw = convert(filter, 'filter', op);
    checkFormat(dataFormat, op);
    const dtype = commonDtype(tx, tw, op, ['x', 'filter']);
    requireFloat(tx, 'x', op);
    requireFloat(tw, 'filter', op);
    const [x4, added] = asBatch(tx, op, 'x');
    const last = op === 'conv2d' ? 'outChannels' : 'channelMultiplier';
    check(
      tw.rank === 4,
      op,
      () => `'filter' must be rank 4 [filterHeight, filterWidth, inChannels, ${last}], got ${describe(tw)}`,
    );
    check(
      x4.shape[3] === tw.shape[2],
      op,
      () =>
        `input channels of x (${x4.shape[3]}, shape [${tx.shape}]) must equal filter's inChannels (${tw.shape[2]}, shape [${tw.shape}])`,
    );
    // depthwise: each input channel has `multiplier` filters, so outC = inC * multiplier
    const multiplier = op === 'conv2d' ? 1 : tw.shape[3];
    const outC = op === 'conv2d' ? tw.shape[3] : x4.shape[3] * multiplier;
    const info = computeConv2DInfo(
      op,
      x4.shape,
      [tw.shape[0], tw.shape[1]],
      outC,
      pair(strides, 1, op, 'strides'),
      pair(dilations, 1, op, 'dilations'),
      pad,
      multiplier,
      dimRoundingMode,
    );
    return unbatch(ENGINE.run(op, [x4, tw], { info }, outShape(info), dtype), added);
  });
}

export function conv2d(
  x: TensorLike,
  filter: TensorLike,
  strides: number | [number, number],
  pad: PadType,
  dataFormat: 'NHWC' | 'NCHW' = 'NHWC',
  dilations: number | [number, number] = [1, 1],
  dimRoundingMode?: RoundingMode,
): Tensor {
  return windowedConv('conv2d', x, filter, strides, pad, dataFormat, dilations, dimRoundingMode);
}

export function depthwiseConv2d(
  x: TensorLike,
  filter: TensorLike,
  strides: number | [number, number],
  pad: PadType,
  dataFormat: 'NHWC' | 'NCHW' = 'NHWC',
  dilations: number | [number, number] = [1, 1],
  dimRoundingMode?: RoundingMode,
): Tensor {
  return windowedConv('depthwiseConv2d', x, filter, strides, pad, dataFormat, dilations, dimRoundingMode);
}

/**
 * The transpose (gradient) of conv2d: x [batch, h, w, inC] with filter [kH, kW, outC, inC]
 * gives outputShape [batch, outH, outW, outC] (tfjs' conv2dTranspose).
 */
export function conv2dTranspose(
  x: TensorLike,
  filter: TensorLike,
  outputShape: [number, number, number, number] | [number, number, number],
  strides: number | [number, number],
  pad: 'valid' | 'same' | number,
  dimRoundingMode?: RoundingMode,
): Tensor {
  return scoped(() => {
    const op = 'conv2dTranspose';
    const tx = convert(x, 'x', op);
    const tw = convert(filter, 'filter', op);
    const dtype = commonDtype(tx, tw, op, ['x', 'filter']);
    requireFloat(tx, 'x', op);
    requireFloat(tw, 'filter', op);
    const [x4, added] = asBatch(tx, op, 'x');
    check(
      tw.rank === 4,
      op,
      () =>
        `'filter' must be rank 4 [filterHeight, filterWidth, outChannels, inChannels], got ${describe(tw)}`,
    );
    const out4 = outputShape.length === 3 ? [x4.shape[0], ...outputShape] : [...outputShape];
    check(
      out4.length === 4 && out4.every((d) => Number.isInteger(d) && d > 0),
      op,
      () => `'outputShape' must hold 3 or 4 positive integers, got [${outputShape}]`,
    );
    check(
      out4[0] === x4.shape[0],
      op,
      () => `outputShape batch ${out4[0]} differs from x's batch ${x4.shape[0]}`,
    );
    check(
      x4.shape[3] === tw.shape[3],
      op,
      () =>
        `channels of x (${x4.shape[3]}) must equal filter's last dim (${tw.shape[3]}), filter [${tw.shape}]`,
    );
    check(
      out4[3] === tw.shape[2],
      op,
      () =>
        `outputShape channels (${out4[3]}) must equal filter's third dim (${tw.shape[2]}), filter [${tw.shape}]`,
    );
    const info = computeConv2DInfo(
      op,
      out4,
      [tw.shape[0], tw.shape[1]],
      tw.shape[3],
      pair(strides, 1, op, 'strides'),
      [1, 1],
      pad,
      1,
      dimRoundingMode,
    );
    check(
      info.outH === x4.shape[1] && info.outW === x4.shape[2],
      op,
      () =>
        `x's spatial size ${x4.shape[1]}x${x4.shape[2]} does not match outputShape [${out4}] with these strides and pad (expected ${info.outH}x${info.outW})`,
    );
    return unbatch(ENGINE.run('conv2dBackpropInput', [x4, tw], { info }, out4, dtype), added);
  });
}

function pool(
  kind: 'maxPool' | 'avgPool',
  x: TensorLike,
  filterSize: number | [number, number],
  strides: number | [number, number],
  pad: PadType,
  dimRoundingMode?: RoundingMode,
): Tensor {
  return scoped(() => {
    const tx = convert(x, 'x', kind);
    requireFloat(tx, 'x', kind);
    const [x4, added] = asBatch(tx, kind, 'x');
    const info = computeConv2DInfo(
      kind,
      x4.shape,
      pair(filterSize, 1, kind, 'filterSize'),
      x4.shape[3],
      pair(strides, 1, kind, 'strides'),
      [1, 1],
      pad,
      1,
      dimRoundingMode,
    );
    return unbatch(ENGINE.run(kind, [x4], { info }, outShape(info), tx.dtype), added);
  });
}

export function maxPool(
  x: TensorLike,
  filterSize: number | [number, number],
  strides: number | [number, number],
  pad: PadType,
  dimRoundingMode?: RoundingMode,
): Tensor {
  return pool('maxPool', x, filterSize, strides, pad, dimRoundingMode);
}

/** Average pooling; padded cells are not counted (TensorFlow's rule). */
export function avgPool(
  x: TensorLike,
  filterSize: number | [number, number],
  strides: number | [number, number],
  pad: PadType,
  dimRoundingMode?: RoundingMode,
): Tensor {
  return pool('avgPool', x, filterSize, strides, pad, dimRoundingMode);
}
