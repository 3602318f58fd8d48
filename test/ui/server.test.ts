// The dashboard server around the API: the page and its files, path traversal, read-only-ness,
// the DNS-rebinding guard on loopback, the token rule off loopback, and the `keel ui` command.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUi } from '../../src/cli/ui.js';
import type { Dashboard } from '../../src/ui/index.js';
import { createDashboard, serveDashboard } from '../../src/ui/server.js';
import { tempDir } from '../track/helpers.js';
import { seedStore } from './fixtures.js';

const tmp = tempDir('keel-ui-server-');
const runsDir = join(tmp.dir, 'runs');
let app: FastifyInstance;
let ids: Record<string, string>;

beforeAll(() => {
  ids = seedStore(runsDir).ids;
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

describe('the page and safety', () => {
  it('serves the page, its modules and uPlot', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('/static/app.js');
    const js = await get('/static/app.js');
    expect(js.headers['content-type']).toMatch(/text\/javascript/);
    expect((await get('/static/uPlot.esm.js')).body).toMatch(
      /export \{ uPlot as default \}|export default uPlot/,
    );
    expect((await get('/static/uPlot.min.css')).status).toBe(200);
    const again = await get('/static/app.js', { 'if-none-match': js.headers.etag as string });
    expect(again.status).toBe(304);
  });

  it('never serves a file outside its list: traversal attempts get 400/404 JSON', async () => {
    const attempts = [
      '/static/../../package.json',
      '/static/..%2F..%2Fpackage.json',
      '/static/%2e%2e%2f%2e%2e%2fpackage.json',
      '/static/....//....//package.json',
      '/static/server.ts',
      '/static/api.ts',
      '/static/.env',
      '/../../../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/static/%2Fetc%2Fpasswd',
      '/api/runs/..%2F..%2Fetc%2Fpasswd',
      '/api/runs/../../etc/passwd',
      '/api/runs/%2e%2e/metrics?key=loss',
      `/api/runs/${ids['resnet50-float32']}/metrics?key=../../../etc/passwd`,
      '/node_modules/uplot/package.json',
      '/keel.db',
      '/api/runs/keel.db',
    ];
    for (const url of attempts) {
      const res = await app.inject({ method: 'GET', url });
      expect([400, 404], url).toContain(res.statusCode);
      expect(res.json().error, url).toEqual(expect.any(String));
      expect(res.body, url).not.toMatch(/"name": ?"keel"|root:x:0|SQLite format/);
    }
  });

  it('is read-only: no route takes POST, PUT, PATCH or DELETE, and nothing in the store changes', async () => {
    const before = readdirSync(runsDir).map((f) => [f, statSync(join(runsDir, f)).mtimeMs]);
    const runsBefore = (await get('/api/runs')).body;
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      for (const url of ['/api/runs', `/api/runs/${ids['resnet50-float32']}`, '/static/app.js', '/']) {
        const res = await app.inject({ method, url, payload: { name: 'x' } });
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        expect(res.json().error).toMatch(/not found/);
      }
    }
    expect((await get('/api/runs')).body).toEqual(runsBefore);
    expect(readdirSync(runsDir).map((f) => [f, statSync(join(runsDir, f)).mtimeMs])).toEqual(before);
  });

  it('on loopback, refuses requests naming another host (DNS rebinding)', async () => {
    const res = await get('/api/runs', { host: 'evil.example:6006' });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/loopback/);
    expect((await get('/api/runs', { host: 'localhost:6006' })).status).toBe(200);
    expect((await get('/api/runs', { host: '[::1]:6006' })).status).toBe(200);
  });
});

describe('the token rule', () => {
  it('refuses to bind off loopback without a token', () => {
    expect(() => createDashboard({ runsDir, host: '0.0.0.0' })).toThrow(/--token/);
    expect(() => createDashboard({ runsDir, host: '192.168.1.10' })).toThrow(/--token/);
    expect(() => createDashboard({ runsDir, host: '::' })).toThrow(/--token/);
    expect(() => createDashboard({ runsDir, host: '0.0.0.0', token: 'short' })).toThrow(/at least 8/);
    expect(() => createDashboard({ runsDir, port: 70000 })).toThrow(/port/);
  });

  it('with a token, every API request needs it; the page itself loads and asks for it', async () => {
    const token = 's3cret-token-123';
    const d: Dashboard = await serveDashboard({ runsDir, host: '0.0.0.0', port: 0, token });
    try {
      expect(d.url).toBe(`${d.baseUrl}?token=${token}`);
      const page = await fetch(d.baseUrl);
      expect(page.status).toBe(200);
      const none = await fetch(`${d.baseUrl}api/runs`);
      expect(none.status).toBe(401);
      expect(await none.json()).toEqual({ error: expect.stringMatching(/token/) });
      const wrong = await fetch(`${d.baseUrl}api/runs`, {
        headers: { authorization: 'Bearer nope-nope-nope' },
      });
      expect(wrong.status).toBe(401);
      const inQuery = await fetch(`${d.baseUrl}api/runs?token=${token}`);
      expect(inQuery.status).toBe(401);
      const right = await fetch(`${d.baseUrl}api/runs`, { headers: { authorization: `Bearer ${token}` } });
      expect(right.status).toBe(200);
      expect(await right.json()).toHaveLength(6);
      // another Host name is fine off loopback (the token guards it)
      const named = await fetch(`${d.baseUrl}api/runs`, {
        headers: { authorization: `Bearer ${token}`, host: 'trainer.lan' },
      });
      expect(named.status).toBe(200);
    } finally {
      await d.close();
    }
  });
});

describe('keel ui', () => {
  async function keel(
    ...args: string[]
  ): Promise<{ code: number; out: string; err: string; dashboard?: Dashboard }> {
    let out = '';
    let err = '';
    let dashboard: Dashboard | undefined;
    const program = new Command('keel').exitOverride().configureOutput({
      writeOut: (s) => (out += s),
      writeErr: (s) => (err += s),
      outputError: (s, w) => w(s),
    });
    registerUi(program, { out: (s) => (out += s), started: (d) => (dashboard = d) });
    try {
      await program.parseAsync(['node', 'keel', 'ui', ...args]);
      return { code: 0, out, err, dashboard };
    } catch (e) {
      if (e instanceof CommanderError) return { code: e.exitCode === 1 ? 2 : e.exitCode, out, err };
      throw e;
    }
  }

  it('serves the store and prints the address', async () => {
    const r = await keel('--runs-dir', runsDir, '--port', '0');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Keel dashboard on http:\/\/127\.0\.0\.1:\d+\//);
    const res = await fetch(`${r.dashboard!.baseUrl}api/runs`);
    expect(await res.json()).toHaveLength(6);
    await r.dashboard!.close();
  });

  it('exits 2 with a message for bad arguments', async () => {
    const off = await keel('--runs-dir', runsDir, '--host', '0.0.0.0', '--port', '0');
    expect(off.code).toBe(2);
    expect(off.err).toMatch(/--token/);
    const port = await keel('--port', 'abc');
    expect(port.code).toBe(2);
    expect(port.err).toMatch(/port/);
    expect((await keel('--port', '99999')).code).toBe(2);
  });

  it('says so when the port is taken', async () => {
    const first = await serveDashboard({ runsDir, port: 0 });
    try {
      const r = await keel('--runs-dir', runsDir, '--port', String(first.port));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/in use/);
    } finally {
      await first.close();
    }
  });
});
