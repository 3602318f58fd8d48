// Hosts a run's system sampling: in a worker thread when the compiled worker file exists (dist/,
// bundles), so samples and heartbeats continue while the main thread runs long synchronous steps;
// otherwise inline, on the main thread's timers and on the run's beats (log calls, batches).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ENGINE } from '../tensor/engine.js';
import { SystemMonitor } from './monitor.js';
import type { Database } from './sqlite.js';
import { SystemSampler, type TensorMemory } from './system.js';
import type { WorkerData } from './system-worker.js';

export interface BackgroundOptions {
  db: Database;
  runsDir: string;
  runId: string;
  intervalMs: number;
  gpu: boolean | string;
  warn: (kind: string, message: string) => void;
}

function tensorMemory(): TensorMemory | null {
  try {
    return ENGINE.memory();
  } catch {
    return null;
  }
}

export class BackgroundSampler {
  private worker: Worker | null = null;
  private inline: { monitor: SystemMonitor; timer: NodeJS.Timeout; last: number } | null = null;
  /** [published (0/1), numTensors, numBytes, peakBytes]: the main thread's tensor memory, for the worker */
  private readonly shared = new Float64Array(new SharedArrayBuffer(32));
  private lastPublish = 0;
  private stopped = false;

  constructor(private readonly o: BackgroundOptions) {
    const url = new URL('./system-worker.js', import.meta.url);
    if (url.protocol === 'file:' && existsSync(fileURLToPath(url))) {
      try {
        this.startWorker(url);
        return;
      } catch (e) {
        o.warn(
          'worker',
          `the system sampler's worker failed to start (${(e as Error).message}); sampling inline`,
        );
      }
    }
    this.startInline();
  }

  get mode(): 'worker' | 'inline' | 'off' {
    return this.worker ? 'worker' : this.inline ? 'inline' : 'off';
  }

  /** From the main thread's hot path: publishes tensor memory (worker) or samples when due (inline). */
  beat(now: number): void {
    if (this.worker && now - this.lastPublish >= 200) this.publish(now);
    if (this.inline && now - this.inline.last >= this.o.intervalMs) this.sampleInline(now);
  }

  /** Stops sampling; resolves when the worker (which compacts its chunks first) has exited. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.inline) {
      clearInterval(this.inline.timer);
      this.inline.monitor.close();
      this.inline = null;
    }
    const w = this.worker;
    this.worker = null;
    if (!w) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => void w.terminate().then(done, done), 5000);
      w.once('exit', done);
      w.on('message', (m) => {
        if (m === 'stopped') void w.terminate().then(done, done);
      });
      w.postMessage('stop');
    });
  }

  private startWorker(url: URL): void {
    const data: WorkerData = {
      runsDir: this.o.runsDir,
      runId: this.o.runId,
      intervalMs: this.o.intervalMs,
      gpu: this.o.gpu,
      tensorMemory: this.shared.buffer as SharedArrayBuffer,
    };
    const w = new Worker(url, { workerData: data });
    w.unref();
    w.on('error', (e) => {
      this.o.warn('worker', `the system sampler's worker stopped (${e.message}); sampling inline`);
      if (this.worker !== w) return;
      this.worker = null;
      if (!this.stopped) this.startInline();
    });
    this.worker = w;
    this.publish(Date.now());
  }

  private startInline(): void {
    if (!this.o.db.open) return;
    const sampler = new SystemSampler({ intervalMs: this.o.intervalMs, gpu: this.o.gpu, tensorMemory });
    const monitor = new SystemMonitor(this.o.db, this.o.runId, sampler);
    const timer = setInterval(() => this.sampleInline(Date.now()), this.o.intervalMs);
    timer.unref();
    this.inline = { monitor, timer, last: Date.now() };
  }

  private sampleInline(now: number): void {
    if (!this.inline) return;
    this.inline.last = now;
    try {
      this.inline.monitor.tick(now);
    } catch (e) {
      this.o.warn('sample', `a system sample failed: ${(e as Error).message}`);
    }
  }

  private publish(now: number): void {
    this.lastPublish = now;
    const m = tensorMemory();
    if (!m) return;
    this.shared[1] = m.numTensors;
    this.shared[2] = m.numBytes;
    this.shared[3] = m.peakBytes;
    this.shared[0] = 1;
  }
}
