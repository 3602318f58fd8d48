// Small image layouts for the loader tests: every image is one flat colour whose value encodes its class and
// index, so a batch's pixels tell which file (and label) each row came from.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as keel from '../../src/index.js';

const made: string[] = [];

/** A new temporary directory, removed by cleanup(). */
export async function tmp(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `keel-${prefix}-`));
  made.push(d);
  return d;
}

/** Removes the temporary directories this test file made. */
export async function cleanup(): Promise<void> {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** A flat w x h PNG of value v in every channel. */
export function flatPng(v: number, w = 6, h = 4): Promise<Buffer> {
  return sharp(Uint8Array.from(new Array(w * h * 3).fill(v)), { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

/** The value of image i of class k. */
export const pixelOf = (k: number, i: number) => 40 * k + 2 * i + 10;

/** dir/<class>/img<i>.png for counts[k] images of each class. */
export async function classDirs(root: string, classes: string[], counts: number[]): Promise<void> {
  for (const [k, name] of classes.entries()) {
    await mkdir(join(root, name), { recursive: true });
    for (let i = 0; i < counts[k]; i++)
      await writeFile(join(root, name, `img${i}.png`), await flatPng(pixelOf(k, i)));
  }
}

/** Collects a batched { xs, ys } dataset: the first pixel value of each image and its label row. */
export async function collect(
  ds: AsyncIterable<unknown>,
): Promise<{ pixels: number[]; labels: number[][]; shapes: number[][]; dtypes: string[] }> {
  const out = {
    pixels: [] as number[],
    labels: [] as number[][],
    shapes: [] as number[][],
    dtypes: [] as string[],
  };
  for await (const el of ds) {
    const b = el as { xs: keel.Tensor; ys?: keel.Tensor } | keel.Tensor;
    const xs = b instanceof keel.Tensor ? b : b.xs;
    const ys = b instanceof keel.Tensor ? null : b.ys;
    const n = xs.shape[0];
    const per = xs.size / n;
    const v = xs.dataSync();
    for (let i = 0; i < n; i++) out.pixels.push(Math.round(v[i * per]));
    if (ys) {
      const yv = Array.from(ys.dataSync());
      const w = ys.size / n;
      for (let i = 0; i < n; i++) out.labels.push(yv.slice(i * w, (i + 1) * w));
    }
    out.shapes.push(xs.shape);
    out.dtypes.push(xs.dtype);
    keel.dispose(b);
  }
  return out;
}
