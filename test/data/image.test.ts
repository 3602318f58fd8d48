// Image decoding and resizing against known pixel values: colour modes, bilinear enlarging (half-pixel centers),
// shrinking, center crop / padding to the aspect, normalisations (caffe = Keras' resnet50 preprocess_input), dtypes,
// augmentation parameters, and corrupt or missing images.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bilinearResize, decodeImage, imageSpec } from '../../src/data/image.js';
import { decodeFloat16 } from '../../src/dtype.js';
import { data } from '../../src/index.js';

const { loadImage, HostTensor } = data;
const png = (w: number, h: number, c: 1 | 3 | 4, px: number[]) =>
  sharp(Uint8Array.from(px), { raw: { width: w, height: h, channels: c } })
    .png()
    .toBuffer();
const vals = (h: data.HostTensor) => Array.from(h.values());
const close = (got: number[], want: number[], tol: number) => {
  expect(got.length).toBe(want.length);
  for (const [i, g] of got.entries())
    expect(Math.abs(g - want[i]), `at ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol);
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keel-image-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('decode', () => {
  it('PNG pixels come back exactly, as [h, w, 3] float32 0..255', async () => {
    const px = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
    const img = await loadImage(await png(2, 2, 3, px));
    expect(img).toBeInstanceOf(HostTensor);
    expect(img.shape).toEqual([2, 2, 3]);
    expect(img.dtype).toBe('float32');
    expect(vals(img)).toEqual(px);
  });

  it('reads files; grayscale becomes RGB, RGBA drops alpha; colorMode grayscale and rgba', async () => {
    const f = join(dir, 'g.png');
    await writeFile(f, await png(2, 1, 1, [7, 200]));
    expect(vals(await loadImage(f))).toEqual([7, 7, 7, 200, 200, 200]);
    const rgba = await png(1, 1, 4, [10, 20, 30, 128]);
    expect(vals(await loadImage(rgba))).toEqual([10, 20, 30]);
    expect(vals(await loadImage(rgba, { colorMode: 'rgba' }))).toEqual([10, 20, 30, 128]);
    const grey = await loadImage(await png(1, 1, 3, [90, 90, 90]), { colorMode: 'grayscale' });
    expect(grey.shape).toEqual([1, 1, 1]);
    close(vals(grey), [90], 1);
    expect((await loadImage(await png(1, 1, 3, [1, 2, 3]), { colorMode: 'rgba' })).shape).toEqual([1, 1, 4]);
  });

  it('JPEG and WebP decode close to the encoded colour', async () => {
    const px = new Array(16 * 16).fill([200, 100, 50]).flat();
    const raw = sharp(Uint8Array.from(px), { raw: { width: 16, height: 16, channels: 3 } });
    const jpeg = await raw.clone().jpeg({ quality: 95 }).toBuffer();
    const webp = await raw.clone().webp({ quality: 95 }).toBuffer();
    for (const bytes of [jpeg, webp]) {
      const img = await loadImage(bytes);
      expect(img.shape).toEqual([16, 16, 3]);
      close(vals(img).slice(0, 3), [200, 100, 50], 4);
    }
  });
});

describe('resize', () => {
  it('enlarging is half-pixel-center bilinear (TensorFlow / PIL)', async () => {
    const img = await loadImage(await png(2, 1, 1, [0, 255]), { imageSize: [1, 4] });
    // x_src = (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped
    close(vals(img), [0, 0, 0, 63.75, 63.75, 63.75, 191.25, 191.25, 191.25, 255, 255, 255], 1e-4);
    expect(Array.from(bilinearResize([0, 100, 200, 300], 2, 2, 1, 4, 4)).slice(0, 4)).toEqual([
      0, 25, 75, 100,
    ]);
  });

  it('a constant image stays constant at any size; shrinking averages neighbours', async () => {
    const px = new Array(6 * 4).fill([12, 34, 56]).flat();
    const src = await png(6, 4, 3, px);
    for (const size of [
      [2, 3],
      [8, 8],
      [3, 7],
    ] as [number, number][]) {
      const img = await loadImage(src, { imageSize: size });
      expect(img.shape).toEqual([...size, 3]);
      close(vals(img), new Array(size[0] * size[1]).fill([12, 34, 56]).flat(), 0.5);
    }
    const stripes = await png(8, 1, 1, [0, 0, 0, 0, 200, 200, 200, 200]);
    const small = vals(await loadImage(stripes, { imageSize: [1, 2], colorMode: 'grayscale' }));
    expect(small[0]).toBeLessThan(60);
    expect(small[1]).toBeGreaterThan(140);
  });

  it('cropToAspectRatio keeps the center; padToAspectRatio pads with black', async () => {
    // 8x2: columns 0-2 red, 3-4 green, 5-7 blue
    const cols = [0, 0, 0, 1, 1, 2, 2, 2];
    const colour = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ];
    const px = [0, 1].flatMap(() => cols.flatMap((k) => colour[k]));
    const src = await png(8, 2, 3, px);
    const crop = await loadImage(src, { imageSize: 2, cropToAspectRatio: true });
    expect(vals(crop)).toEqual(new Array(4).fill([0, 255, 0]).flat());
    const pad = await loadImage(src, { imageSize: [4, 8], padToAspectRatio: true, interpolation: 'nearest' });
    const v = vals(pad);
    expect(v.slice(0, 24)).toEqual(new Array(24).fill(0)); // row 0: padding
    expect(v.slice(24, 48)).toEqual(cols.flatMap((k) => colour[k])); // row 1: the image
    expect(v.slice(72)).toEqual(new Array(24).fill(0));
    expect(() => imageSpec({ cropToAspectRatio: true, padToAspectRatio: true }, 'x')).toThrow(/exclude/);
  });
});

describe('normalisation, dtype, augmentation', () => {
  it("'caffe' is RGB->BGR minus the ImageNet mean; unit, tf, torch and custom affine", async () => {
    const src = await png(1, 1, 3, [10, 20, 30]);
    close(
      vals(await loadImage(src, { preprocess: 'caffe' })),
      [30 - 103.939, 20 - 116.779, 10 - 123.68],
      1e-4,
    );
    close(vals(await loadImage(src, { preprocess: 'unit' })), [10 / 255, 20 / 255, 30 / 255], 1e-6);
    close(
      vals(await loadImage(src, { preprocess: 'tf' })),
      [10 / 127.5 - 1, 20 / 127.5 - 1, 30 / 127.5 - 1],
      1e-6,
    );
    const torch = [(10 / 255 - 0.485) / 0.229, (20 / 255 - 0.456) / 0.224, (30 / 255 - 0.406) / 0.225];
    close(vals(await loadImage(src, { preprocess: 'torch' })), torch, 1e-5);
    close(
      vals(await loadImage(src, { preprocess: { scale: 2, offset: 1, mean: [1, 2, 3], std: [2] } })),
      [10, 19.5, 29],
      1e-5,
    );
    expect(() => imageSpec({ preprocess: 'caffe', colorMode: 'grayscale' }, 'w')).toThrow(
      /w: preprocess 'caffe' needs colorMode 'rgb'/,
    );
    expect(() => imageSpec({ preprocess: 'zscore' as never }, 'w')).toThrow(/preprocess must be/);
  });

  it('float16 and bfloat16 pixels are the rounded values', async () => {
    const src = await png(1, 1, 3, [10, 20, 30]);
    const h = await loadImage(src, { preprocess: 'unit', dtype: 'float16' });
    expect(h.dtype).toBe('float16');
    expect(h.data).toBeInstanceOf(Uint16Array);
    const want = HostTensor.from([10 / 255, 20 / 255, 30 / 255], [3], 'float16');
    expect(Array.from(decodeFloat16(h.data as Uint16Array))).toEqual(Array.from(want.values()));
    expect((await loadImage(src, { dtype: 'bfloat16' })).dtype).toBe('bfloat16');
    expect(() => imageSpec({ dtype: 'bool' }, 'w')).toThrow(/dtype/);
  });

  it('flips and crops as the augmentation parameters say', async () => {
    const src = await png(2, 2, 1, [1, 2, 3, 4]);
    const spec = imageSpec({ colorMode: 'grayscale' }, 't');
    const get = async (aug: data.AugmentParams) => vals(await decodeImage({ src, spec, aug }));
    expect(await get({ flipH: true })).toEqual([2, 1, 4, 3]);
    expect(await get({ flipV: true })).toEqual([3, 4, 1, 2]);
    expect(await get({ flipH: true, flipV: true })).toEqual([4, 3, 2, 1]);
    expect(await get({ crop: [0.5, 0.5, 0.5, 0.5] })).toEqual([4]);
    expect(await get({ crop: [0, 0, 0.5, 1] })).toEqual([1, 2]);
  });

  it('bad options are errors naming the caller', () => {
    expect(() => imageSpec({ imageSize: 0 }, 'here')).toThrow(/here: imageSize/);
    expect(() => imageSpec({ imageSize: [2, 2.5] }, 'here')).toThrow(/imageSize/);
    expect(() => imageSpec({ colorMode: 'cmyk' as never }, 'here')).toThrow(/colorMode/);
    expect(() => imageSpec({ interpolation: 'area' as never }, 'here')).toThrow(/interpolation/);
  });
});

describe('bad images', () => {
  it('corrupt, truncated, missing and non-image files are errors naming the file', async () => {
    const junk = join(dir, 'junk.jpg');
    await writeFile(junk, 'this is not an image');
    await expect(loadImage(junk)).rejects.toThrow(new RegExp(`cannot decode image ${junk}`));
    const jpeg = await sharp(Uint8Array.from(new Array(32 * 32 * 3).fill(99)), {
      raw: { width: 32, height: 32, channels: 3 },
    })
      .jpeg()
      .toBuffer();
    const cut = join(dir, 'cut.jpg');
    await writeFile(cut, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    await expect(loadImage(cut, { imageSize: 8 })).rejects.toThrow(/cannot decode image .*cut\.jpg/);
    await expect(loadImage(join(dir, 'missing.png'))).rejects.toThrow(/cannot decode image .*missing\.png/);
    await expect(loadImage(new Uint8Array([1, 2, 3]))).rejects.toThrow(/cannot decode image image bytes/);
  });
});
