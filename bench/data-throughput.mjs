#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
// Input-pipeline throughput: decoded + resized images per second through Keel's data pipeline (JPEG decode with
// sharp, resize, normalise, batch into a Tensor), at 64x64 and 224x224, decoding on the main thread (sharp on
// libuv threads) and on 1 and 2 worker threads. Source: synthetic ship JPEGs (256x256) in a temporary directory.
//
//   node bench/data-throughput.mjs [--quick] [--images N] [--source-size 256] [--sizes 64,224] [--workers 0,1,2]
//                                  [--dtype float32] [--out FILE] [--no-write]
// Needs `npm run build` first (it imports dist/). bench/run.mjs can import { runDataThroughput } and print it
// with { formatTable }.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Measures the pipeline; returns { config, machine, results: [{ imageSize, workers, imagesPerSec, msPerBatch }] }.
 * Options: images (source JPEGs, default 384), sourceSize (256), sizes ([64, 224]), workers ([0, 1, 2]),
 * batchSize (32), dtype ('float32'), passes (timed passes per configuration, default 2), log (progress lines).
 */
export async function runDataThroughput(options = {}) {
  const o = {
    images: 384,
    sourceSize: 256,
    sizes: [64, 224],
    workers: [0, 1, 2],
    batchSize: 32,
    dtype: 'float32',
    passes: 2,
    log: () => {},
    ...options,
  };
  const keel = await import('../dist/index.js');
  const sharp = (await import('sharp')).default;
  sharp.cache(false); // every decode does the work, as in a real epoch over many files
  const dir = await mkdtemp(join(tmpdir(), 'keel-data-bench-'));
  try {
    const t0 = performance.now();
    await keel.data.writeSyntheticShips(dir, {
      count: o.images,
      size: o.sourceSize,
      seed: 0,
      testCount: 0,
      quality: 90,
    });
    o.log(
      `generated ${o.images} ${o.sourceSize}x${o.sourceSize} JPEGs in ${((performance.now() - t0) / 1000).toFixed(1)}s`,
    );
    const results = [];
    for (const imageSize of o.sizes) {
      for (const workers of o.workers) {
        const { train } = await keel.data.ships(dir, {
          imageSize,
          workers,
          batchSize: o.batchSize,
          dtype: o.dtype,
          validationSplit: 0,
          shuffle: false,
          preprocess: 'unit',
        });
        // warm-up: start the workers, load sharp, JIT the loops
        for await (const b of train.take(2)) keel.dispose(b);
        let images = 0;
        let batches = 0;
        const start = performance.now();
        for (let p = 0; p < o.passes; p++) {
          for await (const b of train) {
            images += b.xs.shape[0];
            batches++;
            keel.dispose(b);
          }
        }
        const secs = (performance.now() - start) / 1000;
        const r = {
          imageSize,
          workers,
          dtype: o.dtype,
          images,
          seconds: round(secs),
          imagesPerSec: round(images / secs),
          msPerBatch: round((1000 * secs) / batches),
        };
        o.log(`${imageSize}x${imageSize} ${workerLabel(workers)}: ${r.imagesPerSec} images/s`);
        results.push(r);
      }
    }
    await keel.data.terminateWorkers();
    return {
      config: {
        sourceImages: o.images,
        sourceSize: o.sourceSize,
        batchSize: o.batchSize,
        dtype: o.dtype,
        passes: o.passes,
        uvThreadpool: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
        sharpConcurrency: sharp.concurrency(),
      },
      machine: {
        cpus: availableParallelism(),
        cpuModel: cpus()[0]?.model ?? 'unknown',
        node: process.version,
      },
      results,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const round = (x) => Math.round(x * 100) / 100;
const workerLabel = (w) => (w === 0 ? 'main thread' : `${w} worker${w > 1 ? 's' : ''}`);

/** The results as a text table. */
export function formatTable(report) {
  const lines = [
    `Input pipeline: ${report.config.sourceImages} JPEGs ${report.config.sourceSize}x${report.config.sourceSize} -> decode, resize, normalise, batch of ${report.config.batchSize} (${report.config.dtype}); ${report.machine.cpus} CPUs`,
    'size     decoding on     images/s   ms/batch',
  ];
  for (const r of report.results)
    lines.push(
      `${`${r.imageSize}x${r.imageSize}`.padEnd(8)} ${workerLabel(r.workers).padEnd(14)} ${String(r.imagesPerSec).padStart(9)} ${String(r.msPerBatch).padStart(10)}`,
    );
  return lines.join('\n');
}

function parseArgs(argv) {
  const o = { out: join(here, 'results', 'data-throughput.json'), write: true };
  const list = (v) =>
    v.split(',').map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new Error(`expected a list of integers, got '${v}'`);
      return n;
    });
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') Object.assign(o, { images: 128, passes: 1 });
    else if (a === '--images') o.images = list(value())[0];
    else if (a === '--source-size') o.sourceSize = list(value())[0];
    else if (a === '--sizes') o.sizes = list(value());
    else if (a === '--workers') o.workers = list(value());
    else if (a === '--dtype') o.dtype = value();
    else if (a === '--out') o.out = resolve(value());
    else if (a === '--no-write') o.write = false;
    else if (a === '--help' || a === '-h') {
      console.log(
        'node bench/data-throughput.mjs [--quick] [--images N] [--sizes 64,224] [--workers 0,1,2] [--dtype float32] [--out FILE] [--no-write]',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a} (try --help)`);
  }
  return o;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`data-throughput: ${e.message}`);
    process.exit(2);
  }
  const report = await runDataThroughput({ ...opts, log: (s) => console.error(s) });
  console.log(formatTable(report));
  if (opts.write) {
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${opts.out}`);
  }
}
