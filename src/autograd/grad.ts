// The public autodiff API (tfjs names): grad, grads, valueAndGrad(s), variableGrads, customGrad.

import type { Primitive } from '../backend/primitives.js';
import { ENGINE, type TapeNode } from '../tensor/engine.js';
import { add } from '../tensor/ops/elementwise.js';
import { onesLike } from '../tensor/ops/creation.js';
import { reshape } from '../tensor/ops/layout.js';
import { convert, fail, type TensorLike } from '../tensor/ops/util.js';
import { Tensor, type Variable } from '../tensor/tensor.js';
import type { GradRule } from './rule.js';
import { GRADIENTS, SAVE_POLICIES } from './table.js';

ENGINE.registerSavePolicies(SAVE_POLICIES);

/** Walks the tape backwards from y (seeded with dy) and returns d y / d x for each x (undefined if unreached). */
function backprop(nodes: TapeNode[], y: Tensor, dy: Tensor, xs: readonly Tensor[]): (Tensor | undefined)[] {
  const grads = new Map<number, Tensor>([[y.id, reshape(dy, dy.shape)]]);
  const wanted = new Set(xs.map((x) => x.id));
  for (let n = nodes.length - 1; n >= 0; n--) {
    const node = nodes[n];
    const g = grads.get(node.outputId);
    if (!g) continue;
    if (!wanted.has(node.outputId)) grads.delete(node.outputId);
    const inGrads = ENGINE.noGrad(() =>
      node.customGrad
        ? node.customGrad(g)
        : (GRADIENTS[node.prim as Primitive] as GradRule<Primitive>).grad(g, {
            attrs: node.attrs as never,
            inputs: node.saved,
            inputMeta: node.inputMeta,
            output: node.savedOutput,
          }),
    );
    const fresh = new Set<Tensor>();
    node.inputMeta.forEach((meta, i) => {
      let gi = inGrads[i];
      if (!gi) return;
      if (gi.shape.join() !== meta.shape.join() || gi.dtype !== meta.dtype)
        fail(
          `gradient of ${node.prim}`,
          `input ${i} got a gradient of shape [${gi.shape}] ${gi.dtype}, expected [${meta.shape}] ${meta.dtype}`,
        );
      // a rule may return dy itself, or one tensor for two inputs: give each its own handle
      if (gi === g || fresh.has(gi)) gi = reshape(gi, gi.shape);
      fresh.add(gi);
      const prev = grads.get(meta.id);
      if (prev) {
        grads.set(meta.id, ENGINE.noGrad(() => add(prev, gi!)));
        prev.dispose();
        gi.dispose();
      } else grads.set(meta.id, gi);
    });
    // consumed: free it now so backward peak memory stays near forward's
    if (!wanted.has(node.outputId)) g.dispose();
  }
  return xs.map((x) => grads.get(x.id));
}

/** Runs f under a tape in its own scope; returns f's value and gradients, everything else freed. */
function gradients(
  f: () => Tensor,
  xs: readonly Tensor[],
  dy: Tensor | undefined,
  op: string,
): { value: Tensor; grads: (Tensor | undefined)[] } {
  let out: { value: Tensor; grads: (Tensor | undefined)[] } | null = null;
  ENGINE.startScope();
  try {
    const { result: y, tape } = ENGINE.withTape(xs, f);
    try {
      if (!(y instanceof Tensor)) fail(op, `the function must return a Tensor, got ${typeof y}`);
      if (dy && dy.shape.join() !== y.shape.join()) fail(op, `dy has shape [${dy.shape}] but f returned [${y.shape}]`);
      const seed = dy ?? onesLike(y);
      out = { value: y, grads: backprop(tape.nodes, y, seed, xs) };
    } finally {
      ENGINE.releaseTape(tape);
    }
  } finally {
    ENGINE.endScope(out);
  }
  return out!;
}

function required(gs: (Tensor | undefined)[], op: string): Tensor[] {
  return gs.map((g, i) => g ?? fail(op, `cannot compute the gradient of f with respect to argument ${i}: f's result does not depend on it`));
}

