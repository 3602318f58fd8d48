// The training and evaluation loops behind fit, fitDataset, evaluate and evaluateDataset:
// batches, one optimizer step per batch, epoch-averaged metrics, validation, callbacks.

import { type JittedFunction, jit } from '../../jit/jit.js';
import type { JitStats } from '../../jit/tracer.js';
import { autocast } from '../../mixed/autocast.js';
import { ENGINE } from '../../tensor/engine.js';
import { dispose, keep, tidy } from '../../tensor/lifetime.js';
import { add } from '../../tensor/ops/elementwise.js';
import { gather, slice } from '../../tensor/ops/layout.js';
import { mean } from '../../tensor/ops/reduction.js';
import { Random } from '../../tensor/random.js';
import { Tensor, type Variable } from '../../tensor/tensor.js';
import type { CallArgs } from '../layer.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import {
  type Callback,
  type CallbackHooks,
  CallbackList,
  type CallbackModel,
  History,
  type Logs,
} from './callbacks.js';
import type { Compiled } from './compiled.js';
import { ProgbarLogger } from './progress.js';

/** The model surface the loops need (LayersModel implements it). */
export interface TrainableModel extends CallbackModel {
  name: string;
  compiled: Compiled | null;
  trainableWeights: Variable[];
  apply(x: Tensor | Tensor[], kwargs?: CallArgs): Tensor | Tensor[];
  regularizationLosses(): Tensor[];
  checkInputs(x: Tensor[], where: string): void;
}

export type Inputs = Tensor | Tensor[];

export interface FitArgs {
  epochs?: number;
  batchSize?: number;
  validationSplit?: number;
  validationData?: [Inputs, Tensor];
  shuffle?: boolean;
  callbacks?: (Callback | CallbackHooks)[];
  verbose?: 0 | 1 | 2;
  initialEpoch?: number;
  /** seed for the per-epoch shuffles, for reproducible runs */
  seed?: number;
}

/** A source of batches: tfjs-style datasets yield { xs, ys } (or [xs, ys]). */
export type BatchSource = AsyncIterable<{ xs: Inputs; ys: Tensor } | [Inputs, Tensor]>;

export interface FitDatasetArgs {
  epochs?: number;
  /** batches per epoch; by default one pass over the dataset */
  batchesPerEpoch?: number;
  validationData?: BatchSource | [Inputs, Tensor];
  callbacks?: (Callback | CallbackHooks)[];
  verbose?: 0 | 1 | 2;
  initialEpoch?: number;
}

const list = (x: Inputs) => (Array.isArray(x) ? x : [x]);

function requireCompiled(model: TrainableModel, where: string): Compiled {
  if (!model.compiled)
    throw new Error(
      `${where}: model '${model.name}' must be compiled first: call model.compile({ optimizer, loss, metrics })`,
    );
  return model.compiled;
}

function checkPositiveInt(v: number, name: string, where: string): void {
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`${where}: ${name} must be a positive integer, got ${v}`);
}

/** Accumulates per-batch loss and metric means into epoch means weighted by batch size. */
class Averages {
  private sums: Record<string, number> = {};
  private count = 0;
  add(values: Logs, n: number): void {
    for (const [k, v] of Object.entries(values)) this.sums[k] = (this.sums[k] ?? 0) + v * n;
    this.count += n;
  }
  result(prefix = ''): Logs {
    const out: Logs = {};
    for (const [k, v] of Object.entries(this.sums)) out[prefix + k] = v / this.count;
    return out;
  }
}

/** The model's forward pass, under automatic mixed precision when compile asked for it. */
export function forward<T>(c: Compiled, fn: () => T): T {
  return c.autocast ? autocast(c.autocast, fn) : fn();
}

/** Loss (with regularization) and metrics of predictions, as float32 scalars. */
function lossAndMetrics(
  model: TrainableModel,
  c: Compiled,
  y: Tensor,
  pred: Tensor,
  withRegularization: boolean,
): { loss: Tensor; metrics: Tensor[] } {
  let loss = c.loss.fn(y, pred);
  if (withRegularization) for (const r of model.regularizationLosses()) loss = add(loss, r);
  const metrics = c.metrics.map((m) => mean(m.fn(y, pred)));
  return { loss, metrics };
}

const jitted = new WeakMap<TrainableModel, JittedFunction<[Inputs, Tensor], Logs>>();

