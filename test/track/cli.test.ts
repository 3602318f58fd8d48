// `keel runs list|show|compare|export`: JSON shapes, text output, bad ids and arguments (exit 2).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerRuns } from '../../src/cli/runs.js';
import * as track from '../../src/track/index.js';
import { bundle, sleep, startChild, tempDir } from './helpers.js';

const tmp = tempDir();
const runsDir = join(tmp.dir, 'runs');
const ids: Record<string, string> = {};
afterAll(() => tmp.cleanup());

beforeAll(async () => {
  const specs = [
    { name: 'f32', group: 'seed', config: { policy: 'float32', lr: 0.001, epochs: 5 } },
    { name: 'mixed', group: 'seed', config: { policy: 'mixed_float16', lr: 0.001, epochs: 5 } },
    { name: 'other', project: 'p2', config: { lr: 0.1 } },
  ];
  for (const s of specs) {
    const run = track.init({
      project: 'ships',
      ...s,
      runsDir,
      systemInterval: s.name === 'f32' ? 100 : 0,
      captureConsole: false,
    });
    for (let i = 0; i < 5000; i++) run.log({ 'batch/loss': 1 / (i + 1) });
    for (let e = 0; e < 5; e++) run.log({ loss: 1 - e / 10, accuracy: 0.5 + e / 10 }, { step: e });
    run.appendLog('stdout', 'Epoch 1/5');
    run.appendLog('stdout', '78/78 [==============================] - 18s 230ms/step - loss: 0.2259');
    if (s.name === 'f32') await sleep(350);
    await run.finish();
    ids[s.name] = run.id;
  }
});

/** Runs `keel runs ...args` in-process the way src/cli.ts does (exit code 1 from commander -> 2). */
async function keel(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const program = new Command('keel').exitOverride().configureOutput({
    writeOut: (s) => (out += s),
    writeErr: (s) => (err += s),
    outputError: (s, write) => write(s),
  });
  registerRuns(program, { out: (s) => (out += s) });
  try {
    await program.parseAsync(['node', 'keel', 'runs', ...args]);
    return { code: 0, out, err };
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode === 1 ? 2 : e.exitCode, out, err };
    throw e;
  }
}

