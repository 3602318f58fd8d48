// Keras metrics by name, for compile({ metrics }): each returns per-example values (float32) that
// the training loop averages over the epoch, weighted by batch size.
import { cast, equal, greater, mul } from '../../tensor/ops/elementwise.js';
import { argMax, mean, sum } from '../../tensor/ops/reduction.js';
import type { Tensor } from '../../tensor/tensor.js';

export type MetricFn = (yTrue: Tensor, yPred: Tensor) => Tensor;

export function categoricalAccuracy(yTrue: Tensor, yPred: Tensor): Tensor {
  return cast(equal(argMax(yTrue, -1), argMax(yPred, -1)), 'float32');
}

export function sparseCategoricalAccuracy(yTrue: Tensor, yPred: Tensor): Tensor {
  const labels = yTrue.rank === yPred.rank ? yTrue.reshape(yTrue.shape.slice(0, -1)) : yTrue;
  return cast(equal(labels.cast('int32'), argMax(yPred, -1)), 'float32');
}

export function binaryAccuracy(yTrue: Tensor, yPred: Tensor, threshold = 0.5): Tensor {
  const p = cast(greater(yPred.cast('float32'), threshold), 'float32');
  return mean(cast(equal(p, yTrue.cast('float32')), 'float32'), -1);
}

/** 1 where the true class is among the k highest predictions. */
export function topKCategoricalAccuracy(yTrue: Tensor, yPred: Tensor, k = 5): Tensor {
  const p = yPred.cast('float32');
  const trueScore = sum(mul(p, yTrue.cast('float32')), -1, true);
  // rank of the true class = number of classes scoring strictly higher
  const higher = sum(cast(greater(p, trueScore), 'float32'), -1);
  return cast(higher.less(k), 'float32');
}

const METRICS: Record<string, MetricFn> = {
  categoricalAccuracy,
  sparseCategoricalAccuracy,
  binaryAccuracy: (t, p) => binaryAccuracy(t, p),
  topKCategoricalAccuracy: (t, p) => topKCategoricalAccuracy(t, p),
};

const ALIASES: Record<string, string> = {
  categorical_accuracy: 'categoricalAccuracy',
  sparse_categorical_accuracy: 'sparseCategoricalAccuracy',
  binary_accuracy: 'binaryAccuracy',
  top_k_categorical_accuracy: 'topKCategoricalAccuracy',
};

/**
 * A metric by name. 'accuracy' (or 'acc') picks the variant Keras picks: sparse for a sparse
 * loss, binary for binary cross-entropy or a single output unit, categorical otherwise.
 * The returned name is what logs and History use ('accuracy' stays 'accuracy').
 */
export function getMetric(
  id: string | MetricFn,
  lossName: string,
  outputUnits: number | null,
  where = 'compile',
): { name: string; fn: MetricFn } {
  if (typeof id === 'function') return { name: id.name || 'metric', fn: id };
  if (id === 'accuracy' || id === 'acc') {
    const fn =
      lossName === 'sparseCategoricalCrossentropy'
        ? sparseCategoricalAccuracy
        : lossName === 'binaryCrossentropy' || outputUnits === 1
          ? METRICS.binaryAccuracy
          : categoricalAccuracy;
    return { name: id, fn };
  }
  const name = ALIASES[id] ?? id;
  const fn = METRICS[name];
  if (!fn)
    throw new Error(
      `${where}: unknown metric '${id}'; expected accuracy, ${Object.keys(METRICS).join(', ')} or a function`,
    );
  return { name, fn };
}
