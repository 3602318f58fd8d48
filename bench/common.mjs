// Shared helpers of the benchmark children (keel.mjs, tfjs.mjs): timing, FLOP counts, the result protocol.
// torch_bench.py mirrors measure() so that every engine is timed the same way.

/** Marks the one stdout line that run.mjs parses as the child's result. */
export const RESULT_MARK = '@@KEEL_BENCH_RESULT ';

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times fn(): `warmup` untimed calls, one calibration call (none when minRepMs <= 0), then `reps` repetitions of `iters` calls each,
 * where `iters` makes one repetition last about `minRepMs` (fewer repetitions, at least `minReps`, when they would
 * take longer than `maxCaseMs` in all). Returns per-call milliseconds (median, min).
 */
export function measure(
  fn,
  { warmup = 2, reps = 5, minRepMs = 100, maxIters = 1000, maxCaseMs = Infinity, minReps = 2 } = {},
) {
  for (let i = 0; i < warmup; i++) fn();
  let t0 = performance.now();
  // minRepMs <= 0: one call per repetition and no calibration call (the slow training steps).
  if (minRepMs > 0) fn();
  const est = minRepMs > 0 ? Math.max(performance.now() - t0, 1e-3) : 0;
  const iters = minRepMs > 0 ? Math.max(1, Math.min(maxIters, Math.round(minRepMs / est))) : 1;
  // Slow cases (e.g. the JavaScript GEMM) get fewer repetitions to keep the run's length bounded.
  if (est > 0)
    reps = Math.max(Math.min(reps, minReps), Math.min(reps, Math.floor(maxCaseMs / (est * iters))));
  const samples = [];
  for (let r = 0; r < reps; r++) {
    t0 = performance.now();
    for (let i = 0; i < iters; i++) fn();
    samples.push((performance.now() - t0) / iters);
  }
  return { ms: median(samples), minMs: Math.min(...samples), reps, iters, samples: samples.map(round3) };
}

/**
 * Times several cases side by side: each gets `warmup` untimed calls, then `rounds` rounds run every
 * case for `perRound` timed calls in turn, so that a slow spell of a shared machine hits all cases
 * alike instead of whichever ran then. Returns, per case, the median and best per-call ms.
 */
export function measureInterleaved(cases, { warmup = 3, rounds = 5, perRound = 4 } = {}) {
  for (const c of cases) for (let i = 0; i < warmup; i++) c.fn();
  const samples = cases.map(() => []);
  for (let r = 0; r < rounds; r++)
    cases.forEach((c, k) => {
      for (let i = 0; i < perRound; i++) {
        const t0 = performance.now();
        c.fn();
        samples[k].push(performance.now() - t0);
      }
    });
  return cases.map((_, k) => ({
    ms: median(samples[k]),
    minMs: Math.min(...samples[k]),
    reps: samples[k].length,
    iters: 1,
    samples: samples[k].map(round3),
  }));
}

/** measure() plus GFLOP/s from the median (and the best repetition). */
export function measureFlops(fn, flops, opts) {
  const m = measure(fn, opts);
  return { ...m, gflops: flops / m.ms / 1e6, bestGflops: flops / m.minMs / 1e6 };
}

export function round3(x) {
  return Math.round(x * 1000) / 1000;
}

/** The output size of one spatial dimension (TensorFlow's 'same' and 'valid'). */
export function convOut(inSize, k, stride, pad) {
  return pad === 'same' ? Math.ceil(inSize / stride) : Math.floor((inSize - k) / stride) + 1;
}

/** 2*N*OH*OW*OC*KH*KW*IC for an NHWC conv2d case {n, h, w, c, k, oc, stride, pad}. */
export function convFlops(c) {
  const oh = convOut(c.h, c.k, c.stride, c.pad);
  const ow = convOut(c.w, c.k, c.stride, c.pad);
  return 2 * c.n * oh * ow * c.oc * c.k * c.k * c.c;
}

/** Parses the JSON spec a child receives as its only argument. */
export function readSpec() {
  const arg = process.argv[2];
  if (!arg) throw new Error('usage: node bench/<engine>.mjs <json spec> (run.mjs passes it)');
  return JSON.parse(arg);
}

/** Writes the child's result for run.mjs and exits (wasm worker threads would keep the process alive). */
export function emit(result) {
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`, () => process.exit(0));
}

/** Runs one case, recording an error message instead of aborting the whole section. */
export function attempt(label, fn) {
  try {
    return fn();
  } catch (err) {
    const msg = (err && (err.stack || err.message)) || String(err);
    log(`  ${label}: FAILED ${String(msg).split('\n').slice(0, 3).join(' | ')}`);
    return { error: String(err?.message ?? err) };
  }
}

/** Progress goes to stderr (stdout carries the result). */
export function log(msg) {
  process.stderr.write(`${msg}\n`);
}

export function fmtCase(m) {
  return m.error ? 'error' : `${m.ms.toFixed(2)} ms, ${m.gflops.toFixed(m.gflops < 1 ? 3 : 1)} GFLOP/s`;
}
