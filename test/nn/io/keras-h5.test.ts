// loadKerasWeights on Keras 2 HDF5 weight files written here with h5wasm in Keras' layout (root
// attrs layer_names/backend/keras_version, one group per layer with weight_names and datasets at
// those paths): by-name loading, Keras' weight order, nested models, and clear errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Group } from 'h5wasm';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applications } from '../../../src/applications/index.js';
import type { Layer, LayersModel, SymbolicTensor } from '../../../src/index.js';
import * as keel from '../../../src/index.js';
import { seededFloats } from '../../helpers.js';

const S = (x: unknown) => x as SymbolicTensor;
const L = keel.layers;
const dir = mkdtempSync(join(tmpdir(), 'keel-io-h5-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await h5wasm.ready;
});

interface H5Weight {
  name: string;
  shape: number[];
  data: Float32Array | Float64Array;
}
interface H5Layer {
  name: string;
  weights: H5Weight[];
}

/** A group path inside `g`, creating the groups on the way. */
function ensureGroup(g: Group, parts: string[]): Group {
  let cur = g;
  for (const p of parts) cur = (cur.get(p) as Group | null) ?? cur.create_group(p);
  return cur;
}

function strings(g: Group, name: string, list: string[]): void {
  if (list.length === 0)
    g.create_attribute(name, new Float64Array(0), [0], '<d'); // what Keras writes for []
  else g.create_attribute(name, list, null, `S${Math.max(...list.map((s) => s.length))}`);
}

/** Writes a Keras 2 weights file (model.save_weights layout; under 'model_weights' for full-model files). */
function writeKerasH5(
  path: string,
  layers: H5Layer[],
  opts: { fullModel?: boolean; chunkLayerNames?: boolean } = {},
): void {
  const f = new h5wasm.File(path, 'w');
  try {
    const root = opts.fullModel ? f.create_group('model_weights') : f;
    const names = layers.map((l) => l.name);
    if (opts.chunkLayerNames) {
      strings(root, 'layer_names0', names.slice(0, 2));
      strings(root, 'layer_names1', names.slice(2));
    } else strings(root, 'layer_names', names);
    root.create_attribute('backend', 'tensorflow');
    root.create_attribute('keras_version', '2.13.1');
    for (const l of layers) {
      const g = root.create_group(l.name);
      strings(
        g,
        'weight_names',
        l.weights.map((w) => w.name),
      );
      for (const w of l.weights) {
        const parts = w.name.split('/');
        const parent = ensureGroup(g, parts.slice(0, -1));
        parent.create_dataset({
          name: parts[parts.length - 1],
          data: w.data,
          shape: w.shape,
          dtype: w.data instanceof Float64Array ? '<d' : '<f',
        });
      }
    }
  } finally {
    f.close();
  }
}

let seed = 100;
const w = (name: string, shape: number[], lo = -1): H5Weight => ({
  name,
  shape,
  data: new Float32Array(
    seededFloats(
      shape.reduce((a, b) => a * b, 1),
      seed++,
      lo,
      1,
    ),
  ),
});
const conv = (name: string, shape: number[]): H5Layer => ({
  name,
  weights: [w(`${name}/kernel:0`, shape), w(`${name}/bias:0`, [shape[3]])],
});
const bn = (name: string, c: number): H5Layer => ({
  name,
  weights: [
    w(`${name}/gamma:0`, [c]),
    w(`${name}/beta:0`, [c]),
    w(`${name}/moving_mean:0`, [c]),
    w(`${name}/moving_variance:0`, [c], 0.5),
  ],
});
const none = (name: string): H5Layer => ({ name, weights: [] });

