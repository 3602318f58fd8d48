// What compile() fixes: the optimizer, the loss and the metrics, resolved from names.
import { AutocastPolicy } from '../../mixed/autocast.js';
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
  /**
   * Automatic mixed precision for a float32 model: matMul/conv run in this dtype, softmax/log/exp
   * and reductions in float32 (src/mixed/autocast.ts); 'float16' also adds loss scaling.
   */
  autoMixedPrecision?: 'float16' | 'bfloat16' | null;
}

export interface Compiled {
  optimizer: Optimizer;
  loss: { name: string; fn: LossFn };
  metrics: { name: string; fn: MetricFn }[];
  jitCompile: boolean;
  /** the autocast policy of autoMixedPrecision (its `counts` say what was cast) */
  autocast: AutocastPolicy | null;
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
  const amp = args.autoMixedPrecision ?? null;
  if (amp !== null && amp !== 'float16' && amp !== 'bfloat16') {
    throw new Error(
      `compile: autoMixedPrecision must be 'float16', 'bfloat16' or null, got '${String(amp)}'`,
    );
  }
  return {
    optimizer,
    loss,
    metrics,
    jitCompile: args.jitCompile ?? false,
    autocast: amp ? new AutocastPolicy(amp) : null,
  };
}
