// callbacks.*: earlyStopping, modelCheckpoint, csvLogger, learningRateScheduler, terminateOnNaN
// (Keras semantics, tfjs-style factory names).
import { appendFileSync, writeFileSync } from 'node:fs';
import type { Tensor } from '../../tensor/tensor.js';
import { Callback, type Logs } from './callbacks.js';

type Mode = 'auto' | 'min' | 'max';

/** Callback messages go to stdout like the progress bar (Keras' print_msg). */
function say(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

/** Keras' rule for 'auto': accuracy-like metrics improve upwards, everything else downwards. */
function better(mode: Mode, monitor: string): (current: number, best: number, minDelta: number) => boolean {
  const max = mode === 'max' || (mode === 'auto' && /acc|auc|precision|recall/.test(monitor));
  return max ? (c, b, d) => c - d > b : (c, b, d) => c + d < b;
}

function monitored(logs: Logs | undefined, monitor: string, who: string): number | undefined {
  const v = logs?.[monitor];
  if (v === undefined) {
    process.emitWarning(
      `${who}: metric '${monitor}' is not available; available: ${Object.keys(logs ?? {}).join(', ') || 'none'}`,
    );
  }
  return v;
}

export interface EarlyStoppingArgs {
  monitor?: string;
  minDelta?: number;
  patience?: number;
  verbose?: number;
  mode?: Mode;
  baseline?: number;
  restoreBestWeights?: boolean;
}

/** The model surface earlyStopping's restoreBestWeights needs. */
interface WeightsModel {
  getWeights(): Tensor[];
  setWeights(w: Tensor[]): void;
}

export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly restoreBestWeights: boolean;
  private readonly improved: (c: number, b: number, d: number) => boolean;
  private readonly baseline?: number;
  private readonly verbose: number;
  private wait = 0;
  private best = Number.NaN;
  private bestWeights: Tensor[] | null = null;
  stoppedEpoch = 0;

  constructor(args: EarlyStoppingArgs = {}) {
    super();
    this.monitor = args.monitor ?? 'val_loss';
    this.minDelta = Math.abs(args.minDelta ?? 0);
    this.patience = args.patience ?? 0;
    this.verbose = args.verbose ?? 0;
    this.baseline = args.baseline;
    this.restoreBestWeights = args.restoreBestWeights ?? false;
    if (!Number.isInteger(this.patience) || this.patience < 0)
      throw new Error(`earlyStopping: patience must be a non-negative integer, got ${args.patience}`);
    const mode = args.mode ?? 'auto';
    if (!['auto', 'min', 'max'].includes(mode))
      throw new Error(`earlyStopping: mode must be 'auto', 'min' or 'max', got '${mode}'`);
    this.improved = better(mode, this.monitor);
  }

  override onTrainBegin(): void {
    this.wait = 0;
    this.best = this.baseline ?? Number.NaN;
    this.stoppedEpoch = 0;
    this.clearBest();
  }

  override onEpochEnd(epoch: number, logs?: Logs): void {
    const v = monitored(logs, this.monitor, 'earlyStopping');
    if (v === undefined) return;
    if (Number.isNaN(this.best) || this.improved(v, this.best, this.minDelta)) {
      this.best = v;
      this.wait = 0;
      if (this.restoreBestWeights) {
        this.clearBest();
        this.bestWeights = (this.model as unknown as WeightsModel).getWeights();
      }
      return;
    }
    this.wait++;
    if (this.wait > this.patience - 1 && epoch > 0) {
      this.stoppedEpoch = epoch;
      this.model!.stopTraining = true;
      if (this.restoreBestWeights && this.bestWeights) {
        if (this.verbose > 0) say('Restoring model weights from the end of the best epoch.');
        (this.model as unknown as WeightsModel).setWeights(this.bestWeights);
      }
    }
  }

  override onTrainEnd(): void {
    if (this.stoppedEpoch > 0 && this.verbose > 0) say(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
    this.clearBest();
  }

  private clearBest(): void {
    for (const t of this.bestWeights ?? []) t.dispose();
    this.bestWeights = null;
  }
}

export interface ModelCheckpointArgs {
  monitor?: string;
  saveBestOnly?: boolean;
  mode?: Mode;
  verbose?: number;
}

/** Saves the model after each epoch (or when `monitor` improves); `{epoch}` in the path is replaced. */
export class ModelCheckpoint extends Callback {
  private best = Number.NaN;
  private readonly improved: (c: number, b: number, d: number) => boolean;
  readonly monitor: string;
  constructor(
    readonly filepath: string,
    private readonly args: ModelCheckpointArgs = {},
  ) {
    super();
    if (typeof filepath !== 'string' || filepath.length === 0)
      throw new Error('modelCheckpoint: filepath must be a non-empty string');
    this.monitor = args.monitor ?? 'val_loss';
    this.improved = better(args.mode ?? 'auto', this.monitor);
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    if (this.args.saveBestOnly) {
      const v = monitored(logs, this.monitor, 'modelCheckpoint');
      if (v === undefined || !(Number.isNaN(this.best) || this.improved(v, this.best, 0))) return;
      this.best = v;
    }
    if (!this.model?.save) throw new Error('modelCheckpoint: the model cannot be saved (no save method)');
    const path = this.filepath.replace(/\{epoch(?::0?(\d+)d)?\}/g, (_, w: string | undefined) =>
      String(epoch + 1).padStart(Number(w ?? 0), '0'),
    );
    await this.model.save(path.startsWith('file://') ? path : `file://${path}`);
    if ((this.args.verbose ?? 0) > 0) say(`Epoch ${epoch + 1}: saving model to ${path}`);
  }
}

/** Appends one CSV row per epoch: epoch, then the logs' keys in sorted order (Keras). */
export class CSVLogger extends Callback {
  private keys: string[] | null = null;
  constructor(
    readonly filename: string,
    private readonly args: { separator?: string; append?: boolean } = {},
  ) {
    super();
    if (typeof filename !== 'string' || filename.length === 0)
      throw new Error('csvLogger: filename must be a non-empty string');
  }
  override onTrainBegin(): void {
    this.keys = null;
    if (!this.args.append) writeFileSync(this.filename, '');
  }
  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    const sep = this.args.separator ?? ',';
    if (!this.keys) {
      this.keys = Object.keys(logs).sort();
      appendFileSync(this.filename, `${['epoch', ...this.keys].join(sep)}\n`);
    }
    appendFileSync(this.filename, `${[epoch, ...this.keys.map((k) => logs[k] ?? 'NA')].join(sep)}\n`);
  }
}

