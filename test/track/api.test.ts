// track.init / Run semantics, summary rules, console capture and the read API (RunsReader).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LineAssembler } from '../../src/track/console.js';
import { downsampleIndices } from '../../src/track/downsample.js';
import { gitInfo } from '../../src/track/env.js';
import '../../src/index.js'; // registers the backends, as users get them
import * as track from '../../src/track/index.js';
import { ROOT, silenceStdio, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;
/** A run in its own store, without background sampling or console capture unless asked. */
function newRun(o: track.InitOptions = {}) {
  const runsDir = o.runsDir ?? join(tmp.dir, `s${n++}`);
  return { run: track.init({ systemInterval: 0, captureConsole: false, ...o, runsDir }), runsDir };
}

describe('track.init and Run', () => {
  it('records identity, environment, config and the end of the run', async () => {
    const { run, runsDir } = newRun({
      project: 'ships',
      name: 'f32',
      group: 'seed',
      tags: ['a', 'b'],
      config: { lr: 0.001, model: { depth: 50 } },
    });
    expect(run.id).toMatch(/^[0-9a-z]{8}$/);
    expect(run.status).toBe('running');
    expect(run.config).toEqual({ lr: 0.001, model: { depth: 50 } });
    run.log({ loss: 1 });
    await run.finish();
    expect(run.status).toBe('finished');
    const r = track.openReader(runsDir);
    const info = r.getRun(run.id);
    expect(info).toMatchObject({
      id: run.id,
      name: 'f32',
      project: 'ships',
      group: 'seed',
      tags: ['a', 'b'],
      status: 'finished',
      exitCode: 0,
    });
    expect(Date.parse(info.startedAt)).toBeLessThanOrEqual(Date.parse(info.endedAt!));
    expect(info.env.node).toBe(process.version);
    expect(info.env.pid).toBe(process.pid);
    expect(info.env.host.length).toBeGreaterThan(0);
    expect(info.env.command).toContain(process.execPath);
    expect(info.env.backend).toBe('cpu');
    expect(typeof info.env.device).toBe('string');
    r.close();
  });

  it('reads the git commit like git does', () => {
    let head = '';
    try {
      head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return; // no git here: nothing to compare with
    }
    expect(gitInfo(join(ROOT, 'src', 'track'))?.commit).toBe(head);
    expect(gitInfo(tmp.dir)).toBeNull();
  });

  it('steps: auto-increment after the largest step, explicit steps, validation', async () => {
    const { run, runsDir } = newRun();
    run.log({ a: 1 });
    run.log({ a: 2 });
    run.log({ b: 5 }, { step: 10 });
    run.log({ a: 3 });
    run.log({ a: 0.5 }, { step: 4 }); // out of order: stored, read back sorted by step
    expect(run.step).toBe(12);
    expect(() => run.log({ a: 1 }, { step: -1 })).toThrow(/step must be a non-negative integer/);
    expect(() => run.log({ a: 1 }, { step: 1.5 })).toThrow(/step must be a non-negative integer/);
    expect(() => run.log({ a: 'x' } as never)).toThrow(/'a' must be a number, got string/);
    expect(() => run.log([1] as never)).toThrow(/metrics must be an object/);
    run.log({ val: { loss: 2, ok: true } }, { step: 0 });
    run.log({ weird: Number.NaN, big: Number.POSITIVE_INFINITY });
    await run.finish();
    expect(() => run.log({ a: 1 })).toThrow(/has finished/);
    const r = track.openReader(runsDir);
    expect(r.metrics(run.id, 'a').points.map(([s, v]) => [s, v])).toEqual([
      [0, 1],
      [1, 2],
      [4, 0.5],
      [11, 3],
    ]);
    expect(r.metrics(run.id, 'val/loss').points[0].slice(0, 2)).toEqual([0, 2]);
    expect(r.metrics(run.id, 'val/ok').points[0][1]).toBe(1);
    expect(r.metrics(run.id, 'weird').points[0][1]).toBeNull(); // JSON has no NaN
    expect(r.getRun(run.id).metricKeys.map((k) => k.key)).toEqual([
      'a',
      'b',
      'big',
      'val/loss',
      'val/ok',
      'weird',
    ]);
    r.close();
  });

  it('summary: the last logged value of each metric unless set; set values win; delete reverts', async () => {
    const { run, runsDir } = newRun();
    run.log({ loss: 3, acc: 0.1 });
    run.log({ loss: 2 });
    run.summary.acc = 0.99; // e.g. the best accuracy instead of the last
    run.summary.note = 'best of 3';
    run.log({ loss: 1, acc: 0.5 });
    expect(run.summary).toEqual({ loss: 1, acc: 0.99, note: 'best of 3' });
    run.log({ x: 7 });
    delete run.summary.note;
    run.summary.x = 8;
    delete run.summary.x; // back to the logged value
    expect({ ...run.summary }).toEqual({ loss: 1, acc: 0.99, x: 7 });
    run.flush();
    const r = track.openReader(runsDir);
    expect(r.listRuns()[0].summary).toEqual({ loss: 1, acc: 0.99, x: 7 });
    run.updateConfig({ epochs: 5 });
    run.config.extra = true; // direct edits are saved too
    await run.finish();
    expect(r.getRun(run.id).config).toEqual({ epochs: 5, extra: true });
    r.close();
  });

  it('rejects bad options with clear messages', () => {
    const dir = join(tmp.dir, 'bad');
    expect(() => track.init({ runsDir: dir, project: '' })).toThrow(/project must be a non-empty string/);
    expect(() => track.init({ runsDir: dir, tags: ['a', 3 as never] })).toThrow(
      /tags must be an array of non-empty strings/,
    );
    expect(() => track.init({ runsDir: dir, mode: 'offline' as never })).toThrow(
      /mode must be 'online' or 'disabled'/,
    );
    expect(() => track.init({ runsDir: dir, config: [] as never })).toThrow(/config must be a plain object/);
    expect(() => track.init({ runsDir: dir, systemInterval: 5 })).toThrow(/at least 100 ms/);
    expect(() => track.init({ runsDir: dir, projet: 'x' } as never)).toThrow(/unknown option 'projet'/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => track.init({ runsDir: dir, config: cyclic })).toThrow(/JSON-serializable/);
    expect(() => track.callback({} as never)).toThrow(/expected a Run/);
  });

  it("mode 'disabled' keeps the API and writes nothing", async () => {
    const dir = join(tmp.dir, 'disabled');
    const run = track.init({ mode: 'disabled', runsDir: dir, config: { a: 1 } });
    run.log({ loss: 1 });
    expect(run.summary).toEqual({ loss: 1 });
    expect(run.sampler).toBe('off');
    await run.finish({ exitCode: 2 });
    expect(run.status).toBe('failed');
    expect(track.openReader(dir).listRuns()).toEqual([]);
  });

  it('batches writes: nothing per log call, everything at the interval or on flush', () => {
    const { run, runsDir } = newRun({ flushInterval: 60_000 });
    const r = track.openReader(runsDir);
    for (let i = 0; i < 100; i++) run.log({ x: i });
    expect(r.getRun(run.id).metricKeys).toEqual([]);
    run.flush();
    expect(r.getRun(run.id).metricKeys[0]).toMatchObject({
      key: 'x',
      count: 100,
      firstStep: 0,
      lastStep: 99,
    });
    // a full buffer flushes without waiting
    for (let i = 0; i < 50_000; i++) run.log({ y: i });
    expect(r.getRun(run.id).metricKeys.find((k) => k.key === 'y')?.count).toBe(50_000);
    void run.finish({ exitCode: 1 });
    expect(r.getRun(run.id)).toMatchObject({ status: 'failed', exitCode: 1 });
    r.close();
  });

  it('captures stdout and stderr lines, carriage-return updates collapsed', async () => {
    const restore = silenceStdio();
    const { run, runsDir } = newRun({ captureConsole: true });
    process.stdout.write('Epoch 1/2\n');
    process.stdout.write('\r1/3 [=>..] - loss: 0.9\x1b[K');
    process.stdout.write('\r2/3 [==>.] - loss: 0.8\x1b[K');
    process.stdout.write('\r3/3 [====] - 1s 5ms/step - loss: 0.7\x1b[K\n');
    process.stderr.write(Buffer.from('warn\xc3', 'latin1'));
    process.stderr.write(Buffer.from([0xa9, 0x0d, 0x0a])); // a UTF-8 character split across writes, CRLF
    process.stdout.write('\x1b[32mgreen\x1b[0m then unfinished');
    await run.finish();
    process.stdout.write('after finish\n');
    restore();
    const r = track.openReader(runsDir);
    expect(r.logs(run.id)).toEqual([
      'Epoch 1/2',
      '3/3 [====] - 1s 5ms/step - loss: 0.7',
      'warné',
      'green then unfinished',
    ]);
    expect(r.logEntries(run.id).map((l) => l.stream)).toEqual(['stdout', 'stdout', 'stderr', 'stdout']);
    expect(r.logs(run.id, { tail: 1 })).toEqual(['green then unfinished']);
    r.close();
  });

  it('console lines: CR then LF ends a line, bare CR starts over, escapes are dropped', () => {
    const lines: string[] = [];
    const a = new LineAssembler((l) => lines.push(l));
    a.write('a\r');
    a.write('\nb\rc\x1b[2K\rd\n\x1b]0;title\x07e');
    a.end();
    expect(lines).toEqual(['a', 'd', 'e']);
  });
});

describe('RunsReader', () => {
  const runsDir = join(tmp.dir, 'reader');
  const ids: string[] = [];
  it('lists runs newest first, filtered; resolves unique prefixes; rejects bad ids', async () => {
    for (const [project, name, group] of [
      ['p1', 'a', 'g'],
      ['p1', 'b', null],
      ['p2', 'c', 'g'],
    ] as const) {
      const run = track.init({
        project,
        name,
        group: group ?? undefined,
        runsDir,
        systemInterval: 0,
        captureConsole: false,
        config: { name },
      });
      run.log({ loss: 1 });
      await run.finish({ exitCode: name === 'b' ? 1 : 0 });
      ids.push(run.id);
    }
    const r = track.openReader(runsDir);
    const all = r.listRuns();
    expect(all.map((x) => x.name)).toEqual(['c', 'b', 'a']);
    expect(Object.keys(all[0]).sort()).toEqual([
      'config',
      'endedAt',
      'group',
      'id',
      'name',
      'project',
      'startedAt',
      'status',
      'summary',
      'tags',
    ]);
    expect(r.listRuns({ project: 'p1' }).map((x) => x.name)).toEqual(['b', 'a']);
    expect(r.listRuns({ group: 'g' }).map((x) => x.name)).toEqual(['c', 'a']);
    expect(r.listRuns({ status: 'failed' }).map((x) => x.name)).toEqual(['b']);
    expect(r.listRuns({ limit: 1 }).map((x) => x.name)).toEqual(['c']);
    expect(r.resolveId(ids[0])).toBe(ids[0]);
    expect(r.resolveId(ids[0].slice(0, 6))).toBe(ids[0]);
    for (const bad of ['nope', 'zzzzzzzz', '']) {
      const e = (() => {
        try {
          r.getRun(bad);
          return null;
        } catch (err) {
          return err as track.TrackError;
        }
      })();
      expect(e).toBeInstanceOf(track.TrackError);
      expect(e?.status).toBe(bad === '' ? 400 : 404);
    }
    expect(() => r.metrics(ids[0], 'missing')).toThrow(/has no metric 'missing'/);
    expect(() => r.metrics(ids[0], 'loss', { maxPoints: 1 })).toThrow(/maxPoints must be an integer >= 2/);
    expect(() => r.compare([ids[0]])).toThrow(/at least two runs/);
    r.close();
    // a store that does not exist yet: no runs, and a not-found for any id
    const empty = track.openReader(join(tmp.dir, 'none'));
    expect(empty.listRuns()).toEqual([]);
    expect(() => empty.getRun('abcd')).toThrow(/no runs recorded/);
  });

  it('compares config differences and summaries side by side', () => {
    const r = track.openReader(runsDir);
    const c = r.compare([ids[0], ids[1]]);
    expect(c.runs.map((x) => x.name)).toEqual(['a', 'b']);
    expect(c.config).toEqual({ name: ['a', 'b'] });
    expect(c.summary).toEqual({ loss: [1, 1] });
    r.close();
  });

  it('downsamples long series keeping each bucket extremes, first and last points', async () => {
    const { run, runsDir: dir } = newRun({ flushInterval: 60_000 });
    const N = 100_000;
    for (let i = 0; i < N; i++)
      run.log({ v: Math.sin(i / 1000) + (i === 31_337 ? 50 : 0) - (i === 77_777 ? 50 : 0) });
    await run.finish();
    const r = track.openReader(dir);
    const pts = r.metrics(run.id, 'v', { maxPoints: 200 }).points;
    expect(pts.length).toBeLessThanOrEqual(200);
    expect(pts.length).toBeGreaterThan(150);
    expect(pts[0][0]).toBe(0);
    expect(pts.at(-1)![0]).toBe(N - 1);
    expect(pts.map((p) => p[0])).toContain(31_337); // the spike
    expect(pts.map((p) => p[0])).toContain(77_777); // the dip
    expect(pts.every((p, i) => i === 0 || p[0] > pts[i - 1][0])).toBe(true);
    expect(r.metrics(run.id, 'v', { maxPoints: null }).points.length).toBe(N);
    // chunks were compacted at finish: a handful of rows for 100k points
    r.close();
  });

  it('downsampleIndices: NaN buckets keep a point, equal steps fall back to positions', () => {
    const steps = Float64Array.from({ length: 1000 }, (_, i) => i);
    const values = Float64Array.from({ length: 1000 }, (_, i) => (i >= 400 && i < 600 ? Number.NaN : i % 7));
    const idx = downsampleIndices(steps, values, 22)!;
    expect(idx.length).toBeLessThanOrEqual(22);
    expect([...idx].some((i) => Number.isNaN(values[i]))).toBe(true);
    const same = downsampleIndices(new Float64Array(1000), values, 22)!;
    expect(same.length).toBeGreaterThan(10);
    expect(downsampleIndices(steps, values, 2)).toEqual(Int32Array.of(0, 999));
    expect(downsampleIndices(steps, values, 1000)).toBeNull();
  });
});
