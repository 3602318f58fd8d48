// The store's read API: what `keel runs` and the dashboard's HTTP server call. Shapes match
// SPEC.md's JSON (times: startedAt/endedAt ISO 8601, point wall times Unix seconds; non-finite
// values as null). Errors are TrackErrors whose `status` is the HTTP status to answer with.
import { hostname } from 'node:os';
import { type Columns, listSeries, readSeries, type SeriesInfo, type SeriesKind } from './chunks.js';
import { downsampleIndices, pick } from './downsample.js';
import type { RunEnv } from './env.js';
import type { Database } from './sqlite.js';
import { defaultRunsDir, openStore, type RunRow, type RunStatus, storeExists, storePath } from './store.js';

export type { SeriesInfo } from './chunks.js';
export type { RunEnv } from './env.js';
export type { RunStatus } from './store.js';

/** `not_found` (HTTP 404) or `bad_argument` (HTTP 400). */
export class TrackError extends Error {
  constructor(
    message: string,
    readonly code: 'not_found' | 'bad_argument',
  ) {
    super(message);
    this.name = 'TrackError';
  }
  get status(): 404 | 400 {
    return this.code === 'not_found' ? 404 : 400;
  }
}

/** One run as `keel runs list --json` and `GET /api/runs` show it. */
export interface RunSummary {
  id: string;
  name: string;
  project: string;
  group: string | null;
  tags: string[];
  status: RunStatus;
  startedAt: string;
  endedAt: string | null;
  config: Record<string, unknown>;
  summary: Record<string, unknown>;
}

/** getRun(): the summary plus exit code, heartbeat, environment and the keys of its series. */
export interface RunInfo extends RunSummary {
  exitCode: number | null;
  heartbeatAt: string;
  /** seconds from start to end (or to the last heartbeat while running or crashed) */
  durationSec: number;
  env: RunEnv;
  metricKeys: SeriesInfo[];
  systemKeys: SeriesInfo[];
}

/** [step, value, wallTime (Unix seconds)] */
export type MetricPoint = [number, number | null, number];
/** [wallTime (Unix seconds), value] */
export type SystemPoint = [number, number | null];

/** `keel runs show --json` / `export --json`: the summary plus every series and the log. */
export interface RunExport extends RunSummary {
  exitCode: number | null;
  env: RunEnv;
  metrics: Record<string, MetricPoint[]>;
  system: Record<string, SystemPoint[]>;
  logs: string[];
}

export interface Comparison {
  runs: { id: string; name: string; project: string; group: string | null; status: RunStatus }[];
  /** config keys (nested objects flattened to `a.b`) whose values differ, one value per run (null: absent) */
  config: Record<string, unknown[]>;
  /** config keys equal in every run */
  sameConfig: Record<string, unknown>;
  /** every summary key of any run, one value per run (null: absent) */
  summary: Record<string, unknown[]>;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** Unix seconds */
  time: number;
  line: string;
}

/** Default maxPoints of show and of the dashboard's metric queries. */
export const DEFAULT_MAX_POINTS = 2000;
/** A running run whose heartbeat is older than this is shown as crashed (other hosts; 15 min on this one, with a live pid). */
export const STALE_MS = 60_000;
const STALE_LOCAL_MS = 15 * 60_000;

const num = (v: number): number | null => (Number.isFinite(v) ? v : null);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The status readers show: a 'running' run whose process is gone (or silent too long) is 'crashed'. */
export function effectiveStatus(
  row: Pick<RunRow, 'status' | 'host' | 'pid' | 'heartbeat_at'>,
  now = Date.now(),
): RunStatus {
  if (row.status !== 'running') return row.status;
  const age = now - row.heartbeat_at;
  if (row.host === hostname()) return pidAlive(row.pid) && age < STALE_LOCAL_MS ? 'running' : 'crashed';
  return age < STALE_MS ? 'running' : 'crashed';
}

/** Checks a maxPoints parameter: an integer >= 2, or null/Infinity for every point. */
export function checkMaxPoints(v: unknown): number {
  if (v === null || v === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 2)
    throw new TrackError(`maxPoints must be an integer >= 2, got ${String(v)}`, 'bad_argument');
  return v;
}

function flatten(
  o: Record<string, unknown>,
  prefix = '',
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const [k, v] of Object.entries(o)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0)
      flatten(v as Record<string, unknown>, `${prefix}${k}.`, out);
    else out[prefix + k] = v;
  }
  return out;
}

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Reads the runs of one store. Cheap to open; close() when done. Safe while runs are writing. */
export class RunsReader {
  private conn: Database | null = null;
  private closed = false;

  constructor(readonly runsDir: string = defaultRunsDir()) {}

