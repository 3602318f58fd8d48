// track.callback(run): what fit() reports, logged to a run. Per epoch, at step = epoch index:
// the epoch's logs (loss, accuracy, val_*), `epoch`, `epoch_time`, `ms_per_step`, `images_per_sec`,
// `learning_rate`, `peak_tensor_bytes`, and under a LossScaleOptimizer `loss_scale` and
// `skipped_steps`. Per batch, at step = global batch index and thinned to about `maxBatchPoints`
// per key: `batch/<name>` for the running loss and metrics (and `batch/loss_scale`). At the end,
// `training_time` (wall seconds of fit, the seed's custom metric). The policy, optimizer, epochs,
// batch size and steps per epoch go into the config (keys the user set are left alone).
import { LossScaleOptimizer } from '../mixed/loss-scale-optimizer.js';
import { Callback, type Logs } from '../nn/training/callbacks.js';
import { memory } from '../tensor/lifetime.js';
import type { Run } from './run.js';

export interface TrackCallbackOptions {
  /** log running loss/metrics every few batches (default true) */
  logBatches?: boolean;
  /** about how many points each per-batch key gets per fit (default 1000) */
  maxBatchPoints?: number;
  /** finish the run when training ends (default false: the caller may log more, e.g. an evaluation) */
  finishOnEnd?: boolean;
}

interface ModelLike {
  optimizer?: unknown;
  dtypePolicy?: { name?: string };
  layers?: { dtypePolicy?: { name?: string } }[];
}

/** The model's policy; a model whose layers run a mixed policy (Keras' per-layer dtype) reports that one. */
function policyOf(model: ModelLike | undefined): string | null {
  const mixed = model?.layers?.map((l) => l.dtypePolicy?.name).find((n) => n?.startsWith('mixed_'));
  return mixed ?? model?.dtypePolicy?.name ?? null;
}

/** The last fit's numbers, for result tables (`keel train --json` / `demo --json`). */
export interface FitStats {
  epochs: number;
  stepsPerEpoch: number | null;
  batchSize: number | null;
  /** of the last epoch */
  msPerStep: number | null;
  imagesPerSec: number | null;
  /** wall seconds of fit (set when it ends) */
  trainingTimeSec: number | null;
  peakTensorBytes: number | null;
  /** under a LossScaleOptimizer, else null */
  skippedSteps: number | null;
  finalLossScale: number | null;
}

function className(o: unknown): string | null {
  if (!o || typeof o !== 'object') return null;
  const c = o.constructor as { className?: string; name?: string };
  return c.className ?? c.name ?? null;
}

export class TrackCallback extends Callback {
  private readonly logBatches: boolean;
  private readonly maxBatchPoints: number;
  private readonly finishOnEnd: boolean;
  private trainStart = 0;
  private epochStart = 0;
  private epochSteps = 0;
  private epochSamples = 0;
  private globalStep = 0;
  private stride = 1;
  private logged = 0;
  private lastEpoch = -1;
  private skipped0 = 0;
  private batchSizeSeen = false;
  /** updated at each epoch's end and when training ends */
  readonly stats: FitStats = {
    epochs: 0,
    stepsPerEpoch: null,
    batchSize: null,
    msPerStep: null,
    imagesPerSec: null,
    trainingTimeSec: null,
    peakTensorBytes: null,
    skippedSteps: null,
    finalLossScale: null,
  };

  constructor(
    readonly run: Run,
    options: TrackCallbackOptions = {},
  ) {
    super();
    if (!run || typeof run.log !== 'function')
      throw new Error('track.callback: expected a Run from track.init()');
    const max = options.maxBatchPoints ?? 1000;
    if (!Number.isInteger(max) || max < 1)
      throw new Error(`track.callback: maxBatchPoints must be a positive integer, got ${max}`);
    this.logBatches = options.logBatches ?? true;
    this.maxBatchPoints = max;
    this.finishOnEnd = options.finishOnEnd ?? false;
  }

  private get lossScaler(): LossScaleOptimizer | null {
    const opt = (this.model as ModelLike | undefined)?.optimizer;
    return opt instanceof LossScaleOptimizer ? opt : null;
  }

  private get live(): boolean {
    return this.run.status === 'running';
  }

