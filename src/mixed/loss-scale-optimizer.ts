// LossScaleOptimizer (Keras / tf.keras 2 semantics): scales the loss so small float16 gradients do
// not flush to zero, unscales the gradients, skips any step with a non-finite gradient (variables
// and slots untouched) and adapts the scale: x2 after `dynamicGrowthSteps` finite steps in a row,
// /2 on a skipped step. Clipping happens in the inner optimizer, on unscaled gradients.
import { variableGrads } from '../autograd/grad.js';
import {
  type GradientsInput,
  type LearningRate,
  type NamedGradients,
  type NamedTensor,
  Optimizer,
  type OptimizerConfig,
} from '../nn/optimizers/optimizer.js';
import { ENGINE } from '../tensor/engine.js';
import { dispose, tidy } from '../tensor/lifetime.js';
import { scalar } from '../tensor/ops/creation.js';
import { add, cast, mul } from '../tensor/ops/elementwise.js';
import { sum } from '../tensor/ops/reduction.js';
import type { Tensor, Variable } from '../tensor/tensor.js';

export interface LossScaleOptions {
  /** adapt the scale (true) or keep `initialScale` fixed */
  dynamic?: boolean;
  initialScale?: number;
  dynamicGrowthSteps?: number;
  /** a floor for the dynamic scale; without one, a scale below 1 is reported as an error */
  minScale?: number;
}

function positive(who: string, name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new Error(`${who}: ${name} must be a finite number > 0, got ${v}`);
  return v;
}

export class LossScaleOptimizer extends Optimizer {
  static override readonly className = 'LossScaleOptimizer';
  readonly innerOptimizer: Optimizer;
  readonly dynamic: boolean;
  readonly dynamicGrowthSteps: number;
  readonly initialScale: number;
  readonly minScale: number | undefined;
  private scale: number;
  private counter = 0;
  /** steps skipped because a gradient was not finite, since construction */
  skippedSteps = 0;
  /** whether the last applyGradients call was skipped */
  lastStepSkipped = false;
  private consecutiveSkips = 0;

  constructor(inner: Optimizer, options: LossScaleOptions = {}) {
    super(1);
    const who = 'mixedPrecision.LossScaleOptimizer';
    if (!(inner instanceof Optimizer))
      throw new Error(`${who}: the inner optimizer must be an Optimizer, got ${String(inner)}`);
    if (inner instanceof LossScaleOptimizer)
      throw new Error(`${who}: the inner optimizer is already a LossScaleOptimizer`);
    this.innerOptimizer = inner;
    this.dynamic = options.dynamic ?? true;
    this.initialScale = positive(who, 'initialScale', options.initialScale ?? 2 ** 15);
    const growth = options.dynamicGrowthSteps ?? 2000;
    if (!Number.isInteger(growth) || growth < 1)
      throw new Error(`${who}: dynamicGrowthSteps must be a positive integer, got ${growth}`);
    this.dynamicGrowthSteps = growth;
    this.minScale = options.minScale === undefined ? undefined : positive(who, 'minScale', options.minScale);
    this.scale = this.initialScale;
  }

  protected override get who(): string {
    return 'mixedPrecision.LossScaleOptimizer';
  }

  /** The current loss scale. */
  get lossScale(): number {
    return this.scale;
  }

  /** Finite steps in a row since the scale last changed. */
  get dynamicCounter(): number {
    return this.counter;
  }

  override get iterations(): number {
    return this.innerOptimizer?.iterations ?? 0;
  }
  override set iterations(n: number) {
    if (this.innerOptimizer) this.innerOptimizer.iterations = n;
  }

  override get learningRate(): number {
    return this.innerOptimizer ? this.innerOptimizer.learningRate : 1;
  }
  override set learningRate(v: number) {
    if (this.innerOptimizer) this.innerOptimizer.learningRate = v;
  }

  override setLearningRate(lr: LearningRate): void {
    this.innerOptimizer.setLearningRate(lr);
  }

  /** loss × scale, in float32. */
  getScaledLoss(loss: Tensor): Tensor {
    return mul(loss.dtype === 'float32' ? loss : cast(loss, 'float32'), this.scale);
  }

