// Float64 reference implementations of Keel's ops, written from their definitions (numpy broadcasting,
// tfjs argument conventions) on plain arrays. Nothing here calls Keel: the tests compare Keel against these.

import { f16round } from '@petamoriken/float16';

/** A float64 n-d array: row-major values and a shape. */
export interface Nd {
  data: Float64Array;
  shape: number[];
}

export type FloatDType = 'float32' | 'float16' | 'bfloat16';

export function nd(data: ArrayLike<number>, shape: readonly number[]): Nd {
  const d = Float64Array.from(data);
  if (d.length !== sizeOf(shape)) throw new Error(`reference: ${d.length} values for shape [${shape}]`);
  return { data: d, shape: shape.slice() };
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Multi-index of flat position `flat` in `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
  return idx;
}

export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let f = 0;
  for (let i = 0; i < shape.length; i++) f = f * shape[i] + idx[i];
  return f;
}

// ---- rounding to the storage dtypes ------------------------------------------------------

const view = new DataView(new ArrayBuffer(4));

/** Round to bfloat16 (nearest even on the float32 bit pattern; NaN and infinities pass). */
export function bf16round(x: number): number {
  const f = Math.fround(x);
  if (!Number.isFinite(f)) return f;
  view.setFloat32(0, f);
  const bits = view.getUint32(0);
  const low = bits & 0xffff;
  let high = bits >>> 16;
  if (low > 0x8000 || (low === 0x8000 && (high & 1) === 1)) high += 1;
  view.setUint32(0, (high << 16) >>> 0);
  return view.getFloat32(0);
}

/** The value a float of this dtype stores for x (float32 first, as kernels compute in float32). */
export function roundScalar(x: number, dtype: FloatDType): number {
  if (dtype === 'float32') return Math.fround(x);
  if (dtype === 'float16') return f16round(Math.fround(x));
  return bf16round(x);
}

export function roundTo(values: ArrayLike<number>, dtype: FloatDType): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = roundScalar(values[i], dtype);
  return out;
}

export function roundNd(x: Nd, dtype: FloatDType): Nd {
  return { data: roundTo(x.data, dtype), shape: x.shape.slice() };
}

// ---- elementwise --------------------------------------------------------------------------

/** numpy broadcasting of two shapes; null when they do not broadcast. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = i < r - a.length ? 1 : a[i - (r - a.length)];
    const db = i < r - b.length ? 1 : b[i - (r - b.length)];
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Flat index into an input of `shape` for the output multi-index `outIdx` (broadcast dims read 0). */
function broadcastIndex(outIdx: readonly number[], shape: readonly number[]): number {
  const lead = outIdx.length - shape.length;
  let f = 0;
  for (let i = 0; i < shape.length; i++) f = f * shape[i] + (shape[i] === 1 ? 0 : outIdx[lead + i]);
  return f;
}

export function unaryRef(x: Nd, fn: (v: number) => number): Nd {
  return { data: x.data.map(fn), shape: x.shape.slice() };
}

export function naryRef(inputs: readonly Nd[], fn: (...v: number[]) => number): Nd {
  let shape: number[] = [];
  for (const t of inputs) {
    const s = broadcastShape(shape, t.shape);
    if (!s) throw new Error(`reference: shapes [${shape}] and [${t.shape}] do not broadcast`);
    shape = s;
  }
  const n = sizeOf(shape);
  const out = new Float64Array(n);
  const args = new Array<number>(inputs.length);
  for (let f = 0; f < n; f++) {
    const idx = unravel(f, shape);
    for (let k = 0; k < inputs.length; k++) args[k] = inputs[k].data[broadcastIndex(idx, inputs[k].shape)];
    out[f] = fn(...args);
  }
  return { data: out, shape };
}

export const binaryRef = (a: Nd, b: Nd, fn: (x: number, y: number) => number): Nd => naryRef([a, b], fn);
export const whereRef = (c: Nd, a: Nd, b: Nd): Nd => naryRef([c, a, b], (ci, ai, bi) => (ci !== 0 ? ai : bi));

export const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
export const softplus = (v: number): number =>
  v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v));
/** Round half to even (numpy, tfjs). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Scalar definitions of the elementwise ops, from their mathematical definitions. */
export const UNARY: Record<string, (v: number) => number> = {
  neg: (v) => -v,
  abs: Math.abs,
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  rsqrt: (v) => 1 / Math.sqrt(v),
  square: (v) => v * v,
  reciprocal: (v) => 1 / v,
  relu: (v) => Math.max(v, 0),
  relu6: (v) => Math.min(Math.max(v, 0), 6),
  elu: (v) => (v > 0 ? v : Math.exp(v) - 1),
  leakyRelu: (v) => (v > 0 ? v : 0.2 * v),
  sigmoid,
  tanh: Math.tanh,
  softplus,
  sin: Math.sin,
  cos: Math.cos,
  sign: Math.sign,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
};

export const BINARY: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  // NaN-propagating, as IEEE maximum/minimum
  maximum: (a, b) => Math.max(a, b),
  minimum: (a, b) => Math.min(a, b),
  squaredDifference: (a, b) => (a - b) * (a - b),
  equal: (a, b) => Number(a === b),
  notEqual: (a, b) => Number(a !== b),
  greater: (a, b) => Number(a > b),
  greaterEqual: (a, b) => Number(a >= b),
  less: (a, b) => Number(a < b),
  lessEqual: (a, b) => Number(a <= b),
  logicalAnd: (a, b) => Number(a !== 0 && b !== 0),
  logicalOr: (a, b) => Number(a !== 0 || b !== 0),
};

// ---- reductions ---------------------------------------------------------------------------

export function normAxes(axes: number | readonly number[] | undefined | null, rank: number): number[] {
  if (axes === undefined || axes === null) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  return list.map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
}

/** Output shape of reducing `axes` of `shape`. */
export function reducedShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  return keepDims
    ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : shape.filter((_, i) => !axes.includes(i));
}

/** Groups x's elements by output position; calls `fold` on each group's values in order. */
function reduceGroups(
  x: Nd,
  axes: readonly number[],
  keepDims: boolean,
  fold: (vals: number[]) => number,
): Nd {
  const outShapeKeep = reducedShape(x.shape, axes, true);
  const groups: number[][] = Array.from({ length: sizeOf(outShapeKeep) }, () => []);
  for (let f = 0; f < x.data.length; f++) {
    const idx = unravel(f, x.shape).map((v, i) => (axes.includes(i) ? 0 : v));
    groups[ravel(idx, outShapeKeep)].push(x.data[f]);
  }
  return { data: Float64Array.from(groups.map(fold)), shape: reducedShape(x.shape, axes, keepDims) };
}

export type ReduceName = 'sum' | 'mean' | 'prod' | 'max' | 'min' | 'logSumExp';

export function reduceRef(op: ReduceName, x: Nd, axis?: number | number[] | null, keepDims = false): Nd {
  const axes = normAxes(axis, x.shape.length);
  const folds: Record<ReduceName, (v: number[]) => number> = {
    sum: (v) => v.reduce((s, a) => s + a, 0),
    mean: (v) => v.reduce((s, a) => s + a, 0) / v.length,
    prod: (v) => v.reduce((s, a) => s * a, 1),
    max: (v) => (v.some(Number.isNaN) ? Number.NaN : Math.max(...v)),
    min: (v) => (v.some(Number.isNaN) ? Number.NaN : Math.min(...v)),
    logSumExp: (v) => {
      const m = Math.max(...v);
      return m + Math.log(v.reduce((s, a) => s + Math.exp(a - m), 0));
    },
  };
  return reduceGroups(x, axes, keepDims, folds[op]);
}

/** Index of the first maximum (minimum) along `axis`; a NaN counts as the extreme (numpy). */
export function argReduceRef(isMax: boolean, x: Nd, axis = 0): Nd {
  const a = axis < 0 ? axis + x.shape.length : axis;
  const outShape = x.shape.filter((_, i) => i !== a);
  const out = new Float64Array(sizeOf(outShape));
  for (let o = 0; o < out.length; o++) {
    const oi = unravel(o, outShape);
    let best = Number.NaN;
    let at = -1;
    for (let k = 0; k < x.shape[a]; k++) {
      const idx = [...oi.slice(0, a), k, ...oi.slice(a)];
      const v = x.data[ravel(idx, x.shape)];
      if (Number.isNaN(v)) {
        at = k;
        break;
      }
      if (at < 0 || (isMax ? v > best : v < best)) {
        best = v;
        at = k;
      }
    }
    out[o] = at;
  }
  return { data: out, shape: outShape };
}

export function momentsRef(
  x: Nd,
  axis?: number | number[] | null,
  keepDims = false,
): { mean: Nd; variance: Nd } {
  const axes = normAxes(axis, x.shape.length);
  const m = reduceRef('mean', x, axes, true);
  const dev = binaryRef(x, m, (a, b) => (a - b) * (a - b));
  return { mean: reduceRef('mean', x, axes, keepDims), variance: reduceRef('mean', dev, axes, keepDims) };
}

// ---- data movement ------------------------------------------------------------------------

export function transposeRef(x: Nd, perm?: readonly number[]): Nd {
  const p = perm ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  const shape = p.map((i) => x.shape[i]);
  const out = new Float64Array(x.data.length);
  for (let f = 0; f < out.length; f++) {
    const oi = unravel(f, shape);
    const xi = new Array<number>(shape.length);
    p.forEach((src, k) => {
      xi[src] = oi[k];
    });
    out[f] = x.data[ravel(xi, x.shape)];
  }
  return { data: out, shape };
}

export function sliceRef(x: Nd, begin: readonly number[], size: readonly number[]): Nd {
  const shape = size.map((s, i) => (s === -1 ? x.shape[i] - begin[i] : s));
  const out = new Float64Array(sizeOf(shape));
  for (let f = 0; f < out.length; f++)
    out[f] =
      x.data[
        ravel(
          unravel(f, shape).map((v, i) => v + begin[i]),
          x.shape,
        )
      ];
  return { data: out, shape };
}

export function padRef(x: Nd, paddings: readonly (readonly [number, number])[], value = 0): Nd {
  const shape = x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
  const out = new Float64Array(sizeOf(shape)).fill(value);
  for (let f = 0; f < x.data.length; f++)
    out[
      ravel(
        unravel(f, x.shape).map((v, i) => v + paddings[i][0]),
        shape,
      )
    ] = x.data[f];
  return { data: out, shape };
}

export function concatRef(xs: readonly Nd[], axis = 0): Nd {
  const a = axis < 0 ? axis + xs[0].shape.length : axis;
  const shape = xs[0].shape.slice();
  shape[a] = xs.reduce((s, t) => s + t.shape[a], 0);
  const out = new Float64Array(sizeOf(shape));
  let at = 0;
  for (const t of xs) {
    for (let f = 0; f < t.data.length; f++) {
      const idx = unravel(f, t.shape);
      idx[a] += at;
      out[ravel(idx, shape)] = t.data[f];
    }
    at += t.shape[a];
  }
  return { data: out, shape };
}

export function stackRef(xs: readonly Nd[], axis = 0): Nd {
  const r = xs[0].shape.length + 1;
  const a = axis < 0 ? axis + r : axis;
  const shape = [...xs[0].shape.slice(0, a), xs.length, ...xs[0].shape.slice(a)];
  const out = new Float64Array(sizeOf(shape));
  for (let f = 0; f < out.length; f++) {
    const idx = unravel(f, shape);
    const k = idx[a];
    idx.splice(a, 1);
    out[f] = xs[k].data[ravel(idx, xs[k].shape)];
  }
  return { data: out, shape };
}

export function tileRef(x: Nd, reps: readonly number[]): Nd {
  const shape = x.shape.map((d, i) => d * reps[i]);
  const out = new Float64Array(sizeOf(shape));
  for (let f = 0; f < out.length; f++)
    out[f] =
      x.data[
        ravel(
          unravel(f, shape).map((v, i) => v % x.shape[i]),
          x.shape,
        )
      ];
  return { data: out, shape };
}

export function gatherRef(x: Nd, indices: Nd, axis = 0): Nd {
  const a = axis < 0 ? axis + x.shape.length : axis;
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  const out = new Float64Array(sizeOf(shape));
  const ir = indices.shape.length;
  for (let f = 0; f < out.length; f++) {
    const idx = unravel(f, shape);
    const k = indices.data[ravel(idx.slice(a, a + ir), indices.shape)];
    out[f] = x.data[ravel([...idx.slice(0, a), k, ...idx.slice(a + ir)], x.shape)];
  }
  return { data: out, shape };
}

export function oneHotRef(indices: Nd, depth: number, on = 1, off = 0): Nd {
  const shape = [...indices.shape, depth];
  const out = new Float64Array(sizeOf(shape));
  for (let f = 0; f < out.length; f++) out[f] = indices.data[Math.floor(f / depth)] === f % depth ? on : off;
  return { data: out, shape };
}

// ---- linear algebra -----------------------------------------------------------------------

/** Batched op(a) @ op(b) with numpy broadcasting of the batch dimensions. */
export function matMulRef(a: Nd, b: Nd, transposeA = false, transposeB = false): Nd {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [ar, ac] = a.shape.slice(ra - 2);
  const [br, bc] = b.shape.slice(rb - 2);
  const M = transposeA ? ac : ar;
  const K = transposeA ? ar : ac;
  const N = transposeB ? br : bc;
  if ((transposeB ? bc : br) !== K) throw new Error('reference matMul: inner dimensions differ');
  const batchA = a.shape.slice(0, ra - 2);
  const batchB = b.shape.slice(0, rb - 2);
  const batch = broadcastShape(batchA, batchB);
  if (!batch) throw new Error('reference matMul: batch dimensions do not broadcast');
  const nb = sizeOf(batch);
  const out = new Float64Array(nb * M * N);
  for (let bi = 0; bi < nb; bi++) {
    const idx = unravel(bi, batch);
    const oa = broadcastIndex(idx, batchA) * ar * ac;
    const ob = broadcastIndex(idx, batchB) * br * bc;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a.data[oa + (transposeA ? k * ac + i : i * ac + k)];
          const bv = b.data[ob + (transposeB ? j * bc + k : k * bc + j)];
          s += av * bv;
        }
        out[(bi * M + i) * N + j] = s;
      }
    }
  }
  return { data: out, shape: [...batch, M, N] };
}

// ---- neural-network ops -------------------------------------------------------------------

export function logSoftmaxRef(x: Nd, axis = -1): Nd {
  const a = axis < 0 ? axis + x.shape.length : axis;
  return binaryRef(x, reduceRef('logSumExp', x, [a], true), (v, l) => v - l);
}

export function softmaxRef(x: Nd, axis = -1): Nd {
  return unaryRef(logSoftmaxRef(x, axis), Math.exp);
}

export function batchNormRef(x: Nd, mean: Nd, variance: Nd, offset?: Nd, scale?: Nd, eps = 0.001): Nd {
  const args = [x, mean, variance, offset ?? nd([0], []), scale ?? nd([1], [])];
  return naryRef(args, (v, m, s2, o, g) => ((v - m) * g) / Math.sqrt(s2 + eps) + o);
}

/** tfjs' Reduction enum values. */
export const NONE = 0;
export const MEAN = 1;
export const SUM = 2;
export const SUM_BY_NONZERO_WEIGHTS = 3;

/** tfjs' computeWeightedLoss, from its documented definition. */
export function weightedLossRef(losses: Nd, weights: Nd | undefined, reduction: number): Nd {
  const w = weights ?? nd([1], []);
  const weighted = binaryRef(losses, w, (l, wi) => l * wi);
  if (reduction === NONE) return weights ? weighted : losses;
  const total = weighted.data.reduce((s, v) => s + v, 0);
  if (reduction === SUM) return nd([total], []);
  const wb = naryRef([losses, w], (_l, wi) => wi).data;
  if (reduction === MEAN)
    return nd([weights ? total / wb.reduce((s, v) => s + v, 0) : total / losses.data.length], []);
  const nonZero = weights ? wb.reduce((s, v) => s + (v !== 0 ? 1 : 0), 0) : losses.data.length;
  return nd([total / nonZero], []);
}

export function softmaxCrossEntropyRef(
  labels: Nd,
  logits: Nd,
  weights?: Nd,
  labelSmoothing = 0,
  reduction = SUM_BY_NONZERO_WEIGHTS,
): Nd {
  const c = logits.shape[logits.shape.length - 1];
  const y =
    labelSmoothing > 0 ? unaryRef(labels, (v) => v * (1 - labelSmoothing) + labelSmoothing / c) : labels;
  const lsm = logSoftmaxRef(logits, -1);
  const perClass = binaryRef(y, lsm, (yi, l) => -yi * l);
  return weightedLossRef(reduceRef('sum', perClass, [-1 + logits.shape.length]), weights, reduction);
}

export function sigmoidCrossEntropyRef(
  labels: Nd,
  logits: Nd,
  weights?: Nd,
  labelSmoothing = 0,
  reduction = SUM_BY_NONZERO_WEIGHTS,
): Nd {
  const y =
    labelSmoothing > 0 ? unaryRef(labels, (v) => v * (1 - labelSmoothing) + 0.5 * labelSmoothing) : labels;
  // -y log(sigmoid(z)) - (1 - y) log(1 - sigmoid(z)) = softplus(z) - y z
  const losses = binaryRef(y, logits, (yi, z) => softplus(z) - yi * z);
  return weightedLossRef(losses, weights, reduction);
}

export function meanSquaredErrorRef(
  labels: Nd,
  predictions: Nd,
  weights?: Nd,
  reduction = SUM_BY_NONZERO_WEIGHTS,
): Nd {
  return weightedLossRef(
    binaryRef(labels, predictions, (y, p) => (y - p) * (y - p)),
    weights,
    reduction,
  );
}

// ---- comparing ----------------------------------------------------------------------------

/** sum(x .* w): the scalar whose gradient is the vector-Jacobian product with w. */
export function dotSum(x: Nd, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.data.length; i++) s += x.data[i] * w[i];
  return s;
}
