// Float64 references for convolutions and pools in NHWC, written as plain nested loops from
// TensorFlow's definitions, independently of src/ (no shared geometry code).

/** One spatial dimension's padding: TF's 'same'/'valid', a number (both sides) or explicit [before, after]. */
export type RefPad =
  | 'same'
  | 'valid'
  | number
  | [[number, number], [number, number], [number, number], [number, number]];

/** Output size and leading pad of one spatial dimension (TensorFlow's rules). */
export function refDim(
  inSize: number,
  k: number,
  stride: number,
  dilation: number,
  pad: RefPad,
  dim: 1 | 2,
): { out: number; before: number } {
  const eff = (k - 1) * dilation + 1;
  if (pad === 'same') {
    const out = Math.ceil(inSize / stride);
    const total = Math.max((out - 1) * stride + eff - inSize, 0);
    // TF puts the odd pad cell after (bottom/right)
    return { out, before: Math.floor(total / 2) };
  }
  if (pad === 'valid') return { out: Math.ceil((inSize - eff + 1) / stride), before: 0 };
  if (typeof pad === 'number') return { out: Math.trunc((inSize - eff + 2 * pad) / stride + 1), before: pad };
  const [b, a] = pad[dim];
  return { out: Math.floor((inSize + b + a - eff) / stride) + 1, before: b };
}

export interface RefWindow {
  strides: [number, number];
  dilations: [number, number];
  pad: RefPad;
}

interface Geo {
  N: number;
  H: number;
  W: number;
  C: number;
  oH: number;
  oW: number;
  pT: number;
  pL: number;
}

function geometry(xShape: readonly number[], kH: number, kW: number, o: RefWindow): Geo {
  const [N, H, W, C] = xShape;
  const h = refDim(H, kH, o.strides[0], o.dilations[0], o.pad, 1);
  const w = refDim(W, kW, o.strides[1], o.dilations[1], o.pad, 2);
  return { N, H, W, C, oH: h.out, oW: w.out, pT: h.before, pL: w.before };
}

/** Calls tap(ih, iw, kh, kw) for every in-bounds input cell of output pixel (oh, ow). */
function taps(
  g: Geo,
  kH: number,
  kW: number,
  o: RefWindow,
  oh: number,
  ow: number,
  tap: (ih: number, iw: number, kh: number, kw: number) => void,
) {
  for (let kh = 0; kh < kH; kh++) {
    const ih = oh * o.strides[0] - g.pT + kh * o.dilations[0];
    if (ih < 0 || ih >= g.H) continue;
    for (let kw = 0; kw < kW; kw++) {
      const iw = ow * o.strides[1] - g.pL + kw * o.dilations[1];
      if (iw < 0 || iw >= g.W) continue;
      tap(ih, iw, kh, kw);
    }
  }
}

export interface RefResult {
  y: Float64Array;
  shape: number[];
}

/** y[n,oh,ow,o] = Σ_{kh,kw,c} x[n, oh*sh - pT + kh*dh, ow*sw - pL + kw*dw, c] · w[kh,kw,c,o] */
export function refConv2d(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  o: RefWindow,
): RefResult {
  const [kH, kW, C, O] = wShape;
  const g = geometry(xShape, kH, kW, o);
  const y = new Float64Array(g.N * g.oH * g.oW * O);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.oH; oh++)
      for (let ow = 0; ow < g.oW; ow++) {
        const at = ((n * g.oH + oh) * g.oW + ow) * O;
        taps(g, kH, kW, o, oh, ow, (ih, iw, kh, kw) => {
          for (let c = 0; c < C; c++) {
            const xv = x[((n * g.H + ih) * g.W + iw) * g.C + c];
            for (let oc = 0; oc < O; oc++) y[at + oc] += xv * w[((kh * kW + kw) * C + c) * O + oc];
          }
        });
      }
  return { y, shape: [g.N, g.oH, g.oW, O] };
}

