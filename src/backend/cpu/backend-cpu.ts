// The CPU backend: typed-array buffers and the kernel table of every primitive.

import { cpus } from 'node:os';
import type { DType, Storage } from '../../dtype.js';
import { allocStorage, BYTES_PER_ELEMENT, fromNumbers, is16Bit, toFloat32 } from '../../dtype.js';
import type { Backend, BackendMemory, DataId, KernelTable, OutputSpec, TensorInfo } from '../backend.js';
import type { FusedCompiler, FusedKernel, FusedSpec } from '../fused.js';
import type { Conv2DInfo } from '../primitives.js';
import { BufferPool } from './buffer-pool.js';
import * as conv from './conv.js';
import * as depthwise from './depthwise.js';
import {
  binarySpec,
  broadcastSpec,
  castSpec,
  type EagerSpec,
  reduceSpec,
  unarySpec,
  whereSpec,
} from './eager-specs.js';
import { BINARY_EXPR, broadcastStrides, elementwiseLoop, INT_DIV_EXPR, UNARY_EXPR } from './elementwise.js';
import { compileFusedJs } from './fused.js';
import { compileFusedNative, type FusedCodegen, type FusedNative } from './fused-native.js';
import { type GemmDType, gemm, gemmInfo, gemmMixed } from './gemm.js';
import { KernelCompiler } from './kernel-compiler.js';
import { copyStrided, stridesOf, transposeStrides } from './layout.js';
import { convGeometry, loadNative, nativeTypes } from './native.js';
import * as pool from './pool.js';
import { argReduceOuterRInner, reduceOuterRInner, reductionLayout } from './reduce.js';

/** A CPU buffer: the storage array itself. */
interface CpuData {
  values: Storage;
  /** handed out by read/readSync: the caller may keep it, so it never returns to the pool */
  escaped?: boolean;
}

/** Freed arrays of at least 64 KB, up to 512 MB in all, are recycled (see buffer-pool.ts). */
const POOL_MIN = 64 * 1024;
const POOL_MAX = 512 * 1024 * 1024;
const STORAGE: Record<DType, new (buffer: ArrayBuffer) => Storage> = {
  float32: Float32Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int32: Int32Array,
  bool: Uint8Array,
};

export class CpuBackend implements Backend, FusedCompiler {
  readonly name = 'cpu';
  readonly device: string;
  private bytes = 0;
  private peak = 0;
  private buffers = 0;
  /** freed ArrayBuffers, for recycle() */
  private readonly pool = new BufferPool(POOL_MIN, POOL_MAX);
  readonly kernels: KernelTable;
  /** The addon's fused-kernel interpreter, when the native addon has one. */
  readonly nativeFused: FusedNative | null;
  /** Generated native code for hot JIT-fused kernels (null without the addon's loader). */
  private readonly codegen: FusedCodegen | null;
  private compiler: KernelCompiler | null | undefined;
  /** Eager elementwise ops as one-expression native programs, by op, dtypes and shapes. */
  private readonly eagerPrograms = new Map<string, ((inputs: Storage[]) => Storage[]) | null>();

  /** recycle(), bound: the allocator of kernels that write every element */
  readonly alloc = (dtype: DType, n: number): Storage => this.recycle(dtype, n);

  constructor() {
    const native = loadNative();
    this.nativeFused = native?.fused ? native.fused.bind(native) : null;
    this.codegen = native?.fusedGenerated
      ? { run: native.fusedGenerated.bind(native), compiler: () => this.kernelCompiler() }
      : null;
    const g = gemmInfo();
    this.device = `${cpus()[0]?.model.trim() ?? 'CPU'} (${g.impl} GEMM, ${g.isa}, ${g.threads} threads)`;
    this.kernels = makeKernels(this);
  }

  /** A JIT-fused kernel as generated JavaScript over this backend's buffers. */
  compileFused(spec: FusedSpec): { kernel: FusedKernel; source: string } {
    const native =
      this.nativeFused && compileFusedNative(spec, this.nativeFused, this.alloc, this.codegen ?? undefined);
    const { run, source } = native
      ? { run: native.run, source: `native fused program [${native.program.join(', ')}]` }
      : compileFusedJs(spec);
    const kernel: FusedKernel = (inputs, reuse = []) => {
      const into = spec.stores.map((_, k) => (reuse[k] ? this.values(reuse[k]!) : null));
      const outs = run(
        inputs.map((id) => this.values(id)),
        into,
      );
      // a reused buffer is returned as the same data id; fresh arrays become new buffers
      return outs.map((v, k) => (k < into.length && into[k] === v ? reuse[k]! : this.adopt(v)));
    };
    return { kernel, source };
  }

