// The Optimizer base class: tfjs' API (minimize, computeGradients, applyGradients, iterations,
// getWeights/setWeights, getConfig) with Keras' gradient clipping, decoupled weight decay and
// learning-rate schedules. All update maths runs in float32 without a tape; per-variable state
// ("slots") is created lazily, keyed by the model variable's name.

import { variableGrads } from '../../autograd/grad.js';
import { type DType, isFloatDType } from '../../dtype.js';
import { jit } from '../../jit/jit.js';
import { ENGINE, sameShape } from '../../tensor/engine.js';
import { dispose, tidy } from '../../tensor/lifetime.js';
import { scalar, variable, zeros } from '../../tensor/ops/creation.js';
import {
  add,
  cast,
  clipByValue,
  div,
  maximum,
  mul,
  sqrt,
  square,
  sub,
} from '../../tensor/ops/elementwise.js';
import { sum } from '../../tensor/ops/reduction.js';
import { Tensor, type Variable } from '../../tensor/tensor.js';
import {
  deserializeSchedule,
  isLearningRateSchedule,
  type LearningRateSchedule,
  serializeSchedule,
} from './schedules.js';

/** A tensor with a name, as tfjs' `NamedTensor`. */
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

/** Gradients keyed by variable name (what `variableGrads` returns). */
export type NamedGradients = Record<string, Tensor>;

/** Variables of at least this many elements are updated by one fused kernel (see fusedUpdate). */
const FUSED_UPDATE_MIN = 16384;

/** What `applyGradients` accepts: a name -> gradient map, or tfjs' `[{ name, tensor }]` list. */
export type GradientsInput = NamedGradients | NamedTensor[];

/** A constant learning rate or a schedule evaluated at `optimizer.iterations`. */
export type LearningRate = number | LearningRateSchedule;

/** Keras' optional optimizer arguments, the trailing argument of every `train.*` factory. */
export interface OptimizerOptions {
  /** clip each gradient so that its own L2 norm is at most this */
  clipNorm?: number | null;
  /** clip each gradient element to [-clipValue, clipValue] */
  clipValue?: number | null;
  /** scale all gradients together so that their global L2 norm is at most this */
  globalClipNorm?: number | null;
  /** decoupled weight decay (Keras): `v -= lr * weightDecay * v` before each update */
  weightDecay?: number | null;
}

export type OptimizerConfig = Record<string, unknown>;

type ClipKey = 'clipNorm' | 'clipValue' | 'globalClipNorm';
const CLIP_KEYS: readonly ClipKey[] = ['clipNorm', 'clipValue', 'globalClipNorm'];

let nextOptimizerId = 0;

/** Throws `who: msg`. */
export function optimizerError(who: string, msg: string): never {
  throw new Error(`${who}: ${msg}`);
}

/** A finite number within [lo, hi] (bounds inclusive unless `open` says otherwise). */
export function checkRange(
  who: string,
  name: string,
  x: unknown,
  lo: number,
  hi: number,
  open: { lo?: boolean; hi?: boolean } = {},
): number {
  const ok =
    typeof x === 'number' &&
    Number.isFinite(x) &&
    (open.lo ? x > lo : x >= lo) &&
    (open.hi ? x < hi : x <= hi);
  if (!ok) {
    const range = `${open.lo ? '(' : '['}${lo}, ${hi === Number.POSITIVE_INFINITY ? 'inf' : hi}${open.hi || hi === Number.POSITIVE_INFINITY ? ')' : ']'}`;
    optimizerError(
      who,
      `${name} must be a finite number in ${range}, got ${typeof x === 'number' ? x : String(x)}`,
    );
  }
  return x as number;
}

function checkLearningRate(who: string, lr: unknown): LearningRate {
  if (isLearningRateSchedule(lr)) return lr;
  return checkRange(who, 'learningRate', lr, 0, Number.POSITIVE_INFINITY);
}

