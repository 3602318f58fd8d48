// Pooling layers (NHWC): maxPooling2d, averagePooling2d, globalAveragePooling2d, globalMaxPooling2d.
import { avgPool, maxPool } from '../../tensor/ops/conv.js';
import { computeConv2DInfo } from '../../tensor/ops/conv-info.js';
import { max, mean } from '../../tensor/ops/reduction.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, type LayerArgs, type LayerInput } from '../layer.js';
import type { Shape } from '../symbolic.js';
import type { Pair } from './convolutional.js';
import { singleInput } from './core.js';

function rank4(layer: Layer, s: Shape): void {
  if (s.length !== 4)
    throw new Error(
      `${layer.className} '${layer.name}': input must be rank 4 (batch, height, width, channels), got [${s.map((d) => d ?? 'null')}]`,
    );
}

export interface Pooling2DArgs extends LayerArgs {
  poolSize?: Pair;
  strides?: Pair | null;
  padding?: 'valid' | 'same';
  dataFormat?: 'channelsLast' | 'channelsFirst';
}

abstract class Pooling2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  constructor(args: Pooling2DArgs = {}) {
    super(args);
    const p = args.poolSize ?? 2;
    this.poolSize = typeof p === 'number' ? [p, p] : [p[0], p[1]];
    const s = args.strides ?? this.poolSize;
    this.strides = typeof s === 'number' ? [s, s] : [s[0], s[1]];
    this.padding = args.padding ?? 'valid';
    const where = `${this.className} '${this.name}'`;
    if (![...this.poolSize, ...this.strides].every((n) => Number.isInteger(n) && n >= 1)) {
      throw new Error(
        `${where}: poolSize and strides must be positive integers, got ${JSON.stringify([args.poolSize, args.strides])}`,
      );
    }
    if (this.padding !== 'valid' && this.padding !== 'same')
      throw new Error(`${where}: padding must be 'valid' or 'same', got '${String(args.padding)}'`);
    if (args.dataFormat === 'channelsFirst')
      throw new Error(`${where}: only dataFormat 'channelsLast' (NHWC) is supported`);
  }
  override computeOutputShape(s: Shape): Shape {
    rank4(this, s);
    if (s[1] === null || s[2] === null || s[3] === null) return [s[0], null, null, s[3]];
    const info = computeConv2DInfo(
      `${this.className} '${this.name}'`,
      [1, s[1], s[2], s[3]],
      this.poolSize,
      s[3],
      this.strides,
      [1, 1],
      this.padding,
    );
    return [s[0], info.outH, info.outW, s[3]];
  }
  override getConfig() {
    return {
      ...super.getConfig(),
      pool_size: this.poolSize,
      strides: this.strides,
      padding: this.padding,
      data_format: 'channels_last',
    };
  }
}

export class MaxPooling2D extends Pooling2D {
  static override className = 'MaxPooling2D';
  call(inputs: LayerInput): Tensor {
    return maxPool(
      singleInput(inputs, `MaxPooling2D '${this.name}'`),
      this.poolSize,
      this.strides,
      this.padding,
    );
  }
}

export class AveragePooling2D extends Pooling2D {
  static override className = 'AveragePooling2D';
  call(inputs: LayerInput): Tensor {
    return avgPool(
      singleInput(inputs, `AveragePooling2D '${this.name}'`),
      this.poolSize,
      this.strides,
      this.padding,
    );
  }
}

abstract class GlobalPooling2D extends Layer {
  readonly keepDims: boolean;
  constructor(args: LayerArgs & { keepDims?: boolean; dataFormat?: 'channelsLast' | 'channelsFirst' } = {}) {
    super(args);
    this.keepDims = args.keepDims ?? false;
    if (args.dataFormat === 'channelsFirst')
      throw new Error(`${this.className} '${this.name}': only dataFormat 'channelsLast' (NHWC) is supported`);
  }
  override computeOutputShape(s: Shape): Shape {
    rank4(this, s);
    return this.keepDims ? [s[0], 1, 1, s[3]] : [s[0], s[3]];
  }
  override getConfig() {
    return { ...super.getConfig(), data_format: 'channels_last', keepdims: this.keepDims };
  }
}

export class GlobalAveragePooling2D extends GlobalPooling2D {
  static override className = 'GlobalAveragePooling2D';
  call(inputs: LayerInput): Tensor {
    return mean(singleInput(inputs, `GlobalAveragePooling2D '${this.name}'`), [1, 2], this.keepDims);
  }
}

export class GlobalMaxPooling2D extends GlobalPooling2D {
  static override className = 'GlobalMaxPooling2D';
  call(inputs: LayerInput): Tensor {
    return max(singleInput(inputs, `GlobalMaxPooling2D '${this.name}'`), [1, 2], this.keepDims);
  }
}
