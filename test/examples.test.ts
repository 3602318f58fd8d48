// Runs every script in examples/ as a user would (node, importing 'keel' from the built package),
// with small sizes, and checks it exits cleanly with the output it promises.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

beforeAll(() => {
  // the examples import 'keel', i.e. dist/: build it from the current sources
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    { cwd: root, stdio: 'pipe' },
  );
}, 180_000);

function run(file: string, env: Record<string, string> = {}): string {
  return execFileSync(process.execPath, [join(root, 'examples', file)], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

describe('examples', () => {
  it('every example has a test here', () => {
    expect(
      readdirSync(join(root, 'examples'))
        .filter((f) => f.endsWith('.mjs'))
        .sort(),
    ).toEqual(EXPECTED.sort());
  });

  it('01-policy: mixed_float16 layers, float32 softmax, loss scaling added by compile', () => {
    const out = run('01-policy.mjs', { EPOCHS: '2' });
    expect(out).toMatch(/optimizer: LossScaleOptimizer, loss scale 32768/);
    expect(out).toMatch(/Epoch 2\/2\n13\/13 \[=+\] - \d+s \d+ms\/step - loss: /);
    expect(out).toMatch(/output dtype float32/);
  }, 120_000);

  it('02-custom-loop: scaled loss, unscaled gradients, learning', () => {
    const out = run('02-custom-loop.mjs', { STEPS: '80' });
    expect(out).toMatch(/step 0: loss \d\.\d+, loss scale 32768, skipped 0/);
    const acc = Number(/accuracy (\d\.\d+)/.exec(out)![1]);
    expect(acc).toBeGreaterThan(0.6);
  }, 120_000);

  it('03-resnet50-transfer: frozen ResNet50 base, float16 input, float32 head, jit, on generated ships', () => {
    const out = run('03-resnet50-transfer.mjs', {
      EPOCHS: '1',
      LIMIT: '48',
      IMAGE_SIZE: '32',
      COUNT: '60',
      BATCH: '16',
    });
    expect(out).toMatch(/params: 23597957 \(trainable 10245\)/);
    expect(out).toMatch(/training_time [\d.]+s, loss scale \d+, val_accuracy \d\.\d{4}/);
  }, 180_000);

  it('04-track-custom-loop: the run is in the store with its metrics', () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'keel-ex-runs-'));
    const out = run('04-track-custom-loop.mjs', { STEPS: '30', RUNS_DIR: runsDir });
    const id = /run (\w+): final loss/.exec(out)![1];
    const shown = JSON.parse(
      execFileSync(
        process.execPath,
        [join(root, 'dist/cli.js'), 'runs', 'show', id, '--json', '--runs-dir', runsDir],
        { encoding: 'utf8' },
      ),
    );
    expect(shown.status).toBe('finished');
    expect(shown.metrics.loss).toHaveLength(30);
    expect(shown.summary.training_time).toBeGreaterThan(0);
    expect(shown.config).toMatchObject({ lr: 0.05, steps: 30 });
  }, 120_000);
});

const EXPECTED = [
  '01-policy.mjs',
  '02-custom-loop.mjs',
  '03-resnet50-transfer.mjs',
  '04-track-custom-loop.mjs',
];
