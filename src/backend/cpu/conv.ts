// conv2d and its two gradients on NHWC data.
//
// convMixed() is the backend's entry: operands in float32, bfloat16 or float16 storage, run by the
// native addon (native/conv.cc: multi-threaded, im2col per task in bounded buffers, 16-bit operands
// read directly — bfloat16 through the AVX512-BF16 GEMM — and a 16-bit result rounded once) when it
// is built, else by the JavaScript float32 functions below on decoded copies, rounded afterwards.
//
// The JavaScript path: im2col + GEMM. The patch matrix is built for a chunk of output rows at a time
// so its size stays bounded (COL_BUDGET floats) whatever the batch; 1x1 stride-1 unpadded
// convolutions skip im2col.
import { type DType, decodeBfloat16, decodeFloat16, fromNumbers } from '../../dtype.js';
import type { Conv2DInfo } from '../primitives.js';
import { gemm } from './gemm.js';
import { convGeometry, loadNativeMixed, nativeTypes } from './native.js';

/** The float formats convolutions take: storage Float32Array (float32) or Uint16Array (16-bit). */
export type ConvDType = 'float32' | 'bfloat16' | 'float16';
export type ConvArray = Float32Array | Uint16Array;
export type ConvOp = 'forward' | 'backpropInput' | 'backpropFilter';

const NATIVE_OP: Record<ConvOp, 0 | 1 | 2> = { forward: 0, backpropInput: 1, backpropFilter: 2 };

function outputSize(op: ConvOp, i: Conv2DInfo): number {
  if (op === 'forward') return i.batch * i.outH * i.outW * i.outC;
  if (op === 'backpropInput') return i.batch * i.inH * i.inW * i.inC;
  return i.kH * i.kW * i.inC * i.outC;
}

function asFloat32(x: ConvArray, t: ConvDType): Float32Array {
  if (t === 'float32') return x as Float32Array;
  return t === 'bfloat16' ? decodeBfloat16(x as Uint16Array) : decodeFloat16(x as Uint16Array);
}

/**
 * forward: (x, w) -> y; backpropInput: (dy, w) -> dx; backpropFilter: (x, dy) -> dw, each operand
 * in its own float format, the result in outType (float32 accumulation, rounded once to 16 bits).
 */
export function convMixed(
  op: ConvOp,
  in1: ConvArray,
  t1: ConvDType,
  in2: ConvArray,
  t2: ConvDType,
  outType: ConvDType,
  i: Conv2DInfo,
  /** the output array (every element is written); fresh zeros by default */
  alloc: (dtype: ConvDType, n: number) => ConvArray = (d, n) =>
    d === 'float32' ? new Float32Array(n) : new Uint16Array(n),
): ConvArray {
  const native = loadNativeMixed();
  if (native) {
    const out = alloc(outType, outputSize(op, i));
    native.conv2d(NATIVE_OP[op], in1, in2, out, nativeTypes(t1, t2, outType), ...convGeometry(i));
    return out;
  }
  const a = asFloat32(in1, t1);
  const b = asFloat32(in2, t2);
  const r =
    op === 'forward'
      ? conv2d(a, b, i)
      : op === 'backpropInput'
        ? conv2dBackpropInput(a, b, i)
        : conv2dBackpropFilter(a, b, i);
  return outType === 'float32' ? r : (fromNumbers(outType as DType, r) as Uint16Array);
}

/** Upper bound on the patch matrix, in float32 elements (32 MiB). */
const DEFAULT_COL_BUDGET = 8 << 20;
let COL_BUDGET = DEFAULT_COL_BUDGET;

/**
 * Sets the patch-matrix budget in float32 elements (undefined restores the default) and returns the
 * previous one. For tests: a tiny budget exercises the chunked paths on small shapes.
 */
export function setColBudget(floats?: number): number {
  const prev = COL_BUDGET;
  if (floats !== undefined && !(Number.isInteger(floats) && floats > 0))
    throw new Error(`setColBudget: expected a positive integer, got ${floats}`);
  COL_BUDGET = floats ?? DEFAULT_COL_BUDGET;
  return prev;
}