/** Sets the optimizer's learning rate at each epoch start: schedule(epoch, currentLr). */
export class LearningRateScheduler extends Callback {
  constructor(
    private readonly schedule: (epoch: number, lr: number) => number,
    private readonly verbose = 0,
  ) {
    super();
    if (typeof schedule !== 'function')
      throw new Error('learningRateScheduler: schedule must be a function (epoch, lr) => lr');
  }
  override onEpochBegin(epoch: number): void {
    const opt = this.model?.optimizer as { learningRate: unknown } | undefined;
    if (!opt || typeof opt.learningRate !== 'number') {
      throw new Error(
        'learningRateScheduler: the optimizer must have a numeric learningRate (not a schedule)',
      );
    }
    const lr = this.schedule(epoch, opt.learningRate);
    if (!(typeof lr === 'number' && Number.isFinite(lr) && lr > 0))
      throw new Error(
        `learningRateScheduler: schedule returned ${lr} for epoch ${epoch}; expected a positive number`,
      );
    opt.learningRate = lr;
    if (this.verbose > 0) say(`\nEpoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${lr}.`);
  }
}

/** Stops training when the loss becomes NaN or infinite. */
export class TerminateOnNaN extends Callback {
  override onBatchEnd(batch: number, logs?: Logs): void {
    const loss = logs?.loss;
    if (loss !== undefined && !Number.isFinite(loss)) {
      say(`Batch ${batch}: Invalid loss, terminating training`);
      this.model!.stopTraining = true;
    }
  }
}

export const callbacks = {
  earlyStopping: (args?: EarlyStoppingArgs) => new EarlyStopping(args),
  modelCheckpoint: (filepath: string, args?: ModelCheckpointArgs) => new ModelCheckpoint(filepath, args),
  csvLogger: (filename: string, args?: { separator?: string; append?: boolean }) =>
    new CSVLogger(filename, args),
  learningRateScheduler: (schedule: (epoch: number, lr: number) => number, verbose?: number) =>
    new LearningRateScheduler(schedule, verbose),
  terminateOnNaN: () => new TerminateOnNaN(),
};
