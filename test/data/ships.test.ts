// The synthetic ship generator (determinism: same seed, same bytes; class balance; the seed's layout) and the
// data.ships loader on a generated layout (stratified split, unlabelled test set, bad layouts); `keel ships`.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { data } from '../../src/index.js';
import { cleanup, collect, tmp } from './fixtures.js';

const { writeSyntheticShips, renderSyntheticShips, renderShip, balancedLabels, ships, SHIP_CLASSES } = data;

async function digest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
      else
        out[`${rel}${e.name}`] = createHash('sha256')
          .update(await readFile(join(d, e.name)))
          .digest('hex');
    }
  };
  await walk(dir, '');
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await tmp('ships');
  await writeSyntheticShips(dir, { count: 30, size: 16, seed: 4, testCount: 6 });
});
afterAll(async () => {
  await data.terminateWorkers();
  await cleanup();
});

describe('synthetic ships', () => {
  it("writes the seed's layout: train/images, train/train.csv (image,category 1..5), test_ApKoW4T.csv", async () => {
    expect((await readdir(dir)).sort()).toEqual(['test_ApKoW4T.csv', 'train']);
    expect((await readdir(join(dir, 'train'))).sort()).toEqual(['images', 'train.csv']);
    const train = parseCsv(await readFile(join(dir, 'train', 'train.csv'), 'utf8'));
    expect(train.header).toEqual(['image', 'category']);
    expect(train.rows.length).toBe(30);
    const test = parseCsv(await readFile(join(dir, 'test_ApKoW4T.csv'), 'utf8'));
    expect(test.header).toEqual(['image']);
    expect(test.rows.length).toBe(6);
    const images = await readdir(join(dir, 'train', 'images'));
    expect(images.length).toBe(36);
    for (const r of [...train.rows, ...test.rows]) expect(images).toContain(r.cells[0]);
    expect(
      train.rows.every(
        (r) => /^\d{7}\.jpg$/.test(r.cells[0]) && ['1', '2', '3', '4', '5'].includes(r.cells[1]),
      ),
    ).toBe(true);
    // balanced classes
    const counts = [1, 2, 3, 4, 5].map((k) => train.rows.filter((r) => r.cells[1] === String(k)).length);
    expect(counts).toEqual([6, 6, 6, 6, 6]);
  });

  it('same seed, same bytes; another seed, other images', async () => {
    const again = await tmp('ships-again');
    await writeSyntheticShips(again, { count: 30, size: 16, seed: 4, testCount: 6 });
    expect(await digest(again)).toEqual(await digest(dir));
    const other = await tmp('ships-other');
    await writeSyntheticShips(other, { count: 30, size: 16, seed: 5, testCount: 6 });
    expect(await digest(other)).not.toEqual(await digest(dir));
    const a = renderSyntheticShips({ count: 10, size: 24, seed: 1 });
    const b = renderSyntheticShips({ count: 10, size: 24, seed: 1 });
    expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
    expect(a.images.length).toBe(10 * 24 * 24 * 3);
    expect(Buffer.from(renderShip(2, 24, 7)).equals(Buffer.from(renderShip(2, 24, 7)))).toBe(true);
    expect(Buffer.from(renderShip(2, 24, 7)).equals(Buffer.from(renderShip(2, 24, 8)))).toBe(false);
  });

  it('labels are balanced for any count; the classes look different on average', () => {
    for (const n of [5, 17, 101]) {
      const l = balancedLabels(n, 3);
      const c = [0, 1, 2, 3, 4].map((k) => l.filter((x) => x === k).length);
      expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
    }
    // mean colour of the ship region differs between classes: carriers/military are grey, cargo is colourful
    const { images, labels } = renderSyntheticShips({ count: 100, size: 32, seed: 2 });
    const sat = [0, 0, 0, 0, 0];
    for (let i = 0; i < 100; i++) {
      let s = 0;
      for (let p = 0; p < 32 * 32; p++) {
        const o = (i * 32 * 32 + p) * 3;
        s +=
          Math.max(images[o], images[o + 1], images[o + 2]) -
          Math.min(images[o], images[o + 1], images[o + 2]);
      }
      sat[labels[i]] += s / (32 * 32) / 20;
    }
    expect(sat[0]).toBeGreaterThan(sat[2]); // Cargo more saturated than Carrier
  });

  it('refuses to overwrite an existing dataset unless asked; bad arguments are errors', async () => {
    await expect(writeSyntheticShips(dir, { count: 5, size: 16 })).rejects.toThrow(/train\.csv exists/);
    await expect(writeSyntheticShips(dir, { count: 0 })).rejects.toThrow(/count must be a positive integer/);
    await expect(writeSyntheticShips(dir, { size: 4 })).rejects.toThrow(
      /size must be an integer in 8\.\.2048/,
    );
    expect(() => renderShip(5, 16, 0)).toThrow(/label must be 0\.\.4/);
  });
});

