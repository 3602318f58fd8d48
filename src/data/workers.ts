// A pool of worker threads for Dataset.map({ workers }): tasks in, results out, in the order asked.
// From dist/ the workers run dist/data/worker.js; from the TypeScript sources (tests) the worker is bundled
// on the fly with esbuild (a dev-only dependency of the test runner), as Node 20 cannot run .ts files.

import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { fromWire, toWire } from './host.js';

/** What a worker runs: a self-contained function's source, an export of an ES module, or a built-in. */
export type FnSpec =
  | { kind: 'source'; source: string }
  | { kind: 'module'; url: string; name: string }
  | { kind: 'builtin'; name: string };

export interface TaskFn {
  key: string;
  spec: FnSpec;
  context?: unknown;
}

interface Slot {
  worker: Worker;
  pending: Set<number>;
  defined: Set<string>;
  dead: boolean;
}

interface Task {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  slot: Slot;
  key: string;
}

let entry: Promise<URL> | null = null;

function workerEntry(): Promise<URL> {
  entry ??= import.meta.url.endsWith('.ts')
    ? bundleFromSources()
    : Promise.resolve(new URL('./worker.js', import.meta.url));
  return entry;
}

interface EsbuildLike {
  build(o: Record<string, unknown>): Promise<{ outputFiles: { text: string }[] }>;
}

async function bundleFromSources(): Promise<URL> {
  const require = createRequire(import.meta.url);
  let esbuild: EsbuildLike;
  try {
    esbuild = require('esbuild') as EsbuildLike;
  } catch {
    throw new Error(
      'data workers: running from the TypeScript sources needs esbuild (a dev dependency); build with `npm run build`',
    );
  }
  const sharpUrl = pathToFileURL(require.resolve('sharp')).href;
  const out = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./worker.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    plugins: [
      {
        name: 'absolute-sharp',
        setup(b: {
          onResolve: (o: { filter: RegExp }, f: () => { path: string; external: boolean }) => void;
        }) {
          b.onResolve({ filter: /^sharp$/ }, () => ({ path: sharpUrl, external: true }));
        },
      },
    ],
  });
  return new URL(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
}

/** Worker threads that run dataset map functions; results come back as the tasks complete. */
export class WorkerPool {
  private slots: Slot[] = [];
  private tasks = new Map<number, Task>();
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new Error(`data workers: the number of workers must be a positive integer, got ${size}`);
  }

  private async spawn(): Promise<Slot> {
    const url = await workerEntry();
    // sharp must be loaded by the main thread before workers load it (shared libraries on glibc Linux)
    await import('sharp').catch(() => undefined);
    const worker = new Worker(url);
    const slot: Slot = { worker, pending: new Set(), defined: new Set(), dead: false };
    worker.unref();
    worker.on(
      'message',
      (m: { id: number; ok: boolean; value?: unknown; error?: { message: string; stack?: string } }) => {
        const t = this.tasks.get(m.id);
        if (!t) return;
        this.finish(m.id, t);
        if (m.ok) t.resolve(fromWire(m.value));
        else {
          const e = new Error(m.error?.message ?? 'worker task failed');
          if (m.error?.stack) e.stack = m.error.stack;
          t.reject(e);
        }
      },
    );
    const die = (why: string) => {
      if (slot.dead) return;
      slot.dead = true;
      this.slots = this.slots.filter((s) => s !== slot);
      for (const id of [...slot.pending]) {
        const t = this.tasks.get(id)!;
        this.finish(id, t);
        t.reject(new Error(`data worker thread ${why}`));
      }
    };
    worker.on('error', (e) => die(`failed: ${e.message}`));
    worker.on('exit', (code) => die(`exited with code ${code}`));
    return slot;
  }

  private finish(id: number, t: Task): void {
    this.tasks.delete(id);
    t.slot.pending.delete(id);
    if (t.slot.pending.size === 0 && !t.slot.dead) t.slot.worker.unref();
  }

  private spawning: Promise<Slot> | null = null;

  private async pick(): Promise<Slot> {
    while (this.slots.length < this.size) {
      this.spawning ??= this.spawn().finally(() => {
        this.spawning = null;
      });
      const s = await this.spawning;
      if (!this.slots.includes(s) && !s.dead) this.slots.push(s);
    }
    let best = this.slots[0];
    for (const s of this.slots) if (s.pending.size < best.pending.size) best = s;
    return best;
  }

  /** Runs fn on input in a worker; input must be structured-clonable (it is copied, not moved). */
  async run(fn: TaskFn, input: unknown): Promise<unknown> {
    if (this.closed) throw new Error('data workers: the pool was terminated');
    const slot = await this.pick();
    const id = this.nextId++;
    if (!slot.defined.has(fn.key)) {
      slot.worker.postMessage({ type: 'define', key: fn.key, spec: fn.spec, context: toWire(fn.context) });
      slot.defined.add(fn.key);
    }
    return new Promise((resolve, reject) => {
      this.tasks.set(id, { resolve, reject, slot, key: fn.key });
      slot.pending.add(id);
      slot.worker.ref();
      try {
        slot.worker.postMessage({ type: 'run', id, key: fn.key, input: toWire(input) });
      } catch (e) {
        this.finish(id, this.tasks.get(id)!);
        reject(
          new Error(`data workers: cannot send the element to a worker thread: ${(e as Error).message}`),
        );
      }
    });
  }

  async terminate(): Promise<void> {
    this.closed = true;
    const slots = this.slots;
    this.slots = [];
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

const pools = new Map<number, WorkerPool>();

/** The shared pool with `n` workers (created on first use; idle workers don't keep the process alive). */
export function workerPool(n: number): WorkerPool {
  let p = pools.get(n);
  if (!p) {
    p = new WorkerPool(n);
    pools.set(n, p);
  }
  return p;
}

/** Stops every data worker thread (they are restarted on demand). */
export async function terminateWorkers(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.terminate()));
}
