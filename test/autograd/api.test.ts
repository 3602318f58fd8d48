// The autodiff API (tfjs semantics): grad, grads, valueAndGrad(s), variableGrads, customGrad,
// higher-order gradients, dtypes of gradients and error messages.

import { afterEach, describe, expect, it } from 'vitest';
import * as keel from '../../src/index.js';
import { ENGINE } from '../../src/tensor/engine.js';
import { expectClose, numericGrad, seededFloats, TOL } from '../helpers.js';

const values = (t: keel.Tensor) => Array.from(t.dataSync());

let made: keel.Variable[] = [];
/** A variable disposed after the test (variables are global: variableGrads() sees all of them). */
function v(init: number[] | keel.Tensor, trainable = true, name?: string): keel.Variable {
  const t = init instanceof keel.Tensor ? init : keel.tensor1d(init);
  const out = keel.variable(t, trainable, name);
  if (!(init instanceof keel.Tensor)) t.dispose();
  made.push(out);
  return out;
}
afterEach(() => {
  keel.dispose(made);
  made = [];
});

describe('grad and grads', () => {
  it('grad(f)(x) = df/dx for a scalar f', () => {
    keel.tidy(() => {
      const x = keel.tensor1d([1, -2, 3]);
      // f = Σ x³ - 2x  =>  3x² - 2
      const g = keel.grad((a) => a.mul(a).mul(a).sub(a.mul(2)).sum())(x);
      expect(values(g)).toEqual([1, 10, 25]);
      expect(g.shape).toEqual([3]);
      expect(g.dtype).toBe('float32');
    });
  });

  it('grad allows a non-scalar f: dy defaults to ones, or weights the elements (tfjs)', () => {
    keel.tidy(() => {
      const x = keel.tensor1d([1, 2, 3]);
      expect(values(keel.grad((a) => a.square())(x))).toEqual([2, 4, 6]);
      expect(values(keel.grad((a) => a.square())(x, keel.tensor1d([1, 0, -1])))).toEqual([2, 0, -6]);
      expect(() => keel.grad((a) => a.square())(x, keel.tensor1d([1, 0]))).toThrow(
        /^grad: dy has shape \[2\] but f returned \[3\]/,
      );
      expect(() => keel.grad((a) => a.square())(x, keel.tensor1d([1, 0, 1]).cast('float16'))).toThrow(
        /^grad: dy is float16 but f returned float32/,
      );
    });
  });

  it('grad accepts plain arrays as x', () => {
    keel.tidy(() => {
      expect(values(keel.grad((a) => a.square().sum())([1, 2]))).toEqual([2, 4]);
    });
  });

  it('grads(f)([a, b]) = [df/da, df/db], with dy', () => {
    keel.tidy(() => {
      const a = keel.tensor1d([1, 2, 3]);
      const b = keel.tensor1d([4, 5, 6]);
      const [da, db] = keel.grads((p, q) => p.mul(q).sum())([a, b]);
      expect(values(da)).toEqual([4, 5, 6]);
      expect(values(db)).toEqual([1, 2, 3]);
      const [da2, db2] = keel.grads((p, q) => p.mul(q))([a, b], keel.tensor1d([2, 0, 1]));
      expect(values(da2)).toEqual([8, 0, 6]);
      expect(values(db2)).toEqual([2, 0, 3]);
    });
  });

  it('broadcasting inputs get gradients of their own shape', () => {
    keel.tidy(() => {
      const a = keel.tensor2d([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const b = keel.tensor1d([1, 1, 1]);
      const [da, db] = keel.grads((p, q) => p.add(q).square().sum())([a, b]);
      expect(da.shape).toEqual([2, 3]);
      expect(db.shape).toEqual([3]);
      expect(values(db)).toEqual([2 * (2 + 5), 2 * (3 + 6), 2 * (4 + 7)]);
    });
  });

  it('an input used twice accumulates both contributions', () => {
    keel.tidy(() => {
      const x = keel.tensor1d([3]);
      // f = x·x + x  =>  2x + 1
      expect(values(keel.grad((a) => a.mul(a).add(a).sum())(x))).toEqual([7]);
    });
  });

  it('an input f does not use is an error, as in tfjs (not zeros)', () => {
    keel.tidy(() => {
      const a = keel.tensor1d([1, 2]);
      const b = keel.tensor1d([3, 4]);
      expect(() => keel.grads((p, _q) => p.square().sum())([a, b])).toThrow(
        /^grads: cannot compute the gradient of y=f\(x\) with respect to argument 1: f's result does not depend on it/,
      );
      expect(() => keel.grad((_p) => b.sum())(a)).toThrow(/^grad: cannot compute the gradient .* argument 0/);
      expect(() => keel.valueAndGrads((_p, q) => q.sum())([a, b])).toThrow(/^valueAndGrads: .*argument 0/);
      // the failing call frees what it made, and disposes nobody's inputs
      expect(a.isDisposed || b.isDisposed).toBe(false);
    });
  });

  it('the identity: grad(x => x) is ones and does not dispose x', () => {
    const x = keel.tensor1d([5, 6]);
    const g = keel.grad((a) => a)(x);
    expect(values(g)).toEqual([1, 1]);
    expect(x.isDisposed).toBe(false);
    expect(values(x)).toEqual([5, 6]);
    const { value, grad } = keel.valueAndGrad((a) => a)(x);
    expect(value).toBe(x);
    expect(values(grad)).toEqual([1, 1]);
    keel.dispose([x, g, grad]);
  });

  it('f must return a tensor', () => {
    keel.tidy(() => {
      const x = keel.tensor1d([1]);
      expect(() => keel.grad((() => 3) as never)(x)).toThrow(/^grad: f must return a Tensor, got number/);
      expect(() => keel.grads((() => null) as never)([x])).toThrow(
        /^grads: f must return a Tensor, got null/,
      );
      expect(() => keel.grad(3 as never)(x)).toThrow(/^grad: f must be a function/);
    });
  });

  it('a disposed input is an error naming the argument', () => {
    const x = keel.tensor1d([1]);
    x.dispose();
    expect(() => keel.grad((a) => a.sum())(x)).toThrow(/^grad: argument 'x' .*is disposed/);
    expect(() => keel.grads((a) => a.sum())([x])).toThrow(/^grads: argument 'args\[0\]' .*is disposed/);
  });
});

describe('valueAndGrad and valueAndGrads', () => {
  it('return f(x) together with the gradients', () => {
    keel.tidy(() => {
      const x = keel.tensor1d([1, 2]);
      const { value, grad } = keel.valueAndGrad((a) => a.square().sum())(x);
      expect(value.dataSync()[0]).toBe(5);
      expect(value.shape).toEqual([]);
      expect(values(grad)).toEqual([2, 4]);
      const r = keel.valueAndGrads((a, b) => a.mul(b).sum())([x, keel.tensor1d([3, 4])]);
      expect(r.value.dataSync()[0]).toBe(11);
      expect(values(r.grads[0])).toEqual([3, 4]);
      expect(values(r.grads[1])).toEqual([1, 2]);
    });
  });

  it('gradients match central differences for a composite function', () => {
    keel.tidy(() => {
      const xs = seededFloats(6, 7, -1, 1);
      const f = (a: keel.Tensor) =>
        a
          .reshape([2, 3])
          .tanh()
          .mul(a.reshape([2, 3]).exp())
          .sum()
          .log();
      const f64 = (x: Float64Array) => Math.log(x.reduce((s, v) => s + Math.tanh(v) * Math.exp(v), 0));
      // keep the log's argument positive
      const x = keel.tensor1d(xs.map((u) => u + 1.5));
      const { value, grad } = keel.valueAndGrad(f)(x);
      const xv = Float64Array.from(x.dataSync());
      expectClose(value.dataSync(), [f64(xv)], TOL.float32, 'value');
      expectClose(grad.dataSync(), numericGrad(f64, xv), 1e-4, 'grad');
    });
  });
});

describe('variableGrads', () => {
  it('returns { value, grads } keyed by variable name; varList defaults to every trainable variable', () => {
    keel.tidy(() => {
      const a = v([3, 4], true, 'api_vg_a');
      const b = v([5, 6], true, 'api_vg_b');
      const x = keel.tensor1d([1, 2]);
      // f = Σ a x² + b x  =>  df/da = x², df/db = x
      const { value, grads } = keel.variableGrads(() => a.mul(x.square()).add(b.mul(x)).sum());
      expect(value.dataSync()[0]).toBe(3 + 16 + 5 + 12);
      expect(Object.keys(grads).sort()).toEqual(['api_vg_a', 'api_vg_b']);
      expect(values(grads.api_vg_a)).toEqual([1, 4]);
      expect(values(grads.api_vg_b)).toEqual([1, 2]);
    });
  });

  it('an explicit varList limits the gradients to those variables', () => {
    keel.tidy(() => {
      const a = v([1], true, 'api_vl_a');
      const b = v([2], true, 'api_vl_b');
      const { grads } = keel.variableGrads(() => a.mul(b).sum(), [b]);
      expect(Object.keys(grads)).toEqual(['api_vl_b']);
      expect(values(grads.api_vl_b)).toEqual([1]);
    });
  });

  it('non-trainable variables are excluded, from the default list and from an explicit one', () => {
    keel.tidy(() => {
      const a = v([2], true, 'api_nt_a');
      const frozen = v([3], false, 'api_nt_frozen');
      const f = () => a.mul(frozen).sum();
      expect(Object.keys(keel.variableGrads(f).grads)).toEqual(['api_nt_a']);
      expect(Object.keys(keel.variableGrads(f, [a, frozen]).grads)).toEqual(['api_nt_a']);
      expect(() => keel.variableGrads(f, [frozen])).toThrow(
        /^variableGrads: none of the 1 variables in varList is trainable/,
      );
      // flipping trainable takes effect
      frozen.trainable = true;
      expect(Object.keys(keel.variableGrads(f).grads).sort()).toEqual(['api_nt_a', 'api_nt_frozen']);
    });
  });

  it('variables f does not touch are left out; touching none is an error (tfjs)', () => {
    keel.tidy(() => {
      const used = v([1], true, 'api_un_used');
      v([1], true, 'api_un_unused');
      const { grads } = keel.variableGrads(() => used.square().sum());
      expect(Object.keys(grads)).toEqual(['api_un_used']);
      const before = keel.memory();
      expect(() => keel.variableGrads(() => keel.scalar(1).add(2))).toThrow(
        /^variableGrads: f does not depend on any of the variables/,
      );
      expect(keel.memory().numTensors).toBe(before.numTensors);
    });
  });

  it('f must return a scalar', () => {
    keel.tidy(() => {
      const a = v([1, 2], true, 'api_sc_a');
      const before = keel.memory();
      expect(() => keel.variableGrads(() => a.square())).toThrow(
        /^variableGrads: f must return a scalar, got shape \[2\]/,
      );
      expect(keel.memory().numTensors).toBe(before.numTensors);
      expect(keel.memory().numBytes).toBe(before.numBytes);
    });
  });

  it('no trainable variables at all is an error', () => {
    // other tests dispose their variables; this file has none left here
    expect(() => keel.variableGrads(() => keel.scalar(1))).toThrow(
      /^variableGrads: there are no trainable variables/,
    );
    expect(() => keel.variableGrads(() => keel.scalar(1), [keel.scalar(1)] as never)).toThrow(
      /^variableGrads: varList must be an array of variables/,
    );
  });

  it('16-bit variables get 16-bit gradients', () => {
    keel.tidy(() => {
      for (const dtype of ['float16', 'bfloat16'] as const) {
        const w = v(keel.tensor1d([0.5, -1.5]).cast(dtype), true, `api_16_${dtype}`);
        const x = keel.tensor1d([2, 3]).cast(dtype);
        const { value, grads } = keel.variableGrads(() => w.mul(x).sum(), [w]);
        expect(value.dtype).toBe(dtype);
        expect(grads[w.name].dtype).toBe(dtype);
        expect(values(grads[w.name])).toEqual([2, 3]);
      }
    });
  });
});

describe('customGrad', () => {
  it("uses gradFunc instead of differentiating f's ops (tfjs' example)", () => {
    keel.tidy(() => {
      // value x², gradient dy·|x|
      const customOp = keel.customGrad((x, save) => {
        (save as (ts: keel.Tensor[]) => void)([x as keel.Tensor]);
        return { value: (x as keel.Tensor).square(), gradFunc: (dy, saved) => [dy.mul(saved[0].abs())] };
      });
      const x = keel.tensor1d([-1, -2, 3]);
      expect(values(customOp(x))).toEqual([1, 4, 9]);
      expect(values(keel.grad((a) => customOp(a))(x))).toEqual([1, 2, 3]);
      // composes with ordinary ops on both sides
      expect(values(keel.grad((a) => customOp(a.mul(2)).sum().mul(3))(x))).toEqual([12, 24, 36]);
    });
  });

  it('several inputs; gradFunc may return a single tensor for one input', () => {
    keel.tidy(() => {
      const scaledAdd = keel.customGrad((a, b) => ({
        value: (a as keel.Tensor).add(b as keel.Tensor),
        gradFunc: (dy) => [dy.mul(10), dy.mul(100)],
      }));
      const [da, db] = keel.grads((a, b) => scaledAdd(a, b).sum())([
        keel.tensor1d([1, 2]),
        keel.tensor1d([3, 4]),
      ]);
      expect(values(da)).toEqual([10, 10]);
      expect(values(db)).toEqual([100, 100]);
      const single = keel.customGrad((a) => ({
        value: (a as keel.Tensor).neg(),
        gradFunc: (dy) => dy.mul(7),
      }));
      expect(values(keel.grad((a) => single(a).sum())(keel.tensor1d([1])))).toEqual([7]);
    });
  });

  it('gradFunc returning the wrong number of gradients is an error', () => {
    keel.tidy(() => {
      const bad = keel.customGrad((a, b) => ({
        value: (a as keel.Tensor).add(b as keel.Tensor),
        gradFunc: (dy) => [dy],
      }));
      expect(() => keel.grads((a, b) => bad(a, b).sum())([keel.tensor1d([1]), keel.tensor1d([2])])).toThrow(
        /^customGrad: gradFunc returned 1 gradients for 2 inputs/,
      );
      const noValue = keel.customGrad(() => ({ value: 3 as never, gradFunc: (dy) => [dy] }));
      expect(() => noValue(keel.tensor1d([1]))).toThrow(
        /^customGrad: f must return \{ value: Tensor, gradFunc \}/,
      );
    });
  });

  it('gradFunc may return a saved tensor itself', () => {
    keel.tidy(() => {
      const op = keel.customGrad((a, save) => {
        const k = keel.tensor1d([4, 5]);
        (save as (ts: keel.Tensor[]) => void)([k]);
        return { value: (a as keel.Tensor).mul(k), gradFunc: (_dy, saved) => [saved[0]] };
      });
      const before = keel.memory().numTensors;
      const g = keel.grad((a) => op(a).sum())(keel.tensor1d([1, 1]));
      expect(values(g)).toEqual([4, 5]);
      g.dispose();
      expect(keel.memory().numTensors).toBe(before + 1); // the tensor1d argument
    });
  });
});

describe('higher-order gradients', () => {
  it('grad(grad(f)): f = x³ gives 6x (tfjs example)', () => {
    keel.tidy(() => {
      const f = (x: keel.Tensor) => x.mul(x).mul(x);
      const x = keel.tensor1d([2, 3]);
      expect(values(keel.grad(f)(x))).toEqual([12, 27]);
      expect(values(keel.grad(keel.grad(f))(x))).toEqual([12, 18]);
      expect(values(keel.grad(keel.grad(keel.grad(f)))(x))).toEqual([6, 6]);
    });
  });

  it('a mixed second derivative through matMul, tanh and sum', () => {
    keel.tidy(() => {
      const W = keel.tensor2d([
        [0.3, -0.2],
        [0.5, 0.1],
      ]);
      const x = keel.tensor1d([0.7, -0.4]);
      // h(W) = Σ ∂/∂x Σ tanh(x W)  (x as a row vector)
      const h = (w: keel.Tensor) =>
        keel
          .grad((xx) =>
            keel
              .matMul(xx.reshape([1, 2]), w)
              .tanh()
              .sum(),
          )(x)
          .sum();
      const hw = keel.grad(h)(W);
      const h64 = (wv: Float64Array) => {
        let s = 0;
        for (let j = 0; j < 2; j++) {
          const z = x.dataSync()[0] * wv[j] + x.dataSync()[1] * wv[2 + j];
          const d = 1 - Math.tanh(z) ** 2;
          s += d * (wv[j] + wv[2 + j]);
        }
        return s;
      };
      expectClose(hw.dataSync(), numericGrad(h64, Float64Array.from(W.dataSync())), 1e-4, 'd/dW');
    });
  });

  it('customGrad gradients can be differentiated again', () => {
    keel.tidy(() => {
      const cube = keel.customGrad((x) => {
        const t = x as keel.Tensor;
        return { value: t.mul(t).mul(t), gradFunc: (dy) => [dy.mul(t.square().mul(3))] };
      });
      expect(values(keel.grad(keel.grad((a) => cube(a)))(keel.tensor1d([2])))).toEqual([12]);
    });
  });
});

describe('gradients have the dtype of what they differentiate', () => {
  for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
    it(dtype, () => {
      keel.tidy(() => {
        const x = keel.tensor1d([0.5, 1, 2]).cast(dtype);
        const w = keel.tensor2d([[1], [2], [3]]).cast(dtype);
        const [gx, gw] = keel.grads((a, b) =>
          keel
            .matMul(a.reshape([1, 3]), b)
            .relu()
            .sum(),
        )([x, w]);
        expect(gx.dtype).toBe(dtype);
        expect(gw.dtype).toBe(dtype);
        expect(values(gx)).toEqual([1, 2, 3]);
        expect(values(gw)).toEqual([0.5, 1, 2]);
        const { value, grad } = keel.valueAndGrad((a) => a.square().mean())(x);
        expect(value.dtype).toBe(dtype);
        expect(grad.dtype).toBe(dtype);
      });
    });
  }
});

describe('tidy inside and around gradients', () => {
  it('nested tidy inside f does not cut the tape', () => {
    keel.tidy(() => {
      const x = keel.tensor1d([1, 2, 3]);
      const g = keel.grad((a) => {
        const inner = keel.tidy(() => a.square().mul(3)); // intermediates inside are disposed here
        return keel.tidy(() => inner.sum());
      })(x);
      expect(values(g)).toEqual([6, 12, 18]);
    });
  });

  it('f may dispose its own intermediates', () => {
    keel.tidy(() => {
      const x = keel.tensor1d([1, 2]);
      const g = keel.grad((a) => {
        const s = a.square();
        const y = s.sum();
        s.dispose();
        return y;
      })(x);
      expect(values(g)).toEqual([2, 4]);
    });
  });

  it('gradients called inside tidy are disposed with it; outside, only the results remain', () => {
    const x = keel.tensor1d([1, 2, 3]);
    const base = keel.memory();
    keel.tidy(() => {
      keel.grad((a) => a.square().sum())(x);
      keel.valueAndGrads((a, b) => a.mul(b).sum())([x, x]);
    });
    expect(keel.memory().numTensors).toBe(base.numTensors);
    expect(keel.memory().numBytes).toBe(base.numBytes);
    const g = keel.grad((a) => a.exp().sum())(x);
    expect(keel.memory().numTensors).toBe(base.numTensors + 1);
    const { value, grad } = keel.valueAndGrad((a) => a.exp().sum())(x);
    expect(keel.memory().numTensors).toBe(base.numTensors + 3);
    keel.dispose([g, value, grad]);
    expect(keel.memory().numTensors).toBe(base.numTensors);
    expect(keel.memory().numBytes).toBe(base.numBytes);
    x.dispose();
  });

  it('an exception thrown by f leaves nothing behind (the tape releases its saved tensors)', () => {
    const x = keel.tensor1d([1, 2, 3]);
    const base = keel.memory();
    expect(() =>
      keel.grad((a) => {
        a.exp().square().mul(a).sum();
        throw new Error('inside f');
      })(x),
    ).toThrow('inside f');
    expect(keel.memory().numTensors).toBe(base.numTensors);
    expect(keel.memory().numBytes).toBe(base.numBytes);
    x.dispose();
  });
});

describe('customGrad edge cases', () => {
  it('f may return one of its inputs as the value', () => {
    keel.tidy(() => {
      const clipGrad = keel.customGrad((x) => ({
        value: x as keel.Tensor,
        gradFunc: (dy) => [dy.clipByValue(-1, 1)],
      }));
      const x = keel.tensor1d([1, 2]);
      const y = clipGrad(x);
      expect(values(y)).toEqual([1, 2]);
      expect(values(keel.grad((a) => clipGrad(a).mul(5).sum())(x))).toEqual([1, 1]);
      expect(x.isDisposed).toBe(false);
    });
  });

  it('f returning something else than { value, gradFunc } is an error', () => {
    keel.tidy(() => {
      expect(() => keel.customGrad((() => undefined) as never)(keel.tensor1d([1]))).toThrow(
        /^customGrad: f must return \{ value: Tensor, gradFunc \}/,
      );
      expect(() =>
        keel.customGrad(((x: keel.Tensor) => ({ value: x.neg() })) as never)(keel.tensor1d([1])),
      ).toThrow(/^customGrad: f must return/);
      expect(() => keel.customGrad(7 as never)).toThrow(/^customGrad: f must be a function/);
    });
  });
});

describe('work skipped for inputs nothing differentiates', () => {
  it("a convolution's input image gets no input gradient, a constant matMul operand no gradient", () => {
    const backend = ENGINE.backend;
    const counts = new Map<string, number>();
    const original = { ...backend.kernels };
    for (const p of ['conv2dBackpropInput', 'conv2dBackpropFilter', 'matMul'] as const) {
      const k = backend.kernels[p] as (...a: unknown[]) => unknown;
      (backend.kernels as Record<string, unknown>)[p] = (...a: unknown[]) => {
        counts.set(p, (counts.get(p) ?? 0) + 1);
        return k(...a);
      };
    }
    try {
      keel.tidy(() => {
        const x = keel.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 1);
        const w = keel.variable(keel.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2), true, 'skip_w');
        const m = keel.randomNormal([4, 5], 0, 1, 'float32', 3);
        const { grads } = keel.variableGrads(() =>
          keel.matMul(keel.conv2d(x, w, 1, 'same').mean([1, 2]), m).sum(),
        );
        expect(Object.keys(grads)).toEqual(['skip_w']);
        w.dispose();
      });
      expect(counts.get('conv2dBackpropInput') ?? 0).toBe(0); // x is data, not a variable
      expect(counts.get('conv2dBackpropFilter')).toBe(1);
      expect(counts.get('matMul')).toBe(2); // forward, and d/d(pooled) only: m is a constant
    } finally {
      Object.assign(backend.kernels, original);
    }
  });
});
