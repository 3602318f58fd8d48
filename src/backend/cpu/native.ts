// Loads the optional native addon once. Absent or broken addons fall back to JavaScript kernels.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Conv2DInfo } from '../primitives.js';

/**
 * The C++ addon's surface (native/gemm.cc). Float32 operands are Float32Arrays, bfloat16/float16
 * ones Uint16Arrays; offsets and strides in elements.
 */
export interface NativeKernels {
  /**
   * `types` (default 0: all float32) = aType | bType << 2 | cType << 4, codes in NATIVE_DTYPE.
   * Addons built before 16-bit support take exactly 19 arguments (see hasMixed()).
   */
  gemm(
    a: Float32Array | Uint16Array,
    aOffset: number,
    lda: number,
    strideA: number,
    transA: boolean,
    b: Float32Array | Uint16Array,
    bOffset: number,
    ldb: number,
    strideB: number,
    transB: boolean,
    c: Float32Array | Uint16Array,
    cOffset: number,
    ldc: number,
    strideC: number,
    batch: number,
    M: number,
    N: number,
    K: number,
    accumulate: boolean,
    types?: number,
  ): void;
  /**
   * NHWC conv2d: op 0 forward (x, w) -> y, 1 input gradient (dy, w) -> dx, 2 filter gradient
   * (x, dy) -> dw; `types` codes (in1, in2, out) as for gemm. Absent from older addons.
   */
  conv2d?: WindowKernel<0 | 1 | 2>;
  /**
   * Runs a fused elementwise program (native/fused.h; built by src/backend/cpu/fused-native.ts) over
   * storage arrays: the outputs are the program's stores, then its reduction. Absent from older addons.
   */
  fused?(program: Int32Array, inputs: readonly object[], outputs: readonly object[]): void;
  /** The generated fused kernels `names` of a shared library (src/backend/cpu/kernel-compiler.ts). */
  codegenLoad?(path: string, names: readonly string[]): object[];
  /** As fused, with a kernel of codegenLoad compiled from that program (no reduction). */
  fusedGenerated?(
    kernel: object,
    program: Int32Array,
    inputs: readonly object[],
    outputs: readonly object[],
  ): void;
  /**
   * NHWC pooling (native/pool.h): op 0 max (x) -> y, 1 max gradient (dy, x) -> dx, 2 average (x) -> y,
   * 3 average gradient (dy) -> dx; `types` codes (in1, in2, out) as for gemm; the geometry of a
   * convolution with outC = inC. Absent from older addons.
   */
  pool2d?: WindowKernel<0 | 1 | 2 | 3>;
  /** The strided copy of src/backend/cpu/layout.ts between typed arrays of one type. Absent from older addons. */
  copyStrided?(
    src: object,
    srcOffset: number,
    srcStrides: readonly number[],
    dst: object,
    dstOffset: number,
    dstStrides: readonly number[],
    shape: readonly number[],
  ): void;
  info(): { isa: string; threads: number; bf16?: string };
}

/** A window op's geometry as the addon's conv2d and pool2d take it. */
export type ConvGeometry = [
  batch: number,
  inH: number,
  inW: number,
  inC: number,
  outH: number,
  outW: number,
  outC: number,
  kH: number,
  kW: number,
  strideH: number,
  strideW: number,
  dilationH: number,
  dilationW: number,
  padTop: number,
  padLeft: number,
];

export function convGeometry(i: Conv2DInfo): ConvGeometry {
  return [
    i.batch,
    i.inH,
    i.inW,
    i.inC,
    i.outH,
    i.outW,
    i.outC,
    i.kH,
    i.kW,
    i.strideH,
    i.strideW,
    i.dilationH,
    i.dilationW,
    i.padTop,
    i.padLeft,
  ];
}

/** conv2d and pool2d: an op code, two operands and the output (as stored), their types, the geometry. */
export type WindowKernel<Op extends number> = (
  op: Op,
  in1: Float32Array | Uint16Array,
  in2: Float32Array | Uint16Array,
  out: Float32Array | Uint16Array,
  types: number,
  ...geometry: ConvGeometry
) => void;

/** The addon's operand format codes. */
export const NATIVE_DTYPE = { float32: 0, bfloat16: 1, float16: 2 } as const;

/** aType | bType << 2 | cType << 4. */
export function nativeTypes(
  a: keyof typeof NATIVE_DTYPE,
  b: keyof typeof NATIVE_DTYPE,
  c: keyof typeof NATIVE_DTYPE,
): number {
  return NATIVE_DTYPE[a] | (NATIVE_DTYPE[b] << 2) | (NATIVE_DTYPE[c] << 4);
}

let cached: NativeKernels | null | undefined;

/** The package root (this file is src/backend/cpu/ or dist/backend/cpu/ in it). */
export function packageRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

/** The addon path: build/keel_native.node at the package root. */
function addonPath(): string {
  return join(packageRoot(), 'build', 'keel_native.node');
}

export function loadNative(): NativeKernels | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.env.KEEL_NO_NATIVE) return cached;
  const path = addonPath();
  if (!existsSync(path)) return cached;
  try {
    cached = createRequire(import.meta.url)(path) as NativeKernels;
  } catch (err) {
    process.emitWarning(
      `keel: could not load native kernels at ${path} (${(err as Error).message}); using JavaScript.`,
    );
  }
  return cached;
}

/** The addon when it has 16-bit operands and convolutions (built from this version's sources). */
export function loadNativeMixed(): (NativeKernels & Required<Pick<NativeKernels, 'conv2d'>>) | null {
  const n = loadNative();
  return n && typeof n.conv2d === 'function'
    ? (n as NativeKernels & Required<Pick<NativeKernels, 'conv2d'>>)
    : null;
}
