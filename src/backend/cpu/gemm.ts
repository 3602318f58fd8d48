// GEMM entry point of the CPU backend: the native multi-threaded kernel when it was built
// (build/keel_native.node, see scripts/build-native.mjs), else the JavaScript fallback.
// KEEL_NO_NATIVE=1 forces the fallback; KEEL_NUM_THREADS sets the native pool size.
//
// gemm() is float32; gemmMixed() takes each operand as float32, bfloat16 or float16 storage: the
// native kernel reads 16-bit operands directly (the AVX512-BF16 kernel for bfloat16 pairs, else
// conversion while packing) and rounds a 16-bit C once; the fallback decodes, runs the float32
// JavaScript GEMM and encodes with src/dtype.ts.
import { decodeBfloat16, decodeFloat16, float32ToBfloat16Bits, float32ToFloat16Bits } from '../../dtype.js';
import { gemmJs } from './gemm-js.js';
import type { GemmArray, GemmDType, GemmInfo, GemmMixedParams, GemmParams } from './gemm-types.js';
import { loadNative, loadNativeMixed, nativeTypes } from './native.js';

export type { GemmArray, GemmDType, GemmInfo, GemmMixedParams, GemmParams } from './gemm-types.js';

function checkParams(
  p: Omit<GemmParams, 'a' | 'b' | 'c'> & { a: GemmArray; b: GemmArray; c: GemmArray },
): void {
  const span = (off: number, stride: number, rows: number, ld: number, cols: number) =>
    off + (p.batch - 1) * stride + (rows - 1) * ld + cols;
  const needA = p.transA
    ? span(p.aOffset, p.strideA, p.K, p.lda, p.M)
    : span(p.aOffset, p.strideA, p.M, p.lda, p.K);
  const needB = p.transB
    ? span(p.bOffset, p.strideB, p.N, p.ldb, p.K)
    : span(p.bOffset, p.strideB, p.K, p.ldb, p.N);
  const needC = span(p.cOffset, p.strideC, p.M, p.ldc, p.N);
  if (needA > p.a.length || needB > p.b.length || needC > p.c.length) {
    throw new Error(
      `gemm: buffers too small for batch=${p.batch} M=${p.M} N=${p.N} K=${p.K} ` +
        `(A needs ${needA}/${p.a.length}, B ${needB}/${p.b.length}, C ${needC}/${p.c.length})`,
    );
  }
}

/** K = 0: C is zeroed (or left as is when accumulating). */
function zeroC(p: Omit<GemmParams, 'a' | 'b' | 'c'> & { c: GemmArray }): void {
  if (p.accumulate) return;
  for (let b = 0; b < p.batch; b++)
    for (let i = 0; i < p.M; i++) {
      const at = p.cOffset + b * p.strideC + i * p.ldc;
      p.c.fill(0, at, at + p.N);
    }
}

/** The addon's positional arguments for one GEMM (see native.ts), shared by both entry points. */
function nativeArgs<A, B, C>(p: {
  a: A;
  aOffset: number;
  lda: number;
  strideA: number;
  transA: boolean;
  b: B;
  bOffset: number;
  ldb: number;
  strideB: number;
  transB: boolean;
  c: C;
  cOffset: number;
  ldc: number;
  strideC: number;
  batch: number;
  M: number;
  N: number;
  K: number;
  accumulate: boolean;
}) {
  return [
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
  ] as const;
}

export function gemm(p: GemmParams): void {
  if (p.batch === 0 || p.M === 0 || p.N === 0) return;
  checkParams(p);
  if (p.K === 0) {
    zeroC(p);
    return;
  }
  const native = loadNative();
  if (native) {
    native.gemm(...nativeArgs(p));
  } else {
    gemmJs(p);
  }
}

function checkStorage(x: GemmArray, t: GemmDType, name: string): void {
  const ok = t === 'float32' ? x instanceof Float32Array : x instanceof Uint16Array;
  if (!ok)
    throw new Error(`gemm: ${name} must be a ${t === 'float32' ? 'Float32Array' : 'Uint16Array'} for ${t}`);
}

function asFloat32(x: GemmArray, t: GemmDType): Float32Array {
  if (t === 'float32') return x as Float32Array;
  return t === 'bfloat16' ? decodeBfloat16(x as Uint16Array) : decodeFloat16(x as Uint16Array);
}

/** gemm() with operands in any of the float formats (see GemmMixedParams). */
export function gemmMixed(p: GemmMixedParams): void {
  checkStorage(p.a, p.aType, 'a');
  checkStorage(p.b, p.bType, 'b');
  checkStorage(p.c, p.cType, 'c');
  if (p.aType === 'float32' && p.bType === 'float32' && p.cType === 'float32') {
    gemm(p as unknown as GemmParams);
    return;
  }
  if (p.batch === 0 || p.M === 0 || p.N === 0) return;
  checkParams(p);
  if (p.K === 0) {
    zeroC(p);
    return;
  }
  const native = loadNativeMixed();
  if (native) {
    native.gemm(...nativeArgs(p), nativeTypes(p.aType, p.bType, p.cType));
    return;
  }
  // Fallback: float32 copies, the float32 GEMM (the native one for a legacy addon), then rounding.
  const c32 = p.cType === 'float32' ? (p.c as Float32Array) : asFloat32(p.c, p.cType);
  gemm({ ...p, a: asFloat32(p.a, p.aType), b: asFloat32(p.b, p.bType), c: c32 });
  if (p.cType === 'float32') return;
  const c16 = p.c as Uint16Array;
  const enc = p.cType === 'bfloat16' ? float32ToBfloat16Bits : float32ToFloat16Bits;
  for (let b = 0; b < p.batch; b++)
    for (let i = 0; i < p.M; i++) {
      const at = p.cOffset + b * p.strideC + i * p.ldc;
      for (let j = at; j < at + p.N; j++) c16[j] = enc(c32[j]);
    }
}

export function gemmInfo(): GemmInfo {
  const native = loadNative();
  if (!native) return { impl: 'js', isa: 'js', bf16: 'js', threads: 1 };
  const info = native.info();
  return { impl: 'native', isa: info.isa, bf16: info.bf16 ?? 'js', threads: info.threads };
}
