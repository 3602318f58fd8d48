// The store's schema version and migrations, and its chunked series storage.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSeries, SeriesWriter } from '../../src/track/chunks.js';
import * as track from '../../src/track/index.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION, schemaVersion } from '../../src/track/schema.js';
import { openDatabase } from '../../src/track/sqlite.js';
import { openStore, storePath } from '../../src/track/store.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('store', () => {
  it('creates the schema at the current version, in WAL mode, and reopens idempotently', () => {
    const dir = join(tmp.dir, 'fresh');
    const db = openStore(dir);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();
    expect(tables).toEqual(['chunks', 'logs', 'runs', 'series']);
    db.close();
    const again = openStore(dir);
    expect(schemaVersion(again)).toBe(SCHEMA_VERSION);
    again.close();
  });

  it('migrates an older store forward, keeping its data', async () => {
    const dir = join(tmp.dir, 'old');
    const run = track.init({ runsDir: dir, name: 'before', systemInterval: 0, captureConsole: false });
    run.log({ loss: 1 });
    await run.finish();
    // a later Keel adds a column and a table: the runner applies only the missing steps
    const next = [
      ...MIGRATIONS,
      (db: Parameters<(typeof MIGRATIONS)[number]>[0]) => {
        db.exec(
          "ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT ''; CREATE TABLE artifacts (id INTEGER PRIMARY KEY, run_id TEXT)",
        );
      },
    ];
    const db = openDatabase(storePath(dir));
    migrate(db, next);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION + 1);
    expect(db.prepare('SELECT name, notes FROM runs').all()).toEqual([{ name: 'before', notes: '' }]);
    migrate(db, next); // nothing left to do
    db.close();
    // a version-0 file (an empty database) gets the whole schema
    const empty = openDatabase(join(tmp.dir, 'empty.db'));
    migrate(empty);
    expect(schemaVersion(empty)).toBe(SCHEMA_VERSION);
    empty.close();
  });

  it('refuses a store from a newer Keel, with the versions in the message', () => {
    const dir = join(tmp.dir, 'newer');
    openStore(dir).close();
    const db = openDatabase(storePath(dir));
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    expect(() => openStore(dir)).toThrow(
      new RegExp(`schema version ${SCHEMA_VERSION + 5}, newer than this Keel's ${SCHEMA_VERSION}`),
    );
    expect(() => track.init({ runsDir: dir })).toThrow(/newer than this Keel/);
    expect(() => track.openReader(dir).listRuns()).toThrow(/newer than this Keel/);
  });

  it('series: chunks split at the chunk size, tails compact, reads come back sorted by step', () => {
    const db = openStore(join(tmp.dir, 'chunks'));
    db.prepare(
      "INSERT INTO runs (id, project, name, status, started_at, heartbeat_at, host, pid) VALUES ('r', 'p', 'n', 'running', 0, 0, 'h', 1)",
    ).run();
    const w = new SeriesWriter(db, 'r', 'metric');
    const write = db.transaction((from: number, to: number) => {
      const steps = Array.from({ length: to - from }, (_, i) => from + i);
      w.append(
        'k',
        steps,
        steps.map((s) => s * 2),
        steps.map(() => 1000),
      );
    });
    for (let i = 0; i < 100; i++) write(i * 10, i * 10 + 10); // 100 small appends
    write(1000, 71_000); // larger than two chunks
    const rows = db
      .prepare<{ n: number }>('SELECT n FROM chunks ORDER BY id')
      .all()
      .map((r) => r.n);
    expect(rows.reduce((a, b) => a + b, 0)).toBe(71_000);
    expect(rows.length).toBeLessThan(40); // compacted along the way
    db.transaction(() => w.compact())();
    expect(db.prepare('SELECT count(*) FROM chunks').pluck().get()).toBe(3); // 32768 + 32768 + 5464
    // out-of-order steps: stored in logging order, read sorted (stable for equal steps)
    db.transaction(() => w.append('late', [5, 1, 3, 1], [50, 10, 30, 11], [1, 2, 3, 4]))();
    const c = readSeries(db, 'r', 'metric', 'late')!;
    expect([...c.steps]).toEqual([1, 1, 3, 5]);
    expect([...c.values]).toEqual([10, 11, 30, 50]);
    const k = readSeries(db, 'r', 'metric', 'k')!;
    expect(k.steps.length).toBe(71_000);
    expect(k.steps.every((s, i) => s === i) && k.values.every((v, i) => v === 2 * i)).toBe(true);
    db.close();
  });
});
