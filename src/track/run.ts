// A tracked run: metrics, config, summary, console log and system samples, batched into the store
// (flushed at least every second, when the buffer fills, at finish and at process exit).
import { randomBytes } from 'node:crypto';
import { BackgroundSampler } from './background.js';
import { SeriesWriter } from './chunks.js';
import { captureConsole, type Stream } from './console.js';
import { backendInfo, collectEnv, type RunEnv } from './env.js';
import { register, unregister } from './lifecycle.js';
import { type Database, isBusy, type Transaction } from './sqlite.js';
import { acquireStore, defaultRunsDir, insertRun, type RunStatus, releaseStore, toJson } from './store.js';
import { Summary } from './summary.js';
import { checkConfig, checkInit, flattenMetrics, type InitOptions, type Metrics } from './validate.js';

export type { InitOptions, Metrics } from './validate.js';

/** Points buffered before log() flushes without waiting for the interval. */
const MAX_BUFFERED = 50_000;

interface Buffered {
  steps: number[];
  values: number[];
  walls: number[];
}

/** 8 characters of [0-9a-z], like W&B's run ids. */
function newId(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  return Array.from(randomBytes(8), (b) => alphabet[b % 36]).join('');
}

export class Run {
  readonly id: string;
  readonly project: string;
  readonly name: string;
  readonly group: string | null;
  readonly tags: readonly string[];
  readonly mode: 'online' | 'disabled';
  /** the store's directory (null when disabled) */
  readonly runsDir: string | null;
  readonly startedAt: number;
  /** hyperparameters; changes (here or through updateConfig) are saved at the next flush */
  readonly config: Record<string, unknown>;
  /** each metric's last logged value; keys assigned here are kept over later logs (delete one to undo) */
  readonly summary: Record<string, unknown>;
  readonly env: RunEnv;

  private db: Database | null = null;
  private writer: SeriesWriter | null = null;
  private flushTx: Transaction<() => { config: string; env: string; summary: boolean }> | null = null;
  private buffer = new Map<string, Buffered>();
  private buffered = 0;
  private lines: { stream: Stream; time: number; line: string }[] = [];
  private nextStep = 0;
  private lastFlush = Date.now();
  private readonly flushMs: number;
  private readonly systemMs: number;
  private readonly summaryState = new Summary();
  private savedConfig = '';
  private savedEnv = '';
  private timer: NodeJS.Timeout | null = null;
  private background: BackgroundSampler | null = null;
  private stopCapture: (() => void) | null = null;
  private warned = new Set<string>();
  private ended: Promise<void> | null = null;
  private _status: RunStatus = 'running';

  /** Use track.init(). */
  constructor(options: InitOptions = {}) {
    checkInit(options);
    const envMode = process.env.KEEL_TRACK_MODE;
    this.mode = options.mode ?? (envMode === 'disabled' ? 'disabled' : 'online');
    this.project = options.project ?? 'default';
    this.group = options.group ?? null;
    this.tags = Object.freeze([...(options.tags ?? [])]);
    this.config = checkConfig(options.config ?? {}, 'track.init');
    this.flushMs = options.flushInterval ?? 1000;
    this.systemMs = options.systemInterval ?? 2000;
    this.startedAt = Date.now();
    this.env = collectEnv();
    this.summary = this.summaryState.proxy;
    this.runsDir = this.mode === 'online' ? (options.runsDir ?? defaultRunsDir()) : null;
    let id = newId();
    let name = options.name ?? `run-${id.slice(0, 4)}`;
    if (this.runsDir !== null) {
      const db = acquireStore(this.runsDir);
      this.db = db;
      try {
        [id, name] = this.insert(db, options.name);
      } catch (e) {
        releaseStore(db);
        this.db = null;
        throw e;
      }
      this.writer = new SeriesWriter(db, id, 'metric');
      this.flushTx = db.transaction(() => this.write());
    }
    this.id = id;
    this.name = name;
    if (this.db) this.start(options);
  }

