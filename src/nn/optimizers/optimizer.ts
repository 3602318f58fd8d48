// The Optimizer base class (tfjs' API): minimize, applyGradients, iterations; updates run without a tape.

import { variableGrads } from '../../autograd/grad.js';
import { ENGINE } from '../../tensor/engine.js';
import { dispose, tidy } from '../../tensor/lifetime.js';
import type { Tensor, Variable } from '../../tensor/tensor.js';

export type NamedGradients = Record<string, Tensor>;

export abstract class Optimizer {
  /** number of applyGradients calls so far */
  iterations = 0;

  /** Computes f's gradients w.r.t. varList (default: all trainable variables) and applies them. */
  minimize(f: () => Tensor, returnCost = false, varList?: Variable[]): Tensor | null {
    const { value, grads } = variableGrads(f, varList);
    this.applyGradients(grads);
    dispose(grads);
    if (returnCost) return value;
    value.dispose();
    return null;
  }

  /** Applies one update from gradients keyed by variable name. */
  applyGradients(grads: NamedGradients): void {
    const vars = ENGINE.trainableVariables();
    const byName = new Map(vars.map((v) => [v.name, v]));
    ENGINE.noGrad(() =>
      tidy(() => {
        for (const [name, g] of Object.entries(grads)) {
          const v = byName.get(name);
          if (!v) throw new Error(`applyGradients: no trainable variable named '${name}'`);
          if (g.shape.join() !== v.shape.join() || g.dtype !== v.dtype)
            throw new Error(`applyGradients: gradient for '${name}' is [${g.shape}] ${g.dtype}, the variable is [${v.shape}] ${v.dtype}`);
          this.update(v, g);
        }
      }),
    );
    this.iterations++;
  }

  /** One variable's update; runs inside tidy with recording off. */
  protected abstract update(v: Variable, g: Tensor): void;

  dispose(): void {}
}
