// Core layers: dense, activation, reLU, flatten, reshape, dropout, rescaling.
import { add, minimum, mul, relu } from '../../tensor/ops/elementwise.js';
import { matMul } from '../../tensor/ops/linalg.js';
import { dropout } from '../../tensor/ops/nn.js';
import type { Tensor, Variable } from '../../tensor/tensor.js';
import type { Initializer, InitializerIdentifier } from '../initializers.js';
import { type CallArgs, Layer, type LayerArgs, type LayerInput } from '../layer.js';
import { getRegularizer, type Regularizer } from '../regularizers.js';
import type { Shape } from '../symbolic.js';
import { type ActivationName, getActivation } from './activations.js';

export type RegularizerId = Regularizer | 'l1' | 'l2' | 'l1l2' | null;

/** A regularizer argument as Keras/tfjs write it in a layer config: { class_name: 'L1L2', config } or null. */
export function regularizerJson(
  id: RegularizerId | undefined,
  where: string,
): { class_name: string; config: Record<string, number> } | null {
  const r = getRegularizer(id, where);
  return r ? { class_name: r.className, config: r.getConfig() } : null;
}

export function singleInput(x: LayerInput, where: string): Tensor {
  if (Array.isArray(x)) {
    if (x.length !== 1) throw new Error(`${where}: expects one input, got ${x.length}`);
    return x[0];
  }
  return x;
}

export interface DenseArgs extends LayerArgs {
  units: number;
  activation?: ActivationName | string;
  useBias?: boolean;
  kernelInitializer?: Initializer | InitializerIdentifier;
  biasInitializer?: Initializer | InitializerIdentifier;
  kernelRegularizer?: RegularizerId;
  biasRegularizer?: RegularizerId;
  inputDim?: number;
}

export class Dense extends Layer {
  static override className = 'Dense';
  readonly units: number;
  readonly activation: ReturnType<typeof getActivation>;
  readonly useBias: boolean;
  kernel?: Variable;
  bias?: Variable;
  private readonly args: DenseArgs;

  constructor(args: DenseArgs) {
    if (args.inputDim !== undefined && !args.inputShape && !args.batchInputShape)
      args = { ...args, inputShape: [args.inputDim] };
    super(args);
    if (!Number.isInteger(args.units) || args.units <= 0)
      throw new Error(`Dense '${this.name}': units must be a positive integer, got ${args.units}`);
    this.args = args;
    this.units = args.units;
    this.activation = getActivation(args.activation, `Dense '${this.name}'`);
    this.useBias = args.useBias ?? true;
  }

  override build(inputShape: Shape): void {
    const inDim = inputShape[inputShape.length - 1];
    if (inputShape.length < 2 || inDim === null) {
      throw new Error(
        `Dense '${this.name}': input must have rank >= 2 with a known last dimension, got shape [${inputShape.map((d) => d ?? 'null')}]`,
      );
    }
    const where = `Dense '${this.name}'`;
    this.kernel = this.addWeight(
      'kernel',
      [inDim, this.units],
      this.args.kernelInitializer ?? 'glorotUniform',
      {
        regularizer: getRegularizer(this.args.kernelRegularizer, where),
      },
    );
    if (this.useBias) {
      this.bias = this.addWeight('bias', [this.units], this.args.biasInitializer ?? 'zeros', {
        regularizer: getRegularizer(this.args.biasRegularizer, where),
      });
    }
  }

  override computeOutputShape(inputShape: Shape): Shape {
    return [...inputShape.slice(0, -1), this.units];
  }

  call(inputs: LayerInput): Tensor {
    const x = singleInput(inputs, `Dense '${this.name}'`);
    const k = this.kernel!;
    if (x.shape[x.rank - 1] !== k.shape[0]) {
      throw new Error(
        `Dense '${this.name}': input's last dimension is ${x.shape[x.rank - 1]} (shape [${x.shape}]), the kernel expects ${k.shape[0]}`,
      );
    }
    const flat = x.rank === 2 ? x : x.reshape([-1, k.shape[0]]);
    let y = matMul(flat, this.read(k));
    if (this.bias) y = add(y, this.read(this.bias));
    if (x.rank !== 2) y = y.reshape([...x.shape.slice(0, -1), this.units]);
    return this.activation.fn(y);
  }

  override getConfig() {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation.name,
      use_bias: this.useBias,
      kernel_regularizer: regularizerJson(this.args.kernelRegularizer, `Dense '${this.name}'`),
      bias_regularizer: regularizerJson(this.args.biasRegularizer, `Dense '${this.name}'`),
    };
  }
}

export class Activation extends Layer {
  static override className = 'Activation';
  readonly activation: ReturnType<typeof getActivation>;
  constructor(args: LayerArgs & { activation: ActivationName | string }) {
    super(args);
    this.activation = getActivation(args.activation, `Activation '${this.name}'`);
  }
  call(inputs: LayerInput): Tensor {
    return this.activation.fn(singleInput(inputs, `Activation '${this.name}'`));
  }
  override getConfig() {
    return { ...super.getConfig(), activation: this.activation.name };
  }
}

