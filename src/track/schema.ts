// The store's schema, versioned with PRAGMA user_version; migrations run in order inside one
// immediate transaction, so concurrent openers of a new or old store migrate it exactly once.
import type { Database } from './sqlite.js';

/** One step: migrations[i] takes a store from version i to i + 1. */
export type Migration = (db: Database) => void;

/**
 * Times are Unix milliseconds. Metric and system series are stored in chunks: a blob of
 * little-endian float64 columns steps[n], values[n], walls[n] (NaN values as NaN), appended in
 * order (chunk ids increase) so one flush costs one row per key and a million points read back as
 * a few dozen blobs.
 */
const V1 = `
CREATE TABLE runs (
  id           TEXT PRIMARY KEY,
  project      TEXT NOT NULL,
  name         TEXT NOT NULL,
  run_group    TEXT,
  tags         TEXT NOT NULL DEFAULT '[]',
  status       TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'crashed')),
  exit_code    INTEGER,
  started_at   INTEGER NOT NULL,
  ended_at     INTEGER,
  heartbeat_at INTEGER NOT NULL,
  host         TEXT NOT NULL,
  pid          INTEGER NOT NULL,
  config       TEXT NOT NULL DEFAULT '{}',
  summary      TEXT NOT NULL DEFAULT '{}',
  env          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_by_project ON runs (project, started_at);
CREATE INDEX runs_by_start ON runs (started_at);

CREATE TABLE series (
  id     INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  kind   TEXT NOT NULL CHECK (kind IN ('metric', 'system')),
  key    TEXT NOT NULL,
  UNIQUE (run_id, kind, key)
);

CREATE TABLE chunks (
  id        INTEGER PRIMARY KEY,
  series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
  n         INTEGER NOT NULL,
  step_min  REAL NOT NULL,
  step_max  REAL NOT NULL,
  data      BLOB NOT NULL
);
CREATE INDEX chunks_by_series ON chunks (series_id, id);

CREATE TABLE logs (
  id     INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  stream TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr')),
  time   INTEGER NOT NULL,
  line   TEXT NOT NULL
);
CREATE INDEX logs_by_run ON logs (run_id, id);
`;

export const MIGRATIONS: readonly Migration[] = [(db) => db.exec(V1)];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the store to migrations.length; refuses a store written by a newer Keel. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): void {
  const target = migrations.length;
  const check = (v: number) => {
    if (v > target) {
      throw new Error(
        `keel track: ${db.name} has schema version ${v}, newer than this Keel's ${target}; upgrade Keel to read it`,
      );
    }
  };
  const current = schemaVersion(db);
  check(current);
  if (current === target) return;
  db.transaction(() => {
    const v = schemaVersion(db); // re-read under the write lock: another process may have migrated
    check(v);
    for (let i = v; i < target; i++) migrations[i](db);
    db.pragma(`user_version = ${target}`);
  }).immediate();
}
