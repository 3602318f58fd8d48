// The engine: the active backend, running primitives, tidy scopes, tensor lifetimes and the gradient tape.

import type { Backend, TensorInfo } from '../backend/backend.js';
import type { Primitive, PrimitiveAttrs } from '../backend/primitives.js';
import type { DType, Storage } from '../dtype.js';
import { BYTES_PER_ELEMENT, is16Bit, isFloatDType } from '../dtype.js';
import type { DataRef } from './tensor.js';
import { sizeOf, Tensor, Variable } from './tensor.js';

/** One recorded op: enough to run its gradient rule later. */
export interface TapeNode {
  prim: Primitive | 'custom';
  attrs: unknown;
  /** inputs' shapes/dtypes always; the tensors themselves only where the rule saved them */
  inputMeta: { shape: number[]; dtype: DType; id: number }[];
  saved: (Tensor | undefined)[];
  savedOutput: Tensor | undefined;
  outputId: number;
  outputMeta: { shape: number[]; dtype: DType };
  /** customGrad's gradient function */
  customGrad?: (dy: Tensor) => (Tensor | null)[];
}

/** What gradient rules need saved from the forward pass (decided per op). */
export type SavePolicy = (attrs: unknown) => { inputs: readonly number[]; output: boolean };

interface Tape {
  nodes: TapeNode[];
  /** tensor ids whose gradient is wanted or that depend on such tensors */
  watched: Set<number>;
}

export interface MemoryInfo {
  numTensors: number;
  numBytes: number;
  peakBytes: number;
  numDataBuffers: number;
  /**
   * The peak the same tensors would have reached stored as float32 (16-bit tensors counted at 4
   * bytes per element): what 16-bit storage saved is `peakBytesAsFloat32 - peakBytes`.
   */
  peakBytesAsFloat32: number;
}

/**
 * Automatic mixed precision at dispatch (like torch.autocast): for each primitive, the float dtype
 * its inputs and output should have (null: leave them), and a tally of what was cast.
 */
export interface AutocastHook {
  readonly dtype: 'float16' | 'bfloat16';
  target(prim: Primitive, attrs: unknown, inputs: readonly Tensor[]): DType | null;
  record(prim: Primitive, attrs: unknown): void;
}

/** Hook the JIT uses to observe primitives as they run. */
export interface RunObserver {
  onRun(prim: Primitive, inputs: readonly Tensor[], attrs: unknown, output: Tensor): void;
}

class Engine {
  private backends = new Map<string, () => Promise<Backend> | Backend>();
  private instances = new Map<string, Backend>();
  private active: Backend | null = null;
  private scopes: Tensor[][] = [];
  private tapes: Tape[] = [];
  private liveTensors = 0;
  private variables = new Map<string, Variable>();
  /** set while an autocast region runs (see src/mixed/autocast.ts) */
  autocast: AutocastHook | null = null;
  /** live bytes and their peak counting 16-bit tensors at float32 size (for precision reports) */
  private f32Bytes = 0;
  private f32Peak = 0;
  private savePolicies: Partial<Record<Primitive, SavePolicy>> = {};
  observer: RunObserver | null = null;

  registerBackend(name: string, factory: () => Promise<Backend> | Backend): void {
    this.backends.set(name, factory);
  }

  registerSavePolicies(p: Partial<Record<Primitive, SavePolicy>>): void {
    this.savePolicies = p;
  }

  async setBackend(name: string): Promise<boolean> {
    const factory = this.backends.get(name);
    if (!factory)
      throw new Error(
        `setBackend: unknown backend '${name}'; available: ${[...this.backends.keys()].join(', ')}`,
      );
    let b = this.instances.get(name);
    if (!b) {
      b = await factory();
      this.instances.set(name, b);
    }
    this.active = b;
    return true;
  }

  get backend(): Backend {
    if (this.active) return this.active;
    // The CPU backend is synchronous to create: make it the default without an await.
    const factory = this.backends.get('cpu');
    if (!factory) throw new Error('no backend registered');
    const b = factory();
    if (b instanceof Promise) throw new Error('the default backend must be synchronous');
    this.instances.set('cpu', b);
    this.active = b;
    return b;
  }

  backendNames(): string[] {
    return [...this.backends.keys()];
  }

  // ---- tensors -------------------------------------------------------------------------

