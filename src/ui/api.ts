// The dashboard's HTTP API (SPEC.md "Dashboard HTTP API"): read-only GET routes over a RunsReader,
// every parameter checked by a JSON schema. Errors answer { error } with 400 or 404.
import type { FastifyInstance } from 'fastify';
import { DEFAULT_MAX_POINTS, type RunsReader } from '../track/index.js';

/** Run ids are [0-9a-z] (a full id or a unique prefix of at least 4 characters). */
const ID = { type: 'string', pattern: '^[0-9a-z]{1,64}$' } as const;
/** Series keys: any text a run may log, but not unbounded. */
const KEY = { type: 'string', minLength: 1, maxLength: 512 } as const;
/** The most points one series may be asked for (the data of a CSV export). */
export const MAX_POINTS_LIMIT = 1_000_000;
const MAX_POINTS = {
  type: 'integer',
  minimum: 2,
  maximum: MAX_POINTS_LIMIT,
  default: DEFAULT_MAX_POINTS,
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: ID },
  additionalProperties: false,
} as const;

/** Query strings: unknown parameters are errors, not silently ignored. */
function query(properties: Record<string, unknown>, required: string[] = []) {
  return { type: 'object', properties, required, additionalProperties: false } as const;
}

interface IdParams {
  id: string;
}

export interface ApiOptions {
  reader: RunsReader;
  /** shown by /api/info */
  runsDir: string;
}

/** Registers the /api routes on app. */
export function registerApi(app: FastifyInstance, { reader, runsDir }: ApiOptions): void {
  app.get('/api/info', { schema: { querystring: query({}) } }, async () => ({ runsDir, readOnly: true }));

  app.get('/api/runs', { schema: { querystring: query({}) } }, async () => reader.listRuns());

  app.get<{ Params: IdParams }>(
    '/api/runs/:id',
    { schema: { params: idParams, querystring: query({}) } },
    async (req) => reader.getRun(reader.resolveId(req.params.id)),
  );

  app.get<{ Params: IdParams; Querystring: { key: string; maxPoints: number } }>(
    '/api/runs/:id/metrics',
    { schema: { params: idParams, querystring: query({ key: KEY, maxPoints: MAX_POINTS }, ['key']) } },
    async (req) =>
      reader.metrics(reader.resolveId(req.params.id), req.query.key, { maxPoints: req.query.maxPoints }),
  );

  app.get<{ Params: IdParams; Querystring: { maxPoints: number } }>(
    '/api/runs/:id/system',
    { schema: { params: idParams, querystring: query({ maxPoints: MAX_POINTS }) } },
    async (req) => reader.system(reader.resolveId(req.params.id), { maxPoints: req.query.maxPoints }),
  );

  // lines (SPEC): ["line", ...]; entries: [{ stream, time, line }, ...]
  app.get<{ Params: IdParams; Querystring: { tail?: number; format: 'lines' | 'entries' } }>(
    '/api/runs/:id/logs',
    {
      schema: {
        params: idParams,
        querystring: query({
          tail: { type: 'integer', minimum: 0, maximum: 10_000_000 },
          format: { type: 'string', enum: ['lines', 'entries'], default: 'lines' },
        }),
      },
    },
    async (req) => {
      const id = reader.resolveId(req.params.id);
      const opts = req.query.tail === undefined ? {} : { tail: req.query.tail };
      return req.query.format === 'entries' ? reader.logEntries(id, opts) : reader.logs(id, opts);
    },
  );

  // Several runs' metrics in one request (the compare view): { runs: { id: { key: points } } };
  // keys a run did not log are left out of its object; without key, every key of each run.
  app.get<{ Querystring: { id: string[]; key?: string[]; maxPoints: number } }>(
    '/api/metrics',
    {
      schema: {
        querystring: query(
          {
            id: { type: 'array', items: ID, minItems: 1, maxItems: 100 },
            key: { type: 'array', items: KEY, minItems: 1, maxItems: 500 },
            maxPoints: MAX_POINTS,
          },
          ['id'],
        ),
      },
    },
    async (req) => {
      const ids = req.query.id.map((id) => reader.resolveId(id));
      const runs: Record<string, Record<string, unknown>> = {};
      const maxPoints = req.query.maxPoints;
      for (const id of ids) {
        if (!req.query.key) {
          runs[id] = reader.allMetrics(id, { maxPoints });
          continue;
        }
        const have = new Set(reader.getRun(id).metricKeys.map((k) => k.key));
        const out: Record<string, unknown> = {};
        for (const key of req.query.key)
          if (have.has(key)) out[key] = reader.metrics(id, key, { maxPoints }).points;
        runs[id] = out;
      }
      return { maxPoints: req.query.maxPoints, runs };
    },
  );
}
