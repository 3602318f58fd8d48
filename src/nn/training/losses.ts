// Keras losses by name, for compile({ loss }): computed in float32 whatever the prediction dtype
// (a float32 island), averaged over the batch (Keras' sum_over_batch_size reduction).
import { add, cast, clipByValue, log, mul, neg, square, sub } from '../../tensor/ops/elementwise.js';
import { oneHot } from '../../tensor/ops/layout.js';
import { logSoftmax } from '../../tensor/ops/nn.js';
import { mean, sum } from '../../tensor/ops/reduction.js';
import type { Tensor } from '../../tensor/tensor.js';

export type LossFn = (yTrue: Tensor, yPred: Tensor) => Tensor;
export type LossName =
  | 'categoricalCrossentropy'
  | 'sparseCategoricalCrossentropy'
  | 'binaryCrossentropy'
  | 'meanSquaredError';

/** Keras' backend epsilon: probabilities are clipped to [EPS, 1 - EPS] before the log. */
const EPS = 1e-7;

const f32 = (t: Tensor) => (t.dtype === 'float32' ? t : cast(t, 'float32'));

function checkSameShape(name: string, yTrue: Tensor, yPred: Tensor): void {
  if (yTrue.shape.join() !== yPred.shape.join()) {
    throw new Error(
      `${name}: labels have shape [${yTrue.shape}], predictions [${yPred.shape}]; they must match`,
    );
  }
}

export function categoricalCrossentropy(yTrue: Tensor, yPred: Tensor, fromLogits = false): Tensor {
  checkSameShape('categoricalCrossentropy', yTrue, yPred);
  const y = f32(yTrue);
  const p = f32(yPred);
  const logP = fromLogits ? logSoftmax(p) : log(clipByValue(p.div(sum(p, -1, true)), EPS, 1 - EPS));
  return mean(neg(sum(mul(y, logP), -1)));
}

export function sparseCategoricalCrossentropy(yTrue: Tensor, yPred: Tensor, fromLogits = false): Tensor {
  const classes = yPred.shape[yPred.rank - 1];
  let labels = yTrue;
  if (labels.rank === yPred.rank && labels.shape[labels.rank - 1] === 1)
    labels = labels.reshape(labels.shape.slice(0, -1));
  if (labels.rank !== yPred.rank - 1 || labels.shape.join() !== yPred.shape.slice(0, -1).join()) {
    throw new Error(
      `sparseCategoricalCrossentropy: labels have shape [${yTrue.shape}], expected [${yPred.shape.slice(0, -1)}] (class indices) for predictions [${yPred.shape}]`,
    );
  }
  const idx = labels.dtype === 'int32' ? labels : cast(labels, 'int32');
  return categoricalCrossentropy(oneHot(idx, classes).cast('float32'), yPred, fromLogits);
}

export function binaryCrossentropy(yTrue: Tensor, yPred: Tensor, fromLogits = false): Tensor {
  checkSameShape('binaryCrossentropy', yTrue, yPred);
  const y = f32(yTrue);
  const p = f32(yPred);
  if (fromLogits) {
    // max(x, 0) - x*y + log(1 + exp(-|x|)): stable for large |x|
    const x = p;
    const l = add(sub(x.relu(), mul(x, y)), x.abs().neg().exp().log1p());
    return mean(mean(l, -1));
  }
  const c = clipByValue(p, EPS, 1 - EPS);
  const l = neg(add(mul(y, log(c)), mul(sub(1, y), log(sub(1, c)))));
  return mean(mean(l, -1));
}

export function meanSquaredError(yTrue: Tensor, yPred: Tensor): Tensor {
  checkSameShape('meanSquaredError', yTrue, yPred);
  return mean(mean(square(sub(f32(yPred), f32(yTrue))), -1));
}

const LOSSES: Record<LossName, LossFn> = {
  categoricalCrossentropy: (t, p) => categoricalCrossentropy(t, p),
  sparseCategoricalCrossentropy: (t, p) => sparseCategoricalCrossentropy(t, p),
  binaryCrossentropy: (t, p) => binaryCrossentropy(t, p),
  meanSquaredError: (t, p) => meanSquaredError(t, p),
};

const ALIASES: Record<string, LossName> = {
  categorical_crossentropy: 'categoricalCrossentropy',
  sparse_categorical_crossentropy: 'sparseCategoricalCrossentropy',
  binary_crossentropy: 'binaryCrossentropy',
  mean_squared_error: 'meanSquaredError',
  mse: 'meanSquaredError',
};

export function getLoss(id: LossName | string | LossFn, where = 'compile'): { name: string; fn: LossFn } {
  if (typeof id === 'function') return { name: id.name || 'custom', fn: id };
  const name = (ALIASES[id] ?? id) as LossName;
  const fn = LOSSES[name];
  if (!fn)
    throw new Error(
      `${where}: unknown loss '${id}'; expected one of ${Object.keys(LOSSES).join(', ')} or a function (yTrue, yPred) => Tensor`,
    );
  return { name, fn };
}
