#!/usr/bin/env node
// The `keel` command line: one sub-command per file in cli/.

import { Command, CommanderError } from 'commander';
import { UsageError } from './cli/args.js';
import { registerBench } from './cli/bench.js';
import { registerDemo } from './cli/demo.js';
import { registerRuns } from './cli/runs.js';
import { registerShips } from './cli/ships.js';
import { registerTrain } from './cli/train.js';
import { registerUi } from './cli/ui.js';

const program = new Command('keel')
  .description('Keel: mixed-precision deep learning for TypeScript')
  .version('0.1.0')
  .exitOverride()
  .configureOutput({ outputError: (s, write) => write(s) });

registerDemo(program);
registerBench(program);
registerTrain(program);
registerShips(program);
registerRuns(program);
registerUi(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 1 ? 2 : e.exitCode);
  console.error(`keel: ${(e as Error).message}`);
  process.exit(e instanceof UsageError ? 2 : 1);
}