/** grad(f)(x, dy?) = df/dx. */
export function grad(f: (x: Tensor) => Tensor): (x: TensorLike, dy?: Tensor) => Tensor {
  return (x, dy) => {
    const t = convert(x, 'x', 'grad');
    const r = gradients(() => f(t), [t], dy, 'grad');
    r.value.dispose();
    return required(r.grads, 'grad')[0];
  };
}

/** grads(f)(args, dy?) = [df/darg0, df/darg1, ...]. */
export function grads(f: (...args: Tensor[]) => Tensor): (args: TensorLike[], dy?: Tensor) => Tensor[] {
  return (args, dy) => {
    const ts = args.map((a, i) => convert(a, `args[${i}]`, 'grads'));
    const r = gradients(() => f(...ts), ts, dy, 'grads');
    r.value.dispose();
    return required(r.grads, 'grads');
  };
}

export function valueAndGrad(f: (x: Tensor) => Tensor): (x: TensorLike, dy?: Tensor) => { value: Tensor; grad: Tensor } {
  return (x, dy) => {
    const t = convert(x, 'x', 'valueAndGrad');
    const r = gradients(() => f(t), [t], dy, 'valueAndGrad');
    return { value: r.value, grad: required(r.grads, 'valueAndGrad')[0] };
  };
}

export function valueAndGrads(f: (...args: Tensor[]) => Tensor): (args: TensorLike[], dy?: Tensor) => { value: Tensor; grads: Tensor[] } {
  return (args, dy) => {
    const ts = args.map((a, i) => convert(a, `args[${i}]`, 'valueAndGrads'));
    const r = gradients(() => f(...ts), ts, dy, 'valueAndGrads');
    return { value: r.value, grads: required(r.grads, 'valueAndGrads') };
  };
}

/**
 * Gradients of the scalar f() with respect to `varList` (default: every trainable variable), keyed by
 * variable name. Variables f does not touch are left out, as in tfjs.
 */
export function variableGrads(f: () => Tensor, varList?: Variable[]): { value: Tensor; grads: Record<string, Tensor> } {
  const vars = varList ?? ENGINE.trainableVariables();
  if (vars.length === 0) fail('variableGrads', 'there are no trainable variables to differentiate');
  const r = gradients(
    () => {
      const y = f();
      if (y instanceof Tensor && y.rank !== 0) fail('variableGrads', `f must return a scalar, got shape [${y.shape}]`);
      return y;
    },
    vars,
    undefined,
    'variableGrads',
  );
  const out: Record<string, Tensor> = {};
  vars.forEach((v, i) => {
    const g = r.grads[i];
    if (g) out[v.name] = g;
  });
  return { value: r.value, grads: out };
}

type CustomGradResult = { value: Tensor; gradFunc: (dy: Tensor, saved: Tensor[]) => Tensor | Tensor[] };

/** customGrad(f): f(...inputs, save) returns { value, gradFunc(dy, saved) } with the input gradients. */
export function customGrad(f: (...args: (Tensor | ((ts: Tensor[]) => void))[]) => CustomGradResult): (...args: Tensor[]) => Tensor {
  return (...args) => {
    const inputs = args.map((a, i) => convert(a, `args[${i}]`, 'customGrad'));
    let saved: Tensor[] = [];
    const save = (ts: Tensor[]) => {
      saved = ts;
    };
    const { value, gradFunc } = ENGINE.noGrad(() => f(...inputs, save));
    if (!(value instanceof Tensor)) fail('customGrad', 'f must return { value: Tensor, gradFunc }');
    ENGINE.recordCustom(inputs, value, saved, (dy, kept) => {
      const g = gradFunc(dy, kept);
      const list = Array.isArray(g) ? g : [g];
      if (list.length !== inputs.length) fail('customGrad', `gradFunc returned ${list.length} gradients for ${inputs.length} inputs`);
      return list;
    });
    return value;
  };
}
