// Adam (tfjs' defaults: lr 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7), slots kept per variable.

import { variable } from '../../tensor/ops/creation.js';
import { add, div, mul, sqrt, square, sub } from '../../tensor/ops/elementwise.js';
import { zerosLike } from '../../tensor/ops/creation.js';
import type { Tensor, Variable } from '../../tensor/tensor.js';
import { Optimizer } from './optimizer.js';

let nextSlot = 0;

export class AdamOptimizer extends Optimizer {
  private slots = new Map<string, { m: Variable; v: Variable }>();

  constructor(
    public learningRate = 0.001,
    public beta1 = 0.9,
    public beta2 = 0.999,
    public epsilon = 1e-7,
  ) {
    super();
    if (!(learningRate > 0)) throw new Error(`train.adam: learningRate must be > 0, got ${learningRate}`);
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new Error(`train.adam: betas must be in [0, 1), got ${beta1}, ${beta2}`);
  }

  protected override update(v: Variable, g: Tensor): void {
    let s = this.slots.get(v.name);
    if (!s) {
      const z = zerosLike(v);
      s = { m: variable(z, false, `${v.name}/adam_m_${nextSlot}`), v: variable(z, false, `${v.name}/adam_v_${nextSlot++}`) };
      this.slots.set(v.name, s);
    }
    const t = this.iterations + 1;
    s.m.assign(add(mul(s.m, this.beta1), mul(g, 1 - this.beta1)));
    s.v.assign(add(mul(s.v, this.beta2), mul(square(g), 1 - this.beta2)));
    const mHat = div(s.m, 1 - this.beta1 ** t);
    const vHat = div(s.v, 1 - this.beta2 ** t);
    v.assign(sub(v, mul(div(mHat, add(sqrt(vHat), this.epsilon)), this.learningRate)));
  }

  override dispose(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
  }
}
