#!/usr/bin/env node
// Keel's benchmark suite (`npm run bench`): matMul, conv2d and a small-CNN training step, each run side by side
// with TensorFlow.js (wasm/XNNPACK for the kernels, the cpu backend for training) and PyTorch (CPU) in this one
// invocation. Every engine runs in its own child process (bench/keel.mjs, bench/tfjs.mjs, bench/torch_bench.py)
// with the same shapes and thread count; this script prints a table and writes bench/results/latest.json.
//
//   node bench/run.mjs [--quick] [--threads N] [--only matmul,conv,train,models,scaling] [--no-torch] [--no-tfjs]
//                      [--tfjs-cpu | --no-tfjs-cpu] [--no-install] [--wait-quiet SECONDS] [--torch-omp-default]
//                      [--out FILE]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convFlops, RESULT_MARK } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// Steady state: the JIT's hot fused kernels are compiled to native code (src/backend/cpu/
// kernel-compiler.ts) at their 9th run, inside every warm-up, waiting for the compiler, rather
// than in the background while the timed steps run. The children inherit it.
process.env.KEEL_CODEGEN ??= 'sync';
const root = resolve(here, '..');
const PYTHON = '/usr/bin/python3';

// ---------------------------------------------------------------- options

function parseArgs(argv) {
  const o = {
    quick: false,
    threads: 2,
    only: ['matmul', 'conv', 'train'],
    torch: true,
    tfjs: true,
    tfjsCpu: null,
    install: true,
    waitQuiet: null,
    torchOmpWait: 'PASSIVE',
    out: join(here, 'results', 'latest.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--threads') o.threads = Number.parseInt(value(), 10);
    else if (a === '--only') o.only = value().split(',');
    else if (a === '--no-torch') o.torch = false;
    else if (a === '--no-tfjs') o.tfjs = false;
    else if (a === '--tfjs-cpu') o.tfjsCpu = true;
    else if (a === '--no-tfjs-cpu') o.tfjsCpu = false;
    else if (a === '--no-install') o.install = false;
    else if (a === '--wait-quiet') o.waitQuiet = Number(value());
    else if (a === '--torch-omp-default') o.torchOmpWait = null;
    else if (a === '--out') o.out = resolve(value());
    else if (a === '--help' || a === '-h') {
      const usage = readFileSync(fileURLToPath(import.meta.url), 'utf8')
        .split('\n')
        .slice(6, 9);
      console.log(`${usage.map((l) => l.slice(3)).join('\n')}\nOptions are described in bench/README.md.`);
      process.exit(0);
    } else throw new Error(`unknown option ${a} (try --help)`);
  }
  if (!(o.threads >= 1)) throw new Error('--threads must be a positive integer');
  o.onlyGiven = o.only.join() !== 'matmul,conv,train';
  for (const s of o.only)
    if (!['matmul', 'conv', 'train', 'models', 'scaling'].includes(s))
      throw new Error(`--only: unknown section ${s}`);
  o.onlyModels = o.only.includes('models');
  o.onlyScaling = o.only.includes('scaling');
  o.only = o.only.filter((s) => s !== 'models' && s !== 'scaling');
  // The tfjs cpu training step takes ~20 s; --quick skips it unless --tfjs-cpu asks for it.
  if (o.tfjsCpu === null) o.tfjsCpu = !o.quick;
  // Before each engine, wait up to this many seconds for other processes to leave the CPUs (0: never wait).
  if (o.waitQuiet === null) o.waitQuiet = o.quick ? 0 : 20;
  if (!(o.waitQuiet >= 0)) throw new Error('--wait-quiet needs a number of seconds');
  return o;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`bench/run.mjs: ${err.message}`);
  process.exit(2);
}

// ---------------------------------------------------------------- what is measured

const CONV_CASES = [
  { name: 'b8 56x56x64 k3 64', n: 8, h: 56, w: 56, c: 64, k: 3, oc: 64, stride: 1, pad: 'same' },
  { name: 'b8 28x28x128 k3 128', n: 8, h: 28, w: 28, c: 128, k: 3, oc: 128, stride: 1, pad: 'same' },
  { name: 'b8 14x14x256 k3 256', n: 8, h: 14, w: 14, c: 256, k: 3, oc: 256, stride: 1, pad: 'same' },
  { name: 'b8 56x56x64 k1 256', n: 8, h: 56, w: 56, c: 64, k: 1, oc: 256, stride: 1, pad: 'same' },
  { name: 'b4 112x112x3 k7 64 s2 (stem)', n: 4, h: 112, w: 112, c: 3, k: 7, oc: 64, stride: 2, pad: 'same' },
];

