// Image decoding with sharp (JPEG, PNG, WebP, GIF, TIFF, AVIF): to RGB (or grayscale/RGBA), resized (bilinear by
// default, optionally center-cropped or padded to the target aspect), augmented (crop, flips) and normalised
// ('caffe' is Keras' ResNet50 preprocess_input) into a HostTensor of the dtype asked for.
// Runs on the main thread (sharp works on libuv threads) or in data worker threads; imports no tensor engine.

import sharp from 'sharp';
import { type DType, fromNumbers, isFloatDType } from '../dtype.js';
import { HostTensor } from './host.js';

export type Interpolation = 'bilinear' | 'nearest' | 'bicubic' | 'lanczos3' | 'mitchellcubic';
export type ColorMode = 'rgb' | 'grayscale' | 'rgba';
/**
 * 'none': 0..255 (Keras' loaders); 'unit': 0..1; 'tf': -1..1; 'caffe': BGR minus the ImageNet mean
 * (Keras' resnet50.preprocess_input); 'torch': 0..1 minus mean over std (ImageNet); or an affine per channel:
 * out = ((v * scale + offset) - mean[c]) / std[c].
 */
export type Preprocess =
  | 'none'
  | 'unit'
  | 'tf'
  | 'caffe'
  | 'torch'
  | { scale?: number; offset?: number; mean?: number[]; std?: number[] };

export interface ImageOptions {
  /** [height, width] or one number for square images; omitted: keep each image's size */
  imageSize?: number | [number, number];
  colorMode?: ColorMode;
  interpolation?: Interpolation;
  /** resize to fill the target aspect, cropping the center (Keras crop_to_aspect_ratio) */
  cropToAspectRatio?: boolean;
  /** resize to fit inside, padding with zeros (Keras pad_to_aspect_ratio) */
  padToAspectRatio?: boolean;
  preprocess?: Preprocess;
  /** dtype of the pixels: float32 (default), float16 or bfloat16 (mixed precision inputs), or int32 */
  dtype?: DType;
}

/** Resolved, plain-data image options (what workers receive). */
export interface ImageSpec {
  height: number;
  width: number;
  channels: 1 | 3 | 4;
  kernel: 'nearest' | 'linear' | 'cubic' | 'lanczos3' | 'mitchell';
  fit: 'fill' | 'cover' | 'contain';
  /** per output channel: out = v[order[c]] * a[c] + b[c] */
  a: number[];
  b: number[];
  order: number[];
  dtype: DType;
}

/** Random augmentation drawn for one image: flips and a crop box as fractions of the source. */
export interface AugmentParams {
  flipH?: boolean;
  flipV?: boolean;
  /** [top, left, height, width] in [0, 1] of the source image */
  crop?: [number, number, number, number];
}

export interface DecodeTask {
  /** a file path or the encoded bytes */
  src: string | Uint8Array;
  spec: ImageSpec;
  aug?: AugmentParams;
  /** how to name the image in errors (e.g. "train.csv line 7 (images/a.jpg)") */
  name?: string;
}

const KERNELS: Record<Interpolation, ImageSpec['kernel']> = {
  bilinear: 'linear',
  nearest: 'nearest',
  bicubic: 'cubic',
  lanczos3: 'lanczos3',
  mitchellcubic: 'mitchell',
};
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];
const TORCH_MEAN = [0.485, 0.456, 0.406];
const TORCH_STD = [0.229, 0.224, 0.225];

