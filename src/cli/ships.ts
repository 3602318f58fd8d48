// `keel ships --out DIR [--count 1500] [--size 64] [--seed 0]`: writes a synthetic ship dataset in the seed's layout.

import type { Command } from 'commander';
import { SHIP_CLASSES } from '../data/ships.js';
import { writeSyntheticShips } from '../data/synthetic/generate.js';
import { intIn } from './args.js';

export interface ShipsCliOptions {
  out: string;
  count: number;
  size: number;
  seed: number;
  testCount?: number;
  quality?: number;
  force?: boolean;
  quiet?: boolean;
}

export function registerShips(program: Command): void {
  program
    .command('ships')
    .description(
      "write a synthetic ship dataset in the seed's layout (train/images, train/train.csv, test_ApKoW4T.csv)",
    )
    .requiredOption('--out <dir>', 'output directory')
    .option('--count <n>', 'labelled training images', intIn(1, 10_000_000, '--count'), 1500)
    .option('--size <px>', 'image side in pixels', intIn(8, 2048, '--size'), 64)
    .option('--seed <n>', 'random seed (same seed, same bytes)', intIn(-(2 ** 31), 2 ** 32 - 1, '--seed'), 0)
    .option(
      '--test-count <n>',
      'unlabelled test images (default: 20% of --count)',
      intIn(0, 10_000_000, '--test-count'),
    )
    .option(
      '--quality <q>',
      'JPEG quality 1..100 (default: varies 75..95 per image)',
      intIn(1, 100, '--quality'),
    )
    .option('--force', 'replace an existing dataset in --out')
    .option('--quiet', 'no progress output')
    .action(async (o: ShipsCliOptions) => {
      const t0 = performance.now();
      const live = process.stderr.isTTY && !o.quiet;
      let lastTenth = -1;
      const r = await writeSyntheticShips(o.out, {
        count: o.count,
        size: o.size,
        seed: o.seed,
        testCount: o.testCount,
        quality: o.quality,
        overwrite: o.force,
        onProgress: (done, total) => {
          if (o.quiet) return;
          if (live) {
            if (done % 25 === 0 || done === total)
              process.stderr.write(`\rgenerating ships: ${done}/${total} images`);
            if (done === total) process.stderr.write('\n');
          } else {
            const tenth = Math.floor((10 * done) / total);
            if (tenth > lastTenth) {
              lastTenth = tenth;
              console.error(`generating ships: ${done}/${total} images (${tenth * 10}%)`);
            }
          }
        },
      });
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      const per = SHIP_CLASSES.map((c, k) => `${c} ${r.classCounts[k]}`).join(', ');
      console.log(
        `wrote ${r.train} labelled and ${r.test} test images (${o.size}x${o.size}) to ${r.dir} in ${secs}s: ${per}`,
      );
    });
}