/** FLOPs of one training step: 3x the forward FLOPs of the convolutions and the dense layer. */
function trainFlops(batch, size, classes) {
  const conv1 = convFlops({ n: batch, h: size, w: size, c: 3, k: 3, oc: 16, stride: 1, pad: 'same' });
  const conv2 = convFlops({ n: batch, h: size, w: size, c: 16, k: 3, oc: 32, stride: 1, pad: 'same' });
  const dense = 2 * batch * 32 * classes;
  return { forward: conv1 + conv2 + dense, step: 3 * (conv1 + conv2 + dense) };
}

const TRAIN = { batch: 32, size: 32, classes: 5 };
const trainF = trainFlops(TRAIN.batch, TRAIN.size, TRAIN.classes);

const SPEC = {
  threads: opts.threads,
  quick: opts.quick,
  timing: opts.quick
    ? { warmup: 1, reps: 3, minRepMs: 40, maxCaseMs: 1000, minReps: 2 }
    : { warmup: 3, reps: 7, minRepMs: 200, maxCaseMs: 4000, minReps: 3 },
  matmul: {
    // 2048 for the CPU-speed issue's GEMM targets (skipped by --quick)
    sizes: opts.quick ? [256, 512, 1024] : [256, 512, 1024, 2048],
    dtypes: ['float32', 'float16', 'bfloat16'],
    torchDtypes: ['float32', 'bfloat16'],
  },
  conv: { cases: CONV_CASES, dtypes: ['float32', 'bfloat16'], torchDtypes: ['float32', 'bfloat16'] },
  train: {
    ...TRAIN,
    flops: trainF.step,
    forwardFlops: trainF.forward,
    dtypes: ['float32', 'bfloat16', 'float32_jit', 'bfloat16_jit'],
    torchModes: ['float32', 'bfloat16_autocast'],
    // Steady state, as a training run sees it: V8 optimises Keel's JavaScript (tracing, tape, op
    // wrappers) over the first ~50 steps, on the core the kernels' second thread needs (the small-CNN
    // bf16 jit step: ~9 ms over the first 50 steps, ~6.4 ms after). Every engine gets the same warm-up.
    warmup: opts.quick ? 1 : 60,
    // timed steps: `rounds` rounds of `perRound` steps per mode, the modes interleaved
    rounds: opts.quick ? 1 : 6,
    perRound: opts.quick ? 3 : 5,
    tfjsWarmup: 1,
    tfjsSteps: opts.quick ? 1 : 2,
  },
};

// ---------------------------------------------------------------- machine load

/**
 * CPU clock ticks from /proc (Linux): the machine's busy, idle and steal (time the hypervisor gave to other
 * tenants) and this process's waited-for children (the benchmark engines).
 */
function cpuTimes() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = f;
    const self = readFileSync('/proc/self/stat', 'utf8');
    const rest = self.slice(self.lastIndexOf(')') + 2).split(' ');
    const children = Number(rest[13]) + Number(rest[14]); // cutime + cstime
    return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal, children };
  } catch {
    return null;
  }
}

/** Clock ticks between two cpuTimes(): the machine's total, other processes' (not our children's) and steal. */
function ticksBetween(a, b) {
  if (!a || !b) return null;
  return {
    total: b.busy + b.idle + b.steal - (a.busy + a.idle + a.steal),
    others: Math.max(0, b.busy - a.busy - (b.children - a.children)),
    steal: b.steal - a.steal,
  };
}

/**
 * What else ran while an engine ran, in percent of the whole machine: CPU used by processes other than the
 * benchmark engines (other users' builds and tests), and CPU time stolen by the hypervisor.
 */
function contention(t) {
  if (!t || !(t.total > 0)) return { otherProcessesPercent: null, stealPercent: null };
  const pct = (x) => Math.round((x / t.total) * 1000) / 10;
  return { otherProcessesPercent: pct(t.others), stealPercent: pct(t.steal) };
}

/** Ticks of the engines run in the current section, summed. */
let sectionTicks = { total: 0, others: 0, steal: 0 };

// ---------------------------------------------------------------- children

const notes = [];
const problems = [];

const sleepMs = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Percent of the machine's CPU that other processes used over the next `ms` (nothing of ours runs meanwhile). */
function busyPercent(ms) {
  const a = cpuTimes();
  sleepMs(ms);
  const b = cpuTimes();
  if (!a || !b) return null;
  const total = b.busy + b.idle + b.steal - (a.busy + a.idle + a.steal);
  return total > 0 ? ((b.busy + b.steal - a.busy - a.steal) / total) * 100 : null;
}

/**
 * Waits (up to --wait-quiet seconds) until other processes use less than a quarter of the machine, so that an
 * engine does not start in the middle of someone else's build. Returns what it saw, for the JSON.
 */
