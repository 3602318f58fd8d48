/**
 * One batched row-major float32 GEMM: for each b < batch,
 * C_b[M,N] (+)= op(A_b)[M,K] · op(B_b)[K,N], where op transposes when transA/transB.
 * A_b starts at aOffset + b*strideA with leading dimension lda (elements between rows as stored);
 * a stride of 0 broadcasts one matrix over the batch.
 */
export interface GemmParams {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  a: Float32Array;
  aOffset: number;
  lda: number;
  strideA: number;
  b: Float32Array;
  bOffset: number;
  ldb: number;
  strideB: number;
  c: Float32Array;
  cOffset: number;
  ldc: number;
  strideC: number;
  /** Add into C instead of overwriting it. */
  accumulate: boolean;
}

export interface GemmInfo {
  /** 'native' (C++ addon) or 'js' (portable fallback). */
  impl: 'native' | 'js';
  /** Instruction set the native kernel dispatched to ('avx512', 'avx2', 'portable'), or 'js'. */
  isa: string;
  threads: number;
}
