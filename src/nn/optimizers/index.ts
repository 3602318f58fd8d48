// train.*: optimizer factories with tfjs' names and signatures.

import { AdamOptimizer } from './adam.js';
import { SGDOptimizer } from './sgd.js';

export { Optimizer } from './optimizer.js';
export { AdamOptimizer, SGDOptimizer };

export const train = {
  sgd: (learningRate: number) => new SGDOptimizer(learningRate),
  adam: (learningRate?: number, beta1?: number, beta2?: number, epsilon?: number) => new AdamOptimizer(learningRate, beta1, beta2, epsilon),
};