let stopWaiting = false;
function waitQuiet() {
  // Waiting stops after the first 5 minutes of the run, so that a busy machine cannot stretch the run past 10,
  // and after a wait that timed out (the machine is busy for good: waiting again would only add time).
  if (!opts.waitQuiet || stopWaiting || Date.now() - started.getTime() > 300_000) return null;
  const t0 = performance.now();
  let busy = busyPercent(500);
  while (busy != null && busy > 25 && performance.now() - t0 < opts.waitQuiet * 1000) {
    sleepMs(1500);
    busy = busyPercent(500);
  }
  const waitedS = Math.round((performance.now() - t0) / 100) / 10;
  const quiet = busy == null || busy <= 25;
  if (!quiet) {
    stopWaiting = true;
    notes.push(
      `the machine stayed busy (${busy.toFixed(0)}% by other processes after ${waitedS}s): stopped waiting`,
    );
  }
  if (waitedS >= 2)
    console.log(
      `  (waited ${waitedS}s for a quieter machine: ${quiet ? 'quiet' : `still ${busy.toFixed(0)}% busy`})`,
    );
  return { waitedS, busyPercentAtStart: busy == null ? null : Math.round(busy), quiet };
}

/** Runs a child that prints `RESULT_MARK {json}`; progress (its stderr) shows through. */
function runChild(label, cmd, args, { timeoutS, env = {} }) {
  const quiet = waitQuiet();
  const c0 = cpuTimes();
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    timeout: timeoutS * 1000,
    maxBuffer: 64 * 2 ** 20,
  });
  const wallS = (performance.now() - t0) / 1000;
  const ticks = ticksBetween(c0, cpuTimes());
  const load = { ...contention(ticks), waitedForQuiet: quiet, ticks };
  if (load.otherProcessesPercent != null) {
    console.log(`  (other processes used ${load.otherProcessesPercent}% of the machine's CPU meanwhile)`);
  }
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith(RESULT_MARK));
  if (line) return { ...JSON.parse(line.slice(RESULT_MARK.length)), wallS, load };
  const why =
    r.error?.code === 'ETIMEDOUT'
      ? `timed out after ${timeoutS}s`
      : r.error
        ? r.error.message
        : `exit ${r.status ?? r.signal}`;
  const msg = `${label}: no result (${why})`;
  console.log(`  ${msg}`);
  problems.push(msg);
  return { error: why, wallS, load };
}

const childTimeout = (full) => (opts.quick ? Math.ceil(full / 3) : full);

/** An engine run during which other processes took more than this share of the CPUs is measured again. */
const BUSY_RETRY_PERCENT = 25;
/** ... unless the whole run has taken this long already (the full run stays under 10 minutes). */
const RETRY_BUDGET_S = 240;

/**
 * Runs an engine; in a full run, when other processes used much of the machine meanwhile, runs it once more and
 * keeps the run with less contention (the other one's contention is recorded under `load.otherRun`).
 */
function runEngine(runOnce, { retry = true } = {}) {
  let r = runOnce();
  const busy = (x) => x.load?.otherProcessesPercent ?? 0;
  const elapsedS = (Date.now() - started.getTime()) / 1000;
  if (retry && !opts.quick && !r.error && busy(r) > BUSY_RETRY_PERCENT && elapsedS < RETRY_BUDGET_S) {
    console.log('  (the machine was busy: measuring again, keeping the quieter run)');
    const again = runOnce();
    const [kept, other] = !again.error && busy(again) < busy(r) ? [again, r] : [r, again];
    kept.load.otherRun = {
      otherProcessesPercent: other.load?.otherProcessesPercent ?? null,
      error: other.error,
    };
    r = kept;
  }
  const ticks = r.load?.ticks;
  if (ticks) for (const k of Object.keys(sectionTicks)) sectionTicks[k] += ticks[k];
  return r;
}

function runKeel(section) {
  return runEngine(() =>
    runChild(
      `keel ${section}`,
      process.execPath,
      [join(here, 'keel.mjs'), JSON.stringify({ ...SPEC, section })],
      {
        timeoutS: childTimeout(section === 'train' ? 240 : 300),
        env: { KEEL_NUM_THREADS: String(opts.threads) },
      },
    ),
  );
}

let wasmVariant = 'threaded-simd';
function runTfjs(section) {
  const run = (variant) =>
    runChild(
      `tfjs ${section} (${variant})`,
      process.execPath,
      [join(here, 'tfjs.mjs'), JSON.stringify({ ...SPEC, section, wasmVariant: variant })],
      { timeoutS: section === 'train' ? (opts.quick ? 120 : 300) : childTimeout(240) },
    );
  // The tfjs cpu step (single-threaded, ~20-40 s/step) is not repeated.
  if (section === 'train') return runEngine(() => run(null), { retry: false });
  return runEngine(() => {
    const r = run(wasmVariant);
    if (!r.error || wasmVariant !== 'threaded-simd') return r;
    notes.push(
      `tfjs-wasm threaded-simd failed in Node (${r.error}); fell back to the single-threaded SIMD build`,
    );
    wasmVariant = 'simd';
    return run(wasmVariant);
  });
}