/** One optimizer step on one batch, traced and compiled when compile({ jitCompile: true }). */
export function trainStep(model: TrainableModel, x: Inputs, y: Tensor): Logs {
  if (!model.compiled?.jitCompile) return trainOnBatch(model, x, y);
  let step = jitted.get(model);
  if (!step) {
    step = jit((xb: Inputs, yb: Tensor) => trainOnBatch(model, xb, yb));
    jitted.set(model, step);
  }
  return step(x, y);
}

/** The JIT statistics of a model's compiled train step (null before the first jitted step). */
export function trainStepStats(model: TrainableModel): JitStats | null {
  return jitted.get(model)?.stats ?? null;
}

/** One optimizer step on one batch; returns the batch's loss and metric values. */
export function trainOnBatch(model: TrainableModel, x: Inputs, y: Tensor): Logs {
  const c = requireCompiled(model, 'trainOnBatch');
  return tidy(() => {
    let metricTensors: Tensor[] = [];
    const vars = model.trainableWeights;
    if (vars.length === 0) throw new Error(`fit: model '${model.name}' has no trainable weights`);
    const loss = (c.optimizer as Optimizer).minimize(
      () => {
        const pred = forward(c, () => model.apply(x, { training: true }) as Tensor);
        const r = lossAndMetrics(model, c, y, pred, true);
        // metrics don't need gradients; keep them past minimize's scope
        metricTensors = r.metrics.map((m) => keep(m));
        return r.loss;
      },
      true,
      vars,
    )!;
    const logs: Logs = { loss: loss.dataSync()[0] };
    c.metrics.forEach((m, i) => {
      logs[m.name] = metricTensors[i].dataSync()[0];
      metricTensors[i].dispose();
    });
    return logs;
  });
}

function evaluateBatch(model: TrainableModel, x: Inputs, y: Tensor): Logs {
  const c = requireCompiled(model, 'evaluate');
  return ENGINE.noGrad(() =>
    tidy(() => {
      const pred = forward(c, () => model.apply(x, { training: false }) as Tensor);
      const r = lossAndMetrics(model, c, y, pred, false);
      const logs: Logs = { loss: r.loss.dataSync()[0] };
      c.metrics.forEach((m, i) => {
        logs[m.name] = r.metrics[i].dataSync()[0];
      });
      return logs;
    }),
  );
}

function takeRows(x: Tensor, begin: number, size: number): Tensor {
  return slice(x, [begin, ...new Array(x.rank - 1).fill(0)], [size, ...x.shape.slice(1)]);
}

function batchOf(
  xs: Tensor[],
  y: Tensor,
  order: Int32Array | null,
  begin: number,
  size: number,
): [Tensor[], Tensor] {
  if (!order) return [xs.map((t) => takeRows(t, begin, size)), takeRows(y, begin, size)];
  const ids = order.subarray(begin, begin + size);
  const t = ENGINE.makeTensor(Int32Array.from(ids), [size], 'int32');
  const out: [Tensor[], Tensor] = [xs.map((a) => gather(a, t)), gather(y, t)];
  t.dispose();
  return out;
}

function checkArrays(model: TrainableModel, x: Inputs, y: Tensor, where: string): number {
  const xs = list(x);
  for (const t of [...xs, y])
    if (!(t instanceof Tensor)) throw new Error(`${where}: x and y must be Tensors`);
  model.checkInputs(
    xs.map((t) => t),
    where,
  );
  const n = xs[0].shape[0];
  for (const t of xs)
    if (t.shape[0] !== n)
      throw new Error(
        `${where}: all inputs must have the same number of samples, got ${xs.map((a) => a.shape[0]).join(' and ')}`,
      );
  if (y.shape[0] !== n) throw new Error(`${where}: x has ${n} samples but y has ${y.shape[0]}`);
  return n;
}

/** Evaluates in batches; returns the averaged loss and metrics. */
export function evaluateArrays(model: TrainableModel, x: Inputs, y: Tensor, batchSize = 32): Logs {
  const n = checkArrays(model, x, y, 'evaluate');
  checkPositiveInt(batchSize, 'batchSize', 'evaluate');
  const avg = new Averages();
  const xs = list(x);
  for (let b = 0; b < n; b += batchSize) {
    const size = Math.min(batchSize, n - b);
    const logs = tidy(() => {
      const [bx, by] = batchOf(xs, y, null, b, size);
      return evaluateBatch(model, Array.isArray(x) ? bx : bx[0], by);
    });
    avg.add(logs, size);
  }
  return avg.result();
}

