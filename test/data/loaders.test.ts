// imageDatasetFromDirectory and imageDatasetFromCsv on small generated layouts: labels stay with their images
// through shuffling, splitting, workers and caching; Keras' options; every kind of bad input.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { data } from '../../src/index.js';
import { classDirs, cleanup, collect, flatPng, pixelOf, tmp } from './fixtures.js';

const { imageDatasetFromDirectory, imageDatasetFromCsv } = data;
const CLASSES = ['cat', 'dog', 'eel'];
const COUNTS = [5, 4, 3];
const small = { imageSize: [4, 6] as [number, number] };
/** The class of a pixel value written by classDirs. */
const classOf = (v: number) => Math.floor((v - 10) / 40);

let root: string;
beforeAll(async () => {
  root = await tmp('dirs');
  await classDirs(root, CLASSES, COUNTS);
  await writeFile(join(root, 'cat', 'notes.txt'), 'not an image');
});
afterAll(async () => {
  await data.terminateWorkers();
  await cleanup();
});

describe('imageDatasetFromDirectory', () => {
  it('labels are the sorted class folders; every image keeps its label through the shuffle', async () => {
    const ds = await imageDatasetFromDirectory(root, { ...small, batchSize: 5, seed: 1 });
    expect(ds.classNames).toEqual(CLASSES);
    expect(ds.filePaths.length).toBe(12);
    expect(ds.size).toBe(3);
    const got = await collect(ds);
    expect(got.shapes).toEqual([
      [5, 4, 6, 3],
      [5, 4, 6, 3],
      [2, 4, 6, 3],
    ]);
    expect(got.dtypes).toEqual(['float32', 'float32', 'float32']);
    for (const [i, v] of got.pixels.entries()) expect(got.labels[i]).toEqual([classOf(v)]);
    const all = CLASSES.flatMap((_, k) => Array.from({ length: COUNTS[k] }, (_, i) => pixelOf(k, i)));
    expect([...got.pixels].sort((a, b) => a - b)).toEqual(all.sort((a, b) => a - b));
    expect(got.pixels).not.toEqual(all); // shuffled
    // the same seed gives the same order; the next pass is reshuffled
    const again = await imageDatasetFromDirectory(root, { ...small, batchSize: 5, seed: 1 });
    expect((await collect(again)).pixels).toEqual(got.pixels);
    expect((await collect(again)).pixels).not.toEqual(got.pixels);
  });

  it('shuffle: false keeps class then file order; classNames picks and orders classes', async () => {
    const ds = await imageDatasetFromDirectory(root, {
      ...small,
      shuffle: false,
      classNames: ['eel', 'cat'],
    });
    const got = await collect(ds);
    expect(got.pixels).toEqual([
      ...[0, 1, 2].map((i) => pixelOf(2, i)),
      ...[0, 1, 2, 3, 4].map((i) => pixelOf(0, i)),
    ]);
    expect(got.labels.flat()).toEqual([0, 0, 0, 1, 1, 1, 1, 1]);
    await expect(imageDatasetFromDirectory(root, { classNames: ['cat', 'cow'] })).rejects.toThrow(
      /classNames 'cow' not found/,
    );
  });

  it("labelMode 'categorical', 'binary' and null; labels: null yields images only", async () => {
    const cat = await collect(
      await imageDatasetFromDirectory(root, { ...small, labelMode: 'categorical', shuffle: false }),
    );
    expect(cat.labels[0]).toEqual([1, 0, 0]);
    expect(cat.labels[11]).toEqual([0, 0, 1]);
    const bin = await collect(
      await imageDatasetFromDirectory(root, {
        ...small,
        labelMode: 'binary',
        classNames: ['cat', 'dog'],
        shuffle: false,
      }),
    );
    expect(bin.labels.map((l) => l.length)).toEqual(new Array(9).fill(1));
    expect(bin.labels[8]).toEqual([1]);
    await expect(imageDatasetFromDirectory(root, { labelMode: 'binary' })).rejects.toThrow(
      /'binary' needs exactly 2 classes, found 3/,
    );
    const none = await collect(
      await imageDatasetFromDirectory(root, { ...small, labels: null, shuffle: false }),
    );
    expect(none.labels).toEqual([]);
    expect(none.pixels.length).toBe(12);
  });

  it('validationSplit with subset: disjoint, complete, Keras-style seed requirement', async () => {
    const opts = { ...small, validationSplit: 0.25, seed: 3 } as const;
    const [tr, va] = await imageDatasetFromDirectory(root, { ...opts, subset: 'both' });
    expect(tr.filePaths.length).toBe(9);
    expect(va.filePaths.length).toBe(3);
    expect(new Set([...tr.filePaths, ...va.filePaths]).size).toBe(12);
    const only = await imageDatasetFromDirectory(root, { ...opts, subset: 'validation' });
    expect(only.filePaths).toEqual(va.filePaths);
    await expect(
      imageDatasetFromDirectory(root, { validationSplit: 0.2, subset: 'training' }),
    ).rejects.toThrow(/give a seed/);
    await expect(imageDatasetFromDirectory(root, { validationSplit: 0.2, seed: 1 })).rejects.toThrow(
      /give subset/,
    );
    await expect(imageDatasetFromDirectory(root, { subset: 'training' })).rejects.toThrow(
      /subset needs validationSplit/,
    );
    await expect(
      imageDatasetFromDirectory(root, { validationSplit: 1.5, subset: 'both', seed: 1 }),
    ).rejects.toThrow(/validationSplit must be in \(0, 1\)/);
    const strat = await imageDatasetFromDirectory(root, {
      ...small,
      validationSplit: 0.4,
      subset: 'validation',
      stratify: true,
      seed: 2,
    });
    expect(strat.labels!.filter((l) => l === 0).length).toBe(2); // round(0.4 * 5)
  });

  it('unbatched elements, float16 batches, workers and cache give the same images', async () => {
    const base = { ...small, seed: 5, batchSize: 4 };
    const ref = await collect(await imageDatasetFromDirectory(root, base));
    const unb = await imageDatasetFromDirectory(root, { ...base, batchSize: null });
    const first = (await unb.take(1).toArray())[0] as unknown as {
      xs: data.HostTensor & { shape: number[]; dispose(): void };
      ys: { dispose(): void };
    };
    expect(first.xs.shape).toEqual([4, 6, 3]);
    first.xs.dispose();
    first.ys.dispose();
    const f16 = await collect(await imageDatasetFromDirectory(root, { ...base, dtype: 'float16' }));
    expect(f16.dtypes[0]).toBe('float16');
    expect(f16.pixels).toEqual(ref.pixels);
    const onWorkers = await collect(await imageDatasetFromDirectory(root, { ...base, workers: 2 }));
    expect(onWorkers).toEqual(ref);
    const cached = await imageDatasetFromDirectory(root, { ...base, cache: true });
    const c1 = await collect(cached);
    const c2 = await collect(cached);
    expect([...c1.pixels].sort()).toEqual([...ref.pixels].sort());
    expect([...c2.pixels].sort()).toEqual([...ref.pixels].sort());
    for (const [i, v] of c1.pixels.entries()) expect(c1.labels[i]).toEqual([classOf(v)]);
  });

  it('augmentation is deterministic for a seed and independent of the number of workers', async () => {
    const base = {
      imageSize: [4, 6] as [number, number],
      batchSize: 12,
      seed: 9,
      augment: { flip: true, crop: 0.3 },
    };
    const a = await collect(await imageDatasetFromDirectory(root, base));
    const b = await collect(await imageDatasetFromDirectory(root, { ...base, workers: 1 }));
    expect(b).toEqual(a);
    await expect(imageDatasetFromDirectory(root, { ...base, cache: true })).rejects.toThrow(
      /crop .* cannot be combined with cache/,
    );
    // flips only: the cached pipeline gives the same batches, pass after pass
    const flips = {
      imageSize: [4, 6] as [number, number],
      batchSize: 5,
      seed: 2,
      augment: { flip: 'horizontal' as const },
    };
    const live = await imageDatasetFromDirectory(root, flips);
    const cached = await imageDatasetFromDirectory(root, { ...flips, cache: true });
    for (let pass = 0; pass < 2; pass++) expect(await collect(cached)).toEqual(await collect(live));
    await expect(imageDatasetFromDirectory(root, { augment: { crop: 1 } })).rejects.toThrow(
      /augment.crop must be in \[0, 1\)/,
    );
  });

  it('missing, empty and image-less directories are clear errors', async () => {
    await expect(imageDatasetFromDirectory(join(root, 'nope'))).rejects.toThrow(
      /cannot read directory .*nope: no such directory/,
    );
    const empty = await tmp('empty');
    await expect(imageDatasetFromDirectory(empty)).rejects.toThrow(/no class folders/);
    await mkdir(join(empty, 'a'));
    await mkdir(join(empty, 'b'));
    await expect(imageDatasetFromDirectory(empty)).rejects.toThrow(/no images found in .*\.jpg/);
    await expect(imageDatasetFromDirectory(root, { batchSize: 0 })).rejects.toThrow(
      /batchSize must be a positive integer/,
    );
    await expect(imageDatasetFromDirectory(root, { labelMode: 'sparse' as never })).rejects.toThrow(
      /labelMode/,
    );
  });
});

