// GEMM with 16-bit operands (gemmMixed): bfloat16 × bfloat16 (the AVX512-BF16 kernel where the CPU has
// it), float16, float32 operands with a 16-bit result, and mixed formats — against a float64
// reference computed from the exact values the 16-bit inputs hold. A 16-bit C must be, bit for bit,
// src/dtype.ts's rounding of the float32 result of the same call with a float32 C. The lesser
// kernels (bfloat16 by conversion, AVX2, portable) are forced in child processes.

import { describe, expect, it } from 'vitest';
import {
  type GemmArray,
  type GemmDType,
  type GemmMixedParams,
  gemmInfo,
  gemmMixed,
} from '../../src/backend/cpu/gemm.js';
import { nativeTypes } from '../../src/backend/cpu/native.js';
import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from '../../src/dtype.js';
import { seededFloats } from '../helpers.js';
import { type ChildCall, cpuHasAvx512Bf16, nativeMixedExpected, runInChild } from './native-child.js';

const decode = (t: GemmDType) =>
  t === 'float32' ? (x: number) => x : t === 'bfloat16' ? bfloat16BitsToFloat32 : float16BitsToFloat32;
const encode = (t: '16' | GemmDType) => (t === 'bfloat16' ? float32ToBfloat16Bits : float32ToFloat16Bits);

function seededArray(n: number, t: GemmDType, seed: number): GemmArray {
  const v = seededFloats(n, seed);
  if (t === 'float32') return Float32Array.from(v);
  const enc = encode(t);
  return Uint16Array.from(v, (x) => enc(x));
}

/** Value i of an operand array as a number. */
function valueAt(x: GemmArray, t: GemmDType, i: number): number {
  return t === 'float32' ? x[i] : decode(t)(x[i]);
}

interface Spec {
  M: number;
  N: number;
  K: number;
  types: [GemmDType, GemmDType, GemmDType];
  transA?: boolean;
  transB?: boolean;
  batch?: number;
  accumulate?: boolean;
  pad?: number;
  offset?: number;
  strideA?: 'packed' | 'broadcast';
  strideB?: 'packed' | 'broadcast';
  seed: number;
}

function makeCase(s: Spec): GemmMixedParams {
  const [aType, bType, cType] = s.types;
  const transA = s.transA ?? false;
  const transB = s.transB ?? false;
  const batch = s.batch ?? 1;
  const pad = s.pad ?? 0;
  const off = s.offset ?? 0;
  const lda = (transA ? s.M : s.K) + pad;
  const ldb = (transB ? s.K : s.N) + (pad ? pad + 1 : 0);
  const ldc = s.N + pad;
  const spanA = (transA ? s.K : s.M) * lda;
  const spanB = (transB ? s.N : s.K) * ldb;
  const spanC = s.M * ldc;
  const strideA = s.strideA === 'broadcast' ? 0 : spanA + pad;
  const strideB = s.strideB === 'broadcast' ? 0 : spanB + pad;
  const strideC = spanC + pad;
  return {
    batch,
    M: s.M,
    N: s.N,
    K: s.K,
    transA,
    transB,
    accumulate: s.accumulate ?? false,
    a: seededArray(off + (batch - 1) * strideA + spanA + 3, aType, s.seed),
    aOffset: off,
    lda,
    strideA,
    b: seededArray(off + 1 + (batch - 1) * strideB + spanB + 3, bType, s.seed + 1),
    bOffset: off + 1,
    ldb,
    strideB,
    c: seededArray(off + 2 + (batch - 1) * strideC + spanC + 3, cType, s.seed + 2),
    cOffset: off + 2,
    ldc,
    strideC,
    aType,
    bType,
    cType,
  };
}

interface Reference {
  want: Float64Array;
  scale: Float64Array;
  written: Uint8Array;
}