function makeCallbacks(
  model: TrainableModel,
  user: (Callback | CallbackHooks)[] | undefined,
  verbose: 0 | 1 | 2,
): { list: CallbackList; history: History } {
  const history = new History();
  const all: (Callback | CallbackHooks)[] = [];
  if (verbose > 0) all.push(new ProgbarLogger(verbose as 1 | 2));
  all.push(...(user ?? []), history);
  const cl = new CallbackList(all);
  cl.setModel(model);
  return { list: cl, history };
}

export async function fitArrays(
  model: TrainableModel,
  x: Inputs,
  y: Tensor,
  args: FitArgs = {},
): Promise<History> {
  const where = 'fit';
  requireCompiled(model, where);
  const n = checkArrays(model, x, y, where);
  const epochs = args.epochs ?? 1;
  const batchSize = args.batchSize ?? 32;
  const initialEpoch = args.initialEpoch ?? 0;
  const verbose = args.verbose ?? 1;
  checkPositiveInt(epochs, 'epochs', where);
  checkPositiveInt(batchSize, 'batchSize', where);
  if (!Number.isInteger(initialEpoch) || initialEpoch < 0 || initialEpoch >= epochs)
    throw new Error(`${where}: initialEpoch must be in [0, epochs), got ${initialEpoch}`);
  const split = args.validationSplit ?? 0;
  if (!(split >= 0 && split < 1))
    throw new Error(`${where}: validationSplit must be in [0, 1), got ${split}`);
  if (split > 0 && args.validationData)
    throw new Error(`${where}: give validationSplit or validationData, not both`);
  let xs = list(x);
  let yTrain = y;
  let val: [Inputs, Tensor] | null = args.validationData ?? null;
  const owned: Tensor[] = [];
  // Keras takes the validation split from the end, before shuffling
  let nTrain = n;
  if (split > 0) {
    nTrain = Math.floor(n * (1 - split));
    if (nTrain < 1 || nTrain === n)
      throw new Error(
        `${where}: validationSplit ${split} of ${n} samples leaves an empty training or validation set`,
      );
    const vx = xs.map((t) => takeRows(t, nTrain, n - nTrain));
    const vy = takeRows(y, nTrain, n - nTrain);
    xs = xs.map((t) => takeRows(t, 0, nTrain));
    yTrain = takeRows(y, 0, nTrain);
    owned.push(...vx, vy, ...xs, yTrain);
    val = [Array.isArray(x) ? vx : vx[0], vy];
  }
  if (val) checkArrays(model, val[0], val[1], `${where} (validationData)`);
  const steps = Math.ceil(nTrain / batchSize);
  const { list: cbs, history } = makeCallbacks(model, args.callbacks, verbose);
  const c = model.compiled!;
  cbs.setParams({
    epochs,
    initialEpoch,
    steps,
    samples: nTrain,
    verbose,
    doValidation: val !== null,
    metrics: [
      'loss',
      ...c.metrics.map((m) => m.name),
      ...(val ? ['val_loss', ...c.metrics.map((m) => `val_${m.name}`)] : []),
    ],
  });
  const rng = new Random(args.seed);
  model.stopTraining = false;
  try {
    await cbs.trainBegin();
    for (let epoch = initialEpoch; epoch < epochs && !model.stopTraining; epoch++) {
      await cbs.epochBegin(epoch);
      const order = args.shuffle === false ? null : shuffled(nTrain, rng);
      const avg = new Averages();
      for (let s = 0; s < steps && !model.stopTraining; s++) {
        const begin = s * batchSize;
        const size = Math.min(batchSize, nTrain - begin);
        await cbs.batchBegin(s, { batch: s, size });
        const logs = tidy(() => {
          const [bx, by] = batchOf(xs, yTrain, order, begin, size);
          return trainStep(model, Array.isArray(x) ? bx : bx[0], by);
        });
        avg.add(logs, size);
        await cbs.batchEnd(s, { batch: s, size, ...avg.result() });
      }
      const epochLogs = avg.result();
      if (val) Object.assign(epochLogs, prefixed(evaluateArrays(model, val[0], val[1], batchSize)));
      await cbs.epochEnd(epoch, epochLogs);
    }
    await cbs.trainEnd();
  } finally {
    dispose(owned);
  }
  return history;
}

