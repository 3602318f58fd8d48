// `keel demo` (= npm start): the seed's experiment. The same model from the same seed trained under
// float32, float32 + jit, mixed_float16 + loss scaling + jit, mixed_bfloat16 + jit and
// mixed_float16 + loss scaling without jit, each tracked (one group per invocation); then a
// comparison table and the dashboard.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import * as keel from '../index.js';
import { UsageError } from './args.js';
import { type PolicyName, type RunResult, trainOne, warmUp } from './experiment.js';
import { addTrainOptions, resolveTrainOptions, type TrainFlags } from './train-options.js';

interface DemoConfig {
  label: string;
  policy: PolicyName;
  jit: boolean;
}

export const DEMO_CONFIGS: DemoConfig[] = [
  { label: 'float32', policy: 'float32', jit: false },
  { label: 'float32 + jit', policy: 'float32', jit: true },
  { label: 'mixed_float16 + loss scaling + jit', policy: 'mixed_float16', jit: true },
  { label: 'mixed_bfloat16 + jit', policy: 'mixed_bfloat16', jit: true },
  { label: 'mixed_float16 + loss scaling', policy: 'mixed_float16', jit: false },
];

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)}`;
const f4 = (v: number | null) => (v === null || Number.isNaN(v) ? 'n/a' : v.toFixed(4));

/** The comparison table: one row per configuration, ratios against the first (float32). */
export function comparisonTable(rows: { label: string; r: RunResult }[]): string {
  const base = rows[0].r;
  const head = [
    'configuration',
    'ms/step',
    'speedup',
    'peak MB',
    'mem ratio',
    'loss',
    'val_acc',
    'skipped',
    'loss scale',
  ];
  const body = rows.map(({ label, r }) => [
    label,
    r.msPerStep.toFixed(1),
    `${(base.msPerStep / r.msPerStep).toFixed(2)}x`,
    mb(r.peakTensorBytes),
    `${(r.peakTensorBytes / base.peakTensorBytes).toFixed(2)}`,
    f4(r.final.loss),
    f4(r.final.valAccuracy),
    String(r.skippedSteps),
    r.finalLossScale === null ? '-' : String(r.finalLossScale),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function serveUi(runsDir: string | undefined): Promise<void> {
  const { serveDashboard } = await import('../ui/index.js');
  const { url, close } = await serveDashboard({ runsDir, port: 6006 }).catch(() =>
    serveDashboard({ runsDir, port: 0 }),
  );
  console.log(`\nDashboard: ${url}  (Ctrl-C to stop)`);
  await new Promise<void>((done) => {
    const stop = () => {
      void close().then(done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export function registerDemo(program: Command): void {
  addTrainOptions(
    program
      .command('demo')
      .description(
        "the seed's experiment: float32 vs mixed precision, with and without the JIT, tracked and compared",
      ),
  )
    .option('--quick', 'small data and one epoch (about a minute)')
    .option('--no-ui', 'do not serve the dashboard at the end')
    .action(async (f: TrainFlags & { quick?: boolean; ui: boolean }) => {
      if (
        f.policy !== undefined ||
        f.jit !== undefined ||
        f.lossScale !== undefined ||
        f.name !== undefined
      ) {
        throw new UsageError(
          'demo runs every policy/jit configuration itself; use `keel train` for --policy, --jit, --loss-scale or --name',
        );
      }
      const o = resolveTrainOptions(f, f.quick ?? false);
      const group = `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      console.log(
        `Keel demo on ${keel.getDevice()}\n${o.model}, ${o.imageSize}x${o.imageSize} images, batch ${o.batchSize}, Adam ${o.lr}, ${o.epochs} epoch(s); tracked as group ${group}`,
      );
      const t0 = performance.now();
      await warmUp(o, DEMO_CONFIGS);
      console.log(
        `warmed up in ${((performance.now() - t0) / 1000).toFixed(1)} s (a few untimed steps of each configuration, so the first one measured does not pay for V8 optimising Keel's JavaScript)`,
      );
      const rows: { label: string; r: RunResult }[] = [];
      for (const c of DEMO_CONFIGS) {
        console.log(`\n== ${c.label}`);
        const r = await trainOne({
          ...o,
          policy: c.policy,
          jit: c.jit,
          lossScale: 'dynamic',
          name: c.label,
          group,
        });
        rows.push({ label: c.label, r });
      }
      console.log(`\n${comparisonTable(rows)}`);
      console.log(
        '\nspeedup and mem ratio are against float32; peak MB is the tensor memory high-water mark of the run.',
      );
      if (f.json) {
        writeFileSync(
          f.json,
          `${JSON.stringify({ backend: keel.getBackend(), device: keel.getDevice(), runs: rows.map((x) => x.r) }, null, 2)}\n`,
        );
      }
      if (f.ui) await serveUi(o.runsDir);
    });
}