function optionalPositive(who: string, name: string, x: number | null | undefined): number | undefined {
  if (x === undefined || x === null) return undefined;
  return checkRange(who, name, x, 0, Number.POSITIVE_INFINITY, { lo: true });
}

export abstract class Optimizer {
  /**
   * Runs a variable's update under the JIT (inside an already traced step it simply joins that
   * trace): its ops become one fused kernel that streams the variable and its slots once.
   */
  private readonly fusedUpdate = jit((update: () => void) => update(), { maxCached: 256 });

  /** tfjs' serialization name (`getClassName()`). */
  static readonly className: string = 'Optimizer';

  private iter = 0;

  /** Called with each step's gradients and the factor that unscales them, before the update (diagnostics). */
  gradientObserver: ((grads: Tensor[], scale: number) => void) | null = null;

  private lr: LearningRate;
  private clip: Partial<Record<ClipKey, number>> = {};
  private wd: number | undefined;
  private wdExclude: string[] = [];
  /** model variable name -> slot name -> slot variable, in creation order */
  private slots = new Map<string, Map<string, Variable>>();
  /** prefix that makes this optimizer's slot variable names unique in the engine */
  private readonly slotPrefix: string;

  constructor(learningRate: LearningRate, options: OptimizerOptions = {}) {
    const who = this.who;
    this.lr = checkLearningRate(who, learningRate);
    if (typeof options !== 'object' || options === null)
      optimizerError(who, `options must be an object, got ${String(options)}`);
    const set = CLIP_KEYS.filter((k) => options[k] !== undefined && options[k] !== null);
    if (set.length > 1)
      optimizerError(
        who,
        `only one of clipNorm, clipValue and globalClipNorm can be set, got ${set.join(' and ')}`,
      );
    for (const k of set) this.clip[k] = optionalPositive(who, k, options[k]);
    this.weightDecay = options.weightDecay;
    this.slotPrefix = `${this.getClassName().toLowerCase()}_${nextOptimizerId++}`;
  }

  /** Name used in error messages, e.g. 'train.adam'. */
  protected get who(): string {
    return `train.${this.getClassName().toLowerCase()}`;
  }

  getClassName(): string {
    return (this.constructor as typeof Optimizer).className;
  }

  /**
   * Number of updates applied so far; schedules are evaluated at this step. An accessor, so that a
   * wrapper (a LossScaleOptimizer) can delegate it to its inner optimizer.
   */
  get iterations(): number {
    return this.iter;
  }
  set iterations(n: number) {
    if (!Number.isInteger(n) || n < 0)
      optimizerError(this.who, `iterations must be an integer >= 0, got ${n}`);
    this.iter = n;
  }

  // ---- hyperparameters ------------------------------------------------------------------

  /** The learning rate of the next update (a schedule is evaluated at `iterations`). */
  get learningRate(): number {
    if (typeof this.lr === 'number') return this.lr;
    const v = this.lr.call(this.iterations);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      optimizerError(
        this.who,
        `the learning-rate schedule returned ${String(v)} at step ${this.iterations}; expected a finite number >= 0`,
      );
    return v;
  }

  /** Sets a constant learning rate (e.g. from a learningRateScheduler callback between epochs). */
  set learningRate(value: number) {
    if (typeof this.lr !== 'number')
      optimizerError(
        this.who,
        'this optimizer was created with a learning-rate schedule, so its learning rate is not settable; use setLearningRate(schedule) to replace the schedule',
      );
    this.lr = checkRange(this.who, 'learningRate', value, 0, Number.POSITIVE_INFINITY);
  }

  /** Replaces the learning rate, a number or a schedule (tfjs' SGDOptimizer.setLearningRate). */
  setLearningRate(learningRate: LearningRate): void {
    this.lr = checkLearningRate(this.who, learningRate);
  }

  /** The schedule given as learning rate, or null for a constant rate. */
  get learningRateSchedule(): LearningRateSchedule | null {
    return typeof this.lr === 'number' ? null : this.lr;
  }

