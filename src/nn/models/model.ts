// LayersModel: a functional model that trains (tfjs' LayersModel / Keras' Model): compile, fit,
// fitDataset, evaluate, evaluateDataset, predict, summary. `model({ inputs, outputs })` makes one.

import { type PrecisionReport, precisionReport } from '../../mixed/diagnostics.js';
import { LossScaleOptimizer } from '../../mixed/loss-scale-optimizer.js';
import { ENGINE } from '../../tensor/engine.js';
import { tidy } from '../../tensor/lifetime.js';
import { scalar } from '../../tensor/ops/creation.js';
import { concat, slice } from '../../tensor/ops/layout.js';
import { Tensor } from '../../tensor/tensor.js';
import { type LoadWeightsOptions, loadWeights, saveWeights } from '../io/safetensors.js';
import { type SaveResult, saveLayersModel } from '../io/tfjs-save.js';
import type { CallArgs, Layer, LayerArgs } from '../layer.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import type { History, Logs } from '../training/callbacks.js';
import { type CompileArgs, type Compiled, resolveCompile } from '../training/compiled.js';
import {
  type BatchSource,
  evaluateArrays,
  evaluateSource,
  type FitArgs,
  type FitDatasetArgs,
  fitArrays,
  fitSource,
  forward,
  type Inputs,
  trainStep,
} from '../training/loop.js';
import { Functional, type FunctionalArgs } from './functional.js';
import { summaryLines } from './summary.js';

export class LayersModel extends Functional {
  static override className = 'Functional';
  compiled: Compiled | null = null;
  stopTraining = false;

  constructor(args: LayerArgs & Partial<FunctionalArgs> = {}) {
    super(args);
  }

  get optimizer(): Optimizer | undefined {
    return this.compiled?.optimizer;
  }

  /**
   * Fixes the optimizer, loss and metrics. Under mixed_float16 (the model's policy or its layers')
   * the optimizer is wrapped in a dynamic LossScaleOptimizer, as Keras does; not under bfloat16.
   */
  compile(args: CompileArgs): void {
    const out = this.outputs[0]?.shape;
    const compiled = resolveCompile(args, out ? (out[out.length - 1] ?? null) : null);
    const float16 = this.usesMixedFloat16() || compiled.autocast?.dtype === 'float16';
    if (float16 && !(compiled.optimizer instanceof LossScaleOptimizer)) {
      compiled.optimizer = new LossScaleOptimizer(compiled.optimizer);
    }
    this.compiled = compiled;
  }

  private usesMixedFloat16(): boolean {
    const mixed16 = (l: Layer): boolean =>
      l.dtypePolicy.name === 'mixed_float16' || (l instanceof Functional && l.layers.some(mixed16));
    return mixed16(this);
  }

  /** Trains on arrays (tfjs: returns a Promise of History). */
  fit(x: Inputs, y: Tensor, args?: FitArgs): Promise<History> {
    return fitArrays(this, x, y, args);
  }

  fitDataset(dataset: BatchSource, args?: FitDatasetArgs): Promise<History> {
    return fitSource(this, dataset, args);
  }

  trainOnBatch(x: Inputs, y: Tensor): Logs {
    return trainStep(this, x, y);
  }

  /** Loss and metrics as scalars (one tensor when there are no metrics, as tfjs). */
  evaluate(x: Inputs, y: Tensor, args: { batchSize?: number; verbose?: number } = {}): Tensor | Tensor[] {
    const logs = evaluateArrays(this, x, y, args.batchSize);
    return this.logsAsScalars(logs);
  }

  async evaluateDataset(dataset: BatchSource, args: { batches?: number } = {}): Promise<Tensor | Tensor[]> {
    if (!this.compiled) throw new Error(`evaluateDataset: model '${this.name}' must be compiled first`);
    return this.logsAsScalars(await evaluateSource(this, dataset, args.batches));
  }

  private logsAsScalars(logs: Logs): Tensor | Tensor[] {
    const names = ['loss', ...this.compiled!.metrics.map((m) => m.name)];
    const ts = names.map((k) => scalar(logs[k]));
    return ts.length === 1 ? ts[0] : ts;
  }

  /** Inference in batches (training: false), without recording gradients. */
  predict(x: Inputs, args: { batchSize?: number } = {}): Tensor | Tensor[] {
    const xs = Array.isArray(x) ? x : [x];
    for (const t of xs)
      if (!(t instanceof Tensor)) throw new Error('predict: x must be a Tensor or an array of Tensors');
    this.checkInputs(xs, 'predict');
    const batchSize = args.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`predict: batchSize must be a positive integer, got ${batchSize}`);
    const n = xs[0].shape[0];
    return ENGINE.noGrad(() =>
      tidy(() => {
        const parts: Tensor[][] = [];
        for (let b = 0; b < n; b += batchSize) {
          const size = Math.min(batchSize, n - b);
          const bx = xs.map((t) =>
            size === n ? t : slice(t, [b, ...new Array(t.rank - 1).fill(0)], [size, ...t.shape.slice(1)]),
          );
          const run = () => this.apply(Array.isArray(x) ? bx : bx[0], { training: false });
          const out = this.compiled ? forward(this.compiled, run) : run();
          parts.push(Array.isArray(out) ? out : [out]);
        }
        const joined = parts[0].map((_, i) =>
          parts.length === 1
            ? parts[0][i]
            : concat(
                parts.map((p) => p[i]),
                0,
              ),
        );
        return this.multiOutput ? joined : joined[0];
      }),
    );
  }

  /**
   * Per-layer policies, the loss scale and skipped steps; given a batch, also the peak memory of
   * one forward+backward (vs the same tensors in float32) and sampled float16 gradient underflow.
   */
  precisionReport(x?: Inputs, y?: Tensor): PrecisionReport {
    return precisionReport(this, x, y);
  }

  /** Prints Keras' summary table (or passes each line to printFn). */
  summary(lineLength?: number, positions?: number[], printFn: (line: string) => void = console.log): void {
    for (const line of summaryLines(this, lineLength, positions)) printFn(line);
  }

  override call(inputs: Tensor | Tensor[], kwargs: CallArgs): Tensor | Tensor[] {
    return super.call(inputs, kwargs);
  }

  /** Saves in the TensorFlow.js layers format: `file://DIR` gets DIR/model.json and DIR/weights.bin. */
  save(url: string): Promise<SaveResult> {
    return saveLayersModel(this, url);
  }

  /** Writes every weight to a safetensors file, named as Keras names them ('dense/kernel'). */
  saveWeights(path: string): Promise<void> {
    return saveWeights(this, path);
  }

  /** Loads weights from a safetensors file by name; shapes must match (nothing changes otherwise). */
  loadWeights(path: string, options?: LoadWeightsOptions): Promise<void> {
    return loadWeights(this, path, options);
  }
}

/** A functional model from symbolic inputs to outputs (tfjs' tf.model). */
export function model(args: FunctionalArgs): LayersModel {
  if (!args?.inputs || !args.outputs)
    throw new Error('model: expected { inputs, outputs } (symbolic tensors from input() and layer.apply)');
  return new LayersModel(args);
}
