// TensorFlow.js' side of the benchmarks: matMul and conv2d on @tensorflow/tfjs-backend-wasm (XNNPACK) and the
// training step on the tfjs 'cpu' backend. Run by run.mjs (`node bench/tfjs.mjs '<json spec>'`).
//
// The wasm backend's threaded build is disabled in Node (tfjs issue #3830: its pthread workers are created from
// blob: URLs, which Node's Worker rejects). spec.wasmVariant 'threaded-simd' enables it here with a small shim,
// local to this benchmark process: Blob/URL.createObjectURL remember the text of the worker scripts, and the
// global Worker writes that text to temporary files and starts node:worker_threads Workers on them. XNNPACK sizes
// its pool as min(requested, logical cores / 2), so os.cpus() reports twice the cores while the backend starts.
// 'simd' is the stock single-threaded SIMD build that Node gets by default.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as workerThreads from 'node:worker_threads';
import { attempt, convFlops, emit, fmtCase, log, measure, measureFlops, readSpec } from './common.mjs';

const require = createRequire(import.meta.url);
const spec = readSpec();
const timing = spec.timing;

/** Makes emscripten's pthread workers startable in Node (see the header). */
function installThreadShim() {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-wasm-'));
  const texts = new Map();
  let files = 0;
  const toFile = (text) => {
    const p = join(dir, `worker${files++}.js`);
    writeFileSync(p, text);
    return p;
  };
  // The worker evaluates the main script's factory, whose body refers to the bundle's module-level names.
  const prelude =
    "var require$$0 = require('fs'), require$$1 = require('path'), require$$3 = require('perf_hooks'), " +
    "require$$4 = require('os'), commonjsGlobal = globalThis;\n";
  const NativeBlob = globalThis.Blob;
  globalThis.Blob = class TextBlob extends NativeBlob {
    constructor(parts, opts) {
      super(parts, opts);
      this.text_ = parts.every((p) => typeof p === 'string') ? parts.join('') : null;
    }
  };
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = (blob) => {
    const url = createObjectURL(blob);
    if (blob?.text_ != null) texts.set(url, blob.text_);
    return url;
  };
  class FileWorker extends workerThreads.Worker {
    constructor(url, opts) {
      super(typeof url === 'string' && texts.has(url) ? toFile(texts.get(url)) : url, opts);
    }
    postMessage(msg, transfer) {
      if (msg?.cmd === 'load' && msg.urlOrBlob?.text_ != null) {
        msg = { ...msg, urlOrBlob: toFile(prelude + msg.urlOrBlob.text_) };
      }
      return super.postMessage(msg, transfer);
    }
  }
  // The emscripten glue assigns globalThis.Worker = worker_threads.Worker; keep ours.
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => FileWorker, set: () => {} });
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}

