// What compile() fixes: the optimizer, the loss and the metrics, resolved from names.
import { train } from '../optimizers/index.js';
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

function optimizerFromName(name: string): Optimizer {
  const make = (train as unknown as Record<string, ((lr?: number) => Optimizer) | undefined>)[name];
  // Keras' default learning rates for string optimizers
  const lr: Record<string, number> = { sgd: 0.01, adam: 0.001, rmsprop: 0.001, adamw: 0.001 };
  if (!make || !(name in lr)) throw new Error(`compile: unknown optimizer '${name}'; expected sgd, adam, rmsprop, adamw or an Optimizer`);
  return make(lr[name]);
}

export function resolveCompile(args: CompileArgs, outputUnits: number | null): Compiled {
  if (!args || typeof args !== 'object') throw new Error('compile: expected { optimizer, loss, metrics? }');
  if (args.optimizer === undefined) throw new Error("compile: 'optimizer' is required");
  if (args.loss === undefined) throw new Error("compile: 'loss' is required");
  const optimizer = typeof args.optimizer === 'string' ? optimizerFromName(args.optimizer) : args.optimizer;
  if (typeof (optimizer as Optimizer).applyGradients !== 'function') throw new Error('compile: optimizer must be a name or an Optimizer');
  const loss = getLoss(args.loss);
  const metrics = (args.metrics ?? []).map((m) => getMetric(m, loss.name, outputUnits));
  return { optimizer, loss, metrics, jitCompile: args.jitCompile ?? false };
}
