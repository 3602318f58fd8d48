#!/usr/bin/env node
// The tracker's scale benchmark: metric points ingested per second from one process (through
// run.log, until finish() has everything on disk), and read latency on a run with 10^6 points
// (downsampled metric query, `show --json`, full export, and the `keel runs show` command end to end),
// plus the system sampler's CPU cost. Prints a table; writes JSON (bench/results/track-ingest.json).
//
//   npm run build && node bench/track-ingest.mjs [--points N] [--out FILE]
// Imports dist/: build first. Also usable as a module: `const r = await main({ points })`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

function parseArgs(argv) {
  const o = { points: 1_000_000, out: join(here, 'results', 'track-ingest.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--points') o.points = Number(argv[++i]);
    else if (a === '--out') o.out = resolve(argv[++i]);
    else
      throw new Error(
        `track-ingest: unknown argument ${a}; usage: node bench/track-ingest.mjs [--points N] [--out FILE]`,
      );
  }
  if (!Number.isInteger(o.points) || o.points < 1000)
    throw new Error('track-ingest: --points must be an integer >= 1000');
  return o;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function timeIt(fn, reps = 5) {
  const ms = [];
  let out;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    out = fn();
    ms.push(performance.now() - t0);
  }
  return { ms: median(ms), minMs: Math.min(...ms), out };
}

export async function main({ points = 1_000_000 } = {}) {
  const dist = join(root, 'dist', 'track', 'index.js');
  if (!existsSync(dist)) throw new Error('track-ingest: dist/track is missing; run `npm run build` first');
  const track = await import(pathToFileURL(dist).href);
  const { SystemSampler } = await import(pathToFileURL(join(root, 'dist', 'track', 'system.js')).href);
  const dir = mkdtempSync(join(tmpdir(), 'keel-track-bench-'));
  const results = { points, cpu: cpus()[0]?.model.trim(), cores: cpus().length, node: process.version };
  try {
    // 1. ingest: 10 metrics per log call (a typical training step), then one metric per call
    const ingest = (keys) => {
      const run = track.init({
        project: 'bench',
        name: `ingest-${keys}`,
        runsDir: dir,
        captureConsole: false,
      });
      const names = Array.from({ length: keys }, (_, k) => `metric_${k}`);
      const steps = points / keys;
      const t0 = performance.now();
      const m = {};
      for (let s = 0; s < steps; s++) {
        for (let k = 0; k < keys; k++) m[names[k]] = Math.sin(s / 1000 + k) + (s % 97) / 97;
        run.log(m, { step: s });
      }
      const tLog = performance.now();
      return run.finish().then(() => {
        const total = (performance.now() - t0) / 1000;
        return {
          id: run.id,
          keys,
          logCallsPerSec: steps / ((tLog - t0) / 1000),
          pointsPerSec: points / total,
          seconds: total,
        };
      });
    };
    results.ingest10 = await ingest(10);
    results.ingest1 = await ingest(1);

    // 2. reads of the 1-key run: 10^6 points in one series
    const id = results.ingest1.id;
    const reader = track.openReader(dir);
    const cold = timeIt(() => track.openReader(dir).metrics(id, 'metric_0', { maxPoints: 2000 }), 1);
    const q = timeIt(() => reader.metrics(id, 'metric_0', { maxPoints: 2000 }));
    const show = timeIt(() => JSON.stringify(reader.runJson(id, { maxPoints: 2000 })));
    const exp = timeIt(() => JSON.stringify(reader.runJson(id, { maxPoints: null })), 3);
    const info = timeIt(() => reader.getRun(id));
    results.query = {
      metricMs: q.ms,
      metricColdMs: cold.ms,
      returnedPoints: q.out.points.length,
      showJsonMs: show.ms,
      getRunMs: info.ms,
      exportJsonMs: exp.ms,
      exportBytes: exp.out.length,
    };
    reader.close();
    const cli = join(root, 'dist', 'cli.js');
    if (existsSync(cli)) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [cli, 'runs', 'show', id, '--json', '--runs-dir', dir], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      });
      results.query.cliShowJsonMs = performance.now() - t0;
      if (r.status !== 0) results.query.cliError = r.stderr.slice(0, 500);
    }
    results.storeBytes = ['keel.db', 'keel.db-wal'].reduce(
      (n, f) => n + (existsSync(join(dir, f)) ? statSync(join(dir, f)).size : 0),
      0,
    );

    // 3. the system sampler: CPU time per sample, as a share of one core at the default 2 s interval
    const sampler = new SystemSampler({ intervalMs: 2000, gpu: true, tensorMemory: () => null });
    sampler.sample();
    const c0 = process.cpuUsage();
    const n = 500;
    for (let i = 0; i < n; i++) sampler.sample();
    const c = process.cpuUsage(c0);
    sampler.stop();
    const msPerSample = (c.user + c.system) / 1000 / n;
    results.sampler = {
      msPerSample,
      coreFractionAt2s: msPerSample / 2000,
      gpu: sampler.gpuFailure ?? 'nvidia-smi',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

function printTable(r) {
  const f = (v, d = 1) =>
    typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: d }) : String(v);
  const rows = [
    [
      'ingest, 10 metrics per log()',
      `${f(r.ingest10.pointsPerSec, 0)} points/s`,
      `${f(r.ingest10.seconds, 2)} s for ${f(r.points, 0)} points (${f(r.ingest10.logCallsPerSec, 0)} log calls/s)`,
    ],
    [
      'ingest, 1 metric per log()',
      `${f(r.ingest1.pointsPerSec, 0)} points/s`,
      `${f(r.ingest1.seconds, 2)} s for ${f(r.points, 0)} points`,
    ],
    [
      `metric query, ${f(r.points, 0)} -> ${r.query.returnedPoints} points`,
      `${f(r.query.metricMs)} ms`,
      `cold (new reader): ${f(r.query.metricColdMs)} ms`,
    ],
    [
      'show --json (read API, maxPoints 2000)',
      `${f(r.query.showJsonMs)} ms`,
      `getRun ${f(r.query.getRunMs, 2)} ms`,
    ],
    [
      'keel runs show --json (process)',
      r.query.cliShowJsonMs ? `${f(r.query.cliShowJsonMs)} ms` : 'n/a',
      r.query.cliError ?? 'node startup + module load included',
    ],
    [
      'export --json (every point)',
      `${f(r.query.exportJsonMs)} ms`,
      `${f(r.query.exportBytes / 2 ** 20)} MiB of JSON`,
    ],
    ['store size', `${f(r.storeBytes / 2 ** 20)} MiB`, `${f(r.storeBytes / (2 * r.points), 1)} bytes/point`],
    [
      'system sample',
      `${f(r.sampler.msPerSample, 3)} ms`,
      `${f(100 * r.sampler.coreFractionAt2s, 4)}% of a core at 2 s (GPU: ${r.sampler.gpu})`,
    ],
  ];
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((x) => x[i].length)));
  console.log(`keel track: ${r.cpu} (${r.cores} cores), Node ${r.node}`);
  for (const x of rows) console.log(`${x[0].padEnd(w[0])}  ${x[1].padStart(w[1])}  ${x[2]}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const o = parseArgs(process.argv.slice(2));
  const r = await main({ points: o.points });
  printTable(r);
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify(r, null, 2)}\n`);
  console.log(`wrote ${o.out}`);
}