/** A small ResNet stem + block with Keras ResNet50's layer names. */
function resnetLike(p = '', dtype = 'float32'): LayersModel {
  const x = keel.input({ shape: [10, 10, 3], name: `${p}input_1` });
  let y = S(L.zeroPadding2d({ padding: 1, dtype, name: `${p}conv1_pad` }).apply(x));
  y = S(L.conv2d({ filters: 4, kernelSize: 3, strides: 2, dtype, name: `${p}conv1_conv` }).apply(y));
  y = S(L.batchNormalization({ epsilon: 1.001e-5, dtype, name: `${p}conv1_bn` }).apply(y));
  y = S(L.activation({ activation: 'relu', dtype, name: `${p}conv1_relu` }).apply(y));
  const a = S(L.conv2d({ filters: 4, kernelSize: 1, dtype, name: `${p}conv2_block1_1_conv` }).apply(y));
  const b = S(L.batchNormalization({ dtype, name: `${p}conv2_block1_1_bn` }).apply(a));
  const out = S(L.add({ dtype, name: `${p}conv2_block1_add` }).apply([b, y]));
  return keel.model({ inputs: x, outputs: out, name: `${p}resnet_like` });
}

/** The file layers for resnetLike, in Keras' order, plus a top the model lacks. */
function resnetFile(): H5Layer[] {
  return [
    none('input_1'),
    none('conv1_pad'),
    conv('conv1_conv', [3, 3, 3, 4]),
    bn('conv1_bn', 4),
    none('conv1_relu'),
    conv('conv2_block1_1_conv', [1, 1, 4, 4]),
    bn('conv2_block1_1_bn', 4),
    none('conv2_block1_add'),
    { name: 'predictions', weights: [w('predictions/kernel:0', [4, 10]), w('predictions/bias:0', [10])] },
  ];
}

function expectLoaded(m: Layer, file: H5Layer[], layerName: string, prefix = ''): void {
  const got = (m as LayersModel).getLayer(prefix + layerName).weights.map((v) => Array.from(v.dataSync()));
  const want = file
    .find((l) => l.name === layerName)!
    .weights.map((x) => Array.from(Float32Array.from(x.data)));
  expect(got).toEqual(want);
}

const snapshot = (m: LayersModel) => m.weights.map((v) => Array.from(v.dataSync()));

describe('loadKerasWeights', () => {
  it('loads a Keras 2 weights file by layer name, in Keras order (BN: gamma, beta, moving_mean, moving_variance)', async () => {
    const file = resnetFile();
    const path = join(dir, 'resnet_like.h5');
    writeKerasH5(path, file);
    const m = resnetLike();
    const report = await keel.loadKerasWeights(m, path);
    expect(report).toEqual({
      loaded: ['conv1_conv', 'conv1_bn', 'conv2_block1_1_conv', 'conv2_block1_1_bn'],
      skipped: [],
      missing: [],
    });
    for (const name of report.loaded) expectLoaded(m, file, name);
    // predictions use the moving statistics that were loaded
    const bnl = m.getLayer('conv1_bn');
    expect(bnl.weights.map((v) => m.originalNameOf(v))).toEqual([
      'conv1_bn/gamma',
      'conv1_bn/beta',
      'conv1_bn/moving_mean',
      'conv1_bn/moving_variance',
    ]);
    m.dispose();
  });

  it("reads full-model files ('model_weights' group), chunked layer_names and float64 datasets; converts to 16-bit variables", async () => {
    const file = resnetFile();
    file[2] = {
      name: 'conv1_conv',
      weights: file[2].weights.map((x) => ({ ...x, data: Float64Array.from(x.data) })),
    };
    const path = join(dir, 'full_model.h5');
    writeKerasH5(path, file, { fullModel: true, chunkLayerNames: true });
    const m = resnetLike();
    await keel.loadKerasWeights(m, `file://${path}`);
    for (const name of ['conv1_conv', 'conv1_bn', 'conv2_block1_1_conv']) expectLoaded(m, file, name);
    m.dispose();
    // a float16 model gets the values rounded to float16 (BN stays float32)
    const h = resnetLike('', 'float16');
    await keel.loadKerasWeights(h, path);
    const k = h.getLayer('conv1_conv').weights[0];
    expect(k.dtype).toBe('float16');
    const want = keel.tensor(Array.from(file[2].weights[0].data), [3, 3, 3, 4]).cast('float16');
    expect(Array.from(k.dataSync())).toEqual(Array.from(want.dataSync()));
    want.dispose();
    h.dispose();
  });

  it('descends into a nested model whose layers the file holds by their own names', async () => {
    const path = join(dir, 'nested.h5');
    const file = resnetFile();
    writeKerasH5(path, file);
    const base = resnetLike();
    const x = keel.input({ shape: [10, 10, 3], name: 'outer_in' });
    const y = S(L.globalAveragePooling2d({ name: 'outer_gap' }).apply(S(base.apply(x))));
    const head = L.dense({ units: 2, name: 'outer_head' });
    const outer = keel.model({ inputs: x, outputs: S(head.apply(y)), name: 'outer' });
    const headBefore = head.weights.map((v) => Array.from(v.dataSync()));
    // the head is not in the file: an error by default, kept with allowMissing
    await expect(keel.loadKerasWeights(outer, path)).rejects.toThrow(
      /has no weights for layer\(s\) 'outer_head' of model 'outer'/,
    );
    const report = await keel.loadKerasWeights(outer, path, { allowMissing: true });
    expect(report.missing).toEqual(['outer_head']);
    expect(report.loaded).toHaveLength(4);
    expectLoaded(base, file, 'conv2_block1_1_bn');
    expect(head.weights.map((v) => Array.from(v.dataSync()))).toEqual(headBefore);
    outer.dispose();
  });
});

