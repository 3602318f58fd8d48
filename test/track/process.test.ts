// The tracker across processes: SIGKILL keeps every flushed point and shows the run as crashed;
// two processes log to one store without losing a row; exit paths record the right status.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReader } from '../../src/track/index.js';
import { openStore } from '../../src/track/store.js';
import { bundle, sleep, startChild, tempDir } from './helpers.js';

let outdir = '';
let script = '';
const tmp = tempDir();

beforeAll(async () => {
  outdir = await bundle('process', { child: 'test/track/fixtures/child.ts' });
  script = join(outdir, 'child.js');
}, 30_000);
afterAll(() => {
  tmp.cleanup();
  rmSync(outdir, { recursive: true, force: true });
});

const spec = (o: Record<string, unknown>) => JSON.stringify(o);

describe('tracked processes', () => {
  it('a run killed with SIGKILL keeps every flushed metric and shows as crashed', async () => {
    const runsDir = join(tmp.dir, 'kill');
    const child = startChild(script, [spec({ mode: 'stream', runsDir })]);
    const [, id, sampler] = await child.waitFor(/run (\w+) sampler (\w+)/);
    expect(sampler).toBe('worker');
    const reader = openReader(runsDir);
    // wait until two automatic flushes have landed (no explicit flush in this mode)
    const counts: number[] = [];
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const n = reader.getRun(id).metricKeys.find((k) => k.key === 'x')?.count ?? 0;
      if (n > 0 && n !== counts.at(-1)) counts.push(n);
      if (counts.length >= 2) break;
      await sleep(100);
    }
    expect(counts.length).toBe(2);
    expect(reader.getRun(id).status).toBe('running');
    const killedAt = Date.now();
    child.proc.kill('SIGKILL');
    const exit = await child.exited;
    expect(exit.signal).toBe('SIGKILL');

    const run = reader.getRun(id);
    expect(run.status).toBe('crashed');
    expect(run.endedAt).toBeNull();
    const x = reader.metrics(id, 'x', { maxPoints: null }).points;
    // nothing seen before the kill was lost, and points are contiguous from step 0
    expect(x.length).toBeGreaterThanOrEqual(counts[1]);
    expect(x.every(([step, value], i) => step === i && value === i)).toBe(true);
    // flushed at least every second: the last stored point is recent
    expect(killedAt - x.at(-1)![2] * 1000).toBeLessThan(2500);
    // the background sampler wrote system samples and the console was captured
    expect(run.systemKeys.map((k) => k.key)).toEqual(
      expect.arrayContaining(['proc.cpu_percent', 'proc.rss_mb']),
    );
    expect(reader.logs(id)[0]).toBe(`run ${id} sampler worker`);
    // carriage-return updates collapse to the state at each newline
    expect(reader.logs(id).slice(1, 3)).toEqual(['step 500', 'step 1000']);
    expect(reader.listRuns().find((r) => r.id === id)?.status).toBe('crashed');
    reader.close();
  }, 30_000);

  it('two processes logging to one store at once lose no row', async () => {
    const runsDir = join(tmp.dir, 'concurrent');
    const n = 4000;
    const kids = ['one', 'two'].map((name) =>
      startChild(script, [spec({ mode: 'burst', runsDir, name, points: n, flushEvery: 50 })]),
    );
    const exits = await Promise.all(kids.map((k) => k.exited));
    for (const [i, k] of kids.entries()) expect(exits[i].code, k.stderr()).toBe(0);
    const reader = openReader(runsDir);
    const runs = reader.listRuns();
    expect(runs.map((r) => r.name).sort()).toEqual(['one', 'two']);
    for (const r of runs) {
      expect(r.status).toBe('finished');
      for (const [key, scale] of [
        ['a', 1],
        ['b', 2],
      ] as const) {
        const pts = reader.metrics(r.id, key, { maxPoints: null }).points;
        expect(pts.length).toBe(n);
        expect(pts.every(([step, v], i) => step === i && v === scale * i)).toBe(true);
      }
      expect(r.summary).toMatchObject({ a: n - 1, b: 2 * (n - 1) });
    }
    reader.close();
  }, 30_000);

  it('records how a process ended: natural exit, uncaught error, exit code, signal', async () => {
    const runsDir = join(tmp.dir, 'exits');
    const run = (mode: string) => startChild(script, [spec({ mode, runsDir })]);
    const natural = run('natural');
    const thrown = run('throw');
    const coded = run('exitcode');
    const signalled = run('signal');
    const waited = run('wait');
    await signalled.waitFor(/ready/);
    signalled.proc.kill('SIGTERM');
    const [e1, e2, e3, e4, e5] = await Promise.all([
      natural.exited,
      thrown.exited,
      coded.exited,
      signalled.exited,
      waited.exited,
    ]);
    expect([e1.code, e2.code, e3.code, e5.code]).toEqual([0, 1, 3, 0]);
    expect(waited.stdout()).toContain('finished, sampler off');
    // our handler closes the run, then the process still dies of the signal
    expect(e4.signal).toBe('SIGTERM');

    const reader = openReader(runsDir);
    const byName = Object.fromEntries(reader.listRuns().map((r) => [r.name, reader.getRun(r.id)]));
    expect(byName.natural).toMatchObject({ status: 'finished', exitCode: 0 });
    expect(byName.throw).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(byName.exitcode).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(byName.signal).toMatchObject({ status: 'failed', exitCode: 143 });
    expect(byName.natural.endedAt).not.toBeNull();
    expect(reader.logs(byName.natural.id)).toContain('bye');
    expect(reader.logs(byName.throw.id).join('\n')).toContain('Error: boom in training');
    expect(byName.natural.env.command).toContain('child.js');
    // the worker compacted its samples into one chunk per key before finish() resolved
    expect(byName.wait.status).toBe('finished');
    expect(byName.wait.systemKeys.find((k) => k.key === 'proc.rss_mb')!.count).toBeGreaterThanOrEqual(2);
    const db = openStore(runsDir, { create: false });
    const perKey = db
      .prepare(
        "SELECT count(*) FROM chunks c JOIN series s ON s.id = c.series_id WHERE s.run_id = ? AND s.kind = 'system' GROUP BY s.id",
      )
      .pluck()
      .all(byName.wait.id);
    db.close();
    expect(perKey.length).toBeGreaterThan(3);
    expect(perKey.every((n) => n === 1)).toBe(true);
    reader.close();
  }, 30_000);
});
