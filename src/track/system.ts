// System metrics, sampled every couple of seconds: process and system CPU %, process RSS, system
// memory %, disk reads/writes since the run started, the backend's tensor memory and (NVIDIA) GPUs.
// A sample reads a few small /proc files: well under a millisecond.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';
import { NvidiaSmiMonitor } from './gpu.js';

export type Sample = Record<string, number>;

/** What the backend reports about its tensors (keel.memory()). */
export interface TensorMemory {
  numTensors: number;
  numBytes: number;
  peakBytes: number;
}

export interface SamplerOptions {
  /** sampling interval in ms (GPU readings are requested at this rate) */
  intervalMs: number;
  /** read GPU metrics through nvidia-smi (default true); a string names the executable */
  gpu?: boolean | string;
  /** the backend's tensor memory, or null when unknown */
  tensorMemory?: () => TensorMemory | null;
}

const MB = 1024 * 1024;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Total and idle CPU time of all cores (ms). */
function cpuTimes(): { total: number; idle: number } {
  let total = 0;
  let idle = 0;
  for (const c of cpus()) {
    const t = c.times;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
    idle += t.idle;
  }
  return { total, idle };
}

/** Used system memory, %: from MemAvailable on Linux (page cache counts as free), else os.freemem(). */
function memoryPercent(): number {
  const info = readText('/proc/meminfo');
  const total = Number(/MemTotal:\s+(\d+)/.exec(info ?? '')?.[1]);
  const avail = Number(/MemAvailable:\s+(\d+)/.exec(info ?? '')?.[1]);
  if (total > 0 && Number.isFinite(avail)) return (100 * (total - avail)) / total;
  return (100 * (totalmem() - freemem())) / totalmem();
}

/** Whole physical disks (not partitions, loop, ram or device-mapper devices, which would double count). */
function physicalDisks(): Set<string> | null {
  try {
    return new Set(readdirSync('/sys/block').filter((d) => existsSync(`/sys/block/${d}/device`)));
  } catch {
    return null;
  }
}

/** Bytes read and written by the physical disks since boot, from /proc/diskstats (512-byte sectors). */
function diskBytes(disks: Set<string>): { read: number; written: number } | null {
  const text = readText('/proc/diskstats');
  if (text === null) return null;
  let read = 0;
  let written = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !disks.has(f[2])) continue;
    read += Number(f[5]) * 512;
    written += Number(f[9]) * 512;
  }
  return { read, written };
}

export class SystemSampler {
  private lastProc = process.cpuUsage();
  private lastCpu = cpuTimes();
  private lastAt = performance.now();
  private readonly disks = physicalDisks();
  private readonly disk0: { read: number; written: number } | null;
  private readonly gpu = new NvidiaSmiMonitor();
  private readonly intervalMs: number;

  constructor(private readonly options: SamplerOptions) {
    this.intervalMs = options.intervalMs;
    this.disk0 = this.disks && this.disks.size > 0 ? diskBytes(this.disks) : null;
    if (options.gpu !== false)
      this.gpu.start(this.intervalMs, typeof options.gpu === 'string' ? options.gpu : undefined);
  }

  /** Why GPU readings are absent, if they are. */
  get gpuFailure(): string | null {
    return this.gpu.failure;
  }

  /** One sample; CPU percentages are averages since the previous sample (or since construction). */
  sample(): Sample {
    const now = performance.now();
    const elapsedMs = Math.max(now - this.lastAt, 1e-3);
    const proc = process.cpuUsage(this.lastProc);
    const cpu = cpuTimes();
    const dTotal = cpu.total - this.lastCpu.total;
    const s: Sample = {
      'proc.cpu_percent': ((proc.user + proc.system) / 1000 / elapsedMs) * 100,
      'proc.rss_mb': process.memoryUsage.rss() / MB,
      'sys.memory_percent': memoryPercent(),
    };
    if (dTotal > 0) s['sys.cpu_percent'] = (100 * (dTotal - (cpu.idle - this.lastCpu.idle))) / dTotal;
    this.lastProc = process.cpuUsage();
    this.lastCpu = cpu;
    this.lastAt = now;
    if (this.disk0 && this.disks) {
      const d = diskBytes(this.disks);
      if (d) {
        s['disk.read_mb'] = (d.read - this.disk0.read) / MB;
        s['disk.write_mb'] = (d.written - this.disk0.written) / MB;
      }
    }
    const mem = this.options.tensorMemory?.();
    if (mem) {
      s['tensor.count'] = mem.numTensors;
      s['tensor.bytes'] = mem.numBytes;
      s['tensor.peak_bytes'] = mem.peakBytes;
    }
    Object.assign(s, this.gpu.read(3 * this.intervalMs + 1000));
    return s;
  }

  stop(): void {
    this.gpu.stop();
  }
}
