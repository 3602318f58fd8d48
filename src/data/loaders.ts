// Image loaders: imageDatasetFromDirectory (Keras' image_dataset_from_directory: one folder per class) and
// imageDatasetFromCsv (a CSV of file names and labels). Rows and files are checked up front; bad input is
// an error naming the file and line, or with onError: 'skip' is skipped, counted and warned about.

import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { column, readCsv } from './csv.js';
import {
  checkFiles,
  type ImageDataset,
  type ImageLoaderOptions,
  type ImageRecord,
  imagePipeline,
  type LabeledBatch,
  type ResolvedLoader,
  resolveLoader,
  type Skipped,
  splitRecords,
  warnSkipped,
} from './pipeline.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export type Subset = 'training' | 'validation' | 'both';

export interface SplitOptions {
  validationSplit?: number;
  /** with validationSplit: which part to return ('both': [training, validation]) */
  subset?: Subset;
  /** split each class in proportion (default false, as Keras) */
  stratify?: boolean;
}

export interface DirectoryOptions extends ImageLoaderOptions, SplitOptions {
  /** 'inferred' (default): labels from the class folders; null: images only */
  labels?: 'inferred' | null;
  /** the class folders to use, in label order (default: every folder, sorted) */
  classNames?: string[];
}

export interface CsvOptions extends ImageLoaderOptions, SplitOptions {
  /** the column of image file names, relative to imagesDir (default 'image') */
  imageColumn?: string;
  /** the column of labels (default 'label'); null: an unlabelled set */
  labelColumn?: string | null;
  /** class names in label order (default: the distinct label values, sorted) */
  classNames?: string[];
  /** the CSV value of each class, in classNames' order (default: the class names themselves) */
  labelValues?: (string | number)[];
  /** use only the first `limit` rows */
  limit?: number;
}

type Result<O extends SplitOptions> = O extends { subset: 'both' }
  ? [ImageDataset<LabeledBatch>, ImageDataset<LabeledBatch>]
  : ImageDataset<LabeledBatch>;

function checkSplit(o: SplitOptions, r: ResolvedLoader): void {
  const where = r.where;
  if (o.validationSplit !== undefined && !(o.validationSplit > 0 && o.validationSplit < 1))
    throw new Error(`${where}: validationSplit must be in (0, 1), got ${o.validationSplit}`);
  if (o.subset !== undefined && !['training', 'validation', 'both'].includes(o.subset))
    throw new Error(`${where}: subset must be 'training', 'validation' or 'both', got '${String(o.subset)}'`);
  if (o.validationSplit !== undefined && o.subset === undefined)
    throw new Error(`${where}: with validationSplit, give subset: 'training', 'validation' or 'both'`);
  if (o.subset !== undefined && o.validationSplit === undefined)
    throw new Error(`${where}: subset needs validationSplit`);
  if (o.validationSplit !== undefined && r.shuffle && r.seed === undefined && !o.stratify)
    throw new Error(
      `${where}: with validationSplit and shuffle, give a seed, so that the training and validation subsets do not overlap`,
    );
}

/** Split (when asked), build the pipelines, return one dataset or [training, validation]. */
function finish<O extends SplitOptions>(
  records: ImageRecord[],
  o: O,
  r: ResolvedLoader,
  classNames: string[] | null,
  skipped: Skipped[],
): Result<O> {
  if (records.length === 0)
    throw new Error(`${r.where}: no images${skipped.length ? ` left after skipping ${skipped.length}` : ''}`);
  if (r.labelMode === 'binary' && classNames && classNames.length !== 2)
    throw new Error(
      `${r.where}: labelMode 'binary' needs exactly 2 classes, found ${classNames.length} (${classNames.join(', ')})`,
    );
  const build = (recs: ImageRecord[]) =>
    imagePipeline(
      recs,
      r,
      r.labelMode === null ? null : classNames,
      skipped,
      r.shuffle,
    ) as ImageDataset<LabeledBatch>;
  if (o.validationSplit === undefined) return build(records) as Result<O>;
  const { training, validation } = splitRecords(records, o.validationSplit, r.seed ?? 0, {
    shuffle: r.shuffle,
    stratify: o.stratify ?? false,
    where: r.where,
  });
  if (o.subset === 'training') return build(training) as Result<O>;
  if (o.subset === 'validation') return build(validation) as Result<O>;
  return [build(training), build(validation)] as Result<O>;
}

async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && IMAGE_EXTENSIONS.some((x) => e.name.toLowerCase().endsWith(x))) out.push(p);
    }
  };
  await walk(dir);
  return out;
}

/**
 * Keras' image_dataset_from_directory: `dir/<class>/**\/*.jpg` -> batches `{ xs: [n, h, w, c], ys }`.
 * Labels are the class folders' indices in sorted order (or `classNames`' order).
 */
