// GEMM entry point of the CPU backend: the native multi-threaded kernel when it was built
// (build/keel_native.node, see scripts/build-native.mjs), else the JavaScript fallback.
// KEEL_NO_NATIVE=1 forces the fallback; KEEL_NUM_THREADS sets the native pool size.
import { loadNative } from './native.js';
import { gemmJs } from './gemm-js.js';
import type { GemmInfo, GemmParams } from './gemm-types.js';

export type { GemmInfo, GemmParams } from './gemm-types.js';

function checkParams(p: GemmParams): void {
  const span = (off: number, stride: number, rows: number, ld: number, cols: number) =>
    off + (p.batch - 1) * stride + (rows - 1) * ld + cols;
  const needA = p.transA ? span(p.aOffset, p.strideA, p.K, p.lda, p.M) : span(p.aOffset, p.strideA, p.M, p.lda, p.K);
  const needB = p.transB ? span(p.bOffset, p.strideB, p.N, p.ldb, p.K) : span(p.bOffset, p.strideB, p.K, p.ldb, p.N);
  const needC = span(p.cOffset, p.strideC, p.M, p.ldc, p.N);
  if (needA > p.a.length || needB > p.b.length || needC > p.c.length) {
    throw new Error(
      `gemm: buffers too small for batch=${p.batch} M=${p.M} N=${p.N} K=${p.K} ` +
        `(A needs ${needA}/${p.a.length}, B ${needB}/${p.b.length}, C ${needC}/${p.c.length})`,
    );
  }
}

export function gemm(p: GemmParams): void {
  if (p.batch === 0 || p.M === 0 || p.N === 0) return;
  checkParams(p);
  if (p.K === 0) {
    if (!p.accumulate) for (let b = 0; b < p.batch; b++) for (let i = 0; i < p.M; i++) {
      const at = p.cOffset + b * p.strideC + i * p.ldc;
      p.c.fill(0, at, at + p.N);
    }
    return;
  }
  const native = loadNative();
  if (native) {
    native.gemm(
      p.a, p.aOffset, p.lda, p.strideA, p.transA,
      p.b, p.bOffset, p.ldb, p.strideB, p.transB,
      p.c, p.cOffset, p.ldc, p.strideC,
      p.batch, p.M, p.N, p.K, p.accumulate,
    );
  } else {
    gemmJs(p);
  }
}

export function gemmInfo(): GemmInfo {
  const native = loadNative();
  if (!native) return { impl: 'js', isa: 'js', threads: 1 };
  const info = native.info();
  return { impl: 'native', isa: info.isa, threads: info.threads };
}
