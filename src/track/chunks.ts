// Series storage: points packed into chunk blobs (float64 LE columns steps[n], values[n], walls[n]),
// one row per key per flush, tails compacted into full chunks; and reading a series back, sorted by step.
import type { Database, Statement } from './sqlite.js';

/** Points per full chunk (786 KiB). */
export const CHUNK_POINTS = 32768;
/** Non-full chunks a series may accumulate before its tail is merged. */
const COMPACT_AFTER = 32;

export type SeriesKind = 'metric' | 'system';

/** Columns of one series; walls in Unix ms. */
export interface Columns {
  steps: Float64Array;
  values: Float64Array;
  walls: Float64Array;
}

export function encodeChunk(
  steps: ArrayLike<number>,
  values: ArrayLike<number>,
  walls: ArrayLike<number>,
  from: number,
  to: number,
): Buffer {
  const n = to - from;
  const f = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    f[i] = steps[from + i];
    f[n + i] = values[from + i];
    f[2 * n + i] = walls[from + i];
  }
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
}

/** Concatenates chunk blobs (in id order) into one set of columns, in logging order. */
function concat(rows: { n: number; data: Uint8Array }[]): Columns {
  let total = 0;
  for (const r of rows) total += r.n;
  const out: Columns = {
    steps: new Float64Array(total),
    values: new Float64Array(total),
    walls: new Float64Array(total),
  };
  let at = 0;
  for (const r of rows) {
    if (r.data.byteLength !== r.n * 24)
      throw new Error(`keel track: corrupt chunk (${r.data.byteLength} bytes for ${r.n} points)`);
    // blobs need not be 8-byte aligned: copy the bytes before viewing them as float64
    const f = new Float64Array(r.n * 3);
    new Uint8Array(f.buffer).set(r.data);
    out.steps.set(f.subarray(0, r.n), at);
    out.values.set(f.subarray(r.n, 2 * r.n), at);
    out.walls.set(f.subarray(2 * r.n), at);
    at += r.n;
  }
  return out;
}

/** Chunk rows (in id order) as columns sorted by step. */
export function decodeChunks(rows: { n: number; data: Uint8Array }[]): Columns {
  return sortByStep(concat(rows));
}

/** Stable sort by step (points with equal steps keep their logging order); a no-op when already sorted. */
export function sortByStep(c: Columns): Columns {
  const n = c.steps.length;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if (c.steps[i] < c.steps[i - 1]) sorted = false;
  if (sorted) return c;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => c.steps[a] - c.steps[b] || a - b);
  const pick = (src: Float64Array) => Float64Array.from(order, (i) => src[i]);
  return { steps: pick(c.steps), values: pick(c.values), walls: pick(c.walls) };
}

/**
 * Appends points to a run's series; used by the run's main thread (metrics) and its sampler
 * (system). Each series is written by one writer, which tracks its tail: the non-full chunks after
 * the last full one. The tail is merged (with the new points) whenever that fills a chunk or the
 * tail grows long, so a series is full chunks plus a short tail, always in logging order.
 */
export class SeriesWriter {
  private readonly ids = new Map<string, number>();
  private readonly tails = new Map<number, { chunks: number; points: number }>();
  private readonly insertSeries: Statement;
  private readonly selectSeries: Statement<{ id: number }>;
  private readonly insertChunk: Statement;
  private readonly selectTail: Statement<{ n: number; data: Uint8Array }>;
  private readonly deleteTail: Statement;

  constructor(
    db: Database,
    private readonly runId: string,
    private readonly kind: SeriesKind,
  ) {
    this.insertSeries = db.prepare('INSERT OR IGNORE INTO series (run_id, kind, key) VALUES (?, ?, ?)');
    this.selectSeries = db.prepare('SELECT id FROM series WHERE run_id = ? AND kind = ? AND key = ?');
    this.insertChunk = db.prepare(
      'INSERT INTO chunks (series_id, n, step_min, step_max, data) VALUES (?, ?, ?, ?, ?)',
    );
    const afterFull = `series_id = @sid AND id > coalesce((SELECT max(id) FROM chunks WHERE series_id = @sid AND n >= ${CHUNK_POINTS}), 0)`;
    this.selectTail = db.prepare(`SELECT n, data FROM chunks WHERE ${afterFull} ORDER BY id`);
    this.deleteTail = db.prepare(`DELETE FROM chunks WHERE ${afterFull}`);
  }

