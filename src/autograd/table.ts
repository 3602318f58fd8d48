// The gradient table: one rule per primitive, assembled from the family files.

import type { Primitive } from '../backend/primitives.js';
import type { SavePolicy } from '../tensor/engine.js';
import { convGrads } from './gradients/conv.js';
import { elementwiseGrads } from './gradients/elementwise.js';
import { layoutGrads } from './gradients/layout.js';
import { linalgGrads } from './gradients/linalg.js';
import { reductionGrads } from './gradients/reduction.js';
import type { GradTable } from './rule.js';

export const GRADIENTS: GradTable = {
  ...elementwiseGrads,
  ...reductionGrads,
  ...layoutGrads,
  ...linalgGrads,
  ...convGrads,
};

/** What the tape must save for each primitive, as the engine reads it. */
export const SAVE_POLICIES = Object.fromEntries(
  Object.entries(GRADIENTS).map(([p, rule]) => [
    p,
    (attrs: unknown) => (rule.save as (a: unknown) => ReturnType<SavePolicy>)(attrs),
  ]),
) as Record<Primitive, SavePolicy>;
