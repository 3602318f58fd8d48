// NVIDIA GPU readings through `nvidia-smi --query-gpu ... -lms N`: one long-lived child that prints a
// CSV line per GPU per interval (cheaper than a process per sample). Without nvidia-smi, or when it
// fails (no driver, no device), readings are simply absent: never an error.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The fields queried, in order, and the system-metric names they become (`gpu.<index>.<name>`). */
export const GPU_FIELDS = [
  ['utilization.gpu', 'utilization_percent'],
  ['memory.used', 'memory_used_mb'],
  ['memory.total', 'memory_total_mb'],
  ['temperature.gpu', 'temperature_c'],
  ['power.draw', 'power_w'],
] as const;

export type GpuReading = Record<string, number>;

/** Parses nvidia-smi CSV (noheader, nounits): `index, util, used, total, temp, power` per line. */
export function parseNvidiaSmi(text: string): Map<number, GpuReading> {
  const out = new Map<number, GpuReading>();
  for (const line of text.split('\n')) {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== GPU_FIELDS.length + 1 || !/^\d+$/.test(cells[0])) continue;
    const reading: GpuReading = {};
    GPU_FIELDS.forEach(([, name], i) => {
      // '[N/A]', '[Not Supported]', '' and the like are left out
      const v = Number(cells[i + 1]);
      if (cells[i + 1] !== '' && Number.isFinite(v)) reading[name] = v;
    });
    out.set(Number(cells[0]), reading);
  }
  return out;
}

/** The first executable `name` on PATH (or the path itself when it contains a slash), else null. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | null {
  const candidates = name.includes('/')
    ? [name]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {}
  }
  return null;
}

export class NvidiaSmiMonitor {
  private child: ChildProcess | null = null;
  private pending = '';
  private latest = new Map<number, { at: number; reading: GpuReading }>();
  /** why readings are absent, when they are (for `KEEL_DEBUG` and tests) */
  failure: string | null = null;

  /**
   * Starts `nvidia-smi` (`KEEL_NVIDIA_SMI` or the one on PATH, unless `command` is given); returns
   * false, with `failure` set, when there is none.
   */
  start(intervalMs: number, command = process.env.KEEL_NVIDIA_SMI || 'nvidia-smi'): boolean {
    const exe = findExecutable(command);
    if (!exe) {
      this.failure = `${command} not found`;
      return false;
    }
    const query = ['index', ...GPU_FIELDS.map(([f]) => f)].join(',');
    const args = [
      `--query-gpu=${query}`,
      '--format=csv,noheader,nounits',
      `--loop-ms=${Math.max(100, Math.round(intervalMs))}`,
    ];
    try {
      this.child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    } catch (e) {
      this.failure = (e as Error).message;
      return false;
    }
    const child = this.child;
    let stderr = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => this.consume(s));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      if (stderr.length < 2000) stderr += s;
    });
    child.on('error', (e) => {
      this.failure = e.message;
      this.child = null;
    });
    // 'close', not 'exit': 'exit' may come before the stderr pipe is drained, losing the reason
    child.on('close', (code, signal) => {
      if (this.child === child)
        this.failure = `nvidia-smi exited (${signal ?? code})${stderr ? `: ${stderr.trim().split('\n')[0]}` : ''}`;
      this.child = null;
    });
    // neither the child nor its pipes keep the process alive; if we die, it dies of SIGPIPE
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    return true;
  }

  private consume(s: string): void {
    this.pending += s;
    const end = this.pending.lastIndexOf('\n');
    if (end < 0) {
      if (this.pending.length > 1 << 16) this.pending = '';
      return;
    }
    const now = Date.now();
    for (const [i, reading] of parseNvidiaSmi(this.pending.slice(0, end)))
      this.latest.set(i, { at: now, reading });
    this.pending = this.pending.slice(end + 1);
  }

  /** The latest reading of each GPU not older than maxAgeMs, as `gpu.<i>.<field>` metrics. */
  read(maxAgeMs: number, now = Date.now()): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [i, { at, reading }] of this.latest) {
      if (now - at > maxAgeMs) continue;
      for (const [k, v] of Object.entries(reading)) out[`gpu.${i}.${k}`] = v;
    }
    return out;
  }

  stop(): void {
    const c = this.child;
    this.child = null;
    if (c && c.exitCode === null) c.kill();
  }
}
