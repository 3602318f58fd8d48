// Precision diagnostics: per-layer dtypes, the loss scale and skipped steps, how many gradient
// values would flush to zero (or go subnormal) in float16 without scaling, and the memory that
// 16-bit storage saves. `precisionReport(model, x, y)` measures one forward+backward without
// updating anything; `PrecisionMonitor` records the same over training.
import { variableGrads } from '../autograd/grad.js';
import type { Layer } from '../nn/layer.js';
import { Functional } from '../nn/models/functional.js';
import { Callback } from '../nn/training/callbacks.js';
import type { Compiled } from '../nn/training/compiled.js';
import { forward } from '../nn/training/loop.js';
import { ENGINE } from '../tensor/engine.js';
import { dispose, tidy } from '../tensor/lifetime.js';
import type { Tensor } from '../tensor/tensor.js';
import { LossScaleOptimizer } from './loss-scale-optimizer.js';

/** float16's smallest subnormal is 2^-24; anything at or below half of it rounds to zero. */
const F16_FLUSH = 2 ** -25;
/** below float16's smallest normal, 2^-14, values keep fewer significant bits */
const F16_SUBNORMAL = 2 ** -14;
const SAMPLE_PER_TENSOR = 4096;

export interface UnderflowStats {
  /** gradient values looked at (a strided sample of each gradient) */
  sampled: number;
  /** non-zero values that float16 would round to zero */
  wouldFlush: number;
  /** non-zero values that float16 would store as subnormals (precision loss) */
  wouldBeSubnormal: number;
  flushFraction: number;
  subnormalFraction: number;
}

/** Counts, over a strided sample of each gradient, the values float16 cannot represent well. */
export function gradientUnderflow(grads: Tensor[], perTensor = SAMPLE_PER_TENSOR, scale = 1): UnderflowStats {
  let sampled = 0;
  let flush = 0;
  let sub = 0;
  for (const g of grads) {
    const v = g.dataSync();
    const step = Math.max(1, Math.floor(v.length / perTensor));
    for (let i = 0; i < v.length; i += step) {
      const a = Math.abs(v[i] * scale);
      sampled++;
      if (a === 0) continue;
      if (a <= F16_FLUSH) flush++;
      else if (a < F16_SUBNORMAL) sub++;
    }
  }
  return {
    sampled,
    wouldFlush: flush,
    wouldBeSubnormal: sub,
    flushFraction: sampled ? flush / sampled : 0,
    subnormalFraction: sampled ? sub / sampled : 0,
  };
}

export interface LayerPrecision {
  name: string;
  className: string;
  policy: string;
  computeDtype: string;
  variableDtype: string;
  params: number;
}

export interface PrecisionReport {
  policy: string;
  layers: LayerPrecision[];
  lossScale: number | null;
  skippedSteps: number | null;
  /** compile({ autoMixedPrecision }): its dtype and how many times each op was cast so far */
  autoMixedPrecision: { dtype: string; castOps: Record<string, number> } | null;
  /** measured on one forward+backward of the given batch (no update) */
  step?: {
    peakBytes: number;
    /** the same tensors' peak if they were float32 */
    peakBytesAsFloat32: number;
    savedBytes: number;
    underflow: UnderflowStats;
  };
}

function flatLayers(l: Layer): Layer[] {
  return l instanceof Functional
    ? l.layers.flatMap((c) => [c, ...(c instanceof Functional ? flatLayers(c).slice(1) : [])])
    : [l];
}

export function layerPrecision(model: Functional): LayerPrecision[] {
  return flatLayers(model).map((l) => ({
    name: l.name,
    className: l.className,
    policy: l.dtypePolicy.name,
    computeDtype: l.computeDtype,
    variableDtype: l.variableDtype,
    params: l.countParams(),
  }));
}

interface ReportModel extends Functional {
  compiled: Compiled | null;
}

