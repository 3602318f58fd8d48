// Output geometry and padding of convolutions and pools, with TensorFlow's rules for 'same',
// 'valid', a number (the same explicit padding on every side) and explicit [[0,0],[t,b],[l,r],[0,0]].
import type { Conv2DInfo } from '../../backend/primitives.js';
import { check, fail } from './util.js';

export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];
export type PadType = 'valid' | 'same' | number | ExplicitPadding;
export type RoundingMode = 'floor' | 'round' | 'ceil';

export function pair(
  v: number | [number, number] | undefined,
  fallback: number,
  op: string,
  arg: string,
): [number, number] {
  const p: number[] =
    v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : Array.isArray(v) ? [...v] : [];
  check(
    p.length === 2 && p.every((n) => Number.isInteger(n) && n >= 1),
    op,
    () => `'${arg}' must be a positive integer or a pair of them, got ${JSON.stringify(v)}`,
  );
  return [p[0], p[1]];
}

/** tfjs' rounding of a fractional output size: truncation unless dimRoundingMode says otherwise. */
function rounded(v: number, mode: RoundingMode | undefined, op: string): number {
  if (mode === undefined) return Math.trunc(v);
  check(
    mode === 'floor' || mode === 'round' || mode === 'ceil',
    op,
    () => `'dimRoundingMode' must be 'floor', 'round' or 'ceil', got ${JSON.stringify(mode)}`,
  );
  return Math[mode](v);
}

/**
 * Geometry of a 2-D window op on NHWC input [batch, inH, inW, inC] with a [kH, kW] window.
 * `outC` is the output channels (filter's last dim for conv2d, inC * multiplier for depthwise).
 */
export function computeConv2DInfo(
  op: string,
  inShape: readonly number[],
  [kH, kW]: [number, number],
  outC: number,
  strides: [number, number],
  dilations: [number, number],
  pad: PadType,
  multiplier = 1,
  roundingMode?: RoundingMode,
): Conv2DInfo {
  const [batch, inH, inW, inC] = inShape;
  const [strideH, strideW] = strides;
  const [dilationH, dilationW] = dilations;
  check(
    !((strideH > 1 || strideW > 1) && (dilationH > 1 || dilationW > 1)),
    op,
    () => `'strides' [${strides}] and 'dilations' [${dilations}] cannot both be > 1 (TensorFlow's rule)`,
  );
  const effH = (kH - 1) * dilationH + 1;
  const effW = (kW - 1) * dilationW + 1;
  let outH: number;
  let outW: number;
  let padTop = 0;
  let padBottom = 0;
  let padLeft = 0;
  let padRight = 0;
  if (pad === 'same') {
    outH = Math.ceil(inH / strideH);
    outW = Math.ceil(inW / strideW);
    const alongH = Math.max(0, (outH - 1) * strideH + effH - inH);
    const alongW = Math.max(0, (outW - 1) * strideW + effW - inW);
    padTop = Math.floor(alongH / 2);
    padBottom = alongH - padTop;
    padLeft = Math.floor(alongW / 2);
    padRight = alongW - padLeft;
  } else if (pad === 'valid') {
    outH = Math.ceil((inH - effH + 1) / strideH);
    outW = Math.ceil((inW - effW + 1) / strideW);
  } else if (typeof pad === 'number') {
    check(
      Number.isInteger(pad) && pad >= 0,
      op,
      () => `numeric 'pad' must be a non-negative integer, got ${pad}`,
    );
    padTop = padBottom = padLeft = padRight = pad;
    outH = rounded((inH - effH + 2 * pad) / strideH + 1, roundingMode, op);
    outW = rounded((inW - effW + 2 * pad) / strideW + 1, roundingMode, op);
  } else if (Array.isArray(pad)) {
    check(
      pad.length === 4 &&
        pad.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v) && v >= 0)),
      op,
      () =>
        `explicit 'pad' must be [[0,0],[top,bottom],[left,right],[0,0]] of non-negative integers, got ${JSON.stringify(pad)}`,
    );
    check(
      pad[0][0] === 0 && pad[0][1] === 0 && pad[3][0] === 0 && pad[3][1] === 0,
      op,
      () => `explicit 'pad' cannot pad the batch or channel dimension: ${JSON.stringify(pad)}`,
    );
    [padTop, padBottom] = pad[1];
    [padLeft, padRight] = pad[2];
    outH = rounded((inH + padTop + padBottom - effH) / strideH + 1, roundingMode, op);
    outW = rounded((inW + padLeft + padRight - effW) / strideW + 1, roundingMode, op);
  } else {
    fail(op, `'pad' must be 'valid', 'same', a number or explicit paddings, got ${JSON.stringify(pad)}`);
  }
  check(
    outH > 0 && outW > 0,
    op,
    () =>
      `the ${kH}x${kW} '${/pool/i.test(op) ? 'filterSize' : 'filter'}' window (dilations [${dilations}]) does not fit the ${inH}x${inW} input ` +
      `with pad ${JSON.stringify(pad)}: output would be ${outH}x${outW}`,
  );
  return {
    batch,
    inH,
    inW,
    inC,
    outH,
    outW,
    outC,
    kH,
    kW,
    strideH,
    strideW,
    dilationH,
    dilationW,
    padTop,
    padLeft,
    padBottom,
    padRight,
    multiplier,
  };
}
