// Model-level benchmarks, Keel side: training steps of an MLP (batchNorm, relu, dropout), the small
// CNN, ResNet18 (64x64, batch 16) and ResNet50 (64x64, batch 8), eager vs jit, float32 vs mixed
// precision: ms/step, kernels launched per step, peak tensor bytes of a step. Prints a table and,
// with --json FILE, writes the results. Run: node bench/models.mjs [--quick] [--json FILE]
// (after `npm run build`); run.mjs calls it and puts PyTorch's numbers beside it.
import { writeFileSync } from 'node:fs';
import * as keel from '../dist/index.js';
import { trainStepStats } from '../dist/nn/training/loop.js';
import { ENGINE } from '../dist/tensor/engine.js';
import { measureInterleaved } from './common.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonAt = args.indexOf('--json');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;
const policies = args.includes('--policy') ? args[args.indexOf('--policy') + 1].split(',') : null;
// --profile: per measured step, time spent in each kernel (fused kernels by their stores' count)
const profile = args.includes('--profile');
const spent = new Map();
const timed = (key, f) => {
  if (!profile) return f();
  const t0 = performance.now();
  const r = f();
  spent.set(key, (spent.get(key) ?? 0) + performance.now() - t0);
  return r;
};
const L = keel.layers;

/** Counts kernel launches on the real backend (the JIT runs fused kernels as one launch). */
let launches = 0;
const backend = ENGINE.backend;
for (const [p, k] of Object.entries(backend.kernels)) {
  backend.kernels[p] = (...a) => {
    if (p !== 'reshape') launches++;
    return timed(p === 'conv2d' || p === 'matMul' ? `${p} ${a[0][0].dtype}` : p, () => k(...a));
  };
}
const compileFused = backend.compileFused.bind(backend);
backend.compileFused = (spec) => {
  const c = compileFused(spec);
  return {
    ...c,
    kernel: (ins, reuse) => {
      launches++;
      return timed(`fused${spec.reduce ? '+reduce' : ''}`, () => c.kernel(ins, reuse));
    },
  };
};

const onehot = (n, k) =>
  keel
    .oneHot(
      keel.tensor1d(
        Array.from({ length: n }, (_, i) => i % k),
        'int32',
      ),
      k,
    )
    .cast('float32');
const seeded = (s) => ({ kernelInitializer: keel.initializers.glorotUniform({ seed: s }) });

const MODELS = {
  mlp: {
    batch: 256,
    build: async () =>
      keel.sequential({
        layers: [
          L.dense({ units: 512, inputShape: [256], ...seeded(1) }),
          L.batchNormalization(),
          L.reLU(),
          L.dropout({ rate: 0.1, seed: 1 }),
          L.dense({ units: 512, ...seeded(2) }),
          L.batchNormalization(),
          L.reLU(),
          L.dropout({ rate: 0.1, seed: 2 }),
          L.dense({ units: 10, ...seeded(3) }),
          L.activation({ activation: 'softmax', dtype: 'float32' }),
        ],
      }),
    x: (b) => keel.randomNormal([b, 256], 0, 1, 'float32', 5),
    classes: 10,
  },
  smallcnn: {
    batch: 32,
    build: async () =>
      keel.sequential({
        layers: [
          L.conv2d({
            filters: 16,
            kernelSize: 3,
            padding: 'same',
            activation: 'relu',
            inputShape: [32, 32, 3],
            ...seeded(4),
          }),
          L.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', ...seeded(5) }),
          L.globalAveragePooling2d(),
          L.dense({ units: 5, ...seeded(6) }),
          L.activation({ activation: 'softmax', dtype: 'float32' }),
        ],
      }),
    x: (b) => keel.randomNormal([b, 32, 32, 3], 0, 1, 'float32', 6),
    classes: 5,
  },
  resnet18: {
    batch: 16,
    build: () => keel.applications.resNet18({ inputShape: [64, 64, 3], classes: 5 }),
    x: (b) => keel.randomNormal([b, 64, 64, 3], 0, 1, 'float32', 7),
    classes: 5,
  },
  resnet50: {
    batch: 8,
    build: () => keel.applications.resNet50({ inputShape: [64, 64, 3], classes: 5, includeTop: true }),
    x: (b) => keel.randomNormal([b, 64, 64, 3], 0, 1, 'float32', 8),
    classes: 5,
  },
};

const CASES = [
  ['mlp', 'float32', false],
  ['mlp', 'float32', true],
  ['mlp', 'mixed_bfloat16', false],
  ['mlp', 'mixed_bfloat16', true],
  ['smallcnn', 'float32', false],
  ['smallcnn', 'float32', true],
  ['smallcnn', 'mixed_bfloat16', false],
  ['smallcnn', 'mixed_bfloat16', true],
  ['resnet18', 'float32', false],
  ['resnet18', 'mixed_float16', false],
  ['resnet18', 'mixed_bfloat16', false],
  ['resnet18', 'float32', true],
  ['resnet18', 'mixed_bfloat16', true],
  ['resnet50', 'float32', false],
  ['resnet50', 'mixed_bfloat16', false],
];

