// Callbacks (tfjs' CustomCallback hooks, Keras' Callback): the base class, the list that fit()
// drives, and History. Hooks may be async; fit awaits them.
export type Logs = Record<string, number>;

export interface CallbackHooks {
  onTrainBegin?(logs?: Logs): void | Promise<void>;
  onTrainEnd?(logs?: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs?: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs?: Logs): void | Promise<void>;
  onBatchBegin?(batch: number, logs?: Logs): void | Promise<void>;
  onBatchEnd?(batch: number, logs?: Logs): void | Promise<void>;
}

/** What fit tells callbacks about the run. */
export interface TrainParams {
  epochs: number;
  initialEpoch: number;
  /** batches per epoch, when known */
  steps: number | null;
  samples: number | null;
  verbose: 0 | 1 | 2;
  metrics: string[];
  doValidation: boolean;
}

/** The model surface callbacks may use (a LayersModel satisfies it). */
export interface CallbackModel {
  stopTraining: boolean;
  optimizer?: { learningRate: number | unknown };
  save?(url: string): Promise<unknown>;
}

// The hooks are optional methods of every Callback (declaration merging).
export interface Callback extends CallbackHooks {}
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface only declares the optional hooks
export abstract class Callback {
  model?: CallbackModel;
  params?: TrainParams;
  setModel(model: CallbackModel): void {
    this.model = model;
  }
  setParams(params: TrainParams): void {
    this.params = params;
  }
}

/** Wraps a plain object of hooks ({ onEpochEnd: ... }) as a Callback. */
class HookCallback extends Callback {
  constructor(hooks: CallbackHooks) {
    super();
    for (const k of [
      'onTrainBegin',
      'onTrainEnd',
      'onEpochBegin',
      'onEpochEnd',
      'onBatchBegin',
      'onBatchEnd',
    ] as const) {
      const h = hooks[k];
      if (h !== undefined && typeof h !== 'function')
        throw new Error(`callbacks: '${k}' must be a function, got ${typeof h}`);
      if (h) (this as CallbackHooks)[k] = h.bind(hooks) as never;
    }
  }
}

export class CallbackList {
  readonly callbacks: Callback[];
  constructor(list: (Callback | CallbackHooks)[]) {
    this.callbacks = list.map((c) => (c instanceof Callback ? c : new HookCallback(c)));
  }
  setModel(m: CallbackModel): void {
    for (const c of this.callbacks) c.setModel(m);
  }
  setParams(p: TrainParams): void {
    for (const c of this.callbacks) c.setParams(p);
  }
  async trainBegin(logs: Logs = {}) {
    for (const c of this.callbacks) await c.onTrainBegin?.(logs);
  }
  async trainEnd(logs: Logs = {}) {
    for (const c of this.callbacks) await c.onTrainEnd?.(logs);
  }
  async epochBegin(epoch: number, logs: Logs = {}) {
    for (const c of this.callbacks) await c.onEpochBegin?.(epoch, logs);
  }
  async epochEnd(epoch: number, logs: Logs) {
    for (const c of this.callbacks) await c.onEpochEnd?.(epoch, logs);
  }
  async batchBegin(batch: number, logs: Logs = {}) {
    for (const c of this.callbacks) await c.onBatchBegin?.(batch, logs);
  }
  async batchEnd(batch: number, logs: Logs) {
    for (const c of this.callbacks) await c.onBatchEnd?.(batch, logs);
  }
}

/** The object fit() resolves to: epochs run and each metric per epoch (tfjs' History). */
export class History extends Callback {
  epoch: number[] = [];
  history: Record<string, number[]> = {};
  override onTrainBegin(): void {
    this.epoch = [];
    this.history = {};
  }
  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) {
      if (!this.history[k]) this.history[k] = [];
      this.history[k].push(v);
    }
  }
}
