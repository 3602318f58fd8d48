// Keel's side of the benchmarks: matMul, conv2d and one training step of the small CNN, on the CPU backend.
// Run by run.mjs (`node bench/keel.mjs '<json spec>'`) after `npm run build`; prints one result line.
import * as keel from '../dist/index.js';
import {
  attempt,
  convFlops,
  convOut,
  emit,
  fmtCase,
  log,
  measureFlops,
  measureInterleaved,
  readSpec,
} from './common.mjs';

const spec = readSpec();
const timing = spec.timing;

/** The CPU backend's device string names the GEMM (native or js), its ISA and threads. */
async function backendInfo() {
  const info = { backend: keel.getBackend() };
  try {
    const { ENGINE } = await import('../dist/tensor/engine.js');
    info.device = ENGINE.backend.device ?? null;
  } catch (err) {
    info.device = null;
    info.deviceError = String(err?.message ?? err);
  }
  try {
    const { gemmInfo } = await import('../dist/backend/cpu/gemm.js');
    info.gemm = gemmInfo();
  } catch (err) {
    info.gemm = null;
    info.gemmError = String(err?.message ?? err);
  }
  return info;
}

/** Checks that a result is finite (a fast kernel that returns garbage is not a result). */
function checkFinite(t, what) {
  const v = t.dataSync();
  for (let i = 0; i < v.length; i += Math.max(1, v.length >> 6)) {
    if (!Number.isFinite(v[i])) throw new Error(`${what}: non-finite output`);
  }
}

function benchMatmul() {
  const out = [];
  for (const n of spec.matmul.sizes) {
    const flops = 2 * n ** 3;
    const row = { n, flops };
    for (const dtype of spec.matmul.dtypes) {
      row[dtype] = attempt(`keel matMul ${n} ${dtype}`, () => {
        const a32 = keel.randomNormal([n, n], 0, 1, 'float32', 1);
        const b32 = keel.randomNormal([n, n], 0, 1, 'float32', 2);
        const a = dtype === 'float32' ? a32 : keel.cast(a32, dtype);
        const b = dtype === 'float32' ? b32 : keel.cast(b32, dtype);
        try {
          keel.tidy(() => checkFinite(keel.matMul(a, b), 'matMul'));
          return measureFlops(
            () =>
              // CPU kernels finish before they return; dataSync would add a 16-bit -> float32
              // decode of the output to the 16-bit rows (PyTorch's side converts nothing)
              keel.tidy(() => {
                keel.matMul(a, b);
              }),
            flops,
            timing,
          );
        } finally {
          keel.dispose([a32, b32, a, b]);
        }
      });
      log(`  keel matMul ${n} ${dtype}: ${fmtCase(row[dtype])}`);
    }
    out.push(row);
  }
  return out;
}

function benchConv() {
  const out = [];
  for (const c of spec.conv.cases) {
    const flops = convFlops(c);
    const row = { name: c.name, flops };
    for (const dtype of spec.conv.dtypes) {
      row[dtype] = attempt(`keel conv2d ${c.name} ${dtype}`, () => {
        const x32 = keel.randomNormal([c.n, c.h, c.w, c.c], 0, 1, 'float32', 3);
        const f32 = keel.randomNormal(
          [c.k, c.k, c.c, c.oc],
          0,
          Math.sqrt(2 / (c.k * c.k * c.c)),
          'float32',
          4,
        );
        const x = dtype === 'float32' ? x32 : keel.cast(x32, dtype);
        const f = dtype === 'float32' ? f32 : keel.cast(f32, dtype);
        try {
          keel.tidy(() => {
            const y = keel.conv2d(x, f, c.stride, c.pad);
            const want = [c.n, convOut(c.h, c.k, c.stride, c.pad), convOut(c.w, c.k, c.stride, c.pad), c.oc];
            if (y.shape.join() !== want.join())
              throw new Error(`conv2d: output shape [${y.shape}], want [${want}]`);
            checkFinite(y, 'conv2d');
          });
          return measureFlops(
            () =>
              keel.tidy(() => {
                keel.conv2d(x, f, c.stride, c.pad); // finished on return (see matMul)
              }),
            flops,
            timing,
          );
        } finally {
          keel.dispose([x32, f32, x, f]);
        }
      });
      log(`  keel conv2d ${c.name} ${dtype}: ${fmtCase(row[dtype])}`);
    }
    out.push(row);
  }
  return out;
}

