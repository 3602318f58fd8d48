// CPU GEMM: the native kernel (build/keel_native.node, when built) and the JavaScript fallback
// against a float64 reference — all transpose combinations, batches with strides (including stride-0
// broadcasting), offsets into larger buffers, padded leading dimensions, accumulate, odd edge sizes.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { type GemmParams, gemm, gemmInfo } from '../../src/backend/cpu/gemm.js';
import { gemmJs } from '../../src/backend/cpu/gemm-js.js';
import { loadNative, type NativeKernels } from '../../src/backend/cpu/native.js';
import { seededFloats } from '../helpers.js';

const addonPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'keel_native.node');
const nativeExpected = existsSync(addonPath) && !process.env.KEEL_NO_NATIVE;
if (!nativeExpected) {
  console.warn(
    process.env.KEEL_NO_NATIVE
      ? 'gemm.test: KEEL_NO_NATIVE is set; native-specific checks skipped, gemm() tests exercise the JS path.'
      : `gemm.test: ${addonPath} not built (run \`node scripts/build-native.mjs\`); native-specific checks skipped, gemm() tests exercise the JS path.`,
  );
}

interface CaseSpec {
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  batch?: number;
  accumulate?: boolean;
  /** Extra elements per stored row beyond the row length (lda/ldb/ldc padding). */
  padA?: number;
  padB?: number;
  padC?: number;
  aOffset?: number;
  bOffset?: number;
  cOffset?: number;
  /** 'packed': stride = one matrix (+ gap); 'broadcast': stride 0. */
  strideA?: 'packed' | 'broadcast';
  strideB?: 'packed' | 'broadcast';
  strideC?: 'packed' | 'broadcast';
  /** Extra elements between consecutive batch matrices. */
  gap?: number;
  seed: number;
}

function makeCase(s: CaseSpec): GemmParams {
  const transA = s.transA ?? false;
  const transB = s.transB ?? false;
  const batch = s.batch ?? 1;
  const gap = s.gap ?? 0;
  const lda = (transA ? s.M : s.K) + (s.padA ?? 0);
  const ldb = (transB ? s.K : s.N) + (s.padB ?? 0);
  const ldc = s.N + (s.padC ?? 0);
  const spanA = (transA ? s.K : s.M) * lda;
  const spanB = (transB ? s.N : s.K) * ldb;
  const spanC = s.M * ldc;
  const strideA = s.strideA === 'broadcast' ? 0 : spanA + gap;
  const strideB = s.strideB === 'broadcast' ? 0 : spanB + gap;
  const strideC = s.strideC === 'broadcast' ? 0 : spanC + gap;
  const aOffset = s.aOffset ?? 0;
  const bOffset = s.bOffset ?? 0;
  const cOffset = s.cOffset ?? 0;
  const tail = 3;
  const a = Float32Array.from(seededFloats(aOffset + (batch - 1) * strideA + spanA + tail, s.seed));
  const b = Float32Array.from(seededFloats(bOffset + (batch - 1) * strideB + spanB + tail, s.seed + 1));
  const c = Float32Array.from(seededFloats(cOffset + (batch - 1) * strideC + spanC + tail, s.seed + 2));
  return {
    batch,
    M: s.M,
    N: s.N,
    K: s.K,
    transA,
    transB,
    accumulate: s.accumulate ?? false,
    a,
    aOffset,
    lda,
    strideA,
    b,
    bOffset,
    ldb,
    strideB,
    c,
    cOffset,
    ldc,
    strideC,
  };
}

interface Reference {
  /** Expected C buffer (float64, sequential over the batch). */
  want: Float64Array;
  /** Per element: |op(A)|·|op(B)| (+ |C| when accumulating), the scale of float32 rounding errors. */
  scale: Float64Array;
  /** 1 where the GEMM writes C. */
  written: Uint8Array;
}

