// Merge layers: add, multiply, concatenate (the joins of residual and multi-branch models).
import { add, mul } from '../../tensor/ops/elementwise.js';
import { concat } from '../../tensor/ops/layout.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, type LayerArgs, type LayerInput } from '../layer.js';
import type { Shape } from '../symbolic.js';

const fmt = (s: Shape) => `[${s.map((d) => d ?? 'null')}]`;

abstract class Merge extends Layer {
  protected list(inputs: LayerInput): Tensor[] {
    if (!Array.isArray(inputs) || inputs.length < 2) {
      throw new Error(
        `${this.className} '${this.name}': expects a list of at least 2 inputs, got ${Array.isArray(inputs) ? inputs.length : 1}`,
      );
    }
    return inputs;
  }

  protected shapes(s: Shape | Shape[]): Shape[] {
    if (!Array.isArray(s[0]) || (s as Shape[]).length < 2) {
      throw new Error(`${this.className} '${this.name}': expects a list of at least 2 inputs`);
    }
    return s as Shape[];
  }
}

/** Elementwise merges: all inputs must have the same shape (unknown dims match anything). */
abstract class ElementwiseMerge extends Merge {
  override computeOutputShape(s: Shape | Shape[]): Shape {
    const list = this.shapes(s);
    const out = [...list[0]];
    for (const t of list.slice(1)) {
      if (t.length !== out.length || t.some((d, i) => d !== null && out[i] !== null && d !== out[i])) {
        throw new Error(
          `${this.className} '${this.name}': inputs must have the same shape, got ${list.map(fmt).join(' and ')}`,
        );
      }
      t.forEach((d, i) => {
        if (out[i] === null) out[i] = d;
      });
    }
    return out;
  }
}

export class Add extends ElementwiseMerge {
  static override className = 'Add';
  call(inputs: LayerInput): Tensor {
    return this.list(inputs).reduce((a, b) => add(a, b));
  }
}

export class Multiply extends ElementwiseMerge {
  static override className = 'Multiply';
  call(inputs: LayerInput): Tensor {
    return this.list(inputs).reduce((a, b) => mul(a, b));
  }
}

export class Concatenate extends Merge {
  static override className = 'Concatenate';
  readonly axis: number;
  constructor(args: LayerArgs & { axis?: number } = {}) {
    super(args);
    this.axis = args.axis ?? -1;
  }
  override computeOutputShape(s: Shape | Shape[]): Shape {
    const list = this.shapes(s);
    const rank = list[0].length;
    const axis = this.axis < 0 ? rank + this.axis : this.axis;
    if (axis < 1 || axis >= rank)
      throw new Error(`Concatenate '${this.name}': axis ${this.axis} is out of range for rank ${rank}`);
    const out = [...list[0]];
    for (const t of list.slice(1)) {
      if (
        t.length !== rank ||
        t.some((d, i) => i !== axis && d !== null && out[i] !== null && d !== out[i])
      ) {
        throw new Error(
          `Concatenate '${this.name}': inputs must match except on axis ${this.axis}, got ${list.map(fmt).join(' and ')}`,
        );
      }
    }
    out[axis] = list.some((t) => t[axis] === null) ? null : list.reduce((n, t) => n + (t[axis] as number), 0);
    return out;
  }
  call(inputs: LayerInput): Tensor {
    const list = this.list(inputs);
    return concat(list, this.axis < 0 ? list[0].rank + this.axis : this.axis);
  }
  override getConfig() {
    return { ...super.getConfig(), axis: this.axis };
  }
}
