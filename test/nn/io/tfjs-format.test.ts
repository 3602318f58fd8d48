// model.save / loadLayersModel in the TensorFlow.js layers format: Keel -> Keel, Keel -> tfjs and
// tfjs -> Keel round trips (sequential, functional with a residual Add, BatchNormalization,
// conv/pool, nested models), mixed-precision models, and clear errors for broken files.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayersModel, SymbolicTensor, Tensor } from '../../../src/index.js';
import * as keel from '../../../src/index.js';
import { seededFloats } from '../../helpers.js';

const S = (x: unknown) => x as SymbolicTensor;
const L = keel.layers;
const dir = mkdtempSync(join(tmpdir(), 'keel-io-tfjs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: tfjs' typings are not part of this project's API
let tf: any;
beforeAll(async () => {
  const { log, warn } = console;
  console.log = console.warn = () => {}; // tfjs greets Node users on first use
  try {
    tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    tf.tidy(() => tf.layers.dense({ units: 1 }).apply(tf.zeros([1, 1]))); // the greeting comes on first use
  } finally {
    console.log = log;
    console.warn = warn;
  }
});

/** Gives every weight seeded random values (BN variances positive) so that round trips test something. */
function randomize(m: LayersModel, seed: number): void {
  m.layers.forEach((layer, li) => {
    const ws = layer.getWeights();
    if (ws.length === 0) return;
    const values = ws.map((w, i) => {
      const name = layer.originalNameOf(layer.weights[i]);
      const lo = name.endsWith('moving_variance') ? 0.5 : -1;
      const t = keel.tensor(seededFloats(w.size, seed + li * 31 + i, lo, 1.5), w.shape);
      w.dispose();
      return t;
    });
    layer.setWeights(values);
    keel.dispose(values);
  });
}

function input(shape: number[], seed: number): { keel: Tensor; data: number[] } {
  const data = seededFloats(
    shape.reduce((a, b) => a * b, 1),
    seed,
  );
  return { keel: keel.tensor(data, shape), data };
}

function expectNear(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++)
    worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  expect(worst).toBeLessThanOrEqual(tol);
}

function predict(m: LayersModel, x: Tensor): Float32Array {
  const y = m.predict(x) as Tensor;
  const v = y.dataSync() as Float32Array;
  y.dispose();
  return v;
}

/** A residual CNN: conv -> BN -> ReLU -> conv, + skip (Add), pools, depthwise conv, dense softmax. */
function residualNet(p: string): LayersModel {
  const x = keel.input({ shape: [8, 8, 3], name: `${p}_img` });
  const c1 = S(
    L.conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      kernelRegularizer: keel.regularizers.l2({ l2: 1e-4 }),
      name: `${p}_c1`,
    }).apply(x),
  );
  const bn = S(L.batchNormalization({ name: `${p}_bn` }).apply(c1));
  const r = S(L.reLU({ name: `${p}_relu` }).apply(bn));
  const c2 = S(
    L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: `${p}_c2` }).apply(r),
  );
  const add = S(L.add({ name: `${p}_add` }).apply([c2, c1]));
  const pool = S(L.maxPooling2d({ poolSize: 2, name: `${p}_pool` }).apply(add));
  const pad = S(L.zeroPadding2d({ padding: 1, name: `${p}_pad` }).apply(pool));
  const dw = S(L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, name: `${p}_dw` }).apply(pad));
  const avg = S(L.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same', name: `${p}_avg` }).apply(dw));
  const gap = S(L.globalAveragePooling2d({ name: `${p}_gap` }).apply(avg));
  const out = S(L.dense({ units: 5, activation: 'softmax', name: `${p}_out` }).apply(gap));
  return keel.model({ inputs: x, outputs: out, name: p });
}

