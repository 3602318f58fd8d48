// Checks at the tracker's boundary: init options, config values and logged metrics.

export interface InitOptions {
  /** groups runs (default 'default') */
  project?: string;
  /** display name (default `run-<n>`, n counting the project's runs) */
  name?: string;
  /** groups runs of one experiment inside a project (the demo's float32/mixed runs) */
  group?: string;
  tags?: string[];
  /** hyperparameters: a JSON-serializable object */
  config?: Record<string, unknown>;
  /** the store's directory (default KEEL_RUNS_DIR or ./keel-runs) */
  runsDir?: string;
  /** 'disabled' records nothing (the same API, in memory); KEEL_TRACK_MODE=disabled sets the default */
  mode?: 'online' | 'disabled';
  /** ms between system samples (default 2000); 0 turns system metrics off */
  systemInterval?: number;
  /** ms between flushes at most (default 1000) */
  flushInterval?: number;
  /** record stdout/stderr as the run's log (default true) */
  captureConsole?: boolean;
  /** GPU metrics through nvidia-smi (default true; a string names the executable) */
  gpu?: boolean | string;
}

/** Metric values by name; nested objects become `outer/inner` names. */
export interface Metrics {
  [key: string]: number | boolean | Metrics;
}

const KNOWN = new Set([
  'project',
  'name',
  'group',
  'tags',
  'config',
  'runsDir',
  'mode',
  'systemInterval',
  'flushInterval',
  'captureConsole',
  'gpu',
]);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function checkName(v: unknown, what: string): void {
  if (v === undefined) return;
  if (typeof v !== 'string' || v.trim() === '')
    throw new Error(`track.init: ${what} must be a non-empty string, got ${JSON.stringify(v)}`);
  if (v.length > 256) throw new Error(`track.init: ${what} is longer than 256 characters`);
}

export function checkInit(o: InitOptions): void {
  if (!isPlainObject(o)) throw new Error('track.init: options must be an object');
  for (const k of Object.keys(o))
    if (!KNOWN.has(k)) throw new Error(`track.init: unknown option '${k}'; known: ${[...KNOWN].join(', ')}`);
  checkName(o.project, 'project');
  checkName(o.name, 'name');
  checkName(o.group, 'group');
  checkName(o.runsDir, 'runsDir');
  if (
    o.tags !== undefined &&
    (!Array.isArray(o.tags) || o.tags.some((t) => typeof t !== 'string' || t === ''))
  )
    throw new Error('track.init: tags must be an array of non-empty strings');
  if (o.mode !== undefined && o.mode !== 'online' && o.mode !== 'disabled')
    throw new Error(`track.init: mode must be 'online' or 'disabled', got ${JSON.stringify(o.mode)}`);
  for (const k of ['systemInterval', 'flushInterval'] as const) {
    const v = o[k];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0))
      throw new Error(`track.init: ${k} must be a number of milliseconds >= 0, got ${v}`);
  }
  const si = o.systemInterval as number | undefined;
  if (si !== undefined && si > 0 && si < 100)
    throw new Error(`track.init: systemInterval must be 0 (off) or at least 100 ms, got ${si}`);
  if (o.config !== undefined && !isPlainObject(o.config))
    throw new Error('track.init: config must be a plain object');
}

/** A JSON copy of config (so later changes to the caller's object don't leak in). */
export function checkConfig(config: Record<string, unknown>, where: string): Record<string, unknown> {
  if (!isPlainObject(config)) throw new Error(`${where}: config must be a plain object`);
  let text: string;
  try {
    text = JSON.stringify(config, (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
  } catch (e) {
    throw new Error(`${where}: config must be JSON-serializable (${(e as Error).message})`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/** [key, value] pairs of a metrics object; throws on anything that is not a number or boolean. */
export function flattenMetrics(m: Metrics, prefix = '', out: [string, number][] = []): [string, number][] {
  if (!isPlainObject(m))
    throw new Error(
      `run.log: metrics must be an object of numbers, got ${Array.isArray(m) ? 'an array' : typeof m}`,
    );
  for (const k in m) {
    const v = m[k];
    const key = prefix + k;
    if (k === '')
      throw new Error(
        `run.log: metric names must be non-empty${prefix ? ` (under '${prefix.slice(0, -1)}')` : ''}`,
      );
    if (typeof v === 'number') out.push([key, v]);
    else if (typeof v === 'boolean') out.push([key, v ? 1 : 0]);
    else if (isPlainObject(v)) flattenMetrics(v, `${key}/`, out);
    else throw new Error(`run.log: '${key}' must be a number, got ${v === null ? 'null' : typeof v}`);
  }
  return out;
}