function runTorch(section) {
  return runEngine(() =>
    runChild(
      `torch ${section}`,
      PYTHON,
      [join(here, 'torch_bench.py'), JSON.stringify({ ...SPEC, section })],
      {
        timeoutS: childTimeout(300),
        env: {
          OMP_NUM_THREADS: String(opts.threads),
          MKL_NUM_THREADS: String(opts.threads),
          // Idle OpenMP threads sleep instead of spinning: with the library default, PyTorch's steps ran 3-15x
          // slower whenever other processes shared the 2 cores (Keel's pool spins briefly, then blocks).
          ...(opts.torchOmpWait ? { OMP_WAIT_POLICY: opts.torchOmpWait } : {}),
        },
      },
    ),
  );
}

/** PyTorch for /usr/bin/python3: Debian's python3-torch, installed with apt-get when missing. */
function ensureTorch() {
  if (!opts.torch) return { ok: false, reason: 'disabled with --no-torch' };
  if (!existsSync(PYTHON)) return { ok: false, reason: `${PYTHON} not found` };
  const check = () =>
    spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  let r = check();
  if (r.status === 0) return { ok: true, version: r.stdout.trim() };
  if (!opts.install) return { ok: false, reason: `${PYTHON} cannot import torch and --no-install was given` };
  if (!existsSync('/usr/bin/apt-get'))
    return { ok: false, reason: `${PYTHON} cannot import torch and apt-get is unavailable` };
  const isRoot = process.getuid?.() === 0;
  const sudo = !isRoot && existsSync('/usr/bin/sudo') ? ['sudo', '-n'] : [];
  if (!isRoot && sudo.length === 0)
    return { ok: false, reason: 'torch missing; apt-get needs root (no sudo)' };
  const apt = (args) => {
    const cmd = [...sudo, 'apt-get', ...args];
    console.log(`$ ${cmd.join(' ')}`);
    return spawnSync(cmd[0], cmd.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 20 * 60 * 1000,
    }).status;
  };
  const pkgs = ['install', '-y', 'python3-torch', 'libopenblas0-pthread'];
  console.log(
    `PyTorch is missing for ${PYTHON}: installing Debian's python3-torch and OpenBLAS (takes a few minutes).`,
  );
  let status = apt(pkgs);
  if (status !== 0) {
    console.log('apt-get install failed; refreshing the package lists and retrying.');
    apt(['update']);
    status = apt(pkgs);
  }
  r = check();
  if (r.status === 0) return { ok: true, version: r.stdout.trim(), installed: true };
  return { ok: false, reason: `apt-get install python3-torch failed (exit ${status})` };
}

// ---------------------------------------------------------------- run

/** The SIMD features that matter to these kernels, from /proc/cpuinfo. */
function cpuFlags() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    const have = new Set(line.split(':')[1].trim().split(/\s+/));
    return ['fma', 'f16c', 'avx2', 'avx512f', 'avx512_bf16', 'avx512_fp16', 'amx_bf16'].filter((f) =>
      have.has(f),
    );
  } catch {
    return null;
  }
}

const started = new Date();
const machine = {
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  logicalCores: cpus().length,
  availableParallelism: availableParallelism(),
  memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  platform: `${process.platform} ${release()} ${process.arch}`,
  loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  cpuFlags: cpuFlags(),
  threads: opts.threads,
};
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
console.log(
  `Keel ${pkg.version} benchmarks${opts.quick ? ' (--quick)' : ''}: ${machine.cpu}, ${machine.logicalCores} logical cores, ` +
    `node ${machine.node}, ${opts.threads} threads per engine, load average ${machine.loadavgAtStart.join(' ')}`,
);
if (!existsSync(join(root, 'dist', 'index.js')))
  throw new Error('dist/index.js missing: run `npm run build` first');
if (!existsSync(join(root, 'build', 'keel_native.node'))) {
  notes.push(
    'build/keel_native.node is absent: Keel ran its JavaScript GEMM (build it with `node scripts/build-native.mjs`)',
  );
}

const torch = ensureTorch();
if (!torch.ok) {
  const msg = `PyTorch columns skipped: ${torch.reason}`;
  console.log(msg);
  notes.push(msg);
}