function sequentialNet(p: string): LayersModel {
  return keel.sequential({
    name: p,
    layers: [
      L.rescaling({ scale: 0.5, offset: 0.25, inputShape: [6, 6, 2], name: `${p}_scale` }),
      L.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', name: `${p}_conv` }),
      L.batchNormalization({ name: `${p}_bn` }),
      L.reLU({ maxValue: 0.9, name: `${p}_relu` }),
      L.maxPooling2d({ poolSize: 2, name: `${p}_pool` }),
      L.flatten({ name: `${p}_flat` }),
      L.dropout({ rate: 0.25, name: `${p}_drop` }),
      L.dense({ units: 4, activation: 'tanh', biasRegularizer: 'l1', name: `${p}_d1` }),
      L.dense({ units: 2, name: `${p}_d2` }),
      L.activation({ activation: 'logSoftmax', name: `${p}_act` }),
    ],
  });
}

/** A functional model with a nested Sequential head and a nested functional block. */
function nestedNet(p: string): LayersModel {
  const bi = keel.input({ shape: [4], name: `${p}_block_in` });
  const bh = S(L.dense({ units: 4, activation: 'relu', name: `${p}_block_d` }).apply(bi));
  const bo = S(L.add({ name: `${p}_block_add` }).apply([bh, bi]));
  const block = keel.model({ inputs: bi, outputs: bo, name: `${p}_block` });
  const head = keel.sequential({
    name: `${p}_head`,
    layers: [L.dense({ units: 3, inputShape: [4], activation: 'softmax', name: `${p}_head_d` })],
  });
  const x = keel.input({ shape: [5], name: `${p}_in` });
  const h = S(L.dense({ units: 4, name: `${p}_proj` }).apply(x));
  const b = S(block.apply(h));
  const y = S(head.apply(b));
  return keel.model({ inputs: x, outputs: y, name: p });
}

/** Reads a Keel save directory into what tfjs' io.fromMemory takes. */
function readArtifacts(d: string) {
  const json = JSON.parse(readFileSync(join(d, 'model.json'), 'utf8'));
  const bin = readFileSync(join(d, json.weightsManifest[0].paths[0]));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  return {
    json,
    artifacts: {
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData,
    },
  };
}

async function tfPredict(d: string, shape: number[], data: number[]): Promise<Float32Array> {
  const { artifacts } = readArtifacts(d);
  const m = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const y = m.predict(tf.tensor(data, shape));
  const v = y.dataSync() as Float32Array;
  y.dispose();
  m.dispose();
  return v;
}

/** Saves a tfjs model as model.json + weights.bin in `d`, as tfjs-node's file:// handler would. */
async function tfSave(m: { save: (h: unknown) => Promise<unknown> }, d: string): Promise<void> {
  mkdirSync(d, { recursive: true });
  await m.save(
    tf.io.withSaveHandler(
      async (a: {
        modelTopology: unknown;
        weightSpecs: unknown;
        weightData: ArrayBuffer;
        format: string;
        generatedBy: string;
      }) => {
        const json = {
          format: a.format,
          generatedBy: a.generatedBy,
          convertedBy: null,
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }],
        };
        writeFileSync(join(d, 'model.json'), JSON.stringify(json));
        writeFileSync(join(d, 'group1-shard1of1.bin'), new Uint8Array(a.weightData));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      },
    ),
  );
}

describe.each([
  ['functional residual CNN', () => residualNet('fres'), [2, 8, 8, 3]],
  ['sequential CNN', () => sequentialNet('fseq'), [3, 6, 6, 2]],
  ['nested models', () => nestedNet('fnest'), [4, 5]],
] as const)('%s', (_label, build, shape) => {
  it('Keel -> Keel: same architecture, weights and predictions; loads twice', async () => {
    const m = build();
    randomize(m, 7);
    const d = join(dir, `kk-${m.name}`);
    const info = await m.save(`file://${d}`);
    expect(info.modelArtifactsInfo.weightDataBytes).toBe(m.countParams() * 4);
    const x = input([...shape], 3);
    const want = predict(m, x.keel);
    const a = await keel.loadLayersModel(`file://${d}/model.json`);
    const b = await keel.loadLayersModel(d); // a plain directory path works too, and twice
    for (const r of [a, b]) {
      expect(r.name).toBe(m.name);
      expect(r.className).toBe(m.className);
      expect(r.layers.map((l) => [l.name, l.className])).toEqual(m.layers.map((l) => [l.name, l.className]));
      expect(r.layers.map((l) => JSON.stringify(l.getConfig()))).toEqual(
        m.layers.map((l) => JSON.stringify(l.getConfig())),
      );
      expect(r.countParams()).toBe(m.countParams());
      expectNear(predict(r, x.keel), want, 0);
    }
    expect(a.weights[0]).not.toBe(b.weights[0]);
    for (const t of [m, a, b]) t.dispose();
    x.keel.dispose();
  });

  it('Keel -> tfjs: tf.loadLayersModel(tf.io.fromMemory(...)) predicts the same', async () => {
    const m = build();
    randomize(m, 11);
    const d = join(dir, `kt-${m.name}`);
    await m.save(d);
    const x = input([...shape], 5);
    expectNear(await tfPredict(d, [...shape], x.data), predict(m, x.keel));
    m.dispose();
    x.keel.dispose();
  });
});

