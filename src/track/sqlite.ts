// The slice of better-sqlite3 the tracker uses, typed here (the package ships no types), and its loader.
import { createRequire } from 'node:module';

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface Statement<Row = unknown> {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): Row | undefined;
  all(...params: unknown[]): Row[];
  iterate(...params: unknown[]): IterableIterator<Row>;
  /** rows as arrays instead of objects */
  raw(toggle?: boolean): Statement<unknown[]>;
  /** the first column only */
  pluck(toggle?: boolean): Statement<unknown>;
}

export interface Transaction<F extends (...args: never[]) => unknown> {
  (...args: Parameters<F>): ReturnType<F>;
  /** BEGIN IMMEDIATE: takes the write lock up front, so concurrent writers wait instead of failing */
  immediate(...args: Parameters<F>): ReturnType<F>;
  deferred(...args: Parameters<F>): ReturnType<F>;
}

export interface Database {
  readonly open: boolean;
  readonly inTransaction: boolean;
  readonly name: string;
  prepare<Row = unknown>(sql: string): Statement<Row>;
  exec(sql: string): Database;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): Transaction<F>;
  close(): Database;
}

export interface OpenOptions {
  readonly?: boolean;
  fileMustExist?: boolean;
  /** ms to wait for a lock held by another connection before SQLITE_BUSY */
  timeout?: number;
}

type DatabaseCtor = new (path: string, options?: OpenOptions) => Database;
let ctor: DatabaseCtor | null = null;

/** Opens an SQLite database with better-sqlite3 (loaded on first use). */
export function openDatabase(path: string, options: OpenOptions = {}): Database {
  if (!ctor) {
    try {
      ctor = createRequire(import.meta.url)('better-sqlite3') as DatabaseCtor;
    } catch (e) {
      throw new Error(`keel track: could not load better-sqlite3 (${(e as Error).message}); run npm install`);
    }
  }
  return new ctor(path, options);
}

/** SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock longer than the timeout. */
export function isBusy(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}
