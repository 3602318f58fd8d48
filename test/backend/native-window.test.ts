// The addon's conv2d and pool2d share one argument parser (op, operands, types, a convolution's
// geometry): its checks, named per entry point.

import { describe, expect, it } from 'vitest';
import { type ConvGeometry, loadNative, nativeTypes } from '../../src/backend/cpu/native.js';

const native = loadNative();
const ok = typeof native?.pool2d === 'function' && typeof native?.conv2d === 'function';
if (!ok)
  console.warn(
    'native-window.test: no native addon with conv2d/pool2d (not built, or KEEL_NO_NATIVE set); skipped.',
  );

// batch 1, 4x4x2 in, 2x2x2 out, 2x2 window, stride 2
const geometry: ConvGeometry = [1, 4, 4, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 0, 0];
const f32 = nativeTypes('float32', 'float32', 'float32');

describe.skipIf(!ok)('native conv2d / pool2d arguments', () => {
  it('pools with a valid call, and rejects bad ones naming the entry point and the argument', () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => i);
    const y = new Float32Array(8);
    native!.pool2d!(0, x, x, y, f32, ...geometry);
    expect(Array.from(y)).toEqual([10, 11, 14, 15, 26, 27, 30, 31]);
    expect(() => native!.pool2d!(4 as never, x, x, y, f32, ...geometry)).toThrow(
      /pool2d: argument 0 \(op\) must be 0 \(max\)/,
    );
    const wide: ConvGeometry = [...geometry];
    wide[6] = 3; // outC != inC
    expect(() => native!.pool2d!(0, x, x, y, f32, ...wide)).toThrow(/pool2d: outC must equal inC/);
    expect(() => native!.pool2d!(0, x, x, new Float32Array(7), f32, ...geometry)).toThrow(
      /pool2d: buffers too small/,
    );
    const noStride: ConvGeometry = [...geometry];
    noStride[9] = 0;
    expect(() => native!.pool2d!(0, x, x, y, f32, ...noStride)).toThrow(
      /pool2d: kernel sizes, strides and dilations/,
    );
    expect(() => native!.conv2d!(3 as never, x, x, y, f32, ...geometry)).toThrow(
      /conv2d: argument 0 \(op\) must be 0 \(forward\)/,
    );
    expect(() => (native!.conv2d as (...a: unknown[]) => void)(0, x)).toThrow(
      /conv2d: expected 20 arguments, got 2/,
    );
  });
});
