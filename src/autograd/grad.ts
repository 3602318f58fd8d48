// The public autodiff API (tfjs names): grad, grads, valueAndGrad(s), variableGrads, customGrad.

import type { Primitive } from '../backend/primitives.js';
import { ENGINE, type TapeNode } from '../tensor/engine.js';
import { onesLike } from '../tensor/ops/creation.js';
import { add } from '../tensor/ops/elementwise.js';
import { reshape } from '../tensor/ops/layout.js';
import { convert, fail, type TensorLike } from '../tensor/ops/util.js';
import { Tensor, Variable } from '../tensor/tensor.js';
import type { GradRule } from './rule.js';
import { GRADIENTS, SAVE_POLICIES } from './table.js';

ENGINE.registerSavePolicies(SAVE_POLICIES);

/** Walks the tape backwards from y (seeded with dy) and returns d y / d x for each x (undefined if unreached). */
function backprop(nodes: TapeNode[], y: Tensor, dy: Tensor, xs: readonly Tensor[]): (Tensor | undefined)[] {
  const grads = new Map<number, Tensor>([[y.id, reshape(dy, dy.shape)]]);
  const wanted = new Set(xs.map((x) => x.id));
  // gradients flow only into xs and the outputs of recorded nodes
  const tracked = new Set([...wanted, ...nodes.map((node) => node.outputId)]);
  for (let n = nodes.length - 1; n >= 0; n--) {
    const node = nodes[n];
    const g = grads.get(node.outputId);
    if (!g) continue;
    if (!wanted.has(node.outputId)) grads.delete(node.outputId);
    // Rules run with the enclosing tapes still recording (this tape is already closed), so that
    // grad(grad(f)) differentiates the backward pass, as in tfjs.
    const inGrads = node.customGrad
      ? node.customGrad(g)
      : (GRADIENTS[node.prim as Primitive] as GradRule<Primitive>).grad(g, {
          attrs: node.attrs as never,
          inputs: node.saved,
          inputMeta: node.inputMeta,
          output: node.savedOutput,
          needed: node.inputMeta.map((m) => tracked.has(m.id)),
        });
    const fresh = new Set<Tensor>();
    node.inputMeta.forEach((meta, i) => {
      let gi = inGrads[i];
      if (!gi) return;
      if (gi.shape.join() !== meta.shape.join() || gi.dtype !== meta.dtype)
        fail(
          `gradient of ${node.prim}`,
          `input ${i} got a gradient of shape [${gi.shape}] ${gi.dtype}, expected [${meta.shape}] ${meta.dtype}`,
        );
      // a rule may return dy itself, one tensor for two inputs, or a tape-private saved tensor
      // (customGrad): give each its own user-visible handle
      if (gi === g || fresh.has(gi) || gi.internal) gi = reshape(gi, gi.shape);
      fresh.add(gi);
      const prev = grads.get(meta.id);
      if (prev) {
        grads.set(meta.id, add(prev, gi));
        prev.dispose();
        gi.dispose();
      } else grads.set(meta.id, gi);
    });
    // consumed: free it now so backward peak memory stays near forward's
    if (!wanted.has(node.outputId)) g.dispose();
  }
  return xs.map((x) => grads.get(x.id));
}

interface Gradients {
  value: Tensor;
  grads: (Tensor | undefined)[];
  /** whether f created `value` (rather than returning a tensor that existed before, e.g. its input) */
  owned: boolean;
}

/** Runs f under a tape in its own scope; returns f's value and gradients, everything else freed. */
function gradients(f: () => Tensor, xs: readonly Tensor[], dy: Tensor | undefined, op: string): Gradients {
  if (dy !== undefined && !(dy instanceof Tensor)) fail(op, `dy must be a Tensor, got ${typeof dy}`);
  if (dy?.isDisposed) fail(op, `dy (tensor ${dy.id}, shape [${dy.shape}]) is disposed`);
  let out: Gradients | null = null;
  ENGINE.startScope();
  try {
    const { result: y, tape } = ENGINE.withTape(xs, f);
    try {
      if (!(y instanceof Tensor)) fail(op, `f must return a Tensor, got ${y === null ? 'null' : typeof y}`);
      if (dy && dy.shape.join() !== y.shape.join())
        fail(op, `dy has shape [${dy.shape}] but f returned [${y.shape}]`);
      if (dy && dy.dtype !== y.dtype) fail(op, `dy is ${dy.dtype} but f returned ${y.dtype}`);
      const seed = dy ?? onesLike(y);
      const owned = ENGINE.inCurrentScope(y);
      out = { value: y, grads: backprop(tape.nodes, y, seed, xs), owned };
    } finally {
      ENGINE.releaseTape(tape);
    }
  } finally {
    ENGINE.endScope(out);
  }
  return out!;
}

function checkF(f: unknown, op: string): void {
  if (typeof f !== 'function') fail(op, `f must be a function, got ${typeof f}`);
}

/**
 * Every gradient, or tfjs' error when f does not depend on some argument (everything this call made
 * is freed first). `keepValue` false disposes f's value unless it existed before the call.
 */
function required(r: Gradients, op: string, keepValue: boolean): Tensor[] {
  const missing = r.grads.indexOf(undefined);
  if (!keepValue || missing >= 0) {
    if (r.owned) r.value.dispose();
    if (missing >= 0) {
      for (const g of r.grads) g?.dispose();
      fail(
        op,
        `cannot compute the gradient of y=f(x) with respect to argument ${missing}: f's result does not depend on it ` +
          '(make sure f encloses every operation that leads from the argument to its result)',
      );
    }
  }
  return r.grads as Tensor[];
}