describe('keel runs', () => {
  it('list --json prints [{ id, name, project, group, tags, status, startedAt, endedAt, config, summary }]', async () => {
    const { code, out } = await keel('list', '--json', '--runs-dir', runsDir);
    expect(code).toBe(0);
    const list = JSON.parse(out);
    expect(list.map((r: { name: string }) => r.name)).toEqual(['other', 'mixed', 'f32']);
    for (const r of list) {
      expect(Object.keys(r)).toEqual([
        'id',
        'name',
        'project',
        'group',
        'tags',
        'status',
        'startedAt',
        'endedAt',
        'config',
        'summary',
      ]);
      expect(r.status).toBe('finished');
      expect(new Date(r.startedAt).toISOString()).toBe(r.startedAt);
    }
    expect(list[2]).toMatchObject({
      id: ids.f32,
      project: 'ships',
      group: 'seed',
      tags: [],
      summary: { loss: 0.6, accuracy: 0.9, 'batch/loss': 1 / 5000 },
    });
    const p2 = JSON.parse((await keel('--runs-dir', runsDir, 'list', '--project', 'p2', '--json')).out);
    expect(p2.map((r: { name: string }) => r.name)).toEqual(['other']);
    // KEEL_RUNS_DIR is the default store
    process.env.KEEL_RUNS_DIR = runsDir;
    try {
      expect(JSON.parse((await keel('list', '--json')).out)).toHaveLength(3);
    } finally {
      delete process.env.KEEL_RUNS_DIR;
    }
  });

  it('list prints a table', async () => {
    const { out } = await keel('list', '--runs-dir', runsDir);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+PROJECT\s+GROUP\s+STATUS\s+STARTED\s+DURATION\s+SUMMARY$/);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toContain(ids.f32);
    expect(lines[3]).toMatch(/finished .* loss=0\.6 accuracy=0\.9/);
    expect((await keel('list', '--runs-dir', join(tmp.dir, 'nothing'))).out).toMatch(/^no runs in /);
  });

  it('show --json adds metrics [[step, value, wallTime]] (downsampled), system [[wallTime, value]] and logs', async () => {
    const { code, out } = await keel('show', ids.f32, '--json', '--runs-dir', runsDir, '--max-points', '100');
    expect(code).toBe(0);
    const r = JSON.parse(out);
    expect(Object.keys(r)).toEqual(
      expect.arrayContaining([
        'id',
        'name',
        'project',
        'group',
        'tags',
        'status',
        'startedAt',
        'endedAt',
        'config',
        'summary',
        'metrics',
        'system',
        'logs',
      ]),
    );
    expect(Object.keys(r.metrics).sort()).toEqual(['accuracy', 'batch/loss', 'loss']);
    expect(r.metrics.loss).toHaveLength(5);
    const bl = r.metrics['batch/loss'];
    expect(bl.length).toBeLessThanOrEqual(100);
    expect(bl[0][0]).toBe(0);
    expect(bl[0][1]).toBe(1); // the maximum is kept
    expect(bl.at(-1)[0]).toBe(4999);
    expect(bl[0][2]).toBeGreaterThan(1.5e9); // Unix seconds
    expect(r.system['proc.rss_mb'].length).toBeGreaterThanOrEqual(2);
    expect(r.system['proc.rss_mb'][0]).toHaveLength(2);
    expect(r.logs).toEqual([
      'Epoch 1/5',
      '78/78 [==============================] - 18s 230ms/step - loss: 0.2259',
    ]);
    // the default is 2,000 points per series
    const d = JSON.parse((await keel('show', ids.f32, '--json', '--runs-dir', runsDir)).out);
    expect(d.metrics['batch/loss'].length).toBeLessThanOrEqual(2000);
    expect(d.metrics['batch/loss'].length).toBeGreaterThan(1000);
  });

  it('show prints config, summary, metric and system keys and the log tail; ids may be prefixes', async () => {
    const { code, out } = await keel('show', ids.f32.slice(0, 5), '--runs-dir', runsDir, '--tail', '1');
    expect(code).toBe(0);
    expect(out).toContain(`Run ${ids.f32}  f32  (project ships, group seed)`);
    expect(out).toMatch(/Config\n\s+policy\s+float32\n\s+lr\s+0\.001\n\s+epochs\s+5\n/);
    expect(out).toMatch(/Summary\n(.*\n)*\s+loss\s+0\.6\n/);
    expect(out).toMatch(
      /Metrics \(3\)\n\s+accuracy\s+5 points\s+steps 0\.\.4\n\s+batch\/loss\s+5000 points\s+steps 0\.\.4999\n/,
    );
    expect(out).toMatch(
      /System metrics \(\d+\)\n\s+disk\.read_mb|System metrics \(\d+\)\n\s+proc\.cpu_percent/,
    );
    expect(out).toMatch(/Log \(last 1 of 2 lines\)\n {2}78\/78 \[=+\] - 18s 230ms\/step - loss: 0\.2259\n$/);
  });

  it('compare shows config differences and summaries side by side', async () => {
    const { code, out } = await keel('compare', ids.f32, ids.mixed, '--json', '--runs-dir', runsDir);
    expect(code).toBe(0);
    const c = JSON.parse(out);
    expect(c.runs.map((r: { name: string }) => r.name)).toEqual(['f32', 'mixed']);
    expect(c.config).toEqual({ policy: ['float32', 'mixed_float16'] });
    expect(c.sameConfig).toEqual({ epochs: 5, lr: 0.001 });
    expect(c.summary.loss).toEqual([0.6, 0.6]);
    const text = (await keel('compare', ids.f32, ids.mixed, ids.other, '--runs-dir', runsDir)).out;
    expect(text).toMatch(/Config: differences \(0 keys identical\)/);
    expect(text).toMatch(/\n\s+policy\s+float32\s+mixed_float16\s+-\n/);
    expect(text).toMatch(/\n\s+lr\s+0\.001\s+0\.001\s+0\.1\n/);
    expect(text).toMatch(/Summary\n(.*\n)*\s+accuracy\s+0\.9\s+0\.9\s+0\.9\n/);
  });

  it('export --json has every point; --csv one row per (step, metric)', async () => {
    const j = JSON.parse((await keel('export', ids.f32, '--json', '--runs-dir', runsDir)).out);
    expect(j.metrics['batch/loss']).toHaveLength(5000);
    expect(j.metrics['batch/loss'][4999].slice(0, 2)).toEqual([4999, 1 / 5000]);
    expect(j.logs).toHaveLength(2);
    const { out } = await keel('export', ids.mixed, '--csv', '--runs-dir', runsDir);
    const rows = out.trimEnd().split('\n');
    expect(rows[0]).toBe('step,metric,value,wall_time');
    expect(rows).toHaveLength(1 + 5000 + 5 + 5);
    expect(rows.find((r) => r.startsWith('4,loss,'))).toMatch(/^4,loss,0\.6,\d+(\.\d+)?$/);
    expect(rows[1]).toMatch(/^0,accuracy,0\.5,\d+\.?\d*$/);
    const file = join(tmp.dir, 'out.csv');
    expect((await keel('export', ids.mixed, '--csv', '--out', file, '--runs-dir', runsDir)).out).toBe('');
    expect(readFileSync(file, 'utf8')).toBe(out);
  });

  it('bad ids and bad arguments: a clear message and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['show', 'nosuchid', '--runs-dir', runsDir], /error: no run 'nosuchid' in .*keel\.db/],
      [['show', 'abcd', '--runs-dir', join(tmp.dir, 'nothing')], /error: no run 'abcd': no runs recorded in/],
      [['compare', ids.f32, 'nosuchid', '--runs-dir', runsDir], /error: no run 'nosuchid'/],
      [['compare', ids.f32, '--runs-dir', runsDir], /compare needs at least two run ids, got 1/],
      [['export', ids.f32, '--runs-dir', runsDir], /export needs exactly one of --csv or --json/],
      [
        ['export', ids.f32, '--csv', '--json', '--runs-dir', runsDir],
        /export needs exactly one of --csv or --json/,
      ],
      [
        ['show', ids.f32, '--max-points', '1', '--runs-dir', runsDir],
        /--max-points.*expected an integer >= 2/,
      ],
      [
        ['show', ids.f32, '--max-points', 'many', '--runs-dir', runsDir],
        /--max-points.*expected an integer >= 2/,
      ],
      [
        ['list', '--status', 'sleeping', '--runs-dir', runsDir],
        /--status must be one of running, finished, failed, crashed/,
      ],
      [['list', '--bogus'], /unknown option '--bogus'/],
      [['show'], /missing required argument 'id'/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ];
    for (const [args, re] of cases) {
      const r = await keel(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(re);
      expect(r.out, args.join(' ')).toBe('');
    }
  });

  it('the real `keel` binary: JSON on stdout, errors on stderr with exit code 2', async () => {
    const outdir = await bundle('cli', { cli: 'src/cli.ts' });
    const cli = join(outdir, 'cli.js');
    const list = startChild(cli, ['runs', 'list', '--json', '--runs-dir', runsDir]);
    const bad = startChild(cli, ['runs', 'show', 'nosuchid', '--runs-dir', runsDir]);
    const [e1, e2] = await Promise.all([list.exited, bad.exited]);
    expect(e1.code, list.stderr()).toBe(0);
    expect(JSON.parse(list.stdout())).toHaveLength(3);
    expect(e2.code).toBe(2);
    expect(bad.stderr()).toMatch(/^error: no run 'nosuchid' in /);
    rmSync(outdir, { recursive: true, force: true });
  }, 30_000);
});
