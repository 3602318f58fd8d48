// Portable single-threaded GEMM in JavaScript: the fallback when the native kernels are not built.
// Packs op(A) and op(B) into contiguous row-major blocks, then runs an i-k-j loop over 4 rows at a
// time so each loaded row of B feeds four rows of C.
import type { GemmParams } from './gemm-types.js';

function packA(p: GemmParams, base: number, out: Float32Array): void {
  const { M, K, a, lda, transA } = p;
  if (!transA) {
    for (let i = 0; i < M; i++) out.set(a.subarray(base + i * lda, base + i * lda + K), i * K);
  } else {
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) out[i * K + k] = a[base + k * lda + i];
  }
}

function packB(p: GemmParams, base: number, out: Float32Array): void {
  const { N, K, b, ldb, transB } = p;
  if (!transB) {
    for (let k = 0; k < K; k++) out.set(b.subarray(base + k * ldb, base + k * ldb + N), k * N);
  } else {
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) out[k * N + j] = b[base + j * ldb + k];
  }
}

export function gemmJs(p: GemmParams): void {
  const { batch, M, N, K, c, ldc } = p;
  const A = new Float32Array(M * K);
  const B = new Float32Array(K * N);
  for (let bi = 0; bi < batch; bi++) {
    packA(p, p.aOffset + bi * p.strideA, A);
    packB(p, p.bOffset + bi * p.strideB, B);
    const cBase = p.cOffset + bi * p.strideC;
    if (!p.accumulate) for (let i = 0; i < M; i++) c.fill(0, cBase + i * ldc, cBase + i * ldc + N);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const c0 = cBase + i * ldc;
      const c1 = c0 + ldc;
      const c2 = c1 + ldc;
      const c3 = c2 + ldc;
      for (let k = 0; k < K; k++) {
        const a0 = A[i * K + k];
        const a1 = A[(i + 1) * K + k];
        const a2 = A[(i + 2) * K + k];
        const a3 = A[(i + 3) * K + k];
        const bk = k * N;
        for (let j = 0; j < N; j++) {
          const bv = B[bk + j];
          c[c0 + j] += a0 * bv;
          c[c1 + j] += a1 * bv;
          c[c2 + j] += a2 * bv;
          c[c3 + j] += a3 * bv;
        }
      }
    }
    for (; i < M; i++) {
      const ci = cBase + i * ldc;
      for (let k = 0; k < K; k++) {
        const av = A[i * K + k];
        const bk = k * N;
        for (let j = 0; j < N; j++) c[ci + j] += av * B[bk + j];
      }
    }
  }
}