describe('data.ships', () => {
  it('stratified training/validation split, labels from category - 1, unlabelled test set', async () => {
    const d = await ships(dir, { imageSize: 16, batchSize: 8, validationSplit: 0.2 });
    expect(d.classNames).toEqual([...SHIP_CLASSES]);
    expect(d.counts.validation).toEqual([1, 1, 1, 1, 1]);
    expect(d.counts.train).toEqual([5, 5, 5, 5, 5]);
    expect(d.validation!.filePaths.length).toBe(5);
    expect(d.test!.filePaths.length).toBe(6);
    const rows = parseCsv(await readFile(join(dir, 'train', 'train.csv'), 'utf8')).rows;
    const byName = new Map(rows.map((r) => [r.cells[0], Number(r.cells[1]) - 1]));
    for (const [i, p] of d.train.filePaths.entries())
      expect(d.train.labels![i]).toBe(byName.get(p.split('/').pop()!));
    const got = await collect(d.train);
    expect(got.shapes.map((s) => s[0])).toEqual([8, 8, 8, 1]);
    expect(got.shapes[0]).toEqual([8, 16, 16, 3]);
    const test = await collect(d.test!);
    expect(test.labels).toEqual([]);
    expect(test.pixels.length).toBe(6);
    // values scaled to 0..1 by default
    const [b] = (await d.validation!.take(1).toArray()) as {
      xs: { dataSync(): Float32Array; dtype: string };
    }[];
    expect(Math.max(...b.xs.dataSync())).toBeLessThanOrEqual(1);
  });

  it('float16 batches for a mixed policy; limit; no validation split', async () => {
    const d = await ships(dir, {
      imageSize: 16,
      batchSize: 4,
      dtype: 'float16',
      validationSplit: 0,
      limit: 10,
    });
    expect(d.validation).toBe(null);
    expect(d.train.filePaths.length).toBe(10);
    const got = await collect(d.train);
    expect(got.dtypes.every((t) => t === 'float16')).toBe(true);
  });

  it('a missing CSV, a missing image, a bad category: errors naming file and line', async () => {
    await expect(ships(join(dir, 'nowhere'))).rejects.toThrow(
      /data\.ships: cannot read .*nowhere\/train\/train\.csv: no such file/,
    );
    const bad = await tmp('ships-bad');
    await mkdir(join(bad, 'train', 'images'), { recursive: true });
    const imgs = await readdir(join(dir, 'train', 'images'));
    for (const f of imgs.slice(0, 3))
      await writeFile(join(bad, 'train', 'images', f), await readFile(join(dir, 'train', 'images', f)));
    await writeFile(
      join(bad, 'train', 'train.csv'),
      `image,category\n${imgs[0]},1\n${imgs[1]},6\n${imgs[2]},2\n`,
    );
    await expect(ships(bad, { validationSplit: 0 })).rejects.toThrow(
      /line 3: category '6' is not one of '1', '2', '3', '4', '5'/,
    );
    await writeFile(join(bad, 'train', 'train.csv'), `image,category\n${imgs[0]},1\nmissing.jpg,2\n`);
    await expect(ships(bad, { validationSplit: 0 })).rejects.toThrow(
      /train\.csv line 3 \(missing\.jpg\): image file not found/,
    );
    await writeFile(join(bad, 'train', 'train.csv'), `image,label\n${imgs[0]},1\n`);
    await expect(ships(bad)).rejects.toThrow(/has no column 'category'/);
    await rm(bad, { recursive: true });
  });
});

describe('keel ships (CLI)', () => {
  const viteNode = join(process.cwd(), 'node_modules', '.bin', 'vite-node');
  const keel = (...args: string[]) =>
    spawnSync(viteNode, ['src/cli.ts', 'ships', ...args], { encoding: 'utf8', timeout: 60_000 });

  it('bad arguments exit 2 with a message', () => {
    const r = keel('--out', '/tmp/x', '--count', 'many');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--count must be an integer in 1\.\.10000000, got 'many'/);
    const noOut = keel('--size', '64');
    expect(noOut.status).toBe(2);
    expect(noOut.stderr).toMatch(/required option '--out <dir>'/);
  });

  it('writes a dataset and reports it', async () => {
    const out = await tmp('cli');
    const r = keel('--out', out, '--count', '10', '--size', '16', '--seed', '3', '--quiet');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /wrote 10 labelled and 2 test images \(16x16\) .*Cargo 2, Military 2, Carrier 2, Cruise 2, Tankers 2/,
    );
    const same = await tmp('api');
    await writeSyntheticShips(same, { count: 10, size: 16, seed: 3 });
    expect(await digest(out)).toEqual(await digest(same));
    const again = keel('--out', out, '--count', '10', '--size', '16', '--quiet');
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists/);
  });
});