function reference(p: GemmMixedParams): Reference {
  const n = p.c.length;
  const want = new Float64Array(n);
  for (let i = 0; i < n; i++) want[i] = valueAt(p.c, p.cType, i);
  const scale = want.map(Math.abs);
  const written = new Uint8Array(n);
  const A = Float64Array.from({ length: p.a.length }, (_, i) => valueAt(p.a, p.aType, i));
  const B = Float64Array.from({ length: p.b.length }, (_, i) => valueAt(p.b, p.bType, i));
  const [sai, sak] = p.transA ? [1, p.lda] : [p.lda, 1];
  const [sbk, sbj] = p.transB ? [1, p.ldb] : [p.ldb, 1];
  for (let bi = 0; bi < p.batch; bi++) {
    const a0 = p.aOffset + bi * p.strideA;
    const b0 = p.bOffset + bi * p.strideB;
    const c0 = p.cOffset + bi * p.strideC;
    for (let i = 0; i < p.M; i++) {
      for (let j = 0; j < p.N; j++) {
        let s = 0;
        let sc = 0;
        for (let k = 0; k < p.K; k++) {
          const prod = A[a0 + i * sai + k * sak] * B[b0 + k * sbk + j * sbj];
          s += prod;
          sc += Math.abs(prod);
        }
        const at = c0 + i * p.ldc + j;
        want[at] = (p.accumulate ? want[at] : 0) + s;
        scale[at] = (p.accumulate ? scale[at] : 0) + sc;
        written[at] = 1;
      }
    }
  }
  return { want, scale, written };
}

/**
 * Relative error in norm over the written elements (relative to |op(A)|·|op(B)| (+|C|)):
 * float32 accumulation, 1e-5·sqrt(K) + 1e-6, plus the output rounding for a 16-bit C. Everything
 * else in C is bit-identical.
 */
function expectMatches(
  got: GemmArray,
  before: GemmArray,
  p: GemmMixedParams,
  ref: Reference,
  what: string,
): void {
  let num = 0;
  let den = 0;
  let changed = -1;
  for (let i = 0; i < got.length; i++) {
    if (ref.written[i]) {
      num += (valueAt(got, p.cType, i) - ref.want[i]) ** 2;
      den += ref.scale[i] ** 2;
    } else if (!Object.is(got[i], before[i]) && changed < 0) {
      changed = i;
    }
  }
  expect(changed, `${what}: element ${changed} outside C was modified`).toBe(-1);
  const rel = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
  const round = p.cType === 'bfloat16' ? 2 ** -8 : p.cType === 'float16' ? 2 ** -10 : 0;
  const tol = 1e-5 * Math.sqrt(p.K) + 1e-6 + round;
  expect(rel, `${what}: relative error ${rel} > ${tol}`).toBeLessThanOrEqual(tol);
}

/** A 16-bit C equals, bit for bit, the rounding (src/dtype.ts) of the float32 C of the same call. */
function expectRoundingExact(
  c16: Uint16Array,
  c32: Float32Array,
  p: GemmMixedParams,
  ref: Reference,
  what: string,
): void {
  const enc = encode(p.cType);
  let bad = -1;
  for (let i = 0; i < c16.length && bad < 0; i++) if (ref.written[i] && c16[i] !== enc(c32[i])) bad = i;
  expect(
    bad,
    bad < 0
      ? ''
      : `${what}: element ${bad} is 0x${c16[bad].toString(16)}, rounding of ${c32[bad]} is 0x${enc(c32[bad]).toString(16)}`,
  ).toBe(-1);
}

/** The same call with a float32 C holding C's values (decoded). */
function withF32C(p: GemmMixedParams): GemmMixedParams {
  return {
    ...p,
    c: Float32Array.from({ length: p.c.length }, (_, i) => valueAt(p.c, p.cType, i)),
    cType: 'float32',
  };
}

const label = (s: Spec) => JSON.stringify({ ...s, impl: gemmInfo().impl, bf16: gemmInfo().bf16 });

function check(s: Spec): void {
  const p = makeCase(s);
  const ref = reference(p);
  const c = p.c.slice();
  gemmMixed({ ...p, c });
  expectMatches(c, p.c, p, ref, `gemmMixed ${label(s)}`);
  if (p.cType !== 'float32' && !p.accumulate) {
    const q = withF32C(p);
    gemmMixed(q);
    expectMatches(q.c, withF32C(p).c, q, ref, `gemmMixed float32 C ${label(s)}`);
    expectRoundingExact(c as Uint16Array, q.c as Float32Array, p, ref, label(s));
  }
}