/** Validates image options and resolves them into an ImageSpec (errors name `where`). */
export function imageSpec(o: ImageOptions, where: string): ImageSpec {
  let height = 0;
  let width = 0;
  if (o.imageSize !== undefined) {
    const s = typeof o.imageSize === 'number' ? [o.imageSize, o.imageSize] : o.imageSize;
    if (!Array.isArray(s) || s.length !== 2 || !s.every((d) => Number.isInteger(d) && d > 0 && d <= 16384))
      throw new Error(
        `${where}: imageSize must be a positive integer or [height, width], got ${JSON.stringify(o.imageSize)}`,
      );
    [height, width] = s;
  }
  const mode = o.colorMode ?? 'rgb';
  const channels = ({ rgb: 3, grayscale: 1, rgba: 4 } as const)[mode];
  if (!channels)
    throw new Error(`${where}: colorMode must be 'rgb', 'grayscale' or 'rgba', got '${String(mode)}'`);
  const kernel = KERNELS[o.interpolation ?? 'bilinear'];
  if (!kernel)
    throw new Error(
      `${where}: interpolation must be one of ${Object.keys(KERNELS).join(', ')}, got '${String(o.interpolation)}'`,
    );
  if (o.cropToAspectRatio && o.padToAspectRatio)
    throw new Error(`${where}: cropToAspectRatio and padToAspectRatio exclude each other`);
  const fit = o.cropToAspectRatio ? 'cover' : o.padToAspectRatio ? 'contain' : 'fill';
  const dtype = o.dtype ?? 'float32';
  if (!isFloatDType(dtype) && dtype !== 'int32')
    throw new Error(`${where}: dtype must be float32, float16, bfloat16 or int32, got '${String(dtype)}'`);
  const order = Array.from({ length: channels }, (_, c) => c);
  let a = order.map(() => 1);
  let b = order.map(() => 0);
  const p = o.preprocess ?? 'none';
  const rgbOnly = (name: string) => {
    if (channels !== 3) throw new Error(`${where}: preprocess '${name}' needs colorMode 'rgb'`);
  };
  if (p === 'unit') a = a.map(() => 1 / 255);
  else if (p === 'tf') {
    a = a.map(() => 1 / 127.5);
    b = b.map(() => -1);
  } else if (p === 'caffe') {
    rgbOnly(p);
    order.splice(0, 3, 2, 1, 0);
    b = CAFFE_MEAN_BGR.map((m) => -m);
  } else if (p === 'torch') {
    rgbOnly(p);
    a = TORCH_STD.map((s) => 1 / (255 * s));
    b = TORCH_MEAN.map((m, c) => -m / TORCH_STD[c]);
  } else if (typeof p === 'object' && p !== null) {
    const per = (v: number[] | undefined, def: number, name: string) => {
      if (v === undefined) return order.map(() => def);
      if (!Array.isArray(v) || !(v.length === 1 || v.length === channels) || !v.every(Number.isFinite))
        throw new Error(`${where}: preprocess.${name} must be 1 or ${channels} finite numbers`);
      return order.map((c) => v[v.length === 1 ? 0 : c]);
    };
    const scale = p.scale ?? 1;
    const offset = p.offset ?? 0;
    if (!Number.isFinite(scale) || !Number.isFinite(offset))
      throw new Error(`${where}: preprocess.scale and offset must be finite`);
    const mean = per(p.mean, 0, 'mean');
    const std = per(p.std, 1, 'std');
    if (std.some((s) => s === 0)) throw new Error(`${where}: preprocess.std must not be 0`);
    a = std.map((s) => scale / s);
    b = std.map((s, c) => (offset - mean[c]) / s);
  } else if (p !== 'none')
    throw new Error(
      `${where}: preprocess must be 'none', 'unit', 'tf', 'caffe', 'torch' or { scale, offset, mean, std }, got '${String(p)}'`,
    );
  return { height, width, channels, kernel, fit, a, b, order, dtype };
}

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The source box to read (augmentation crop, then the center crop to the target aspect) and the resized size. */
function geometry(
  W: number,
  H: number,
  spec: ImageSpec,
  aug?: AugmentParams,
): { box: Box; rw: number; rh: number } {
  let box: Box = { left: 0, top: 0, width: W, height: H };
  if (aug?.crop) {
    const [ft, fl, fh, fw] = aug.crop;
    const width = Math.max(1, Math.min(W, Math.round(fw * W)));
    const height = Math.max(1, Math.min(H, Math.round(fh * H)));
    box = {
      width,
      height,
      left: Math.min(W - width, Math.max(0, Math.round(fl * W))),
      top: Math.min(H - height, Math.max(0, Math.round(ft * H))),
    };
  }
  if (spec.height === 0) return { box, rw: box.width, rh: box.height };
  const { width: tw, height: th } = spec;
  if (spec.fit === 'cover') {
    // the largest centered window of the target's aspect
    let cw = box.width;
    let ch = box.height;
    if (box.width * th > box.height * tw) cw = Math.max(1, Math.round((box.height * tw) / th));
    else ch = Math.max(1, Math.round((box.width * th) / tw));
    box = {
      left: box.left + Math.floor((box.width - cw) / 2),
      top: box.top + Math.floor((box.height - ch) / 2),
      width: cw,
      height: ch,
    };
    return { box, rw: tw, rh: th };
  }
  if (spec.fit === 'contain') {
    const s = Math.min(tw / box.width, th / box.height);
    return {
      box,
      rw: Math.max(1, Math.min(tw, Math.round(box.width * s))),
      rh: Math.max(1, Math.min(th, Math.round(box.height * s))),
    };
  }
  return { box, rw: tw, rh: th };
}

