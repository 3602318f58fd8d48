// Convolutions and pools (NHWC): forward against float64 loop references and tfjs' CPU backend,
// gradients against central finite differences, 16-bit dtypes, chunked im2col and error messages.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setColBudget } from '../../src/backend/cpu/conv.js';
import * as keel from '../../src/index.js';
import { expectClose, numericGrad, seededFloats, TOL } from '../helpers.js';
import {
  dot,
  type RefPad,
  type RefResult,
  type RefWindow,
  refConv2d,
  refConv2dBackpropFilter,
  refConv2dTranspose,
  refDepthwise,
  refPool,
} from '../reference-conv.js';

type FloatDType = 'float32' | 'float16' | 'bfloat16';
const FLOATS: FloatDType[] = ['float32', 'float16', 'bfloat16'];
type Pair = number | [number, number];
type Pad = keel.PadType;

const pairOf = (v: Pair | undefined): [number, number] =>
  v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v;
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const batched = (s: readonly number[]) => (s.length === 3 ? [1, ...s] : [...s]);

/** A tensor of seeded values in `dtype` and the exact values it holds (what the reference must use). */
function input(
  shape: number[],
  seed: number,
  dtype: FloatDType = 'float32',
  lo = -1,
  hi = 1,
): { t: keel.Tensor; v: Float64Array } {
  const t = keel.tensor(seededFloats(size(shape), seed, lo, hi), shape, dtype);
  return { t, v: Float64Array.from(t.dataSync()) };
}

/** Checks a result's dtype, shape (the reference's, unbatched for rank-3 inputs) and values. */
function expectMatches(
  got: keel.Tensor,
  ref: RefResult,
  dtype: FloatDType,
  rank3: boolean,
  what: string,
  tol = TOL[dtype],
): void {
  expect(got.dtype, `${what} dtype`).toBe(dtype);
  expect(got.shape, `${what} shape`).toEqual(rank3 ? ref.shape.slice(1) : ref.shape);
  expectClose(got.dataSync(), ref.y, tol, what);
}

// ---- tfjs as a second oracle (float32) ----------------------------------------------------

// biome-ignore lint/suspicious/noExplicitAny: tfjs' typings are not part of this project's API
let tf: any;
beforeAll(async () => {
  const { log, warn } = console;
  console.log = console.warn = () => {}; // tfjs greets Node users on first use
  try {
    tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    tf.tidy(() => tf.conv2d(tf.zeros([1, 1, 1, 1]), tf.zeros([1, 1, 1, 1]), 1, 'valid'));
  } finally {
    console.log = log;
    console.warn = warn;
  }
});

function tfRun(fn: () => { shape: number[]; dataSync(): Float32Array }): {
  shape: number[];
  y: Float32Array;
} {
  return tf.tidy(() => {
    const r = fn();
    return { shape: r.shape, y: r.dataSync() };
  }) as never;
}

/**
 * tfjs computes numeric-pad output sizes from the filter height and stride height alone (for both
 * dims), so it is only an oracle there when the geometry is square.
 */
function tfjsComparable(c: { w: number[]; strides: Pair; pad: Pad; dil?: Pair }): boolean {
  if (typeof c.pad !== 'number') return true;
  const [sh, sw] = pairOf(c.strides);
  const [dh, dw] = pairOf(c.dil);
  return (c.w[0] - 1) * dh === (c.w[1] - 1) * dw && sh === sw;
}

function expectTfjs(got: keel.Tensor, want: { shape: number[]; y: Float32Array }, what: string): void {
  expect(got.shape, `${what} shape vs tfjs`).toEqual(want.shape);
  expectClose(got.dataSync(), want.y, 1e-5, `${what} vs tfjs`);
}

// ---- cases -----------------------------------------------------------------------------------

interface WindowCase {
  name: string;
  /** x shape, rank 3 or 4 */
  x: number[];
  /** filter shape [kH, kW, inC, outC or multiplier] (or [kH, kW] for pools) */
  w: number[];
  strides: Pair;
  pad: Pad;
  dil?: Pair;
}

const win = (c: WindowCase): RefWindow => ({
  strides: pairOf(c.strides),
  dilations: pairOf(c.dil),
  pad: c.pad as RefPad,
});
const explicit = (t: number, b: number, l: number, r: number): Pad => [
  [0, 0],
  [t, b],
  [l, r],
  [0, 0],
];

const CONV_CASES: WindowCase[] = [
  { name: 'odd sizes, same', x: [2, 7, 5, 3], w: [3, 3, 3, 4], strides: 1, pad: 'same' },
  {
    name: 'stride 2 same, asymmetric pad (0 top, 1 bottom)',
    x: [1, 6, 6, 2],
    w: [3, 3, 2, 3],
    strides: 2,
    pad: 'same',
  },
  { name: 'stride 2 same, 4x2 window on 5x7', x: [2, 5, 7, 3], w: [4, 2, 3, 2], strides: 2, pad: 'same' },
  { name: 'strides [2,3] valid', x: [1, 9, 8, 2], w: [3, 2, 2, 3], strides: [2, 3], pad: 'valid' },
  { name: 'dilation 2 same', x: [1, 7, 7, 2], w: [3, 3, 2, 2], strides: 1, pad: 'same', dil: 2 },
  { name: 'dilations [2,1] valid', x: [2, 8, 6, 2], w: [3, 2, 2, 3], strides: 1, pad: 'valid', dil: [2, 1] },
  { name: 'numeric pad 1', x: [1, 5, 6, 2], w: [3, 3, 2, 2], strides: 1, pad: 1 },
  { name: 'numeric pad 1, stride 2, output truncated', x: [1, 6, 6, 1], w: [3, 3, 1, 2], strides: 2, pad: 1 },
  {
    name: 'explicit pad, strides [1,2]',
    x: [1, 5, 7, 3],
    w: [2, 3, 3, 2],
    strides: [1, 2],
    pad: explicit(1, 2, 0, 3),
  },
  { name: '1x1 (pointwise fast path)', x: [2, 4, 5, 8], w: [1, 1, 8, 6], strides: 1, pad: 'valid' },
  { name: '1x1 same (pointwise fast path)', x: [1, 3, 3, 5], w: [1, 1, 5, 4], strides: 1, pad: 'same' },
  { name: '1x1 stride 2', x: [1, 5, 5, 3], w: [1, 1, 3, 2], strides: 2, pad: 'same' },
  {
    name: '1x1 explicit bottom/right pad',
    x: [1, 3, 4, 2],
    w: [1, 1, 2, 3],
    strides: 1,
    pad: explicit(0, 1, 0, 2),
  },
  { name: 'rank 3 input', x: [6, 5, 3], w: [2, 2, 3, 4], strides: 1, pad: 'valid' },
  { name: 'rank 3, stride 2 same', x: [5, 5, 2], w: [3, 3, 2, 2], strides: 2, pad: 'same' },
  { name: 'many channels (inC >= 32)', x: [1, 5, 4, 33], w: [3, 3, 33, 3], strides: 1, pad: 'same' },
  { name: 'window equals input', x: [2, 3, 4, 2], w: [3, 4, 2, 5], strides: 1, pad: 'valid' },
];

