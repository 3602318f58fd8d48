// Generated fused kernels (src/backend/cpu/fused-codegen.ts, compiled by kernel-compiler.ts) against
// the native interpreter, value for value (bit for bit but for the sign and payload of NaNs): every
// unary and binary op in float32 and bfloat16, flat, scalar, row and strided inputs, casts, where,
// reductions along the innermost dim, outputs reusing inputs, 300 random
// programs, large domains split over threads; what the generator leaves to the interpreter; the
// cache (a second compiler finds the kernels without compiling); a failing compiler (the kernels
// stay interpreted, with a warning); and a JIT training loop whose hot kernels switch to generated
// code mid-run with the same losses as the interpreter.
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CpuBackend } from '../../src/backend/cpu/backend-cpu.js';
import { fusedCpp } from '../../src/backend/cpu/fused-codegen.js';
import { encodeFused, HOT_RUNS } from '../../src/backend/cpu/fused-native.js';
import { KernelCompiler } from '../../src/backend/cpu/kernel-compiler.js';
import { loadNative } from '../../src/backend/cpu/native.js';
import type { FusedSpec } from '../../src/backend/fused.js';
import { BINARY_OPS, REDUCE_OPS, UNARY_OPS } from '../../src/backend/primitives.js';
import type { DType, Storage } from '../../src/dtype.js';
import { allocStorage, fromNumbers, toFloat32 } from '../../src/dtype.js';
import * as keel from '../../src/index.js';
import { ENGINE } from '../../src/tensor/engine.js';
import { seededFloats } from '../helpers.js';
import { binarySpec, randomSpec, unarySpec } from './fused-specs.js';

const addon = loadNative();
const cache = mkdtempSync(join(tmpdir(), 'keel-codegen-test-'));
const env = { ...process.env, KEEL_CODEGEN: 'sync', KEEL_KERNEL_CACHE: cache };
const compiler = KernelCompiler.fromEnv(addon, env);
if (!compiler)
  console.warn(
    'fused-codegen.test: no C++ compiler, or no native addon with generated kernels; skipped (the interpreter runs every fused kernel).',
  );
afterAll(() => rmSync(cache, { recursive: true, force: true }));

/** The formats of generated kernels (float16 programs stay interpreted). */
const FLOATS: DType[] = ['float32', 'bfloat16'];
const SPECIAL = [Number.NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -2.5, 3.5, 1e-30, 65504, 70000, 1e-7];
const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

function values(shape: readonly number[], dtype: DType, seed: number): Storage {
  const n = size(shape);
  if (dtype === 'bool') return Uint8Array.from(seededFloats(n, seed), (v) => (v > 0 ? 1 : 0));
  const v = seededFloats(n, seed, -3, 3);
  for (let i = 0; i < SPECIAL.length && i * 5 < n; i++) v[i * 5] = SPECIAL[i];
  return fromNumbers(dtype, v);
}

/** The dtypes of a spec's outputs: its stores, then its reduction. */
const outputTypes = (spec: FusedSpec): DType[] => [
  ...spec.stores.map((e) => spec.exprs[e].dtype),
  ...(spec.reduce ? [spec.reduce.dtype] : []),
];

const outputsOf = (spec: FusedSpec) => [
  ...spec.stores.map((e) => allocStorage(spec.exprs[e].dtype, size(spec.shape))),
  ...(spec.reduce ? [allocStorage(spec.reduce.dtype, size(spec.reduce.shape))] : []),
];

/** The generated kernels of the programs (null where the generator declines), in one compile. */
function generated(programs: Int32Array[]): (object | null)[] {
  const kernels: (object | null)[] = programs.map(() => null);
  programs.forEach((program, i) => {
    const source = fusedCpp(program);
    if (!source) return;
    compiler!.request(source, (k) => {
      kernels[i] = k;
    });
  });
  compiler!.compileNow();
  return kernels;
}

const asNumbers = (s: Storage, dtype: DType): ArrayLike<number> =>
  dtype === 'bfloat16' || dtype === 'float16' ? toFloat32(dtype, s) : s;

/** The same value: -0 apart from +0; any NaN equals any NaN (its sign and payload follow operand order). */
const sameValue = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