describe('loadKerasWeights with nested model groups', () => {
  it('loads a nested model saved as one group, matching weight_names to weights by name (any order)', async () => {
    const ii = keel.input({ shape: [4], name: 'grp_in' });
    const ib = S(L.batchNormalization({ name: 'grp_bn' }).apply(ii));
    const id = S(L.dense({ units: 4, name: 'grp_d' }).apply(ib));
    const inner = keel.model({ inputs: ii, outputs: id, name: 'grp_inner' });
    const x = keel.input({ shape: [4], name: 'grp_x' });
    const outer = keel.model({ inputs: x, outputs: S(inner.apply(x)), name: 'grp_outer' });
    // creation order, not Keras' trainable-first order; names carry the outer scope
    const weights = [
      w('grp_inner/grp_bn/gamma:0', [4]),
      w('grp_inner/grp_bn/beta:0', [4]),
      w('grp_inner/grp_bn/moving_mean:0', [4]),
      w('grp_inner/grp_bn/moving_variance:0', [4], 0.5),
      w('grp_inner/grp_d/kernel:0', [4, 4]),
      w('grp_inner/grp_d/bias:0', [4]),
    ];
    const path = join(dir, 'group.h5');
    writeKerasH5(path, [none('grp_x'), { name: 'grp_inner', weights }]);
    const report = await keel.loadKerasWeights(outer, path);
    expect(report.loaded).toEqual(['grp_inner']);
    const byName = (n: string) =>
      Array.from(inner.allWeights.find((x) => x.originalName === n)!.variable.dataSync());
    expect(byName('grp_d/kernel')).toEqual(Array.from(weights[4].data));
    expect(byName('grp_bn/moving_variance')).toEqual(Array.from(weights[3].data));
    outer.dispose();
  });
});

describe('the layout of Keras ResNet50 notop weights', () => {
  it('applications.resNet50({ includeTop: false }) loads every conv and BN layer from a Keras-layout file of ~94 MB', async () => {
    // Keras' resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5 cannot be downloaded here, so write
    // one in its layout from a model with the same layer names, then load it into a fresh model.
    const src = await applications.resNet50({ includeTop: false, weights: null, inputShape: [32, 32, 3] });
    const path = join(dir, 'resnet50_notop.h5');
    writeKerasH5(
      path,
      src.layers.map((l) => ({
        name: l.name,
        weights: l.weights.map((v) => ({
          name: `${l.originalNameOf(v)}:0`,
          shape: v.shape,
          data: v.dataSync() as Float32Array,
        })),
      })),
    );
    const dst = await applications.resNet50({ includeTop: false, weights: null, inputShape: [32, 32, 3] });
    const report = await keel.loadKerasWeights(dst, path);
    expect(report.loaded).toHaveLength(106); // 53 Conv2D + 53 BatchNormalization
    expect(report.loaded.slice(0, 2)).toEqual(['conv1_conv', 'conv1_bn']);
    expect(report.loaded).toContain('conv5_block3_3_bn');
    for (const name of ['conv1_conv', 'conv3_block2_2_bn', 'conv5_block3_3_conv']) {
      const a = src.getLayer(name).weights.map((v) => Array.from(v.dataSync()));
      const b = dst.getLayer(name).weights.map((v) => Array.from(v.dataSync()));
      expect(b).toEqual(a);
    }
    src.dispose();
    dst.dispose();
  });
});