const DEPTHWISE_CASES: WindowCase[] = [
  { name: 'multiplier 1, same', x: [2, 5, 6, 3], w: [3, 3, 3, 1], strides: 1, pad: 'same' },
  { name: 'multiplier 2, stride 2 same', x: [1, 6, 7, 3], w: [3, 3, 3, 2], strides: 2, pad: 'same' },
  {
    name: 'multiplier 3, valid, strides [1,2]',
    x: [2, 6, 7, 2],
    w: [2, 3, 2, 3],
    strides: [1, 2],
    pad: 'valid',
  },
  { name: 'dilation 2, multiplier 2', x: [1, 7, 6, 2], w: [3, 2, 2, 2], strides: 1, pad: 'same', dil: 2 },
  { name: 'explicit pad', x: [1, 4, 5, 2], w: [3, 3, 2, 2], strides: 1, pad: explicit(2, 0, 1, 1) },
  { name: 'numeric pad', x: [1, 5, 5, 3], w: [2, 2, 3, 1], strides: 2, pad: 1 },
  { name: 'rank 3 input', x: [5, 4, 3], w: [2, 2, 3, 2], strides: 1, pad: 'valid' },
];

const POOL_CASES: WindowCase[] = [
  { name: '2x2 stride 2 valid', x: [2, 6, 6, 3], w: [2, 2], strides: 2, pad: 'valid' },
  { name: '3x3 stride 2 same, odd input', x: [1, 7, 5, 2], w: [3, 3], strides: 2, pad: 'same' },
  {
    name: '2x2 stride 2 same on odd input (pad bottom/right)',
    x: [1, 5, 5, 2],
    w: [2, 2],
    strides: 2,
    pad: 'same',
  },
  { name: '3x2 window, strides [1,2], same', x: [2, 5, 6, 1], w: [3, 2], strides: [1, 2], pad: 'same' },
  { name: 'explicit pad', x: [1, 5, 4, 2], w: [3, 3], strides: 1, pad: explicit(1, 1, 2, 0) },
  { name: 'numeric pad', x: [1, 6, 6, 2], w: [3, 3], strides: 2, pad: 1 },
  { name: 'rank 3 input', x: [6, 5, 3], w: [2, 3], strides: 1, pad: 'valid' },
];

/** Seeded random geometries: odd sizes, every padding kind, strides or dilations, rank 3 and 4. */
function randomCases(kind: 'conv' | 'depthwise' | 'pool', n: number, seed: number): WindowCase[] {
  const u = seededFloats(n * 20, seed, 0, 1);
  let j = 0;
  const ri = (lo: number, hi: number) => lo + Math.floor(u[j++] * (hi - lo + 1));
  const out: WindowCase[] = [];
  for (let i = 0; i < n; i++) {
    const kH = ri(1, 4);
    const kW = ri(1, 4);
    const dilated = kind !== 'pool' && ri(0, 2) === 0;
    const dil: [number, number] = dilated ? [ri(1, 2), ri(1, 2)] : [1, 1];
    const strides: [number, number] = dilated ? [1, 1] : [ri(1, 3), ri(1, 3)];
    const H = ri((kH - 1) * dil[0] + 1, (kH - 1) * dil[0] + 7);
    const W = ri((kW - 1) * dil[1] + 1, (kW - 1) * dil[1] + 7);
    const C = ri(1, 4);
    const pads: Pad[] = ['same', 'valid', ri(0, 2), explicit(ri(0, 2), ri(0, 2), ri(0, 2), ri(0, 2))];
    const pad = pads[ri(0, 3)];
    const x = ri(0, 3) === 0 ? [H, W, C] : [ri(1, 2), H, W, C];
    const w = kind === 'pool' ? [kH, kW] : [kH, kW, C, ri(1, 4)];
    out.push({
      name: `random ${kind} #${i} x[${x}] w[${w}] s[${strides}] d[${dil}] pad ${JSON.stringify(pad)}`,
      x,
      w,
      strides,
      pad,
      dil,
    });
  }
  return out;
}

afterEach(() => {
  setColBudget();
});

// ---- forward ---------------------------------------------------------------------------------

