// The training options `keel train` and `keel demo` share (SPEC.md), with their defaults.
import type { Command } from 'commander';
import { intIn, lossScaleArg, oneOf, positiveNumber, UsageError } from './args.js';
import type { LossScaleSetting, ModelName, PolicyName, TrainOptions } from './experiment.js';

export interface TrainFlags {
  data?: string;
  model?: ModelName;
  policy?: PolicyName;
  jit?: boolean;
  lossScale?: LossScaleSetting;
  epochs?: number;
  batchSize?: number;
  imageSize?: number;
  lr?: number;
  weights?: string;
  freezeBase?: boolean;
  backend?: 'cpu' | 'cuda';
  seed?: number;
  project?: string;
  name?: string;
  runsDir?: string;
  json?: string;
  limit?: number;
  count?: number;
}

/** Declares the shared flags; no defaults here, so a command can tell what the user set. */
export function addTrainOptions(cmd: Command): Command {
  return cmd
    .option('--data <dir>', "ship data in the seed's layout (default: a synthetic set in ./keel-data/ships)")
    .option(
      '--model <name>',
      'smallcnn | resnet18 | resnet50',
      oneOf(['smallcnn', 'resnet18', 'resnet50'] as const, '--model'),
    )
    .option(
      '--policy <name>',
      'float32 | mixed_float16 | mixed_bfloat16',
      oneOf(['float32', 'mixed_float16', 'mixed_bfloat16'] as const, '--policy'),
    )
    .option('--jit', 'trace and compile the training step')
    .option('--no-jit', 'run eagerly')
    .option('--loss-scale <s>', 'dynamic | none | NUMBER (mixed_float16 only; default dynamic)', lossScaleArg)
    .option('--epochs <n>', 'epochs', intIn(1, 100_000, '--epochs'))
    .option('--batch-size <n>', 'images per batch', intIn(1, 100_000, '--batch-size'))
    .option('--image-size <px>', 'images are resized to this square size', intIn(8, 4096, '--image-size'))
    .option('--lr <x>', 'Adam learning rate', positiveNumber('--lr'))
    .option(
      '--weights <file.h5>',
      'Keras .h5 weights for the ResNet base (e.g. resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5)',
    )
    .option('--freeze-base', 'train only the classification head')
    .option('--backend <name>', 'cpu | cuda', oneOf(['cpu', 'cuda'] as const, '--backend'))
    .option('--seed <n>', 'random seed', intIn(0, 2 ** 31 - 1, '--seed'))
    .option('--project <p>', 'tracker project (default: ships)')
    .option('--name <n>', 'run name')
    .option('--runs-dir <dir>', 'tracker store (default: KEEL_RUNS_DIR or ./keel-runs)')
    .option('--limit <n>', 'use only the first N labelled images', intIn(1, 10_000_000, '--limit'))
    .option(
      '--count <n>',
      'synthetic images to generate when no --data is given',
      intIn(10, 10_000_000, '--count'),
    )
    .option('--json <file>', 'write the result JSON (SPEC.md) to this file');
}

/** Defaults: sized for a 2-core CPU; on CUDA, the seed's ResNet50 224x224, batch 80, Adam 1e-4, 5 epochs. */
export function resolveTrainOptions(f: TrainFlags, quick: boolean): TrainOptions {
  const cuda = f.backend === 'cuda';
  const base = cuda
    ? { model: 'resnet50' as const, imageSize: 224, batchSize: 80, lr: 1e-4, epochs: 5, count: 1500 }
    : quick
      ? { model: 'smallcnn' as const, imageSize: 32, batchSize: 32, lr: 3e-3, epochs: 1, count: 300 }
      : { model: 'smallcnn' as const, imageSize: 64, batchSize: 32, lr: 3e-3, epochs: 3, count: 1200 };
  if (f.lossScale !== undefined && (f.policy ?? 'float32') !== 'mixed_float16') {
    throw new UsageError(
      `--loss-scale applies to --policy mixed_float16 only (policy is ${f.policy ?? 'float32'})`,
    );
  }
  return {
    data: f.data,
    model: f.model ?? base.model,
    policy: f.policy ?? 'float32',
    jit: f.jit ?? false,
    lossScale: f.lossScale ?? 'dynamic',
    epochs: f.epochs ?? base.epochs,
    batchSize: f.batchSize ?? base.batchSize,
    imageSize: f.imageSize ?? base.imageSize,
    lr: f.lr ?? base.lr,
    weights: f.weights,
    freezeBase: f.freezeBase ?? false,
    backend: f.backend ?? 'cpu',
    seed: f.seed ?? 0,
    project: f.project ?? 'ships',
    name: f.name,
    runsDir: f.runsDir,
    limit: f.limit ?? (quick ? 300 : undefined),
    count: f.count ?? base.count,
    verbose: 1,
  };
}
