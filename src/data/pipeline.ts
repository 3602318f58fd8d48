// From a list of labelled image files to a batched Dataset: split, shuffle, decode (main thread or worker
// threads), augment, batch into Tensors of the dtype asked for, prefetch. Shared by the three loaders.

import { stat } from 'node:fs/promises';
import type { DType } from '../dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { Dataset } from './dataset.js';
import { hostToTensor } from './element.js';
import { HostTensor } from './host.js';
import {
  type AugmentParams,
  type DecodeTask,
  decodeImage,
  flipImage,
  type ImageOptions,
  type ImageSpec,
  imageSpec,
} from './image.js';
import type { Position } from './iterators.js';
import { mixSeed, Random, rngAt, shuffleInPlace } from './random.js';
import { array } from './sources.js';
import { workerPool } from './workers.js';

export type LabelMode = 'int' | 'categorical' | 'binary' | null;

export interface AugmentOptions {
  /** random flips: true or 'horizontal' (mirror), 'vertical', 'horizontal_and_vertical' */
  flip?: boolean | 'horizontal' | 'vertical' | 'horizontal_and_vertical';
  /** random crop: keep a random box of (1 - crop .. 1) of each side, then resize; in [0, 1) */
  crop?: number;
  /** the augmentation seed (default: the dataset seed) */
  seed?: number;
}

/** Options shared by imageDatasetFromDirectory, imageDatasetFromCsv and ships. */
export interface ImageLoaderOptions extends ImageOptions {
  /** images per batch; null: unbatched elements (default 32) */
  batchSize?: number | null;
  labelMode?: LabelMode;
  /** shuffle the files (and each pass); default true */
  shuffle?: boolean;
  seed?: number;
  /** decode on this many worker threads; 0 (default): on the main thread, with sharp working on libuv threads */
  workers?: number;
  /** images decoding at once (default: 2 batches) */
  parallel?: number;
  /** batches prepared ahead of training (default 2) */
  prefetch?: number;
  /** keep decoded images in memory after the first pass (no crop augmentation then) */
  cache?: boolean;
  augment?: AugmentOptions;
  /** 'raise' (default): a bad row or image is an error naming file and row; 'skip': skip it, count it, warn */
  onError?: 'raise' | 'skip';
}

/** One image file with its label (class index) and where it came from, for errors. */
export interface ImageRecord {
  path: string;
  label: number | null;
  /** e.g. "train/train.csv line 7 (a.jpg)" or the file path */
  where: string;
  /** the CSV line, when from a CSV */
  line?: number;
}

/** A problem with a row or an image, when skipped. */
export interface Skipped {
  where: string;
  reason: string;
  /** the CSV line, when from a CSV */
  line?: number;
}

/** A Dataset of images with Keras' attributes: the class names and the files in it. */
export class ImageDataset<T = unknown> extends Dataset<T> {
  /** class names in label order (null for unlabelled sets) */
  readonly classNames: string[] | null;
  readonly filePaths: string[];
  /** the label of each file (class indices), null for unlabelled sets */
  readonly labels: number[] | null;
  /** rows and images skipped with onError: 'skip' (decoding failures are added as they happen) */
  readonly skipped: Skipped[];

  /** @internal */
  constructor(
    inner: Dataset<T>,
    records: ImageRecord[],
    classNames: string[] | null,
    skipped: Skipped[],
    size: number | null,
  ) {
    super(() => inner[Symbol.asyncIterator](), size);
    this.classNames = classNames;
    this.filePaths = records.map((r) => r.path);
    this.labels = classNames ? records.map((r) => r.label!) : null;
    this.skipped = skipped;
  }
}

/** A batched labelled element (what fitDataset consumes). */
export type LabeledBatch = { xs: Tensor; ys: Tensor };

export interface ResolvedLoader {
  where: string;
  spec: ImageSpec;
  batchSize: number | null;
  labelMode: LabelMode;
  shuffle: boolean;
  seed: number | undefined;
  workers: number;
  parallel: number;
  prefetch: number;
  cache: boolean;
  augment: { flipH: boolean; flipV: boolean; crop: number; seed: number } | null;
  onError: 'raise' | 'skip';
  dtype: DType;
}