  get status(): RunStatus {
    return this._status;
  }

  /** Where system metrics are sampled: a worker thread, inline on the main thread's timers, or off. */
  get sampler(): 'worker' | 'inline' | 'off' {
    return this.background?.mode ?? 'off';
  }

  /** The step the next log() without a step gets. */
  get step(): number {
    return this.nextStep;
  }

  /**
   * Records metrics at a step (by default the step after the largest logged so far). Values are
   * numbers (NaN and infinities included) or booleans; nested objects become `outer/inner` keys.
   */
  log(metrics: Metrics, options: { step?: number } = {}): void {
    if (this.ended) throw new Error(`run.log: run ${this.id} has finished`);
    const step = options.step ?? this.nextStep;
    if (!Number.isSafeInteger(step) || step < 0)
      throw new Error(`run.log: step must be a non-negative integer, got ${options.step}`);
    const flat = flattenMetrics(metrics);
    const wall = Date.now();
    for (const [k, v] of flat) {
      if (this.db) {
        let b = this.buffer.get(k);
        if (!b) {
          b = { steps: [], values: [], walls: [] };
          this.buffer.set(k, b);
        }
        b.steps.push(step);
        b.values.push(v);
        b.walls.push(wall);
      }
      this.summaryState.record(k, v);
    }
    this.buffered += flat.length;
    if (step >= this.nextStep) this.nextStep = step + 1;
    this.beat(wall);
  }

  /** Merges values into config (saved at the next flush). */
  updateConfig(values: Record<string, unknown>): void {
    Object.assign(this.config, checkConfig(values, 'run.updateConfig'));
  }

  /** Writes everything buffered now. Throws when the store cannot be written. */
  flush(): void {
    if (!this.db || !this.flushTx || !this.db.open) return;
    this.refreshEnv();
    try {
      const saved = this.flushTx.immediate();
      // committed: what is now on disk
      this.savedConfig = saved.config;
      this.savedEnv = saved.env;
      if (saved.summary) this.summaryState.dirty = false;
    } catch (e) {
      this.writer!.forget();
      throw e;
    }
    this.buffer.clear();
    this.buffered = 0;
    this.lines = [];
    this.lastFlush = Date.now();
  }

  /**
   * Ends the run: flushes, stops the sampler and console capture, and records the end time and
   * status (`finished` for exit code 0, else `failed`). Idempotent; resolves once the background
   * sampler has stopped.
   */
  finish(options: { exitCode?: number } = {}): Promise<void> {
    if (this.ended) return this.ended;
    const code = options.exitCode ?? 0;
    if (!Number.isInteger(code))
      throw new Error(`run.finish: exitCode must be an integer, got ${options.exitCode}`);
    this.end(code);
    return this.ended ?? Promise.resolve();
  }

  /** Called by the callback each batch and by log(): publishes tensor memory, flushes and samples when due. @internal */
  beat(now = Date.now()): void {
    if (!this.db) return;
    this.background?.beat(now);
    if (this.buffered >= MAX_BUFFERED || now - this.lastFlush >= this.flushMs) this.autoFlush();
  }

  /** Adds a line to the run's log (console capture does this for every stdout/stderr line). @internal */
  appendLog(stream: Stream, line: string, time = Date.now()): void {
    if (this.db && this._status === 'running') this.lines.push({ stream, time, line });
  }

  /** Records the final state synchronously (finish, process exit, signals). @internal */
  end(exitCode: number): void {
    if (this._status !== 'running') return;
    unregister(this);
    this.stopCapture?.(); // emits the unfinished lines while the run still takes them
    this.stopCapture = null;
    this._status = exitCode === 0 ? 'finished' : 'failed';
    if (this.timer) clearInterval(this.timer);
    // finish() resolves when the sampler has stopped; at process exit the worker simply ends with it
    this.ended = this.background ? this.background.stop() : Promise.resolve();
    this.background = null;
    if (!this.db) return;
    const db = this.db;
    try {
      this.flush();
      db.transaction(() => {
        this.writer!.compact();
        db.prepare(
          'UPDATE runs SET status = ?, exit_code = ?, ended_at = ?, heartbeat_at = ? WHERE id = ?',
        ).run(this._status, exitCode, Date.now(), Date.now(), this.id);
      }).immediate();
    } catch (e) {
      this.warn('end', `could not record the end of run ${this.id}: ${(e as Error).message}`);
    } finally {
      releaseStore(db);
      this.db = null;
    }
  }