const TYPE_SETS: Array<[GemmDType, GemmDType, GemmDType]> = [
  ['bfloat16', 'bfloat16', 'bfloat16'],
  ['bfloat16', 'bfloat16', 'float32'],
  ['float16', 'float16', 'float16'],
  ['float16', 'float16', 'float32'],
  ['float32', 'float32', 'bfloat16'],
  ['float32', 'float32', 'float16'],
  ['bfloat16', 'float32', 'float32'],
  ['float16', 'bfloat16', 'bfloat16'],
];
const combos: Array<[boolean, boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

describe('gemmMixed vs float64 reference of the exact 16-bit inputs', () => {
  // K spans: odd, one block, several blocks of the bfloat16 kernel (KC 512) and of float32 (KC 256)
  const sizes: Array<[number, number, number]> = [
    [1, 1, 1],
    [3, 5, 7],
    [1, 37, 19],
    [23, 1, 40],
    [17, 33, 65],
    [14, 32, 256],
    [15, 16, 17],
    [29, 47, 513],
    [45, 70, 1031],
  ];
  for (const types of TYPE_SETS) {
    it(`${types.join(' x ')} -> C: all transposes, accumulate, offsets, padded leading dimensions`, () => {
      let seed = 1;
      for (const [M, N, K] of sizes)
        for (const [transA, transB] of combos) {
          seed += 7;
          check({
            M,
            N,
            K,
            types,
            transA,
            transB,
            accumulate: seed % 3 === 0,
            pad: seed % 2,
            offset: seed % 3,
            seed,
          });
        }
    });
  }

  it('batched, with broadcast A or B, and sizes that split across threads', () => {
    let seed = 500;
    for (const types of TYPE_SETS.slice(0, 4))
      for (const [transA, transB] of combos) {
        seed += 3;
        check({ M: 13, N: 41, K: 29, batch: 3, types, transA, transB, pad: 1, offset: 2, seed });
        check({
          M: 9,
          N: 35,
          K: 66,
          batch: 4,
          types,
          transA,
          transB,
          strideA: 'broadcast',
          accumulate: true,
          seed: seed + 1,
        });
        check({ M: 31, N: 7, K: 45, batch: 3, types, transA, transB, strideB: 'broadcast', seed: seed + 2 });
      }
    for (const types of TYPE_SETS.slice(0, 3))
      check({ M: 300, N: 200, K: 700, types, transB: true, seed: 99 });
  });

  it('matches a float32 C bit for bit after rounding, for special values (NaN payloads, Inf, subnormals, ties)', () => {
    // every bfloat16 high half, with low halves at and around the rounding tie
    const lows = [0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff, 0x1000, 0x2000];
    const n = 65536 * lows.length;
    const bits = new Uint32Array(n);
    for (let h = 0; h < 65536; h++)
      for (let l = 0; l < lows.length; l++) bits[h * lows.length + l] = ((h << 16) | lows[l]) >>> 0;
    const a = new Float32Array(bits.buffer);
    for (const cType of ['bfloat16', 'float16'] as const) {
      // C[i][0] = a[i] * 1 (K = 1): the float32 result is a[i] itself (NaNs quieted, -0 becomes +0)
      const p: GemmMixedParams = {
        batch: 1,
        M: n,
        N: 1,
        K: 1,
        transA: false,
        transB: false,
        accumulate: false,
        a,
        aOffset: 0,
        lda: 1,
        strideA: 0,
        b: new Float32Array([1]),
        bOffset: 0,
        ldb: 1,
        strideB: 0,
        c: new Uint16Array(n),
        cOffset: 0,
        ldc: 1,
        strideC: 0,
        aType: 'float32',
        bType: 'float32',
        cType,
      };
      gemmMixed(p);
      const q = { ...p, c: new Float32Array(n), cType: 'float32' as const };
      gemmMixed(q);
      const enc = encode(cType);
      let bad = -1;
      for (let i = 0; i < n && bad < 0; i++) if (p.c[i] !== enc(q.c[i])) bad = i;
      expect(
        bad,
        bad < 0
          ? ''
          : `${cType}: bits 0x${bits[bad].toString(16)} -> 0x${p.c[bad].toString(16)}, want 0x${enc(q.c[bad]).toString(16)}`,
      ).toBe(-1);
    }
  });

  it('rejects storage that does not match the declared formats', () => {
    const p = makeCase({ M: 2, N: 2, K: 2, types: ['bfloat16', 'bfloat16', 'bfloat16'], seed: 1 });
    expect(() => gemmMixed({ ...p, a: new Float32Array(p.a.length) })).toThrow(/Uint16Array/);
    expect(() => gemmMixed({ ...p, cType: 'float32' })).toThrow(/Float32Array/);
    expect(() => gemmMixed({ ...p, c: p.c.subarray(0, 3) })).toThrow(/buffers too small/);
  });
});

describe.skipIf(!nativeMixedExpected)('native 16-bit GEMM', () => {
  it('uses the AVX512-BF16 kernel exactly when the CPU has AVX512-BF16', () => {
    expect(gemmInfo().bf16).toBe(cpuHasAvx512Bf16() ? 'avx512bf16' : 'convert');
  });

  /** Cases run in a child with forced ISA / threads; outputs checked here. */
  const childCases = (): Array<{ p: GemmMixedParams; spec: Spec }> => {
    const out: Array<{ p: GemmMixedParams; spec: Spec }> = [];
    let seed = 9000;
    const shapes: Array<[number, number, number]> = [
      [1, 9, 33],
      [7, 1, 20],
      [5, 9, 3],
      [17, 33, 65],
      [29, 47, 513],
      [45, 70, 1031],
      [150, 120, 300],
    ];
    for (const types of TYPE_SETS.slice(0, 6))
      for (const [M, N, K] of shapes)
        for (const [transA, transB] of combos) {
          seed += 5;
          const spec: Spec = {
            M,
            N,
            K,
            types,
            transA,
            transB,
            batch: 2,
            accumulate: seed % 2 === 0,
            pad: 1,
            offset: 1,
            seed,
          };
          out.push({ p: makeCase(spec), spec });
        }
    return out;
  };
  const asCall = (p: GemmMixedParams): ChildCall => ({
    fn: 'gemm',
    args: [
      p.a,
      p.aOffset,
      p.lda,
      p.strideA,
      p.transA,
      p.b,
      p.bOffset,
      p.ldb,
      p.strideB,
      p.transB,
      p.c,
      p.cOffset,
      p.ldc,
      p.strideC,
      p.batch,
      p.M,
      p.N,
      p.K,
      p.accumulate,
      nativeTypes(p.aType, p.bType, p.cType),
    ],
    outputs: [10],
  });

  it.skipIf(process.arch !== 'x64')(
    'bfloat16 by conversion, AVX2 and portable kernels (forced in child processes)',
    () => {
      const cases = childCases();
      const refs = cases.map(({ p }) => reference(p));
      for (const isa of ['avx512', 'avx2', 'portable']) {
        const res = runInChild(
          cases.map(({ p }) => asCall(p)),
          { KEEL_GEMM_ISA: isa, KEEL_NUM_THREADS: '3' },
        );
        expect(res.info.bf16).toBe('convert');
        expect(res.info.threads).toBe(3);
        cases.forEach(({ p, spec }, i) => {
          expectMatches(res.results[i][0] as GemmArray, p.c, p, refs[i], `${isa} ${JSON.stringify(spec)}`);
        });
      }
    },
  );

  it('gives bitwise identical 16-bit results with 1 and 3 threads', () => {
    const cases = childCases().map(({ p }) => asCall(p));
    const big = makeCase({ M: 400, N: 300, K: 1100, types: ['bfloat16', 'bfloat16', 'bfloat16'], seed: 3 });
    cases.push(asCall(big));
    const one = runInChild(cases, { KEEL_NUM_THREADS: '1' });
    const three = runInChild(cases, { KEEL_NUM_THREADS: '3' });
    for (let i = 0; i < cases.length; i++)
      expect(Array.from(three.results[i][0])).toEqual(Array.from(one.results[i][0]));
  });
});
