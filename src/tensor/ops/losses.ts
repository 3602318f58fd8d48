// tf.losses: softmax/sigmoid cross-entropy and mean squared error, always computed in float32.

import type { Tensor } from '../tensor.js';
import { add, cast, div, mul, neg, notEqual, softplus, square, sub } from './elementwise.js';
import { broadcastTo } from './layout.js';
import { logSoftmax } from './nn.js';
import { mean, sum } from './reduction.js';
import { check, convert, fail, scoped, type TensorLike } from './util.js';

/** How per-element losses are combined (tfjs' Reduction). */
export enum Reduction {
  NONE = 0,
  MEAN = 1,
  SUM = 2,
  SUM_BY_NONZERO_WEIGHTS = 3,
}

/** Float32 view of a loss input: 16-bit floats and ints are widened so losses never overflow. */
function f32(x: TensorLike, arg: string, op: string): Tensor {
  const t = convert(x, arg, op);
  return t.dtype === 'float32' ? t : cast(t, 'float32');
}

function sameShape(a: Tensor, b: Tensor, op: string, names: [string, string]): void {
  check(
    a.shape.join() === b.shape.join(),
    op,
    () => `'${names[0]}' has shape [${a.shape}] but '${names[1]}' has [${b.shape}]`,
  );
}

export function computeWeightedLoss(
  losses: Tensor,
  weights?: TensorLike,
  reduction = Reduction.SUM_BY_NONZERO_WEIGHTS,
  op = 'computeWeightedLoss',
): Tensor {
  return scoped(() => {
    const w = weights === undefined || weights === null ? null : f32(weights, 'weights', op);
    if (w) {
      const lead = losses.rank - w.rank;
      check(
        lead >= 0 && w.shape.every((d, i) => d === 1 || d === losses.shape[lead + i]),
        op,
        () =>
          `'weights' has shape [${w.shape}], which does not broadcast to the losses' shape [${losses.shape}]`,
      );
    }
    const weighted = w ? mul(losses, w) : losses;
    switch (reduction) {
      case Reduction.NONE:
        return weighted;
      case Reduction.SUM:
        return sum(weighted);
      case Reduction.MEAN:
        return w ? div(sum(weighted), sum(broadcastTo(w, losses.shape))) : mean(weighted);
      case Reduction.SUM_BY_NONZERO_WEIGHTS:
        return w
          ? div(sum(weighted), sum(cast(notEqual(broadcastTo(w, losses.shape), 0), 'float32')))
          : mean(weighted);
      default:
        return fail(
          op,
          `unknown reduction ${String(reduction satisfies never)}; use one of Reduction.NONE, MEAN, SUM, SUM_BY_NONZERO_WEIGHTS`,
        );
    }
  });
}

/** Cross-entropy between one-hot (or soft) labels and logits, over the last axis. */
export function softmaxCrossEntropy(
  onehotLabels: TensorLike,
  logits: TensorLike,
  weights?: TensorLike,
  labelSmoothing = 0,
  reduction = Reduction.SUM_BY_NONZERO_WEIGHTS,
): Tensor {
  return scoped(() => {
    const op = 'softmaxCrossEntropy';
    let labels = f32(onehotLabels, 'onehotLabels', op);
    const z = f32(logits, 'logits', op);
    sameShape(labels, z, op, ['onehotLabels', 'logits']);
    check(z.rank >= 1, op, () => `'logits' must have rank >= 1 (classes on the last axis), got a scalar`);
    if (labelSmoothing > 0) {
      const n = z.shape[z.rank - 1];
      labels = add(mul(labels, 1 - labelSmoothing), labelSmoothing / n);
    }
    const perExample = neg(sum(mul(labels, logSoftmax(z, -1)), -1));
    return computeWeightedLoss(perExample, weights, reduction, op);
  });
}

/** Elementwise binary cross-entropy on logits: max(z, 0) - z*y + log(1 + e^-|z|). */
export function sigmoidCrossEntropy(
  multiClassLabels: TensorLike,
  logits: TensorLike,
  weights?: TensorLike,
  labelSmoothing = 0,
  reduction = Reduction.SUM_BY_NONZERO_WEIGHTS,
): Tensor {
  return scoped(() => {
    const op = 'sigmoidCrossEntropy';
    let y = f32(multiClassLabels, 'multiClassLabels', op);
    const z = f32(logits, 'logits', op);
    sameShape(y, z, op, ['multiClassLabels', 'logits']);
    if (labelSmoothing > 0) y = add(mul(y, 1 - labelSmoothing), 0.5 * labelSmoothing);
    // max(z, 0) - z*y + log1p(e^-|z|), written softplus(z) - z*y for a gradient of sigmoid(z) - y at z = 0 too
    const losses = sub(softplus(z), mul(z, y));
    return computeWeightedLoss(losses, weights, reduction, op);
  });
}

export function meanSquaredError(
  labels: TensorLike,
  predictions: TensorLike,
  weights?: TensorLike,
  reduction = Reduction.SUM_BY_NONZERO_WEIGHTS,
): Tensor {
  return scoped(() => {
    const op = 'meanSquaredError';
    const y = f32(labels, 'labels', op);
    const p = f32(predictions, 'predictions', op);
    sameShape(y, p, op, ['labels', 'predictions']);
    return computeWeightedLoss(square(sub(y, p)), weights, reduction, op);
  });
}