  private insert(db: Database, name: string | undefined): [string, string] {
    const env = toJson(this.env);
    this.savedEnv = env;
    this.savedConfig = toJson(this.config);
    return db
      .transaction((): [string, string] => {
        let id = newId();
        while (db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id)) id = newId();
        const count = db
          .prepare<{ n: number }>('SELECT count(*) AS n FROM runs WHERE project = ?')
          .get(this.project)!.n;
        const runName = name ?? `run-${count + 1}`;
        insertRun(db, {
          id,
          project: this.project,
          name: runName,
          run_group: this.group,
          tags: toJson(this.tags),
          status: 'running',
          exit_code: null,
          started_at: this.startedAt,
          ended_at: null,
          heartbeat_at: this.startedAt,
          host: this.env.host,
          pid: process.pid,
          config: this.savedConfig,
          summary: '{}',
          env,
        });
        return [id, runName];
      })
      .immediate();
  }

  private start(options: InitOptions): void {
    register(this);
    if (options.captureConsole !== false)
      this.stopCapture = captureConsole((s, l, t) => this.appendLog(s, l, t));
    this.timer = setInterval(() => this.beat(), Math.max(10, Math.min(this.flushMs, 1000)));
    this.timer.unref();
    if (this.systemMs > 0) {
      const warn = (kind: string, message: string) => this.warn(kind, message);
      const o = {
        db: this.db!,
        runsDir: this.runsDir!,
        runId: this.id,
        intervalMs: this.systemMs,
        gpu: options.gpu ?? true,
        warn,
      };
      this.background = new BackgroundSampler(o);
    }
  }

  /** Flushes from log() and timers: a busy or failing store keeps the points for the next try. */
  private autoFlush(): void {
    try {
      this.flush();
    } catch (e) {
      this.lastFlush = Date.now();
      if (!isBusy(e))
        this.warn(
          'flush',
          `could not write run ${this.id} to ${this.runsDir}: ${(e as Error).message}; will retry`,
        );
    }
  }

  /** The flush transaction: buffered points and log lines, heartbeat, and changed summary/config/env. */
  private write(): { config: string; env: string; summary: boolean } {
    const db = this.db!;
    for (const [key, b] of this.buffer) this.writer!.append(key, b.steps, b.values, b.walls);
    if (this.lines.length > 0) {
      const ins = db.prepare('INSERT INTO logs (run_id, stream, time, line) VALUES (?, ?, ?, ?)');
      for (const l of this.lines) ins.run(this.id, l.stream, l.time, l.line);
    }
    const sets = ['heartbeat_at = @now'];
    const p: Record<string, unknown> = { id: this.id, now: Date.now() };
    const summaryDirty = this.summaryState.dirty;
    if (summaryDirty) {
      sets.push('summary = @summary');
      p.summary = toJson(this.summary);
    }
    const config = toJson(this.config);
    if (config !== this.savedConfig) {
      sets.push('config = @config');
      p.config = config;
    }
    const env = toJson(this.env);
    if (env !== this.savedEnv) {
      sets.push('env = @env');
      p.env = env;
    }
    db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE id = @id`).run(p);
    return { config, env, summary: summaryDirty };
  }

  /** The backend may have changed since init (setBackend after track.init). */
  private refreshEnv(): void {
    const b = backendInfo();
    if (b.backend !== null) Object.assign(this.env, b);
  }

  private warn(kind: string, message: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    process.emitWarning(`keel track: ${message}`);
  }
}
