// The native fused-kernel interpreter (native/fused.cc) against the generated JavaScript kernels
// (src/backend/cpu/fused.ts, themselves tested against float64 references through the op suites):
// every unary and binary op in every float dtype, broadcasting, casts, where, chains with per-dtype
// rounding, every reduction over several axis groups, large domains split over threads, outputs
// written into reused inputs, the addon's argument checks, and the AVX2 / portable builds of the
// same loops (forced in child processes) giving bit-identical results.

import { describe, expect, it } from 'vitest';
import { compileFusedJs } from '../../src/backend/cpu/fused.js';
import { compileFusedNative, encodeFused } from '../../src/backend/cpu/fused-native.js';
import { loadNative } from '../../src/backend/cpu/native.js';
import type { FusedSpec } from '../../src/backend/fused.js';
import { BINARY_OPS, REDUCE_OPS, UNARY_OPS } from '../../src/backend/primitives.js';
import type { DType, Storage } from '../../src/dtype.js';
import { fromNumbers, toFloat32 } from '../../src/dtype.js';
import { seededFloats } from '../helpers.js';
import { binarySpec, randomSpec, unarySpec } from './fused-specs.js';
import { nativeMixedExpected, runInChild, type WireArray } from './native-child.js';

const addon = loadNative();
const fused = addon?.fused ? addon.fused.bind(addon) : null;
if (!fused)
  console.warn(
    'fused-native.test: no native addon with fused kernels (not built, or KEEL_NO_NATIVE set); skipped.',
  );
const FLOATS: DType[] = ['float32', 'bfloat16', 'float16'];
/** Ops whose results come from a libm function in double: equal to JavaScript's up to 1 ulp. */
const INEXACT = new Set(['exp', 'log', 'log1p', 'expm1', 'sigmoid', 'tanh', 'sin', 'cos', 'pow']);
const ULP: Record<string, number> = { float32: 2 ** -23, bfloat16: 2 ** -7, float16: 2 ** -10 };
const SPECIAL = [Number.NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -2.5, 3.5, 1e-30, 65504, 70000];
const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

function values(shape: readonly number[], dtype: DType, seed: number, lo = -3, hi = 3): Storage {
  const n = size(shape);
  if (dtype === 'bool') return Uint8Array.from(seededFloats(n, seed), (v) => (v > 0 ? 1 : 0));
  const v = seededFloats(n, seed, lo, hi);
  for (let i = 0; i < SPECIAL.length && i * 7 < n; i++) v[i * 7] = SPECIAL[i];
  return fromNumbers(dtype, v);
}

const asNumbers = (s: Storage, dtype: DType): ArrayLike<number> =>
  dtype === 'bfloat16' || dtype === 'float16' ? toFloat32(dtype, s) : s;

/** Equal (NaN to NaN, -0 apart from +0), or within `ulps` units of the dtype's precision. */
function expectSame(got: Storage, want: Storage, dtype: DType, ulps: number, what: string): void {
  const g = asNumbers(got, dtype);
  const w = asNumbers(want, dtype);
  expect(g.length, what).toBe(w.length);
  for (let i = 0; i < w.length; i++) {
    const a = g[i];
    const b = w[i];
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
    const tol = ulps * (ULP[dtype] ?? 0) * Math.max(Math.abs(b), 2 ** -126);
    if (!(Math.abs(a - b) <= tol)) expect(`${what} [${i}]: ${a}`).toBe(`${what} [${i}]: ${b}`);
  }
}

/** Runs spec natively and as JavaScript on the same inputs; compares every output. */
function compare(spec: FusedSpec, inputs: Storage[], ulps: number, what: string): Storage[] {
  const js = compileFusedJs(spec).run(inputs, []);
  const kernel = compileFusedNative(spec, fused!);
  expect(kernel, `${what}: declined`).not.toBeNull();
  const nat = kernel!.run(inputs, []);
  const dtypes = [
    ...spec.stores.map((e) => spec.exprs[e].dtype),
    ...(spec.reduce ? [spec.reduce.dtype] : []),
  ];
  for (const [k, o] of nat.entries()) expectSame(o, js[k], dtypes[k], ulps, `${what} output ${k}`);
  return nat;
}

const BROADCASTS: [number[], number[], number[]][] = [
  [
    [6, 5, 4],
    [6, 5, 4],
    [6, 5, 4],
  ],
  [[6, 5, 4], [4], [6, 5, 4]],
  [
    [6, 5, 4],
    [5, 1],
    [6, 5, 4],
  ],
  [
    [6, 1, 4],
    [1, 5, 1],
    [6, 5, 4],
  ],
  [[6, 5, 4], [], [6, 5, 4]],
  [[], [2, 300], [2, 300]],
];

