// `keel train [options]`: trains one configuration on the ship data, tracked as a run.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import * as keel from '../index.js';
import { trainOne } from './experiment.js';
import { addTrainOptions, resolveTrainOptions, type TrainFlags } from './train-options.js';

export function registerTrain(program: Command): void {
  addTrainOptions(
    program.command('train').description('train one configuration on the ship data (tracked as a run)'),
  )
    .option('--quick', 'a small, fast run')
    .action(async (f: TrainFlags & { quick?: boolean }) => {
      const o = resolveTrainOptions(f, f.quick ?? false);
      const r = await trainOne(o);
      console.log(
        `\n${r.name}: ${r.msPerStep.toFixed(1)} ms/step, ${r.imagesPerSec.toFixed(0)} images/s, final loss ${r.final.loss.toFixed(4)}, ` +
          `val_accuracy ${r.final.valAccuracy?.toFixed(4) ?? 'n/a'} (run ${r.runId})`,
      );
      if (f.json)
        writeFileSync(
          f.json,
          `${JSON.stringify({ backend: keel.getBackend(), device: keel.getDevice(), runs: [r] }, null, 2)}\n`,
        );
    });
}
