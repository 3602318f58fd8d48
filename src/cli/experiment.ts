// The seed's experiment as code: the ship data (generated when absent), a model (smallCnn, ResNet18,
// or ResNet50 as the seed builds it), one training configuration (policy, JIT, loss scaling)
// tracked as a run, and the result record of SPEC.md. `keel train` runs one configuration,
// `keel demo` the seed's comparison.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ships } from '../data/ships.js';
import { writeSyntheticShips } from '../data/synthetic/generate.js';
import * as keel from '../index.js';
import type { LayersModel } from '../nn/models/model.js';
import type { SymbolicTensor } from '../nn/symbolic.js';
import type { Logs } from '../nn/training/callbacks.js';

export type ModelName = 'smallcnn' | 'resnet18' | 'resnet50';
export type PolicyName = 'float32' | 'mixed_float16' | 'mixed_bfloat16';
export type LossScaleSetting = 'dynamic' | 'none' | number;

export interface TrainOptions {
  /** the seed's layout (train/train.csv, train/images); absent: synthetic ships in ./keel-data/ships */
  data?: string;
  model: ModelName;
  policy: PolicyName;
  jit: boolean;
  lossScale: LossScaleSetting;
  epochs: number;
  batchSize: number;
  imageSize: number;
  lr: number;
  /** Keras .h5 weights for the ResNet base */
  weights?: string;
  freezeBase: boolean;
  backend: 'cpu' | 'cuda';
  seed: number;
  project: string;
  name?: string;
  group?: string;
  runsDir?: string;
  /** use only this many labelled images (quick runs) */
  limit?: number;
  /** synthetic images to generate when no --data is given */
  count: number;
  verbose: 0 | 1 | 2;
}

export interface RunResult {
  runId: string;
  name: string;
  policy: PolicyName;
  jit: boolean;
  lossScale: LossScaleSetting | null;
  model: ModelName;
  epochs: number;
  batchSize: number;
  stepsPerEpoch: number;
  msPerStep: number;
  imagesPerSec: number;
  trainingTimeSec: number;
  peakTensorBytes: number;
  skippedSteps: number;
  finalLossScale: number | null;
  final: { loss: number; accuracy: number; valLoss: number | null; valAccuracy: number | null };
  history: Record<string, number[]>;
}

export const DEFAULT_DATA_DIR = join('keel-data', 'ships');

/** The ship data: `dir` when given (it must exist), else the synthetic set, generated once. */
export async function ensureShips(
  dir: string | undefined,
  count: number,
  seed: number,
  log: (s: string) => void,
): Promise<string> {
  if (dir !== undefined) {
    const root = resolve(dir);
    if (!existsSync(join(root, 'train', 'train.csv')))
      throw new Error(
        `--data ${dir}: no train/train.csv there (expected the seed's layout: train/train.csv and train/images/)`,
      );
    return root;
  }
  const root = resolve(DEFAULT_DATA_DIR);
  if (existsSync(join(root, 'train', 'train.csv'))) {
    log(`Using the synthetic ship dataset in ${DEFAULT_DATA_DIR}`);
    return root;
  }
  log(`Generating a synthetic ship dataset (${count} images) in ${DEFAULT_DATA_DIR} ...`);
  let lastTenth = -1;
  await writeSyntheticShips(root, {
    count,
    size: 64,
    seed,
    onProgress: (done, total) => {
      const tenth = Math.floor((10 * done) / total);
      if (tenth > lastTenth && tenth % 2 === 0) {
        lastTenth = tenth;
        log(`  ${done}/${total} images`);
      }
    },
  });
  return root;
}

/** The compute dtype of a policy, which is also the dtype the input pipeline feeds (as the seed does). */
function inputDtype(policy: PolicyName): 'float32' | 'float16' | 'bfloat16' {
  return policy === 'mixed_float16' ? 'float16' : policy === 'mixed_bfloat16' ? 'bfloat16' : 'float32';
}

/**
 * The seed's create_model: a 16-bit image input under mixed policies, a base network, global
 * average pooling, and a float32 softmax head.
 */
export async function buildModel(
  o: Pick<TrainOptions, 'model' | 'policy' | 'imageSize' | 'weights' | 'freezeBase'>,
  classes: number,
): Promise<LayersModel> {
  keel.mixedPrecision.setGlobalPolicy(o.policy);
  try {
    const x = keel.input({
      shape: [o.imageSize, o.imageSize, 3],
      dtype: inputDtype(o.policy),
      name: 'images',
    });
    let features: SymbolicTensor;
    if (o.model === 'smallcnn') {
      if (o.weights) throw new Error('--weights applies to resnet18/resnet50 only');
      const base = await keel.applications.smallCnn({
        inputTensor: x,
        includeTop: false,
        filters: [16, 32, 64],
      });
      base.trainable = !o.freezeBase;
      features = base.outputs[0];
    } else {
      const make = o.model === 'resnet50' ? keel.applications.resNet50 : keel.applications.resNet18;
      const base = await make({ includeTop: false, inputTensor: x, weights: o.weights ?? null });
      base.trainable = !o.freezeBase;
      features = keel.layers
        .globalAveragePooling2d({ name: 'avg_pool' })
        .apply(base.outputs[0]) as SymbolicTensor;
    }
    // softmax in float32 for numeric stability (the Keras guide's rule)
    const preds = keel.layers
      .dense({ units: classes, activation: 'softmax', dtype: 'float32', name: 'predictions' })
      .apply(features) as SymbolicTensor;
    return keel.model({ inputs: x, outputs: preds, name: `${o.model}_ships` });
  } finally {
    keel.mixedPrecision.setGlobalPolicy('float32');
  }
}

