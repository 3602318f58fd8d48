// Helpers of the tracker tests: temporary run stores, and child processes that run the tracker from
// an esbuild bundle of the TypeScript sources (with the system-worker next to it, as in dist/).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A fresh directory under the OS temp dir; removed by the returned cleanup. */
export function tempDir(prefix = 'keel-track-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Bundles entry points (name -> path from the repository root) to ESM under node_modules/.cache (so
 * that better-sqlite3 and commander resolve from the project) plus src/track/system-worker.ts as
 * system-worker.js; returns the output directory.
 */
export async function bundle(tag: string, entries: Record<string, string>): Promise<string> {
  const outdir = join(ROOT, 'node_modules', '.cache', 'keel-track-test', `${tag}-${process.pid}`);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  writeFileSync(join(outdir, 'package.json'), '{ "type": "module" }\n');
  const entryPoints: Record<string, string> = { 'system-worker': join(ROOT, 'src/track/system-worker.ts') };
  for (const [k, v] of Object.entries(entries)) entryPoints[k] = join(ROOT, v);
  await build({
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
    // bundled CommonJS helpers may call require()
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return outdir;
}

export interface Child {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** resolves with the first stdout line matching re */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startChild(script: string, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    for (const w of [...waiters]) {
      const m = out.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(re, timeoutMs = 20_000) {
      const m = out.match(re);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(
              new Error(
                `timed out waiting for ${re}; stdout: ${out.slice(-500)}; stderr: ${err.slice(-1000)}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          re,
          resolve: (m) => {
            clearTimeout(t);
            resolve(m);
          },
        });
        void exited.then(() =>
          setTimeout(
            () =>
              reject(
                new Error(
                  `child exited before ${re}; stdout: ${out.slice(-500)}; stderr: ${err.slice(-1000)}`,
                ),
              ),
            50,
          ),
        );
      });
    },
  };
}

/** Replaces stdout/stderr writes with no-ops (what tests print through them stays out of the report); returns the undo. */
export function silenceStdio(): () => void {
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = (() => true) as typeof out;
  process.stderr.write = (() => true) as typeof err;
  return () => {
    process.stdout.write = out;
    process.stderr.write = err;
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
