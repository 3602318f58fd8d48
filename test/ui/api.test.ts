// The dashboard's HTTP API (SPEC.md): routes and their JSON, parameter validation (400/404 with
// { error }) and server-side downsampling. server.test.ts: the page, safety, tokens, `keel ui`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard } from '../../src/ui/server.js';
import { tempDir } from '../track/helpers.js';
import { seedStore, writeRuns } from './fixtures.js';

const tmp = tempDir('keel-ui-');
const runsDir = join(tmp.dir, 'runs');
let app: FastifyInstance;
let ids: Record<string, string>;

/** The big series: 100k points, a sine with one spike and one dip. */
const N = 100_000;
const SPIKE = { step: 31_337, value: 50 };
const DIP = { step: 77_777, value: -50 };
const bigValue = (i: number) =>
  i === SPIKE.step ? SPIKE.value : i === DIP.step ? DIP.value : Math.sin(i / 500) + ((i * 7919) % 13) / 100;

beforeAll(() => {
  ids = seedStore(runsDir).ids;
  const steps = Array.from({ length: N }, (_, i) => i);
  writeRuns(runsDir, [
    {
      id: 'bigbig01',
      name: 'big',
      startedAt: Date.now() - 60_000,
      endedAt: Date.now(),
      metrics: {
        wave: { steps, values: steps.map(bigValue), walls: steps.map((i) => Date.now() - 60_000 + i / 2) },
      },
    },
  ]);
  app = createDashboard({ runsDir });
});
afterAll(async () => {
  await app.close();
  tmp.cleanup();
});

const get = async (url: string, headers: Record<string, string> = {}) => {
  const res = await app.inject({ method: 'GET', url, headers });
  return {
    status: res.statusCode,
    body: String(res.headers['content-type']).includes('json') ? res.json() : res.body,
    headers: res.headers,
  };
};

describe('GET /api/runs', () => {
  it('lists every run with the fields of SPEC.md', async () => {
    const { status, body } = await get('/api/runs');
    expect(status).toBe(200);
    expect(body).toHaveLength(7);
    for (const r of body) {
      expect(Object.keys(r).sort()).toEqual(
        [
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
        ].sort(),
      );
      expect(['running', 'finished', 'failed', 'crashed']).toContain(r.status);
    }
    const f16 = body.find((r: { id: string }) => r.id === ids['resnet50-mixed_float16']);
    expect(f16).toMatchObject({
      name: 'resnet50-mixed_float16',
      project: 'ships',
      group: 'seed-mp',
      status: 'finished',
      config: { policy: 'mixed_float16' },
    });
    expect(f16.summary.training_time).toBe(143);
    expect(body.find((r: { name: string }) => r.name === 'smallcnn-float16-noscale').status).toBe('failed');
  });

  it('answers an empty list for a store that does not exist yet, and does not create it', async () => {
    const empty = join(tmp.dir, 'nothing-here');
    const a = createDashboard({ runsDir: empty });
    try {
      expect((await a.inject('/api/runs')).json()).toEqual([]);
      const res = await a.inject('/api/runs/abcd1234');
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toMatch(/no run/);
      expect(existsSync(empty)).toBe(false);
    } finally {
      await a.close();
    }
  });
});

describe('GET /api/runs/:id', () => {
  it('returns the run with its environment and series keys; a unique prefix works too', async () => {
    const id = ids['resnet50-float32'];
    const { status, body } = await get(`/api/runs/${id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id,
      status: 'finished',
      exitCode: 0,
      env: { backend: 'cuda', git: { branch: 'main' } },
    });
    expect(body.metricKeys.map((k: { key: string }) => k.key)).toEqual(
      expect.arrayContaining(['loss', 'batch/loss', 'training_time']),
    );
    expect(body.systemKeys.map((k: { key: string }) => k.key)).toContain('gpu.0.utilization_percent');
    expect((await get(`/api/runs/${id.slice(0, 5)}`)).body.id).toBe(id);
  });

  it('404 for an unknown id, 400 for a malformed one, each with a JSON { error }', async () => {
    const unknown = await get('/api/runs/zzzz9999');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: expect.stringMatching(/no run 'zzzz9999'/) });
    for (const bad of ['BAD', 'a%20b', 'abc!', 'x'.repeat(65), '%00']) {
      const res = await get(`/api/runs/${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error, bad).toMatch(/must match pattern|must NOT have more/);
    }
  });
});