async function loadWasm(variant, threads) {
  const tf = require('@tensorflow/tfjs');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  const info = { tfjsVersion: tf.version.tfjs, requestedVariant: variant };
  const os = require('node:os');
  const realCpus = os.cpus;
  if (variant === 'threaded-simd') {
    installThreadShim();
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    wasm.setThreadsCount(threads);
    os.cpus = () => {
      const c = realCpus();
      return c.length >= 2 * threads ? c : Array.from({ length: 2 * threads }, (_, i) => c[i % c.length]);
    };
  } else {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  // A file path prefix: in Node the backend reads the .wasm files from disk.
  wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'))}/dist/`);
  let ok;
  try {
    ok = await tf.setBackend('wasm');
  } finally {
    os.cpus = realCpus;
  }
  if (!ok || tf.getBackend() !== 'wasm')
    throw new Error(`tfjs: could not start the wasm backend (${variant})`);
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  info.threads = wasm.getThreadsCount();
  info.variant = mt && simd ? 'threaded-simd' : simd ? 'simd' : 'plain';
  info.binary = `tfjs-backend-wasm${mt && simd ? '-threaded-simd' : simd ? '-simd' : ''}.wasm`;
  return { tf, info };
}

function benchMatmul(tf) {
  const out = [];
  for (const n of spec.matmul.sizes) {
    const flops = 2 * n ** 3;
    const row = { n, flops };
    row.float32 = attempt(`tfjs-wasm matMul ${n}`, () => {
      const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
      const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
      try {
        return measureFlops(() => tf.tidy(() => void tf.matMul(a, b).dataSync()), flops, timing);
      } finally {
        tf.dispose([a, b]);
      }
    });
    log(`  tfjs-wasm matMul ${n} float32: ${fmtCase(row.float32)}`);
    out.push(row);
  }
  return out;
}

function benchConv(tf) {
  const out = [];
  for (const c of spec.conv.cases) {
    const flops = convFlops(c);
    const row = { name: c.name, flops };
    row.float32 = attempt(`tfjs-wasm conv2d ${c.name}`, () => {
      const x = tf.randomNormal([c.n, c.h, c.w, c.c], 0, 1, 'float32', 3);
      const f = tf.randomNormal([c.k, c.k, c.c, c.oc], 0, 0.1, 'float32', 4);
      try {
        return measureFlops(
          () => tf.tidy(() => void tf.conv2d(x, f, c.stride, c.pad).dataSync()),
          flops,
          timing,
        );
      } finally {
        tf.dispose([x, f]);
      }
    });
    log(`  tfjs-wasm conv2d ${c.name} float32: ${fmtCase(row.float32)}`);
    out.push(row);
  }
  return out;
}

/** The same network and step as keel.mjs, with tfjs' own ops, variables, loss and Adam. */
function benchTrain(tf) {
  const t = spec.train;
  const w1 = tf.variable(tf.randomNormal([3, 3, 3, 16], 0, Math.sqrt(2 / 27), 'float32', 11));
  const b1 = tf.variable(tf.zeros([16]));
  const w2 = tf.variable(tf.randomNormal([3, 3, 16, 32], 0, Math.sqrt(2 / 144), 'float32', 12));
  const b2 = tf.variable(tf.zeros([32]));
  const w3 = tf.variable(tf.randomNormal([32, t.classes], 0, Math.sqrt(1 / 32), 'float32', 13));
  const b3 = tf.variable(tf.zeros([t.classes]));
  const vars = [w1, b1, w2, b2, w3, b3];
  const x = tf.randomNormal([t.batch, t.size, t.size, 3], 0, 1, 'float32', 14);
  const labels = Array.from({ length: t.batch }, (_, i) => i % t.classes);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), t.classes));
  const opt = tf.train.adam(1e-3);
  const loss = () => {
    let h = tf.relu(tf.add(tf.conv2d(x, w1, 1, 'same'), b1));
    h = tf.relu(tf.add(tf.conv2d(h, w2, 1, 'same'), b2));
    const logits = tf.add(tf.matMul(tf.mean(h, [1, 2]), w3), b3);
    return tf.losses.softmaxCrossEntropy(y, logits);
  };
  let last = Number.NaN;
  const step = () =>
    tf.tidy(() => {
      last = opt.minimize(loss, true, vars).dataSync()[0];
    });
  const out = { flops: t.flops };
  out.float32 = attempt('tfjs-cpu train step', () => {
    const m = measure(step, { warmup: t.tfjsWarmup, reps: t.tfjsSteps, minRepMs: 0 });
    return { ...m, gflops: t.flops / m.ms / 1e6, loss: last };
  });
  log(`  tfjs-cpu train step float32: ${fmtCase(out.float32)}`);
  tf.dispose([...vars, x, y]);
  opt.dispose();
  return out;
}

const result = {};
if (spec.section === 'matmul' || spec.section === 'conv') {
  const { tf, info } = await loadWasm(spec.wasmVariant, spec.threads);
  result.info = info;
  log(`tfjs-wasm ${info.tfjsVersion}: ${info.binary}, ${info.threads} thread(s)`);
  if (spec.section === 'matmul') result.matmul = benchMatmul(tf);
  else result.conv = benchConv(tf);
} else if (spec.section === 'train') {
  const tf = require('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  result.info = { tfjsVersion: tf.version.tfjs, backend: tf.getBackend() };
  log(`tfjs ${tf.version.tfjs}: backend ${tf.getBackend()}`);
  result.train = benchTrain(tf);
} else {
  throw new Error(`tfjs.mjs: unknown section ${spec.section}`);
}
emit(result);
