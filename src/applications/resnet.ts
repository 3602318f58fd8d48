// ResNet50 with Keras' architecture and layer names (keras.applications.ResNet50: 25,636,712
// parameters with the top, 23,587,712 without), and ResNet18 in the same style with basic blocks.

import { layers } from '../nn/layers/index.js';
import { input } from '../nn/layers/input.js';
import { type LayersModel, model } from '../nn/models/model.js';
import type { Shape, SymbolicTensor } from '../nn/symbolic.js';
import { tensor, tensor1d } from '../tensor/ops/creation.js';
import { cast, sub } from '../tensor/ops/elementwise.js';
import { gather } from '../tensor/ops/layout.js';
import { Tensor } from '../tensor/tensor.js';
import { loadApplicationWeights, type WeightsArg } from './weights.js';

export interface ResNetArgs {
  includeTop?: boolean;
  /** null (random init) or the path of a Keras .h5 weights file; 'imagenet' cannot be downloaded here */
  weights?: WeightsArg;
  inputShape?: Shape;
  inputTensor?: SymbolicTensor;
  /** without the top: 'avg' or 'max' global pooling, or none (4-D feature maps) */
  pooling?: 'avg' | 'max' | null;
  classes?: number;
  classifierActivation?: 'softmax' | 'linear' | null;
}

const BN_EPS = 1.001e-5;
type T = SymbolicTensor;
const one = (x: SymbolicTensor | SymbolicTensor[]) => x as SymbolicTensor;

function bn(x: T, name: string): T {
  return one(layers.batchNormalization({ axis: 3, epsilon: BN_EPS, name }).apply(x));
}

function relu(x: T, name: string): T {
  return one(layers.activation({ activation: 'relu', name }).apply(x));
}

function conv(
  x: T,
  filters: number,
  kernelSize: number,
  name: string,
  strides = 1,
  padding: 'valid' | 'same' = 'valid',
): T {
  return one(layers.conv2d({ filters, kernelSize, strides, padding, name }).apply(x));
}

/** Keras' block1: the bottleneck residual block (1x1, 3x3, 1x1 with 4x expansion). */
function bottleneck(x: T, filters: number, name: string, stride = 1, convShortcut = true): T {
  let shortcut = x;
  if (convShortcut) shortcut = bn(conv(x, 4 * filters, 1, `${name}_0_conv`, stride), `${name}_0_bn`);
  let y = relu(bn(conv(x, filters, 1, `${name}_1_conv`, stride), `${name}_1_bn`), `${name}_1_relu`);
  y = relu(bn(conv(y, filters, 3, `${name}_2_conv`, 1, 'same'), `${name}_2_bn`), `${name}_2_relu`);
  y = bn(conv(y, 4 * filters, 1, `${name}_3_conv`), `${name}_3_bn`);
  return relu(one(layers.add({ name: `${name}_add` }).apply([shortcut, y])), `${name}_out`);
}

/** The basic residual block (two 3x3 convs) of ResNet18/34, named in the same style. */
function basic(x: T, filters: number, name: string, stride = 1, convShortcut = false): T {
  let shortcut = x;
  if (convShortcut) shortcut = bn(conv(x, filters, 1, `${name}_0_conv`, stride), `${name}_0_bn`);
  let y = conv(
    one(layers.zeroPadding2d({ padding: 1, name: `${name}_1_pad` }).apply(x)),
    filters,
    3,
    `${name}_1_conv`,
    stride,
  );
  y = relu(bn(y, `${name}_1_bn`), `${name}_1_relu`);
  y = bn(conv(y, filters, 3, `${name}_2_conv`, 1, 'same'), `${name}_2_bn`);
  return relu(one(layers.add({ name: `${name}_add` }).apply([shortcut, y])), `${name}_out`);
}

function stem(x: T): T {
  let y = one(
    layers
      .zeroPadding2d({
        padding: [
          [3, 3],
          [3, 3],
        ],
        name: 'conv1_pad',
      })
      .apply(x),
  );
  y = relu(bn(conv(y, 64, 7, 'conv1_conv', 2), 'conv1_bn'), 'conv1_relu');
  y = one(
    layers
      .zeroPadding2d({
        padding: [
          [1, 1],
          [1, 1],
        ],
        name: 'pool1_pad',
      })
      .apply(y),
  );
  return one(layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }).apply(y));
}