  override onTrainBegin(): void {
    if (!this.live) return;
    this.trainStart = performance.now();
    this.batchSizeSeen = false;
    this.logged = 0;
    this.lastEpoch = -1;
    const p = this.params;
    const total = p?.steps ? p.steps * (p.epochs - p.initialEpoch) : null;
    // batch steps continue across fits that pass initialEpoch
    this.globalStep = p?.steps ? p.steps * p.initialEpoch : 0;
    // known length: a fixed stride; unknown: start at 1 and double as points accumulate
    this.stride = total ? Math.max(1, Math.ceil(total / this.maxBatchPoints)) : 1;
    const model = this.model as ModelLike | undefined;
    const lso = this.lossScaler;
    this.skipped0 = lso?.skippedSteps ?? 0;
    const cfg: Record<string, unknown> = {
      policy: policyOf(model),
      optimizer: className(lso ? lso.innerOptimizer : model?.optimizer),
      loss_scale: lso ? (lso.dynamic ? 'dynamic' : lso.lossScale) : null,
      epochs: p?.epochs ?? null,
      steps_per_epoch: p?.steps ?? null,
      samples: p?.samples ?? null,
    };
    const add: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(cfg)) if (v !== null && !(k in this.run.config)) add[k] = v;
    if (Object.keys(add).length > 0) this.run.updateConfig(add);
    this.run.beat();
  }

  override onEpochBegin(): void {
    if (!this.live) return;
    this.epochStart = performance.now();
    this.epochSteps = 0;
    this.epochSamples = 0;
  }

  override onBatchEnd(_batch: number, logs: Logs = {}): void {
    if (!this.live) return;
    this.epochSteps++;
    this.epochSamples += logs.size ?? 0;
    if (!this.batchSizeSeen && logs.size) {
      this.batchSizeSeen = true;
      this.stats.batchSize = logs.size;
      if (!('batch_size' in this.run.config)) this.run.updateConfig({ batch_size: logs.size });
    }
    const step = this.globalStep++;
    if (this.logBatches && step % this.stride === 0) {
      const m: Record<string, number> = {};
      for (const [k, v] of Object.entries(logs))
        if (k !== 'batch' && k !== 'size' && typeof v === 'number') m[`batch/${k}`] = v;
      const lso = this.lossScaler;
      if (lso) m['batch/loss_scale'] = lso.lossScale;
      this.run.log(m, { step });
      // unknown length (first epoch of a dataset): double the stride each time another
      // maxBatchPoints / 2 points are logged; the count grows with the log of the batches
      if (++this.logged >= this.maxBatchPoints && !this.params?.steps) {
        this.stride *= 2;
        this.logged = Math.floor(this.logged / 2);
      }
    } else {
      this.run.beat();
    }
  }

  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    if (!this.live) return;
    const seconds = (performance.now() - this.epochStart) / 1000;
    const m: Record<string, number> = { ...logs, epoch, epoch_time: seconds };
    if (this.epochSteps > 0) m.ms_per_step = (1000 * seconds) / this.epochSteps;
    if (this.epochSamples > 0 && seconds > 0) m.images_per_sec = this.epochSamples / seconds;
    const lr = (this.model?.optimizer as { learningRate?: unknown } | undefined)?.learningRate;
    if (typeof lr === 'number') m.learning_rate = lr;
    const lso = this.lossScaler;
    if (lso) {
      m.loss_scale = lso.lossScale;
      m.skipped_steps = lso.skippedSteps - this.skipped0;
    }
    try {
      m.peak_tensor_bytes = memory().peakBytes;
    } catch {}
    this.run.log(m, { step: epoch });
    this.lastEpoch = epoch;
    Object.assign(this.stats, {
      epochs: this.stats.epochs + 1,
      stepsPerEpoch: this.params?.steps ?? this.epochSteps,
      msPerStep: m.ms_per_step ?? null,
      imagesPerSec: m.images_per_sec ?? null,
      peakTensorBytes: m.peak_tensor_bytes ?? null,
      skippedSteps: m.skipped_steps ?? null,
      finalLossScale: m.loss_scale ?? null,
    });
    const p = this.params;
    if (p && !p.steps && this.epochSteps > 0) {
      // an epoch's length is known now: spread the remaining budget over the remaining epochs
      const left = this.epochSteps * (p.epochs - epoch - 1);
      const budget = Math.max(Math.ceil(this.maxBatchPoints / 2), this.maxBatchPoints - this.logged);
      this.stride = Math.max(this.stride, Math.ceil(left / budget));
    }
  }

  override async onTrainEnd(): Promise<void> {
    if (!this.live) return;
    const seconds = (performance.now() - this.trainStart) / 1000;
    this.stats.trainingTimeSec = seconds;
    this.run.log({ training_time: seconds }, { step: Math.max(0, this.lastEpoch) });
    if (this.finishOnEnd) return this.run.finish();
    try {
      this.run.flush();
    } catch {
      // a busy store: the run's timer retries
    }
  }
}

/** A fit() callback that logs training to run (see TrackCallback). */
export function callback(run: Run, options?: TrackCallbackOptions): TrackCallback {
  return new TrackCallback(run, options);
}