function positiveInt(v: unknown, name: string, where: string, min = 1): number {
  if (!Number.isInteger(v) || (v as number) < min)
    throw new Error(
      `${where}: ${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer, got ${JSON.stringify(v)}`,
    );
  return v as number;
}

/** Validates the shared options (defaults as Keras: 256x256 images, batches of 32, shuffled, int labels). */
export function resolveLoader(
  o: ImageLoaderOptions,
  where: string,
  defaults: Partial<ImageLoaderOptions> = {},
): ResolvedLoader {
  const opts = { imageSize: 256 as ImageOptions['imageSize'], ...defaults, ...stripUndefined(o) };
  const spec = imageSpec(opts, where);
  const batchSize = opts.batchSize === null ? null : positiveInt(opts.batchSize ?? 32, 'batchSize', where);
  const labelMode = opts.labelMode === undefined ? 'int' : opts.labelMode;
  if (![null, 'int', 'categorical', 'binary'].includes(labelMode))
    throw new Error(
      `${where}: labelMode must be 'int', 'categorical', 'binary' or null, got '${String(labelMode)}'`,
    );
  if (opts.seed !== undefined && !Number.isFinite(opts.seed))
    throw new Error(`${where}: seed must be a number, got ${opts.seed}`);
  const workers = positiveInt(opts.workers ?? 0, 'workers', where, 0);
  const parallel = positiveInt(opts.parallel ?? Math.max(4, 2 * (batchSize ?? 4)), 'parallel', where);
  const prefetch = positiveInt(opts.prefetch ?? 2, 'prefetch', where, 0);
  const onError = opts.onError ?? 'raise';
  if (onError !== 'raise' && onError !== 'skip')
    throw new Error(`${where}: onError must be 'raise' or 'skip', got '${String(onError)}'`);
  let augment: ResolvedLoader['augment'] = null;
  if (opts.augment) {
    const { flip = false, crop = 0, seed } = opts.augment;
    const flips = {
      true: [true, false],
      false: [false, false],
      horizontal: [true, false],
      vertical: [false, true],
      horizontal_and_vertical: [true, true],
    };
    const f = flips[String(flip) as keyof typeof flips];
    if (!f)
      throw new Error(
        `${where}: augment.flip must be a boolean, 'horizontal', 'vertical' or 'horizontal_and_vertical', got '${String(flip)}'`,
      );
    if (!(typeof crop === 'number' && crop >= 0 && crop < 1))
      throw new Error(`${where}: augment.crop must be in [0, 1), got ${crop}`);
    if (crop > 0 && opts.cache)
      throw new Error(`${where}: augment.crop re-decodes each pass; it cannot be combined with cache`);
    augment = { flipH: f[0], flipV: f[1], crop, seed: seed ?? opts.seed ?? 0 };
  }
  return {
    where,
    spec,
    batchSize,
    labelMode,
    shuffle: opts.shuffle ?? true,
    seed: opts.seed,
    workers,
    parallel,
    prefetch,
    cache: opts.cache ?? false,
    augment,
    onError,
    dtype: spec.dtype,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Emits one warning (process 'warning' event, printed by Node) summarising skipped rows. */
export function warnSkipped(where: string, what: string, skipped: Skipped[], total: number): void {
  if (skipped.length === 0) return;
  const shown = skipped.slice(0, 5).map((s) => `${s.where}: ${s.reason}`);
  const more = skipped.length > 5 ? `; and ${skipped.length - 5} more` : '';
  process.emitWarning(
    `${where}: skipped ${skipped.length} of ${total} ${what}: ${shown.join('; ')}${more}`,
    'KeelDataWarning',
  );
}

/** Drops records whose file is missing (error, or skipped and reported). */
export async function checkFiles(
  records: ImageRecord[],
  r: ResolvedLoader,
  skipped: Skipped[],
): Promise<ImageRecord[]> {
  const ok = new Array<boolean>(records.length);
  const reasons = new Array<string>(records.length);
  let next = 0;
  const worker = async () => {
    while (next < records.length) {
      const i = next++;
      try {
        const s = await stat(records[i].path);
        ok[i] = s.isFile();
        if (!ok[i]) reasons[i] = `${records[i].path} is not a file`;
      } catch {
        ok[i] = false;
        reasons[i] = `image file not found: ${records[i].path}`;
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  const kept: ImageRecord[] = [];
  const before = skipped.length;
  records.forEach((rec, i) => {
    if (ok[i]) kept.push(rec);
    else if (r.onError === 'skip') skipped.push({ where: rec.where, reason: reasons[i], line: rec.line });
    else throw new Error(`${r.where}: ${rec.where}: ${reasons[i]}`);
  });
  if (skipped.length > before) skipped.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return kept;
}

/**
 * Splits records into training and validation. Keras' way (stratify false): shuffle all with the seed (when
 * shuffling), the last `split` fraction is validation. Stratified: that fraction of each class, at random.
 */
export function splitRecords(
  records: ImageRecord[],
  split: number,
  seed: number,
  opts: { shuffle: boolean; stratify: boolean; where: string },
): { training: ImageRecord[]; validation: ImageRecord[] } {
  if (!(split > 0 && split < 1))
    throw new Error(`${opts.where}: validationSplit must be in (0, 1), got ${split}`);
  let training: ImageRecord[];
  let validation: ImageRecord[];
  if (opts.stratify) {
    const byClass = new Map<number, number[]>();
    records.forEach((rec, i) => {
      const k = rec.label ?? -1;
      if (!byClass.has(k)) byClass.set(k, []);
      byClass.get(k)!.push(i);
    });
    const inVal = new Set<number>();
    for (const [k, idx] of [...byClass.entries()].sort((a, b) => a[0] - b[0])) {
      shuffleInPlace(idx, rngAt(seed, 'split', k));
      const nVal = Math.round(split * idx.length);
      for (const i of idx.slice(0, nVal)) inVal.add(i);
    }
    training = records.filter((_, i) => !inVal.has(i));
    validation = records.filter((_, i) => inVal.has(i));
  } else {
    const all = opts.shuffle ? shuffleInPlace(records.slice(), new Random(mixSeed(seed, 'files'))) : records;
    const nVal = Math.floor(split * all.length);
    training = all.slice(0, all.length - nVal);
    validation = all.slice(all.length - nVal);
  }
  if (training.length === 0 || validation.length === 0)
    throw new Error(
      `${opts.where}: validationSplit ${split} of ${records.length} images leaves an empty ${training.length === 0 ? 'training' : 'validation'} set`,
    );
  return { training, validation };
}

function labelHost(label: number, mode: LabelMode, numClasses: number): HostTensor | null {
  if (mode === 'int') return new HostTensor(Int32Array.of(label), [], 'int32');
  if (mode === 'binary') return new HostTensor(Float32Array.of(label), [1], 'float32');
  if (mode === 'categorical') {
    const v = new Float32Array(numClasses);
    v[label] = 1;
    return new HostTensor(v, [numClasses], 'float32');
  }
  return null;
}

const SKIP = Symbol('skip');

/** The batched (or unbatched) dataset of records, decoded as `r` says. */
export function imagePipeline(
  records: ImageRecord[],
  r: ResolvedLoader,
  classNames: string[] | null,
  skipped: Skipped[],
  shuffle: boolean,
): ImageDataset<unknown> {
  if (records.length === 0) throw new Error(`${r.where}: no images to load`);
  const numClasses = classNames?.length ?? 0;
  const labelled = classNames !== null && r.labelMode !== null;
  const seed = r.seed ?? 0;
  const aug = r.augment;
  const reported = new Set<string>();
  const element = (img: HostTensor, rec: ImageRecord) =>
    labelled ? { xs: img, ys: labelHost(rec.label!, r.labelMode, numClasses)! } : img;

  // augmentation drawn on the main thread from (seed, pass, position): the same for any number of workers
  const drawAug = (pos: Position, withCrop: boolean): AugmentParams | undefined => {
    if (!aug) return undefined;
    const rng = rngAt(aug.seed, 'augment', pos.pass, pos.index);
    const p: AugmentParams = {
      flipH: aug.flipH && rng.uniform() < 0.5,
      flipV: aug.flipV && rng.uniform() < 0.5,
    };
    if (withCrop && aug.crop > 0) {
      const s = 1 - aug.crop * rng.uniform();
      p.crop = [rng.uniform() * (1 - s), rng.uniform() * (1 - s), s, s];
    }
    return p;
  };
  const pool = r.workers > 0 ? { workers: r.workers } : null;
  let base: Dataset<ImageRecord> = array(records);
  if (shuffle && !r.cache) base = base.shuffle(records.length, mixSeed(seed, 'order'));
  const decodeOne = async (rec: ImageRecord, pos: Position): Promise<HostTensor | typeof SKIP> => {
    const task: DecodeTask = { src: rec.path, spec: r.spec, aug: r.cache ? undefined : drawAug(pos, true) };
    try {
      return pool ? ((await runOnWorkers(task, pool.workers)) as HostTensor) : await decodeImage(task);
    } catch (e) {
      const at = rec.where === rec.path ? '' : `${rec.where}: `;
      if (r.onError !== 'skip') throw new Error(`${r.where}: ${at}${(e as Error).message}`);
      if (!reported.has(rec.path)) {
        reported.add(rec.path);
        const reason = (e as Error).message;
        skipped.push({ where: rec.where, reason, line: rec.line });
        process.emitWarning(
          `${r.where}: skipped ${rec.where}: ${reason} (${reported.size} unreadable so far)`,
          'KeelDataWarning',
        );
      }
      return SKIP;
    }
  };
  let decoded: Dataset<{ img: HostTensor; rec: ImageRecord }> = base
    .mapWith(async (rec, pos) => ({ img: await decodeOne(rec, pos), rec }), r.parallel)
    .filter((x) => x.img !== SKIP) as Dataset<{ img: HostTensor; rec: ImageRecord }>;
  if (r.cache) {
    decoded = decoded.cache();
    if (shuffle) decoded = decoded.shuffle(records.length, mixSeed(seed, 'order'));
    if (aug && (aug.flipH || aug.flipV))
      decoded = decoded.mapWith(async (x, pos) => {
        const p = drawAug(pos, false)!;
        return { img: flipImage(x.img, !!p.flipH, !!p.flipV), rec: x.rec };
      }, 1);
  }
  let ds: Dataset<unknown> = decoded.mapWith(async (x) => element(x.img, x.rec), 1);
  if (r.batchSize !== null) ds = ds.batch(r.batchSize) as Dataset<unknown>;
  else ds = ds.mapWith(async (x) => toTensors(x), 1);
  if (r.prefetch > 0) ds = ds.prefetch(r.prefetch);
  // the number of elements is known unless unreadable images may be skipped
  const n =
    r.onError === 'skip'
      ? null
      : r.batchSize === null
        ? records.length
        : Math.ceil(records.length / r.batchSize);
  return new ImageDataset(ds, records, classNames, skipped, n);
}

const DECODE = { key: 'decodeImage', spec: { kind: 'builtin', name: 'decodeImage' } } as const;

function runOnWorkers(task: DecodeTask, workers: number): Promise<unknown> {
  return workerPool(workers).run(DECODE, task);
}

/** Unbatched elements as Tensors (batchSize: null). */
async function toTensors(x: unknown): Promise<unknown> {
  if (x instanceof HostTensor) return hostToTensor(x);
  const o = x as { xs: HostTensor; ys: HostTensor };
  return { xs: hostToTensor(o.xs), ys: hostToTensor(o.ys) };
}