/** (x * y + z) stored, and also relu'd; x, y, z in `dtype` with a bias-like broadcast z. */
const chainSpec = (dtype: DType): FusedSpec => ({
  inputs: [
    { shape: [9, 7, 16], dtype },
    { shape: [9, 7, 16], dtype },
    { shape: [16], dtype },
  ],
  shape: [9, 7, 16],
  exprs: [
    { kind: 'input', input: 0, dtype },
    { kind: 'input', input: 1, dtype },
    { kind: 'binary', op: 'mul', a: 0, b: 1, dtype },
    { kind: 'input', input: 2, dtype },
    { kind: 'binary', op: 'add', a: 2, b: 3, dtype },
    { kind: 'unary', op: 'relu', a: 4, dtype },
    { kind: 'cast', a: 5, dtype: 'float32' },
  ],
  stores: [4, 6],
});

const reduceSpec = (
  op: (typeof REDUCE_OPS)[number],
  dtype: DType,
  shape: number[],
  axes: number[],
): FusedSpec => ({
  inputs: [
    { shape, dtype },
    { shape: shape.slice(-1), dtype },
  ],
  shape,
  exprs: [
    { kind: 'input', input: 0, dtype },
    { kind: 'input', input: 1, dtype },
    { kind: 'binary', op: 'mul', a: 0, b: 1, dtype },
  ],
  stores: [],
  reduce: { op, expr: 2, axes, shape: shape.filter((_, i) => !axes.includes(i)), dtype },
});

const inputsOf = (spec: FusedSpec, seed: number, lo = -3, hi = 3) =>
  spec.inputs.map((inp, k) => values(inp.shape, inp.dtype, seed + k, lo, hi));

describe.skipIf(!fused)('native fused kernels match the JavaScript kernels', () => {
  it('every unary op in every float dtype', () => {
    for (const dtype of FLOATS)
      for (const op of UNARY_OPS) {
        const spec = unarySpec(op, dtype, [7, 37]);
        const ins = inputsOf(spec, 3, op === 'log' || op === 'sqrt' || op === 'rsqrt' ? 0 : -3);
        compare(spec, ins, INEXACT.has(op) ? 1 : 0, `${op} ${dtype}`);
      }
  });

  it('every binary op in every float dtype, over every broadcast pattern', () => {
    for (const dtype of FLOATS)
      for (const op of BINARY_OPS)
        BROADCASTS.forEach((shapes, j) => {
          const spec = binarySpec(op, dtype, shapes);
          compare(
            spec,
            inputsOf(spec, 10 * j),
            INEXACT.has(op) ? 1 : 0,
            `${op} ${dtype} ${JSON.stringify(shapes)}`,
          );
        });
  });

  it('where with a broadcast condition, and casts between all formats', () => {
    for (const dtype of FLOATS) {
      const spec: FusedSpec = {
        inputs: [
          { shape: [5, 1], dtype: 'bool' },
          { shape: [6, 5, 4], dtype },
          { shape: [4], dtype },
        ],
        shape: [6, 5, 4],
        exprs: [
          { kind: 'input', input: 0, dtype: 'bool' },
          { kind: 'input', input: 1, dtype },
          { kind: 'input', input: 2, dtype },
          { kind: 'where', cond: 0, a: 1, b: 2, dtype },
        ],
        stores: [3],
      };
      compare(spec, inputsOf(spec, 5), 0, `where ${dtype}`);
    }
    for (const from of [...FLOATS, 'bool'] as DType[])
      for (const to of [...FLOATS, 'bool'] as DType[]) {
        const spec: FusedSpec = {
          inputs: [{ shape: [300], dtype: from }],
          shape: [300],
          exprs: [
            { kind: 'input', input: 0, dtype: from },
            { kind: 'cast', a: 0, dtype: to },
          ],
          stores: [1],
        };
        compare(spec, inputsOf(spec, 8, -1e5, 1e5), 0, `cast ${from} -> ${to}`);
      }
  });

  it('chains round per op in float16 and keep bfloat16 at float32 precision until stored', () => {
    for (const dtype of FLOATS) {
      const spec = chainSpec(dtype);
      compare(spec, inputsOf(spec, 21), 0, `chain ${dtype}`);
    }
  });

  it('every reduction over leading, middle, trailing and all axes', () => {
    const groups = [[0], [1, 2], [3], [2, 3], [0, 1, 2, 3], []];
    for (const dtype of FLOATS)
      for (const op of REDUCE_OPS)
        for (const axes of groups) {
          const spec = reduceSpec(op, dtype, [3, 4, 5, 6], axes);
          const lo = op === 'prod' ? 0.5 : -3;
          compare(spec, inputsOf(spec, 2, lo, lo + 1.5), 1, `${op} ${dtype} axes ${axes}`);
        }
  });

  it('splits large domains over threads (elementwise and reductions)', () => {
    const big: FusedSpec = chainSpec('float32');
    const shape = [300, 70, 16];
    big.inputs = big.inputs.map((inp) => ({ ...inp, shape: inp.shape.length === 1 ? [16] : shape }));
    big.shape = shape;
    compare(big, inputsOf(big, 4), 0, 'chain 336000');
    for (const axes of [[0], [1], [0, 1], [2], [1, 2]])
      for (const op of ['sum', 'max'] as const)
        compare(
          reduceSpec(op, 'float32', shape, axes),
          inputsOf(reduceSpec(op, 'float32', shape, axes), 6),
          1,
          `${op} ${axes}`,
        );
  });

  it('writes a store into a reused input buffer', () => {
    const spec = chainSpec('bfloat16');
    const ins = inputsOf(spec, 30);
    const want = compileFusedJs(spec).run(ins, []);
    const x = ins[0].slice();
    const outs = compileFusedNative(spec, fused!)!.run([x, ins[1], ins[2]], [x, null]);
    expect(outs[0]).toBe(x);
    expectSame(outs[0], want[0], 'bfloat16', 0, 'reused');
    expectSame(outs[1], want[1], 'float32', 0, 'fresh');
  });

  it('declines int32 specs (they stay with JavaScript)', () => {
    const spec = binarySpec('add', 'int32', BROADCASTS[0]);
    expect(encodeFused(spec)).toBeNull();
  });

  it('rejects malformed programs and mismatched arrays, naming them', () => {
    const spec = binarySpec('add', 'float32', BROADCASTS[1]);
    const prog = encodeFused(spec)!;
    const a = new Float32Array(120);
    const b = new Float32Array(4);
    expect(() => fused!(prog, [a, b], [new Float32Array(120)])).not.toThrow();
    expect(() => fused!(new Int32Array([1, 2, 3]), [a, b], [a])).toThrow(/not a fused-kernel program/);
    const cut = prog.slice(0, prog.length - 1);
    expect(() => fused!(cut, [a, b], [a])).toThrow(/program has \d+ ints/);
    expect(() => fused!(prog, [a], [a])).toThrow(/takes 2 inputs and 1 outputs, got 1 and 1/);
    expect(() => fused!(prog, [a, new Uint16Array(4)], [a])).toThrow(/input 1 must be a Float32Array/);
    expect(() => fused!(prog, [a, new Float32Array(3)], [a])).toThrow(
      /input 1 has 3 elements, the program reads 4/,
    );
    expect(() => fused!(prog, [a, b], [new Float32Array(119)])).toThrow(/output 0 has 119 elements/);
    const badOp = prog.slice();
    badOp[prog.length - 1 - 6 + 1] = 99; // the binary expression's op code
    expect(() => fused!(badOp, [a, b], [a])).toThrow(/expression 2 is malformed/);
  });
});