  /** The connection, opened on first use; null while the store does not exist (no run recorded yet). */
  private get db(): Database | null {
    if (!this.conn && !this.closed && storeExists(this.runsDir))
      this.conn = openStore(this.runsDir, { create: false });
    return this.conn;
  }

  close(): void {
    this.closed = true;
    this.conn?.close();
    this.conn = null;
  }

  /** Runs, newest first; optionally only one project, group or status. */
  listRuns(
    filter: { project?: string; group?: string; status?: RunStatus; limit?: number } = {},
  ): RunSummary[] {
    if (!this.db) return [];
    if (filter.limit !== undefined && !(Number.isInteger(filter.limit) && filter.limit > 0))
      throw new TrackError(`limit must be a positive integer, got ${filter.limit}`, 'bad_argument');
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.project !== undefined) {
      where.push('project = ?');
      params.push(filter.project);
    }
    if (filter.group !== undefined) {
      where.push('run_group = ?');
      params.push(filter.group);
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id`;
    const now = Date.now();
    let runs = this.db
      .prepare<RunRow>(sql)
      .all(...params)
      .map((r) => this.summaryOf(r, now));
    if (filter.status) runs = runs.filter((r) => r.status === filter.status);
    return filter.limit ? runs.slice(0, filter.limit) : runs;
  }

  /** The full id of a run given its id or a unique prefix of at least 4 characters. */
  resolveId(idOrPrefix: string): string {
    const db = this.need(idOrPrefix);
    if (db.prepare('SELECT 1 FROM runs WHERE id = ?').get(idOrPrefix)) return idOrPrefix;
    if (idOrPrefix.length >= 4 && /^[0-9a-z]+$/.test(idOrPrefix)) {
      const ids = db
        .prepare('SELECT id FROM runs WHERE id >= ? AND id < ? LIMIT 2')
        .pluck()
        .all(idOrPrefix, `${idOrPrefix}\u{10ffff}`) as string[];
      if (ids.length === 1) return ids[0];
      if (ids.length > 1) throw new TrackError(`run id prefix '${idOrPrefix}' is ambiguous`, 'bad_argument');
    }
    throw new TrackError(`no run '${idOrPrefix}' in ${storePath(this.runsDir)}`, 'not_found');
  }

  getRun(id: string): RunInfo {
    const row = this.row(id);
    const now = Date.now();
    const s = this.summaryOf(row, now);
    const end = row.ended_at ?? (s.status === 'running' ? now : row.heartbeat_at);
    return {
      ...s,
      exitCode: row.exit_code,
      heartbeatAt: iso(row.heartbeat_at)!,
      durationSec: Math.max(0, end - row.started_at) / 1000,
      env: parseJson(row.env, {} as RunEnv),
      metricKeys: listSeries(this.db!, id, 'metric'),
      systemKeys: listSeries(this.db!, id, 'system'),
    };
  }

  /** One metric, downsampled to maxPoints (default 2000; null for all) keeping each bucket's min and max. */
  metrics(
    id: string,
    key: string,
    options: { maxPoints?: number | null } = {},
  ): { key: string; points: MetricPoint[] } {
    const max = checkMaxPoints(options.maxPoints === undefined ? DEFAULT_MAX_POINTS : options.maxPoints);
    this.row(id);
    const c = readSeries(this.db!, id, 'metric', key);
    if (!c) throw new TrackError(`run ${id} has no metric '${key}'`, 'not_found');
    return { key, points: metricPoints(downsample(c, max)) };
  }

  /** Every metric of a run, each downsampled to maxPoints (default 2000; null for all). */
  allMetrics(id: string, options: { maxPoints?: number | null } = {}): Record<string, MetricPoint[]> {
    return this.series(id, 'metric', options.maxPoints, metricPoints);
  }

  /** The run's system samples, one [wallTime, value] series per key (downsampled like metrics). */
  system(id: string, options: { maxPoints?: number | null } = {}): Record<string, SystemPoint[]> {
    return this.series(id, 'system', options.maxPoints, (c) =>
      Array.from(c.walls, (w, i): SystemPoint => [w / 1000, num(c.values[i])]),
    );
  }

  /** The run's console lines (the last `tail` only, when given). */
  logs(id: string, options: { tail?: number } = {}): string[] {
    return this.logEntries(id, options).map((l) => l.line);
  }

  logEntries(id: string, options: { tail?: number } = {}): LogLine[] {
    const tail = options.tail;
    if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0))
      throw new TrackError(`tail must be a non-negative integer, got ${tail}`, 'bad_argument');
    this.row(id);
    const rows = this.db!.prepare<{ stream: 'stdout' | 'stderr'; time: number; line: string }>(
      tail === undefined
        ? 'SELECT stream, time, line FROM logs WHERE run_id = ? ORDER BY id'
        : 'SELECT * FROM (SELECT id, stream, time, line FROM logs WHERE run_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id',
    ).all(...(tail === undefined ? [id] : [id, tail]));
    return rows.map((r) => ({ stream: r.stream, time: r.time / 1000, line: r.line }));
  }

  /** show/export's JSON: maxPoints per series (default 2000; null: every point, as export does). */
  runJson(id: string, options: { maxPoints?: number | null } = {}): RunExport {
    const row = this.row(id);
    return {
      ...this.summaryOf(row, Date.now()),
      exitCode: row.exit_code,
      env: parseJson(row.env, {} as RunEnv),
      metrics: this.allMetrics(id, options),
      system: this.system(id, options),
      logs: this.logs(id),
    };
  }

  /** Config differences and summaries side by side. */
  compare(ids: string[]): Comparison {
    if (ids.length < 2)
      throw new TrackError(`compare needs at least two runs, got ${ids.length}`, 'bad_argument');
    const now = Date.now();
    const runs = ids.map((id) => this.summaryOf(this.row(id), now));
    const configs = runs.map((r) => flatten(r.config));
    const config: Record<string, unknown[]> = {};
    const sameConfig: Record<string, unknown> = {};
    for (const k of [...new Set(configs.flatMap((c) => Object.keys(c)))].sort()) {
      const vals = configs.map((c) => (k in c ? c[k] : null));
      const same =
        configs.every((c) => k in c) && vals.every((v) => JSON.stringify(v) === JSON.stringify(vals[0]));
      if (same) sameConfig[k] = vals[0];
      else config[k] = vals;
    }
    const summary: Record<string, unknown[]> = {};
    for (const k of [...new Set(runs.flatMap((r) => Object.keys(r.summary)))].sort())
      summary[k] = runs.map((r) => r.summary[k] ?? null);
    return {
      runs: runs.map(({ id, name, project, group, status }) => ({ id, name, project, group, status })),
      config,
      sameConfig,
      summary,
    };
  }

  /** Writes `step,metric,value,wall_time` CSV, one row per logged point (by metric, then step). */
  exportCsv(id: string, write: (text: string) => void): void {
    this.row(id);
    write('step,metric,value,wall_time\n');
    for (const { key } of listSeries(this.db!, id, 'metric')) {
      const c = readSeries(this.db!, id, 'metric', key)!;
      const name = /[",\n\r]/.test(key) ? `"${key.replace(/"/g, '""')}"` : key;
      const rows: string[] = [];
      for (let i = 0; i < c.steps.length; i++) {
        rows.push(`${c.steps[i]},${name},${c.values[i]},${c.walls[i] / 1000}`);
        if (rows.length === 10_000) write(`${rows.splice(0).join('\n')}\n`);
      }
      if (rows.length > 0) write(`${rows.join('\n')}\n`);
    }
  }

  private need(id: string): Database {
    if (!this.db) throw new TrackError(`no run '${id}': no runs recorded in ${this.runsDir}`, 'not_found');
    return this.db;
  }

  private row(id: string): RunRow {
    if (typeof id !== 'string' || id === '') throw new TrackError('a run id is required', 'bad_argument');
    const row = this.need(id).prepare<RunRow>('SELECT * FROM runs WHERE id = ?').get(id);
    if (!row) throw new TrackError(`no run '${id}' in ${storePath(this.runsDir)}`, 'not_found');
    return row;
  }

  private series<P>(
    id: string,
    kind: SeriesKind,
    maxPoints: number | null | undefined,
    points: (c: Columns) => P[],
  ): Record<string, P[]> {
    const max = checkMaxPoints(maxPoints === undefined ? DEFAULT_MAX_POINTS : maxPoints);
    this.row(id);
    const out: Record<string, P[]> = {};
    for (const { key } of listSeries(this.db!, id, kind))
      out[key] = points(downsample(readSeries(this.db!, id, kind, key)!, max));
    return out;
  }

  private summaryOf(r: RunRow, now: number): RunSummary {
    return {
      id: r.id,
      name: r.name,
      project: r.project,
      group: r.run_group,
      tags: parseJson(r.tags, [] as string[]),
      status: effectiveStatus(r, now),
      startedAt: iso(r.started_at)!,
      endedAt: iso(r.ended_at),
      config: parseJson(r.config, {}),
      summary: parseJson(r.summary, {}),
    };
  }
}

function downsample(c: Columns, maxPoints: number): Columns {
  return Number.isFinite(maxPoints) ? pick(c, downsampleIndices(c.steps, c.values, maxPoints)) : c;
}

function metricPoints(c: Columns): MetricPoint[] {
  return Array.from(c.steps, (s, i): MetricPoint => [s, num(c.values[i]), c.walls[i] / 1000]);
}

/** Opens a reader on runsDir (default KEEL_RUNS_DIR or ./keel-runs). */
export function openReader(runsDir?: string): RunsReader {
  return new RunsReader(runsDir);
}