/**
 * Bilinear resampling with half-pixel centers (TensorFlow's and PIL's convention when enlarging):
 * source x = (x + 0.5) * w / ow - 0.5, clamped at the edges. HWC uint8 in, float out.
 */
export function bilinearResize(
  px: ArrayLike<number>,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
): Float32Array {
  const out = new Float32Array(oh * ow * c);
  const sy = h / oh;
  const sx = w / ow;
  const x0s = new Int32Array(ow);
  const x1s = new Int32Array(ow);
  const fxs = new Float32Array(ow);
  for (let x = 0; x < ow; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min(x0s[x] + 1, w - 1);
    fxs[x] = fx - x0s[x];
  }
  for (let y = 0; y < oh; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const ty = fy - y0;
    for (let x = 0; x < ow; x++) {
      const a = (y0 * w + x0s[x]) * c;
      const b = (y0 * w + x1s[x]) * c;
      const d = (y1 * w + x0s[x]) * c;
      const e = (y1 * w + x1s[x]) * c;
      const tx = fxs[x];
      const o = (y * ow + x) * c;
      for (let k = 0; k < c; k++) {
        const top = px[a + k] + (px[b + k] - px[a + k]) * tx;
        const bot = px[d + k] + (px[e + k] - px[d + k]) * tx;
        out[o + k] = top + (bot - top) * ty;
      }
    }
  }
  return out;
}

/**
 * Decodes, crops, resizes and normalises one image. Shrinking uses libvips (antialiased, with JPEG
 * shrink-on-load); enlarging with 'bilinear' uses half-pixel-center bilinear interpolation (as TensorFlow).
 * Errors name the image.
 */