describe('imageDatasetFromCsv', () => {
  let dir: string;
  const write = (name: string, text: string) => writeFile(join(dir, name), text);
  beforeAll(async () => {
    dir = await tmp('csv');
    await mkdir(join(dir, 'img'));
    for (let i = 0; i < 6; i++)
      await writeFile(join(dir, 'img', `${i}.png`), await flatPng(pixelOf(i % 3, i)));
    await writeFile(join(dir, 'img', 'broken.png'), 'garbage');
  });
  const rows = (lines: string[]) => `${lines.join('\r\n')}\r\n`;

  it('string labels become sorted classes; quotes, CRLF and a BOM are handled', async () => {
    await write(
      'ok.csv',
      `\uFEFF${rows(['file,kind', ...[0, 1, 2, 3, 4, 5].map((i) => `"${i}.png",${['b', 'a', 'c'][i % 3]}`)])}`,
    );
    const ds = await imageDatasetFromCsv(join(dir, 'ok.csv'), join(dir, 'img'), {
      ...small,
      imageColumn: 'file',
      labelColumn: 'kind',
      shuffle: false,
    });
    expect(ds.classNames).toEqual(['a', 'b', 'c']);
    expect(ds.labels).toEqual([1, 0, 2, 1, 0, 2]);
    const got = await collect(ds);
    expect(got.pixels).toEqual([0, 1, 2, 3, 4, 5].map((i) => pixelOf(i % 3, i)));
  });

  it('classNames with labelValues map CSV values to classes (as the ship categories 1..5)', async () => {
    await write('num.csv', rows(['image,label', '0.png,10', '1.png,20', '2.png,10']));
    const ds = await imageDatasetFromCsv(join(dir, 'num.csv'), join(dir, 'img'), {
      ...small,
      classNames: ['ten', 'twenty'],
      labelValues: [10, 20],
      shuffle: false,
    });
    expect(ds.labels).toEqual([0, 1, 0]);
    const inferred = await imageDatasetFromCsv(join(dir, 'num.csv'), join(dir, 'img'), {
      ...small,
      shuffle: false,
    });
    expect(inferred.classNames).toEqual(['10', '20']);
  });

  it('bad input is an error naming the file and line', async () => {
    const img = join(dir, 'img');
    await expect(imageDatasetFromCsv(join(dir, 'absent.csv'), img)).rejects.toThrow(
      /imageDatasetFromCsv: cannot read .*absent\.csv: no such file/,
    );
    await write('hdr.csv', rows(['img,category', '0.png,1']));
    await expect(imageDatasetFromCsv(join(dir, 'hdr.csv'), img)).rejects.toThrow(
      /hdr\.csv has no column 'image' \(line 1 has: 'img', 'category'\)/,
    );
    await write('lab.csv', rows(['image,label', '0.png,1', '1.png,9']));
    await expect(
      imageDatasetFromCsv(join(dir, 'lab.csv'), img, { classNames: ['x'], labelValues: [1] }),
    ).rejects.toThrow(/lab\.csv line 3: label '9' is not one of '1'/);
    await write('miss.csv', rows(['image,label', '0.png,a', 'gone.png,a']));
    await expect(imageDatasetFromCsv(join(dir, 'miss.csv'), img)).rejects.toThrow(
      /miss\.csv line 3 \(gone\.png\): image file not found: .*gone\.png/,
    );
    await write('empty.csv', 'image,label\n');
    await expect(imageDatasetFromCsv(join(dir, 'empty.csv'), img)).rejects.toThrow(
      /empty\.csv has a header but no rows/,
    );
    await write('nothing.csv', '');
    await expect(imageDatasetFromCsv(join(dir, 'nothing.csv'), img)).rejects.toThrow(
      /nothing\.csv: the file is empty/,
    );
    await write('width.csv', rows(['image,label', '0.png,a,extra']));
    await expect(imageDatasetFromCsv(join(dir, 'width.csv'), img)).rejects.toThrow(
      /width\.csv line 2: expected 2 fields/,
    );
    await write('blank.csv', rows(['image,label', ',a']));
    await expect(imageDatasetFromCsv(join(dir, 'blank.csv'), img)).rejects.toThrow(
      /blank\.csv line 2: empty 'image'/,
    );
    // a corrupt image is found while iterating, and named with its CSV line
    await write('corrupt.csv', rows(['image,label', '0.png,a', 'broken.png,a']));
    const ds = await imageDatasetFromCsv(join(dir, 'corrupt.csv'), img, { ...small, shuffle: false });
    await expect(collect(ds)).rejects.toThrow(
      /imageDatasetFromCsv: .*corrupt\.csv line 3 \(broken\.png\): cannot decode image .*broken\.png: /,
    );
  });

  it("onError: 'skip' skips bad rows and images, counts them and warns", async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await write(
        'mixed.csv',
        rows(['image,label', '0.png,a', 'gone.png,a', '1.png,zzz', '2.png,b', 'broken.png,b', '3.png,a,x']),
      );
      const ds = await imageDatasetFromCsv(join(dir, 'mixed.csv'), join(dir, 'img'), {
        ...small,
        shuffle: false,
        onError: 'skip',
        classNames: ['a', 'b'],
        batchSize: 2,
      });
      expect(ds.skipped.length).toBe(3);
      expect(String(warn.mock.calls[0][0])).toMatch(
        /skipped 3 of 6 rows of .*mixed\.csv: .*line 3.*not found.*line 4.*'zzz'.*line 7: expected 2 fields/,
      );
      const got = await collect(ds);
      expect(got.pixels).toEqual([pixelOf(0, 0), pixelOf(2, 2)]);
      expect(ds.skipped.length).toBe(4);
      expect(ds.skipped[3].where).toMatch(/line 6 \(broken\.png\)/);
      expect(String(warn.mock.calls[1][0])).toMatch(/skipped .*broken\.png.*cannot decode image/);
      await write('allbad.csv', rows(['image,label', 'gone.png,a']));
      await expect(
        imageDatasetFromCsv(join(dir, 'allbad.csv'), join(dir, 'img'), { onError: 'skip' }),
      ).rejects.toThrow(/no images left after skipping 1/);
    } finally {
      warn.mockRestore();
    }
  });
});