function optimizerFor(o: TrainOptions): keel.Optimizer {
  const adam = keel.train.adam(o.lr);
  if (o.policy !== 'mixed_float16' || o.lossScale === 'dynamic') return adam; // compile wraps mixed_float16
  if (o.lossScale === 'none') return adam;
  return new keel.mixedPrecision.LossScaleOptimizer(adam, { dynamic: false, initialScale: o.lossScale });
}

/**
 * A few untimed, untracked steps of each configuration's model on small random images: V8 optimises
 * Keel's JavaScript (ops, tape, layers, the JIT's tracer) over its first tens of calls, which would
 * otherwise slow whichever configuration runs first and skew a comparison of them.
 */
export async function warmUp(
  o: TrainOptions,
  configs: readonly Pick<TrainOptions, 'policy' | 'jit'>[],
  steps = 8,
): Promise<void> {
  const size = Math.min(o.imageSize, 32);
  for (const c of configs) {
    const conf = { ...o, ...c, imageSize: size, weights: undefined };
    const model = await buildModel(conf, 5);
    model.compile({ optimizer: optimizerFor(conf), loss: 'categoricalCrossentropy', jitCompile: c.jit });
    const x = keel.randomNormal([4, size, size, 3], 0, 1, 'float32').cast(inputDtype(c.policy));
    const y = keel.oneHot(keel.tensor1d([0, 1, 2, 3], 'int32'), 5).cast('float32');
    try {
      for (let i = 0; i < steps; i++) model.trainOnBatch(x, y);
    } finally {
      keel.dispose([x, y]);
      model.dispose();
      model.optimizer?.dispose();
    }
  }
}

/** Trains one configuration, tracked as a run; returns its SPEC.md result record. */
export async function trainOne(
  o: TrainOptions,
  log: (s: string) => void = (s) => console.log(s),
): Promise<RunResult> {
  if (o.backend !== keel.getBackend()) await keel.setBackend(o.backend);
  const dir = await ensureShips(o.data, o.count, o.seed, log);
  const data = await ships(dir, {
    imageSize: o.imageSize,
    batchSize: o.batchSize,
    labelMode: 'categorical',
    dtype: inputDtype(o.policy),
    seed: o.seed,
    validationSplit: 0.2,
    limit: o.limit,
    // decoded images stay in memory after the first epoch (the synthetic set is small)
    cache: true,
    // ImageNet-pretrained ResNets expect Keras' 'caffe' preprocessing
    preprocess: o.weights ? 'caffe' : 'unit',
  });
  // every configuration starts from the same weights (and draws the same dropout masks)
  keel.setRandomSeed(o.seed);
  const model = await buildModel(o, data.classNames.length);
  model.compile({
    optimizer: optimizerFor(o),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    jitCompile: o.jit,
  });
  if (
    o.policy === 'mixed_float16' &&
    o.lossScale === 'none' &&
    model.optimizer instanceof keel.mixedPrecision.LossScaleOptimizer
  ) {
    model.compiled!.optimizer = model.optimizer.innerOptimizer;
  }
  const name = o.name ?? `${o.model} ${o.policy}${o.jit ? ' + jit' : ''}`;
  const run = keel.track.init({
    project: o.project,
    name,
    group: o.group,
    runsDir: o.runsDir,
    config: {
      model: o.model,
      policy: o.policy,
      jit: o.jit,
      lossScale: o.lossScale,
      epochs: o.epochs,
      batchSize: o.batchSize,
      imageSize: o.imageSize,
      lr: o.lr,
      seed: o.seed,
      backend: o.backend,
      freezeBase: o.freezeBase,
      data: dir,
      trainImages: data.counts.train.reduce((a, b) => a + b, 0),
      validationImages: data.counts.validation.reduce((a, b) => a + b, 0),
    },
  });
  // the tracking callback also keeps the fit's numbers (ms/step of the last epoch, images/s, peak)
  const tracking = keel.track.callback(run);
  let exitCode = 0;
  try {
    keel.resetPeakMemory();
    const history = await model.fitDataset(data.train, {
      epochs: o.epochs,
      validationData: data.validation ?? undefined,
      verbose: o.verbose,
      callbacks: [tracking],
    });
    const stats = tracking.stats;
    const last = (k: string) => history.history[k]?.at(-1) ?? null;
    const opt = model.optimizer;
    const lso = opt instanceof keel.mixedPrecision.LossScaleOptimizer ? opt : null;
    const result: RunResult = {
      runId: run.id,
      name,
      policy: o.policy,
      jit: o.jit,
      lossScale: lso
        ? lso.dynamic
          ? 'dynamic'
          : lso.lossScale
        : o.policy === 'mixed_float16'
          ? 'none'
          : null,
      model: o.model,
      epochs: o.epochs,
      batchSize: o.batchSize,
      stepsPerEpoch: stats.stepsPerEpoch ?? 0,
      msPerStep: stats.msPerStep ?? Number.NaN,
      imagesPerSec: stats.imagesPerSec ?? Number.NaN,
      trainingTimeSec: stats.trainingTimeSec ?? Number.NaN,
      peakTensorBytes: stats.peakTensorBytes ?? keel.memory().peakBytes,
      skippedSteps: lso ? lso.skippedSteps : 0,
      finalLossScale: lso ? lso.lossScale : null,
      final: {
        loss: last('loss')!,
        accuracy: last('accuracy')!,
        valLoss: last('val_loss'),
        valAccuracy: last('val_accuracy'),
      },
      history: history.history,
    };
    return result;
  } catch (err) {
    exitCode = 1;
    throw err;
  } finally {
    await run.finish({ exitCode });
    model.dispose();
    model.optimizer?.dispose();
  }
}

export type { Logs };