function reference(p: GemmParams): Reference {
  const want = Float64Array.from(p.c);
  const scale = Float64Array.from(p.c, Math.abs);
  const written = new Uint8Array(p.c.length);
  const row = new Float64Array(p.N);
  const absRow = new Float64Array(p.N);
  for (let bi = 0; bi < p.batch; bi++) {
    const a0 = p.aOffset + bi * p.strideA;
    const b0 = p.bOffset + bi * p.strideB;
    const c0 = p.cOffset + bi * p.strideC;
    // op(A)[i][k] = a[a0 + i*sai + k*sak]; op(B)[k][j] = b[b0 + k*sbk + j*sbj]
    const [sai, sak] = p.transA ? [1, p.lda] : [p.lda, 1];
    const [sbk, sbj] = p.transB ? [1, p.ldb] : [p.ldb, 1];
    for (let i = 0; i < p.M; i++) {
      row.fill(0);
      absRow.fill(0);
      for (let k = 0; k < p.K; k++) {
        const av = p.a[a0 + i * sai + k * sak];
        const bk = b0 + k * sbk;
        for (let j = 0; j < p.N; j++) {
          const prod = av * p.b[bk + j * sbj];
          row[j] += prod;
          absRow[j] += Math.abs(prod);
        }
      }
      for (let j = 0; j < p.N; j++) {
        const at = c0 + i * p.ldc + j;
        want[at] = (p.accumulate ? want[at] : 0) + row[j];
        scale[at] = (p.accumulate ? scale[at] : 0) + absRow[j];
        written[at] = 1;
      }
    }
  }
  return { want, scale, written };
}

/**
 * Relative error in norm over the written elements — ||got - want|| / ||scale||, i.e. relative to
 * |op(A)|·|op(B)| (+|C|), which equals ||want|| without cancellation and stays meaningful for a
 * single dot product that happens to cancel — at most 1e-6·sqrt(K) + 1e-6. Everything else in the
 * C buffer must be bit-identical.
 */
function expectMatches(got: Float32Array, ref: Reference, K: number, what: string) {
  let num = 0;
  let den = 0;
  let untouchedChanged = -1;
  for (let i = 0; i < got.length; i++) {
    if (ref.written[i]) {
      num += (got[i] - ref.want[i]) ** 2;
      den += ref.scale[i] ** 2;
    } else if (!Object.is(got[i], ref.want[i]) && untouchedChanged < 0) {
      untouchedChanged = i;
    }
  }
  expect(untouchedChanged, `${what}: element ${untouchedChanged} outside C was modified`).toBe(-1);
  const rel = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
  const tol = 1e-6 * Math.sqrt(K) + 1e-6;
  expect(rel, `${what}: relative error ${rel} > ${tol}`).toBeLessThanOrEqual(tol);
}

/** Runs gemm() (native when built) and gemmJs on copies of C and checks both. */
function checkBoth(spec: CaseSpec): void {
  const p = makeCase(spec);
  const ref = reference(p);
  const label = JSON.stringify({ ...spec, impl: gemmInfo().impl });
  const cMain = p.c.slice();
  gemm({ ...p, c: cMain });
  expectMatches(cMain, ref, p.K, `gemm ${label}`);
  const cJs = p.c.slice();
  gemmJs({ ...p, c: cJs });
  expectMatches(cJs, ref, p.K, `gemmJs ${label}`);
}

const combos: Array<[boolean, boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];
const tname = (tA: boolean, tB: boolean) => `${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`;

