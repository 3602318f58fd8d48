// Weight regularizers (tfjs' regularizers.l1 / l2 / l1l2): a penalty added to the training loss,
// computed in float32 whatever the compute dtype.
import { abs, add, mul, square } from '../tensor/ops/elementwise.js';
import { sum } from '../tensor/ops/reduction.js';
import type { Tensor } from '../tensor/tensor.js';

export class Regularizer {
  readonly className = 'L1L2';
  constructor(
    readonly l1 = 0,
    readonly l2 = 0,
  ) {
    if (!(l1 >= 0 && l2 >= 0)) throw new Error(`regularizers: l1 and l2 must be >= 0, got ${l1}, ${l2}`);
  }
  apply(x: Tensor): Tensor {
    const w = x.dtype === 'float32' ? x : x.cast('float32');
    let r: Tensor | null = null;
    if (this.l1 > 0) r = mul(sum(abs(w)), this.l1);
    if (this.l2 > 0) r = r ? add(r, mul(sum(square(w)), this.l2)) : mul(sum(square(w)), this.l2);
    return r ?? mul(sum(w), 0);
  }
  getConfig() {
    return { l1: this.l1, l2: this.l2 };
  }
}

export const regularizers = {
  l1: (args?: { l1?: number }) => new Regularizer(args?.l1 ?? 0.01, 0),
  l2: (args?: { l2?: number }) => new Regularizer(0, args?.l2 ?? 0.01),
  l1l2: (args?: { l1?: number; l2?: number }) => new Regularizer(args?.l1 ?? 0.01, args?.l2 ?? 0.01),
};

export function getRegularizer(
  id: Regularizer | 'l1' | 'l2' | 'l1l2' | null | undefined,
  where: string,
): Regularizer | null {
  if (id === null || id === undefined) return null;
  if (id instanceof Regularizer) return id;
  const make = (regularizers as Record<string, () => Regularizer>)[id];
  if (!make) throw new Error(`${where}: unknown regularizer '${String(id)}'; expected l1, l2 or l1l2`);
  return make();
}
