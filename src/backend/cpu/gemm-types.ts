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

/** Element formats a GEMM operand may have: 16-bit floats are Uint16Array bit patterns. */
export type GemmDType = 'float32' | 'bfloat16' | 'float16';

/** A GEMM operand array: Float32Array for float32, Uint16Array for bfloat16/float16. */
export type GemmArray = Float32Array | Uint16Array;

/**
 * The same GEMM with each operand in its own format. Products accumulate in float32 (bfloat16 ×
 * bfloat16 on the AVX512-BF16 kernel where the CPU has it); a 16-bit C receives each float32 result
 * rounded to nearest even once (as src/dtype.ts rounds; accumulate: round(C + A·B)).
 */
export interface GemmMixedParams extends Omit<GemmParams, 'a' | 'b' | 'c'> {
  a: GemmArray;
  b: GemmArray;
  c: GemmArray;
  aType: GemmDType;
  bType: GemmDType;
  cType: GemmDType;
}

export interface GemmInfo {
  /** 'native' (C++ addon) or 'js' (portable fallback). */
  impl: 'native' | 'js';
  /** Instruction set the native float32 kernel dispatched to ('avx512', 'avx2', 'portable'), or 'js'. */
  isa: string;
  /**
   * How bfloat16 × bfloat16 products run: 'avx512bf16' (VDPBF16PS kernel on the 16-bit values),
   * 'convert' (widened to float32 while packing, float32 kernel) or 'js' (decoded in JavaScript).
   */
  bf16?: string;
  threads: number;
}
