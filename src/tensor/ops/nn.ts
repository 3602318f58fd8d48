// Neural-network ops composed from primitives: softmax, logSoftmax, batchNorm, dropout.

import { ENGINE } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { randomUniform } from './creation.js';
import { add, cast, div, exp, greaterEqual, mul, rsqrt, sub, where } from './elementwise.js';
import { logSumExp, max, sum } from './reduction.js';
import { check, commonDtype, convert, normAxis, requireFloat, scoped, type TensorLike } from './util.js';

/** softmax along `dim` (default last), stable: exp(x - max) / sum. */
export function softmax(logits: TensorLike, dim = -1): Tensor {
  return scoped(() => {
    const t = convert(logits, 'logits', 'softmax');
    requireFloat(t, 'logits', 'softmax');
    const a = normAxis(dim, t.rank, 'softmax', 'dim');
    const m = ENGINE.noGrad(() => max(t, a, true));
    const e = exp(sub(t, m));
    return div(e, sum(e, a, true));
  });
}

/** log(softmax(logits)) along `axis` (default last), computed stably as x - logSumExp(x). */
export function logSoftmax(logits: TensorLike, axis = -1): Tensor {
  return scoped(() => {
    let t = convert(logits, 'logits', 'logSoftmax');
    check(t.dtype !== 'bool', 'logSoftmax', () => `argument 'logits' must be numeric, got bool`);
    // tfjs computes int32 logits in float32
    if (t.dtype === 'int32') t = cast(t, 'float32');
    const a = normAxis(axis, t.rank, 'logSoftmax');
    return sub(t, logSumExp(t, a, true));
  });
}

/** A statistic of batchNorm: x's float dtype, broadcasting into x's shape (it cannot grow x). */
function statistic(v: TensorLike, name: string, x: Tensor): Tensor {
  const op = 'batchNorm';
  let s = convert(v, name, op, x.dtype);
  check(s.dtype !== 'bool', op, () => `argument '${name}' must be numeric, got bool`);
  const d = commonDtype(x, s, op, ['x', name]);
  if (s.dtype !== d) s = cast(s, d);
  const lead = x.rank - s.rank;
  check(
    lead >= 0 && s.shape.every((n, i) => n === 1 || n === x.shape[lead + i]),
    op,
    () => `argument '${name}' has shape [${s.shape}], which does not broadcast to x's shape [${x.shape}]`,
  );
  return s;
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
  return scoped(() => {
    const t = convert(x, 'x', 'batchNorm');
    requireFloat(t, 'x', 'batchNorm');
    check(varianceEpsilon >= 0, 'batchNorm', () => `varianceEpsilon must be >= 0, got ${varianceEpsilon}`);
    const m = statistic(mean, 'mean', t);
    const v = statistic(variance, 'variance', t);
    const o = offset === undefined || offset === null ? null : statistic(offset, 'offset', t);
    const g = scale === undefined || scale === null ? null : statistic(scale, 'scale', t);
    let inv = rsqrt(add(v, varianceEpsilon));
    if (g) inv = mul(inv, g);
    const y = mul(sub(t, m), inv);
    return o ? add(y, o) : y;
  });
}

/**
 * Inverted dropout: zeroes each element with probability `rate` and scales the rest by 1/(1-rate).
 * `noiseShape` (null entries take x's size) broadcasts one mask over some axes; `seed` makes it reproducible.
 */
export function dropout(x: TensorLike, rate: number, noiseShape?: (number | null)[], seed?: number): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'dropout');
    requireFloat(t, 'x', 'dropout');
    check(
      typeof rate === 'number' && rate >= 0 && rate < 1,
      'dropout',
      () => `rate must be in [0, 1), got ${rate}`,
    );
    let shape = t.shape;
    if (noiseShape !== undefined && noiseShape !== null) {
      const lead = t.rank - noiseShape.length;
      const ns = noiseShape.map((d, i) => (d === null || d === undefined ? t.shape[lead + i] : d));
      check(
        lead >= 0 && ns.every((d, i) => d === 1 || d === t.shape[lead + i]),
        'dropout',
        () => `noiseShape [${noiseShape}] does not broadcast to x's shape [${t.shape}]`,
      );
      shape = ns;
    }
    if (rate === 0) return t.reshape(t.shape);
    const keepMask = ENGINE.noGrad(() => greaterEqual(randomUniform(shape, 0, 1, 'float32', seed), rate));
    const scaled = mul(t, 1 / (1 - rate));
    return where(keepMask, scaled, cast(0, t.dtype));
  });
}