  /** The compiler of generated kernels, found on first use (it runs the C++ compiler once). */
  kernelCompiler(): KernelCompiler | null {
    if (this.compiler === undefined) this.compiler = KernelCompiler.fromEnv(loadNative());
    return this.compiler;
  }

  /**
   * Runs an eager op natively as a one-expression fused program (cached by `key`, which must
   * determine the spec); null when there is no interpreter or it declines the spec (int32 values).
   */
  eager({ key, spec }: EagerSpec, inputs: readonly TensorInfo[]): DataId | null {
    if (!this.nativeFused) return null;
    let run = this.eagerPrograms.get(key);
    if (run === undefined) {
      if (this.eagerPrograms.size > 4096) this.eagerPrograms.clear();
      const compiled = compileFusedNative(spec(), this.nativeFused, this.alloc);
      run = compiled ? (ins) => compiled.run(ins, []) : null;
      this.eagerPrograms.set(key, run);
    }
    if (!run) return null;
    const outs = run(inputs.map((t) => this.values(t.dataId)));
    return this.adopt(outs[outs.length - 1]);
  }

  /** Takes ownership of `values` (callers pass fresh arrays). */
  adopt(values: Storage): DataId {
    const d: CpuData = { values };
    this.bytes += values.byteLength;
    this.buffers++;
    if (this.bytes > this.peak) this.peak = this.bytes;
    return d;
  }

  write(values: Storage, _dtype: DType): DataId {
    return this.adopt(values.slice());
  }

  values(id: DataId): Storage {
    return (id as CpuData).values;
  }

  readSync(id: DataId): Storage {
    const d = id as CpuData;
    d.escaped = true;
    return d.values;
  }

  async read(id: DataId): Promise<Storage> {
    return this.readSync(id);
  }

  disposeData(id: DataId): void {
    const d = id as CpuData;
    const v = d.values;
    this.bytes -= v.byteLength;
    this.buffers--;
    d.values = EMPTY;
    // a view of its whole buffer that nobody outside can still hold goes back to the pool
    if (
      !d.escaped &&
      v.byteOffset === 0 &&
      v.buffer.byteLength === v.byteLength &&
      v.buffer instanceof ArrayBuffer
    )
      this.pool.put(v.buffer);
  }

  /**
   * An array of `n` elements of `dtype` whose contents are undefined (a recycled buffer when one of
   * that size is free): only for kernels that write every element.
   */
  recycle(dtype: DType, n: number): Storage {
    const buf = this.pool.take(n * BYTES_PER_ELEMENT[dtype]);
    return buf ? new STORAGE[dtype](buf) : allocStorage(dtype, n);
  }

  /** Empties the pool of freed buffers (their memory goes back to the JavaScript heap). */
  releasePool(): void {
    this.pool.clear();
  }

  memory(): BackendMemory {
    return { numBytes: this.bytes, peakBytes: this.peak, numBuffers: this.buffers };
  }

  resetPeak(): void {
    this.peak = this.bytes;
  }

  /** Input as numbers: float32 values (16-bit floats decoded) or the int/bool storage itself. */
  numeric(t: TensorInfo): Float32Array | Int32Array | Uint8Array {
    const v = this.values(t.dataId);
    return is16Bit(t.dtype) ? toFloat32(t.dtype, v) : (v as Float32Array | Int32Array | Uint8Array);
  }

  /** A float32 view of an input, for routines that compute in float32 (matMul, conv). */
  f32(t: TensorInfo): Float32Array {
    return toFloat32(t.dtype, this.values(t.dataId));
  }

  /** Stores float results in the output dtype (rounding 16-bit floats to nearest even). */
  output(values: Float32Array | Int32Array | Uint8Array, out: OutputSpec): DataId {
    if (is16Bit(out.dtype)) return this.adopt(fromNumbers(out.dtype, values));
    return this.adopt(values);
  }

