// Writing run stores for the dashboard tests straight through the tracker's store (so that runs
// get realistic times: minutes of training written in milliseconds), and a large store for timings.
import { SeriesWriter } from '../../src/track/chunks.js';
import type { Database } from '../../src/track/sqlite.js';
import { insertRun, openStore, type RunStatus, toJson } from '../../src/track/store.js';
import { rng } from '../helpers.js';

export interface SeriesSpec {
  steps: number[];
  values: number[];
  walls: number[];
}

export interface RunSpec {
  id: string;
  name: string;
  project?: string;
  group?: string | null;
  tags?: string[];
  status?: RunStatus;
  startedAt: number;
  endedAt: number | null;
  config?: Record<string, unknown>;
  summary?: Record<string, unknown>;
  metrics?: Record<string, SeriesSpec>;
  system?: Record<string, SeriesSpec>;
  logs?: { stream: 'stdout' | 'stderr'; time: number; line: string }[];
  command?: string;
}

/** Writes runs into the store of runsDir (created when missing), in one transaction. */
export function writeRuns(runsDir: string, runs: RunSpec[]): void {
  const db = openStore(runsDir);
  try {
    db.transaction(() => {
      for (const r of runs) writeRun(db, r);
    }).immediate();
  } finally {
    db.close();
  }
}

function writeRun(db: Database, r: RunSpec): void {
  const status = r.status ?? 'finished';
  insertRun(db, {
    id: r.id,
    project: r.project ?? 'ships',
    name: r.name,
    run_group: r.group ?? null,
    tags: toJson(r.tags ?? []),
    status,
    exit_code: status === 'finished' ? 0 : status === 'failed' ? 1 : null,
    started_at: r.startedAt,
    ended_at: r.endedAt,
    heartbeat_at: r.endedAt ?? r.startedAt,
    host: 'trainer-t4',
    pid: 4242,
    config: toJson(r.config ?? {}),
    summary: toJson(r.summary ?? {}),
    env: toJson({
      command: r.command ?? `keel train --name ${r.name}`,
      argv: [],
      cwd: '/home/sayak/ships',
      host: 'trainer-t4',
      pid: 4242,
      node: 'v20.19.0',
      platform: 'linux-x64',
      cpu: 'Intel(R) Xeon(R) CPU @ 2.20GHz',
      cpuCount: 8,
      memoryBytes: 32 * 2 ** 30,
      backend: 'cuda',
      device: 'Tesla T4',
      git: { commit: '3f9c2e1a7b4d5c6e8f90a1b2c3d4e5f6a7b8c9d0', branch: 'main', root: '/home/sayak/ships' },
    }),
  });
  for (const [kind, series] of [
    ['metric', r.metrics],
    ['system', r.system],
  ] as const) {
    if (!series) continue;
    const w = new SeriesWriter(db, r.id, kind);
    for (const [key, s] of Object.entries(series)) w.append(key, s.steps, s.values, s.walls);
  }
  const ins = db.prepare('INSERT INTO logs (run_id, stream, time, line) VALUES (?, ?, ?, ?)');
  for (const l of r.logs ?? []) ins.run(r.id, l.stream, l.time, l.line);
}

/** `count` runs of `points` points in all (split over batch/loss and four epoch keys), for timings. */
export function bigStore(runsDir: string, count = 200, points = 2_000_000): void {
  const per = Math.floor(points / count);
  const epochPoints = 100;
  const batchPoints = per - 4 * epochPoints;
  const now = Date.now();
  const runs: RunSpec[] = [];
  for (let r = 0; r < count; r++) {
    const rand = rng(1000 + r);
    const start = now - (count - r) * 600_000;
    const ms = 20 + 80 * rand();
    const series = (n: number, f: (i: number) => number): SeriesSpec => {
      const s: SeriesSpec = { steps: new Array(n), values: new Array(n), walls: new Array(n) };
      for (let i = 0; i < n; i++) {
        s.steps[i] = i;
        s.values[i] = f(i);
        s.walls[i] = start + ((i + 1) * ms * batchPoints) / n;
      }
      return s;
    };
    const policy = ['float32', 'mixed_float16', 'mixed_bfloat16'][r % 3];
    const metrics = {
      'batch/loss': series(batchPoints, (i) => 2 / Math.sqrt(1 + i / 50) + 0.1 * rand()),
      loss: series(epochPoints, (i) => 2 / Math.sqrt(1 + i)),
      accuracy: series(epochPoints, (i) => 1 - 0.8 / Math.sqrt(1 + i)),
      val_loss: series(epochPoints, (i) => 2.1 / Math.sqrt(1 + i)),
      epoch: series(epochPoints, (i) => i),
    };
    const summary: Record<string, unknown> = { training_time: (ms * batchPoints) / 1000 };
    for (const [k, v] of Object.entries(metrics)) summary[k] = v.values.at(-1);
    runs.push({
      id: `big${String(r).padStart(5, '0')}`,
      name: `sweep-${r}`,
      project: `sweep${r % 4}`,
      group: `g${r % 7}`,
      tags: [policy],
      startedAt: start,
      endedAt: start + ms * batchPoints,
      config: { policy, lr: 10 ** -(2 + (r % 4)), batch_size: 32 * (1 + (r % 4)), steps_per_epoch: 100 },
      summary,
      metrics,
    });
  }
  writeRuns(runsDir, runs);
}