describe('tfjs -> Keel', () => {
  it('a tfjs functional model (conv, BN, residual Add, pools, nested Sequential) predicts the same in Keel', async () => {
    const inp = tf.input({ shape: [8, 8, 3], name: 'img' });
    const c = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c1' }).apply(inp);
    const bn = tf.layers.batchNormalization({ name: 'bn1', epsilon: 0.01 }).apply(c);
    const r = tf.layers.activation({ activation: 'relu', name: 'act' }).apply(bn);
    const a = tf.layers.add({ name: 'add' }).apply([r, c]);
    const p = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(a);
    const dw = tf.layers.depthwiseConv2d({ kernelSize: 2, name: 'dw', useBias: false }).apply(p);
    const ap = tf.layers.averagePooling2d({ poolSize: 2, strides: 1, name: 'avg' }).apply(dw);
    const g = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(ap);
    const head = tf.sequential({
      name: 'head',
      layers: [tf.layers.dense({ units: 5, inputShape: [4], activation: 'softmax', name: 'd1' })],
    });
    const o = head.apply(g);
    const tm = tf.model({ inputs: inp, outputs: o, name: 'tfnet' });
    // non-trivial BN statistics
    const bnLayer = tm.getLayer('bn1');
    bnLayer.setWeights(
      bnLayer
        .getWeights()
        .map((w: { shape: number[] }, i: number) =>
          tf.tensor(seededFloats(4, 40 + i, i === 3 ? 0.5 : -1, 1.5), w.shape),
        ),
    );
    const d = join(dir, 'tf-functional');
    await tfSave(tm, d);
    const x = input([2, 8, 8, 3], 9);
    const want = tm.predict(tf.tensor(x.data, [2, 8, 8, 3])).dataSync();
    const km = await keel.loadLayersModel(`file://${join(d, 'model.json')}`);
    expect(km.layers.map((l) => l.name)).toEqual([
      'img',
      'c1',
      'bn1',
      'act',
      'add',
      'pool',
      'dw',
      'avg',
      'gap',
      'head',
    ]);
    expectNear(predict(km, x.keel), want);
    km.dispose();
    x.keel.dispose();
  });

  it('a tfjs Sequential model (dense, dropout, flatten, reshape, concatenate-free) predicts the same', async () => {
    const tm = tf.sequential({
      name: 'tfseq',
      layers: [
        tf.layers.reshape({ targetShape: [3, 2], inputShape: [6], name: 'rs' }),
        tf.layers.flatten({ name: 'fl' }),
        tf.layers.dense({
          units: 8,
          activation: 'relu6',
          name: 'h1',
          kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }),
        }),
        tf.layers.dropout({ rate: 0.5, name: 'dr' }),
        tf.layers.dense({ units: 3, activation: 'sigmoid', name: 'h2', kernelInitializer: 'heNormal' }),
      ],
    });
    const d = join(dir, 'tf-sequential');
    await tfSave(tm, d);
    const x = input([4, 6], 21);
    const want = tm.predict(tf.tensor(x.data, [4, 6])).dataSync();
    const km = await keel.loadLayersModel(d);
    expect(km.className).toBe('Sequential');
    expectNear(predict(km, x.keel), want);
    km.dispose();
    x.keel.dispose();
  });
});