const raw = { keel: {}, tfjs: {}, torch: {} };
const sectionLoad = {};
const titles = {
  matmul: 'matMul (square, GFLOP/s)',
  conv: 'conv2d NHWC (GFLOP/s)',
  train: 'training step (small CNN)',
};
for (const section of opts.only) {
  const load = { loadavg1mBefore: Math.round(loadavg()[0] * 100) / 100 };
  console.log(`\n== ${titles[section]}  (load average ${loadavg()[0].toFixed(2)})`);
  sectionTicks = { total: 0, others: 0, steal: 0 };
  raw.keel[section] = runKeel(section);
  if (opts.tfjs && (section !== 'train' || opts.tfjsCpu)) raw.tfjs[section] = runTfjs(section);
  if (torch.ok) raw.torch[section] = runTorch(section);
  Object.assign(load, contention(sectionTicks));
  sectionLoad[section] = load;
}
if (opts.tfjs && !opts.tfjsCpu && opts.only.includes('train'))
  notes.push('tfjs cpu training step skipped (--quick; add --tfjs-cpu)');

// ---------------------------------------------------------------- tables

/** A measurement {ms, gflops} or undefined when missing/failed. */
const ok = (m) => (m && !m.error && Number.isFinite(m.ms) ? m : undefined);
const rowBy = (list, key, value) => (Array.isArray(list) ? list.find((r) => r[key] === value) : undefined);

const rows = [];
/** Repetitions that differ by more than 1.5x: the machine was busy while this was measured. */
const noisy = (m) =>
  m != null && m.samples?.length > 1 && Math.max(...m.samples) > 1.5 * Math.min(...m.samples);
/** A table row: ratio = Keel's speed / the peer's speed (> 1: Keel is faster). */
function addRow(name, keelM, peerName, peerM, unit = 'gflops') {
  const k = ok(keelM);
  const p = ok(peerM);
  rows.push({
    name,
    keel: k ? (unit === 'ms' ? k.ms : k.gflops) : null,
    peer: peerName,
    peerValue: p ? (unit === 'ms' ? p.ms : p.gflops) : null,
    unit: unit === 'ms' ? 'ms' : 'GFLOP/s',
    ratio: k && p ? p.ms / k.ms : null,
    noisy: [k, p].some(noisy),
    keelError: keelM?.error ?? (keelM ? undefined : 'not run'),
    peerError: peerM?.error ?? (peerM ? undefined : 'not run'),
  });
}

const wasmLabel = () => {
  const i = raw.tfjs.matmul?.info ?? raw.tfjs.conv?.info;
  return i ? `tfjs-wasm ${i.variant} ${i.threads}t` : 'tfjs-wasm';
};

if (opts.only.includes('matmul')) {
  for (const n of SPEC.matmul.sizes) {
    const k = rowBy(raw.keel.matmul?.matmul, 'n', n);
    const w = rowBy(raw.tfjs.matmul?.matmul, 'n', n);
    const t = rowBy(raw.torch.matmul?.matmul, 'n', n);
    addRow(`matMul ${n} f32`, k?.float32, `${wasmLabel()} f32`, w?.float32);
    if (torch.ok) addRow(`matMul ${n} f32`, k?.float32, 'torch f32', t?.float32);
    if (torch.ok) addRow(`matMul ${n} f32`, k?.float32, 'OpenBLAS sgemm (numpy)', t?.openblas_float32);
    addRow(`matMul ${n} f16`, k?.float16, 'keel f32', k?.float32);
    addRow(`matMul ${n} bf16`, k?.bfloat16, 'keel f32', k?.float32);
    if (torch.ok) addRow(`matMul ${n} bf16`, k?.bfloat16, 'torch bf16', t?.bfloat16);
  }
}
if (opts.only.includes('conv')) {
  for (const c of CONV_CASES) {
    const k = rowBy(raw.keel.conv?.conv, 'name', c.name);
    const w = rowBy(raw.tfjs.conv?.conv, 'name', c.name);
    const t = rowBy(raw.torch.conv?.conv, 'name', c.name);
    if (torch.ok) addRow(`conv ${c.name} f32`, k?.float32, 'torch f32 NHWC', t?.float32);
    if (opts.tfjs) addRow(`conv ${c.name} f32`, k?.float32, `${wasmLabel()} f32`, w?.float32);
    addRow(`conv ${c.name} bf16`, k?.bfloat16, 'keel f32', k?.float32);
    if (torch.ok) addRow(`conv ${c.name} bf16`, k?.bfloat16, 'torch bf16 NHWC', t?.bfloat16);
  }
}
if (opts.only.includes('train')) {
  const k = raw.keel.train?.train;
  const t = raw.torch.train?.train;
  const j = raw.tfjs.train?.train;
  // torch_bench.py reports PyTorch's faster memory layout (NCHW or channels_last) per mode
  const tl = (m) => (m?.layout ? ` ${m.layout === 'nchw' ? 'NCHW' : 'NHWC'}` : '');
  if (opts.tfjs && opts.tfjsCpu) addRow('train step f32 (ms)', k?.float32, 'tfjs cpu f32', j?.float32, 'ms');
  if (torch.ok) addRow('train step f32 (ms)', k?.float32, `torch f32${tl(t?.float32)}`, t?.float32, 'ms');
  addRow('train step bf16 (ms)', k?.bfloat16, 'keel f32', k?.float32, 'ms');
  if (torch.ok)
    addRow(
      'train step bf16 (ms)',
      k?.bfloat16,
      `torch bf16 autocast${tl(t?.bfloat16_autocast)}`,
      t?.bfloat16_autocast,
      'ms',
    );
  // the step under keel.jit (fused, planned; the XLA of the seed's jit_compile)
  if (torch.ok)
    addRow('train step f32 jit (ms)', k?.float32_jit, `torch f32${tl(t?.float32)}`, t?.float32, 'ms');
  addRow('train step bf16 jit (ms)', k?.bfloat16_jit, 'keel f32 jit', k?.float32_jit, 'ms');
  if (torch.ok)
    addRow(
      'train step bf16 jit (ms)',
      k?.bfloat16_jit,
      `torch bf16 autocast${tl(t?.bfloat16_autocast)}`,
      t?.bfloat16_autocast,
      'ms',
    );
}