/** A case's model compiled and warmed up, with its kernel count and peak bytes of one step. */
async function prepare(name, policy, jit) {
  const m = MODELS[name];
  keel.mixedPrecision.setGlobalPolicy(policy);
  const model = await m.build();
  keel.mixedPrecision.setGlobalPolicy('float32');
  model.compile({ optimizer: keel.train.adam(1e-3), loss: 'categoricalCrossentropy', jitCompile: jit });
  const x = m.x(m.batch);
  const y = onehot(m.batch, m.classes);
  const heavy = name.startsWith('resnet');
  // steady state: V8 optimises the JavaScript of a step over its first tens of calls (ResNet18
  // jit bf16: ~115 ms/step over the first 5 steps, ~85 ms after 20); PyTorch gets the same warm-up
  const warmup = quick ? 1 : heavy ? 15 : 50;
  for (let i = 0; i < warmup; i++) model.trainOnBatch(x, y);
  // a dynamic loss scale starts high and halves on overflowing steps, which are skipped (no update):
  // measure only once the scale has settled
  for (let i = 0; i < 30 && model.optimizer?.lastStepSkipped; i++) model.trainOnBatch(x, y);
  keel.resetPeakMemory();
  const base = keel.memory().numBytes;
  launches = 0;
  model.trainOnBatch(x, y);
  const kernels = launches;
  const peak = keel.memory().peakBytes - base;
  return { name, policy, jit, batch: m.batch, model, x, y, kernels, peak, heavy };
}

/**
 * Times every case of one model interleaved: rounds of a few steps per case in turn, so that a slow
 * spell of the shared machine hits all of them alike (their ratios are what the table is for).
 */
async function runModel(cases) {
  const ready = [];
  for (const [name, policy, jit] of cases) ready.push(await prepare(name, policy, jit));
  const heavy = ready[0].heavy;
  const rounds = quick ? 1 : heavy ? 3 : 5;
  const perRound = quick ? (heavy ? 1 : 3) : heavy ? 2 : 4;
  spent.clear();
  // prepare() warmed each case up already (before measuring its kernels and peak)
  const times = measureInterleaved(
    ready.map((c) => ({ fn: () => c.model.trainOnBatch(c.x, c.y) })),
    { warmup: 0, rounds, perRound },
  );
  if (profile) {
    const rows = [...spent].sort((a, b) => b[1] - a[1]).slice(0, 14);
    const steps = rounds * perRound * ready.length;
    console.log(
      rows.map(([k, t]) => `    ${k.padEnd(22)} ${(t / steps).toFixed(2).padStart(8)} ms`).join('\n'),
    );
  }
  return ready.map((c, k) => {
    const stats = c.jit ? trainStepStats(c.model) : null;
    keel.dispose([c.x, c.y]);
    c.model.optimizer?.dispose();
    c.model.dispose();
    return {
      model: c.name,
      policy: c.policy,
      jit: c.jit,
      batch: c.batch,
      ms: times[k].ms,
      kernels: c.kernels,
      peakBytes: c.peak,
      graphNodes: stats?.lastNodes ?? null,
    };
  });
}

const results = [];
console.log(`Keel model benchmarks on ${keel.getDevice()}${quick ? ' (quick)' : ''}`);
console.log('model      policy           jit   ms/step  kernels  peak MB');
const selected = CASES.filter(
  ([name, policy]) =>
    (!only || only.includes(name)) &&
    !(quick && name === 'resnet50') &&
    (!policies || policies.includes(policy)),
);
for (const name of [...new Set(selected.map((c) => c[0]))]) {
  for (const r of await runModel(selected.filter((c) => c[0] === name))) {
    results.push(r);
    console.log(
      `${r.model.padEnd(10)} ${r.policy.padEnd(16)} ${String(r.jit).padEnd(5)} ${r.ms.toFixed(1).padStart(7)}  ${String(r.kernels).padStart(7)}  ${(r.peakBytes / 2 ** 20).toFixed(1).padStart(7)}`,
    );
  }
}
const find = (n, p, j) => results.find((r) => r.model === n && r.policy === p && r.jit === j);
const ratio = (a, b) => (a && b ? b.ms / a.ms : null);
const ratios = {
  jitSpeedupMlpF32: ratio(find('mlp', 'float32', true), find('mlp', 'float32', false)),
  jitSpeedupMlpBf16: ratio(find('mlp', 'mixed_bfloat16', true), find('mlp', 'mixed_bfloat16', false)),
  jitSpeedupCnnF32: ratio(find('smallcnn', 'float32', true), find('smallcnn', 'float32', false)),
  jitSpeedupCnnBf16: ratio(
    find('smallcnn', 'mixed_bfloat16', true),
    find('smallcnn', 'mixed_bfloat16', false),
  ),
  jitPeakRatioMlp:
    find('mlp', 'float32', true) &&
    find('mlp', 'float32', true).peakBytes / find('mlp', 'float32', false).peakBytes,
  jitPeakRatioCnn:
    find('smallcnn', 'float32', true) &&
    find('smallcnn', 'float32', true).peakBytes / find('smallcnn', 'float32', false).peakBytes,
  resnet18PeakMixedF16OverF32:
    find('resnet18', 'mixed_float16', false) &&
    find('resnet18', 'mixed_float16', false).peakBytes / find('resnet18', 'float32', false).peakBytes,
  resnet18PeakMixedBf16OverF32:
    find('resnet18', 'mixed_bfloat16', false) &&
    find('resnet18', 'mixed_bfloat16', false).peakBytes / find('resnet18', 'float32', false).peakBytes,
  resnet18Bf16SpeedupOverF32: ratio(
    find('resnet18', 'mixed_bfloat16', false),
    find('resnet18', 'float32', false),
  ),
};
console.log('ratios', JSON.stringify(ratios, null, 1));
if (jsonAt >= 0)
  writeFileSync(
    args[jsonAt + 1],
    `${JSON.stringify({ timestamp: new Date().toISOString(), device: keel.getDevice(), quick, results, ratios }, null, 2)}\n`,
  );
