// Synthetic stand-in for the seed's ship dataset: scenes of sky, sea and one ship of five classes, with varied
// position, scale, direction, weather, clutter, occlusion and noise; written as JPEGs in the seed's layout
// (train/images, train/train.csv with image,category 1..5, test_ApKoW4T.csv). Deterministic for a seed: each
// image depends only on (seed, split, index), so any subset renders the same bytes.

import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Random } from '../../tensor/random.js';
import { formatCsv } from '../csv.js';
import { encodeImage } from '../image.js';
import { mixSeed, rngAt, shuffleInPlace } from '../random.js';
import { SHIP_CLASSES, SHIP_TEST_CSV } from '../ships.js';
import { Canvas, grey, type RGB } from './canvas.js';
import { type Frame, ShipPainter } from './painter.js';
import { CLASS_PAINTERS } from './ships-draw.js';

const SS = 2; // supersampling factor

const u = (rng: Random, lo: number, hi: number) => lo + (hi - lo) * rng.uniform();
const pick = <T>(rng: Random, xs: T[]): T => xs[rng.int(xs.length)];
const jit = (rng: Random, c: RGB, a: number): RGB => [
  c[0] + u(rng, -a, a),
  c[1] + u(rng, -a, a),
  c[2] + u(rng, -a, a),
];

const SKIES: [RGB, RGB][] = [
  [
    [0.35, 0.55, 0.85],
    [0.75, 0.85, 0.95],
  ], // clear
  [
    [0.55, 0.58, 0.62],
    [0.78, 0.8, 0.82],
  ], // overcast
  [
    [0.8, 0.82, 0.85],
    [0.92, 0.92, 0.92],
  ], // hazy
  [
    [0.45, 0.4, 0.6],
    [0.95, 0.65, 0.45],
  ], // dusk
];
const SEAS: [RGB, RGB][] = [
  [
    [0.25, 0.4, 0.55],
    [0.08, 0.2, 0.35],
  ],
  [
    [0.3, 0.45, 0.45],
    [0.1, 0.25, 0.25],
  ],
  [
    [0.45, 0.5, 0.52],
    [0.2, 0.25, 0.28],
  ],
  [
    [0.2, 0.3, 0.45],
    [0.05, 0.1, 0.2],
  ],
];

function background(c: Canvas, rng: Random, horizon: number): void {
  const [skyTop, skyLow] = pick(rng, SKIES);
  const [seaHigh, seaLow] = pick(rng, SEAS);
  c.gradient(0, horizon, jit(rng, skyTop, 0.05), jit(rng, skyLow, 0.05));
  c.gradient(horizon, c.height, jit(rng, seaHigh, 0.05), jit(rng, seaLow, 0.05));
  // clouds
  for (let k = rng.int(4); k > 0; k--)
    c.ellipse(
      u(rng, 0, c.width),
      u(rng, 0, horizon * 0.8),
      u(rng, 0.1, 0.3) * c.width,
      u(rng, 0.03, 0.08) * c.height,
      grey(u(rng, 0.85, 1)),
      u(rng, 0.3, 0.7),
      true,
    );
  // a coast on the horizon
  if (rng.uniform() < 0.3) {
    const col = jit(
      rng,
      pick<RGB>(rng, [
        [0.35, 0.42, 0.35],
        [0.5, 0.5, 0.52],
        [0.45, 0.4, 0.35],
      ]),
      0.05,
    );
    const pts: [number, number][] = [[0, horizon + 1]];
    const x0 = rng.uniform() < 0.5 ? 0 : u(rng, 0.3, 0.7) * c.width;
    for (let x = x0; x <= c.width; x += c.width / 12) pts.push([x, horizon - u(rng, 0.01, 0.07) * c.height]);
    pts.push([c.width, horizon + 1], [x0, horizon + 1]);
    c.poly(pts.slice(1), col, 0.85);
  }
  // waves: short strokes, longer and denser toward the viewer
  const nWaves = Math.round(u(rng, 20, 80) * (c.width / 128) ** 2);
  for (let k = 0; k < nWaves; k++) {
    const t = rng.uniform() ** 0.7;
    const y = horizon + t * (c.height - horizon);
    const len = (0.02 + 0.12 * t) * c.width * u(rng, 0.5, 1.5);
    const x = u(rng, -len, c.width);
    const light = rng.uniform() < 0.5;
    c.rect(x, y, x + len, y + Math.max(0.6, t * 2.5), light ? grey(0.85) : grey(0.05), u(rng, 0.08, 0.3));
  }
}