  get clipNorm(): number | undefined {
    return this.clip.clipNorm;
  }
  set clipNorm(v: number | null | undefined) {
    this.setClip('clipNorm', v);
  }
  get clipValue(): number | undefined {
    return this.clip.clipValue;
  }
  set clipValue(v: number | null | undefined) {
    this.setClip('clipValue', v);
  }
  get globalClipNorm(): number | undefined {
    return this.clip.globalClipNorm;
  }
  set globalClipNorm(v: number | null | undefined) {
    this.setClip('globalClipNorm', v);
  }

  private setClip(key: ClipKey, v: number | null | undefined): void {
    const value = optionalPositive(this.who, key, v);
    if (value !== undefined) {
      const other = CLIP_KEYS.find((k) => k !== key && this.clip[k] !== undefined);
      if (other)
        optimizerError(
          this.who,
          `only one of clipNorm, clipValue and globalClipNorm can be set; ${other} is ${this.clip[other]}, clear it first`,
        );
    }
    if (value === undefined) delete this.clip[key];
    else this.clip[key] = value;
  }

  /** Decoupled weight decay (Keras): each update first does `v -= lr * weightDecay * v`. */
  get weightDecay(): number | undefined {
    return this.wd;
  }
  set weightDecay(v: number | null | undefined) {
    this.wd =
      v === undefined || v === null
        ? undefined
        : checkRange(this.who, 'weightDecay', v, 0, Number.POSITIVE_INFINITY);
  }

  /** Keras' exclude_from_weight_decay: variables whose name contains any of `varNames` are not decayed. */
  excludeFromWeightDecay(varNames: string[]): void {
    if (!Array.isArray(varNames) || varNames.some((n) => typeof n !== 'string' || n === ''))
      optimizerError(this.who, 'excludeFromWeightDecay: varNames must be an array of non-empty strings');
    this.wdExclude = varNames.slice();
  }

  private decays(name: string): boolean {
    return this.wd !== undefined && this.wd > 0 && !this.wdExclude.some((s) => name.includes(s));
  }

  // ---- training ---------------------------------------------------------------------------

  /** tfjs' computeGradients: f's value and its gradients w.r.t. varList (default: all trainable variables). */
  computeGradients(f: () => Tensor, varList?: Variable[]): { value: Tensor; grads: NamedGradients } {
    return variableGrads(f, varList);
  }

  /** Computes f's gradients w.r.t. varList (default: all trainable variables) and applies them. */
  minimize(f: () => Tensor, returnCost = false, varList?: Variable[]): Tensor | null {
    const { value, grads } = this.computeGradients(f, varList);
    try {
      this.applyGradients(grads);
    } catch (e) {
      value.dispose();
      throw e;
    } finally {
      dispose(grads);
    }
    if (returnCost) return value;
    value.dispose();
    return null;
  }

  /**
   * Applies one update from gradients keyed by variable name (or tfjs' `[{ name, tensor }]`): the
   * gradients are cast to float32, multiplied by `gradScale` (a LossScaleOptimizer passes 1/scale),
   * clipped, then each variable is decayed and updated; `iterations` then grows by one. Gradients are
   * prepared one variable at a time, so no second full set of gradients ever exists. The caller
   * keeps ownership of the gradient tensors.
   */
  applyGradients(grads: GradientsInput, gradScale = 1): void {
    const pairs = this.resolve(grads);
    this.gradientObserver?.(
      pairs.map(([, g]) => g),
      gradScale,
    );
    const lr = this.learningRate;
    ENGINE.noGrad(() =>
      tidy(() => {
        const prepare = (g: Tensor) => {
          const g32 = g.dtype === 'float32' ? g : cast(g, 'float32');
          return gradScale === 1 ? g32 : mul(g32, gradScale);
        };
        const globalFactor = this.globalClipFactor(
          pairs.map(([, g]) => g),
          prepare,
        );
        pairs.forEach(([v, g]) => {
          const slots = this.slotsFor(v);
          const update = () => {
            const g32 = this.clipOne(prepare(g), globalFactor);
            let value = v.dtype === 'float32' ? (v as Tensor) : cast(v, 'float32');
            if (this.decays(v.name)) value = sub(value, mul(mul(value, this.wd!), lr));
            const next = this.updateVariable(value, g32, lr, slots, v.name);
            v.assign(v.dtype === 'float32' ? next : cast(next, v.dtype));
          };
          // one variable's temporaries at a time: the update's peak is one layer's, not the model's;
          // a large variable's update runs fused (one pass over its state instead of one per op)
          tidy(() => (v.size >= FUSED_UPDATE_MIN ? this.fusedUpdate(update) : update()));
        });
      }),
    );
    this.iterations++;
  }