  /** The series' row id, created on first use. Call inside a transaction. */
  seriesId(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      this.insertSeries.run(this.runId, this.kind, key);
      id = this.selectSeries.get(this.runId, this.kind, key)!.id;
      this.ids.set(key, id);
    }
    return id;
  }

  /** Writes points [from, to) of the columns. Call inside a transaction. */
  append(
    key: string,
    steps: ArrayLike<number>,
    values: ArrayLike<number>,
    walls: ArrayLike<number>,
    from = 0,
    to = steps.length,
  ): void {
    if (to <= from) return;
    const id = this.seriesId(key);
    const tail = this.tails.get(id) ?? { chunks: 0, points: 0 };
    const n = to - from;
    if (tail.chunks > 0 && (tail.points + n >= CHUNK_POINTS || tail.chunks + 1 >= COMPACT_AFTER)) {
      const old = concat(this.selectTail.all({ sid: id }));
      this.deleteTail.run({ sid: id });
      const m = old.steps.length;
      const all: Columns = {
        steps: new Float64Array(m + n),
        values: new Float64Array(m + n),
        walls: new Float64Array(m + n),
      };
      for (const k of ['steps', 'values', 'walls'] as const) {
        all[k].set(old[k]);
        const src = { steps, values, walls }[k];
        for (let i = 0; i < n; i++) all[k][m + i] = src[from + i];
      }
      this.tails.set(id, this.writeChunks(id, all.steps, all.values, all.walls, 0, m + n));
      return;
    }
    const written = this.writeChunks(id, steps, values, walls, from, to);
    // points that filled chunks with no tail before them leave only their remainder as the tail
    this.tails.set(id, n >= CHUNK_POINTS ? written : { chunks: tail.chunks + 1, points: tail.points + n });
  }

  /** Merges every series' tail into one chunk. Call inside a transaction. */
  compact(): void {
    for (const [id, tail] of this.tails) {
      if (tail.chunks <= 1) continue;
      const all = concat(this.selectTail.all({ sid: id }));
      this.deleteTail.run({ sid: id });
      this.tails.set(id, this.writeChunks(id, all.steps, all.values, all.walls, 0, all.steps.length));
    }
  }

  /** Drops cached series ids and tails: after a rolled-back transaction they may name rows that no longer exist. */
  forget(): void {
    this.ids.clear();
    this.tails.clear();
  }

  /** Full chunks, then the remainder as one chunk; returns the tail left. */
  private writeChunks(
    id: number,
    steps: ArrayLike<number>,
    values: ArrayLike<number>,
    walls: ArrayLike<number>,
    from: number,
    to: number,
  ) {
    let a = from;
    for (; a < to; a += CHUNK_POINTS)
      this.writeChunk(id, steps, values, walls, a, Math.min(to, a + CHUNK_POINTS));
    const rest = (to - from) % CHUNK_POINTS;
    return { chunks: rest > 0 ? 1 : 0, points: rest };
  }

  private writeChunk(
    id: number,
    steps: ArrayLike<number>,
    values: ArrayLike<number>,
    walls: ArrayLike<number>,
    from: number,
    to: number,
  ): void {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = from; i < to; i++) {
      if (steps[i] < lo) lo = steps[i];
      if (steps[i] > hi) hi = steps[i];
    }
    this.insertChunk.run(id, to - from, lo, hi, encodeChunk(steps, values, walls, from, to));
  }
}

/** Reads one series' columns (sorted by step), or null when the run has no such key. */
export function readSeries(db: Database, runId: string, kind: SeriesKind, key: string): Columns | null {
  const s = db
    .prepare<{ id: number }>('SELECT id FROM series WHERE run_id = ? AND kind = ? AND key = ?')
    .get(runId, kind, key);
  if (!s) return null;
  const rows = db
    .prepare<{ n: number; data: Uint8Array }>('SELECT n, data FROM chunks WHERE series_id = ? ORDER BY id')
    .all(s.id);
  return decodeChunks(rows);
}

export interface SeriesInfo {
  key: string;
  count: number;
  firstStep: number | null;
  lastStep: number | null;
}

/** The keys of a run's series of one kind, with point counts and step ranges, sorted by key. */
export function listSeries(db: Database, runId: string, kind: SeriesKind): SeriesInfo[] {
  return db
    .prepare<SeriesInfo>(
      `SELECT s.key AS key, coalesce(sum(c.n), 0) AS count, min(c.step_min) AS firstStep, max(c.step_max) AS lastStep
       FROM series s LEFT JOIN chunks c ON c.series_id = s.id
       WHERE s.run_id = ? AND s.kind = ? GROUP BY s.id ORDER BY s.key`,
    )
    .all(runId, kind);
}