describe('conv2d forward', () => {
  for (const c of [...CONV_CASES, ...randomCases('conv', 8, 101)]) {
    it(`${c.name}: float32/float16/bfloat16 vs float64 reference, float32 vs tfjs`, () => {
      for (const dtype of FLOATS) {
        keel.tidy(() => {
          const x = input(c.x, 1, dtype);
          const w = input(c.w, 2, dtype);
          const y = keel.conv2d(x.t, w.t, c.strides, c.pad, 'NHWC', c.dil);
          expectMatches(
            y,
            refConv2d(x.v, batched(c.x), w.v, c.w, win(c)),
            dtype,
            c.x.length === 3,
            `${c.name} ${dtype}`,
          );
          if (dtype === 'float32' && tfjsComparable(c)) {
            const want = tfRun(() =>
              tf.conv2d(
                tf.tensor(Array.from(x.v), c.x, 'float32'),
                tf.tensor(Array.from(w.v), c.w, 'float32'),
                c.strides,
                c.pad,
                'NHWC',
                c.dil ?? 1,
              ),
            );
            expectTfjs(y, want, c.name);
          }
        });
      }
    });
  }

  it("'same' with stride 2 pads the extra cell at the bottom/right, as TensorFlow does", () => {
    keel.tidy(() => {
      const x = keel.range(1, 37).reshape([1, 6, 6, 1]);
      const w = keel.ones([3, 3, 1, 1]);
      const same = keel.conv2d(x, w, 2, 'same');
      expect(same.shape).toEqual([1, 3, 3, 1]);
      expect(Array.from(same.dataSync())).toEqual(
        Array.from(keel.conv2d(x, w, 2, explicit(0, 1, 0, 1)).dataSync()),
      );
      expect(Array.from(same.dataSync())).not.toEqual(
        Array.from(keel.conv2d(x, w, 2, explicit(1, 0, 1, 0)).dataSync()),
      );
      // top-left output: x rows 0..2, cols 0..2 (no padding on top/left)
      expect(same.dataSync()[0]).toBe(1 + 2 + 3 + 7 + 8 + 9 + 13 + 14 + 15);
    });
  });

  it('numeric pads truncate a fractional output size, or follow dimRoundingMode, as tfjs does', () => {
    keel.tidy(() => {
      // (6 - 3 + 2) / 2 + 1 = 3.5
      const x = input([1, 6, 6, 1], 51);
      const w = input([3, 3, 1, 2], 52);
      for (const mode of [undefined, 'floor', 'round', 'ceil'] as const) {
        const y = keel.conv2d(x.t, w.t, 2, 1, 'NHWC', 1, mode);
        const want = tfRun(() =>
          tf.conv2d(
            tf.tensor(Array.from(x.v), [1, 6, 6, 1]),
            tf.tensor(Array.from(w.v), [3, 3, 1, 2]),
            2,
            1,
            'NHWC',
            1,
            mode,
          ),
        );
        expectTfjs(y, want, `dimRoundingMode ${mode}`);
        const p = keel.maxPool(x.t, 3, 2, 1, mode);
        expectTfjs(
          p,
          tfRun(() => tf.maxPool(tf.tensor(Array.from(x.v), [1, 6, 6, 1]), 3, 2, 1, mode)),
          `maxPool dimRoundingMode ${mode}`,
        );
      }
      expect(keel.conv2d(x.t, w.t, 2, 1, 'NHWC', 1, 'ceil').shape).toEqual([1, 4, 4, 2]);
      expect(() => keel.conv2d(x.t, w.t, 2, 1, 'NHWC', 1, 'up' as never)).toThrow(
        /^conv2d: 'dimRoundingMode' must be 'floor', 'round' or 'ceil', got "up"/,
      );
    });
  });

  it('chained method x.conv2d(...) equals the function', () => {
    keel.tidy(() => {
      const x = input([1, 4, 4, 2], 3).t;
      const w = input([2, 2, 2, 1], 4).t;
      expect(Array.from(x.conv2d(w, 1, 'same').dataSync())).toEqual(
        Array.from(keel.conv2d(x, w, 1, 'same').dataSync()),
      );
    });
  });
});

describe('depthwiseConv2d forward', () => {
  for (const c of [...DEPTHWISE_CASES, ...randomCases('depthwise', 6, 202)]) {
    it(`${c.name}: float32/float16/bfloat16 vs float64 reference, float32 vs tfjs`, () => {
      for (const dtype of FLOATS) {
        keel.tidy(() => {
          const x = input(c.x, 5, dtype);
          const w = input(c.w, 6, dtype);
          const y = keel.depthwiseConv2d(x.t, w.t, c.strides, c.pad, 'NHWC', c.dil);
          expectMatches(
            y,
            refDepthwise(x.v, batched(c.x), w.v, c.w, win(c)),
            dtype,
            c.x.length === 3,
            `${c.name} ${dtype}`,
          );
          if (dtype === 'float32' && tfjsComparable(c)) {
            const want = tfRun(() =>
              tf.depthwiseConv2d(
                tf.tensor(Array.from(x.v), c.x, 'float32'),
                tf.tensor(Array.from(w.v), c.w, 'float32'),
                c.strides,
                c.pad,
                'NHWC',
                c.dil ?? 1,
              ),
            );
            expectTfjs(y, want, c.name);
          }
        });
      }
    });
  }
});

interface TransposeCase {
  name: string;
  x: number[];
  /** [kH, kW, outC, inC] */
  w: number[];
  out: number[];
  strides: Pair;
  pad: 'valid' | 'same' | number;
}

const TRANSPOSE_CASES: TransposeCase[] = [
  {
    name: 'stride 2 same to 6x6',
    x: [1, 3, 3, 3],
    w: [3, 3, 2, 3],
    out: [1, 6, 6, 2],
    strides: 2,
    pad: 'same',
  },
  {
    name: 'stride 2 same to odd 5x7',
    x: [2, 3, 4, 2],
    w: [3, 2, 3, 2],
    out: [2, 5, 7, 3],
    strides: 2,
    pad: 'same',
  },
  {
    name: 'stride 2 valid to 7x7',
    x: [1, 3, 3, 2],
    w: [3, 3, 1, 2],
    out: [1, 7, 7, 1],
    strides: 2,
    pad: 'valid',
  },
  {
    name: 'strides [1,2] numeric pad',
    x: [1, 4, 3, 2],
    w: [3, 3, 2, 2],
    out: [1, 4, 6, 2],
    strides: [1, 2],
    pad: 1,
  },
  {
    name: 'rank 3 input, rank 3 outputShape',
    x: [4, 4, 3],
    w: [2, 2, 2, 3],
    out: [5, 5, 2],
    strides: 1,
    pad: 'valid',
  },
];

describe('conv2dTranspose forward', () => {
  for (const c of TRANSPOSE_CASES) {
    it(`${c.name}: float32/float16/bfloat16 vs float64 reference, float32 vs tfjs`, () => {
      for (const dtype of FLOATS) {
        keel.tidy(() => {
          const x = input(c.x, 7, dtype);
          const w = input(c.w, 8, dtype);
          const y = keel.conv2dTranspose(x.t, w.t, c.out as [number, number, number], c.strides, c.pad);
          const ref = refConv2dTranspose(x.v, batched(c.x), w.v, c.w, batched(c.out), {
            strides: pairOf(c.strides),
            dilations: [1, 1],
            pad: c.pad,
          });
          expectMatches(y, ref, dtype, c.x.length === 3, `${c.name} ${dtype}`);
          if (dtype === 'float32' && tfjsComparable(c)) {
            const want = tfRun(() =>
              tf.conv2dTranspose(
                tf.tensor(Array.from(x.v), c.x, 'float32'),
                tf.tensor(Array.from(w.v), c.w, 'float32'),
                c.out,
                c.strides,
                c.pad,
              ),
            );
            expectTfjs(y, want, c.name);
          }
        });
      }
    });
  }
});