/** y[n,oh,ow,c*M+m] = Σ_{kh,kw} x[n, ih, iw, c] · w[kh,kw,c,m] */
export function refDepthwise(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  o: RefWindow,
): RefResult {
  const [kH, kW, C, M] = wShape;
  const g = geometry(xShape, kH, kW, o);
  const y = new Float64Array(g.N * g.oH * g.oW * C * M);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.oH; oh++)
      for (let ow = 0; ow < g.oW; ow++) {
        const at = ((n * g.oH + oh) * g.oW + ow) * C * M;
        taps(g, kH, kW, o, oh, ow, (ih, iw, kh, kw) => {
          for (let c = 0; c < C; c++)
            for (let m = 0; m < M; m++)
              y[at + c * M + m] +=
                x[((n * g.H + ih) * g.W + iw) * C + c] * w[((kh * kW + kw) * C + c) * M + m];
        });
      }
  return { y, shape: [g.N, g.oH, g.oW, C * M] };
}

/**
 * conv2dTranspose: x [N, h, w, inC] spread back through filter [kH, kW, outC, inC] into
 * outShape [N, H, W, outC] — the adjoint of conv2d from outShape-sized inputs to x-sized outputs.
 */
export function refConv2dTranspose(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  outShape: readonly number[],
  o: RefWindow,
): RefResult {
  const [kH, kW, OC, IC] = wShape;
  const g = geometry(outShape, kH, kW, o);
  if (g.oH !== xShape[1] || g.oW !== xShape[2])
    throw new Error('refConv2dTranspose: x does not match outShape');
  const y = new Float64Array(g.N * g.H * g.W * OC);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.oH; oh++)
      for (let ow = 0; ow < g.oW; ow++)
        taps(g, kH, kW, o, oh, ow, (ih, iw, kh, kw) => {
          for (let oc = 0; oc < OC; oc++) {
            let s = 0;
            for (let ic = 0; ic < IC; ic++)
              s += x[((n * g.oH + oh) * g.oW + ow) * IC + ic] * w[((kh * kW + kw) * OC + oc) * IC + ic];
            y[((n * g.H + ih) * g.W + iw) * OC + oc] += s;
          }
        });
  return { y, shape: [g.N, g.H, g.W, OC] };
}

/** Max or average over each window's in-bounds cells (padding never counts, TensorFlow's rule). */
export function refPool(
  kind: 'max' | 'avg',
  x: ArrayLike<number>,
  xShape: readonly number[],
  k: [number, number],
  o: RefWindow,
): RefResult {
  const g = geometry(xShape, k[0], k[1], o);
  const y = new Float64Array(g.N * g.oH * g.oW * g.C);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.oH; oh++)
      for (let ow = 0; ow < g.oW; ow++)
        for (let c = 0; c < g.C; c++) {
          let best = Number.NEGATIVE_INFINITY;
          let sum = 0;
          let count = 0;
          taps(g, k[0], k[1], o, oh, ow, (ih, iw) => {
            const v = x[((n * g.H + ih) * g.W + iw) * g.C + c];
            best = Math.max(best, v);
            sum += v;
            count++;
          });
          y[((n * g.oH + oh) * g.oW + ow) * g.C + c] = kind === 'max' ? best : sum / count;
        }
  return { y, shape: [g.N, g.oH, g.oW, g.C] };
}

/** Σ a·b in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** dw[kh,kw,c,o] = Σ_{n,oh,ow} x[n, ih, iw, c] · dy[n,oh,ow,o]: conv2d's gradient with respect to its filter. */
export function refConv2dBackpropFilter(
  x: ArrayLike<number>,
  xShape: readonly number[],
  dy: ArrayLike<number>,
  wShape: readonly number[],
  o: RefWindow,
): RefResult {
  const [kH, kW, C, O] = wShape;
  const g = geometry(xShape, kH, kW, o);
  const dw = new Float64Array(kH * kW * C * O);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.oH; oh++)
      for (let ow = 0; ow < g.oW; ow++)
        taps(g, kH, kW, o, oh, ow, (ih, iw, kh, kw) => {
          for (let c = 0; c < C; c++)
            for (let oc = 0; oc < O; oc++)
              dw[((kh * kW + kw) * C + c) * O + oc] +=
                x[((n * g.H + ih) * g.W + iw) * C + c] * dy[((n * g.oH + oh) * g.oW + ow) * O + oc];
        });
  return { y: dw, shape: [kH, kW, C, O] };
}
