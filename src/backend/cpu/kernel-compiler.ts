// Compiles generated fused kernels (src/backend/cpu/fused-codegen.ts) with the system C++ compiler
// into shared libraries kept in a cache directory, and loads them through the native addon. A
// kernel is asked for once it is hot (a training loop's step); the compiler runs in the background,
// all kernels asked for meanwhile in one translation unit, while the interpreter goes on computing
// the same values; when the library appears the kernel switches over. Later processes find it in
// the cache. Without a compiler, a writable cache or the addon's loader, nothing is compiled.
//
// KEEL_CODEGEN: 'off' (never compile), 'sync' (compile at the next poll, waiting for the compiler:
// for benchmarks that time steady state), else in the background. KEEL_KERNEL_CACHE: the cache directory
// (default $XDG_CACHE_HOME/keel/kernels or ~/.cache/keel/kernels). CXX: the compiler (g++).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { join } from 'node:path';
import { CPP_PRELUDE, KERNEL_NAME } from './fused-codegen.js';
import { type NativeKernels, packageRoot } from './native.js';

type Loader = Required<Pick<NativeKernels, 'codegenLoad'>>;

interface Wanted {
  name: string;
  source: string;
  ready: (kernel: object) => void;
}

interface Batch {
  lib: string;
  kernels: Wanted[];
  /** this process's marker of a failed background compile (a failure is not the cache's to keep) */
  failed: string;
}

/** How often a background compile is checked for (at most), in milliseconds. */
const POLL_MS = 20;

const sha = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 24);

export class KernelCompiler {
  private readonly pending: Wanted[] = [];
  private running: Batch | null = null;
  private lastPoll = 0;
  /** kernels loaded in this process, by name */
  private readonly kernels = new Map<string, object>();
  private warned = false;
  /** compiles started, kernels loaded (from the cache or a compile), kernels whose compile failed */
  readonly stats = { compiles: 0, loaded: 0, failed: 0 };

  private constructor(
    private readonly native: Loader,
    private readonly cxx: string,
    private readonly args: readonly string[],
    /** what the libraries depend on besides their source: compiler, flags, CPU, native headers */
    private readonly salt: string,
    readonly dir: string,
    readonly sync: boolean,
  ) {}

