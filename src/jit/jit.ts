// jit(fn): runs fn traced — its primitives become a graph that is optimised, fused, planned and
// cached by structure, so later calls with the same shapes replay the compiled graph. Reads inside
// fn (dataSync) split the graph there; variable updates and random ops behave as in eager mode.
import { ENGINE } from '../tensor/engine.js';
import { type JitStats, TracingBackend } from './tracer.js';

export interface JitOptions {
  /** compiled graphs kept per jitted function (least recently used are dropped) */
  maxCached?: number;
}

export interface JittedFunction<A extends unknown[], R> {
  (...args: A): R;
  /** compiles, executions and the kernel count of the last execution */
  readonly stats: JitStats;
}

export function jit<A extends unknown[], R>(
  fn: (...args: A) => R,
  options: JitOptions = {},
): JittedFunction<A, R> {
  if (typeof fn !== 'function') throw new Error(`jit: expected a function, got ${typeof fn}`);
  const tracers = new Map<object, TracingBackend>();
  let lastStats: JitStats = { compiles: 0, executions: 0, lastKernels: 0, lastNodes: 0 };
  const jitted = ((...args: A): R => {
    const target = ENGINE.backend;
    // already inside a jitted call: just run (the outer trace records it)
    if (target instanceof TracingBackend) return fn(...args);
    let tracer = tracers.get(target);
    if (!tracer) {
      tracer = new TracingBackend(target, options.maxCached ?? 16);
      tracers.set(target, tracer);
    }
    lastStats = tracer.stats;
    const t = tracer;
    const out = ENGINE.region(t, () => {
      try {
        const r = fn(...args);
        t.flush();
        return r;
      } catch (err) {
        // compute what is still referenced (e.g. variables assigned before the error), then rethrow
        try {
          t.flush();
        } catch {
          t.discard();
        }
        throw err;
      }
    });
    if (out instanceof Promise)
      throw new Error('jit: the function must be synchronous (it returned a Promise)');
    return out;
  }) as JittedFunction<A, R>;
  Object.defineProperty(jitted, 'stats', { get: () => lastStats });
  return jitted;
}