const fmtNum = (x) => (x == null ? '—' : x.toFixed(x < 1 ? 3 : 1));
console.log('\nratio = Keel speed / peer speed (> 1: Keel faster); GFLOP/s and ms are medians;');
console.log('~ = its repetitions varied by more than 1.5x (a busy machine): rerun before trusting that row');
const header = `${'benchmark'.padEnd(40)} ${'Keel'.padStart(9)}  ${'peer'.padEnd(28)} ${'peer'.padStart(9)}  ${'ratio'.padStart(7)}  unit`;
console.log(header);
console.log('-'.repeat(header.length));
for (const r of rows) {
  console.log(
    `${r.name.padEnd(40)} ${fmtNum(r.keel).padStart(9)}  ${r.peer.padEnd(28)} ${fmtNum(r.peerValue).padStart(9)}  ` +
      `${r.ratio == null ? '—'.padStart(7) : `${r.ratio.toFixed(2)}x`.padStart(7)}  ${r.unit}${r.noisy ? '  ~' : ''}`,
  );
}
if (opts.only.includes('train') && ok(raw.keel.train?.train?.float32)) {
  const k = raw.keel.train.train;
  const parts = [`keel f32 ${k.float32.gflops.toFixed(1)}`];
  if (ok(k.bfloat16)) parts.push(`keel bf16 ${k.bfloat16.gflops.toFixed(1)}`);
  if (ok(raw.tfjs.train?.train?.float32))
    parts.push(`tfjs cpu ${raw.tfjs.train.train.float32.gflops.toFixed(2)}`);
  if (ok(raw.torch.train?.train?.float32))
    parts.push(`torch f32 ${raw.torch.train.train.float32.gflops.toFixed(1)}`);
  if (ok(raw.torch.train?.train?.bfloat16_autocast))
    parts.push(`torch bf16 ${raw.torch.train.train.bfloat16_autocast.gflops.toFixed(1)}`);
  console.log(
    `train step achieved GFLOP/s (${(trainF.step / 1e9).toFixed(3)} GFLOP/step = 3x forward): ${parts.join(', ')}`,
  );
}

// ---------------------------------------------------------------- headline ratios