  /** Wraps a buffer of storage values as a new tensor (copied into the backend). */
  makeTensor(values: Storage, shape: number[], dtype: DType): Tensor {
    const b = this.backend;
    const dataId = b.write(values, dtype);
    return this.track(new Tensor(this.newRef(dataId, b.name, shape, dtype), shape, dtype));
  }

  makeVariable(initial: Tensor, name: string, trainable: boolean, dtype: DType): Variable {
    const src = dtype === initial.dtype ? initial : null;
    if (!src)
      throw new Error(
        `variable '${name}': initial value is ${initial.dtype}, expected ${dtype} (cast it first)`,
      );
    const ref = src.dataRef('variable');
    if (this.variables.has(name))
      throw new Error(`variable: a variable named '${name}' already exists; names must be unique`);
    ref.refCount++;
    this.liveTensors++;
    const v = new Variable(ref, initial.shape.slice(), dtype, name, trainable);
    this.variables.set(name, v);
    return v;
  }

  assignVariable(v: Variable, value: Tensor): void {
    if (v.isDisposed) throw new Error(`Variable '${v.name}'.assign: the variable is disposed`);
    if (value.dtype !== v.dtype)
      throw new Error(`Variable '${v.name}'.assign: value is ${value.dtype}, the variable is ${v.dtype}`);
    if (!sameShape(value.shape, v.shape))
      throw new Error(
        `Variable '${v.name}'.assign: value has shape [${value.shape}], the variable has [${v.shape}]`,
      );
    const ref = value.dataRef(`Variable '${v.name}'.assign`);
    ref.refCount++;
    this.release(v.ref!);
    v.ref = ref;
  }

  private newRef(dataId: object, backendName: string, shape: number[], dtype: DType): DataRef {
    const bytes = sizeOf(shape) * BYTES_PER_ELEMENT[dtype];
    const asF32 = is16Bit(dtype) ? bytes * 2 : bytes;
    this.f32Bytes += asF32;
    if (this.f32Bytes > this.f32Peak) this.f32Peak = this.f32Bytes;
    const ref: DataRef = { dataId, backendName, bytes, asF32, refCount: 1 };
    if (this.deferredRefs) this.deferredRefs.push(ref);
    return ref;
  }

  /** refs made while a deferred backend is active, handed to its target when the region ends */
  private deferredRefs: DataRef[] | null = null;

  /**
   * Runs fn with a deferring backend (the JIT's tracer) active over the current one. When fn
   * returns (or throws), every buffer still referenced is settled onto the real backend, so the
   * tensors and variables fn produced behave like eager ones afterwards.
   */
  region<T>(deferred: Backend, fn: () => T): T {
    const prev = this.active;
    const prevRefs = this.deferredRefs;
    if (deferred.target !== this.backend)
      throw new Error(
        `region: backend '${deferred.name}' does not run over the active backend '${this.backend.name}'`,
      );
    this.active = deferred;
    const refs: DataRef[] = [];
    this.deferredRefs = refs;
    const restore = () => {
      this.active = prev;
      this.deferredRefs = prevRefs;
    };
    let result: T;
    try {
      result = fn();
    } catch (err) {
      restore();
      // after a failure in fn, values it never computed stay unusable; fn's error is what matters
      this.settle(deferred, refs, true);
      throw err;
    }
    restore();
    this.settle(deferred, refs, false);
    return result;
  }
  /** Hands a deferred region's live buffers to the real backend (errors ignored after a failure). */
  private settle(deferred: Backend, refs: DataRef[], failed: boolean): void {
    for (const ref of refs) {
      if (ref.refCount <= 0 || ref.backendName !== deferred.name) continue;
      try {
        ref.dataId = deferred.settle!(ref.dataId);
        ref.backendName = deferred.target!.name;
      } catch (err) {
        if (!failed) throw err;
      }
    }
  }

  /** Resets the high-water marks (backend bytes and the float32-equivalent count). */
  resetPeak(): void {
    this.backend.resetPeak();
    this.f32Peak = this.f32Bytes;
  }

  private track(t: Tensor): Tensor {
    this.liveTensors++;
    const scope = this.scopes[this.scopes.length - 1];
    if (scope) scope.push(t);
    return t;
  }

  disposeTensor(t: Tensor): void {
    if (t.ref === null) return;
    if (t instanceof Variable) this.variables.delete(t.name);
    if (!t.internal) this.liveTensors--;
    this.release(t.ref);
    t.ref = null;
  }

