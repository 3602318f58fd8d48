// The background side of a run: every interval, one system sample written to the store with the
// run's heartbeat. Runs in a worker thread (system-worker.ts), so that it keeps sampling while the
// main thread is busy in a long synchronous training step; or inline on a timer as a fallback.
import { SeriesWriter } from './chunks.js';
import { type Database, isBusy, type Transaction } from './sqlite.js';
import { touchRun } from './store.js';
import type { Sample, SystemSampler } from './system.js';

export class SystemMonitor {
  private readonly writer: SeriesWriter;
  private readonly write: Transaction<(samples: { at: number; sample: Sample }[]) => void>;
  private pending: { at: number; sample: Sample }[] = [];
  private count = 0;

  constructor(
    private readonly db: Database,
    runId: string,
    private readonly sampler: SystemSampler,
  ) {
    this.writer = new SeriesWriter(db, runId, 'system');
    this.write = db.transaction((samples: { at: number; sample: Sample }[]) => {
      for (const { at, sample } of samples) {
        const step = this.count++;
        for (const [k, v] of Object.entries(sample)) this.writer.append(k, [step], [v], [at]);
      }
      touchRun(db, runId);
    });
  }

  /** Takes a sample and stores it (with any left over from a busy store) and the heartbeat. */
  tick(now = Date.now()): void {
    this.pending.push({ at: now, sample: this.sampler.sample() });
    this.flush();
  }

  /** Writes what is pending; a store locked by others past the timeout keeps it for the next tick. */
  flush(): void {
    if (!this.db.open) return;
    const count = this.count;
    try {
      this.write.immediate(this.pending);
      this.pending = [];
    } catch (e) {
      this.count = count;
      this.writer.forget();
      if (!isBusy(e)) throw e;
      if (this.pending.length > 1000) this.pending.splice(0, this.pending.length - 1000);
    }
  }

  /** Stops the sampler and merges the small chunks written so far. */
  close(): void {
    this.sampler.stop();
    if (!this.db.open) return;
    try {
      this.db.transaction(() => this.writer.compact()).immediate();
    } catch (e) {
      if (!isBusy(e)) throw e;
    }
  }
}