function checkArgs(args: ResNetArgs, where: string): Required<Pick<ResNetArgs, 'includeTop' | 'classes'>> {
  const includeTop = args.includeTop ?? true;
  const classes = args.classes ?? 1000;
  if (!Number.isInteger(classes) || classes < 1)
    throw new Error(`${where}: classes must be a positive integer, got ${args.classes}`);
  if (
    args.pooling !== undefined &&
    args.pooling !== null &&
    args.pooling !== 'avg' &&
    args.pooling !== 'max'
  ) {
    throw new Error(`${where}: pooling must be 'avg', 'max' or null, got '${String(args.pooling)}'`);
  }
  const shape = args.inputTensor?.shape.slice(1) ?? args.inputShape;
  if (shape) {
    if (shape.length !== 3 || shape[2] !== 3)
      throw new Error(
        `${where}: inputShape must be [height, width, 3], got [${shape.map((d) => d ?? 'null')}]`,
      );
    if (shape.slice(0, 2).some((d) => d !== null && d < 32))
      throw new Error(
        `${where}: input height and width must be at least 32, got [${shape.map((d) => d ?? 'null')}]`,
      );
  }
  return { includeTop, classes };
}

function head(x: T, args: ResNetArgs, includeTop: boolean, classes: number): T {
  if (includeTop) {
    const pooled = one(layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x));
    const activation =
      args.classifierActivation === null ? 'linear' : (args.classifierActivation ?? 'softmax');
    return one(layers.dense({ units: classes, activation, name: 'predictions' }).apply(pooled));
  }
  if (args.pooling === 'avg') return one(layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x));
  if (args.pooling === 'max') return one(layers.globalMaxPooling2d({ name: 'max_pool' }).apply(x));
  return x;
}

function inputOf(args: ResNetArgs, includeTop: boolean): T {
  if (args.inputTensor) return args.inputTensor;
  // Keras' default input is 224x224x3 with the top, any size (>= 32) without
  const shape = args.inputShape ?? (includeTop ? [224, 224, 3] : [null, null, 3]);
  return input({ shape });
}

export async function resNet50(args: ResNetArgs = {}): Promise<LayersModel> {
  const { includeTop, classes } = checkArgs(args, 'applications.resNet50');
  const x0 = inputOf(args, includeTop);
  let x = stem(x0);
  const stages: [number, number, string][] = [
    [64, 3, 'conv2'],
    [128, 4, 'conv3'],
    [256, 6, 'conv4'],
    [512, 3, 'conv5'],
  ];
  for (const [filters, blocks, name] of stages) {
    x = bottleneck(x, filters, `${name}_block1`, name === 'conv2' ? 1 : 2);
    for (let i = 2; i <= blocks; i++) x = bottleneck(x, filters, `${name}_block${i}`, 1, false);
  }
  const m = model({ inputs: x0, outputs: head(x, args, includeTop, classes), name: 'resnet50' });
  await loadApplicationWeights(m, args.weights, 'applications.resNet50');
  return m;
}

export async function resNet18(args: ResNetArgs = {}): Promise<LayersModel> {
  const { includeTop, classes } = checkArgs(args, 'applications.resNet18');
  const x0 = inputOf(args, includeTop);
  let x = stem(x0);
  const stages: [number, string][] = [
    [64, 'conv2'],
    [128, 'conv3'],
    [256, 'conv4'],
    [512, 'conv5'],
  ];
  for (const [filters, name] of stages) {
    const stride = name === 'conv2' ? 1 : 2;
    x = basic(x, filters, `${name}_block1`, stride, stride !== 1);
    x = basic(x, filters, `${name}_block2`);
  }
  const m = model({ inputs: x0, outputs: head(x, args, includeTop, classes), name: 'resnet18' });
  await loadApplicationWeights(m, args.weights, 'applications.resNet18');
  return m;
}

/** ImageNet channel means in BGR order (Keras' 'caffe' preprocessing). */
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];

/** Keras' resnet50.preprocess_input ('caffe'): RGB in [0, 255] -> BGR, minus the ImageNet mean. */
export function preprocessInput(x: Tensor): Tensor {
  if (!(x instanceof Tensor)) throw new Error('resnet50.preprocessInput: x must be a Tensor');
  if (x.shape[x.rank - 1] !== 3)
    throw new Error(`resnet50.preprocessInput: the last dimension must be 3 (RGB), got shape [${x.shape}]`);
  const f = x.dtype === 'int32' ? cast(x, 'float32') : x;
  const bgr = gather(f, tensor1d([2, 1, 0], 'int32'), f.rank - 1);
  return sub(bgr, tensor(CAFFE_MEAN_BGR, [3], f.dtype));
}