describe('maxPool and avgPool forward', () => {
  for (const c of [...POOL_CASES, ...randomCases('pool', 6, 303)]) {
    for (const kind of ['max', 'avg'] as const) {
      it(`${kind}Pool ${c.name}: float32/float16/bfloat16 vs float64 reference, float32 vs tfjs`, () => {
        for (const dtype of FLOATS) {
          keel.tidy(() => {
            const x = input(c.x, 9, dtype);
            const k = c.w as [number, number];
            const y = (kind === 'max' ? keel.maxPool : keel.avgPool)(x.t, k, c.strides, c.pad);
            expectMatches(
              y,
              refPool(kind, x.v, batched(c.x), k, win(c)),
              dtype,
              c.x.length === 3,
              `${kind}Pool ${c.name} ${dtype}`,
            );
            if (dtype === 'float32' && tfjsComparable(c)) {
              const want = tfRun(() =>
                (kind === 'max' ? tf.maxPool : tf.avgPool)(
                  tf.tensor(Array.from(x.v), c.x, 'float32'),
                  k,
                  c.strides,
                  c.pad,
                ),
              );
              expectTfjs(y, want, `${kind}Pool ${c.name}`);
            }
          });
        }
      });
    }
  }

  it("avgPool with 'same' divides by the number of in-bounds cells", () => {
    keel.tidy(() => {
      const x = keel.range(1, 10).reshape([1, 3, 3, 1]);
      // windows: {1,2,4,5}, {3,6}, {7,8}, {9}
      expect(Array.from(keel.avgPool(x, 2, 2, 'same').dataSync())).toEqual([3, 4.5, 7.5, 9]);
      const ones = keel.ones([1, 5, 4, 2]);
      expect(Array.from(keel.avgPool(ones, 3, 1, 'same').dataSync()).every((v) => v === 1)).toBe(true);
    });
  });

  it('maxPool of 16-bit input is exact (a max needs no rounding)', () => {
    for (const dtype of ['float16', 'bfloat16'] as const) {
      keel.tidy(() => {
        const x = input([1, 5, 5, 2], 11, dtype);
        const y = keel.maxPool(x.t, 3, 2, 'same');
        expect(Array.from(y.dataSync())).toEqual(
          Array.from(
            refPool('max', x.v, [1, 5, 5, 2], [3, 3], { strides: [2, 2], dilations: [1, 1], pad: 'same' }).y,
          ),
        );
      });
    }
  });
});

describe('chunked im2col', () => {
  const c: WindowCase = { name: 'chunked', x: [2, 7, 6, 3], w: [3, 2, 3, 4], strides: [2, 1], pad: 'same' };
  // patch = 3*2*3 = 18 floats: 40 gives 2 rows per chunk, 7 less than one row (1 row per chunk)
  for (const budget of [40, 7, 18 * 5]) {
    it(`budget ${budget} floats: conv2d and both gradients match the reference`, () => {
      setColBudget(budget);
      keel.tidy(() => {
        const x = input(c.x, 12);
        const w = input(c.w, 13);
        const y = keel.conv2d(x.t, w.t, c.strides, c.pad);
        const ref = refConv2d(x.v, c.x, w.v, c.w, win(c));
        expectMatches(y, ref, 'float32', false, 'forward');
        const r = input(ref.shape, 14);
        const [dx, dw] = keel.grads((a, b) => keel.conv2d(a, b, c.strides, c.pad).mul(r.t).sum())([x.t, w.t]);
        const fx = (xv: Float64Array) => dot(refConv2d(xv, c.x, w.v, c.w, win(c)).y, r.v);
        const fw = (wv: Float64Array) => dot(refConv2d(x.v, c.x, wv, c.w, win(c)).y, r.v);
        expectClose(dx.dataSync(), numericGrad(fx, x.v), TOL.float32, 'dx');
        expectClose(dw.dataSync(), numericGrad(fw, w.v), TOL.float32, 'dw');
      });
    });
  }

  it('a conv whose patch matrix exceeds the default budget (8M floats) matches the reference', () => {
    // 2x128x128 output rows x (3*3*32) patch = 9.4M floats > 8M: two chunks
    const xs = [2, 128, 128, 32];
    const ws = [3, 3, 32, 4];
    keel.tidy(() => {
      const x = input(xs, 15);
      const w = input(ws, 16);
      const y = keel.conv2d(x.t, w.t, 1, 'same');
      expectMatches(
        y,
        refConv2d(x.v, xs, w.v, ws, { strides: [1, 1], dilations: [1, 1], pad: 'same' }),
        'float32',
        false,
        'large',
      );
    });
  });
});

// ---- gradients -------------------------------------------------------------------------------

/**
 * Checks d/dx and d/dw of L = Σ op(x, w) ⊙ r (r fixed, random) against central differences of the
 * float64 reference at the same values; 16-bit gradients must keep the input dtype.
 */
function checkGrads(
  what: string,
  dtype: FloatDType,
  xShape: number[],
  wShape: number[],
  op: (x: keel.Tensor, w: keel.Tensor) => keel.Tensor,
  ref: (x: ArrayLike<number>, w: ArrayLike<number>) => RefResult,
): void {
  keel.tidy(() => {
    const x = input(xShape, 21, dtype);
    const w = input(wShape, 22, dtype);
    const refY = ref(x.v, w.v);
    const r = input(refY.shape, 23, dtype);
    const { value, grads } = keel.valueAndGrads((a, b) => op(a, b).mul(r.t).sum())([x.t, w.t]);
    const [dx, dw] = grads;
    expect(value.dtype).toBe(dtype);
    expect(dx.dtype, `${what} dx dtype`).toBe(dtype);
    expect(dw.dtype, `${what} dw dtype`).toBe(dtype);
    expect(dx.shape).toEqual(xShape);
    expect(dw.shape).toEqual(wShape);
    const wantDx = numericGrad((xv) => dot(ref(xv, w.v).y, r.v), x.v);
    const wantDw = numericGrad((wv) => dot(ref(x.v, wv).y, r.v), w.v);
    expectClose(dx.dataSync(), wantDx, TOL[dtype], `${what} ${dtype} dx`);
    expectClose(dw.dataSync(), wantDw, TOL[dtype], `${what} ${dtype} dw`);
    if (dtype === 'float32') expectClose(value.dataSync(), [dot(refY.y, r.v)], 1e-5, `${what} value`);
  });
}