describe('GET /api/runs/:id/metrics', () => {
  it('returns { key, points: [[step, value, wallTime]] } with NaN as null', async () => {
    const { status, body } = await get(`/api/runs/${ids['resnet50-mixed_float16']}/metrics?key=loss`);
    expect(status).toBe(200);
    expect(body.key).toBe('loss');
    expect(body.points.map((p: number[]) => p[1])).toEqual([0.3686, 0.2259, 0.1535, 0.1268, 0.118]);
    expect(body.points.map((p: number[]) => p[0])).toEqual([0, 1, 2, 3, 4]);
    expect(body.points[0][2]).toBeGreaterThan(1e9); // Unix seconds
    const nan = await get(`/api/runs/${ids['smallcnn-float16-noscale']}/metrics?key=loss`);
    expect(nan.body.points.map((p: number[]) => p[1])).toEqual([2.3, 7.9, null]);
    const slash = await get(
      `/api/runs/${ids['resnet50-float32']}/metrics?key=${encodeURIComponent('batch/loss')}&maxPoints=100`,
    );
    expect(slash.status).toBe(200);
    expect(slash.body.points.length).toBeLessThanOrEqual(100);
  });

  it('rejects missing, unknown and malformed parameters with 400, unknown keys with 404', async () => {
    const id = ids['resnet50-float32'];
    const cases: [string, number, RegExp][] = [
      ['', 400, /must have required property 'key'/],
      ['?key=', 400, /must NOT have fewer than 1 characters/],
      ['?key=loss&maxPoints=1', 400, /must be >= 2/],
      ['?key=loss&maxPoints=abc', 400, /must be integer/],
      ['?key=loss&maxPoints=2.5', 400, /must be integer/],
      ['?key=loss&maxPoints=-4', 400, /must be >= 2/],
      ['?key=loss&maxPoints=99999999999', 400, /must be <= 1000000/],
      ['?key=loss&bogus=1', 400, /must NOT have additional properties/],
      ['?key=nope', 404, /has no metric 'nope'/],
      [`?key=${'k'.repeat(600)}`, 400, /must NOT have more than 512/],
    ];
    for (const [q, status, re] of cases) {
      const res = await get(`/api/runs/${id}/metrics${q}`);
      expect(res.status, q).toBe(status);
      expect(res.body.error, q).toMatch(re);
    }
    expect((await get('/api/runs/zzzz9999/metrics?key=loss')).status).toBe(404);
  });

  it('downsamples on the server keeping the first, last and every extreme', async () => {
    const all = Array.from({ length: N }, (_, i) => [i, bigValue(i)] as const);
    for (const max of [2, 10, 500, 2000]) {
      const { body } = await get(`/api/runs/bigbig01/metrics?key=wave&maxPoints=${max}`);
      const pts: [number, number, number][] = body.points;
      expect(pts.length, `maxPoints ${max}`).toBeLessThanOrEqual(max);
      expect(pts[0][0]).toBe(0);
      expect(pts.at(-1)![0]).toBe(N - 1);
      for (let i = 1; i < pts.length; i++) expect(pts[i][0]).toBeGreaterThan(pts[i - 1][0]);
      // every point is a real one, unchanged
      for (const [s, v] of pts) expect(v).toBe(bigValue(s));
      if (max >= 10) {
        const values = pts.map((p) => p[1]);
        expect(values).toContain(SPIKE.value);
        expect(values).toContain(DIP.value);
      }
    }
    // with 2000 points (999 buckets of ~100 steps) the kept points cover the envelope: within a
    // bucket of any range, a kept point is at least as low as the range's minimum and as high as its maximum
    const { body } = await get('/api/runs/bigbig01/metrics?key=wave&maxPoints=2000');
    const kept: [number, number][] = body.points;
    for (let from = 1000; from < N - 2000; from += 3917) {
      const range = all.slice(from, from + 1000).map((p) => p[1]);
      const near = kept.filter(([s]) => s >= from - 101 && s < from + 1000 + 101).map((p) => p[1]);
      expect(Math.min(...near), `min near ${from}`).toBeLessThanOrEqual(Math.min(...range));
      expect(Math.max(...near), `max near ${from}`).toBeGreaterThanOrEqual(Math.max(...range));
    }
    // the default is 2000 points; the largest allowed returns them all
    expect((await get('/api/runs/bigbig01/metrics?key=wave')).body.points.length).toBeLessThanOrEqual(2000);
    expect((await get('/api/runs/bigbig01/metrics?key=wave&maxPoints=1000000')).body.points.length).toBe(N);
  });
});