export async function decodeImage(task: DecodeTask): Promise<HostTensor> {
  const { spec, aug } = task;
  const name = task.name ?? (typeof task.src === 'string' ? task.src : 'image bytes');
  let px: ArrayLike<number>;
  let h: number;
  let w: number;
  try {
    const img = sharp(task.src, { failOn: 'warning' });
    if (spec.channels === 1) img.removeAlpha().toColourspace('b-w');
    else if (spec.channels === 3) img.removeAlpha().toColourspace('srgb');
    else img.ensureAlpha().toColourspace('srgb');
    const meta = await img.metadata();
    const { box, rw, rh } = geometry(meta.width ?? 0, meta.height ?? 0, spec, aug);
    if (box.width !== meta.width || box.height !== meta.height) img.extract(box);
    const shrink = rw <= box.width && rh <= box.height;
    const js = !shrink && spec.kernel === 'linear';
    if ((rw !== box.width || rh !== box.height) && !js)
      img.resize({ width: rw, height: rh, fit: 'fill', kernel: spec.kernel });
    const out = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (out.info.channels !== spec.channels)
      throw new Error(`got ${out.info.channels} channels, expected ${spec.channels}`);
    [px, h, w] = js
      ? [bilinearResize(out.data, box.height, box.width, spec.channels, rh, rw), rh, rw]
      : [out.data, out.info.height, out.info.width];
  } catch (e) {
    throw new Error(`cannot decode image ${name}: ${(e as Error).message}`);
  }
  const c = spec.channels;
  if (spec.height > 0 && (h !== spec.height || w !== spec.width)) {
    // padToAspectRatio: black (0) pixels around the centered image, before normalisation as in Keras
    const th = spec.height;
    const tw = spec.width;
    const padded = new Float32Array(th * tw * c);
    const oy = Math.floor((th - h) / 2);
    const ox = Math.floor((tw - w) / 2);
    for (let y = 0; y < h; y++)
      for (let i = 0; i < w * c; i++) padded[((y + oy) * tw + ox) * c + i] = px[y * w * c + i];
    return new HostTensor(normalise(padded, th, tw, spec, aug), [th, tw, c], spec.dtype);
  }
  return new HostTensor(normalise(px, h, w, spec, aug), [h, w, c], spec.dtype);
}

/** HWC pixels -> the spec's dtype, flipped as asked, channels reordered and scaled. */
function normalise(px: ArrayLike<number>, h: number, w: number, spec: ImageSpec, aug?: AugmentParams) {
  const c = spec.channels;
  const out = new Float32Array(h * w * c);
  const { a, b, order } = spec;
  const flipH = !!aug?.flipH;
  for (let y = 0; y < h; y++) {
    const sy = aug?.flipV ? h - 1 - y : y;
    const row = sy * w;
    let d = y * w * c;
    if (c === 3) {
      // the common case, unrolled: RGB (or BGR for 'caffe')
      const [o0, o1, o2] = order;
      const [a0, a1, a2] = a;
      const [b0, b1, b2] = b;
      for (let x = 0; x < w; x++, d += 3) {
        const s = (row + (flipH ? w - 1 - x : x)) * 3;
        out[d] = px[s + o0] * a0 + b0;
        out[d + 1] = px[s + o1] * a1 + b1;
        out[d + 2] = px[s + o2] * a2 + b2;
      }
    } else {
      for (let x = 0; x < w; x++, d += c) {
        const s = (row + (flipH ? w - 1 - x : x)) * c;
        for (let k = 0; k < c; k++) out[d + k] = px[s + order[k]] * a[k] + b[k];
      }
    }
  }
  return spec.dtype === 'float32' ? out : fromNumbers(spec.dtype, out);
}

/** Flips a decoded image (HWC HostTensor) in place-free fashion (used after cache()). */
export function flipImage(img: HostTensor, flipH: boolean, flipV: boolean): HostTensor {
  if (!flipH && !flipV) return img;
  const [h, w, c] = img.shape;
  const src = img.data;
  const out = new (src.constructor as new (n: number) => typeof src)(src.length);
  for (let y = 0; y < h; y++) {
    const sy = flipV ? h - 1 - y : y;
    for (let x = 0; x < w; x++) {
      const sx = flipH ? w - 1 - x : x;
      for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = src[(sy * w + sx) * c + k];
    }
  }
  return new HostTensor(out, [h, w, c], img.dtype);
}

/** Encodes HWC uint8 pixels as JPEG/PNG/WebP bytes (for generated datasets and tests). */
export async function encodeImage(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  format: 'jpeg' | 'png' | 'webp' = 'png',
  quality = 90,
): Promise<Buffer> {
  const img = sharp(pixels, { raw: { width, height, channels } });
  if (format === 'jpeg') return img.jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer();
  if (format === 'webp') return img.webp({ quality }).toBuffer();
  return img.png().toBuffer();
}
