// The shape of a gradient rule: what it saves from the forward pass, and how it maps dy to input grads.

import type { Primitive, PrimitiveAttrs } from '../backend/primitives.js';
import type { DType } from '../dtype.js';
import type { Tensor } from '../tensor/tensor.js';

export interface GradCtx<P extends Primitive> {
  attrs: PrimitiveAttrs[P];
  /** the forward inputs the rule asked to save (others undefined) */
  inputs: readonly (Tensor | undefined)[];
  inputMeta: readonly { shape: readonly number[]; dtype: DType }[];
  /** the forward output, when the rule asked to save it */
  output: Tensor | undefined;
  /**
   * Per input: whether this backward pass uses its gradient (it depends on a differentiated tensor).
   * Rules may return null for the others and skip their work (e.g. a convolution's input image).
   */
  needed: readonly boolean[];
}

export interface GradRule<P extends Primitive> {
  /** which inputs (by index) and whether the output the gradient needs; the tape keeps only these */
  save(attrs: PrimitiveAttrs[P]): { inputs: readonly number[]; output: boolean };
  /** gradients of the inputs (null where not differentiable), each in its input's dtype and shape */
  grad(dy: Tensor, ctx: GradCtx<P>): (Tensor | null)[];
}

/** One rule per primitive: adding a primitive without its gradient is a compile error. */
export type GradTable = { [P in Primitive]: GradRule<P> };

export const SAVE_NOTHING = () => ({ inputs: [] as number[], output: false });