  private release(ref: DataRef): void {
    if (--ref.refCount === 0) {
      this.f32Bytes -= ref.asF32;
      this.backendFor(ref).disposeData(ref.dataId);
    }
  }

  /** The backend holding a ref's buffer (a deferred backend is not among the registered ones). */
  private backendFor(ref: DataRef): Backend {
    const a = this.active;
    // a deferred backend also handles its target's buffers (it may still need them)
    if (a && (a.name === ref.backendName || a.target?.name === ref.backendName)) return a;
    return this.instances.get(ref.backendName)!;
  }

  readSync(t: Tensor): Storage {
    const ref = t.dataRef('dataSync');
    return this.backendFor(ref).readSync(ref.dataId, t.dtype);
  }

  read(t: Tensor): Promise<Storage> {
    const ref = t.dataRef('data');
    return this.backendFor(ref).read(ref.dataId, t.dtype);
  }

  info(t: Tensor, op: string): TensorInfo {
    const ref = t.dataRef(op);
    const b = this.backend;
    if (ref.backendName !== b.name && ref.backendName !== b.target?.name)
      throw new Error(
        `${op}: tensor ${t.id} lives on backend '${ref.backendName}', the active backend is '${this.backend.name}'`,
      );
    return { dataId: ref.dataId, shape: t.shape, dtype: t.dtype };
  }

  // ---- running primitives ---------------------------------------------------------------

  /** Runs one primitive whose output shape/dtype the op layer has already validated. */
  run<P extends Primitive>(
    prim: P,
    inputs: readonly Tensor[],
    attrs: PrimitiveAttrs[P],
    shape: number[],
    dtype: DType,
  ): Tensor {
    const ac = this.autocast;
    if (ac && prim !== 'cast') {
      const target = ac.target(prim, attrs as never, inputs);
      if (target) {
        let changed = false;
        inputs = inputs.map((t) => {
          if (!isFloatDType(t.dtype) || t.dtype === target) return t;
          changed = true;
          return this.run('cast', [t], { dtype: target }, t.shape.slice(), target);
        });
        if (isFloatDType(dtype) && dtype !== target) {
          dtype = target;
          changed = true;
        }
        if (changed) ac.record(prim, attrs as never);
      }
    }
    const b = this.backend;
    const infos = inputs.map((t) => this.info(t, prim));
    const dataId = b.kernels[prim](infos, attrs, { shape, dtype });
    const shared = inputs.find((t) => t.ref!.dataId === dataId);
    let ref: DataRef;
    if (shared) {
      ref = shared.ref!;
      ref.refCount++;
    } else {
      ref = this.newRef(dataId, b.name, shape, dtype);
    }
    const out = this.track(new Tensor(ref, shape, dtype));
    this.record(prim, inputs, attrs, out);
    if (this.observer) this.observer.onRun(prim, inputs, attrs, out);
    return out;
  }

  // ---- scopes ---------------------------------------------------------------------------

  startScope(): void {
    this.scopes.push([]);
  }

  /** Disposes the scope's tensors except `result`'s and kept ones; results move to the parent scope. */
  endScope(result: unknown): void {
    const scope = this.scopes.pop();
    if (!scope) throw new Error('endScope without startScope');
    const keepIds = new Set<number>();
    collectTensors(result, (t) => keepIds.add(t.id));
    const parent = this.scopes[this.scopes.length - 1];
    for (const t of scope) {
      if (keepIds.has(t.id)) {
        if (parent) parent.push(t);
      } else if (!t.kept) t.dispose();
    }
  }

  /** Whether `t` was created in the innermost open scope (and is still tracked there). */
  inCurrentScope(t: Tensor): boolean {
    const scope = this.scopes[this.scopes.length - 1];
    return scope?.includes(t) ?? false;
  }

  keep<T extends Tensor>(t: T): T {
    t.kept = true;
    return t;
  }

  // ---- gradient tape --------------------------------------------------------------------

  get recording(): boolean {
    return this.tapes.length > 0;
  }