function clutter(c: Canvas, rng: Random, horizon: number): void {
  // a distant vessel on the horizon
  if (rng.uniform() < 0.2) {
    const x = u(rng, 0, c.width);
    const w = u(rng, 0.05, 0.12) * c.width;
    c.rect(x, horizon - w * 0.12, x + w, horizon + 1, grey(u(rng, 0.3, 0.5)), 0.7);
  }
  // a harbour crane or pier post at one side
  if (rng.uniform() < 0.15) {
    const x = rng.uniform() < 0.5 ? u(rng, 0, 0.15) * c.width : u(rng, 0.85, 1) * c.width;
    const col = jit(
      rng,
      pick<RGB>(rng, [
        [0.2, 0.2, 0.22],
        [0.7, 0.3, 0.1],
        [0.75, 0.65, 0.2],
      ]),
      0.05,
    );
    c.rect(x, u(rng, 0.05, 0.3) * c.height, x + 0.025 * c.width, c.height, col);
    c.line(
      x,
      u(rng, 0.1, 0.3) * c.height,
      x + u(rng, -0.3, 0.3) * c.width,
      u(rng, 0.05, 0.2) * c.height,
      0.015 * c.width,
      col,
    );
  }
}

function occluder(c: Canvas, rng: Random, f: Frame): void {
  const r = rng.uniform();
  const midX = f.x0 + (f.dir * f.len) / 2;
  if (r < 0.1) {
    // a tug in front of the ship
    const x = midX + u(rng, -0.45, 0.45) * f.len;
    const w = u(rng, 0.12, 0.22) * f.len;
    const y = f.wy + u(rng, 0.02, 0.12) * c.height;
    c.poly(
      [
        [x, y],
        [x + w, y],
        [x + w * 0.9, y - w * 0.2],
        [x, y - w * 0.22],
      ],
      grey(u(rng, 0.05, 0.25)),
    );
    c.rect(
      x + w * 0.3,
      y - w * 0.45,
      x + w * 0.6,
      y - w * 0.2,
      jit(
        rng,
        pick<RGB>(rng, [
          [0.9, 0.9, 0.9],
          [0.8, 0.2, 0.1],
        ]),
        0.05,
      ),
    );
  } else if (r < 0.18) {
    // fog bank or spray across part of the ship
    c.ellipse(
      midX + u(rng, -0.4, 0.4) * f.len,
      f.wy - u(rng, 0, 0.1) * f.len,
      u(rng, 0.2, 0.4) * f.len,
      u(rng, 0.05, 0.15) * f.len,
      grey(0.92),
      u(rng, 0.6, 0.9),
      true,
    );
  } else if (r < 0.24) {
    // a caption bar or watermark block
    const y = rng.uniform() < 0.5 ? u(rng, 0, 0.1) * c.height : u(rng, 0.85, 0.95) * c.height;
    c.rect(
      0,
      y,
      c.width,
      y + u(rng, 0.05, 0.1) * c.height,
      grey(rng.uniform() < 0.5 ? 0.05 : 0.95),
      u(rng, 0.5, 0.9),
    );
  }
}

