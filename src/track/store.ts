// Opening the store (runsDir/keel.db: SQLite in WAL mode, migrated on open) and the run-row writes.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { migrate } from './schema.js';
import { type Database, openDatabase } from './sqlite.js';

export const DB_FILE = 'keel.db';

/** `KEEL_RUNS_DIR`, else `./keel-runs`, as an absolute path. */
export function defaultRunsDir(): string {
  return resolve(process.env.KEEL_RUNS_DIR || 'keel-runs');
}

export function storePath(runsDir: string): string {
  return join(resolve(runsDir), DB_FILE);
}

export function storeExists(runsDir: string): boolean {
  return existsSync(storePath(runsDir));
}

/** How long a writer waits for another process' lock before giving up (and retrying later). */
const BUSY_TIMEOUT_MS = 15_000;

/**
 * Opens (creating it and runsDir when `create`) and migrates the store. Every connection uses WAL
 * (readers never block the writer; a killed process loses nothing it committed) and
 * synchronous=NORMAL (durable across process crashes; only an OS crash may lose the last commits).
 */
export function openStore(runsDir: string, { create = true } = {}): Database {
  const path = storePath(runsDir);
  if (create) mkdirSync(resolve(runsDir), { recursive: true });
  else if (!existsSync(path)) throw new Error(`no run store at ${path}`);
  const db = openDatabase(path, { fileMustExist: !create, timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

const shared = new Map<string, { db: Database; refs: number }>();

/** One connection per store per thread, shared by the runs of a process and closed with the last. */
export function acquireStore(runsDir: string): Database {
  const path = storePath(runsDir);
  let entry = shared.get(path);
  if (!entry?.db.open) {
    entry = { db: openStore(runsDir), refs: 0 };
    shared.set(path, entry);
  }
  entry.refs++;
  return entry.db;
}

export function releaseStore(db: Database): void {
  for (const [path, entry] of shared) {
    if (entry.db !== db) continue;
    if (--entry.refs <= 0) {
      shared.delete(path);
      if (db.open) db.close();
    }
    return;
  }
}

export type RunStatus = 'running' | 'finished' | 'failed' | 'crashed';

/** A run's row as stored (times in Unix ms, JSON columns as text). */
export interface RunRow {
  id: string;
  project: string;
  name: string;
  run_group: string | null;
  tags: string;
  status: RunStatus;
  exit_code: number | null;
  started_at: number;
  ended_at: number | null;
  heartbeat_at: number;
  host: string;
  pid: number;
  config: string;
  summary: string;
  env: string;
}

export function insertRun(db: Database, row: RunRow): void {
  db.prepare(
    `INSERT INTO runs (id, project, name, run_group, tags, status, exit_code, started_at, ended_at, heartbeat_at, host, pid, config, summary, env)
     VALUES (@id, @project, @name, @run_group, @tags, @status, @exit_code, @started_at, @ended_at, @heartbeat_at, @host, @pid, @config, @summary, @env)`,
  ).run(row);
}

export function runExists(db: Database, id: string): boolean {
  return db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id) !== undefined;
}

export function touchRun(db: Database, id: string, now = Date.now()): void {
  db.prepare('UPDATE runs SET heartbeat_at = ? WHERE id = ?').run(now, id);
}

/** JSON text where non-finite numbers become null (JSON has no NaN or Infinity). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}