  /** Each gradient × 1/scale, in float32 (the dtype of the master weights). */
  getUnscaledGradients(grads: NamedGradients): NamedGradients;
  getUnscaledGradients(grads: Tensor[]): Tensor[];
  getUnscaledGradients(grads: NamedGradients | Tensor[]): NamedGradients | Tensor[] {
    const inv = 1 / this.scale;
    const one = (g: Tensor) => mul(g.dtype === 'float32' ? g : cast(g, 'float32'), inv);
    if (Array.isArray(grads)) return grads.map(one);
    return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, one(g)]));
  }

  /**
   * Applies unscaled gradients unless one of them holds Inf/NaN: then the step is skipped (nothing
   * changes but the scale) and a dynamic scale halves; otherwise it may double.
   */
  override applyGradients(grads: GradientsInput, gradScale = 1): void {
    const list = Array.isArray(grads) ? grads.map((g) => g.tensor) : Object.values(grads);
    this.gradientObserver?.(list, gradScale);
    // scaling by a finite factor keeps finite values finite: the check can run on scaled gradients
    const finite = allFinite(list);
    this.lastStepSkipped = !finite;
    if (finite) {
      this.innerOptimizer.applyGradients(grads, gradScale);
      this.consecutiveSkips = 0;
      if (this.dynamic && ++this.counter >= this.dynamicGrowthSteps) {
        this.scale *= 2;
        this.counter = 0;
      }
      return;
    }
    this.skippedSteps++;
    this.consecutiveSkips++;
    if (!this.dynamic) return;
    this.counter = 0;
    this.scale /= 2;
    if (this.minScale !== undefined) this.scale = Math.max(this.scale, this.minScale);
    else if (this.scale < 1) {
      throw new Error(
        `${this.who}: the loss scale fell below 1 after ${this.consecutiveSkips} skipped steps in a row: the gradients are ` +
          'not finite even unscaled, so the forward pass itself probably produces Inf/NaN (float16 overflow above 65504, ' +
          'a bad input or a too-large learning rate). Keep softmax/normalisation/loss in float32, check the data, or pass ' +
          'minScale to floor the scale.',
      );
    }
  }

  /**
   * Scales f's loss, differentiates, then applies the gradients with a 1/scale factor (or skips the
   * step); returns the unscaled loss. The inner optimizer unscales each gradient as it uses it, so no
   * second, unscaled copy of all gradients is ever made.
   */
  override minimize(f: () => Tensor, returnCost = false, varList?: Variable[]): Tensor | null {
    let loss: Tensor | null = null;
    const { value, grads } = variableGrads(() => {
      const l = f();
      loss = ENGINE.keep(l.dtype === 'float32' ? l : cast(l, 'float32'));
      return this.getScaledLoss(l);
    }, varList);
    value.dispose();
    try {
      this.applyGradients(grads, 1 / this.scale);
    } finally {
      dispose(Object.values(grads));
    }
    const out = loss as unknown as Tensor;
    out.kept = false;
    if (returnCost) return out;
    out.dispose();
    return null;
  }

  protected updateVariable(): Tensor {
    throw new Error(`${this.who}: updates are delegated to the inner optimizer`);
  }

  /** The inner optimizer's state, then the loss scale and the dynamic counter. */
  override async getWeights(): Promise<NamedTensor[]> {
    const inner = await this.innerOptimizer.getWeights();
    return [
      ...inner,
      { name: 'loss_scale', tensor: scalar(this.scale) },
      { name: 'dynamic_counter', tensor: scalar(this.counter, 'int32') },
    ];
  }

  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const find = (n: string) => weights.find((w) => w.name === n);
    const s = find('loss_scale');
    const c = find('dynamic_counter');
    if (!s || !c)
      throw new Error(
        `${this.who}.setWeights: the checkpoint has no 'loss_scale' and 'dynamic_counter' entries (was it saved from a LossScaleOptimizer?)`,
      );
    const scaleValue = s.tensor.dataSync()[0];
    const counterValue = c.tensor.dataSync()[0];
    positive(`${this.who}.setWeights`, 'loss_scale', scaleValue);
    await this.innerOptimizer.setWeights(weights.filter((w) => w !== s && w !== c));
    this.scale = scaleValue;
    this.counter = counterValue;
  }

  override getConfig(): OptimizerConfig {
    return {
      innerOptimizer: {
        className: this.innerOptimizer.getClassName(),
        config: this.innerOptimizer.getConfig(),
      },
      dynamic: this.dynamic,
      initialScale: this.initialScale,
      dynamicGrowthSteps: this.dynamicGrowthSteps,
      ...(this.minScale !== undefined ? { minScale: this.minScale } : {}),
    };
  }

  override dispose(): void {
    this.innerOptimizer.dispose();
  }
}

/** One reduction per gradient: Σ g·0 is NaN exactly when g holds Inf or NaN. */
function allFinite(grads: Tensor[]): boolean {
  if (grads.length === 0) return true;
  const probe = ENGINE.noGrad(() =>
    tidy(() => {
      // one gradient's full-size temporary at a time; only the scalar sums accumulate
      let acc = tidy(() => sum(mul(grads[0].dtype === 'float32' ? grads[0] : cast(grads[0], 'float32'), 0)));
      for (let i = 1; i < grads.length; i++) {
        const g = grads[i];
        acc = add(
          acc,
          tidy(() => sum(mul(g.dtype === 'float32' ? g : cast(g, 'float32'), 0))),
        );
      }
      return acc;
    }),
  );
  const v = probe.dataSync()[0];
  probe.dispose();
  return Number.isFinite(v);
}