/** Renders one image of class `label` (0..4) as size x size RGB uint8, determined by `seed`. */
export function renderShip(label: number, size: number, seed: number): Uint8Array {
  if (!(Number.isInteger(label) && label >= 0 && label < CLASS_PAINTERS.length))
    throw new Error(`renderShip: label must be 0..4, got ${label}`);
  if (!(Number.isInteger(size) && size >= 8 && size <= 2048))
    throw new Error(`renderShip: size must be an integer in 8..2048, got ${size}`);
  const rng = rngAt(seed);
  const W = size * SS;
  const c = new Canvas(W, W);
  const horizon = u(rng, 0.25, 0.55) * W;
  background(c, rng, horizon);
  const len = u(rng, 0.6, 1.1) * W;
  const vs = u(rng, 1.2, 2);
  const wy = Math.min(W * 0.92, horizon + u(rng, 0.08, 0.4) * W);
  const dir = rng.uniform() < 0.5 ? 1 : -1;
  const cx = u(rng, 0.3, 0.7) * W;
  const f: Frame = { x0: cx - (dir * len) / 2, dir, len, wy, vs };
  clutter(c, rng, horizon);
  // shadow on the water, the ship, spray at the waterline
  c.rect(
    Math.min(f.x0, f.x0 + dir * len),
    wy - 0.5,
    Math.max(f.x0, f.x0 + dir * len),
    wy + 0.015 * len,
    grey(0.05),
    0.35,
  );
  CLASS_PAINTERS[label](new ShipPainter(c, f, rng));
  c.line(f.x0 + dir * 0.85 * len, wy, f.x0 + dir * 1.02 * len, wy, 0.01 * len, grey(0.95), u(rng, 0.2, 0.6));
  occluder(c, rng, f);
  if (rng.uniform() < 0.15) c.veil(grey(u(rng, 0.7, 0.9)), u(rng, 0.2, 0.5));
  // camera: exposure, colour cast, contrast, sensor noise
  const gain = u(rng, 0.8, 1.15);
  const cast: RGB = [u(rng, 0.92, 1.08), u(rng, 0.94, 1.06), u(rng, 0.92, 1.08)];
  const contrast = u(rng, 0.8, 1.15);
  const sigma = u(rng, 0.005, 0.045);
  return c.downsample(SS, (p) => {
    const out: RGB = [0, 0, 0];
    for (let k = 0; k < 3; k++)
      out[k] = ((p[k] - 0.5) * contrast + 0.5) * gain * cast[k] + sigma * rng.normal();
    return out;
  });
}

export interface SyntheticShipsOptions {
  /** labelled images (default 1500) */
  count?: number;
  /** side in pixels (default 64) */
  size?: number;
  seed?: number;
  /** unlabelled test images listed in test_ApKoW4T.csv (default: 20% of count) */
  testCount?: number;
  /** JPEG quality (default: 75..95, varying per image) */
  quality?: number;
  /** replace an existing dataset in the directory */
  overwrite?: boolean;
  /** called after each image with (done, total) */
  onProgress?: (done: number, total: number) => void;
}

/** Balanced labels (0..4, counts differing by at most one) in a seeded order. */
export function balancedLabels(n: number, seed: number): number[] {
  const labels = Array.from({ length: n }, (_, i) => i % CLASS_PAINTERS.length);
  return shuffleInPlace(labels, rngAt(seed, 'labels'));
}

/** Distinct 7-digit image ids, as the original dataset's file names. */
function imageIds(n: number, seed: number): number[] {
  const rng = rngAt(seed, 'ids');
  const seen = new Set<number>();
  const ids: number[] = [];
  while (ids.length < n) {
    const id = 1000000 + rng.int(9000000);
    if (!seen.has(id)) {
      seen.add(id);
      ids.push(id);
    }
  }
  return ids;
}

