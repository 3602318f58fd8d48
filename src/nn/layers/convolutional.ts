// Convolution layers (NHWC, Keras' channels_last): conv2d, depthwiseConv2d, zeroPadding2d.

import { conv2d, depthwiseConv2d } from '../../tensor/ops/conv.js';
import { computeConv2DInfo } from '../../tensor/ops/conv-info.js';
import { add } from '../../tensor/ops/elementwise.js';
import { pad } from '../../tensor/ops/layout.js';
import type { Tensor, Variable } from '../../tensor/tensor.js';
import type { Initializer, InitializerIdentifier } from '../initializers.js';
import { Layer, type LayerArgs, type LayerInput } from '../layer.js';
import { getRegularizer } from '../regularizers.js';
import type { Shape } from '../symbolic.js';
import { type ActivationName, getActivation } from './activations.js';
import { type RegularizerId, regularizerJson, singleInput } from './core.js';

export type Pair = number | [number, number];
const pair = (v: Pair | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

interface ConvBaseArgs extends LayerArgs {
  kernelSize: Pair;
  strides?: Pair;
  padding?: 'valid' | 'same';
  dataFormat?: 'channelsLast' | 'channelsFirst';
  dilationRate?: Pair;
  activation?: ActivationName | string;
  useBias?: boolean;
  biasInitializer?: Initializer | InitializerIdentifier;
  biasRegularizer?: RegularizerId;
}

/** Shared by conv2d and depthwiseConv2d: geometry, bias, activation, output shape. */
abstract class ConvBase extends Layer {
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  readonly dilationRate: [number, number];
  readonly activation: ReturnType<typeof getActivation>;
  readonly useBias: boolean;
  kernel?: Variable;
  bias?: Variable;
  protected readonly baseArgs: ConvBaseArgs;

  constructor(args: ConvBaseArgs) {
    super(args);
    const where = `${this.className} '${this.name}'`;
    this.baseArgs = args;
    this.kernelSize = pair(args.kernelSize, 1);
    this.strides = pair(args.strides, 1);
    this.dilationRate = pair(args.dilationRate, 1);
    this.padding = args.padding ?? 'valid';
    for (const [k, v] of [
      ['kernelSize', this.kernelSize],
      ['strides', this.strides],
      ['dilationRate', this.dilationRate],
    ] as const) {
      if (!v.every((n) => Number.isInteger(n) && n >= 1))
        throw new Error(`${where}: ${k} must be positive integers, got ${JSON.stringify(args[k])}`);
    }
    if (this.padding !== 'valid' && this.padding !== 'same')
      throw new Error(`${where}: padding must be 'valid' or 'same', got '${String(args.padding)}'`);
    if (args.dataFormat === 'channelsFirst')
      throw new Error(`${where}: only dataFormat 'channelsLast' (NHWC) is supported`);
    this.activation = getActivation(args.activation, where);
    this.useBias = args.useBias ?? true;
  }

  protected inChannels(s: Shape): number {
    if (s.length !== 4 || s[3] === null) {
      throw new Error(
        `${this.className} '${this.name}': input must be rank 4 (batch, height, width, channels) with known channels, got [${s.map((d) => d ?? 'null')}]`,
      );
    }
    return s[3];
  }

  protected abstract outChannels(inC: number): number;

  protected addBias(channels: number): void {
    if (this.useBias) {
      this.bias = this.addWeight('bias', [channels], this.baseArgs.biasInitializer ?? 'zeros', {
        regularizer: getRegularizer(this.baseArgs.biasRegularizer, `${this.className} '${this.name}'`),
      });
    }
  }

  override computeOutputShape(s: Shape): Shape {
    const inC = this.inChannels(s);
    const [h, w] = [s[1], s[2]];
    const outC = this.outChannels(inC);
    if (h === null || w === null) return [s[0], null, null, outC];
    const info = computeConv2DInfo(
      `${this.className} '${this.name}'`,
      [1, h, w, inC],
      this.kernelSize,
      outC,
      this.strides,
      this.dilationRate,
      this.padding,
    );
    return [s[0], info.outH, info.outW, outC];
  }

  protected finish(y: Tensor): Tensor {
    return this.activation.fn(this.bias ? add(y, this.read(this.bias)) : y);
  }

  override getConfig() {
    return {
      ...super.getConfig(),
      kernel_size: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      data_format: 'channels_last',
      dilation_rate: this.dilationRate,
      activation: this.activation.name,
      use_bias: this.useBias,
      bias_regularizer: regularizerJson(this.baseArgs.biasRegularizer, `${this.className} '${this.name}'`),
    };
  }
}

export interface Conv2DArgs extends ConvBaseArgs {
  filters: number;
  kernelInitializer?: Initializer | InitializerIdentifier;
  kernelRegularizer?: RegularizerId;
}

export class Conv2D extends ConvBase {
  static override className = 'Conv2D';
  readonly filters: number;
  private readonly args: Conv2DArgs;
  constructor(args: Conv2DArgs) {
    super(args);
    if (!Number.isInteger(args.filters) || args.filters <= 0)
      throw new Error(`Conv2D '${this.name}': filters must be a positive integer, got ${args.filters}`);
    this.filters = args.filters;
    this.args = args;
  }
  protected outChannels(): number {
    return this.filters;
  }
  override build(s: Shape): void {
    const inC = this.inChannels(s);
    this.kernel = this.addWeight(
      'kernel',
      [...this.kernelSize, inC, this.filters],
      this.args.kernelInitializer ?? 'glorotUniform',
      {
        regularizer: getRegularizer(this.args.kernelRegularizer, `Conv2D '${this.name}'`),
      },
    );
    this.addBias(this.filters);
  }
  call(inputs: LayerInput): Tensor {
    const x = singleInput(inputs, `Conv2D '${this.name}'`);
    return this.finish(
      conv2d(x, this.read(this.kernel!), this.strides, this.padding, 'NHWC', this.dilationRate),
    );
  }
  override getConfig() {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernel_regularizer: regularizerJson(this.args.kernelRegularizer, `Conv2D '${this.name}'`),
    };
  }
}

