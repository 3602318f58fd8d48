// What compile() fixes: the optimizer, the loss and the metrics, resolved from names.
import { getOptimizer } from '../optimizers/index.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { getLoss, type LossFn } from './losses.js';
import { getMetric, type MetricFn } from './metrics.js';

export interface CompileArgs {
  optimizer: Optimizer | 'sgd' | 'adam' | 'rmsprop' | 'adamw' | string;
  loss: string | LossFn;
  metrics?: (string | MetricFn)[];
  /** trace and compile the train step (the JIT issue gives this meaning; accepted now) */
  jitCompile?: boolean;
}

export interface Compiled {
  optimizer: Optimizer;
  loss: { name: string; fn: LossFn };
  metrics: { name: string; fn: MetricFn }[];
  jitCompile: boolean;
}

export function resolveCompile(args: CompileArgs, outputUnits: number | null): Compiled {
  if (!args || typeof args !== 'object') throw new Error('compile: expected { optimizer, loss, metrics? }');
  if (args.optimizer === undefined) throw new Error("compile: 'optimizer' is required");
  if (args.loss === undefined) throw new Error("compile: 'loss' is required");
  let optimizer: Optimizer;
  try {
    optimizer = getOptimizer(args.optimizer);
  } catch (err) {
    throw new Error(`compile: ${(err as Error).message}`);
  }
  const loss = getLoss(args.loss);
  const metrics = (args.metrics ?? []).map((m) => getMetric(m, loss.name, outputUnits));
  return { optimizer, loss, metrics, jitCompile: args.jitCompile ?? false };
}