export async function imageDatasetFromDirectory<O extends DirectoryOptions>(
  dir: string,
  options: O = {} as O,
): Promise<Result<O>> {
  const where = 'imageDatasetFromDirectory';
  const labels = options.labels === undefined ? 'inferred' : options.labels;
  if (labels !== 'inferred' && labels !== null)
    throw new Error(`${where}: labels must be 'inferred' or null, got '${String(labels)}'`);
  const r = resolveLoader(labels === null ? { ...options, labelMode: null } : options, where);
  checkSplit(options, r);
  const root = resolve(dir);
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      `${where}: cannot read directory ${root}: ${code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : (e as Error).message}`,
    );
  }
  const folders = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  let classNames: string[] | null = null;
  let records: ImageRecord[];
  if (labels === 'inferred') {
    classNames = options.classNames ?? folders;
    const missing = classNames.filter((c) => !folders.includes(c));
    if (missing.length)
      throw new Error(
        `${where}: classNames ${missing.map((m) => `'${m}'`).join(', ')} not found in ${root} (folders: ${folders.join(', ') || 'none'})`,
      );
    if (new Set(classNames).size !== classNames.length)
      throw new Error(`${where}: classNames has duplicates`);
    if (classNames.length === 0)
      throw new Error(`${where}: no class folders in ${root}; expected one folder per class`);
    records = [];
    for (const [k, name] of classNames.entries()) {
      for (const p of await listImages(join(root, name))) records.push({ path: p, label: k, where: p });
    }
  } else {
    records = (await listImages(root)).map((p) => ({ path: p, label: null, where: p }));
  }
  if (records.length === 0)
    throw new Error(
      `${where}: no images found in ${root} (looked for ${IMAGE_EXTENSIONS.join(' ')} in ${labels === 'inferred' ? 'the class folders' : 'the directory tree'})`,
    );
  return finish(records, options, r, classNames, []);
}

/** Sorts label values numerically when they are all numbers, else as strings. */
function sortLabels(values: string[]): string[] {
  const numeric = values.every((v) => v !== '' && Number.isFinite(Number(v)));
  return values
    .slice()
    .sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A dataset of the images listed in a CSV file (`imageColumn`: file names relative to `imagesDir`;
 * `labelColumn`: labels). Labels map to classes through `classNames`/`labelValues`.
 */
export async function imageDatasetFromCsv<O extends CsvOptions>(
  csv: string,
  imagesDir: string,
  options: O = {} as O,
): Promise<Result<O>> {
  return readCsvDataset(csv, imagesDir, options, 'imageDatasetFromCsv');
}

/** @internal imageDatasetFromCsv with the caller's name in errors */
export async function readCsvDataset<O extends CsvOptions>(
  csv: string,
  imagesDir: string,
  options: O,
  where: string,
  defaults: Partial<CsvOptions> = {},
): Promise<Result<O>> {
  const labelColumn = options.labelColumn === undefined ? 'label' : options.labelColumn;
  const r = resolveLoader(labelColumn === null ? { ...options, labelMode: null } : options, where, defaults);
  checkSplit(options, r);
  const table = await readCsv(resolve(csv), where);
  const file = table.file;
  const imgCol = column(table, options.imageColumn ?? 'image', where);
  const labCol = labelColumn === null ? -1 : column(table, labelColumn, where);
  if (table.rows.length === 0) throw new Error(`${where}: ${file} has a header but no rows`);
  if (options.limit !== undefined) {
    if (!(Number.isInteger(options.limit) && options.limit > 0))
      throw new Error(`${where}: limit must be a positive integer, got ${options.limit}`);
    table.rows = table.rows.slice(0, options.limit);
  }
  // classes and the CSV value of each
  let classNames: string[] | null = null;
  let values: string[] = [];
  if (labCol >= 0) {
    const lv = options.labelValues?.map(String);
    if (options.classNames) {
      classNames = options.classNames.slice();
      values = lv ?? classNames;
    } else {
      values =
        lv ??
        sortLabels([
          ...new Set(table.rows.map((row) => (row.cells[labCol] ?? '').trim()).filter((v) => v !== '')),
        ]);
      classNames = values.slice();
    }
    if (values.length !== classNames.length)
      throw new Error(
        `${where}: labelValues has ${values.length} values for ${classNames.length} classNames`,
      );
    if (new Set(values).size !== values.length)
      throw new Error(`${where}: labelValues/classNames have duplicates`);
  }
  const index = new Map(values.map((v, i) => [v, i]));
  const dir = resolve(imagesDir);
  const skipped: Skipped[] = [];
  const records: ImageRecord[] = [];
  const width = table.header.length;
  for (const row of table.rows) {
    const at = `${file} line ${row.line}`;
    const bad = (reason: string) => {
      if (r.onError === 'skip') skipped.push({ where: at, reason, line: row.line });
      else throw new Error(`${where}: ${at}: ${reason}`);
    };
    if (row.cells.length !== width) {
      bad(`expected ${width} fields (${table.header.join(',')}), got ${row.cells.length}`);
      continue;
    }
    const name = row.cells[imgCol].trim();
    if (name === '') {
      bad(`empty '${table.header[imgCol]}'`);
      continue;
    }
    let label: number | null = null;
    if (labCol >= 0) {
      const v = row.cells[labCol].trim();
      const k = index.get(v);
      if (k === undefined) {
        bad(`${table.header[labCol]} '${v}' is not one of ${values.map((x) => `'${x}'`).join(', ')}`);
        continue;
      }
      label = k;
    }
    records.push({ path: resolve(dir, name), label, where: `${at} (${name})`, line: row.line });
  }
  const checked = await checkFiles(records, r, skipped);
  warnSkipped(where, `rows of ${file}`, skipped, table.rows.length);
  return finish(checked, options, r, classNames, skipped);
}