export interface DepthwiseConv2DArgs extends ConvBaseArgs {
  depthMultiplier?: number;
  depthwiseInitializer?: Initializer | InitializerIdentifier;
  depthwiseRegularizer?: RegularizerId;
}

export class DepthwiseConv2D extends ConvBase {
  static override className = 'DepthwiseConv2D';
  readonly depthMultiplier: number;
  private readonly args: DepthwiseConv2DArgs;
  constructor(args: DepthwiseConv2DArgs) {
    super(args);
    this.depthMultiplier = args.depthMultiplier ?? 1;
    if (!Number.isInteger(this.depthMultiplier) || this.depthMultiplier < 1) {
      throw new Error(
        `DepthwiseConv2D '${this.name}': depthMultiplier must be a positive integer, got ${args.depthMultiplier}`,
      );
    }
    this.args = args;
  }
  protected outChannels(inC: number): number {
    return inC * this.depthMultiplier;
  }
  override build(s: Shape): void {
    const inC = this.inChannels(s);
    this.kernel = this.addWeight(
      'depthwise_kernel',
      [...this.kernelSize, inC, this.depthMultiplier],
      this.args.depthwiseInitializer ?? 'glorotUniform',
      {
        regularizer: getRegularizer(this.args.depthwiseRegularizer, `DepthwiseConv2D '${this.name}'`),
      },
    );
    this.addBias(inC * this.depthMultiplier);
  }
  call(inputs: LayerInput): Tensor {
    const x = singleInput(inputs, `DepthwiseConv2D '${this.name}'`);
    return this.finish(
      depthwiseConv2d(x, this.read(this.kernel!), this.strides, this.padding, 'NHWC', this.dilationRate),
    );
  }
  override getConfig() {
    return {
      ...super.getConfig(),
      depth_multiplier: this.depthMultiplier,
      depthwise_regularizer: regularizerJson(
        this.args.depthwiseRegularizer,
        `DepthwiseConv2D '${this.name}'`,
      ),
    };
  }
}

export class ZeroPadding2D extends Layer {
  static override className = 'ZeroPadding2D';
  readonly padding: [[number, number], [number, number]];
  constructor(
    args: LayerArgs & { padding?: number | [number, number] | [[number, number], [number, number]] } = {},
  ) {
    super(args);
    const p = args.padding ?? 1;
    this.padding =
      typeof p === 'number'
        ? [
            [p, p],
            [p, p],
          ]
        : typeof p[0] === 'number'
          ? [
              [p[0], p[0]],
              [p[1] as number, p[1] as number],
            ]
          : [[...(p[0] as [number, number])], [...(p[1] as [number, number])]];
    if (!this.padding.flat().every((v) => Number.isInteger(v) && v >= 0)) {
      throw new Error(
        `ZeroPadding2D '${this.name}': padding must be non-negative integers, got ${JSON.stringify(args.padding)}`,
      );
    }
  }
  override computeOutputShape(s: Shape): Shape {
    if (s.length !== 4)
      throw new Error(
        `ZeroPadding2D '${this.name}': input must be rank 4, got [${s.map((d) => d ?? 'null')}]`,
      );
    const [[t, b], [l, r]] = this.padding;
    return [s[0], s[1] === null ? null : s[1] + t + b, s[2] === null ? null : s[2] + l + r, s[3]];
  }
  call(inputs: LayerInput): Tensor {
    const x = singleInput(inputs, `ZeroPadding2D '${this.name}'`);
    return pad(x, [[0, 0], this.padding[0], this.padding[1], [0, 0]]);
  }
  override getConfig() {
    return { ...super.getConfig(), padding: this.padding, data_format: 'channels_last' };
  }
}