/** grad(f)(x, dy?) = df/dx (f may return a non-scalar: dy, default ones, weights its elements). */
export function grad(f: (x: Tensor) => Tensor): (x: TensorLike, dy?: Tensor) => Tensor {
  checkF(f, 'grad');
  return (x, dy) => {
    const t = convert(x, 'x', 'grad');
    return required(
      gradients(() => f(t), [t], dy, 'grad'),
      'grad',
      false,
    )[0];
  };
}

/** grads(f)(args, dy?) = [df/darg0, df/darg1, ...]. */
export function grads(f: (...args: Tensor[]) => Tensor): (args: TensorLike[], dy?: Tensor) => Tensor[] {
  checkF(f, 'grads');
  return (args, dy) => {
    if (!Array.isArray(args)) fail('grads', `args must be an array of tensors, got ${typeof args}`);
    const ts = args.map((a, i) => convert(a, `args[${i}]`, 'grads'));
    return required(
      gradients(() => f(...ts), ts, dy, 'grads'),
      'grads',
      false,
    );
  };
}

export function valueAndGrad(
  f: (x: Tensor) => Tensor,
): (x: TensorLike, dy?: Tensor) => { value: Tensor; grad: Tensor } {
  checkF(f, 'valueAndGrad');
  return (x, dy) => {
    const t = convert(x, 'x', 'valueAndGrad');
    const r = gradients(() => f(t), [t], dy, 'valueAndGrad');
    return { value: r.value, grad: required(r, 'valueAndGrad', true)[0] };
  };
}

export function valueAndGrads(
  f: (...args: Tensor[]) => Tensor,
): (args: TensorLike[], dy?: Tensor) => { value: Tensor; grads: Tensor[] } {
  checkF(f, 'valueAndGrads');
  return (args, dy) => {
    if (!Array.isArray(args)) fail('valueAndGrads', `args must be an array of tensors, got ${typeof args}`);
    const ts = args.map((a, i) => convert(a, `args[${i}]`, 'valueAndGrads'));
    const r = gradients(() => f(...ts), ts, dy, 'valueAndGrads');
    return { value: r.value, grads: required(r, 'valueAndGrads', true) };
  };
}

/**
 * Gradients of the scalar f() with respect to `varList` (default: every trainable variable), keyed by
 * variable name. As in tfjs, non-trainable variables in `varList` are skipped, variables f does not
 * touch are left out, and it is an error when f touches none of them.
 */
export function variableGrads(
  f: () => Tensor,
  varList?: Variable[],
): { value: Tensor; grads: Record<string, Tensor> } {
  const op = 'variableGrads';
  checkF(f, op);
  if (varList !== undefined && !(Array.isArray(varList) && varList.every((v) => v instanceof Variable)))
    fail(op, 'varList must be an array of variables');
  const all = varList ?? ENGINE.trainableVariables();
  const vars = all.filter((v) => v.trainable);
  if (vars.length === 0)
    fail(
      op,
      all.length === 0
        ? 'there are no trainable variables to differentiate'
        : `none of the ${all.length} variables in varList is trainable`,
    );
  for (const v of vars) if (v.isDisposed) fail(op, `variable '${v.name}' is disposed`);
  const r = gradients(
    () => {
      const y = f();
      if (y instanceof Tensor && y.rank !== 0) fail(op, `f must return a scalar, got shape [${y.shape}]`);
      return y;
    },
    vars,
    undefined,
    op,
  );
  if (r.grads.every((g) => g === undefined)) {
    if (r.owned) r.value.dispose();
    fail(
      op,
      'f does not depend on any of the variables (make sure the operations that use them are inside f)',
    );
  }
  const out: Record<string, Tensor> = {};
  vars.forEach((v, i) => {
    const g = r.grads[i];
    if (g) out[v.name] = g;
  });
  return { value: r.value, grads: out };
}

type CustomGradResult = { value: Tensor; gradFunc: (dy: Tensor, saved: Tensor[]) => Tensor | Tensor[] };

/** customGrad(f): f(...inputs, save) returns { value, gradFunc(dy, saved) } with the input gradients. */
export function customGrad(
  f: (...args: (Tensor | ((ts: Tensor[]) => void))[]) => CustomGradResult,
): (...args: Tensor[]) => Tensor {
  checkF(f, 'customGrad');
  return (...args) => {
    const inputs = args.map((a, i) => convert(a, `args[${i}]`, 'customGrad'));
    let saved: Tensor[] = [];
    const save = (ts: Tensor[]) => {
      saved = ts;
    };
    const res = ENGINE.noGrad(() => f(...inputs, save));
    if (!res || !(res.value instanceof Tensor) || typeof res.gradFunc !== 'function')
      fail('customGrad', 'f must return { value: Tensor, gradFunc }');
    const { gradFunc } = res;
    // returning an input as the value still needs a node of its own on the tape
    const value = inputs.includes(res.value)
      ? ENGINE.noGrad(() => reshape(res.value, res.value.shape))
      : res.value;
    ENGINE.recordCustom(inputs, value, saved, (dy, kept) => {
      const g = gradFunc(dy, kept);
      const list = Array.isArray(g) ? g : [g];
      if (list.length !== inputs.length)
        fail('customGrad', `gradFunc returned ${list.length} gradients for ${inputs.length} inputs`);
      return list;
    });
    return value;
  };
}
