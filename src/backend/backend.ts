// THE narrow waist: what a backend provides — buffers with explicit lifetime, and one kernel per primitive.

import type { DType, Storage } from '../dtype.js';
import type { Primitive, PrimitiveAttrs } from './primitives.js';

/** An opaque handle to a backend buffer (a typed array on CPU, a device pointer on GPU). */
export type DataId = object;

/** What a kernel sees of a tensor: its buffer, shape and dtype (always contiguous, row-major). */
export interface TensorInfo {
  dataId: DataId;
  shape: readonly number[];
  dtype: DType;
}

/** The output a kernel must produce, inferred and validated by the op layer before the call. */
export interface OutputSpec {
  shape: readonly number[];
  dtype: DType;
}

/**
 * A kernel returns the output buffer. Returning an input's dataId means "same bytes" (reshape):
 * the engine then shares that buffer between the two tensors.
 */
export type Kernel<P extends Primitive> = (
  inputs: readonly TensorInfo[],
  attrs: PrimitiveAttrs[P],
  out: OutputSpec,
) => DataId;

export type KernelTable = { [P in Primitive]: Kernel<P> };

export interface BackendMemory {
  /** bytes of live buffers */
  numBytes: number;
  /** high-water mark of numBytes since start or the last resetPeak */
  peakBytes: number;
  numBuffers: number;
}

export interface Backend {
  readonly name: string;
  /** human-readable device, e.g. 'AMD EPYC (2 threads, native AVX-512 GEMM)' */
  readonly device: string;
  readonly kernels: KernelTable;
  /** Copies `values` (already in the dtype's storage format) into a new buffer. */
  write(values: Storage, dtype: DType): DataId;
  /** The buffer's contents as storage; may complete asynchronously on devices. */
  read(dataId: DataId, dtype: DType): Promise<Storage>;
  readSync(dataId: DataId, dtype: DType): Storage;
  disposeData(dataId: DataId): void;
  memory(): BackendMemory;
  resetPeak(): void;
  /**
   * A deferring backend (the JIT's tracer) runs over another backend: it accepts that backend's
   * buffers as inputs and, once its work is done, hands its buffers over to it (see Engine.region).
   */
  readonly target?: Backend;
  /** After a deferred region: the target backend's buffer for one of this backend's data ids. */
  settle?(dataId: DataId): DataId;
}