describe('mixed precision and 16-bit weights', () => {
  it('policies round-trip; float16 weights use tfjs float16 quantization, bfloat16 become float32; tfjs reads both', async () => {
    const make = (policy: string, p: string) =>
      keel.sequential({
        name: p,
        layers: [
          L.dense({ units: 6, inputShape: [4], activation: 'relu', dtype: policy, name: `${p}_a` }),
          L.batchNormalization({ dtype: policy, name: `${p}_bn` }),
          L.dense({ units: 2, dtype: 'float32', name: `${p}_b` }),
        ],
      }) as LayersModel;
    for (const [policy, varDtype] of [
      ['mixed_float16', 'float32'],
      ['float16', 'float16'],
      ['bfloat16', 'bfloat16'],
    ] as const) {
      const p = `mp_${policy}`;
      const m = make(policy, p);
      randomize(m, 3);
      const d = join(dir, p);
      await m.save(d);
      const { json } = readArtifacts(d);
      const specs = json.weightsManifest[0].weights as {
        name: string;
        dtype: string;
        quantization?: { dtype: string };
      }[];
      const kernel = specs.find((s) => s.name === `${p}_a/kernel`)!;
      expect(kernel.dtype).toBe('float32');
      expect(kernel.quantization?.dtype).toBe(varDtype === 'float16' ? 'float16' : undefined);
      const dtypeJson = json.modelTopology.config.layers[1].config.dtype;
      expect(dtypeJson).toEqual(
        policy.startsWith('mixed') ? { class_name: 'Policy', config: { name: policy } } : policy,
      );
      const r = await keel.loadLayersModel(d);
      expect(r.getLayer(`${p}_a`).dtypePolicy.name).toBe(policy);
      expect(r.getLayer(`${p}_a`).weights[0].dtype).toBe(varDtype);
      expect(r.getLayer(`${p}_b`).dtypePolicy.name).toBe('float32');
      const before = m.getLayer(`${p}_a`).weights[0].dataSync();
      expect(Array.from(r.getLayer(`${p}_a`).weights[0].dataSync())).toEqual(Array.from(before)); // bit-exact
      const x = input([3, 4], 2);
      const want = predict(m, x.keel);
      expectNear(predict(r, x.keel), want, 0);
      // tfjs computes in float32 from the same (exactly widened) weights
      expectNear(await tfPredict(d, [3, 4], x.data), want, 5e-2);
      for (const t of [m, r]) t.dispose();
      x.keel.dispose();
    }
  });
});