  /** A scratch output array to compute into: float32 for float dtypes, the storage type otherwise. */
  scratch(out: OutputSpec, size: number): Float32Array | Int32Array | Uint8Array {
    if (is16Bit(out.dtype)) return new Float32Array(size);
    return allocStorage(out.dtype, size) as Float32Array | Int32Array | Uint8Array;
  }
}

const EMPTY = new Float32Array(0);

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** The GEMM/convolution operand format of a float dtype (null for int32/bool). */
function floatType(d: DType): GemmDType | null {
  return d === 'float32' || d === 'bfloat16' || d === 'float16' ? d : null;
}

function makeKernels(be: CpuBackend): KernelTable {
  /** conv2d and its gradients on the stored values (16-bit operands are not decoded here). */
  const convKernel = (
    op: conv.ConvOp,
    p: TensorInfo,
    q: TensorInfo,
    info: Conv2DInfo,
    out: OutputSpec,
  ): DataId => {
    const tp = floatType(p.dtype);
    const tq = floatType(q.dtype);
    const to = floatType(out.dtype);
    if (!tp || !tq || !to) throw new Error(`${op}: expected float operands, got ${p.dtype} and ${q.dtype}`);
    const values = (t: TensorInfo) => be.values(t.dataId) as Float32Array | Uint16Array;
    const alloc = (d: GemmDType, n: number) => be.recycle(d, n) as Float32Array | Uint16Array;
    return be.adopt(conv.convMixed(op, values(p), tp, values(q), tq, to, info, alloc));
  };
  /** A pool natively on stored operands (null without the addon: the JavaScript pools run). */
  const nativePool = loadNative()?.pool2d ? loadNative() : null;
  const poolKernel = (
    op: 0 | 1 | 2 | 3,
    p: TensorInfo,
    q: TensorInfo,
    i: Conv2DInfo,
    out: OutputSpec,
  ): DataId | null => {
    const tp = floatType(p.dtype);
    const tq = floatType(q.dtype);
    const to = floatType(out.dtype);
    if (!nativePool || !tp || !tq || !to) return null;
    const o = be.recycle(out.dtype, sizeOf(out.shape)) as Float32Array | Uint16Array;
    const v = (t: TensorInfo) => be.values(t.dataId) as Float32Array | Uint16Array;
    nativePool.pool2d!(op, v(p), v(q), o, nativeTypes(tp, tq, to), ...convGeometry(i));
    return be.adopt(o);
  };
  return {
    unary: ([x], { op }, out) => {
      const native = be.eager(unarySpec(x, op, out), [x]);
      if (native) return native;
      const o = be.scratch(out, sizeOf(out.shape));
      elementwiseLoop(1, UNARY_EXPR[op])([be.numeric(x)], o, out.shape, []);
      return be.output(o, out);
    },
    binary: ([a, b], { op }, out) => {
      const native = be.eager(binarySpec(a, b, op, out), [a, b]);
      if (native) return native;
      const o = be.scratch(out, sizeOf(out.shape));
      const expr = op === 'div' && a.dtype === 'int32' ? INT_DIV_EXPR : BINARY_EXPR[op];
      const strides = [broadcastStrides(a.shape, out.shape), broadcastStrides(b.shape, out.shape)];
      elementwiseLoop(2, expr)([be.numeric(a), be.numeric(b)], o, out.shape, strides);
      return be.output(o, out);
    },
    where: ([c, a, b], _attrs, out) => {
      const native = be.eager(whereSpec(c, a, b, out), [c, a, b]);
      if (native) return native;
      const o = be.scratch(out, sizeOf(out.shape));
      const strides = [c, a, b].map((t) => broadcastStrides(t.shape, out.shape));
      elementwiseLoop(3, '(a ? b : c)')([be.numeric(c), be.numeric(a), be.numeric(b)], o, out.shape, strides);
      return be.output(o, out);
    },
    cast: ([x], { dtype }) => {
      if (x.dtype === dtype) return be.adopt(be.values(x.dataId).slice());
      const native = be.eager(castSpec(x, dtype), [x]);
      if (native) return native;
      const v = be.numeric(x);
      if (dtype === 'bool') {
        // "not zero", so NaN is true (as tfjs and C casts do)
        const o = new Uint8Array(v.length);
        for (let i = 0; i < v.length; i++) o[i] = v[i] !== 0 ? 1 : 0;
        return be.adopt(o);
      }
      // fromNumbers rounds (16-bit) or truncates (int32) into a fresh array
      return be.adopt(dtype === 'float32' ? Float32Array.from(v) : fromNumbers(dtype, v));
    },
    reduce: ([x], { op, axes }, out) => {
      const native = be.eager(reduceSpec(x, op, axes, out), [x]);
      if (native) return native;
      const o = be.scratch(out, sizeOf(out.shape));
      let src: Float32Array | Int32Array | Uint8Array | Float64Array = be.numeric(x);
      let layout = reductionLayout(x.shape, axes);
      if (!layout) {
        // bring the reduced axes to the end, then reduce a trailing block
        const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
        const perm = [...kept, ...axes];
        const t = transposeStrides(x.shape, perm);
        // float64 scratch: int32 values beyond 2^24 must stay exact
        const moved = new Float64Array(src.length);
        copyStrided(src, 0, t.strides, moved, 0, stridesOf(t.shape), t.shape);
        src = moved;
        layout = reductionLayout(
          t.shape,
          axes.map((_, i) => kept.length + i),
        )!;
      }
      reduceOuterRInner(op, src, o, layout.outer, layout.r, layout.inner);
      return be.output(o, out);
    },
    argReduce: ([x], { op, axis }) => {
      const l = reductionLayout(x.shape, [axis])!;
      const o = new Int32Array(l.outer * l.inner);
      argReduceOuterRInner(op === 'argMax', be.numeric(x), o, l.outer, l.r, l.inner);
      return be.adopt(o);
    },
    reshape: ([x]) => x.dataId,
    transpose: ([x], { perm }, out) => {
      const t = transposeStrides(x.shape, perm);
      const o = be.recycle(out.dtype, sizeOf(out.shape));
      copyStrided(be.values(x.dataId), 0, t.strides, o, 0, stridesOf(out.shape), t.shape);
      return be.adopt(o);
    },
    broadcastTo: ([x], { shape }, out) => {
      const native = be.eager(broadcastSpec(x, shape), [x]);
      if (native) return native;
      const o = be.recycle(out.dtype, sizeOf(shape));
      copyStrided(be.values(x.dataId), 0, broadcastStrides(x.shape, shape), o, 0, stridesOf(shape), shape);
      return be.adopt(o);
    },
    slice: ([x], { begin, size }, out) => {
      const s = stridesOf(x.shape);
      const offset = begin.reduce((acc, b, i) => acc + b * s[i], 0);
      const o = be.recycle(out.dtype, sizeOf(size));
      copyStrided(be.values(x.dataId), offset, s, o, 0, stridesOf(size), size);
      return be.adopt(o);
    },
    pad: ([x], { paddings, value }, out) => {
      // a recycled array, filled: cheaper than a fresh zeroed one (page faults) when it is large
      const o = be.recycle(out.dtype, sizeOf(out.shape));
      o.fill(value === 0 ? 0 : fromNumbers(out.dtype, [value])[0]);
      const ds = stridesOf(out.shape);
      const offset = paddings.reduce((acc, [before], i) => acc + before * ds[i], 0);
      copyStrided(be.values(x.dataId), 0, stridesOf(x.shape), o, offset, ds, x.shape);
      return be.adopt(o);
    },
    concat: (inputs, { axis }, out) => {
      // the inputs tile the output along axis: every element is written
      const o = be.recycle(out.dtype, sizeOf(out.shape));
      const ds = stridesOf(out.shape);
      let at = 0;
      for (const t of inputs) {
        copyStrided(be.values(t.dataId), 0, stridesOf(t.shape), o, at * ds[axis], ds, t.shape);
        at += t.shape[axis];
      }
      return be.adopt(o);
    },
    gather: ([x, indices], { axis }, out) => {
      const src = be.values(x.dataId);
      const idx = be.values(indices.dataId) as Int32Array;
      const outer = sizeOf(x.shape.slice(0, axis));
      const inner = sizeOf(x.shape.slice(axis + 1));
      const n = x.shape[axis];
      for (let k = 0; k < idx.length; k++) {
        if (idx[k] < 0 || idx[k] >= n)
          throw new Error(
            `gather: index ${idx[k]} at position ${k} is out of range [0, ${n}) on axis ${axis}`,
          );
      }
      const o = be.recycle(out.dtype, sizeOf(out.shape)); // every row is copied
      for (let a = 0; a < outer; a++) {
        for (let k = 0; k < idx.length; k++) {
          const from = (a * n + idx[k]) * inner;
          o.set(src.subarray(from, from + inner) as never, (a * idx.length + k) * inner);
        }
      }
      return be.adopt(o);
    },
    scatterAdd: ([updates, indices], { axis, size }, out) => {
      const u = be.numeric(updates);
      const idx = be.values(indices.dataId) as Int32Array;
      const outer = sizeOf(out.shape.slice(0, axis));
      const inner = sizeOf(out.shape.slice(axis + 1));
      const o = be.scratch(out, sizeOf(out.shape));
      for (let a = 0; a < outer; a++) {
        for (let k = 0; k < idx.length; k++) {
          const to = (a * size + idx[k]) * inner;
          const from = (a * idx.length + k) * inner;
          for (let i = 0; i < inner; i++) o[to + i] += u[from + i];
        }
      }
      return be.output(o, out);
    },
    matMul: ([a, b], { transposeA, transposeB }, out) => {
      // a: (batchA, M, K) or its transpose; b likewise; batch of 1 broadcasts
      const r = out.shape.length;
      const M = out.shape[r - 2];
      const N = out.shape[r - 1];
      const K = transposeA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
      const batch = sizeOf(out.shape.slice(0, r - 2));
      const bA = sizeOf(a.shape.slice(0, -2));
      const bB = sizeOf(b.shape.slice(0, -2));
      const layout = {
        batch,
        M,
        N,
        K,
        transA: transposeA,
        transB: transposeB,
        aOffset: 0,
        lda: a.shape[a.shape.length - 1],
        strideA: bA === 1 ? 0 : M * K,
        bOffset: 0,
        ldb: b.shape[b.shape.length - 1],
        strideB: bB === 1 ? 0 : K * N,
        cOffset: 0,
        ldc: N,
        strideC: M * N,
        accumulate: false,
      };
      const ta = floatType(a.dtype);
      const tb = floatType(b.dtype);
      const tc = floatType(out.dtype);
      if (ta && tb && tc) {
        // float operands go to the GEMM as stored: 16-bit ones are read (and the result rounded)
        // natively, without a decode/encode pass here
        const c = be.recycle(out.dtype, batch * M * N) as Float32Array | Uint16Array;
        gemmMixed({
          ...layout,
          a: be.values(a.dataId) as Float32Array | Uint16Array,
          b: be.values(b.dataId) as Float32Array | Uint16Array,
          c,
          aType: ta,
          bType: tb,
          cType: tc,
        });
        return be.adopt(c);
      }
      const c = new Float32Array(batch * M * N);
      gemm({ ...layout, a: be.f32(a), b: be.f32(b), c });
      return be.output(c, out);
    },
    conv2d: ([x, w], { info }, out) => convKernel('forward', x, w, info, out),
    conv2dBackpropInput: ([dy, w], { info }, out) => convKernel('backpropInput', dy, w, info, out),
    conv2dBackpropFilter: ([x, dy], { info }, out) => convKernel('backpropFilter', x, dy, info, out),
    depthwiseConv2d: ([x, w], { info }, out) =>
      be.output(depthwise.depthwiseConv2d(be.f32(x), be.f32(w), info), out),
    depthwiseConv2dBackpropInput: ([dy, w], { info }, out) =>
      be.output(depthwise.depthwiseConv2dBackpropInput(be.f32(dy), be.f32(w), info), out),
    depthwiseConv2dBackpropFilter: ([x, dy], { info }, out) =>
      be.output(depthwise.depthwiseConv2dBackpropFilter(be.f32(x), be.f32(dy), info), out),
    maxPool: ([x], { info }, out) =>
      poolKernel(0, x, x, info, out) ?? be.output(pool.maxPool(be.f32(x), info), out),
    maxPoolGrad: ([dy, x], { info }, out) =>
      poolKernel(1, dy, x, info, out) ?? be.output(pool.maxPoolGrad(be.f32(dy), be.f32(x), info), out),
    avgPool: ([x], { info }, out) =>
      poolKernel(2, x, x, info, out) ?? be.output(pool.avgPool(be.f32(x), info), out),
    avgPoolGrad: ([dy], { info }, out) =>
      poolKernel(3, dy, dy, info, out) ?? be.output(pool.avgPoolGrad(be.f32(dy), info), out),
  };
}
