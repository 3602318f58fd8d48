// Weight initializers with tfjs' names (initializers.glorotUniform({ seed }) ...) and Keras' maths.
// Layers accept an Initializer or its name ('glorotUniform' or Keras' 'glorot_uniform').
import type { DType } from '../dtype.js';
import { fill, randomNormal, randomUniform, truncatedNormal } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';

export abstract class Initializer {
  abstract readonly className: string;
  abstract apply(shape: number[], dtype?: DType): Tensor;
  getConfig(): Record<string, unknown> {
    return {};
  }
}

class Constant extends Initializer {
  readonly className: string = 'Constant';
  constructor(readonly value: number) {
    super();
  }
  apply(shape: number[], dtype: DType = 'float32') {
    return fill(shape, this.value, dtype);
  }
  override getConfig(): Record<string, unknown> {
    return { value: this.value };
  }
}

class Zeros extends Constant {
  override readonly className = 'Zeros';
  constructor() {
    super(0);
  }
  override getConfig() {
    return {};
  }
}

class Ones extends Constant {
  override readonly className = 'Ones';
  constructor() {
    super(1);
  }
  override getConfig() {
    return {};
  }
}

class RandomNormal extends Initializer {
  readonly className = 'RandomNormal';
  constructor(readonly args: { mean?: number; stddev?: number; seed?: number } = {}) {
    super();
  }
  apply(shape: number[], dtype: DType = 'float32') {
    return randomNormal(shape, this.args.mean ?? 0, this.args.stddev ?? 0.05, dtype, this.args.seed);
  }
  override getConfig() {
    return { mean: this.args.mean ?? 0, stddev: this.args.stddev ?? 0.05, seed: this.args.seed ?? null };
  }
}

class RandomUniform extends Initializer {
  readonly className = 'RandomUniform';
  constructor(readonly args: { minval?: number; maxval?: number; seed?: number } = {}) {
    super();
  }
  apply(shape: number[], dtype: DType = 'float32') {
    return randomUniform(shape, this.args.minval ?? -0.05, this.args.maxval ?? 0.05, dtype, this.args.seed);
  }
  override getConfig() {
    return {
      minval: this.args.minval ?? -0.05,
      maxval: this.args.maxval ?? 0.05,
      seed: this.args.seed ?? null,
    };
  }
}

export type FanMode = 'fanIn' | 'fanOut' | 'fanAvg';
export type Distribution = 'normal' | 'truncatedNormal' | 'uniform';

/** Fans of a weight shape: dense [in, out]; conv [kh, kw, in, out] (receptive field multiplies both). */
export function computeFans(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0], shape[0]];
  if (shape.length === 2) return [shape[0], shape[1]];
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
}

export class VarianceScaling extends Initializer {
  readonly className: string = 'VarianceScaling';
  readonly scale: number;
  readonly mode: FanMode;
  readonly distribution: Distribution;
  readonly seed?: number;
  constructor(args: { scale?: number; mode?: FanMode; distribution?: Distribution; seed?: number } = {}) {
    super();
    this.scale = args.scale ?? 1;
    this.mode = args.mode ?? 'fanIn';
    this.distribution = args.distribution ?? 'normal';
    this.seed = args.seed;
    if (!(this.scale > 0)) throw new Error(`VarianceScaling: scale must be > 0, got ${this.scale}`);
  }
  apply(shape: number[], dtype: DType = 'float32') {
    const [fanIn, fanOut] = computeFans(shape);
    const n = this.mode === 'fanIn' ? fanIn : this.mode === 'fanOut' ? fanOut : (fanIn + fanOut) / 2;
    const variance = this.scale / Math.max(1, n);
    if (this.distribution === 'uniform') {
      const limit = Math.sqrt(3 * variance);
      return randomUniform(shape, -limit, limit, dtype, this.seed);
    }
    if (this.distribution === 'truncatedNormal') {
      // 0.8796... is the stddev of a unit normal truncated at two standard deviations
      return truncatedNormal(shape, 0, Math.sqrt(variance) / 0.8796256610342398, dtype, this.seed);
    }
    return randomNormal(shape, 0, Math.sqrt(variance), dtype, this.seed);
  }
  override getConfig(): Record<string, unknown> {
    return { scale: this.scale, mode: this.mode, distribution: this.distribution, seed: this.seed ?? null };
  }
}

function preset(className: string, scale: number, mode: FanMode, distribution: Distribution) {
  return class extends VarianceScaling {
    override readonly className = className;
    constructor(args: { seed?: number } = {}) {
      super({ scale, mode, distribution, seed: args.seed });
    }
    override getConfig() {
      return { seed: this.seed ?? null };
    }
  };
}

const GlorotUniform = preset('GlorotUniform', 1, 'fanAvg', 'uniform');
const GlorotNormal = preset('GlorotNormal', 1, 'fanAvg', 'truncatedNormal');
const HeNormal = preset('HeNormal', 2, 'fanIn', 'truncatedNormal');
const HeUniform = preset('HeUniform', 2, 'fanIn', 'uniform');
const LeCunNormal = preset('LeCunNormal', 1, 'fanIn', 'truncatedNormal');
const LeCunUniform = preset('LeCunUniform', 1, 'fanIn', 'uniform');

/** initializers.*: tfjs' factory functions. */
export const initializers = {
  zeros: () => new Zeros(),
  ones: () => new Ones(),
  constant: (args: { value: number }) => new Constant(args.value),
  randomNormal: (args?: { mean?: number; stddev?: number; seed?: number }) => new RandomNormal(args),
  randomUniform: (args?: { minval?: number; maxval?: number; seed?: number }) => new RandomUniform(args),
  varianceScaling: (args?: { scale?: number; mode?: FanMode; distribution?: Distribution; seed?: number }) =>
    new VarianceScaling(args),
  glorotUniform: (args?: { seed?: number }) => new GlorotUniform(args),
  glorotNormal: (args?: { seed?: number }) => new GlorotNormal(args),
  heNormal: (args?: { seed?: number }) => new HeNormal(args),
  heUniform: (args?: { seed?: number }) => new HeUniform(args),
  leCunNormal: (args?: { seed?: number }) => new LeCunNormal(args),
  leCunUniform: (args?: { seed?: number }) => new LeCunUniform(args),
};

export type InitializerIdentifier = keyof typeof initializers | string;

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** An Initializer from an instance or a name ('heNormal', 'he_normal', 'HeNormal'); seeds pass through. */
export function getInitializer(
  id: Initializer | InitializerIdentifier,
  where: string,
  config: Record<string, unknown> = {},
): Initializer {
  if (id instanceof Initializer) return id;
  let key = camel(id);
  key = key[0].toLowerCase() + key.slice(1);
  if (key === 'leCunNormal' || key === 'lecunNormal') key = 'leCunNormal';
  if (key === 'lecunUniform') key = 'leCunUniform';
  const make = (initializers as unknown as Record<string, (a: unknown) => Initializer>)[key];
  if (!make)
    throw new Error(
      `${where}: unknown initializer '${id}'; expected one of ${Object.keys(initializers).join(', ')}`,
    );
  return make(config);
}
