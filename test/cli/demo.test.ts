// The main job as a user runs it: `keel demo --quick --no-ui --json` in a fresh directory produces
// every configuration, tracked; a second command reuses the dataset; bad flags exit 2.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');

beforeAll(() => {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    { cwd: root, stdio: 'pipe' },
  );
}, 180_000);

function keel(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, KEEL_RUNS_DIR: join(cwd, 'runs') },
  });
}

describe('keel demo', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'keel-demo-'));

  it('--quick --no-ui --json: every configuration, finite numbers, a speedup column, runs tracked', () => {
    const r = keel(cwd, 'demo', '--quick', '--no-ui', '--json', 'out.json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Generating a synthetic ship dataset/);
    expect(existsSync(join(cwd, 'keel-data', 'ships', 'train', 'train.csv'))).toBe(true);
    const out = JSON.parse(readFileSync(join(cwd, 'out.json'), 'utf8'));
    expect(out.backend).toBe('cpu');
    expect(out.runs.map((x: { name: string }) => x.name)).toEqual([
      'float32',
      'float32 + jit',
      'mixed_float16 + loss scaling + jit',
      'mixed_bfloat16 + jit',
      'mixed_float16 + loss scaling',
    ]);
    for (const run of out.runs) {
      for (const k of ['msPerStep', 'imagesPerSec', 'trainingTimeSec', 'peakTensorBytes'])
        expect(Number.isFinite(run[k]), k).toBe(true);
      expect(Number.isFinite(run.final.loss)).toBe(true);
      expect(run.history.loss.length).toBe(run.epochs);
    }
    expect(out.runs[2].finalLossScale).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/configuration\s+ms\/step\s+speedup\s+peak MB\s+mem ratio/);
    expect(r.stdout).toMatch(/float32 \+ jit\s+[\d.]+\s+[\d.]+x/);
    const listed = JSON.parse(keel(cwd, 'runs', 'list', '--json').stdout);
    expect(listed).toHaveLength(5);
    expect(new Set(listed.map((x: { group: string }) => x.group)).size).toBe(1);
    expect(listed.every((x: { status: string }) => x.status === 'finished')).toBe(true);
  }, 300_000);

  it('a second command reuses the dataset', () => {
    const r = keel(cwd, 'train', '--quick', '--policy', 'mixed_bfloat16', '--jit');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Using the synthetic ship dataset/);
    expect(r.stdout).toMatch(/mixed_bfloat16 \+ jit: [\d.]+ ms\/step/);
  }, 300_000);

  it('bad flags exit 2 with a message', () => {
    for (const args of [
      ['demo', '--epochs', '0'],
      ['demo', '--model', 'vgg'],
      ['train', '--loss-scale', 'lots', '--policy', 'mixed_float16'],
      ['demo', '--bogus'],
    ]) {
      const r = keel(cwd, ...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.length + r.stdout.length).toBeGreaterThan(0);
    }
    const r = keel(cwd, 'train', '--loss-scale', '8', '--no-jit');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--loss-scale applies to --policy mixed_float16 only/);
  }, 120_000);

  it('keel bench --quick --json measures matMul per dtype and the small-CNN step eager/jit', () => {
    const r = keel(cwd, 'bench', '--quick', '--json', 'bench.json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(readFileSync(join(cwd, 'bench.json'), 'utf8'));
    const names = out.rows.map((x: { name: string }) => x.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'matMul 512 float32',
        'matMul 512 bfloat16',
        'small CNN step float32 + jit',
        'small CNN step mixed_bfloat16',
      ]),
    );
    for (const row of out.rows) expect(row.value).toBeGreaterThan(0);
    const cuda = keel(cwd, 'bench', '--backend', 'cuda');
    expect(cuda.status).not.toBe(0);
    expect(cuda.stderr).toMatch(/no CUDA backend yet/);
  }, 180_000);
});