/** In memory: `count` images (N, size, size, 3 uint8) with their labels (0..4). */
export function renderSyntheticShips(options: { count?: number; size?: number; seed?: number } = {}): {
  images: Uint8Array;
  labels: Int32Array;
  size: number;
  classNames: string[];
} {
  const { count = 100, size = 64, seed = 0 } = options;
  checkGeneratorArgs(count, size, seed, 'renderSyntheticShips');
  const labels = balancedLabels(count, seed);
  const images = new Uint8Array(count * size * size * 3);
  labels.forEach((l, i) => {
    images.set(renderShip(l, size, mixSeed(seed, 'train', i)), i * size * size * 3);
  });
  return { images, labels: Int32Array.from(labels), size, classNames: [...SHIP_CLASSES] };
}

function checkGeneratorArgs(count: number, size: number, seed: number, where: string): void {
  if (!(Number.isInteger(count) && count >= 1))
    throw new Error(`${where}: count must be a positive integer, got ${count}`);
  if (!(Number.isInteger(size) && size >= 8 && size <= 2048))
    throw new Error(`${where}: size must be an integer in 8..2048, got ${size}`);
  if (!Number.isInteger(seed)) throw new Error(`${where}: seed must be an integer, got ${seed}`);
}

export interface SyntheticShipsResult {
  dir: string;
  train: number;
  test: number;
  /** labelled images per class (Cargo, Military, Carrier, Cruise, Tankers) */
  classCounts: number[];
}

/**
 * Writes a synthetic ship dataset in the seed's layout under `dir`. The CSVs are written last (via a temporary
 * name and a rename), so an interrupted run leaves no dataset that looks complete.
 */
export async function writeSyntheticShips(
  dir: string,
  options: SyntheticShipsOptions = {},
): Promise<SyntheticShipsResult> {
  const where = 'writeSyntheticShips';
  const { count = 1500, size = 64, seed = 0 } = options;
  checkGeneratorArgs(count, size, seed, where);
  const testCount = options.testCount ?? Math.round(count * 0.2);
  if (!(Number.isInteger(testCount) && testCount >= 0))
    throw new Error(`${where}: testCount must be a non-negative integer, got ${testCount}`);
  if (
    options.quality !== undefined &&
    !(Number.isInteger(options.quality) && options.quality >= 1 && options.quality <= 100)
  )
    throw new Error(`${where}: quality must be an integer in 1..100, got ${options.quality}`);
  const root = resolve(dir);
  const csv = join(root, 'train', 'train.csv');
  if (!options.overwrite && (await exists(csv)))
    throw new Error(`${where}: ${csv} exists; choose an empty directory or pass overwrite`);
  const images = join(root, 'train', 'images');
  await mkdir(images, { recursive: true });
  const ids = imageIds(count + testCount, seed);
  const labels = balancedLabels(count, seed);
  const testLabels = balancedLabels(testCount, mixSeed(seed, 'test'));
  const jobs = [
    ...labels.map((l, i) => ({ id: ids[i], label: l, seed: mixSeed(seed, 'train', i) })),
    ...testLabels.map((l, i) => ({ id: ids[count + i], label: l, seed: mixSeed(seed, 'test', i) })),
  ];
  const total = jobs.length;
  let done = 0;
  let next = 0;
  const work = async () => {
    while (next < jobs.length) {
      const j = jobs[next++];
      const px = renderShip(j.label, size, j.seed);
      const quality = options.quality ?? 75 + rngAt(j.seed, 'quality').int(21);
      await writeFile(join(images, `${j.id}.jpg`), await encodeImage(px, size, size, 3, 'jpeg', quality));
      options.onProgress?.(++done, total);
    }
  };
  await Promise.all([work(), work(), work()]);
  const trainRows = jobs.slice(0, count).map((j) => [`${j.id}.jpg`, j.label + 1]);
  const testRows = jobs.slice(count).map((j) => [`${j.id}.jpg`]);
  await writeAtomic(join(root, SHIP_TEST_CSV), formatCsv(['image'], testRows));
  await writeAtomic(csv, formatCsv(['image', 'category'], trainRows));
  const classCounts = SHIP_CLASSES.map((_, k) => labels.filter((l) => l === k).length);
  return { dir: root, train: count, test: testCount, classCounts };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}