describe('other graphs and Keras-written files', () => {
  it('shared layers, two inputs, two outputs and a frozen layer round-trip to Keel and to tfjs', async () => {
    const a = keel.input({ shape: [4], name: 'mio_a' });
    const b = keel.input({ shape: [4], name: 'mio_b' });
    const shared = L.dense({ units: 3, activation: 'tanh', name: 'mio_shared' });
    const ha = S(shared.apply(a));
    const hb = S(shared.apply(b));
    const cat = S(L.concatenate({ name: 'mio_cat' }).apply([ha, hb]));
    const frozen = L.dense({ units: 2, name: 'mio_frozen', trainable: false });
    const o1 = S(frozen.apply(cat));
    const o2 = S(L.multiply({ name: 'mio_mul' }).apply([ha, hb]));
    const m = keel.model({ inputs: [a, b], outputs: [o1, o2], name: 'mio' });
    randomize(m, 13);
    const d = join(dir, 'mio');
    await m.save(d);
    const xa = input([2, 4], 1);
    const xb = input([2, 4], 2);
    const want = (m.predict([xa.keel, xb.keel]) as Tensor[]).map((t) => t.dataSync());
    const r = await keel.loadLayersModel(d);
    expect(r.getLayer('mio_frozen').trainable).toBe(false);
    expect(r.trainableWeights.length).toBe(m.trainableWeights.length);
    const got = (r.predict([xa.keel, xb.keel]) as Tensor[]).map((t) => t.dataSync());
    expect(got).toHaveLength(2);
    got.forEach((g, i) => {
      expectNear(g, want[i], 0);
    });
    const { artifacts } = readArtifacts(d);
    const tm = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const ty = tm.predict([tf.tensor(xa.data, [2, 4]), tf.tensor(xb.data, [2, 4])]);
    ty.forEach((t: { dataSync(): Float32Array }, i: number) => {
      expectNear(t.dataSync(), want[i]);
    });
    for (const t of [m, r, tm]) t.dispose();
  });

  it("reads a Keras 2 model.json (tensorflowjs_converter's: model_config, Model, axis lists, initializers, constraints)", async () => {
    const glorot = { class_name: 'GlorotUniform', config: { seed: null } };
    const modelConfig = {
      class_name: 'Model',
      config: {
        name: 'keras_net',
        layers: [
          {
            name: 'input_1',
            class_name: 'InputLayer',
            config: {
              batch_input_shape: [null, 4, 4, 2],
              dtype: 'float32',
              sparse: false,
              ragged: false,
              name: 'input_1',
            },
            inbound_nodes: [],
          },
          {
            name: 'conv2d',
            class_name: 'Conv2D',
            config: {
              name: 'conv2d',
              trainable: true,
              dtype: 'float32',
              filters: 3,
              kernel_size: [3, 3],
              strides: [1, 1],
              padding: 'same',
              data_format: 'channels_last',
              dilation_rate: [1, 1],
              groups: 1,
              activation: 'relu',
              use_bias: true,
              kernel_initializer: glorot,
              bias_initializer: { class_name: 'Zeros', config: {} },
              kernel_regularizer: { class_name: 'L2', config: { l2: 0.001 } },
              bias_regularizer: null,
              activity_regularizer: null,
              kernel_constraint: { class_name: 'MaxNorm', config: { max_value: 2, axis: 0 } },
              bias_constraint: null,
            },
            inbound_nodes: [[['input_1', 0, 0, {}]]],
          },
          {
            name: 'batch_normalization',
            class_name: 'BatchNormalization',
            config: {
              name: 'batch_normalization',
              trainable: true,
              dtype: { class_name: 'Policy', config: { name: 'float32' } },
              axis: [3],
              momentum: 0.99,
              epsilon: 0.001,
              center: true,
              scale: true,
              beta_initializer: { class_name: 'Zeros', config: {} },
              gamma_initializer: { class_name: 'Ones', config: {} },
              moving_mean_initializer: { class_name: 'Zeros', config: {} },
              moving_variance_initializer: { class_name: 'Ones', config: {} },
              beta_regularizer: null,
              gamma_regularizer: null,
              beta_constraint: null,
              gamma_constraint: null,
            },
            inbound_nodes: [[['conv2d', 0, 0, {}]]],
          },
          {
            name: 'global_average_pooling2d',
            class_name: 'GlobalAveragePooling2D',
            config: {
              name: 'global_average_pooling2d',
              trainable: true,
              dtype: 'float32',
              data_format: 'channels_last',
              keepdims: false,
            },
            inbound_nodes: [[['batch_normalization', 0, 0, {}]]],
          },
          {
            name: 'dense',
            class_name: 'Dense',
            config: {
              name: 'dense',
              trainable: true,
              dtype: 'float32',
              units: 2,
              activation: 'softmax',
              use_bias: true,
              kernel_initializer: {
                class_name: 'TruncatedNormal',
                config: { mean: 0, stddev: 0.02, seed: null },
              },
            },
            inbound_nodes: [[['global_average_pooling2d', 0, 0, {}]]],
          },
        ],
        input_layers: [['input_1', 0, 0]],
        output_layers: [['dense', 0, 0]],
      },
    };
    const shapes: [string, number[]][] = [
      ['conv2d/kernel', [3, 3, 2, 3]],
      ['conv2d/bias', [3]],
      ['batch_normalization/gamma', [3]],
      ['batch_normalization/beta', [3]],
      ['batch_normalization/moving_mean', [3]],
      ['batch_normalization/moving_variance', [3]],
      ['dense/kernel', [3, 2]],
      ['dense/bias', [2]],
    ];
    const values = shapes.map(([, s], i) =>
      seededFloats(
        s.reduce((x, y) => x * y, 1),
        60 + i,
        i === 5 ? 0.5 : -1,
        1.5,
      ),
    );
    const d = join(dir, 'keras-json');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'weights.bin'), new Uint8Array(new Float32Array(values.flat()).buffer));
    const json = {
      format: 'layers-model',
      generatedBy: 'keras v2.13.1',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: {
        keras_version: '2.13.1',
        backend: 'tensorflow',
        model_config: modelConfig,
        training_config: { loss: 'categorical_crossentropy' },
      },
      weightsManifest: [
        {
          paths: ['weights.bin'],
          weights: shapes.map(([name, shape]) => ({ name, shape, dtype: 'float32' })),
        },
      ],
    };
    writeFileSync(join(d, 'model.json'), JSON.stringify(json));
    const km = await keel.loadLayersModel(join(d, 'model.json'));
    expect(km.getLayer('batch_normalization').getConfig()).toMatchObject({ axis: 3 });
    expect(km.getLayer('conv2d').getConfig()).toMatchObject({
      kernel_regularizer: { class_name: 'L1L2', config: { l1: 0, l2: 0.001 } },
    });
    const x = input([2, 4, 4, 2], 8);
    // tfjs knows only L1L2 regularizers: give it the same model without the Keras 'L2'
    const forTf = JSON.parse(JSON.stringify(json.modelTopology));
    forTf.model_config.config.layers[1].config.kernel_regularizer = null;
    const tm = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: forTf,
        weightSpecs: json.weightsManifest[0].weights,
        weightData: readArtifacts(d).artifacts.weightData,
      }),
    );
    expectNear(predict(km, x.keel), tm.predict(tf.tensor(x.data, [2, 4, 4, 2])).dataSync());
    km.dispose();
    tm.dispose();
  });
});

