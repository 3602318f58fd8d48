// Runs calls of the native addon in a child process (its ISA and thread count are fixed per process,
// so forcing KEEL_GEMM_ISA / KEEL_NUM_THREADS needs a fresh one) and brings the results back: the
// parent builds the inputs and checks the outputs against its own references.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const addonPath = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'build',
  'keel_native.node',
);

/** The addon is built with 16-bit operands and convolutions, and KEEL_NO_NATIVE does not disable it. */
export const nativeMixedExpected = (() => {
  if (!existsSync(addonPath) || process.env.KEEL_NO_NATIVE) return false;
  try {
    const m = createRequire(import.meta.url)(addonPath) as { conv2d?: unknown };
    return typeof m.conv2d === 'function';
  } catch {
    return false;
  }
})();

/**
 * One addon call: fn is 'gemm', 'conv2d' or 'fused'; typed arrays among args (also inside arrays,
 * as fused takes them) are sent by value.
 */
export interface ChildCall {
  fn: 'gemm' | 'conv2d' | 'fused';
  args: unknown[];
  /** Indices of args whose arrays come back (outputs; an array of arrays comes back whole). */
  outputs: number[];
}

export type WireArray = Float32Array | Uint16Array | Int32Array | Uint8Array;
const KINDS = { f32: Float32Array, u16: Uint16Array, i32: Int32Array, u8: Uint8Array } as const;
type Kind = keyof typeof KINDS;
type Wire = { $ta: Kind; b64: string } | Wire[] | unknown;

function kindOf(x: unknown): Kind | null {
  for (const [k, C] of Object.entries(KINDS)) if (x instanceof C) return k as Kind;
  return null;
}

function toWire(x: unknown): Wire {
  if (Array.isArray(x)) return x.map(toWire);
  const k = kindOf(x);
  if (!k) return x;
  const a = x as WireArray;
  return { $ta: k, b64: Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64') };
}

function fromWire(w: unknown): WireArray | WireArray[] {
  if (Array.isArray(w)) return w.map((v) => fromWire(v) as WireArray);
  const { $ta, b64 } = w as { $ta: Kind; b64: string };
  const buf = Buffer.from(b64, 'base64');
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  return new KINDS[$ta](copy.buffer);
}

const childScript = `
  const m = require(${JSON.stringify(addonPath)});
  const K = { f32: Float32Array, u16: Uint16Array, i32: Int32Array, u8: Uint8Array };
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => {
    const calls = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const dec = (w) => {
      if (Array.isArray(w)) return w.map(dec);
      if (!w || typeof w !== 'object' || !w.$ta) return w;
      const b = Buffer.from(w.b64, 'base64'); const u = new Uint8Array(b.length); u.set(b);
      return new K[w.$ta](u.buffer);
    };
    const enc = (x) => {
      if (Array.isArray(x)) return x.map(enc);
      const k = Object.keys(K).find((k) => x instanceof K[k]);
      return { $ta: k, b64: Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64') };
    };
    const results = calls.map((c) => {
      const args = c.args.map(dec);
      m[c.fn](...args);
      return c.outputs.map((i) => enc(args[i]));
    });
    process.stdout.write(JSON.stringify({ info: m.info(), results }));
  });`;

export interface ChildResult {
  info: { isa: string; bf16: string; threads: number };
  /** per call, per output index: the array (or, for an array argument, its arrays) */
  results: Array<Array<WireArray | WireArray[]>>;
}

/** Runs the calls in a child process with env (KEEL_GEMM_ISA, KEEL_NUM_THREADS, ...) on top of ours. */
export function runInChild(calls: ChildCall[], env: Record<string, string>): ChildResult {
  const { KEEL_GEMM_ISA: _isa, KEEL_NUM_THREADS: _threads, ...base } = process.env;
  const input = JSON.stringify(calls.map((c) => ({ ...c, args: c.args.map(toWire) })));
  const res = spawnSync(process.execPath, ['-e', childScript], {
    env: { ...base, ...env },
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    timeout: 120_000,
  });
  if (res.status !== 0) throw new Error(`child failed (${res.status}): ${res.stderr}`);
  const out = JSON.parse(res.stdout) as { info: ChildResult['info']; results: unknown[][] };
  return { info: out.info, results: out.results.map((r) => r.map(fromWire)) };
}

/** The CPU has AVX512-BF16 (Linux /proc/cpuinfo flag avx512_bf16). */
export function cpuHasAvx512Bf16(): boolean {
  try {
    return /\bavx512_bf16\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}
