// The system sampler: CPU, memory, disk and tensor fields; GPU fields through nvidia-smi when there is
// one (a fake one here), absent without errors when there is none or it fails; its cost.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../../src/index.js';
import { findExecutable, NvidiaSmiMonitor, parseNvidiaSmi } from '../../src/track/gpu.js';
import * as track from '../../src/track/index.js';
import { SystemSampler } from '../../src/track/system.js';
import { sleep, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function script(name: string, body: string): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Prints two GPUs (the second without power readings) every 100 ms, as `nvidia-smi -lms` does. */
const fakeSmi = () =>
  script(
    'nvidia-smi',
    'while true; do echo "0, 87, 30512, 81559, 64, 301.25"; echo "1, 3, 1, 81559, 31, [N/A]"; sleep 0.1; done',
  );

describe('system metrics', () => {
  it('samples CPU, memory, disk and tensor fields; no GPU fields without nvidia-smi', async () => {
    const s = new SystemSampler({
      intervalMs: 2000,
      gpu: join(tmp.dir, 'no-such-nvidia-smi'),
      tensorMemory: () => ({ numTensors: 3, numBytes: 48, peakBytes: 96 }),
    });
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += Math.sqrt(i); // some CPU to measure
    const sample = s.sample();
    s.stop();
    expect(x).toBeGreaterThan(0);
    expect(sample['proc.cpu_percent']).toBeGreaterThan(0);
    expect(sample['proc.rss_mb']).toBeGreaterThan(10);
    expect(sample['sys.memory_percent']).toBeGreaterThan(0);
    expect(sample['sys.memory_percent']).toBeLessThanOrEqual(100);
    expect(sample).toMatchObject({ 'tensor.count': 3, 'tensor.bytes': 48, 'tensor.peak_bytes': 96 });
    if (process.platform === 'linux') expect(sample['disk.read_mb']).toBeGreaterThanOrEqual(0);
    expect(Object.keys(sample).filter((k) => k.startsWith('gpu.'))).toEqual([]);
    expect(s.gpuFailure).toMatch(/not found/);
  });

  it('reads GPUs from nvidia-smi CSV, leaving out [N/A] fields', async () => {
    expect(
      parseNvidiaSmi('0, 87, 30512, 81559, 64, 301.25\n1, [Not Supported], 1, 2, 3, [N/A]\ngarbage\n'),
    ).toEqual(
      new Map([
        [
          0,
          {
            utilization_percent: 87,
            memory_used_mb: 30512,
            memory_total_mb: 81559,
            temperature_c: 64,
            power_w: 301.25,
          },
        ],
        [1, { memory_used_mb: 1, memory_total_mb: 2, temperature_c: 3 }],
      ]),
    );
    const s = new SystemSampler({ intervalMs: 100, gpu: fakeSmi() });
    await sleep(400);
    const sample = s.sample();
    s.stop();
    expect(sample).toMatchObject({
      'gpu.0.utilization_percent': 87,
      'gpu.0.memory_used_mb': 30512,
      'gpu.0.memory_total_mb': 81559,
      'gpu.0.temperature_c': 64,
      'gpu.0.power_w': 301.25,
      'gpu.1.utilization_percent': 3,
    });
    expect(sample).not.toHaveProperty('gpu.1.power_w');
  });

  it('an nvidia-smi that fails (no driver) gives no GPU fields and no error', async () => {
    const broken = script(
      'broken-smi',
      'echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver." >&2; exit 9',
    );
    const m = new NvidiaSmiMonitor();
    expect(m.start(100, broken)).toBe(true);
    await sleep(300);
    expect(m.read(10_000)).toEqual({});
    expect(m.failure).toMatch(/exited \(9\): NVIDIA-SMI has failed/);
    m.stop();
    expect(findExecutable('definitely-not-a-command-keel', '/usr/bin:/bin')).toBeNull();
  });

  it('a run stores samples in the background, GPU fields included when present', async () => {
    const runsDir = join(tmp.dir, 'run');
    const run = track.init({ runsDir, systemInterval: 100, gpu: fakeSmi(), captureConsole: false });
    expect(run.sampler).toBe('inline'); // from the TypeScript sources; dist/ and bundles use the worker
    await sleep(650);
    await run.finish();
    const r = track.openReader(runsDir);
    const sys = r.system(run.id);
    expect(Object.keys(sys)).toEqual(
      expect.arrayContaining([
        'proc.cpu_percent',
        'proc.rss_mb',
        'sys.memory_percent',
        'tensor.bytes',
        'gpu.0.utilization_percent',
        'gpu.1.memory_total_mb',
      ]),
    );
    const rss = sys['proc.rss_mb'];
    expect(rss.length).toBeGreaterThanOrEqual(3);
    // [wallTime (s), value], in time order
    expect(rss.every(([t, v], i) => v! > 0 && (i === 0 || t >= rss[i - 1][0]))).toBe(true);
    expect(Math.abs(rss[0][0] - Date.now() / 1000)).toBeLessThan(60);
    r.close();
  });

  it('costs well under 1% of a core at the default 2 s interval', () => {
    const s = new SystemSampler({ intervalMs: 2000, gpu: false, tensorMemory: () => null });
    s.sample();
    const n = 200;
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) s.sample();
    const d = process.cpuUsage(t0);
    s.stop();
    const msPerSample = (d.user + d.system) / 1000 / n;
    // 1% of a core at one sample per 2 s is 20 ms per sample; allow a loaded machine 4x headroom
    expect(msPerSample).toBeLessThan(5);
  });
});
