// layers.*: tfjs' layer factories (layers.dense({ units: 10 }) ...), and the classes behind them.

import {
  Conv2D,
  type Conv2DArgs,
  DepthwiseConv2D,
  type DepthwiseConv2DArgs,
  ZeroPadding2D,
} from './convolutional.js';
import { Activation, Dense, type DenseArgs, Dropout, Flatten, ReLU, Rescaling, Reshape } from './core.js';
import { InputLayer } from './input.js';
import { Add, Concatenate, Multiply } from './merge.js';
import { BatchNormalization, type BatchNormalizationArgs } from './normalization.js';
import {
  AveragePooling2D,
  GlobalAveragePooling2D,
  GlobalMaxPooling2D,
  MaxPooling2D,
  type Pooling2DArgs,
} from './pooling.js';

type Args<C extends abstract new (...a: never[]) => unknown> = ConstructorParameters<C>[0];

export const layers = {
  dense: (args: DenseArgs) => new Dense(args),
  activation: (args: Args<typeof Activation>) => new Activation(args),
  reLU: (args?: Args<typeof ReLU>) => new ReLU(args),
  flatten: (args?: Args<typeof Flatten>) => new Flatten(args),
  reshape: (args: Args<typeof Reshape>) => new Reshape(args),
  dropout: (args: Args<typeof Dropout>) => new Dropout(args),
  rescaling: (args: Args<typeof Rescaling>) => new Rescaling(args),
  conv2d: (args: Conv2DArgs) => new Conv2D(args),
  depthwiseConv2d: (args: DepthwiseConv2DArgs) => new DepthwiseConv2D(args),
  zeroPadding2d: (args?: Args<typeof ZeroPadding2D>) => new ZeroPadding2D(args),
  maxPooling2d: (args?: Pooling2DArgs) => new MaxPooling2D(args),
  averagePooling2d: (args?: Pooling2DArgs) => new AveragePooling2D(args),
  globalAveragePooling2d: (args?: Args<typeof GlobalAveragePooling2D>) => new GlobalAveragePooling2D(args),
  globalMaxPooling2d: (args?: Args<typeof GlobalMaxPooling2D>) => new GlobalMaxPooling2D(args),
  batchNormalization: (args?: BatchNormalizationArgs) => new BatchNormalization(args),
  add: (args?: Args<typeof Add>) => new Add(args),
  multiply: (args?: Args<typeof Multiply>) => new Multiply(args),
  concatenate: (args?: Args<typeof Concatenate>) => new Concatenate(args),
  inputLayer: (args: Args<typeof InputLayer>) => new InputLayer(args),
};

/** Layer classes by Keras class name, for deserialising saved models. */
export const LAYER_CLASSES = {
  Dense,
  Activation,
  ReLU,
  Flatten,
  Reshape,
  Dropout,
  Rescaling,
  Conv2D,
  DepthwiseConv2D,
  ZeroPadding2D,
  MaxPooling2D,
  AveragePooling2D,
  GlobalAveragePooling2D,
  GlobalMaxPooling2D,
  BatchNormalization,
  Add,
  Multiply,
  Concatenate,
  InputLayer,
};

export {
  Activation,
  Add,
  AveragePooling2D,
  BatchNormalization,
  Concatenate,
  Conv2D,
  Dense,
  DepthwiseConv2D,
  Dropout,
  Flatten,
  GlobalAveragePooling2D,
  GlobalMaxPooling2D,
  InputLayer,
  MaxPooling2D,
  Multiply,
  ReLU,
  Rescaling,
  Reshape,
  ZeroPadding2D,
};