/** Runs each spec by the interpreter and by its generated kernel; every output the same value. */
function compare(cases: { spec: FusedSpec; what: string; seed?: number }[]): void {
  const programs = cases.map((c) => encodeFused(c.spec)!);
  const kernels = generated(programs);
  cases.forEach(({ spec, what, seed = 1 }, c) => {
    expect(kernels[c], `${what}: declined`).not.toBeNull();
    const inputs = spec.inputs.map((inp, k) => values(inp.shape, inp.dtype, seed + k));
    const want = outputsOf(spec);
    const got = outputsOf(spec);
    addon!.fused!(programs[c], inputs, want);
    addon!.fusedGenerated!(kernels[c]!, programs[c], inputs, got);
    for (let k = 0; k < want.length; k++) {
      const dtype = outputTypes(spec)[k];
      const a = asNumbers(got[k], dtype);
      const b = asNumbers(want[k], dtype);
      const i = Array.prototype.findIndex.call(a, (x: number, j: number) => !sameValue(x, b[j]));
      if (i >= 0) expect(`${what} output ${k} [${i}]: ${a[i]}`).toBe(`${what} output ${k} [${i}]: ${b[i]}`);
    }
  });
}

// flat, a row (bias over the channels), a scalar, strided (per image and channel: global pooling's
// gradient), strided with a stride along the run, and a scalar and a row on the other side
const BROADCASTS: [number[], number[], number[]][] = [
  [
    [6, 5, 16],
    [6, 5, 16],
    [6, 5, 16],
  ],
  [[6, 5, 16], [16], [6, 5, 16]],
  [[6, 5, 16], [], [6, 5, 16]],
  [
    [6, 1, 16],
    [6, 5, 16],
    [6, 5, 16],
  ],
  [
    [6, 5, 16],
    [5, 1],
    [6, 5, 16],
  ],
  [[], [3, 40], [3, 40]],
  [[40], [3, 40], [3, 40]],
];