function isPointwise(i: Conv2DInfo): boolean {
  return (
    i.kH === 1 &&
    i.kW === 1 &&
    i.strideH === 1 &&
    i.strideW === 1 &&
    i.padTop === 0 &&
    i.padLeft === 0 &&
    i.outH === i.inH &&
    i.outW === i.inW
  );
}

/** Output rows (n, oh, ow flattened) per chunk. */
function chunkRows(i: Conv2DInfo): number {
  const patch = i.kH * i.kW * i.inC;
  return Math.max(1, Math.min(i.batch * i.outH * i.outW, Math.floor(COL_BUDGET / patch)));
}

/** Fills col[(r - r0), kh, kw, c] with x at output row r's receptive field (zeros outside). */
function im2col(x: Float32Array, i: Conv2DInfo, r0: number, rows: number, col: Float32Array): void {
  const { inH, inW, inC, outH, outW, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = i;
  const patch = kH * kW * inC;
  const perImage = outH * outW;
  // with dilation 1 a window row (kw, c) is one contiguous run of the input: copy it whole
  const runs = dilationW === 1;
  const runLen = kW * inC;
  for (let r = 0; r < rows; r++) {
    const g = r0 + r;
    const n = Math.floor(g / perImage);
    const rem = g - n * perImage;
    const oh = Math.floor(rem / outW);
    const ow = rem - oh * outW;
    const iw0 = ow * strideW - padLeft;
    let at = r * patch;
    for (let kh = 0; kh < kH; kh++) {
      const ih = oh * strideH - padTop + kh * dilationH;
      if (ih < 0 || ih >= inH) {
        col.fill(0, at, at + runLen);
        at += runLen;
        continue;
      }
      const rowBase = (n * inH + ih) * inW;
      if (runs && iw0 >= 0 && iw0 + kW <= inW) {
        const src = (rowBase + iw0) * inC;
        col.set(x.subarray(src, src + runLen), at);
        at += runLen;
        continue;
      }
      for (let kw = 0; kw < kW; kw++) {
        const iw = iw0 + kw * dilationW;
        if (iw >= 0 && iw < inW) {
          const src = (rowBase + iw) * inC;
          for (let c = 0; c < inC; c++) col[at + c] = x[src + c];
        } else {
          col.fill(0, at, at + inC);
        }
        at += inC;
      }
    }
  }
}

/** Adds col (rows x patch) back into dx at each row's receptive field: the adjoint of im2col. */
function col2imAdd(col: Float32Array, i: Conv2DInfo, r0: number, rows: number, dx: Float32Array): void {
  const { inH, inW, inC, outH, outW, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = i;
  const patch = kH * kW * inC;
  const perImage = outH * outW;
  const runs = dilationW === 1;
  const runLen = kW * inC;
  for (let r = 0; r < rows; r++) {
    const g = r0 + r;
    const n = Math.floor(g / perImage);
    const rem = g - n * perImage;
    const oh = Math.floor(rem / outW);
    const ow = rem - oh * outW;
    const iw0 = ow * strideW - padLeft;
    let at = r * patch;
    for (let kh = 0; kh < kH; kh++) {
      const ih = oh * strideH - padTop + kh * dilationH;
      if (ih < 0 || ih >= inH) {
        at += runLen;
        continue;
      }
      const rowBase = (n * inH + ih) * inW;
      if (runs && iw0 >= 0 && iw0 + kW <= inW) {
        // the window row is one contiguous run of dx
        const dst = (rowBase + iw0) * inC;
        for (let t = 0; t < runLen; t++) dx[dst + t] += col[at + t];
        at += runLen;
        continue;
      }
      for (let kw = 0; kw < kW; kw++) {
        const iw = iw0 + kw * dilationW;
        if (iw >= 0 && iw < inW) {
          const dst = (rowBase + iw) * inC;
          for (let c = 0; c < inC; c++) dx[dst + c] += col[at + c];
        }
        at += inC;
      }
    }
  }
}

/** y[n,oh,ow,oc] = Σ x[n, oh*s - pad + kh*d, ow*s - pad + kw*d, c] · w[kh,kw,c,oc]. */
export function conv2d(x: Float32Array, w: Float32Array, i: Conv2DInfo): Float32Array {
  const rowsAll = i.batch * i.outH * i.outW;
  const patch = i.kH * i.kW * i.inC;
  const y = new Float32Array(rowsAll * i.outC);
  const mm = (a: Float32Array, r0: number, rows: number) =>
    gemm({
      batch: 1,
      M: rows,
      N: i.outC,
      K: patch,
      transA: false,
      transB: false,
      a,
      aOffset: 0,
      lda: patch,
      strideA: 0,
      b: w,
      bOffset: 0,
      ldb: i.outC,
      strideB: 0,
      c: y,
      cOffset: r0 * i.outC,
      ldc: i.outC,
      strideC: 0,
      accumulate: false,
    });
  if (isPointwise(i)) {
    mm(x, 0, rowsAll);
    return y;
  }
  const chunk = chunkRows(i);
  const col = new Float32Array(chunk * patch);
  for (let r0 = 0; r0 < rowsAll; r0 += chunk) {
    const rows = Math.min(chunk, rowsAll - r0);
    im2col(x, i, r0, rows, col);
    mm(col, r0, rows);
  }
  return y;
}

/** dx = col2im(dy · wᵀ): the gradient of conv2d with respect to its input. */
export function conv2dBackpropInput(dy: Float32Array, w: Float32Array, i: Conv2DInfo): Float32Array {
  const rowsAll = i.batch * i.outH * i.outW;
  const patch = i.kH * i.kW * i.inC;
  const dx = new Float32Array(i.batch * i.inH * i.inW * i.inC);
  const mm = (c: Float32Array, r0: number, rows: number) =>
    gemm({
      batch: 1,
      M: rows,
      N: patch,
      K: i.outC,
      transA: false,
      transB: true,
      a: dy,
      aOffset: r0 * i.outC,
      lda: i.outC,
      strideA: 0,
      b: w,
      bOffset: 0,
      ldb: i.outC,
      strideB: 0,
      c,
      cOffset: 0,
      ldc: patch,
      strideC: 0,
      accumulate: false,
    });
  if (isPointwise(i)) {
    mm(dx, 0, rowsAll);
    return dx;
  }
  const chunk = chunkRows(i);
  const col = new Float32Array(chunk * patch);
  for (let r0 = 0; r0 < rowsAll; r0 += chunk) {
    const rows = Math.min(chunk, rowsAll - r0);
    mm(col, r0, rows);
    col2imAdd(col, i, r0, rows, dx);
  }
  return dx;
}

/** dw = im2col(x)ᵀ · dy, summed over chunks: the gradient of conv2d with respect to its filter. */
export function conv2dBackpropFilter(x: Float32Array, dy: Float32Array, i: Conv2DInfo): Float32Array {
  const rowsAll = i.batch * i.outH * i.outW;
  const patch = i.kH * i.kW * i.inC;
  const dw = new Float32Array(patch * i.outC);
  const mm = (a: Float32Array, r0: number, rows: number, accumulate: boolean) =>
    gemm({
      batch: 1,
      M: patch,
      N: i.outC,
      K: rows,
      transA: true,
      transB: false,
      a,
      aOffset: 0,
      lda: patch,
      strideA: 0,
      b: dy,
      bOffset: r0 * i.outC,
      ldb: i.outC,
      strideB: 0,
      c: dw,
      cOffset: 0,
      ldc: i.outC,
      strideC: 0,
      accumulate,
    });
  if (isPointwise(i)) {
    mm(x, 0, rowsAll, false);
    return dw;
  }
  const chunk = chunkRows(i);
  const col = new Float32Array(chunk * patch);
  for (let r0 = 0; r0 < rowsAll; r0 += chunk) {
    const rows = Math.min(chunk, rowsAll - r0);
    im2col(x, i, r0, rows, col);
    mm(col, r0, rows, r0 > 0);
  }
  return dw;
}