/** The model's precision picture; with a batch (x, y) it also measures one gradient computation. */
export function precisionReport(model: ReportModel, x?: Tensor | Tensor[], y?: Tensor): PrecisionReport {
  const opt = model.compiled?.optimizer;
  const lso = opt instanceof LossScaleOptimizer ? opt : null;
  const report: PrecisionReport = {
    policy: model.dtypePolicy.name,
    layers: layerPrecision(model),
    lossScale: lso ? lso.lossScale : null,
    skippedSteps: lso ? lso.skippedSteps : null,
    autoMixedPrecision: model.compiled?.autocast
      ? { dtype: model.compiled.autocast.dtype, castOps: { ...model.compiled.autocast.counts } }
      : null,
  };
  if (x === undefined || y === undefined) return report;
  if (!model.compiled)
    throw new Error(
      `precisionReport: model '${model.name}' must be compiled to measure a step (it needs the loss)`,
    );
  const loss = model.compiled.loss.fn;
  // a training-mode pass moves BatchNormalization statistics: put them back afterwards
  const frozen = model.nonTrainableWeights;
  const saved = frozen.map((v) => v.clone());
  ENGINE.resetPeak();
  const before = ENGINE.memory();
  const c = model.compiled;
  const { value, grads } = variableGrads(
    () =>
      tidy(() =>
        loss(
          y,
          forward(c, () => model.apply(x, { training: true }) as Tensor),
        ),
      ),
    model.trainableWeights,
  );
  const after = ENGINE.memory();
  const underflow = gradientUnderflow(Object.values(grads));
  dispose([value, ...Object.values(grads)]);
  frozen.forEach((v, i) => {
    v.assign(saved[i]);
  });
  dispose(saved);
  report.step = {
    peakBytes: after.peakBytes - before.numBytes,
    peakBytesAsFloat32: after.peakBytesAsFloat32 - before.numBytes,
    savedBytes: after.peakBytesAsFloat32 - after.peakBytes,
    underflow,
  };
  return report;
}

export interface PrecisionMonitorArgs {
  /** sample gradient underflow every this many steps (0: never) */
  sampleEvery?: number;
}

/** Records loss scale, skipped steps and sampled gradient underflow per training step. */
export class PrecisionMonitor extends Callback {
  readonly history = {
    step: [] as number[],
    lossScale: [] as number[],
    skipped: [] as boolean[],
    flushFraction: [] as (number | null)[],
  };
  private step = 0;
  private pending: UnderflowStats | null = null;
  private readonly sampleEvery: number;

  constructor(args: PrecisionMonitorArgs = {}) {
    super();
    this.sampleEvery = args.sampleEvery ?? 50;
    if (!Number.isInteger(this.sampleEvery) || this.sampleEvery < 0)
      throw new Error(`precisionMonitor: sampleEvery must be an integer >= 0, got ${args.sampleEvery}`);
  }

  private get optimizer() {
    return (
      this.model as unknown as {
        optimizer?: { gradientObserver: ((g: Tensor[], scale: number) => void) | null };
      }
    ).optimizer;
  }

  override onTrainBegin(): void {
    const opt = this.optimizer;
    if (!opt) return;
    opt.gradientObserver = (grads, scale) => {
      if (this.sampleEvery > 0 && this.step % this.sampleEvery === 0)
        this.pending = gradientUnderflow(grads, SAMPLE_PER_TENSOR, scale);
    };
  }

  override onBatchEnd(): void {
    const opt = this.optimizer as unknown;
    const lso = opt instanceof LossScaleOptimizer ? opt : null;
    this.history.step.push(this.step);
    this.history.lossScale.push(lso ? lso.lossScale : 1);
    this.history.skipped.push(lso ? lso.lastStepSkipped : false);
    this.history.flushFraction.push(this.pending ? this.pending.flushFraction : null);
    this.pending = null;
    this.step++;
  }

  override onTrainEnd(): void {
    const opt = this.optimizer;
    if (opt) opt.gradientObserver = null;
  }

  get skippedSteps(): number {
    return this.history.skipped.filter(Boolean).length;
  }
}
