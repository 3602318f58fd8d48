// Thread scaling of Keel's native kernels: matMul 2048³ and two ResNet convolutions, float32 and
// bfloat16, timed in child processes with KEEL_NUM_THREADS=1 and =N (default 2, the machine's cores);
// prints the speedups and, with --json FILE, writes them. Run: node bench/scaling.mjs [--quick]
// (after `npm run build`); run.mjs calls it in every full run.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { convFlops, measureFlops } from './common.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const CASES = [
  { name: 'matMul 2048', kind: 'matmul', n: quick ? 1024 : 2048 },
  {
    name: 'conv b8 28x28x128 k3 128',
    kind: 'conv',
    batch: 8,
    size: 28,
    inC: 128,
    k: 3,
    outC: 128,
    stride: 1,
  },
  { name: 'conv b8 56x56x64 k1 256', kind: 'conv', batch: 8, size: 56, inC: 64, k: 1, outC: 256, stride: 1 },
];
const DTYPES = ['float32', 'bfloat16'];

/** The same cases in PyTorch (channels_last), 1 and N threads; null when PyTorch is missing. */
function torchScaling(threads) {
  const code = `
import json, sys, time, torch
cases, threads, quick = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == '1'
out = []
for nt in [1, threads]:
    torch.set_num_threads(nt)
    for c in cases:
        for name, dt in [('float32', torch.float32), ('bfloat16', torch.bfloat16)]:
            if c['kind'] == 'matmul':
                a = torch.randn(c['n'], c['n']).to(dt); b = torch.randn(c['n'], c['n']).to(dt)
                f = lambda: a @ b; flops = 2 * c['n'] ** 3
            else:
                x = torch.randn(c['batch'], c['inC'], c['size'], c['size']).to(dt).contiguous(memory_format=torch.channels_last)
                w = torch.randn(c['outC'], c['inC'], c['k'], c['k']).to(dt).contiguous(memory_format=torch.channels_last)
                f = lambda: torch.nn.functional.conv2d(x, w, padding='same')
                flops = 2 * c['batch'] * c['size'] ** 2 * c['outC'] * c['k'] ** 2 * c['inC']
            with torch.no_grad():
                for _ in range(2): f()
                ts = []
                for _ in range(3 if quick else 5):
                    t0 = time.perf_counter(); n = 0
                    while time.perf_counter() - t0 < (0.04 if quick else 0.15): f(); n += 1
                    ts.append((time.perf_counter() - t0) / n)
            ts.sort()
            out.append({'name': c['name'], 'dtype': name, 'threads': nt, 'gflops': flops / ts[len(ts) // 2] / 1e9})
print(json.dumps(out))
`;
  const r = spawnSync(
    '/usr/bin/python3',
    ['-c', code, JSON.stringify(CASES), String(threads), quick ? '1' : '0'],
    {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' },
      timeout: 600_000,
    },
  );
  if (r.status !== 0) return null;
  const rows = JSON.parse(r.stdout.trim().split('\n').at(-1));
  return rows
    .filter((x) => x.threads === 1)
    .map((x) => ({
      name: x.name,
      dtype: x.dtype,
      gflops1: x.gflops,
      gflopsN: rows.find((y) => y.threads === threads && y.name === x.name && y.dtype === x.dtype).gflops,
    }));
}

if (args.includes('--child')) {
  const keel = await import('../dist/index.js');
  const timing = { warmup: 2, reps: quick ? 3 : 5, minRepMs: quick ? 40 : 150 };
  const out = [];
  for (const c of CASES)
    for (const dtype of DTYPES) {
      const r = keel.tidy(() => {
        if (c.kind === 'matmul') {
          const a = keel.randomNormal([c.n, c.n], 0, 1, 'float32', 1).cast(dtype);
          const b = keel.randomNormal([c.n, c.n], 0, 1, 'float32', 2).cast(dtype);
          // CPU kernels finish before they return (see keel.mjs)
          return measureFlops(() => keel.tidy(() => void keel.matMul(a, b)), 2 * c.n ** 3, timing);
        }
        const x = keel.randomNormal([c.batch, c.size, c.size, c.inC], 0, 1, 'float32', 3).cast(dtype);
        const w = keel.randomNormal([c.k, c.k, c.inC, c.outC], 0, 0.1, 'float32', 4).cast(dtype);
        const flops = convFlops({
          n: c.batch,
          h: c.size,
          w: c.size,
          c: c.inC,
          k: c.k,
          oc: c.outC,
          stride: c.stride,
          pad: 'same',
        });
        return measureFlops(() => keel.tidy(() => void keel.conv2d(x, w, c.stride, 'same')), flops, timing);
      });
      out.push({ name: c.name, dtype, gflops: r.gflops, ms: r.ms });
    }
  process.stdout.write(`${JSON.stringify(out)}\n`);
} else {
  const threads = Number(args[args.indexOf('--threads') + 1]) || 2;
  const run = (n) => {
    const r = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), '--child', ...(quick ? ['--quick'] : [])],
      {
        encoding: 'utf8',
        env: { ...process.env, KEEL_NUM_THREADS: String(n) },
      },
    );
    if (r.status !== 0) throw new Error(`scaling child (${n} threads) failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1));
  };
  const one = run(1);
  const many = run(threads);
  const torch = torchScaling(threads);
  console.log(
    `case                              dtype      1 thread  ${threads} threads  Keel speedup  PyTorch speedup (same case)`,
  );
  const results = one.map((r, i) => {
    const m = many[i];
    const speedup = m.gflops / r.gflops;
    const t = torch?.find((x) => x.name === r.name && x.dtype === r.dtype);
    const torchSpeedup = t ? t.gflopsN / t.gflops1 : null;
    console.log(
      `${r.name.padEnd(33)} ${r.dtype.padEnd(9)} ${r.gflops.toFixed(1).padStart(9)} ${m.gflops.toFixed(1).padStart(10)}  ${`${speedup.toFixed(2)}x`.padStart(12)}  ${torchSpeedup ? `${torchSpeedup.toFixed(2)}x` : '—'}`,
    );
    return {
      name: r.name,
      dtype: r.dtype,
      threads,
      gflops1: r.gflops,
      gflopsN: m.gflops,
      speedup,
      torch: t ?? null,
    };
  });
  console.log(
    "If PyTorch does not scale either, the cores are not independent (e.g. SMT siblings on the host): compute-bound kernels share one core's vector units.",
  );
  const at = args.indexOf('--json');
  if (at >= 0)
    writeFileSync(
      args[at + 1],
      `${JSON.stringify({ timestamp: new Date().toISOString(), quick, results }, null, 2)}\n`,
    );
}
