// Learning-rate schedules with Keras 3's formulas (keras.optimizers.schedules), evaluated in float64
// at the optimizer's step count (`optimizer.iterations`, the number of updates applied so far).

export type ScheduleConfig = Record<string, unknown>;

/**
 * A learning rate as a function of the step. Pass one wherever an optimizer takes a learning rate.
 * Subclass it for a custom schedule: implement `call(step)` (and `getConfig()` to make it serializable).
 */
export abstract class LearningRateSchedule {
  static readonly className: string = 'LearningRateSchedule';

  /** The learning rate to use for the update whose 0-based index is `step`. */
  abstract call(step: number): number;

  getConfig(): ScheduleConfig {
    return {};
  }

  getClassName(): string {
    const ctor = this.constructor as { className?: string; name: string };
    return ctor.className && ctor.className !== 'LearningRateSchedule' ? ctor.className : ctor.name;
  }
}

/** True for schedule objects (instances, or anything with a `call(step)` method). */
export function isLearningRateSchedule(x: unknown): x is LearningRateSchedule {
  return (
    x instanceof LearningRateSchedule ||
    (typeof x === 'object' && x !== null && typeof (x as { call?: unknown }).call === 'function')
  );
}

function fail(who: string, msg: string): never {
  throw new Error(`${who}: ${msg}`);
}

function finite(who: string, name: string, x: unknown): number {
  if (typeof x !== 'number' || !Number.isFinite(x))
    fail(who, `${name} must be a finite number, got ${String(x)}`);
  return x;
}

function positive(who: string, name: string, x: unknown): number {
  const v = finite(who, name, x);
  if (!(v > 0)) fail(who, `${name} must be > 0, got ${v}`);
  return v;
}

function nonNegative(who: string, name: string, x: unknown): number {
  const v = finite(who, name, x);
  if (!(v >= 0)) fail(who, `${name} must be >= 0, got ${v}`);
  return v;
}

export interface ExponentialDecayArgs {
  initialLearningRate: number;
  decaySteps: number;
  decayRate: number;
  staircase?: boolean;
  name?: string;
}

/** `initialLearningRate * decayRate ^ (step / decaySteps)`; with `staircase`, the exponent is floored. */
export class ExponentialDecay extends LearningRateSchedule {
  static override readonly className = 'ExponentialDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly decayRate: number;
  readonly staircase: boolean;
  readonly name: string;

  constructor(args: ExponentialDecayArgs) {
    super();
    const who = 'schedules.exponentialDecay';
    this.initialLearningRate = nonNegative(who, 'initialLearningRate', args.initialLearningRate);
    this.decaySteps = positive(who, 'decaySteps', args.decaySteps);
    this.decayRate = nonNegative(who, 'decayRate', args.decayRate);
    this.staircase = args.staircase ?? false;
    this.name = args.name ?? 'ExponentialDecay';
  }

  call(step: number): number {
    let p = step / this.decaySteps;
    if (this.staircase) p = Math.floor(p);
    return this.initialLearningRate * this.decayRate ** p;
  }

  override getConfig(): ScheduleConfig {
    const { initialLearningRate, decaySteps, decayRate, staircase, name } = this;
    return { initialLearningRate, decaySteps, decayRate, staircase, name };
  }
}

export interface PiecewiseConstantDecayArgs {
  boundaries: number[];
  values: number[];
  name?: string;
}

/** `values[0]` while step <= boundaries[0], `values[i]` for boundaries[i-1] < step <= boundaries[i], then the last value. */
export class PiecewiseConstantDecay extends LearningRateSchedule {
  static override readonly className = 'PiecewiseConstantDecay';
  readonly boundaries: number[];
  readonly values: number[];
  readonly name: string;

  constructor(args: PiecewiseConstantDecayArgs) {
    super();
    const who = 'schedules.piecewiseConstantDecay';
    const { boundaries, values } = args;
    if (!Array.isArray(boundaries) || !Array.isArray(values))
      fail(who, 'boundaries and values must be arrays of numbers');
    if (boundaries.length !== values.length - 1)
      fail(
        who,
        `values must have one more element than boundaries; got ${boundaries.length} boundaries [${boundaries}] and ${values.length} values [${values}]`,
      );
    boundaries.forEach((b, i) => {
      finite(who, `boundaries[${i}]`, b);
      if (i > 0 && !(b > boundaries[i - 1]))
        fail(who, `boundaries must be strictly increasing, got [${boundaries}]`);
    });
    values.forEach((v, i) => {
      nonNegative(who, `values[${i}]`, v);
    });
    this.boundaries = boundaries.slice();
    this.values = values.slice();
    this.name = args.name ?? 'PiecewiseConstant';
  }