describe('loadKerasWeights errors', () => {
  it('a shape mismatch names the layer, the weight and both shapes; nothing is assigned; skipMismatch skips the layer', async () => {
    const file = resnetFile();
    file[5] = conv('conv2_block1_1_conv', [1, 1, 4, 8]);
    const path = join(dir, 'mismatch.h5');
    writeKerasH5(path, file);
    const m = resnetLike();
    const before = snapshot(m);
    await expect(keel.loadKerasWeights(m, path)).rejects.toThrow(
      /loadKerasWeights: layer 'conv2_block1_1_conv' weight 'conv2_block1_1_conv\/kernel' has shape \[1, 1, 4, 4\] in the model but \[1, 1, 4, 8\] in '.*mismatch.h5' \(as 'conv2_block1_1_conv\/kernel:0'\)/,
    );
    expect(snapshot(m)).toEqual(before);
    const report = await keel.loadKerasWeights(m, path, { skipMismatch: true });
    expect(report.skipped).toEqual(['conv2_block1_1_conv']);
    expectLoaded(m, file, 'conv1_conv');
    m.dispose();
  });

  it('a different number of weights (a conv without bias in the file) is an error naming both counts', async () => {
    const file = resnetFile();
    file[2] = { name: 'conv1_conv', weights: [w('conv1_conv/kernel:0', [3, 3, 3, 4])] };
    const path = join(dir, 'count.h5');
    writeKerasH5(path, file);
    const m = resnetLike();
    await expect(keel.loadKerasWeights(m, path)).rejects.toThrow(
      /layer 'conv1_conv' has 2 weight\(s\) but '.*count.h5' has 1 for it \(conv1_conv\/kernel:0\)/,
    );
    m.dispose();
  });

  it('a model layer missing from the file is an error naming it', async () => {
    const path = join(dir, 'missing_layer.h5');
    writeKerasH5(
      path,
      resnetFile().filter((l) => l.name !== 'conv1_bn'),
    );
    const m = resnetLike();
    await expect(keel.loadKerasWeights(m, path)).rejects.toThrow(
      /has no weights for layer\(s\) 'conv1_bn' of model 'resnet_like'/,
    );
    m.dispose();
  });

  it('missing files, non-HDF5 files and HDF5 files without Keras layout are clear errors', async () => {
    const m = resnetLike();
    await expect(keel.loadKerasWeights(m, join(dir, 'absent.h5'))).rejects.toThrow(
      /weights file '.*absent.h5' does not exist/,
    );
    const text = join(dir, 'text.h5');
    writeFileSync(text, 'this is not hdf5 at all, just some text');
    await expect(keel.loadKerasWeights(m, text)).rejects.toThrow(/'.*text.h5' is not an HDF5 file/);
    const plain = join(dir, 'plain.h5');
    const f = new h5wasm.File(plain, 'w');
    f.create_group('layers').create_group('dense').create_group('vars');
    f.close();
    await expect(keel.loadKerasWeights(m, plain)).rejects.toThrow(
      /has no 'layer_names' attribute; it is not a Keras 2 HDF5 weights file/,
    );
    const dangling = join(dir, 'dangling.h5');
    const file = resnetFile();
    writeKerasH5(dangling, file);
    const g = new h5wasm.File(dangling, 'a');
    (g.get('conv1_bn') as Group).delete_attribute('weight_names');
    (g.get('conv1_bn') as Group).create_attribute(
      'weight_names',
      ['conv1_bn/gamma:0', 'conv1_bn/beta:0', 'conv1_bn/moving_mean:0', 'conv1_bn/nope:0'],
      null,
      'S22',
    );
    g.close();
    await expect(keel.loadKerasWeights(m, dangling)).rejects.toThrow(
      /lists weight 'conv1_bn\/nope:0' for layer 'conv1_bn' but has no such dataset/,
    );
    m.dispose();
  });
});