  /** Runs `f` with a tape watching `sources`; returns f's result and the tape. */
  withTape<R>(sources: readonly Tensor[], f: () => R): { result: R; tape: Tape } {
    const tape: Tape = { nodes: [], watched: new Set(sources.map((s) => s.id)) };
    this.tapes.push(tape);
    try {
      return { result: f(), tape };
    } catch (e) {
      // the caller never sees this tape: drop the buffers it saved
      this.releaseTape(tape);
      throw e;
    } finally {
      this.tapes.pop();
    }
  }

  /** Runs `f` without recording (gradient rules, optimizer updates). */
  noGrad<R>(f: () => R): R {
    const saved = this.tapes;
    this.tapes = [];
    try {
      return f();
    } finally {
      this.tapes = saved;
    }
  }

  private record(prim: Primitive, inputs: readonly Tensor[], attrs: unknown, out: Tensor): void {
    for (const tape of this.tapes) {
      if (!inputs.some((t) => tape.watched.has(t.id))) continue;
      tape.watched.add(out.id);
      const policy = this.savePolicies[prim];
      const save = policy ? policy(attrs) : { inputs: [], output: false };
      const saved: (Tensor | undefined)[] = inputs.map(() => undefined);
      for (const i of save.inputs) saved[i] = this.alias(inputs[i]);
      tape.nodes.push({
        prim,
        attrs,
        inputMeta: inputs.map((t) => ({ shape: t.shape, dtype: t.dtype, id: t.id })),
        saved,
        savedOutput: save.output ? this.alias(out) : undefined,
        outputId: out.id,
        outputMeta: { shape: out.shape, dtype: out.dtype },
      });
    }
  }

  /** Records a customGrad node on every tape that watches one of its inputs; `saved` is kept for it. */
  recordCustom(
    inputs: readonly Tensor[],
    out: Tensor,
    saved: readonly Tensor[],
    gradFn: (dy: Tensor, saved: Tensor[]) => (Tensor | null)[],
  ): void {
    for (const tape of this.tapes) {
      if (!inputs.some((t) => tape.watched.has(t.id))) continue;
      tape.watched.add(out.id);
      const kept = saved.map((t) => this.alias(t));
      tape.nodes.push({
        prim: 'custom',
        attrs: {},
        inputMeta: inputs.map((t) => ({ shape: t.shape, dtype: t.dtype, id: t.id })),
        saved: kept,
        savedOutput: undefined,
        outputId: out.id,
        outputMeta: { shape: out.shape, dtype: out.dtype },
        customGrad: (dy) => gradFn(dy, kept),
      });
    }
  }

  /**
   * A private second handle on a tensor's buffer, so user disposal cannot pull it from under the tape.
   * It keeps the tensor's id: to an enclosing tape, ops on the alias are ops on the tensor.
   */
  alias(t: Tensor): Tensor {
    const ref = t.dataRef('gradient tape');
    ref.refCount++;
    return new Tensor(ref, t.shape, t.dtype, true, t.id);
  }

  /** Drops the tape's private handles. */
  releaseTape(tape: Tape): void {
    for (const n of tape.nodes) {
      for (const s of n.saved) s?.dispose();
      n.savedOutput?.dispose();
    }
    tape.nodes.length = 0;
  }

  /** A free variable name: `base`, else `base_1`, `base_2`, ... (as tfjs-layers names shared weights). */
  uniqueVariableName(base: string): string {
    if (!this.variables.has(base)) return base;
    let i = 1;
    while (this.variables.has(`${base}_${i}`)) i++;
    return `${base}_${i}`;
  }

  trainableVariables(): Variable[] {
    return [...this.variables.values()].filter((v) => v.trainable);
  }

  // ---- memory ---------------------------------------------------------------------------

  memory(): MemoryInfo {
    const m = this.backend.memory();
    return {
      numTensors: this.liveTensors,
      numBytes: m.numBytes,
      peakBytes: m.peakBytes,
      numDataBuffers: m.numBuffers,
      peakBytesAsFloat32: this.f32Peak,
    };
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Calls `fn` on every tensor inside a (possibly nested) array/object container. */
export function collectTensors(x: unknown, fn: (t: Tensor) => void, seen = new Set<unknown>()): void {
  if (x instanceof Tensor) fn(x);
  else if (x && typeof x === 'object' && !seen.has(x) && !ArrayBuffer.isView(x)) {
    seen.add(x);
    for (const v of Array.isArray(x) ? x : Object.values(x)) collectTensors(v, fn, seen);
  }
}

export const ENGINE = new Engine();
