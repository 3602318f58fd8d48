// The sliding-window walk that depthwise convolutions and pools share (NHWC): every output pixel,
// then every window cell that falls inside the input (padding cells are skipped).
import type { Conv2DInfo } from '../primitives.js';

export interface WindowVisitor {
  /** before an output pixel's window; yAt is the offset of its channel 0 */
  start?(yAt: number): void;
  /** one in-bounds cell: xAt is the input offset of its channel 0, k = kh * kW + kw */
  tap(xAt: number, yAt: number, k: number): void;
  /** after the window, with the number of in-bounds cells */
  end?(yAt: number, count: number): void;
}

/** Walks `i`'s windows; `outC` is the output's channel count (inC * multiplier for depthwise). */
export function forEachWindow(i: Conv2DInfo, outC: number, v: WindowVisitor): void {
  const {
    batch,
    inH,
    inW,
    inC,
    outH,
    outW,
    kH,
    kW,
    strideH,
    strideW,
    dilationH,
    dilationW,
    padTop,
    padLeft,
  } = i;
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        const yAt = ((n * outH + oh) * outW + ow) * outC;
        v.start?.(yAt);
        let count = 0;
        for (let kh = 0; kh < kH; kh++) {
          const ih = oh * strideH - padTop + kh * dilationH;
          if (ih < 0 || ih >= inH) continue;
          for (let kw = 0; kw < kW; kw++) {
            const iw = ow * strideW - padLeft + kw * dilationW;
            if (iw < 0 || iw >= inW) continue;
            v.tap(((n * inH + ih) * inW + iw) * inC, yAt, kh * kW + kw);
            count++;
          }
        }
        v.end?.(yAt, count);
      }
    }
  }
}