/** ReLU with optional maxValue (Keras' ReLU layer). */
export class ReLU extends Layer {
  static override className = 'ReLU';
  readonly maxValue: number | null;
  constructor(args: LayerArgs & { maxValue?: number } = {}) {
    super(args);
    this.maxValue = args.maxValue ?? null;
    if (this.maxValue !== null && !(this.maxValue > 0))
      throw new Error(`ReLU '${this.name}': maxValue must be > 0, got ${this.maxValue}`);
  }
  call(inputs: LayerInput): Tensor {
    const y = relu(singleInput(inputs, `ReLU '${this.name}'`));
    return this.maxValue === null ? y : minimum(y, this.maxValue);
  }
  override getConfig() {
    return { ...super.getConfig(), max_value: this.maxValue };
  }
}

export class Flatten extends Layer {
  static override className = 'Flatten';
  override computeOutputShape(s: Shape): Shape {
    const rest = s.slice(1);
    if (rest.some((d) => d === null))
      throw new Error(
        `Flatten '${this.name}': all non-batch dimensions must be known, got [${s.map((d) => d ?? 'null')}]`,
      );
    return [s[0], (rest as number[]).reduce((a, b) => a * b, 1)];
  }
  call(inputs: LayerInput): Tensor {
    const x = singleInput(inputs, `Flatten '${this.name}'`);
    return x.reshape([x.shape[0], -1]);
  }
}

export class Reshape extends Layer {
  static override className = 'Reshape';
  readonly targetShape: number[];
  constructor(args: LayerArgs & { targetShape: number[] }) {
    super(args);
    this.targetShape = [...args.targetShape];
    if (
      this.targetShape.filter((d) => d === -1).length > 1 ||
      !this.targetShape.every((d) => d === -1 || (Number.isInteger(d) && d > 0))
    ) {
      throw new Error(
        `Reshape '${this.name}': targetShape must be positive integers with at most one -1, got [${args.targetShape}]`,
      );
    }
  }
  override computeOutputShape(s: Shape): Shape {
    const known = s.slice(1);
    const t = [...this.targetShape];
    if (known.every((d) => d !== null)) {
      const total = (known as number[]).reduce((a, b) => a * b, 1);
      const fixed = t.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      const at = t.indexOf(-1);
      if (at >= 0) t[at] = total / fixed;
      if (!Number.isInteger(t[Math.max(at, 0)]) || t.reduce((a, b) => a * b, 1) !== total) {
        throw new Error(
          `Reshape '${this.name}': cannot reshape [${known}] (${total} elements) to [${this.targetShape}]`,
        );
      }
    }
    return [s[0], ...t.map((d) => (d === -1 ? null : d))];
  }
  call(inputs: LayerInput): Tensor {
    const x = singleInput(inputs, `Reshape '${this.name}'`);
    return x.reshape([x.shape[0], ...this.targetShape]);
  }
  override getConfig() {
    return { ...super.getConfig(), target_shape: this.targetShape };
  }
}

export class Dropout extends Layer {
  static override className = 'Dropout';
  readonly rate: number;
  readonly noiseShape?: number[];
  readonly seed?: number;
  constructor(args: LayerArgs & { rate: number; noiseShape?: number[]; seed?: number }) {
    super(args);
    if (!(args.rate >= 0 && args.rate < 1))
      throw new Error(`Dropout '${this.name}': rate must be in [0, 1), got ${args.rate}`);
    this.rate = args.rate;
    this.noiseShape = args.noiseShape;
    this.seed = args.seed;
  }
  call(inputs: LayerInput, kwargs: CallArgs): Tensor {
    const x = singleInput(inputs, `Dropout '${this.name}'`);
    return kwargs.training && this.rate > 0 ? dropout(x, this.rate, this.noiseShape, this.seed) : x;
  }
  override getConfig() {
    return {
      ...super.getConfig(),
      rate: this.rate,
      noise_shape: this.noiseShape ?? null,
      seed: this.seed ?? null,
    };
  }
}

/** y = x * scale + offset (Keras' Rescaling, e.g. scale 1/255). */
export class Rescaling extends Layer {
  static override className = 'Rescaling';
  readonly scale: number;
  readonly offset: number;
  constructor(args: LayerArgs & { scale: number; offset?: number }) {
    super(args);
    if (!Number.isFinite(args.scale))
      throw new Error(`Rescaling '${this.name}': scale must be a finite number, got ${args.scale}`);
    this.scale = args.scale;
    this.offset = args.offset ?? 0;
  }
  call(inputs: LayerInput): Tensor {
    const x = singleInput(inputs, `Rescaling '${this.name}'`);
    const y = mul(x, this.scale);
    return this.offset === 0 ? y : add(y, this.offset);
  }
  override getConfig() {
    return { ...super.getConfig(), scale: this.scale, offset: this.offset };
  }
}