  call(step: number): number {
    for (let i = 0; i < this.boundaries.length; i++) if (step <= this.boundaries[i]) return this.values[i];
    return this.values[this.values.length - 1];
  }

  override getConfig(): ScheduleConfig {
    return { boundaries: this.boundaries.slice(), values: this.values.slice(), name: this.name };
  }
}

export interface CosineDecayArgs {
  initialLearningRate: number;
  decaySteps: number;
  /** the final rate as a fraction of the decay's starting rate (default 0) */
  alpha?: number;
  /** when given, the rate first rises linearly from initialLearningRate to warmupTarget over warmupSteps */
  warmupTarget?: number | null;
  warmupSteps?: number;
  name?: string;
}

/**
 * Keras' CosineDecay: an optional linear warmup from `initialLearningRate` to `warmupTarget` over
 * `warmupSteps`, then `start * ((1 - alpha) * 0.5 * (1 + cos(pi * min(s, decaySteps) / decaySteps)) + alpha)`
 * where `start` is warmupTarget (or initialLearningRate without warmup) and `s` counts steps after the warmup.
 */
export class CosineDecay extends LearningRateSchedule {
  static override readonly className = 'CosineDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly alpha: number;
  readonly warmupTarget: number | null;
  readonly warmupSteps: number;
  readonly name: string;

  constructor(args: CosineDecayArgs) {
    super();
    const who = 'schedules.cosineDecay';
    this.initialLearningRate = nonNegative(who, 'initialLearningRate', args.initialLearningRate);
    this.decaySteps = positive(who, 'decaySteps', args.decaySteps);
    this.alpha = nonNegative(who, 'alpha', args.alpha ?? 0);
    this.warmupTarget =
      args.warmupTarget == null ? null : nonNegative(who, 'warmupTarget', args.warmupTarget);
    this.warmupSteps = nonNegative(who, 'warmupSteps', args.warmupSteps ?? 0);
    this.name = args.name ?? 'CosineDecay';
  }

  private decay(step: number, from: number): number {
    const cosine = 0.5 * (1 + Math.cos(Math.PI * (step / this.decaySteps)));
    return from * ((1 - this.alpha) * cosine + this.alpha);
  }

  call(step: number): number {
    if (this.warmupTarget === null)
      return this.decay(Math.min(step, this.decaySteps), this.initialLearningRate);
    const s = Math.min(step, this.decaySteps + this.warmupSteps);
    if (s < this.warmupSteps)
      return (
        (this.warmupTarget - this.initialLearningRate) * (s / this.warmupSteps) + this.initialLearningRate
      );
    return this.decay(s - this.warmupSteps, this.warmupTarget);
  }

  override getConfig(): ScheduleConfig {
    const { initialLearningRate, decaySteps, alpha, warmupTarget, warmupSteps, name } = this;
    return { initialLearningRate, decaySteps, alpha, warmupTarget, warmupSteps, name };
  }
}

/** `{ className, config }`, the form optimizer configs use for a schedule learning rate. */
export function serializeSchedule(s: LearningRateSchedule): { className: string; config: ScheduleConfig } {
  const className = typeof s.getClassName === 'function' ? s.getClassName() : s.constructor.name;
  return { className, config: typeof s.getConfig === 'function' ? s.getConfig() : {} };
}

/** Rebuilds a built-in schedule from `serializeSchedule`'s output. */
export function deserializeSchedule(s: { className: string; config: ScheduleConfig }): LearningRateSchedule {
  const c = s.config as never;
  switch (s.className) {
    case 'ExponentialDecay':
      return new ExponentialDecay(c);
    case 'PiecewiseConstantDecay':
      return new PiecewiseConstantDecay(c);
    case 'CosineDecay':
      return new CosineDecay(c);
    default:
      throw new Error(
        `schedules: unknown learning-rate schedule class '${s.className}'; built in: ExponentialDecay, PiecewiseConstantDecay, CosineDecay`,
      );
  }
}

/** `train.schedules.*` factories (Keras' keras.optimizers.schedules, camelCase). */
export const schedules = {
  exponentialDecay: (args: ExponentialDecayArgs) => new ExponentialDecay(args),
  piecewiseConstantDecay: (args: PiecewiseConstantDecayArgs) => new PiecewiseConstantDecay(args),
  cosineDecay: (args: CosineDecayArgs) => new CosineDecay(args),
  LearningRateSchedule,
  ExponentialDecay,
  PiecewiseConstantDecay,
  CosineDecay,
};
