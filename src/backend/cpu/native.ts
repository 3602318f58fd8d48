// Loads the optional native addon once. Absent or broken addons fall back to JavaScript kernels.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The C++ addon's surface (native/*.cc). All arrays are float32; offsets and strides in elements. */
export interface NativeKernels {
  gemm(
    a: Float32Array, aOffset: number, lda: number, strideA: number, transA: boolean,
    b: Float32Array, bOffset: number, ldb: number, strideB: number, transB: boolean,
    c: Float32Array, cOffset: number, ldc: number, strideC: number,
    batch: number, M: number, N: number, K: number, accumulate: boolean,
  ): void;
  info(): { isa: string; threads: number };
}

let cached: NativeKernels | null | undefined;

/** The addon path: build/keel_native.node at the package root (src/... or dist/... are 3 levels down). */
function addonPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', '..', 'build', 'keel_native.node');
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
    process.emitWarning(`keel: could not load native kernels at ${path} (${(err as Error).message}); using JavaScript.`);
  }
  return cached;
}
