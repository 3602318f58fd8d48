// Applications: Keras' ResNet50 (parameter counts, layer names, output shapes), ResNet18, smallCnn,
// preprocessInput, and dtype propagation through a ResNet under mixed policies.
import { afterEach, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as keel from '../../src/index.js';

afterEach(() => keel.mixedPrecision.setGlobalPolicy('float32'));

describe('applications.resNet50', () => {
  it("has Keras' parameter counts, layer names and output shapes", async () => {
    const top = await keel.applications.resNet50();
    expect(top.countParams()).toBe(25_636_712);
    expect(top.outputs[0].shape).toEqual([null, 1000]);
    expect(top.inputs[0].shape).toEqual([null, 224, 224, 3]);
    for (const name of [
      'conv1_pad',
      'conv1_conv',
      'conv1_bn',
      'pool1_pool',
      'conv2_block1_0_conv',
      'conv3_block4_add',
      'conv4_block6_out',
      'conv5_block3_3_bn',
      'avg_pool',
      'predictions',
    ]) {
      expect(top.getLayer(name).name).toBe(name);
    }
    expect(top.layers.length).toBe(177);
    top.dispose();
    const notop = await keel.applications.resNet50({
      includeTop: false,
      inputShape: [64, 64, 3],
      pooling: 'avg',
    });
    expect(notop.countParams()).toBe(23_587_712);
    expect(notop.outputs[0].shape).toEqual([null, 2048]);
    notop.dispose();
    const maps = await keel.applications.resNet50({ includeTop: false, inputShape: [96, 128, 3] });
    expect(maps.outputs[0].shape).toEqual([null, 3, 4, 2048]);
    maps.dispose();
  }, 60_000);

  it('rejects bad arguments and undownloadable weights', async () => {
    await expect(keel.applications.resNet50({ classes: 0 })).rejects.toThrow(
      /classes must be a positive integer/,
    );
    await expect(keel.applications.resNet50({ includeTop: false, inputShape: [16, 16, 3] })).rejects.toThrow(
      /at least 32/,
    );
    await expect(keel.applications.resNet50({ includeTop: false, inputShape: [64, 64, 1] })).rejects.toThrow(
      /\[height, width, 3\]/,
    );
    await expect(keel.applications.resNet50({ weights: 'imagenet' })).rejects.toThrow(/cannot be downloaded/);
    await expect(keel.applications.resNet50({ weights: '/no/such/file.h5' })).rejects.toThrow(
      /does not exist/,
    );
  });
});

describe('resNet18 and smallCnn', () => {
  it('build, predict and train a step', async () => {
    const r18 = await keel.applications.resNet18({ inputShape: [32, 32, 3], classes: 5 });
    expect(r18.outputs[0].shape).toEqual([null, 5]);
    const y = r18.predict(keel.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1)) as Tensor;
    expect(y.shape).toEqual([2, 5]);
    expect(y.sum(1).dataSync()[0]).toBeCloseTo(1, 5);
    const cnn = await keel.applications.smallCnn({ inputShape: [32, 32, 3], classes: 5 });
    cnn.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    const logs = cnn.trainOnBatch(
      keel.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 2),
      keel.oneHot(keel.tensor1d([0, 1, 2, 3], 'int32'), 5).cast('float32'),
    );
    expect(Number.isFinite(logs.loss)).toBe(true);
  }, 60_000);

  it('under mixed_float16 every ResNet layer computes in float16 with float32 variables', async () => {
    keel.mixedPrecision.setGlobalPolicy('mixed_float16');
    const images = keel.input({ shape: [32, 32, 3], dtype: 'float16' });
    const base = await keel.applications.resNet18({ includeTop: false, inputTensor: images });
    for (const l of base.layers) {
      if (l.className === 'InputLayer') continue;
      expect(l.computeDtype, l.name).toBe('float16');
      expect(l.inboundNodes.at(-1)!.outputs[0].dtype, l.name).toBe('float16');
    }
    expect(base.weights.every((w) => w.dtype === 'float32')).toBe(true);
    const out = base.predict(keel.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 3).cast('float16')) as Tensor;
    expect(out.dtype).toBe('float16');
  }, 60_000);
});

describe('resnet50.preprocessInput', () => {
  it("converts RGB to BGR and subtracts the ImageNet mean ('caffe')", () => {
    const x = keel.tensor([[[[10, 20, 30]]]]);
    const y = keel.applications.resnet50.preprocessInput(x);
    const v = Array.from(y.dataSync());
    expect(v[0]).toBeCloseTo(30 - 103.939, 4);
    expect(v[1]).toBeCloseTo(20 - 116.779, 4);
    expect(v[2]).toBeCloseTo(10 - 123.68, 4);
    expect(() => keel.applications.resnet50.preprocessInput(keel.ones([1, 2, 2, 4]))).toThrow(
      /last dimension must be 3/,
    );
  });
});