describe.skipIf(!fused || !nativeMixedExpected || process.arch !== 'x64')(
  'native fused kernels per instruction set',
  () => {
    it('AVX2 and portable builds give the AVX-512 results bit for bit, on 3 threads', () => {
      const specs: FusedSpec[] = [
        ...UNARY_OPS.map((op) => unarySpec(op, 'float16', [7, 37])),
        ...BINARY_OPS.map((op) => binarySpec(op, 'bfloat16', BROADCASTS[3])),
        ...FLOATS.map(chainSpec),
        ...REDUCE_OPS.map((op) => reduceSpec(op, 'float32', [40, 30, 50], [0, 1])),
        reduceSpec('mean', 'float16', [300, 200], [1]),
      ];
      const calls = specs.map((spec, i) => {
        const outs = [
          ...spec.stores.map((e) => values(spec.shape, spec.exprs[e].dtype, 0)),
          ...(spec.reduce ? [values(spec.reduce.shape, spec.reduce.dtype, 0)] : []),
        ];
        return { fn: 'fused' as const, args: [encodeFused(spec)!, inputsOf(spec, i), outs], outputs: [2] };
      });
      const here = calls.map((c) => {
        fused!(...(c.args as Parameters<NonNullable<typeof fused>>));
        return c.args[2] as WireArray[];
      });
      for (const isa of ['avx2', 'portable']) {
        const res = runInChild(calls, { KEEL_GEMM_ISA: isa, KEEL_NUM_THREADS: '3' });
        expect(res.info.isa).toBe(isa);
        // bit for bit, except that a NaN's sign may differ (operand order of vector instructions)
        here.forEach((outs, i) => {
          const spec = specs[i];
          const dtypes = [
            ...spec.stores.map((e) => spec.exprs[e].dtype),
            ...(spec.reduce ? [spec.reduce.dtype] : []),
          ];
          outs.forEach((o, k) => {
            const got = (res.results[i][0] as WireArray[])[k] as Storage;
            const what = `${isa} spec ${i} output ${k}`;
            expect(Array.from(asNumbers(got, dtypes[k])), what).toEqual(
              Array.from(asNumbers(o as Storage, dtypes[k])),
            );
          });
        });
      }
    });
  },
);

describe.skipIf(!fused)('native fused kernels on random programs', () => {
  it('match the JavaScript kernels on 300 random specs (and on 20 large ones split over threads)', () => {
    for (let seed = 1; seed <= 320; seed++) {
      const big = seed > 300;
      const spec = randomSpec(seed, big);
      const lo = spec.reduce?.op === 'prod' ? 0.9 : -2;
      compare(
        spec,
        inputsOf(spec, seed, lo, lo + 2.2),
        spec.reduce ? 1 : 0,
        `seed ${seed} ${JSON.stringify(spec)}`,
      );
    }
  });
});