describe('gemm vs float64 reference', () => {
  const sizes: Array<[number, number, number]> = [
    [1, 1, 1],
    [1, 37, 1],
    [1, 1, 19],
    [3, 5, 7],
    [17, 33, 65],
    [14, 32, 256],
    [15, 16, 17],
    [129, 67, 255],
  ];
  for (const [M, N, K] of sizes) {
    it(`${M}x${N}x${K}, all transposes, accumulate, offsets and padded leading dimensions`, () => {
      let seed = M * 1_000_003 + N * 1009 + K;
      for (const [transA, transB] of combos) {
        for (const accumulate of [false, true]) {
          seed += 17;
          checkBoth({
            M,
            N,
            K,
            transA,
            transB,
            accumulate,
            seed,
            aOffset: seed % 5,
            bOffset: (seed >> 3) % 4,
            cOffset: (seed >> 5) % 3,
            padA: accumulate ? 3 : 0,
            padB: accumulate ? 0 : 2,
            padC: accumulate ? 1 : 0,
          });
        }
      }
    });
  }

  for (const [transA, transB] of combos) {
    it(`300x300x300 ${tname(transA, transB)}`, () => {
      checkBoth({
        M: 300,
        N: 300,
        K: 300,
        transA,
        transB,
        accumulate: transA,
        padC: 4,
        cOffset: 1,
        seed: 300,
      });
    });
  }

  it('matrix-vector shapes (M = 1 or N = 1), including sizes that split across threads', () => {
    let seed = 600;
    for (const [transA, transB] of combos) {
      const shapes: Array<[number, number, number]> = [
        [1, 300, 201],
        [250, 1, 301],
      ];
      // big enough (> 2 * 2 * 96^3 flops) for the native kernel to use two threads
      if (transA === transB) shapes.push([1, 2100, 1000], [3000, 1, 700]);
      for (const [M, N, K] of shapes) {
        seed += 1;
        checkBoth({
          M,
          N,
          K,
          transA,
          transB,
          seed,
          accumulate: seed % 2 === 0,
          batch: K < 500 ? 2 : 1,
          gap: 3,
          padA: 2,
          padB: 1,
          padC: 3,
          aOffset: 1,
          bOffset: 2,
          cOffset: 3,
        });
      }
    }
  });

  it('batched with packed strides, gaps between matrices and offsets', () => {
    for (const [transA, transB] of combos) {
      checkBoth({
        M: 13,
        N: 41,
        K: 29,
        batch: 3,
        transA,
        transB,
        gap: 5,
        aOffset: 2,
        bOffset: 7,
        cOffset: 3,
        seed: 11,
      });
      checkBoth({
        M: 70,
        N: 90,
        K: 110,
        batch: 2,
        transA,
        transB,
        accumulate: true,
        padA: 1,
        padC: 2,
        seed: 12,
      });
    }
  });

  it('stride-0 broadcasting of A, of B, and of both across the batch', () => {
    for (const [transA, transB] of combos) {
      checkBoth({ M: 9, N: 35, K: 20, batch: 4, transA, transB, strideA: 'broadcast', seed: 21 });
      checkBoth({
        M: 31,
        N: 7,
        K: 45,
        batch: 3,
        transA,
        transB,
        strideB: 'broadcast',
        accumulate: true,
        seed: 22,
      });
      checkBoth({
        M: 64,
        N: 64,
        K: 64,
        batch: 5,
        transA,
        transB,
        strideA: 'broadcast',
        strideB: 'broadcast',
        seed: 23,
      });
    }
    // a larger batch of small matrices (work split over the batch) with a broadcast weight matrix
    checkBoth({ M: 48, N: 40, K: 72, batch: 24, strideB: 'broadcast', seed: 24 });
  });

  it('stride-0 C: accumulate sums over the batch, overwrite keeps the last product', () => {
    for (const [transA, transB] of combos) {
      checkBoth({
        M: 40,
        N: 50,
        K: 60,
        batch: 4,
        transA,
        transB,
        strideC: 'broadcast',
        accumulate: true,
        seed: 31,
      });
      checkBoth({ M: 40, N: 50, K: 60, batch: 3, transA, transB, strideC: 'broadcast', seed: 32 });
    }
    checkBoth({ M: 130, N: 100, K: 90, batch: 3, strideC: 'broadcast', accumulate: true, padC: 3, seed: 33 });
  });

  it('seeded random shapes and layouts', () => {
    const r = seededFloats(40 * 16, 4242, 0, 1);
    for (let t = 0; t < 40; t++) {
      const u = (i: number) => r[t * 16 + i];
      const M = 1 + Math.floor(u(0) * 40);
      const N = 1 + Math.floor(u(1) * 70);
      const K = 1 + Math.floor(u(2) * 90);
      const bcast = (x: number) => (x < 0.25 ? 'broadcast' : 'packed');
      checkBoth({
        M,
        N,
        K,
        seed: 5000 + t * 7,
        transA: u(3) < 0.5,
        transB: u(4) < 0.5,
        accumulate: u(5) < 0.5,
        batch: 1 + Math.floor(u(6) * 3),
        strideA: bcast(u(7)),
        strideB: bcast(u(8)),
        padA: Math.floor(u(9) * 3),
        padB: Math.floor(u(10) * 3),
        padC: Math.floor(u(11) * 3),
        aOffset: Math.floor(u(12) * 4),
        bOffset: Math.floor(u(13) * 4),
        cOffset: Math.floor(u(14) * 4),
        gap: Math.floor(u(15) * 3),
      });
    }
  });

  it('subarray views (non-zero byteOffset) address the view, not the underlying buffer', () => {
    const p = makeCase({ M: 19, N: 23, K: 31, transB: true, accumulate: true, seed: 77 });
    // Each operand sits inside a larger NaN-filled buffer; reading or writing outside the view shows.
    const view = (x: Float32Array, lead: number) => {
      const whole = new Float32Array(lead + x.length + 5).fill(Number.NaN);
      whole.set(x, lead);
      return { whole, part: whole.subarray(lead, lead + x.length) };
    };
    const ref = reference(p);
    const c = view(p.c, 11);
    gemm({ ...p, a: view(p.a, 3).part, b: view(p.b, 7).part, c: c.part });
    expectMatches(c.part, ref, p.K, 'views');
    const outside = [...c.whole.subarray(0, 11), ...c.whole.subarray(11 + p.c.length)];
    expect(outside.every((x) => Number.isNaN(x))).toBe(true);
  });

  it('overwrite never reads C: NaN/Infinity already in C do not leak into the result', () => {
    for (const [transA, transB] of combos) {
      const p = makeCase({ M: 33, N: 47, K: 70, batch: 2, transA, transB, seed: 88 });
      p.c.fill(Number.NaN);
      p.c[p.cOffset + 5] = Number.POSITIVE_INFINITY;
      const ref = reference(p);
      for (const run of [gemm, gemmJs]) {
        const c = p.c.slice();
        run({ ...p, c });
        expectMatches(c, ref, p.K, `${run.name} ${tname(transA, transB)}`);
      }
    }
  });

  it('K = 0 zeroes C (or leaves it when accumulating); empty M/N/batch are no-ops', () => {
    const c = new Float32Array([1, 2, 3, 4, 5, 6, 7]);
    const p: GemmParams = {
      batch: 1,
      M: 2,
      N: 2,
      K: 0,
      transA: false,
      transB: false,
      accumulate: false,
      a: new Float32Array(0),
      aOffset: 0,
      lda: 0,
      strideA: 0,
      b: new Float32Array(0),
      bOffset: 0,
      ldb: 2,
      strideB: 0,
      c,
      cOffset: 1,
      ldc: 3,
      strideC: 0,
    };
    gemm({ ...p, accumulate: true });
    expect(Array.from(c)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    gemm(p);
    expect(Array.from(c)).toEqual([1, 0, 0, 4, 0, 0, 7]);
    gemm({ ...p, M: 0, K: 3 });
    gemm({ ...p, batch: 0, K: 3 });
    expect(Array.from(c)).toEqual([1, 0, 0, 4, 0, 0, 7]);
  });

  it('throws on buffers too small for the described matrices', () => {
    const base = makeCase({ M: 8, N: 9, K: 10, batch: 2, seed: 5 });
    expect(() => gemm({ ...base, a: base.a.subarray(0, base.a.length - 4) })).toThrow(
      /gemm: buffers too small/,
    );
    expect(() => gemm({ ...base, b: base.b.subarray(0, base.b.length - 4) })).toThrow(
      /gemm: buffers too small/,
    );
    expect(() => gemm({ ...base, c: base.c.subarray(0, base.c.length - 4) })).toThrow(
      /gemm: buffers too small/,
    );
    expect(() => gemm({ ...base, cOffset: 4 })).toThrow(/gemm: buffers too small/);
    expect(() => gemm({ ...base, ldb: base.ldb + 1 })).toThrow(/gemm: buffers too small/);
  });
});

describe.skipIf(!nativeExpected)('native kernel', () => {
  const native = () => loadNative() as NativeKernels;

  it('is the implementation gemm() uses', () => {
    const info = gemmInfo();
    expect(info.impl).toBe('native');
    expect(['avx512', 'avx2', 'portable']).toContain(info.isa);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    const fromEnv = Number(process.env.KEEL_NUM_THREADS);
    if (fromEnv >= 1) expect(info.threads).toBe(Math.min(64, Math.floor(fromEnv)));
  });

  it('rejects bad arguments with TypeError / RangeError', () => {
    const n = native();
    const f = new Float32Array(16);
    const ok: unknown[] = [f, 0, 4, 0, false, f, 0, 4, 0, false, f, 0, 4, 0, 1, 4, 4, 4, false];
    const call = (args: unknown[]) => (n.gemm as (...a: unknown[]) => void)(...args);
    expect(() => call(ok)).not.toThrow();
    expect(() => call(ok.slice(0, 18))).toThrow(TypeError);
    expect(() => call(ok.slice(0, 18))).toThrow(/expected 19 arguments/);
    const withArg = (i: number, v: unknown) => ok.map((x, j) => (j === i ? v : x));
    expect(() => call(withArg(0, new Float64Array(16)))).toThrow(/argument 0 \(a\) must be a Float32Array/);
    expect(() => call(withArg(10, [1, 2, 3]))).toThrow(TypeError);
    expect(() => call(withArg(1, -1))).toThrow(/aOffset\) must be a non-negative integer/);
    expect(() => call(withArg(2, 1.5))).toThrow(TypeError);
    expect(() => call(withArg(15, '4'))).toThrow(TypeError);
    expect(() => call(withArg(4, 0))).toThrow(/transA\) must be a boolean/);
    expect(() => call(withArg(18, undefined))).toThrow(TypeError);
    expect(() => call(withArg(17, 5))).toThrow(RangeError);
    expect(() => call(withArg(17, 5))).toThrow(/gemm: buffers too small/);
  });

  it('works from worker_threads concurrently with the main thread', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const m = require(workerData.path);
      const n = 150, a = new Float32Array(n * n), c = new Float32Array(n * n);
      for (let i = 0; i < a.length; i++) a[i] = ((i * 7919) % 13) - 6;
      let sum = 0;
      for (let r = 0; r < 10; r++) { m.gemm(a, 0, n, 0, false, a, 0, n, 0, true, c, 0, n, 0, 1, n, n, n, false); sum += c[r * 151]; }
      parentPort.postMessage(sum);`;
    const n = 150;
    const a = new Float32Array(n * n);
    for (let i = 0; i < a.length; i++) a[i] = ((i * 7919) % 13) - 6;
    let want = 0; // c[r*151] is (A A^T)[r][r]; small integers, so exact in float32
    for (let r = 0; r < 10; r++) for (let k = 0; k < n; k++) want += a[r * n + k] * a[r * n + k];
    const workers = [0, 1].map(() => new Worker(code, { eval: true, workerData: { path: addonPath } }));
    const results = workers.map(
      (w) =>
        new Promise<number>((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        }),
    );
    for (let r = 0; r < 5; r++) checkBoth({ M: 120, N: 130, K: 140, transB: r % 2 === 1, seed: 900 + r });
    const sums = await Promise.all(results);
    await Promise.all(workers.map((w) => w.terminate()));
    expect(sums).toEqual([want, want]);
  });

  // The ISA and the pool size are fixed once per process, so these run the addon in child processes.
  // CHECK_ONLY skips the JavaScript reference and adds shapes big enough to be split across threads.
  const childScript = `
    const m = require(${JSON.stringify(addonPath)});
    const checkOnly = !!process.env.CHECK_ONLY;
    let seed = 7;
    const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 4294967296 - 0.5; };
    const fill = (n) => { const x = new Float32Array(n); for (let i = 0; i < n; i++) x[i] = rnd(); return x; };
    let worst = 0, hash = 2166136261;
    const shapes = [[1, 1, 1], [1, 40, 33], [37, 1, 50], [5, 9, 3], [7, 17, 41], [20, 33, 300], [100, 90, 120]];
    // > 3 * 2 * 96^3 flops per call: three threads, each matrix split in two
    if (checkOnly) shapes.push([300, 200, 150], [1, 1800, 800], [2400, 1, 600]);
    for (const [M, N, K] of shapes)
      for (const tA of [false, true]) for (const tB of [false, true]) {
        if (checkOnly && M * N * K > 1e6 && ((M === 1 && tA) || (N === 1 && tB))) continue; // same kernel
        const acc = tA !== tB, batch = 2;
        const A = fill(batch * M * K), B = fill(batch * K * N), C = fill(batch * M * N), C0 = C.slice();
        m.gemm(A, 0, tA ? M : K, M * K, tA, B, 0, tB ? K : N, K * N, tB, C, 0, N, M * N, batch, M, N, K, acc);
        for (const bits of new Uint32Array(C.buffer)) hash = Math.imul(hash ^ bits, 16777619) >>> 0;
        if (checkOnly) continue;
        let num = 0, den = 0;
        for (let b = 0; b < batch; b++) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
          let s = acc ? C0[b * M * N + i * N + j] : 0, scale = Math.abs(s);
          for (let k = 0; k < K; k++) {
            const prod = (tA ? A[b * M * K + k * M + i] : A[b * M * K + i * K + k]) * (tB ? B[b * K * N + j * K + k] : B[b * K * N + k * N + j]);
            s += prod; scale += Math.abs(prod);
          }
          num += (C[b * M * N + i * N + j] - s) ** 2; den += scale * scale;
        }
        worst = Math.max(worst, Math.sqrt(num) / Math.sqrt(den) / (1e-6 * Math.sqrt(K) + 1e-6));
      }
    console.log(JSON.stringify({ info: m.info(), worst, hash }));`;
  interface ChildResult {
    info: { isa: string; threads: number };
    worst: number;
    hash: number;
  }
  const runChild = (env: Record<string, string>): ChildResult => {
    const { KEEL_GEMM_ISA: _isa, KEEL_NUM_THREADS: _threads, ...base } = process.env;
    const res = spawnSync(process.execPath, ['-e', childScript], {
      env: { ...base, ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(res.status, res.stderr).toBe(0);
    return JSON.parse(res.stdout.trim()) as ChildResult;
  };

  // The lesser kernels only run on older CPUs; force them so they are tested here too.
  it.skipIf(process.arch !== 'x64')('the avx2 and portable kernels (forced in a child process)', () => {
    const rank = (isa: string) => ['portable', 'avx2', 'avx512'].indexOf(isa);
    const best = gemmInfo().isa;
    for (const isa of ['avx2', 'portable']) {
      const out = runChild({ KEEL_GEMM_ISA: isa, KEEL_NUM_THREADS: '3' });
      expect(out.info.isa).toBe(rank(isa) < rank(best) ? isa : best);
      expect(out.info.threads).toBe(3);
      expect(out.worst).toBeLessThanOrEqual(1);
    }
  });

  it('gives bitwise identical results with 1 and 3 threads', () => {
    const one = runChild({ KEEL_NUM_THREADS: '1', CHECK_ONLY: '1' });
    const three = runChild({ KEEL_NUM_THREADS: '3', CHECK_ONLY: '1' });
    expect([one.info.threads, three.info.threads]).toEqual([1, 3]);
    expect(three.hash).toBe(one.hash);
  });
});