function prefixed(logs: Logs): Logs {
  return Object.fromEntries(Object.entries(logs).map(([k, v]) => [`val_${k}`, v]));
}

function shuffled(n: number, rng: Random): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

function unpack(el: { xs: Inputs; ys: Tensor } | [Inputs, Tensor], where: string): [Inputs, Tensor] {
  if (Array.isArray(el) && el.length === 2) return el;
  if (el && typeof el === 'object' && 'xs' in el && 'ys' in el) return [el.xs, el.ys];
  throw new Error(`${where}: dataset elements must be { xs, ys } or [xs, ys]`);
}

/** Evaluates over a dataset (one pass, or `batches` batches). */
export async function evaluateSource(
  model: TrainableModel,
  source: BatchSource,
  batches?: number,
): Promise<Logs> {
  const avg = new Averages();
  let i = 0;
  for await (const el of source) {
    const [x, y] = unpack(el, 'evaluateDataset');
    try {
      model.checkInputs(list(x), 'evaluateDataset');
      avg.add(evaluateBatch(model, x, y), y.shape[0]);
    } finally {
      dispose([...list(x), y]);
    }
    if (batches !== undefined && ++i >= batches) break;
  }
  return avg.result();
}

export async function fitSource(
  model: TrainableModel,
  source: BatchSource,
  args: FitDatasetArgs = {},
): Promise<History> {
  const where = 'fitDataset';
  const c = requireCompiled(model, where);
  const epochs = args.epochs ?? 1;
  const initialEpoch = args.initialEpoch ?? 0;
  const verbose = args.verbose ?? 1;
  checkPositiveInt(epochs, 'epochs', where);
  if (args.batchesPerEpoch !== undefined) checkPositiveInt(args.batchesPerEpoch, 'batchesPerEpoch', where);
  const val = args.validationData;
  const { list: cbs, history } = makeCallbacks(model, args.callbacks, verbose);
  cbs.setParams({
    epochs,
    initialEpoch,
    steps: args.batchesPerEpoch ?? null,
    samples: null,
    verbose,
    doValidation: val !== undefined,
    metrics: ['loss', ...c.metrics.map((m) => m.name)],
  });
  model.stopTraining = false;
  await cbs.trainBegin();
  let iterator: AsyncIterator<{ xs: Inputs; ys: Tensor } | [Inputs, Tensor]> | null = null;
  for (let epoch = initialEpoch; epoch < epochs && !model.stopTraining; epoch++) {
    await cbs.epochBegin(epoch);
    const avg = new Averages();
    // with batchesPerEpoch the iterator continues across epochs (tfjs); otherwise one pass each
    if (!iterator || args.batchesPerEpoch === undefined) iterator = source[Symbol.asyncIterator]();
    let s = 0;
    while (!model.stopTraining && (args.batchesPerEpoch === undefined || s < args.batchesPerEpoch)) {
      const next = await iterator.next();
      if (next.done) {
        if (args.batchesPerEpoch !== undefined && s < args.batchesPerEpoch) {
          process.emitWarning(
            `fitDataset: the dataset ran out after ${s} of ${args.batchesPerEpoch} batches in epoch ${epoch + 1}; use repeat()`,
          );
        }
        iterator = null;
        break;
      }
      const [x, y] = unpack(next.value, where);
      await cbs.batchBegin(s, { batch: s, size: y.shape[0] });
      let logs: Logs;
      try {
        model.checkInputs(list(x), where);
        logs = trainStep(model, x, y);
      } finally {
        dispose([...list(x), y]);
      }
      avg.add(logs, y.shape[0]);
      await cbs.batchEnd(s, { batch: s, size: y.shape[0], ...avg.result() });
      s++;
    }
    const epochLogs = avg.result();
    if (val) {
      const v = Array.isArray(val) ? evaluateArrays(model, val[0], val[1]) : await evaluateSource(model, val);
      Object.assign(epochLogs, prefixed(v));
    }
    await cbs.epochEnd(epoch, epochLogs);
  }
  await cbs.trainEnd();
  return history;
}
