// Depthwise conv2d (NHWC) and its gradients, by direct loops: each input channel c has its own
// `multiplier` filters, output channel c*multiplier + m. The work is small next to dense convs.
import type { Conv2DInfo } from '../primitives.js';
import { forEachWindow } from './window.js';

/** Calls body(xAt, yAt, wAt) for every (n, oh, ow, kh, kw) tap that falls inside the input. */
function forEachTap(i: Conv2DInfo, body: (xAt: number, yAt: number, wAt: number) => void): void {
  const outC = i.inC * i.multiplier;
  forEachWindow(i, outC, { tap: (xAt, yAt, k) => body(xAt, yAt, k * outC) });
}

export function depthwiseConv2d(x: Float32Array, w: Float32Array, i: Conv2DInfo): Float32Array {
  const { inC, multiplier: m } = i;
  const y = new Float32Array(i.batch * i.outH * i.outW * inC * m);
  forEachTap(i, (xAt, yAt, wAt) => {
    for (let c = 0; c < inC; c++) {
      const xv = x[xAt + c];
      for (let k = 0; k < m; k++) y[yAt + c * m + k] += xv * w[wAt + c * m + k];
    }
  });
  return y;
}

export function depthwiseConv2dBackpropInput(dy: Float32Array, w: Float32Array, i: Conv2DInfo): Float32Array {
  const { inC, multiplier: m } = i;
  const dx = new Float32Array(i.batch * i.inH * i.inW * inC);
  forEachTap(i, (xAt, yAt, wAt) => {
    for (let c = 0; c < inC; c++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += dy[yAt + c * m + k] * w[wAt + c * m + k];
      dx[xAt + c] += s;
    }
  });
  return dx;
}

export function depthwiseConv2dBackpropFilter(
  x: Float32Array,
  dy: Float32Array,
  i: Conv2DInfo,
): Float32Array {
  const { inC, multiplier: m } = i;
  // accumulate in float64: the filter gradient sums over batch x outH x outW taps
  const dw = new Float64Array(i.kH * i.kW * inC * m);
  forEachTap(i, (xAt, yAt, wAt) => {
    for (let c = 0; c < inC; c++) {
      const xv = x[xAt + c];
      for (let k = 0; k < m; k++) dw[wAt + c * m + k] += xv * dy[yAt + c * m + k];
    }
  });
  return Float32Array.from(dw);
}
