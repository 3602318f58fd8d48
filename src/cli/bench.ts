// `keel bench [--backend cpu|cuda] [--json FILE] [--quick]`: Keel's own speed on this machine —
// matMul GFLOP/s per dtype and small-CNN training steps (eager/jit, float32/mixed_bfloat16), with
// the step's peak tensor memory. Side-by-side comparisons with PyTorch and TensorFlow.js live in
// the repository's `npm run bench`.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import * as keel from '../index.js';
import { oneOf } from './args.js';

interface Row {
  name: string;
  value: number;
  unit: string;
  extra?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median ms of `reps` calls after `warmup` calls. */
function time(fn: () => void, warmup: number, reps: number): number {
  for (let i = 0; i < warmup; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

function matMulRows(quick: boolean): Row[] {
  const rows: Row[] = [];
  for (const n of quick ? [512] : [512, 1024]) {
    for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
      const [a, b] = [1, 2].map((s) => keel.randomNormal([n, n], 0, 1, 'float32', s).cast(dtype));
      const ms = time(() => keel.matMul(a, b).dispose(), 2, quick ? 3 : 7);
      keel.dispose([a, b]);
      rows.push({ name: `matMul ${n} ${dtype}`, value: (2 * n ** 3) / ms / 1e6, unit: 'GFLOP/s' });
    }
  }
  return rows;
}

function stepRows(quick: boolean): Row[] {
  const rows: Row[] = [];
  const x = keel.randomNormal([32, 32, 32, 3], 0, 1, 'float32', 3);
  const y = keel
    .oneHot(
      keel.tensor1d(
        Array.from({ length: 32 }, (_, i) => i % 5),
        'int32',
      ),
      5,
    )
    .cast('float32');
  for (const policy of ['float32', 'mixed_bfloat16'] as const) {
    for (const jitCompile of [false, true]) {
      keel.mixedPrecision.setGlobalPolicy(policy);
      const L = keel.layers;
      const m = keel.sequential({
        layers: [
          L.conv2d({
            filters: 16,
            kernelSize: 3,
            padding: 'same',
            activation: 'relu',
            inputShape: [32, 32, 3],
          }),
          L.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
          L.globalAveragePooling2d(),
          L.dense({ units: 5 }),
          L.activation({ activation: 'softmax', dtype: 'float32' }),
        ],
      });
      keel.mixedPrecision.setGlobalPolicy('float32');
      m.compile({ optimizer: keel.train.adam(1e-3), loss: 'categoricalCrossentropy', jitCompile });
      m.trainOnBatch(x, y);
      keel.resetPeakMemory();
      const base = keel.memory().numBytes;
      // steady state: V8 optimises a step's JavaScript over its first tens of calls
      const ms = time(() => void m.trainOnBatch(x, y), quick ? 2 : 40, quick ? 3 : 20);
      const peak = keel.memory().peakBytes - base;
      rows.push({
        name: `small CNN step ${policy}${jitCompile ? ' + jit' : ''}`,
        value: ms,
        unit: 'ms',
        extra: `peak ${(peak / 2 ** 20).toFixed(1)} MB`,
      });
      m.optimizer?.dispose();
      m.dispose();
    }
  }
  keel.dispose([x, y]);
  return rows;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description("Keel's speed on this machine: matMul GFLOP/s per dtype and small-CNN training steps")
    .option('--backend <name>', 'cpu | cuda', oneOf(['cpu', 'cuda'] as const, '--backend'), 'cpu')
    .option('--quick', 'fewer sizes and repetitions')
    .option('--json <file>', 'write the results as JSON')
    .action(async (o: { backend: 'cpu' | 'cuda'; quick?: boolean; json?: string }) => {
      await keel.setBackend(o.backend);
      console.log(`Keel bench on ${keel.getDevice()}`);
      const rows = [...matMulRows(o.quick ?? false), ...stepRows(o.quick ?? false)];
      const width = Math.max(...rows.map((r) => r.name.length));
      for (const r of rows)
        console.log(
          `${r.name.padEnd(width)}  ${r.value.toFixed(1).padStart(8)} ${r.unit}${r.extra ? `  (${r.extra})` : ''}`,
        );
      if (o.json)
        writeFileSync(
          o.json,
          `${JSON.stringify({ backend: keel.getBackend(), device: keel.getDevice(), rows }, null, 2)}\n`,
        );
    });
}