describe('GET /api/metrics (several runs at once)', () => {
  it('returns each run its logged keys', async () => {
    const a = ids['resnet50-float32'];
    const b = ids['resnet50-mixed_float16'];
    const { status, body } = await get(`/api/metrics?id=${a}&id=${b}&key=loss&key=loss_scale&maxPoints=50`);
    expect(status).toBe(200);
    expect(Object.keys(body.runs[a])).toEqual(['loss']);
    expect(Object.keys(body.runs[b]).sort()).toEqual(['loss', 'loss_scale']);
    expect(body.runs[b].loss).toHaveLength(5);
    // without key: every key of each run
    const all = (await get(`/api/metrics?id=${a}&id=${b}&maxPoints=50`)).body;
    expect(Object.keys(all.runs[b])).toEqual(
      expect.arrayContaining(['loss', 'loss_scale', 'batch/loss', 'training_time']),
    );
    expect(all.runs[b]['batch/loss'].length).toBeLessThanOrEqual(50);
    expect(all.runs[a].loss).toEqual(body.runs[a].loss);
  });

  it('validates its parameters', async () => {
    expect((await get('/api/metrics?key=loss')).status).toBe(400);
    expect((await get('/api/metrics')).status).toBe(400);
    expect((await get('/api/metrics?id=f32jit01&maxPoints=1')).status).toBe(400);
    expect((await get('/api/metrics?id=../x&key=loss')).status).toBe(400);
    expect((await get('/api/metrics?id=zzzz9999&key=loss')).status).toBe(404);
  });
});

describe('GET /api/runs/:id/system and /logs', () => {
  it('system: one [wallTime, value] series per key', async () => {
    const { status, body } = await get(`/api/runs/${ids['resnet50-float32']}/system?maxPoints=20`);
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(
      expect.arrayContaining([
        'gpu.0.utilization_percent',
        'gpu.0.memory_used_mb',
        'proc.cpu_percent',
        'sys.memory_percent',
      ]),
    );
    const util = body['gpu.0.utilization_percent'];
    expect(util.length).toBeLessThanOrEqual(20);
    expect(util[0]).toHaveLength(2);
    expect(util[1][0]).toBeGreaterThan(util[0][0]);
    expect((await get(`/api/runs/${ids['resnet50-float32']}/system?maxPoints=0`)).status).toBe(400);
  });

  it('logs: the console lines; entries with stream and time; tail', async () => {
    const id = ids['resnet50-mixed_float16'];
    const { status, body } = await get(`/api/runs/${id}/logs`);
    expect(status).toBe(200);
    expect(body).toContain('Epoch 2/5');
    expect(body).toContain(
      '78/78 [==============================] - 18s 231ms/step - loss: 0.2259 - accuracy: 0.7822 - val_loss: 0.2540 - val_accuracy: 0.7702',
    );
    const entries = (await get(`/api/runs/${ids['resnet50-mixed_float16-nojit']}/logs?format=entries`)).body;
    expect(entries.find((e: { stream: string }) => e.stream === 'stderr')).toMatchObject({
      line: expect.stringMatching(/jitCompile is off/),
      time: expect.any(Number),
    });
    expect((await get(`/api/runs/${id}/logs?tail=2`)).body).toEqual(body.slice(-2));
    for (const q of ['tail=-1', 'tail=x', 'format=xml', 'foo=1'])
      expect((await get(`/api/runs/${id}/logs?${q}`)).status, q).toBe(400);
  });
});