  /**
   * One variable's update rule in float32: returns the variable's new value. `value` is the
   * (decayed) float32 value, `grad` the clipped float32 gradient, `slots` this variable's state
   * (assign to them). Runs inside tidy with recording off.
   */
  protected abstract updateVariable(
    value: Tensor,
    grad: Tensor,
    lr: number,
    slots: Record<string, Variable>,
    name: string,
  ): Tensor;

  /** Names of the per-variable state this optimizer keeps, in checkpoint order (e.g. ['m', 'v']). */
  protected slotNames(): readonly string[] {
    return [];
  }

  /** Validates every gradient before anything is updated; returns [variable, gradient] pairs. */
  private resolve(grads: GradientsInput): [Variable, Tensor][] {
    const who = `${this.who}.applyGradients`;
    let entries: [string, unknown][];
    if (Array.isArray(grads)) {
      entries = grads.map((e, i) => {
        if (!e || typeof e !== 'object' || typeof e.name !== 'string')
          optimizerError(who, `entry ${i} must be { name: string, tensor: Tensor }`);
        return [e.name, e.tensor];
      });
    } else if (grads && typeof grads === 'object') {
      entries = Object.entries(grads);
    } else {
      optimizerError(
        who,
        `expected gradients keyed by variable name or an array of { name, tensor }, got ${String(grads)}`,
      );
    }
    const byName = new Map(ENGINE.trainableVariables().map((v) => [v.name, v]));
    const seen = new Set<string>();
    const out: [Variable, Tensor][] = [];
    for (const [name, g] of entries) {
      if (g === null || g === undefined) continue; // no gradient for this variable (tfjs skips it)
      if (!(g instanceof Tensor)) optimizerError(who, `the gradient for '${name}' is not a Tensor`);
      if (seen.has(name)) optimizerError(who, `two gradients given for variable '${name}'`);
      seen.add(name);
      const v = byName.get(name);
      if (!v) optimizerError(who, `no trainable variable named '${name}'`);
      if (g.isDisposed) optimizerError(who, `the gradient for '${name}' is disposed`);
      if (!sameShape(g.shape, v.shape))
        optimizerError(
          who,
          `the gradient for '${name}' has shape [${g.shape}], the variable has shape [${v.shape}]`,
        );
      if (!gradientDtypeOk(v.dtype, g.dtype))
        optimizerError(
          who,
          `the gradient for '${name}' is ${g.dtype}, the variable is ${v.dtype}` +
            (isFloatDType(v.dtype) ? '' : '; optimizers update float variables only'),
        );
      for (const [s, slot] of this.slots.get(name) ?? [])
        if (!sameShape(slot.shape, v.shape))
          optimizerError(
            who,
            `the optimizer's '${s}' state for '${name}' has shape [${slot.shape}], the variable has shape [${v.shape}] (state restored from another model?)`,
          );
      out.push([v, g]);
    }
    return out;
  }

  /** globalClipNorm's factor clip / max(norm, clip) over all gradients, or null without it. */
  private globalClipFactor(gs: Tensor[], prepare: (g: Tensor) => Tensor): Tensor | null {
    const { globalClipNorm } = this.clip;
    if (globalClipNorm === undefined || gs.length === 0) return null;
    // one scalar per gradient; each full-size temporary is freed at once
    let sq = tidy(() => sum(square(prepare(gs[0]))));
    for (let i = 1; i < gs.length; i++)
      sq = add(
        sq,
        tidy(() => sum(square(prepare(gs[i])))),
      );
    const norm = sqrt(sq);
    // `norm - norm` turns the factor into NaN when the norm is not finite (Keras)
    return add(div(globalClipNorm, maximum(norm, globalClipNorm)), sub(norm, norm));
  }