  /** The compiler the environment allows, or null (off, no compiler, no cache, an old addon). */
  static fromEnv(native: NativeKernels | null, env = process.env): KernelCompiler | null {
    const mode = env.KEEL_CODEGEN ?? 'background';
    if (mode === 'off' || mode === '0' || !native?.codegenLoad || !native.fusedGenerated) return null;
    if (process.platform === 'win32') return null;
    const cxx = env.CXX || 'g++';
    const version = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
    if (version.status !== 0) return null;
    const dir =
      env.KEEL_KERNEL_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'keel', 'kernels');
    try {
      mkdirSync(dir, { recursive: true });
    } catch {
      return null;
    }
    const nativeDir = join(packageRoot(), 'native');
    let headers: string;
    try {
      headers = ['fused.h', 'numeric.h', 'fused_scalar.h']
        .map((h) => readFileSync(join(nativeDir, h), 'utf8'))
        .join('\n');
    } catch {
      return null;
    }
    // the values must be those of the interpreter: no contraction of a * b + c into one rounding
    const args = [
      '-O3',
      '-march=native',
      '-std=c++17',
      '-shared',
      '-fPIC',
      '-ffp-contract=off',
      '-fno-math-errno',
      '-w',
      `-I${nativeDir}`,
    ];
    const salt = [version.stdout, args.join(' '), cpus()[0]?.model ?? '', headers].join('\n');
    return new KernelCompiler(native as Loader, cxx, args, salt, dir, mode === 'sync');
  }

  /**
   * Asks for a kernel: `source` (fusedCpp's) defines `extern "C"` function KERNEL_NAME; `ready` gets
   * it at once when it is in the cache, else once compiled: the kernels asked for until the next
   * poll (a step's hot kernels) are compiled together. False when it came from the cache.
   */
  request(source: string, ready: (kernel: object) => void): boolean {
    const name = `k_${sha(this.salt + source)}`;
    const known = this.kernels.get(name);
    if (known) {
      ready(known);
      return false;
    }
    const text = source.replace(KERNEL_NAME, name);
    const ref = join(this.dir, `${name}.ref`);
    if (existsSync(ref)) {
      const kernel = this.load(join(this.dir, readFileSync(ref, 'utf8').trim()), [name])?.[0];
      if (kernel) {
        ready(kernel);
        return false;
      }
    }
    this.pending.push({ name, source: text, ready });
    return true;
  }

  /**
   * Starts a compile of the pending kernels (in sync mode: compiles them), or takes a finished one.
   * Cheap: call it often.
   */
  poll(force = false): void {
    if (!this.running && this.pending.length === 0) return;
    if (this.sync) {
      this.compileNow();
      return;
    }
    const now = Date.now();
    if (!force && now - this.lastPoll < POLL_MS) return;
    this.lastPoll = now;
    const run = this.running;
    if (run) {
      if (existsSync(run.lib)) this.finish(run);
      else if (existsSync(run.failed)) this.fail(run);
      else return;
      this.running = null;
    }
    if (this.pending.length === 0) return;
    const batch = this.startBatch();
    if (existsSync(batch.lib)) {
      this.finish(batch);
      return;
    }
    const unit = this.writeUnit(batch);
    // the library appears under its name only when complete (renamed), else the failure marker
    // does; at a low priority: the process goes on training on the other cores meanwhile
    const script =
      'lib="$1"; unit="$2"; failed="$3"; shift 3; nice -n 10 "$@" "$unit" -o "$lib.$$" 2> "$lib.log" && mv "$lib.$$" "$lib" && rm -f "$unit" "$lib.log" || touch "$failed"';
    const child = spawn('sh', ['-c', script, 'sh', batch.lib, unit, batch.failed, this.cxx, ...this.args], {
      stdio: 'ignore',
    });
    child.on('error', () => writeFileSync(batch.failed, ''));
    child.unref();
    this.stats.compiles++;
    this.running = batch;
  }

  /** Compiles the pending kernels now, waiting for the compiler. */
  compileNow(): void {
    if (this.running) {
      // a background compile may still be running: its kernels are compiled again here
      this.pending.unshift(...this.running.kernels);
      this.running = null;
    }
    if (this.pending.length === 0) return;
    const batch = this.startBatch();
    if (!existsSync(batch.lib)) {
      const unit = this.writeUnit(batch);
      this.stats.compiles++;
      try {
        const tmp = `${batch.lib}.${process.pid}`;
        execFileSync(this.cxx, [...this.args, unit, '-o', tmp], { stdio: 'pipe' });
        renameSync(tmp, batch.lib);
        rmSync(unit, { force: true });
      } catch (err) {
        writeFileSync(`${batch.lib}.log`, String((err as { stderr?: unknown }).stderr ?? err));
        this.fail(batch);
        return;
      }
    }
    this.finish(batch);
  }

  /** The batch's translation unit, written for this process (kept when its compile fails). */
  private writeUnit(batch: Batch): string {
    const unit = `${batch.lib}.${process.pid}.cc`;
    writeFileSync(unit, CPP_PRELUDE + batch.kernels.map((k) => k.source).join('\n'));
    return unit;
  }

  private startBatch(): Batch {
    // one definition per name (plans of one shape share kernels); each asker is told
    const byName = new Map<string, Wanted>();
    for (const w of this.pending.splice(0)) {
      const first = byName.get(w.name);
      if (!first) byName.set(w.name, { ...w });
      else {
        const before = first.ready;
        first.ready = (k) => {
          before(k);
          w.ready(k);
        };
      }
    }
    const kernels = [...byName.values()];
    const lib = join(this.dir, `b_${sha(this.salt + kernels.map((k) => k.source).join('\n'))}.so`);
    return { lib, kernels, failed: `${lib}.${process.pid}.fail` };
  }

  private finish(batch: Batch): void {
    const loaded = this.load(
      batch.lib,
      batch.kernels.map((k) => k.name),
    );
    if (!loaded) {
      this.fail(batch);
      return;
    }
    const file = batch.lib.slice(this.dir.length + 1);
    batch.kernels.forEach((k, i) => {
      // later processes find each kernel's library by its name
      try {
        writeFileSync(join(this.dir, `${k.name}.ref`), file);
      } catch {
        // a read-only cache still serves this process
      }
      k.ready(loaded[i]);
    });
  }

  private fail(batch: Batch): void {
    this.stats.failed += batch.kernels.length;
    if (!this.warned) {
      this.warned = true;
      process.emitWarning(
        `keel: compiling fused kernels failed (see ${batch.lib}.log); they stay interpreted`,
      );
    }
  }

  /** The kernels `names` of library `lib` (opening a library twice is the loader's no-op). */
  private load(lib: string, names: readonly string[]): object[] | null {
    const missing = names.filter((n) => !this.kernels.has(n));
    if (missing.length > 0) {
      try {
        const kernels = this.native.codegenLoad(lib, missing);
        missing.forEach((n, i) => {
          this.kernels.set(n, kernels[i]);
        });
      } catch {
        return null;
      }
    }
    this.stats.loaded += names.length;
    return names.map((n) => this.kernels.get(n)!);
  }
}