const geomean = (xs) => (xs.length ? Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length) : null);
const speed = (a, b) => (ok(a) && ok(b) ? b.ms / a.ms : null); // how much faster a is than b
const kMM = rowBy(raw.keel.matmul?.matmul, 'n', 1024);
const kTrain = raw.keel.train?.train;
const ratios = {
  keelF32MatMul1024OverTfjsWasm: speed(kMM?.float32, rowBy(raw.tfjs.matmul?.matmul, 'n', 1024)?.float32),
  keelTrainStepSpeedupVsTfjsCpu: speed(kTrain?.float32, raw.tfjs.train?.train?.float32),
  keelF32StepTimeOverTorchF32:
    ok(kTrain?.float32) && ok(raw.torch.train?.train?.float32)
      ? kTrain.float32.ms / raw.torch.train.train.float32.ms
      : null,
  keelBf16SpeedupVsKeelF32: {
    trainStep: speed(kTrain?.bfloat16, kTrain?.float32),
    matMul1024: speed(kMM?.bfloat16, kMM?.float32),
    convGeomean: geomean(
      (raw.keel.conv?.conv ?? []).map((r) => speed(r.bfloat16, r.float32)).filter((x) => x != null),
    ),
  },
  keelF32MatMul1024OverTorchF32: speed(kMM?.float32, rowBy(raw.torch.matmul?.matmul, 'n', 1024)?.float32),
  keelF32MatMulOverOpenBlas: Object.fromEntries(
    (raw.keel.matmul?.matmul ?? []).map((r) => [
      r.n,
      speed(r.float32, rowBy(raw.torch.matmul?.matmul, 'n', r.n)?.openblas_float32),
    ]),
  ),
  keelBf16MatMulOverTorchBf16: Object.fromEntries(
    (raw.keel.matmul?.matmul ?? []).map((r) => [
      r.n,
      speed(r.bfloat16, rowBy(raw.torch.matmul?.matmul, 'n', r.n)?.bfloat16),
    ]),
  ),
  keelJitStepSpeedVsTorch: {
    float32: speed(kTrain?.float32_jit, raw.torch.train?.train?.float32),
    bfloat16: speed(kTrain?.bfloat16_jit, raw.torch.train?.train?.bfloat16_autocast),
  },
  keelBf16JitSpeedupVsF32Jit: speed(kTrain?.bfloat16_jit, kTrain?.float32_jit),
  keelF32ConvGeomeanOverTorchF32: geomean(
    (raw.keel.conv?.conv ?? [])
      .map((r) => speed(r.float32, rowBy(raw.torch.conv?.conv, 'name', r.name)?.float32))
      .filter((x) => x != null),
  ),
};
const fx = (x, suffix = 'x') => (x == null ? 'n/a' : `${x.toFixed(2)}${suffix}`);
console.log('\nheadline ratios');
console.log(`  Keel f32 matMul 1024 / tfjs-wasm (GFLOP/s):      ${fx(ratios.keelF32MatMul1024OverTfjsWasm)}`);
console.log(`  Keel f32 train step speedup vs tfjs cpu:         ${fx(ratios.keelTrainStepSpeedupVsTfjsCpu)}`);
console.log(`  Keel f32 step time / PyTorch f32 step time:      ${fx(ratios.keelF32StepTimeOverTorchF32)}`);
console.log(
  `  Keel bf16 speedup vs Keel f32 (step, mm1024, conv): ${fx(ratios.keelBf16SpeedupVsKeelF32.trainStep)}, ` +
    `${fx(ratios.keelBf16SpeedupVsKeelF32.matMul1024)}, ${fx(ratios.keelBf16SpeedupVsKeelF32.convGeomean)}`,
);
const perN = (o) =>
  Object.entries(o)
    .map(([n, x]) => `${n}: ${fx(x)}`)
    .join(', ');
console.log(`  Keel f32 matMul / OpenBLAS sgemm (speed):        ${perN(ratios.keelF32MatMulOverOpenBlas)}`);
console.log(`  Keel bf16 matMul / PyTorch bf16 (speed):         ${perN(ratios.keelBf16MatMulOverTorchBf16)}`);
console.log(
  `  Keel jit step speed / PyTorch (f32, bf16):       ${fx(ratios.keelJitStepSpeedVsTorch.float32)}, ${fx(ratios.keelJitStepSpeedVsTorch.bfloat16)}`,
);
console.log(`  Keel bf16 jit step speedup vs Keel f32 jit:      ${fx(ratios.keelBf16JitSpeedupVsF32Jit)}`);

// ---------------------------------------------------------------- JSON

