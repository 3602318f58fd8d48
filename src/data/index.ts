// data.*: datasets (tfjs-data style), image decoding, loaders (directory, CSV, the seed's ship layout) and the
// synthetic ship generator. For example:
//   await keel.data.writeSyntheticShips('ships', { count: 1500, size: 64, seed: 0 });
//   const { train, validation } = await keel.data.ships('ships', { imageSize: 64, dtype: 'float16' });
//   await model.fitDataset(train, { epochs: 5, validationData: validation ?? undefined });
//   const ds = keel.data.array([1, 2, 3]).map((x) => ({ xs: [x, x], ys: x % 2 })).shuffle(3, 0).batch(2);

import type { HostTensor } from './host.js';
import { type DecodeTask, decodeImage as decode, type ImageOptions, imageSpec } from './image.js';

export { type CsvTable, formatCsv, parseCsv, parseCsvRecords, readCsv } from './csv.js';
export {
  type Batched,
  type BatchOptions,
  Dataset,
  type ElementOf,
  type MapOptions,
  type WorkerFunction,
} from './dataset.js';
export { type BatchDtype, hostToTensor as toTensor } from './element.js';
export { HostTensor } from './host.js';
export {
  type AugmentParams,
  type ColorMode,
  decodeImage,
  encodeImage,
  type ImageOptions,
  type Interpolation,
  imageSpec,
  type Preprocess,
} from './image.js';
export {
  type CsvOptions,
  type DirectoryOptions,
  IMAGE_EXTENSIONS,
  imageDatasetFromCsv,
  imageDatasetFromDirectory,
  type Subset,
} from './loaders.js';
export {
  type AugmentOptions,
  ImageDataset,
  type ImageLoaderOptions,
  type LabeledBatch,
  type LabelMode,
  type Skipped,
} from './pipeline.js';
export { SHIP_CLASSES, SHIP_TEST_CSV, type ShipsData, type ShipsOptions, ships } from './ships.js';
export { array, generator, zip } from './sources.js';
export {
  balancedLabels,
  renderShip,
  renderSyntheticShips,
  type SyntheticShipsOptions,
  type SyntheticShipsResult,
  writeSyntheticShips,
} from './synthetic/generate.js';
export { terminateWorkers } from './workers.js';

/** Reads one image file (or encoded bytes) into a HostTensor [h, w, c] with the given options. */
export function loadImage(src: string | Uint8Array, options: ImageOptions = {}): Promise<HostTensor> {
  const task: DecodeTask = { src, spec: imageSpec(options, 'data.loadImage') };
  return decode(task);
}
