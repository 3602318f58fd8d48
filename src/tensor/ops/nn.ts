// Neural-network ops composed from primitives: softmax, logSoftmax, batchNorm, dropout.

import type { Tensor } from '../tensor.js';
import { ENGINE } from '../engine.js';
import { randomUniform } from './creation.js';
import { add, cast, div, exp, greaterEqual, mul, rsqrt, sub, where } from './elementwise.js';
import { max, sum } from './reduction.js';
import { check, convert, normAxis, requireFloat, type TensorLike } from './util.js';
import { logSumExp } from './reduction.js';

/** softmax along `dim` (default last), stable: exp(x - max) / sum. */
export function softmax(logits: TensorLike, dim = -1): Tensor {
  const t = convert(logits, 'logits', 'softmax');
  requireFloat(t, 'logits', 'softmax');
  const a = normAxis(dim, t.rank, 'softmax');
  const m = ENGINE.noGrad(() => max(t, a, true));
  const e = exp(sub(t, m));
  return div(e, sum(e, a, true));
}

export function logSoftmax(logits: TensorLike, axis = -1): Tensor {
  const t = convert(logits, 'logits', 'logSoftmax');
  requireFloat(t, 'logits', 'logSoftmax');
  const a = normAxis(axis, t.rank, 'logSoftmax');
  return sub(t, logSumExp(t, a, true));
}

/** (x - mean) * scale / sqrt(variance + eps) + offset, broadcasting the statistics. */
export function batchNorm(
  x: TensorLike,
  mean: TensorLike,
  variance: TensorLike,
  offset?: TensorLike,
  scale?: TensorLike,
  varianceEpsilon = 0.001,
): Tensor {
  const t = convert(x, 'x', 'batchNorm');
  requireFloat(t, 'x', 'batchNorm');
  check(varianceEpsilon >= 0, 'batchNorm', () => `varianceEpsilon must be >= 0, got ${varianceEpsilon}`);
  let inv = rsqrt(add(variance, varianceEpsilon));
  if (scale !== undefined) inv = mul(inv, scale);
  const y = mul(sub(t, mean), inv);
  return offset !== undefined ? add(y, offset) : y;
}

/**
 * Inverted dropout: zeroes each element with probability `rate` and scales the rest by 1/(1-rate).
 * `noiseShape` broadcasts one mask over some axes; `seed` makes it reproducible.
 */
export function dropout(x: TensorLike, rate: number, noiseShape?: number[], seed?: number): Tensor {
  const t = convert(x, 'x', 'dropout');
  requireFloat(t, 'x', 'dropout');
  check(rate >= 0 && rate < 1, 'dropout', () => `rate must be in [0, 1), got ${rate}`);
  if (rate === 0) return t.reshape(t.shape);
  const keepMask = ENGINE.noGrad(() => greaterEqual(randomUniform(noiseShape ?? t.shape, 0, 1, 'float32', seed), rate));
  const scaled = mul(t, 1 / (1 - rate));
  return where(keepMask, scaled, cast(0, t.dtype));
}
