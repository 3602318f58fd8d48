// The dashboard server (`keel ui`): Fastify with the page and the read-only HTTP API over one run
// store. Loopback by default; any other address needs a token, which every /api request must carry
// (`Authorization: Bearer <token>`). On loopback without a token, requests must name a loopback host
// (so that a web page on another site cannot read the runs through DNS rebinding).
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { openReader, TrackError } from '../track/index.js';
import { registerApi } from './api.js';
import { loadAssets, registerAssets } from './assets.js';
import {
  checkOptions,
  type Dashboard,
  type DashboardOptions,
  DEFAULT_HOST,
  hostOf,
  isLoopback,
  UiError,
} from './options.js';

export type { Dashboard, DashboardOptions } from './options.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The Fastify app of a dashboard (not listening; `inject()` works). Closing it closes its reader. */
export function createDashboard(options: DashboardOptions = {}): FastifyInstance {
  const o = checkOptions(options);
  const reader = openReader(o.runsDir);
  // unknown query parameters are errors (Fastify's default would drop them silently)
  const app = Fastify({
    logger: false,
    routerOptions: { maxParamLength: 200 },
    ajv: { customOptions: { removeAdditional: false } },
  });
  const tokenHash = o.token === null ? null : digest(o.token);
  const guardHost = o.token === null && isLoopback(o.host);

  app.addHook('onRequest', async (req, reply) => {
    if (guardHost && !isLoopback(hostOf(req.headers.host))) {
      return reply.code(403).send({
        error: `this dashboard answers only to loopback host names, not '${hostOf(req.headers.host)}' (behind a proxy, start it with --token)`,
      });
    }
    if (tokenHash && req.url.startsWith('/api/')) {
      const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
      if (!m || !timingSafeEqual(digest(m[1]), tokenHash))
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: m ? 'wrong access token' : 'this dashboard needs its access token' });
    }
    return undefined;
  });

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header(
      'content-security-policy',
      "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    );
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err instanceof TrackError) return reply.code(err.status).send({ error: err.message });
    if (err.validation) return reply.code(400).send({ error: err.message });
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send({ error: err.message });
    process.emitWarning(`keel ui: ${err.stack ?? err.message}`);
    return reply.code(500).send({ error: `internal error: ${err.message}` });
  });

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: `not found: ${req.method} ${req.url.split('?')[0]}` }),
  );

  registerApi(app, { reader, runsDir: o.runsDir });
  registerAssets(app, loadAssets());
  app.addHook('onClose', async () => reader.close());
  return app;
}

/**
 * Serves the dashboard (`keel ui`) on host:port until close(): the page at `/` and the HTTP API of
 * SPEC.md. Resolves once listening.
 */
export async function serveDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const o = checkOptions(options);
  const app = createDashboard(options);
  try {
    await app.listen({ port: o.port, host: o.host });
  } catch (e) {
    await app.close();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE')
      throw new UiError(`port ${o.port} on ${o.host} is in use: pass another --port (0 picks a free one)`);
    if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND')
      throw new UiError(`cannot listen on ${o.host}: ${err.message}`);
    throw e;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const shown = o.host === '0.0.0.0' || o.host === '::' ? DEFAULT_HOST : o.host;
  const baseUrl = `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}/`;
  return {
    url: o.token ? `${baseUrl}?token=${encodeURIComponent(o.token)}` : baseUrl,
    baseUrl,
    port,
    close: async () => {
      await app.close();
    },
  };
}
