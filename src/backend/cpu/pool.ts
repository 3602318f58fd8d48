// Max and average pooling (NHWC) and their gradients. Padding cells never win a max and are not
// counted in an average (TensorFlow's rule), so 'same' pools divide by the in-bounds window size.
import type { Conv2DInfo } from '../primitives.js';
import { forEachWindow } from './window.js';

/** For each output pixel: start(yAt), tap(xAt, yAt) per in-bounds window cell, end(yAt, count). */
function windows(
  i: Conv2DInfo,
  start: (yAt: number) => void,
  tap: (xAt: number, yAt: number) => void,
  end: (yAt: number, count: number) => void,
): void {
  forEachWindow(i, i.inC, { start, tap, end });
}

const outSize = (i: Conv2DInfo) => i.batch * i.outH * i.outW * i.inC;

export function maxPool(x: Float32Array, i: Conv2DInfo): Float32Array {
  const C = i.inC;
  const y = new Float32Array(outSize(i));
  windows(
    i,
    (yAt) => y.fill(-Infinity, yAt, yAt + C),
    (xAt, yAt) => {
      for (let c = 0; c < C; c++) {
        const v = x[xAt + c];
        // NaN propagates, as in TensorFlow
        if (v > y[yAt + c] || Number.isNaN(v)) y[yAt + c] = v;
      }
    },
    () => {},
  );
  return y;
}

/** Routes each dy to the first position holding its window's maximum. */
export function maxPoolGrad(dy: Float32Array, x: Float32Array, i: Conv2DInfo): Float32Array {
  const C = i.inC;
  const dx = new Float32Array(i.batch * i.inH * i.inW * C);
  const best = new Float32Array(C);
  const where = new Int32Array(C);
  windows(
    i,
    () => {
      best.fill(-Infinity);
      where.fill(-1);
    },
    (xAt) => {
      for (let c = 0; c < C; c++) {
        const v = x[xAt + c];
        if (where[c] < 0 || v > best[c]) {
          best[c] = v;
          where[c] = xAt + c;
        }
      }
    },
    (yAt) => {
      for (let c = 0; c < C; c++) if (where[c] >= 0) dx[where[c]] += dy[yAt + c];
    },
  );
  return dx;
}

export function avgPool(x: Float32Array, i: Conv2DInfo): Float32Array {
  const C = i.inC;
  const y = new Float32Array(outSize(i));
  windows(
    i,
    () => {},
    (xAt, yAt) => {
      for (let c = 0; c < C; c++) y[yAt + c] += x[xAt + c];
    },
    (yAt, count) => {
      // a window entirely in padding averages no cells: NaN, as in tfjs
      const inv = 1 / count;
      for (let c = 0; c < C; c++) y[yAt + c] = count > 0 ? y[yAt + c] * inv : Number.NaN;
    },
  );
  return y;
}

export function avgPoolGrad(dy: Float32Array, i: Conv2DInfo): Float32Array {
  const C = i.inC;
  const dx = new Float32Array(i.batch * i.inH * i.inW * C);
  // two passes per window: count the in-bounds taps, then spread dy / count over them
  const taps: number[] = [];
  windows(
    i,
    () => {
      taps.length = 0;
    },
    (xAt) => {
      taps.push(xAt);
    },
    (yAt, count) => {
      const inv = count > 0 ? 1 / count : 0;
      for (const xAt of taps) for (let c = 0; c < C; c++) dx[xAt + c] += dy[yAt + c] * inv;
    },
  );
  return dx;
}