  /** One (float32, unscaled) gradient clipped by clipNorm, the global factor, or clipValue. */
  private clipOne(g: Tensor, globalFactor: Tensor | null): Tensor {
    const { clipNorm, clipValue } = this.clip;
    if (clipNorm !== undefined) return div(mul(g, clipNorm), maximum(sqrt(sum(square(g))), clipNorm));
    if (globalFactor) return mul(g, globalFactor);
    if (clipValue !== undefined) return clipByValue(g, -clipValue, clipValue);
    return g;
  }

  /** This variable's slots, created (float32 zeros) on its first update. */
  private slotsFor(v: Variable): Record<string, Variable> {
    const names = this.slotNames();
    if (names.length === 0) return {};
    let m = this.slots.get(v.name);
    if (!m) {
      m = new Map();
      const z = zeros(v.shape.slice(), 'float32');
      for (const s of names) m.set(s, variable(z, false, this.slotVariableName(v.name, s)));
      this.slots.set(v.name, m);
    }
    const out: Record<string, Variable> = {};
    for (const s of names) out[s] = m.get(s)!;
    return out;
  }

  private slotVariableName(varName: string, slot: string): string {
    return `${this.slotPrefix}/${varName}/${slot}`;
  }

  // ---- state ------------------------------------------------------------------------------

