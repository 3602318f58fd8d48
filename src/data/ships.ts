// data.ships: the seed's ship dataset layout (Analytics Vidhya "Game of Deep Learning"):
//   DIR/train/train.csv      image,category   (categories 1..5 = Cargo, Military, Carrier, Cruise, Tankers)
//   DIR/train/images/        the labelled and the test images
//   DIR/test_*.csv           image            (the unlabelled test images)
// -> stratified training/validation datasets and the unlabelled test set.

import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Tensor } from '../tensor/tensor.js';
import { readCsv } from './csv.js';
import { readCsvDataset } from './loaders.js';
import type { ImageDataset, ImageLoaderOptions, LabeledBatch } from './pipeline.js';

export const SHIP_CLASSES = ['Cargo', 'Military', 'Carrier', 'Cruise', 'Tankers'] as const;
/** The test CSV's name in the original dataset (the generator writes the same). */
export const SHIP_TEST_CSV = 'test_ApKoW4T.csv';

export interface ShipsOptions extends ImageLoaderOptions {
  /** fraction of each class held out for validation (default 0.2; 0: no validation set) */
  validationSplit?: number;
  /** use only the first `limit` rows of train.csv and of the test CSV (quick runs) */
  limit?: number;
}

export interface ShipsData {
  train: ImageDataset<LabeledBatch>;
  validation: ImageDataset<LabeledBatch> | null;
  /** the unlabelled test images (batches of images only), null when there is no test CSV */
  test: ImageDataset<Tensor> | null;
  classNames: string[];
  /** images per class in each split */
  counts: { train: number[]; validation: number[] };
}

/**
 * Loads the seed's ship dataset from `dir`. Defaults: 64x64 images scaled to 0..1 ('unit'), batches of 32,
 * int labels, a stratified 20% validation split, seed 0. All image options of imageDatasetFromDirectory apply.
 */
export async function ships(dir: string, options: ShipsOptions = {}): Promise<ShipsData> {
  const where = 'data.ships';
  const root = resolve(dir);
  const split = options.validationSplit ?? 0.2;
  if (!(split >= 0 && split < 1))
    throw new Error(`${where}: validationSplit must be in [0, 1), got ${split}`);
  const seed = options.seed ?? 0;
  const defaults = { imageSize: 64, preprocess: 'unit' } as const;
  const { validationSplit: _split, ...rest } = options;
  const common = {
    ...rest,
    seed,
    imageColumn: 'image',
    labelColumn: 'category',
    classNames: [...SHIP_CLASSES],
    labelValues: ['1', '2', '3', '4', '5'],
    stratify: true,
  };
  const csv = join(root, 'train', 'train.csv');
  const images = join(root, 'train', 'images');
  let train: ImageDataset<LabeledBatch>;
  let validation: ImageDataset<LabeledBatch> | null = null;
  if (split > 0) {
    [train, validation] = await readCsvDataset(
      csv,
      images,
      { ...common, validationSplit: split, subset: 'both' as const },
      where,
      defaults,
    );
  } else {
    train = await readCsvDataset(csv, images, common, where, defaults);
  }
  let test: ImageDataset<Tensor> | null = null;
  const testCsv = await findTestCsv(root);
  // the test CSV is optional; one with a header and no rows (a generated set without test images) means no test set
  if (testCsv && (await readCsv(testCsv, where)).rows.length > 0) {
    const unlabelled = {
      ...common,
      labelColumn: null,
      shuffle: false,
      augment: undefined,
      classNames: undefined,
      labelValues: undefined,
    };
    test = (await readCsvDataset(
      testCsv,
      images,
      unlabelled,
      where,
      defaults,
    )) as unknown as ImageDataset<Tensor>;
  }
  const count = (ds: ImageDataset<LabeledBatch> | null) => {
    const c = SHIP_CLASSES.map(() => 0);
    for (const l of ds?.labels ?? []) c[l]++;
    return c;
  };
  return {
    train,
    validation,
    test,
    classNames: [...SHIP_CLASSES],
    counts: { train: count(train), validation: count(validation) },
  };
}

async function findTestCsv(root: string): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (e) {
    throw new Error(`data.ships: cannot read directory ${root}: ${(e as Error).message}`);
  }
  const found = names.filter((n) => /^test.*\.csv$/i.test(n)).sort();
  return found.length ? join(root, found.includes(SHIP_TEST_CSV) ? SHIP_TEST_CSV : found[0]) : null;
}