machine.loadavgAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
const keelInfo = raw.keel.matmul?.info ?? raw.keel.conv?.info ?? raw.keel.train?.info ?? null;
const result = {
  timestamp: started.toISOString(),
  durationS: Math.round((Date.now() - started.getTime()) / 100) / 10,
  quick: opts.quick,
  command: `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  machine: {
    ...machine,
    sectionLoad,
    keel: {
      version: pkg.version,
      backend: keelInfo?.backend ?? null,
      device: keelInfo?.device ?? null,
      gemm: keelInfo?.gemm ?? null,
    },
    tfjs: {
      wasm: raw.tfjs.matmul?.info ?? raw.tfjs.conv?.info ?? null,
      cpu: raw.tfjs.train?.info ?? null,
    },
    torch: torch.ok
      ? {
          ...(raw.torch.matmul?.info ?? raw.torch.conv?.info ?? raw.torch.train?.info ?? {}),
          version: torch.version,
          ompWaitPolicy: opts.torchOmpWait ?? 'library default',
        }
      : { skipped: torch.reason },
  },
  spec: SPEC,
  method:
    'each engine in its own process; warm-up calls, then `reps` repetitions of enough calls to last minRepMs; ' +
    'the median per-call time is reported (min in minMs). Training steps: one step per repetition. ' +
    'GFLOP/s: matMul 2n^3; conv2d 2*N*OH*OW*OC*KH*KW*IC; train step 3x forward conv+dense FLOPs.',
  ratios,
  table: rows,
  results: raw,
  notes,
  problems,
};
mkdirSync(dirname(opts.out), { recursive: true });
// `--only models` runs no kernel section: keep the kernel results file as it is
if (opts.only.length > 0) writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
// `npm run lint` checks bench/**: give the JSON the project formatter's layout (when Biome is installed).
const biome = join(root, 'node_modules', '.bin', 'biome');
if (opts.only.length > 0 && existsSync(biome) && !relative(here, opts.out).startsWith('..')) {
  spawnSync(biome, ['format', '--write', opts.out], { cwd: root, stdio: 'ignore' });
}
for (const n of notes) console.log(`note: ${n}`);
for (const p of problems) console.log(`problem: ${p}`);
if (opts.only.length > 0)
  console.log(`\nwrote ${relative(process.cwd(), opts.out) || opts.out} in ${result.durationS}s`);
// Peers may be missing (no PyTorch, no network for apt); Keel itself failing to run is an error.
if (opts.only.some((section) => raw.keel[section]?.error)) process.exitCode = 1;

// Models: eager vs jit, float32 vs mixed precision, ResNet steps beside PyTorch's (bench/models.mjs,
// bench/torch_models.py), written to bench/results/models.json. Part of every full run; with --only,
// only when 'models' is named.
if (!opts.onlyGiven || opts.onlyModels) {
  console.log(
    `\n== Models: training steps, eager vs jit, float32 vs mixed  (load average ${loadavg()[0].toFixed(2)})`,
  );
  const modelsOut = join(dirname(opts.out), 'models.json');
  const k = spawnSync(
    process.execPath,
    [join(here, 'models.mjs'), ...(opts.quick ? ['--quick'] : []), '--json', modelsOut],
    { stdio: 'inherit', cwd: root },
  );
  if (k.status !== 0) {
    console.log('problem: bench/models.mjs failed');
    process.exitCode = 1;
  } else if (torch.ok) {
    const t = spawnSync(PYTHON, [join(here, 'torch_models.py'), ...(opts.quick ? ['--quick'] : [])], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: String(opts.threads), OMP_WAIT_POLICY: 'PASSIVE' },
      timeout: 900_000,
    });
    const line = t.stdout?.trim().split('\n').at(-1);
    if (t.status === 0 && line) {
      const torchModels = JSON.parse(line);
      const keelModels = JSON.parse(readFileSync(modelsOut, 'utf8'));
      const pairs = [];
      for (const tr of torchModels.results) {
        const policy = tr.dtype === 'float32' ? 'float32' : 'mixed_bfloat16';
        for (const jit of [false, true]) {
          const kr = keelModels.results.find(
            (r) => r.model === tr.model && r.policy === policy && r.jit === jit,
          );
          if (!kr) continue;
          pairs.push({
            model: tr.model,
            dtype: tr.dtype,
            jit,
            keelMs: kr.ms,
            torchMs: tr.ms,
            torchLayout: tr.layout ?? 'channels_last',
            keelOverTorch: kr.ms / tr.ms,
            keelSpeedVsTorch: tr.ms / kr.ms,
          });
          console.log(
            `${tr.model} ${tr.dtype.padEnd(8)} ${jit ? 'jit  ' : 'eager'}  Keel ${kr.ms.toFixed(0).padStart(6)} ms/step  PyTorch ${tr.ms.toFixed(0).padStart(6)} ms/step (${tr.layout ?? 'channels_last'})  Keel speed / PyTorch ${(tr.ms / kr.ms).toFixed(2)}x`,
          );
        }
      }
      keelModels.torch = torchModels;
      keelModels.vsTorch = pairs;
      writeFileSync(modelsOut, `${JSON.stringify(keelModels, null, 2)}\n`);
    } else {
      console.log(`note: PyTorch model steps failed: ${(t.stderr ?? '').trim().split('\n').at(-1)}`);
    }
  }
}

// Thread scaling (bench/scaling.mjs): 1 vs N threads on large GEMMs and convolutions, PyTorch beside.
if (!opts.onlyGiven || opts.onlyScaling) {
  console.log(`\n== Thread scaling, 1 vs ${opts.threads} threads  (load average ${loadavg()[0].toFixed(2)})`);
  const k = spawnSync(
    process.execPath,
    [
      join(here, 'scaling.mjs'),
      ...(opts.quick ? ['--quick'] : []),
      '--threads',
      String(opts.threads),
      '--json',
      join(dirname(opts.out), 'scaling.json'),
    ],
    { stdio: 'inherit', cwd: root },
  );
  if (k.status !== 0) {
    console.log('problem: bench/scaling.mjs failed');
    process.exitCode = 1;
  }
}