  /**
   * The optimizer's state as tfjs orders it: `{ name: 'iter', tensor: int32 scalar }` first, then
   * one entry per slot variable named `${variableName}/${slot}`, grouped by slot (all 'm' then all
   * 'v' for Adam), variables in the order their slots were created. The tensors are snapshots the
   * caller owns (dispose them).
   */
  async getWeights(): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [{ name: 'iter', tensor: scalar(this.iterations, 'int32') }];
    for (const s of this.slotNames()) {
      for (const [varName, m] of this.slots) {
        const slot = m.get(s)!;
        out.push({ name: `${varName}/${s}`, tensor: ENGINE.noGrad(() => cast(slot, slot.dtype)) });
      }
    }
    return out;
  }

  /**
   * Restores `getWeights()`' output (any order of slot entries; 'iter' first): replaces all state,
   * so that the next updates continue exactly where the checkpointed optimizer stopped. The values
   * are copied; the caller keeps the tensors.
   */
  async setWeights(weights: NamedTensor[]): Promise<void> {
    const who = `${this.who}.setWeights`;
    if (!Array.isArray(weights) || weights.length === 0)
      optimizerError(who, 'expected a non-empty array of { name, tensor }');
    const [iter, ...rest] = weights;
    if (
      !iter ||
      (iter.name !== 'iter' && iter.name !== 'iterations') ||
      !(iter.tensor instanceof Tensor) ||
      iter.tensor.size !== 1
    )
      optimizerError(
        who,
        `the first entry must be the iteration count { name: 'iter', tensor: scalar }, got '${iter?.name}'`,
      );
    const slotNames = this.slotNames();
    const parsed = new Map<string, Map<string, Tensor>>();
    const trainable = new Map(ENGINE.trainableVariables().map((v) => [v.name, v]));
    for (const { name, tensor } of rest) {
      if (typeof name !== 'string' || !(tensor instanceof Tensor) || tensor.isDisposed)
        optimizerError(
          who,
          `entry '${String(name)}' must be { name: string, tensor: Tensor } with a live tensor`,
        );
      const s = slotNames.find((sn) => name.endsWith(`/${sn}`) && name.length > sn.length + 1);
      if (s === undefined)
        optimizerError(
          who,
          `'${name}' is not a state of this optimizer; expected '<variable name>/<slot>' with slot ${slotNames.length ? slotNames.map((x) => `'${x}'`).join(' or ') : '(none: this optimizer keeps no per-variable state)'}`,
        );
      const varName = name.slice(0, name.length - s.length - 1);
      if (!isFloatDType(tensor.dtype))
        optimizerError(who, `'${name}' is ${tensor.dtype}; optimizer state is float`);
      const v = trainable.get(varName);
      if (v && !sameShape(v.shape, tensor.shape))
        optimizerError(
          who,
          `'${name}' has shape [${tensor.shape}], the variable '${varName}' has shape [${v.shape}]`,
        );
      let m = parsed.get(varName);
      if (!m) {
        m = new Map();
        parsed.set(varName, m);
      }
      if (m.has(s)) optimizerError(who, `'${name}' is given twice`);
      const first = m.values().next().value;
      if (first && !sameShape(first.shape, tensor.shape))
        optimizerError(
          who,
          `'${name}' has shape [${tensor.shape}] but '${varName}/${[...m.keys()][0]}' has [${first.shape}]`,
        );
      m.set(s, tensor);
    }
    for (const [varName, m] of parsed) {
      const missing = slotNames.filter((s) => !m.has(s));
      if (missing.length) optimizerError(who, `no '${missing.join("', '")}' state for variable '${varName}'`);
    }
    const iterations = (await iter.tensor.data())[0];
    if (!Number.isInteger(iterations) || iterations < 0)
      optimizerError(who, `'iter' must be an integer >= 0, got ${iterations}`);
    this.disposeSlots();
    ENGINE.noGrad(() =>
      tidy(() => {
        for (const [varName, m] of parsed) {
          const vars = new Map<string, Variable>();
          for (const s of slotNames) {
            const t = m.get(s)!;
            vars.set(
              s,
              variable(
                t.dtype === 'float32' ? t : cast(t, 'float32'),
                false,
                this.slotVariableName(varName, s),
              ),
            );
          }
          this.slots.set(varName, vars);
        }
      }),
    );
    this.iterations = iterations;
  }

  /** Hyperparameters with tfjs' keys (plus the Keras options that are set); see `optimizerFromConfig`. */
  getConfig(): OptimizerConfig {
    const config: OptimizerConfig = {
      learningRate: typeof this.lr === 'number' ? this.lr : serializeSchedule(this.lr),
    };
    for (const k of CLIP_KEYS) if (this.clip[k] !== undefined) config[k] = this.clip[k];
    if (this.wd !== undefined) config.weightDecay = this.wd;
    return config;
  }

  private disposeSlots(): void {
    for (const m of this.slots.values()) for (const v of m.values()) v.dispose();
    this.slots.clear();
  }

  /** Frees the slot variables; the optimizer can keep training (slots restart from zero). */
  dispose(): void {
    this.disposeSlots();
  }
}

/** The Keras options (clipping, weight decay) found in a config, for the optimizers' fromConfig. */
export function optionsFromConfig(config: OptimizerConfig): OptimizerOptions {
  const o: OptimizerOptions = {};
  for (const k of [...CLIP_KEYS, 'weightDecay'] as const)
    if (typeof config[k] === 'number') o[k] = config[k] as number;
  return o;
}

/** A config's learning rate: a number, or a schedule's `{ className, config }`. */
export function learningRateFromConfig(x: unknown): LearningRate {
  if (typeof x === 'number') return x;
  if (x && typeof x === 'object' && typeof (x as { className?: unknown }).className === 'string')
    return deserializeSchedule(x as { className: string; config: Record<string, unknown> });
  return optimizerError(
    'optimizer config',
    `learningRate must be a number or a schedule's { className, config }, got ${String(x)}`,
  );
}

/** 16-bit gradients for float32 master weights are cast up; otherwise the dtypes must match. */
function gradientDtypeOk(v: DType, g: DType): boolean {
  if (!isFloatDType(v)) return false;
  return g === v || (v === 'float32' && (g === 'float16' || g === 'bfloat16'));
}