describe('model.json errors', () => {
  const saved = join(dir, 'err-base');
  beforeAll(async () => {
    const m = sequentialNet('errnet');
    await m.save(saved);
    m.dispose();
  });
  const copyWith = (
    name: string,
    edit: (json: Record<string, unknown>) => void,
    bin?: (b: Buffer) => Buffer,
  ): string => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    const json = JSON.parse(readFileSync(join(saved, 'model.json'), 'utf8'));
    edit(json);
    writeFileSync(join(d, 'model.json'), JSON.stringify(json));
    const b = readFileSync(join(saved, 'weights.bin'));
    writeFileSync(join(d, 'weights.bin'), bin ? bin(b) : b);
    return d;
  };

  it('missing model.json and missing weight files are named', async () => {
    await expect(keel.loadLayersModel(join(dir, 'nope', 'model.json'))).rejects.toThrow(
      /model file '.*nope\/model.json' does not exist/,
    );
    const d = copyWith('err-paths', (j) => {
      (j.weightsManifest as { paths: string[] }[])[0].paths = ['missing.bin'];
    });
    await expect(keel.loadLayersModel(d)).rejects.toThrow(/weights file '.*missing.bin' does not exist/);
  });

  it('corrupt JSON and non-model JSON are clear errors', async () => {
    const d = join(dir, 'err-json');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'model.json'), '{"modelTopology": {');
    await expect(keel.loadLayersModel(d)).rejects.toThrow(/model.json' is not valid JSON/);
    writeFileSync(join(d, 'model.json'), '{"hello": 1}');
    await expect(keel.loadLayersModel(d)).rejects.toThrow(/has no 'modelTopology' object/);
    writeFileSync(join(d, 'model.json'), '{"format": "graph-model", "modelTopology": {}}');
    await expect(keel.loadLayersModel(d)).rejects.toThrow(/graph model/);
    await expect(keel.loadLayersModel('http://example.com/model.json')).rejects.toThrow(
      /only 'file:\/\/' URLs and plain paths/,
    );
  });

  it('unknown layer classes and malformed configs name the layer', async () => {
    const d = copyWith('err-class', (j) => {
      (j.modelTopology as { config: { layers: { class_name: string }[] } }).config.layers[2].class_name =
        'LSTM';
    });
    await expect(keel.loadLayersModel(d)).rejects.toThrow(
      /unknown layer class 'LSTM'; Keel can load Dense, .*Conv2D/,
    );
    const d2 = copyWith('err-topo', (j) => {
      (j.modelTopology as { class_name: string }).class_name = 'Dense';
    });
    await expect(keel.loadLayersModel(d2)).rejects.toThrow(
      /class_name is 'Dense'; expected one of Sequential, Functional, Model/,
    );
    const d3 = copyWith('err-cfg', (j) => {
      (
        j.modelTopology as { config: { layers: { config: Record<string, unknown> }[] } }
      ).config.layers[2].config.padding = 'full';
    });
    await expect(keel.loadLayersModel(d3)).rejects.toThrow(
      /Conv2D 'errnet_conv': padding must be 'valid' or 'same', got 'full'/,
    );
  });

  it('truncated weights, a mismatched shape, and missing or extra weights are errors naming the weights', async () => {
    const trunc = copyWith(
      'err-trunc',
      () => {},
      (b) => b.subarray(0, b.byteLength - 4),
    );
    await expect(keel.loadLayersModel(trunc)).rejects.toThrow(
      /'weights.bin' holds \d+ bytes but its manifest describes \d+/,
    );
    const shape = copyWith('err-shape', (j) => {
      const specs = (j.weightsManifest as { weights: { name: string; shape: number[] }[] }[])[0].weights;
      const k = specs.find((s) => s.name === 'errnet_d2/kernel')!;
      k.shape = [2, 4]; // same byte count, wrong shape
    });
    await expect(keel.loadLayersModel(shape)).rejects.toThrow(
      /layer 'errnet_d2' weight 'errnet_d2\/kernel' has shape \[4, 2\] in the model but \[2, 4\] in/,
    );
    const renamed = copyWith('err-missing', (j) => {
      const specs = (j.weightsManifest as { weights: { name: string }[] }[])[0].weights;
      specs.find((s) => s.name === 'errnet_d1/bias')!.name = 'other/bias';
    });
    await expect(keel.loadLayersModel(renamed)).rejects.toThrow(
      /no values for 1 weight\(s\) of layer\(s\) 'errnet_d1': errnet_d1\/bias/,
    );
    await expect(keel.loadLayersModel(renamed, { strict: false })).resolves.toBeDefined();
  });

  it('loading, failing to load and saving leak no tensors', async () => {
    const before = keel.memory().numTensors;
    const m = await keel.loadLayersModel(saved);
    await m.save(join(dir, 'leak-resave'));
    await m.saveWeights(join(dir, 'leak.safetensors'));
    await m.loadWeights(join(dir, 'leak.safetensors'));
    m.dispose();
    const bad = join(dir, 'err-shape');
    await expect(keel.loadLayersModel(bad)).rejects.toThrow();
    expect(keel.memory().numTensors).toBe(before);
  });

  it('layer names repeated across nested models cannot be saved (their weights would collide)', async () => {
    const ii = keel.input({ shape: [2], name: 'dupname_in' });
    const inner = keel.model({
      inputs: ii,
      outputs: S(L.dense({ units: 2, name: 'dupname' }).apply(ii)),
      name: 'dupname_inner',
    });
    const x = keel.input({ shape: [2], name: 'dupname_x' });
    const y = S(L.dense({ units: 2, name: 'dupname' }).apply(S(inner.apply(x))));
    const m = keel.model({ inputs: x, outputs: y, name: 'dupname_outer' });
    await expect(m.save(join(dir, 'dup'))).rejects.toThrow(
      /two weights are named 'dupname\/kernel'; layer names must be unique/,
    );
    await expect(m.saveWeights(join(dir, 'dup.safetensors'))).rejects.toThrow(
      /two weights are named 'dupname\/kernel'/,
    );
    expect(readdirSync(dir).filter((f) => f.startsWith('dup'))).toEqual([]);
    m.dispose();
  });

  it('save refuses a path that is a file and a model without inputs; nothing is half-written', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const m = sequentialNet('errsave');
    await expect(m.save(file)).rejects.toThrow(/is a file; expected a directory/);
    const unbuilt = keel.sequential({ name: 'unbuilt', layers: [L.dense({ units: 2, name: 'unbuilt_d' })] });
    await expect(unbuilt.save(join(dir, 'unbuilt'))).rejects.toThrow(/has no inputs yet/);
    expect(existsSync(join(dir, 'unbuilt'))).toBe(false);
    m.dispose();
  });
});