describe('gradients vs central finite differences (float64 reference)', () => {
  const convGradCases: WindowCase[] = [
    { name: 'stride [2,1] same', x: [2, 5, 4, 2], w: [3, 2, 2, 3], strides: [2, 1], pad: 'same' },
    { name: 'dilation 2 valid', x: [1, 6, 5, 2], w: [2, 2, 2, 2], strides: 1, pad: 'valid', dil: 2 },
    {
      name: 'explicit pad, stride 2',
      x: [1, 5, 5, 2],
      w: [3, 3, 2, 2],
      strides: 2,
      pad: explicit(1, 0, 2, 1),
    },
    { name: '1x1 pointwise', x: [2, 3, 3, 4], w: [1, 1, 4, 3], strides: 1, pad: 'valid' },
    { name: 'rank 3, numeric pad', x: [4, 5, 2], w: [2, 3, 2, 2], strides: 1, pad: 1 },
  ];
  for (const c of convGradCases) {
    it(`conv2d ${c.name}`, () => {
      for (const dtype of FLOATS)
        checkGrads(
          `conv2d ${c.name}`,
          dtype,
          c.x,
          c.w,
          (x, w) => keel.conv2d(x, w, c.strides, c.pad, 'NHWC', c.dil),
          (x, w) => refConv2d(x, batched(c.x), w, c.w, win(c)),
        );
    });
  }

  const dwGradCases: WindowCase[] = [
    { name: 'multiplier 2, stride 2 same', x: [2, 5, 5, 2], w: [3, 3, 2, 2], strides: 2, pad: 'same' },
    { name: 'multiplier 1, dilation 2', x: [1, 6, 6, 3], w: [2, 2, 3, 1], strides: 1, pad: 'same', dil: 2 },
    {
      name: 'multiplier 3, explicit pad, rank 3',
      x: [4, 4, 2],
      w: [2, 3, 2, 3],
      strides: 1,
      pad: explicit(0, 1, 1, 1),
    },
  ];
  for (const c of dwGradCases) {
    it(`depthwiseConv2d ${c.name}`, () => {
      for (const dtype of FLOATS)
        checkGrads(
          `depthwiseConv2d ${c.name}`,
          dtype,
          c.x,
          c.w,
          (x, w) => keel.depthwiseConv2d(x, w, c.strides, c.pad, 'NHWC', c.dil),
          (x, w) => refDepthwise(x, batched(c.x), w, c.w, win(c)),
        );
    });
  }

  for (const c of TRANSPOSE_CASES.slice(0, 4)) {
    it(`conv2dTranspose ${c.name}`, () => {
      for (const dtype of FLOATS)
        checkGrads(
          `conv2dTranspose ${c.name}`,
          dtype,
          c.x,
          c.w,
          (x, w) => keel.conv2dTranspose(x, w, c.out as [number, number, number, number], c.strides, c.pad),
          (x, w) =>
            refConv2dTranspose(x, c.x, w, c.w, c.out, {
              strides: pairOf(c.strides),
              dilations: [1, 1],
              pad: c.pad,
            }),
        );
    });
  }

  const poolGradCases: WindowCase[] = [
    { name: '3x3 stride 2 same, odd input', x: [2, 5, 7, 2], w: [3, 3], strides: 2, pad: 'same' },
    {
      name: '2x2 stride 1 valid (overlapping windows)',
      x: [1, 4, 5, 3],
      w: [2, 2],
      strides: 1,
      pad: 'valid',
    },
    { name: 'explicit pad, rank 3', x: [5, 4, 2], w: [2, 3], strides: [2, 1], pad: explicit(1, 1, 0, 2) },
  ];
  for (const c of poolGradCases) {
    for (const kind of ['max', 'avg'] as const) {
      it(`${kind}Pool ${c.name}`, () => {
        for (const dtype of FLOATS) {
          keel.tidy(() => {
            // distinct values a fixed gap apart, so the max is unique and stable under ±h
            const n = size(c.x);
            const perm = seededFloats(n, 31, 0, 1)
              .map((u, i) => [u, i])
              .sort((a, b) => a[0] - b[0])
              .map(([, i]) => i);
            const x = keel.tensor(
              perm.map((p) => (p - n / 2) / 8),
              c.x,
              dtype,
            );
            const xv = Float64Array.from(x.dataSync());
            const k = c.w as [number, number];
            const ref = (v: ArrayLike<number>) => refPool(kind, v, batched(c.x), k, win(c));
            const r = input(ref(xv).shape, 32, dtype);
            const dx = keel.grad((a) =>
              (kind === 'max' ? keel.maxPool : keel.avgPool)(a, k, c.strides, c.pad).mul(r.t).sum(),
            )(x);
            expect(dx.dtype).toBe(dtype);
            expect(dx.shape).toEqual(c.x);
            expectClose(
              dx.dataSync(),
              numericGrad((v) => dot(ref(v).y, r.v), xv),
              TOL[dtype],
              `${kind}Pool ${c.name} ${dtype}`,
            );
          });
        }
      });
    }
  }

  it('maxPool sends each gradient to the first maximum of its window (ties), like tfjs', () => {
    keel.tidy(() => {
      const x = keel.ones([1, 4, 4, 1]);
      const dx = keel.grad((a) => keel.maxPool(a, 2, 1, 'valid').sum())(x);
      // 3x3 windows, each routes its 1 to its top-left cell
      expect(Array.from(dx.dataSync())).toEqual([1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
      const want = tfRun(() =>
        tf.grad((a: unknown) => tf.sum(tf.maxPool(a, 2, 1, 'valid')))(tf.ones([1, 4, 4, 1])),
      );
      expect(Array.from(dx.dataSync())).toEqual(Array.from(want.y));
    });
  });
});

describe('second-order gradients', () => {
  const c = { x: [1, 4, 5, 2], w: [2, 3, 2, 2], strides: [1, 2] as [number, number], pad: 'same' as const };
  const o: RefWindow = { strides: c.strides, dilations: [1, 1], pad: c.pad };
  const setup = () => {
    const x = input(c.x, 41);
    const w = input(c.w, 42);
    const yShape = refConv2d(x.v, c.x, w.v, c.w, o).shape;
    const r = input(yShape, 43);
    return { x, w, r };
  };
  // f(x, w) = Σ r ⊙ conv(x, w)²: ∂f/∂x = conv2dBackpropInput(2 r ⊙ y, w), ∂f/∂w = conv2dBackpropFilter(x, 2 r ⊙ y)
  const fOf = (r: keel.Tensor) => (x: keel.Tensor, w: keel.Tensor) =>
    keel.conv2d(x, w, c.strides, c.pad).square().mul(r).sum();
  const twoRY = (xv: ArrayLike<number>, wv: ArrayLike<number>, rv: ArrayLike<number>) =>
    refConv2d(xv, c.x, wv, c.w, o).y.map((v, i) => 2 * rv[i] * v);

  it('through conv2dBackpropInput: d/dx and d/dw of Σ s ⊙ ∂f/∂x', () => {
    keel.tidy(() => {
      const { x, w, r } = setup();
      const s = input(c.x, 44);
      const [gx, gw] = keel.grads((a, b) =>
        keel
          .grad((aa) => fOf(r.t)(aa, b))(a)
          .mul(s.t)
          .sum(),
      )([x.t, w.t]);
      const H = (xv: ArrayLike<number>, wv: ArrayLike<number>) =>
        dot(
          refConv2dTranspose(twoRY(xv, wv, r.v), refConv2d(xv, c.x, wv, c.w, o).shape, wv, c.w, c.x, o).y,
          s.v,
        );
      expectClose(
        gx.dataSync(),
        numericGrad((xv) => H(xv, w.v), x.v, 1e-4),
        1e-4,
        'd/dx',
      );
      expectClose(
        gw.dataSync(),
        numericGrad((wv) => H(x.v, wv), w.v, 1e-4),
        1e-4,
        'd/dw',
      );
    });
  });

  it('through conv2dBackpropFilter: d/dx and d/dw of Σ s ⊙ ∂f/∂w', () => {
    keel.tidy(() => {
      const { x, w, r } = setup();
      const s = input(c.w, 45);
      const [gx, gw] = keel.grads((a, b) =>
        keel
          .grad((bb) => fOf(r.t)(a, bb))(b)
          .mul(s.t)
          .sum(),
      )([x.t, w.t]);
      const H = (xv: ArrayLike<number>, wv: ArrayLike<number>) =>
        dot(refConv2dBackpropFilter(xv, c.x, twoRY(xv, wv, r.v), c.w, o).y, s.v);
      expectClose(
        gx.dataSync(),
        numericGrad((xv) => H(xv, w.v), x.v, 1e-4),
        1e-4,
        'd/dx',
      );
      expectClose(
        gw.dataSync(),
        numericGrad((wv) => H(x.v, wv), w.v, 1e-4),
        1e-4,
        'd/dw',
      );
    });
  });

  it('avgPool twice differentiated: the gradient of avgPool is linear, its own gradient is avgPool', () => {
    keel.tidy(() => {
      const x = input([1, 5, 5, 2], 46);
      const s = input([1, 5, 5, 2], 47);
      // g(x) = Σ s ⊙ ∂/∂x Σ avgPool(x)²
      const gx = keel.grad((a) =>
        keel
          .grad((aa) => keel.avgPool(aa, 3, 2, 'same').square().sum())(a)
          .mul(s.t)
          .sum(),
      )(x.t);
      const o2: RefWindow = { strides: [2, 2], dilations: [1, 1], pad: 'same' };
      // the pooling matrix A in float64, column by column: avgPool(x) = A x
      const nIn = 50;
      const A: Float64Array[] = [];
      for (let i = 0; i < nIn; i++) {
        const e = new Float64Array(nIn);
        e[i] = 1;
        A.push(refPool('avg', e, [1, 5, 5, 2], [3, 3], o2).y);
      }
      const nOut = A[0].length;
      // g(x) = sᵀ (2 Aᵀ A x)  =>  ∇g = 2 Aᵀ A s
      const As = new Float64Array(nOut);
      for (let i = 0; i < nIn; i++) for (let o3 = 0; o3 < nOut; o3++) As[o3] += A[i][o3] * s.v[i];
      const want = new Float64Array(nIn);
      for (let i = 0; i < nIn; i++) for (let o3 = 0; o3 < nOut; o3++) want[i] += 2 * A[i][o3] * As[o3];
      expectClose(gx.dataSync(), want, 1e-5, 'avgPool second order');
    });
  });

  it('maxPool second order is refused with a message naming maxPool', () => {
    keel.tidy(() => {
      const x = input([1, 4, 4, 1], 48);
      expect(() =>
        keel.grad((a) =>
          keel
            .grad((aa) => keel.maxPool(aa, 2, 2, 'valid').square().sum())(a)
            .sum(),
        )(x.t),
      ).toThrow(/maxPool: second-order gradients/);
    });
  });
});

// ---- errors ----------------------------------------------------------------------------------

describe('argument errors name the op and the argument', () => {
  const x = () => keel.zeros([1, 5, 5, 2]);
  const w = () => keel.zeros([3, 3, 2, 4]);
  const cases: [string, () => unknown, RegExp][] = [
    [
      'conv2d x rank 2',
      () => keel.conv2d(keel.zeros([5, 5]), w(), 1, 'same'),
      /^conv2d: 'x' must be rank 3 or 4 \(NHWC\), got shape \[5,5\]/,
    ],
    [
      'conv2d x rank 5',
      () => keel.conv2d(keel.zeros([1, 1, 5, 5, 2]), w(), 1, 'same'),
      /^conv2d: 'x' must be rank 3 or 4/,
    ],
    [
      'conv2d filter rank 3',
      () => keel.conv2d(x(), keel.zeros([3, 3, 2]), 1, 'same'),
      /^conv2d: 'filter' must be rank 4/,
    ],
    [
      'conv2d channel mismatch',
      () => keel.conv2d(x(), keel.zeros([3, 3, 3, 4]), 1, 'same'),
      /^conv2d: input channels of x \(2.*filter's inChannels \(3/,
    ],
    [
      'conv2d strides 0',
      () => keel.conv2d(x(), w(), 0, 'same'),
      /^conv2d: 'strides' must be a positive integer/,
    ],
    [
      'conv2d strides 1.5',
      () => keel.conv2d(x(), w(), 1.5, 'same'),
      /^conv2d: 'strides' must be a positive integer/,
    ],
    [
      'conv2d strides of length 3',
      () => keel.conv2d(x(), w(), [1, 1, 1] as never, 'same'),
      /^conv2d: 'strides' must be a positive integer or a pair/,
    ],
    [
      'conv2d dilations -1',
      () => keel.conv2d(x(), w(), 1, 'same', 'NHWC', -1),
      /^conv2d: 'dilations' must be a positive integer/,
    ],
    [
      'conv2d strides and dilations > 1',
      () => keel.conv2d(x(), w(), 2, 'same', 'NHWC', 2),
      /^conv2d: 'strides' \[2,2\] and 'dilations' \[2,2\] cannot both be > 1/,
    ],
    [
      'conv2d pad SAME',
      () => keel.conv2d(x(), w(), 1, 'SAME' as never),
      /^conv2d: 'pad' must be 'valid', 'same', a number or explicit paddings, got "SAME"/,
    ],
    [
      'conv2d pad -1',
      () => keel.conv2d(x(), w(), 1, -1),
      /^conv2d: numeric 'pad' must be a non-negative integer, got -1/,
    ],
    [
      'conv2d pad 0.5',
      () => keel.conv2d(x(), w(), 1, 0.5),
      /^conv2d: numeric 'pad' must be a non-negative integer/,
    ],
    [
      'conv2d explicit pad on batch',
      () =>
        keel.conv2d(x(), w(), 1, [
          [1, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]),
      /^conv2d: explicit 'pad' cannot pad the batch or channel/,
    ],
    [
      'conv2d explicit pad malformed',
      () => keel.conv2d(x(), w(), 1, [[0, 0], [1], [1, 1], [0, 0]] as never),
      /^conv2d: explicit 'pad' must be \[\[0,0\],\[top,bottom\]/,
    ],
    [
      'conv2d explicit pad negative',
      () => keel.conv2d(x(), w(), 1, explicit(-1, 0, 0, 0)),
      /^conv2d: explicit 'pad' must be/,
    ],
    [
      'conv2d window larger than input',
      () => keel.conv2d(keel.zeros([1, 2, 2, 2]), w(), 1, 'valid'),
      /^conv2d: the 3x3 'filter' window .*does not fit the 2x2 input/,
    ],
    [
      'conv2d dilated window larger than input',
      () => keel.conv2d(x(), w(), 1, 'valid', 'NHWC', 3),
      /^conv2d: the 3x3 'filter' window \(dilations \[3,3\]\) does not fit/,
    ],
    [
      'conv2d NCHW',
      () => keel.conv2d(x(), w(), 1, 'same', 'NCHW'),
      /^conv2d: only dataFormat 'NHWC' is supported, got 'NCHW'/,
    ],
    [
      'conv2d mixed dtypes',
      () => keel.conv2d(keel.zeros([1, 5, 5, 2], 'float16'), w(), 1, 'same'),
      /^conv2d: argument 'x' is float16 but 'filter' is float32/,
    ],
    [
      'conv2d mixed dtypes (bfloat16 filter)',
      () => keel.conv2d(x(), keel.zeros([3, 3, 2, 4], 'bfloat16'), 1, 'same'),
      /^conv2d: argument 'x' is float32 but 'filter' is bfloat16/,
    ],
    [
      'conv2d int32 x',
      () => keel.conv2d(keel.zeros([1, 5, 5, 2], 'int32'), keel.zeros([3, 3, 2, 4], 'int32'), 1, 'same'),
      /^conv2d: argument 'x' must be a float tensor.*got int32/,
    ],
    [
      'conv2d int32 filter',
      () => keel.conv2d(x(), keel.zeros([3, 3, 2, 4], 'int32'), 1, 'same'),
      /^conv2d: argument 'filter' must be a float tensor.*got int32/,
    ],
    [
      'depthwiseConv2d x rank 2',
      () => keel.depthwiseConv2d(keel.zeros([5, 2]), keel.zeros([3, 3, 2, 1]), 1, 'same'),
      /^depthwiseConv2d: 'x' must be rank 3 or 4/,
    ],
    [
      'depthwiseConv2d filter rank 2',
      () => keel.depthwiseConv2d(x(), keel.zeros([3, 3]), 1, 'same'),
      /^depthwiseConv2d: 'filter' must be rank 4/,
    ],
    [
      'depthwiseConv2d channel mismatch',
      () => keel.depthwiseConv2d(x(), keel.zeros([3, 3, 4, 1]), 1, 'same'),
      /^depthwiseConv2d: input channels of x \(2.*inChannels \(4/,
    ],
    [
      'depthwiseConv2d strides and dilations',
      () => keel.depthwiseConv2d(x(), keel.zeros([3, 3, 2, 1]), [1, 2], 'same', 'NHWC', [2, 1]),
      /^depthwiseConv2d: 'strides' \[1,2\] and 'dilations' \[2,1\] cannot both be > 1/,
    ],
    [
      'depthwiseConv2d NCHW',
      () => keel.depthwiseConv2d(x(), keel.zeros([3, 3, 2, 1]), 1, 'same', 'NCHW'),
      /^depthwiseConv2d: only dataFormat 'NHWC' is supported/,
    ],
    [
      'depthwiseConv2d mixed dtypes',
      () => keel.depthwiseConv2d(x(), keel.zeros([3, 3, 2, 1], 'float16'), 1, 'same'),
      /^depthwiseConv2d: argument 'x' is float32 but 'filter' is float16/,
    ],
    [
      'depthwiseConv2d int32',
      () =>
        keel.depthwiseConv2d(keel.zeros([1, 5, 5, 2], 'int32'), keel.zeros([3, 3, 2, 1], 'int32'), 1, 'same'),
      /^depthwiseConv2d: argument 'x' must be a float tensor/,
    ],
    [
      'depthwiseConv2d window too large',
      () => keel.depthwiseConv2d(x(), keel.zeros([6, 1, 2, 1]), 1, 'valid'),
      /^depthwiseConv2d: the 6x1 'filter' window .*does not fit the 5x5 input/,
    ],
    [
      'conv2dTranspose filter rank',
      () => keel.conv2dTranspose(keel.zeros([1, 3, 3, 4]), keel.zeros([3, 3, 2]), [1, 6, 6, 2], 2, 'same'),
      /^conv2dTranspose: 'filter' must be rank 4/,
    ],
    [
      'conv2dTranspose channel mismatch',
      () => keel.conv2dTranspose(keel.zeros([1, 3, 3, 4]), keel.zeros([3, 3, 2, 3]), [1, 6, 6, 2], 2, 'same'),
      /^conv2dTranspose: channels of x \(4\) must equal filter's last dim \(3\)/,
    ],
    [
      'conv2dTranspose outputShape channels',
      () => keel.conv2dTranspose(keel.zeros([1, 3, 3, 4]), keel.zeros([3, 3, 2, 4]), [1, 6, 6, 3], 2, 'same'),
      /^conv2dTranspose: outputShape channels \(3\)/,
    ],
    [
      'conv2dTranspose outputShape spatial',
      () => keel.conv2dTranspose(keel.zeros([1, 3, 3, 4]), keel.zeros([3, 3, 2, 4]), [1, 9, 9, 2], 2, 'same'),
      /^conv2dTranspose: x's spatial size 3x3 does not match outputShape/,
    ],
    [
      'conv2dTranspose outputShape batch',
      () => keel.conv2dTranspose(keel.zeros([1, 3, 3, 4]), keel.zeros([3, 3, 2, 4]), [2, 6, 6, 2], 2, 'same'),
      /^conv2dTranspose: outputShape batch 2 differs from x's batch 1/,
    ],
    [
      'conv2dTranspose outputShape malformed',
      () => keel.conv2dTranspose(keel.zeros([1, 3, 3, 4]), keel.zeros([3, 3, 2, 4]), [1, 6, 0, 2], 2, 'same'),
      /^conv2dTranspose: 'outputShape' must hold 3 or 4 positive integers/,
    ],
    [
      'conv2dTranspose mixed dtypes',
      () =>
        keel.conv2dTranspose(
          keel.zeros([1, 3, 3, 4], 'bfloat16'),
          keel.zeros([3, 3, 2, 4]),
          [1, 6, 6, 2],
          2,
          'same',
        ),
      /^conv2dTranspose: argument 'x' is bfloat16 but 'filter' is float32/,
    ],
    [
      'maxPool x rank 2',
      () => keel.maxPool(keel.zeros([4, 4]), 2, 2, 'valid'),
      /^maxPool: 'x' must be rank 3 or 4/,
    ],
    [
      'maxPool filterSize 0',
      () => keel.maxPool(x(), 0, 1, 'valid'),
      /^maxPool: 'filterSize' must be a positive integer/,
    ],
    [
      'maxPool strides [1,0]',
      () => keel.maxPool(x(), 2, [1, 0], 'valid'),
      /^maxPool: 'strides' must be a positive integer/,
    ],
    [
      'maxPool window larger than input',
      () => keel.maxPool(x(), 6, 1, 'valid'),
      /^maxPool: the 6x6 'filterSize' window .*does not fit the 5x5 input/,
    ],
    ['maxPool bad pad', () => keel.maxPool(x(), 2, 1, 'full' as never), /^maxPool: 'pad' must be/],
    [
      'maxPool int32',
      () => keel.maxPool(keel.zeros([1, 4, 4, 1], 'int32'), 2, 2, 'valid'),
      /^maxPool: argument 'x' must be a float tensor.*got int32/,
    ],
    [
      'avgPool x rank 5',
      () => keel.avgPool(keel.zeros([1, 1, 4, 4, 1]), 2, 2, 'valid'),
      /^avgPool: 'x' must be rank 3 or 4/,
    ],
    [
      'avgPool window larger than input',
      () => keel.avgPool(x(), [2, 7], 1, 'valid'),
      /^avgPool: the 2x7 'filterSize' window .*does not fit the 5x5 input/,
    ],
    [
      'avgPool int32',
      () => keel.avgPool(keel.zeros([1, 4, 4, 1], 'int32'), 2, 2, 'valid'),
      /^avgPool: argument 'x' must be a float tensor/,
    ],
    [
      'avgPool bool',
      () => keel.avgPool(keel.zeros([1, 4, 4, 1], 'bool'), 2, 2, 'valid'),
      /^avgPool: argument 'x' must be a float tensor.*got bool/,
    ],
  ];
  for (const [name, fn, re] of cases) {
    it(name, () => {
      const before = keel.memory().numTensors;
      keel.tidy(() => {
        expect(fn).toThrow(re);
      });
      expect(keel.memory().numTensors).toBe(before);
    });
  }

  it('a 16-bit conv returns its input dtype and never mixes with float32', () => {
    keel.tidy(() => {
      for (const dtype of ['float16', 'bfloat16'] as const) {
        const xx = keel.zeros([1, 4, 4, 2], dtype);
        const ww = keel.zeros([2, 2, 2, 3], dtype);
        expect(keel.conv2d(xx, ww, 1, 'same').dtype).toBe(dtype);
        expect(keel.depthwiseConv2d(xx, keel.zeros([2, 2, 2, 2], dtype), 1, 'same').dtype).toBe(dtype);
        expect(keel.maxPool(xx, 2, 2, 'same').dtype).toBe(dtype);
        expect(keel.avgPool(xx, 2, 2, 'same').dtype).toBe(dtype);
      }
    });
  });
});

describe('convolution gradients with many output rows (the tiled native paths)', () => {
  // >= 512 output rows take the row-chunked forward, the rotated-filter (stride 1) or per-image
  // col2im (strided) input gradient and the row-group filter gradient; fewer rows take one GEMM
  const cases: WindowCase[] = [
    { name: 'stride 1 same', x: [2, 20, 20, 5], w: [3, 3, 5, 6], strides: 1, pad: 'same' },
    { name: 'stride 2 same', x: [4, 24, 24, 5], w: [3, 3, 5, 4], strides: 2, pad: 'same' },
    { name: 'dilation 2 valid', x: [3, 20, 20, 3], w: [3, 3, 3, 4], strides: 1, pad: 'valid', dil: 2 },
    { name: 'few rows, stride 2', x: [2, 8, 8, 6], w: [3, 3, 6, 5], strides: 2, pad: 'same' },
  ];
  for (const c of cases)
    for (const dtype of ['float32', 'bfloat16'] as const)
      it(`${c.name} ${dtype}: dx and dw match the float64 references`, () => {
        keel.tidy(() => {
          const x = input(c.x, 61, dtype);
          const w = input(c.w, 62, dtype);
          const o = win(c);
          const yShape = refConv2d(x.v, c.x, w.v, c.w, o).shape;
          const r = input(yShape, 63, dtype);
          const [dx, dw] = keel.grads((a, b) =>
            keel
              .conv2d(a, b, c.strides, c.pad, 'NHWC', c.dil ?? 1)
              .mul(r.t)
              .sum(),
          )([x.t, w.t]);
          expectMatches(dx, refConv2dTranspose(r.v, yShape, w.v, c.w, c.x, o), dtype, false, 'dx');
          expectMatches(dw, refConv2dBackpropFilter(x.v, c.x, r.v, c.w, o), dtype, false, 'dw');
        });
      });
});
