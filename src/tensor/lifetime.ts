// Explicit tensor lifetime (tfjs names): tidy, dispose, keep, memory; and backend selection.

import { collectTensors, ENGINE, type MemoryInfo } from './engine.js';
import type { Tensor } from './tensor.js';

/**
 * Runs fn and disposes every tensor it created except those it returns (arrays/objects of tensors
 * included) and those passed to keep(). fn must not return a Promise.
 */
export function tidy<T>(nameOrFn: string | (() => T), fn?: () => T): T {
  const f = typeof nameOrFn === 'function' ? nameOrFn : fn;
  if (typeof f !== 'function') throw new Error('tidy: expected a function');
  ENGINE.startScope();
  let result: T | undefined;
  try {
    result = f();
    if (result instanceof Promise)
      throw new Error('tidy: the function must be synchronous (it returned a Promise)');
    return result;
  } finally {
    ENGINE.endScope(result);
  }
}

/** Disposes a tensor, or every tensor in an array/object container. */
export function dispose(container: unknown): void {
  collectTensors(container, (t) => t.dispose());
}

/** Keeps a tensor created inside tidy() from being disposed when the scope ends. */
export function keep<T extends Tensor>(t: T): T {
  return ENGINE.keep(t);
}

/** Live tensors and bytes on the active backend, with the high-water mark of bytes. */
export function memory(): MemoryInfo {
  return ENGINE.memory();
}

/** Resets memory().peakBytes to the current usage (to measure one phase, e.g. one training run). */
export function resetPeakMemory(): void {
  ENGINE.resetPeak();
}

export async function setBackend(name: string): Promise<boolean> {
  return ENGINE.setBackend(name);
}

export function getBackend(): string {
  return ENGINE.backend.name;
}

export async function ready(): Promise<void> {
  void ENGINE.backend;
}

/** The active backend's device, e.g. 'AMD EPYC (native GEMM, avx512, 2 threads)'. */
export function getDevice(): string {
  return ENGINE.backend.device;
}