describe.skipIf(!compiler)('generated fused kernels match the interpreter', () => {
  it('every unary op in every float dtype', () => {
    compare(
      FLOATS.flatMap((dtype) =>
        UNARY_OPS.map((op) => ({ spec: unarySpec(op, dtype, [7, 33]), what: `${op} ${dtype}` })),
      ),
    );
  });

  it('every binary op in every float dtype, over flat, scalar, row and strided inputs', () => {
    compare(
      FLOATS.flatMap((dtype) =>
        BINARY_OPS.flatMap((op) =>
          BROADCASTS.map((b) => ({
            spec: binarySpec(op, dtype, b),
            what: `${op} ${dtype} ${JSON.stringify(b)}`,
          })),
        ),
      ),
    );
  });

  it('casts between all formats, and where', () => {
    const formats: DType[] = ['float32', 'bfloat16', 'bool'];
    const casts = formats.flatMap((from) =>
      formats.map((to) => ({
        what: `cast ${from} -> ${to}`,
        spec: {
          inputs: [{ shape: [100], dtype: from }],
          shape: [100],
          exprs: [
            { kind: 'input', input: 0, dtype: from },
            { kind: 'cast', a: 0, dtype: to },
            { kind: 'cast', a: 1, dtype: 'float32' },
          ],
          stores: [1, 2],
        } satisfies FusedSpec,
      })),
    );
    const chains = FLOATS.map((dtype) => ({
      what: `chain ${dtype}`,
      spec: {
        inputs: [
          { shape: [9, 16], dtype: 'bool' },
          { shape: [9, 16], dtype },
          { shape: [16], dtype },
        ],
        shape: [9, 16],
        exprs: [
          { kind: 'input', input: 0, dtype: 'bool' },
          { kind: 'input', input: 1, dtype },
          { kind: 'input', input: 2, dtype },
          { kind: 'binary', op: 'mul', a: 1, b: 2, dtype },
          { kind: 'binary', op: 'add', a: 3, b: 1, dtype },
          { kind: 'where', cond: 0, a: 4, b: 2, dtype },
          { kind: 'cast', a: 5, dtype: 'bfloat16' },
          { kind: 'unary', op: 'sqrt', a: 6, dtype },
        ],
        stores: [4, 7],
      } satisfies FusedSpec,
    }));
    compare([...casts, ...chains]);
  });

  it('300 random programs, and 20 large ones split over threads', () => {
    const cases: { spec: FusedSpec; what: string; seed: number }[] = [];
    for (let seed = 1; seed <= 320; seed++) {
      const spec = randomSpec(seed, seed > 300);
      delete spec.reduce; // (their small domains are rarely ones the generator takes: tested above)
      // strided runs shorter than 8 stay interpreted
      if (fusedCpp(encodeFused(spec)!))
        cases.push({ spec, what: `seed ${seed} ${JSON.stringify(spec)}`, seed });
    }
    expect(cases.length).toBeGreaterThan(100);
    compare(cases);
  });

  it('writes a store into a reused input (in place, as the JIT donates buffers)', () => {
    const spec = binarySpec('mul', 'float32', [[64, 70], [70], [64, 70]]);
    spec.exprs.push({ kind: 'binary', op: 'sub', a: 2, b: 0, dtype: 'float32' });
    spec.stores = [3];
    const program = encodeFused(spec)!;
    const x = values([64, 70], 'float32', 3) as Float32Array;
    const w = values([70], 'float32', 4);
    const want = outputsOf(spec);
    addon!.fused!(program, [x, w], want);
    addon!.fusedGenerated!(generated([program])[0]!, program, [x, w], [x]);
    expect(Buffer.from(x.buffer).equals(Buffer.from(want[0].buffer))).toBe(true);
  });

  it('every reduction into accumulators along the innermost dim, in float32 and bfloat16, over threads', () => {
    const cases: { spec: FusedSpec; what: string }[] = [];
    const groups: [number[], number[]][] = [
      [
        [4, 50, 16],
        [0, 1],
      ],
      [[3, 40, 32], [1]],
      [
        [2, 8, 8, 64],
        [0, 1, 2],
      ],
      [[32, 256, 32], [1]],
      [[300, 128], [0]],
    ];
    for (const dtype of FLOATS)
      for (const op of REDUCE_OPS)
        for (const [shape, axes] of groups) {
          const spec = binarySpec('mul', dtype, [shape, shape.slice(-1), shape]);
          spec.stores = op === 'sum' ? [2] : [];
          spec.reduce = { op, expr: 2, axes, shape: shape.filter((_, i) => !axes.includes(i)), dtype };
          cases.push({ spec, what: `${op} ${dtype} [${shape}] over [${axes}]` });
        }
    compare(cases);
  });

  it('leaves float16, other reductions and short strided runs to the interpreter', () => {
    const reduce = (shape: number[], axes: number[]): FusedSpec => ({
      ...unarySpec('neg', 'float32', shape),
      reduce: {
        op: 'sum',
        expr: 1,
        axes,
        shape: shape.filter((_, i) => !axes.includes(i)),
        dtype: 'float32',
      },
    });
    expect(fusedCpp(encodeFused(reduce([8, 16], [1]))!)).toBeNull(); // over the innermost dim
    expect(fusedCpp(encodeFused(reduce([8, 24], [0]))!)).toBeNull(); // 24 does not divide a block
    expect(fusedCpp(encodeFused(reduce([8, 32], [0]))!)).not.toBeNull();
    // float16 values (the interpreter converts them with F16C, generated code would one by one)
    expect(fusedCpp(encodeFused(unarySpec('neg', 'float16', [64]))!)).toBeNull();
    expect(
      fusedCpp(
        encodeFused({
          ...unarySpec('neg', 'float32', [64]),
          exprs: [
            { kind: 'input', input: 0, dtype: 'float32' },
            { kind: 'cast', a: 0, dtype: 'float16' },
          ],
        })!,
      ),
    ).toBeNull();
    expect(
      fusedCpp(
        encodeFused(
          binarySpec('add', 'float32', [
            [6, 1, 4],
            [1, 5, 1],
            [6, 5, 4],
          ]),
        )!,
      ),
    ).toBeNull();
  });

  it('checks the arrays as the interpreter does', () => {
    const spec = binarySpec('add', 'float32', [[4, 16], [16], [4, 16]]);
    const program = encodeFused(spec)!;
    const kernel = generated([program])[0]!;
    expect(() =>
      addon!.fusedGenerated!(kernel, program, [new Float32Array(63), new Float32Array(16)], outputsOf(spec)),
    ).toThrow(/input 0 has 63 elements, the program reads 64/);
    expect(() => addon!.fusedGenerated!({}, program, [], [])).toThrow(/expected \(kernel: External/);
  });
});

describe.skipIf(!compiler)('the kernel compiler', () => {
  it('finds compiled kernels in its cache without compiling again', () => {
    const spec = unarySpec('exp', 'bfloat16', [5, 50]);
    const program = encodeFused(spec)!;
    generated([program]);
    const second = KernelCompiler.fromEnv(addon, env)!;
    let kernel: object | null = null;
    const cached = !second.request(fusedCpp(program)!, (k) => {
      kernel = k;
    });
    expect(cached).toBe(true);
    expect(kernel).not.toBeNull();
    expect(second.stats.compiles).toBe(0);
  });

  it('keeps kernels interpreted, with a warning, when the compiler fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-codegen-bad-'));
    const bad = join(dir, 'bad-cxx');
    writeFileSync(bad, '#!/bin/sh\n[ "$1" = "--version" ] && exit 0\necho "bad-cxx: no" >&2\nexit 1\n');
    chmodSync(bad, 0o755);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const broken = KernelCompiler.fromEnv(addon, { ...env, CXX: bad, KEEL_KERNEL_CACHE: dir })!;
      let kernel: object | null = null;
      broken.request(fusedCpp(encodeFused(unarySpec('neg', 'float32', [64]))!)!, (k) => {
        kernel = k;
      });
      broken.poll();
      await new Promise((resolve) => setImmediate(resolve));
      expect(kernel).toBeNull();
      expect(broken.stats.failed).toBe(1);
      expect(warnings.join('\n')).toMatch(/compiling fused kernels failed \(see .*\.log\)/);
      expect(readdirSync(dir).some((f) => f.endsWith('.log'))).toBe(true);
    } finally {
      process.off('warning', onWarning);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compiles in the background: the kernel arrives at a later poll, its unit removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-codegen-bg-'));
    try {
      const bg = KernelCompiler.fromEnv(addon, { ...env, KEEL_CODEGEN: undefined, KEEL_KERNEL_CACHE: dir })!;
      expect(bg.sync).toBe(false);
      const program = encodeFused(binarySpec('maximum', 'bfloat16', [[40, 64], [64], [40, 64]]))!;
      let kernel: object | null = null;
      bg.request(fusedCpp(program)!, (k) => {
        kernel = k;
      });
      bg.poll(true);
      expect(kernel, 'not before the compiler is done').toBeNull();
      for (let t = 0; t < 600 && !kernel; t++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        bg.poll(true);
      }
      expect(kernel).not.toBeNull();
      const files = readdirSync(dir);
      expect(files.filter((f) => f.endsWith('.so'))).toHaveLength(1);
      expect(files.some((f) => f.endsWith('.cc') || f.endsWith('.fail'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 70_000);

  it('is off with KEEL_CODEGEN=off, and without a compiler', () => {
    expect(KernelCompiler.fromEnv(addon, { ...env, KEEL_CODEGEN: 'off' })).toBeNull();
    expect(KernelCompiler.fromEnv(addon, { ...env, CXX: '/nonexistent/c++' })).toBeNull();
  });
});

describe.skipIf(!compiler)('a jitted training loop', () => {
  const backend = ENGINE.backend as CpuBackend;
  /** The losses of `steps` jitted steps of a fresh model, with this test's compiler or none. */
  const losses = (codegen: boolean, build: () => keel.LayersModel, x: keel.Tensor, y: keel.Tensor) => {
    Object.defineProperty(backend, 'kernelCompiler', {
      value: () => (codegen ? compiler : null),
      configurable: true,
    });
    try {
      const model = build();
      model.compile({ optimizer: keel.train.adam(0.01), loss: 'meanSquaredError', jitCompile: true });
      const out: number[] = [];
      for (let i = 0; i < HOT_RUNS + 6; i++) out.push(model.trainOnBatch(x, y) as number);
      return out;
    } finally {
      delete (backend as unknown as Record<string, unknown>).kernelCompiler;
    }
  };
  const init = (seed: number) => keel.initializers.glorotUniform({ seed });
  const L = keel.layers;

  it('switches its hot kernels to generated code with the losses of the interpreter', () => {
    const build = () =>
      keel.sequential({
        layers: [
          L.dense({ units: 24, activation: 'relu', inputShape: [10], kernelInitializer: init(1) }),
          L.dense({ units: 3, kernelInitializer: init(2) }),
        ],
      });
    const x = keel.randomNormal([16, 10], 0, 1, 'float32', 3);
    const y = keel.randomNormal([16, 3], 0, 1, 'float32', 4);
    const before = compiler!.stats.loaded;
    const fast = losses(true, build, x, y);
    expect(compiler!.stats.loaded).toBeGreaterThan(before);
    expect(fast).toEqual(losses(false, build, x, y));
  });

  it('does so for a mixed_bfloat16 CNN with batch norm (row, strided and reduction kernels)', () => {
    const build = () => {
      keel.mixedPrecision.setGlobalPolicy('mixed_bfloat16');
      try {
        return keel.sequential({
          layers: [
            L.conv2d({
              filters: 16,
              kernelSize: 3,
              padding: 'same',
              inputShape: [12, 12, 3],
              kernelInitializer: init(5),
            }),
            L.batchNormalization(),
            L.activation({ activation: 'relu' }),
            L.conv2d({
              filters: 32,
              kernelSize: 3,
              padding: 'same',
              activation: 'relu',
              kernelInitializer: init(6),
            }),
            L.globalAveragePooling2d(),
            L.dense({ units: 4, kernelInitializer: init(7) }),
            L.activation({ activation: 'linear', dtype: 'float32' }),
          ],
        });
      } finally {
        keel.mixedPrecision.setGlobalPolicy('float32');
      }
    };
    const x = keel.randomNormal([8, 12, 12, 3], 0, 1, 'float32', 8);
    const y = keel.randomNormal([8, 4], 0, 1, 'float32', 9);
    const before = compiler!.stats.loaded;
    const fast = losses(true, build, x, y);
    expect(compiler!.stats.loaded - before).toBeGreaterThan(5);
    expect(fast).toEqual(losses(false, build, x, y));
  });
});