/**
 * conv 3x3 16 -> relu -> conv 3x3 32 -> relu -> global average pool -> dense 5, Adam: one training
 * step of `mode` as a function, and `finish()`, which checks it and frees its tensors.
 */
function makeTrainStep(mode) {
  const t = spec.train;
  // 'bfloat16_jit': bfloat16 compute, the whole step (forward, backward, Adam) under keel.jit
  const compute = mode.replace(/_jit$/, '');
  const jitted = mode.endsWith('_jit');
  // Created in tidy(): the initial values go, the variables (which tidy keeps) and the returned data stay.
  const { vars, x, y } = keel.tidy(() => {
    const v = (init, name) => keel.variable(init, true, `bench_${mode}_${name}`);
    const labels = Array.from({ length: t.batch }, (_, i) => i % t.classes);
    return {
      vars: [
        v(keel.randomNormal([3, 3, 3, 16], 0, Math.sqrt(2 / 27), 'float32', 11), 'w1'),
        v(keel.zeros([16]), 'b1'),
        v(keel.randomNormal([3, 3, 16, 32], 0, Math.sqrt(2 / 144), 'float32', 12), 'w2'),
        v(keel.zeros([32]), 'b2'),
        v(keel.randomNormal([32, t.classes], 0, Math.sqrt(1 / 32), 'float32', 13), 'w3'),
        v(keel.zeros([t.classes]), 'b3'),
      ],
      x: keel.randomNormal([t.batch, t.size, t.size, 3], 0, 1, 'float32', 14),
      y: keel.oneHot(keel.tensor(labels, [t.batch], 'int32'), t.classes),
    };
  });
  const [w1, b1, w2, b2, w3, b3] = vars;
  const opt = keel.train.adam(1e-3);
  const c = (v) => (compute === 'float32' ? v : keel.cast(v, compute));
  const loss = () => {
    let h = keel.relu(keel.add(keel.conv2d(c(x), c(w1), 1, 'same'), c(b1)));
    h = keel.relu(keel.add(keel.conv2d(h, c(w2), 1, 'same'), c(b2)));
    const logits = keel.cast(keel.add(keel.matMul(keel.mean(h, [1, 2]), c(w3)), c(b3)), 'float32');
    return keel.losses.softmaxCrossEntropy(y, logits);
  };
  let last = Number.NaN;
  let steps = 0;
  const minimize = jitted
    ? keel.jit(() => opt.minimize(loss, true, vars))
    : () => opt.minimize(loss, true, vars);
  const step = () =>
    keel.tidy(() => {
      last = minimize().dataSync()[0];
      steps++;
    });
  // The first step creates Adam's slots; count live tensors after it to catch per-step leaks.
  step();
  const before = keel.memory().numTensors;
  const stepsBefore = steps;
  const finish = () => {
    const leaked = keel.memory().numTensors - before;
    const n = steps - stepsBefore;
    keel.dispose([...vars, x, y]);
    opt.dispose();
    if (!Number.isFinite(last)) throw new Error(`train step: loss is ${last}`);
    return { loss: last, leakedTensorsPerStep: leaked / Math.max(1, n) };
  };
  return { step, finish };
}

/** Every mode's step built first, then timed interleaved (see measureInterleaved). */
function benchTrain() {
  const t = spec.train;
  const out = { flops: t.flops };
  const built = [];
  for (const mode of t.dtypes) {
    const b = attempt(`keel train step ${mode}`, () => ({ mode, ...makeTrainStep(mode) }));
    if (b.error) out[mode] = b;
    else built.push(b);
  }
  const times = attempt('keel train steps', () =>
    measureInterleaved(
      built.map((b) => ({ fn: b.step })),
      { warmup: t.warmup, rounds: t.rounds, perRound: t.perRound },
    ),
  );
  built.forEach((b, k) => {
    out[b.mode] = attempt(`keel train step ${b.mode}`, () => {
      const checked = b.finish();
      if (times.error) throw new Error(times.error);
      const m = times[k];
      return { ...m, warmup: t.warmup, gflops: t.flops / m.ms / 1e6, ...checked };
    });
    log(`  keel train step ${b.mode}: ${fmtCase(out[b.mode])}`);
  });
  return out;
}

const result = { info: await backendInfo() };
log(`keel: ${result.info.device ?? result.info.backend}`);
if (spec.section === 'matmul') result.matmul = benchMatmul();
else if (spec.section === 'conv') result.conv = benchConv();
else if (spec.section === 'train') result.train = benchTrain();
else throw new Error(`keel.mjs: unknown section ${spec.section}`);
result.memory = keel.memory();
emit(result);
