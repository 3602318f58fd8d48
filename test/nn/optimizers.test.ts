// Optimizers: updates vs float64 references over several steps, convergence, clipping, schedules,
// 16-bit gradients, error paths, checkpoint/resume, configs and memory.

import { afterEach, describe, expect, it } from 'vitest';
import type { Optimizer, Tensor, Variable } from '../../src/index.js';
import * as keel from '../../src/index.js';
import { expectClose, seededFloats } from '../helpers.js';

const { train } = keel;

// ---- fixtures ------------------------------------------------------------------------------

let nextName = 0;
const live: Variable[] = [];

/** A fresh float32 variable with a unique name (the engine's names are global). */
function makeVar(values: number[], shape: number[], prefix = 'w', dtype: keel.DType = 'float32'): Variable {
  const t = keel.tensor(values, shape, dtype);
  const v = keel.variable(t, true, `opt_test/${prefix}${nextName++}`);
  t.dispose();
  live.push(v);
  return v;
}

afterEach(() => {
  for (const v of live.splice(0)) v.dispose();
});

const SHAPES = [[2, 3], [4]];
const f32 = (xs: number[]) => xs.map(Math.fround);

/** Two variables and, for each step, one float32-exact gradient per variable. */
function problem(steps: number, seed: number, scale = 1) {
  const init = SHAPES.map((s, i) => f32(seededFloats(s[0] * (s[1] ?? 1), seed + i, -1, 1)));
  const grads = Array.from({ length: steps }, (_, k) =>
    SHAPES.map((s, i) => f32(seededFloats(s[0] * (s[1] ?? 1), seed + 100 * (k + 1) + i, -scale, scale))),
  );
  return { init, grads };
}

// ---- float64 references --------------------------------------------------------------------

interface RefOptions {
  clipNorm?: number;
  clipValue?: number;
  globalClipNorm?: number;
  weightDecay?: number;
}

const norm = (g: Float64Array) => Math.sqrt(g.reduce((s, x) => s + x * x, 0));

function clipRef(gs: Float64Array[], o: RefOptions): Float64Array[] {
  if (o.clipNorm !== undefined) {
    const c = o.clipNorm;
    return gs.map((g) => g.map((x) => (x * c) / Math.max(norm(g), c)));
  }
  if (o.globalClipNorm !== undefined) {
    const c = o.globalClipNorm;
    const n = Math.sqrt(gs.reduce((s, g) => s + norm(g) ** 2, 0));
    return gs.map((g) => g.map((x) => (x * c) / Math.max(n, c)));
  }
  if (o.clipValue !== undefined) {
    const c = o.clipValue;
    return gs.map((g) => g.map((x) => Math.min(Math.max(x, -c), c)));
  }
  return gs;
}

/** One variable's update in float64; `s` holds its slots, `t` is the 0-based iteration. */
type RefRule = (
  w: Float64Array,
  g: Float64Array,
  s: Record<string, Float64Array>,
  lr: number,
  t: number,
) => void;

const refSgd: RefRule = (w, g, _s, lr) => {
  for (let i = 0; i < w.length; i++) w[i] -= lr * g[i];
};

const refMomentum =
  (m: number, nesterov: boolean): RefRule =>
  (w, g, s, lr) => {
    s.a ??= new Float64Array(w.length);
    for (let i = 0; i < w.length; i++) {
      s.a[i] = m * s.a[i] + g[i];
      w[i] -= lr * (nesterov ? g[i] + m * s.a[i] : s.a[i]);
    }
  };

const refAdam =
  (b1: number, b2: number, eps: number): RefRule =>
  (w, g, s, lr, t) => {
    s.m ??= new Float64Array(w.length);
    s.v ??= new Float64Array(w.length);
    for (let i = 0; i < w.length; i++) {
      s.m[i] = b1 * s.m[i] + (1 - b1) * g[i];
      s.v[i] = b2 * s.v[i] + (1 - b2) * g[i] ** 2;
      const mHat = s.m[i] / (1 - b1 ** (t + 1));
      const vHat = s.v[i] / (1 - b2 ** (t + 1));
      w[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  };

/** Keras 3 AdamW: decay, then Keras' Adam step (epsilon added to sqrt(v), not sqrt(v̂)). */
const refAdamW =
  (b1: number, b2: number, eps: number, wd: number): RefRule =>
  (w, g, s, lr, t) => {
    s.m ??= new Float64Array(w.length);
    s.v ??= new Float64Array(w.length);
    const alpha = (lr * Math.sqrt(1 - b2 ** (t + 1))) / (1 - b1 ** (t + 1));
    for (let i = 0; i < w.length; i++) {
      w[i] -= w[i] * wd * lr;
      s.m[i] += (g[i] - s.m[i]) * (1 - b1);
      s.v[i] += (g[i] ** 2 - s.v[i]) * (1 - b2);
      w[i] -= (s.m[i] * alpha) / (Math.sqrt(s.v[i]) + eps);
    }
  };

const refRmsprop =
  (decay: number, momentum: number, eps: number, centered: boolean): RefRule =>
  (w, g, s, lr) => {
    s.ms ??= new Float64Array(w.length);
    s.mom ??= new Float64Array(w.length);
    s.mg ??= new Float64Array(w.length);
    for (let i = 0; i < w.length; i++) {
      s.ms[i] = decay * s.ms[i] + (1 - decay) * g[i] ** 2;
      let denom = s.ms[i] + eps;
      if (centered) {
        s.mg[i] = decay * s.mg[i] + (1 - decay) * g[i];
        denom = s.ms[i] - s.mg[i] ** 2 + eps;
      }
      s.mom[i] = momentum * s.mom[i] + (lr * g[i]) / Math.sqrt(denom);
      w[i] -= s.mom[i];
    }
  };

/** Runs `steps` updates through the optimizer and through the reference; compares every step. */
function checkAgainstReference(
  opt: Optimizer,
  rule: RefRule,
  o: RefOptions & {
    lr: number | ((t: number) => number);
    steps?: number;
    seed?: number;
    gradDtype?: keel.DType;
  },
): void {
  const steps = o.steps ?? 5;
  const { init, grads } = problem(steps, o.seed ?? 7);
  const vars = init.map((x, i) => makeVar(x, SHAPES[i]));
  const ws = init.map((x) => Float64Array.from(x));
  const state = init.map(() => ({}) as Record<string, Float64Array>);
  for (let t = 0; t < steps; t++) {
    const gts = grads[t].map((g, i) => keel.tensor(g, SHAPES[i], o.gradDtype ?? 'float32'));
    // the reference sees exactly the values the tensors hold (16-bit rounding included)
    const gs = clipRef(
      gts.map((g) => Float64Array.from(g.dataSync())),
      o,
    );
    opt.applyGradients(Object.fromEntries(vars.map((v, i) => [v.name, gts[i]])));
    keel.dispose(gts);
    const lr = typeof o.lr === 'number' ? o.lr : o.lr(t);
    ws.forEach((w, i) => {
      rule(w, gs[i], state[i], lr, t);
    });
    vars.forEach((v, i) => {
      expect(v.dtype).toBe('float32');
      expectClose(v.dataSync(), ws[i], 1e-5, `${opt.getClassName()} step ${t + 1} variable ${i}`);
    });
  }
  expect(opt.iterations).toBe(steps);
  opt.dispose();
}

// ---- updates vs references -----------------------------------------------------------------

describe('updates match float64 references over several steps', () => {
  it('sgd', () => checkAgainstReference(train.sgd(0.1), refSgd, { lr: 0.1 }));

  it('momentum, plain and Nesterov (tfjs semantics)', () => {
    checkAgainstReference(train.momentum(0.05, 0.9), refMomentum(0.9, false), { lr: 0.05 });
    checkAgainstReference(train.momentum(0.05, 0.8, true), refMomentum(0.8, true), { lr: 0.05 });
  });

  it('adam (tfjs defaults and explicit hyperparameters)', () => {
    checkAgainstReference(train.adam(), refAdam(0.9, 0.999, 1e-7), { lr: 0.001 });
    checkAgainstReference(train.adam(0.02, 0.8, 0.99, 1e-3), refAdam(0.8, 0.99, 1e-3), {
      lr: 0.02,
      steps: 8,
    });
    checkAgainstReference(train.adam(0.1, 0.9, 0.999, 0.1), refAdam(0.9, 0.999, 0.1), { lr: 0.1 });
  });

  it('adamw (Keras 3 formula, decoupled decay)', () => {
    checkAgainstReference(train.adamw(), refAdamW(0.9, 0.999, 1e-7, 0.004), { lr: 0.001 });
    checkAgainstReference(train.adamw(0.05, 0.85, 0.98, 1e-4, 0.1), refAdamW(0.85, 0.98, 1e-4, 0.1), {
      lr: 0.05,
    });
    // a large epsilon tells Keras' form (eps added to sqrt(v)) from tfjs' (eps added to sqrt(v̂))
    checkAgainstReference(train.adamw(0.1, 0.9, 0.999, 0.1, 0), refAdamW(0.9, 0.999, 0.1, 0), { lr: 0.1 });
  });

  it('rmsprop, plain, with momentum, and centered', () => {
    checkAgainstReference(train.rmsprop(0.01), refRmsprop(0.9, 0, 1e-7, false), { lr: 0.01 });
    checkAgainstReference(train.rmsprop(0.01, 0.8, 0.9, 1e-6), refRmsprop(0.8, 0.9, 1e-6, false), {
      lr: 0.01,
    });
    checkAgainstReference(train.rmsprop(0.01, 0.9, 0.5, 1e-7, true), refRmsprop(0.9, 0.5, 1e-7, true), {
      lr: 0.01,
      steps: 6,
    });
  });

  it('weightDecay as an option applies Keras decoupled decay to any optimizer', () => {
    const rule: RefRule = (w, g, s, lr, t) => {
      for (let i = 0; i < w.length; i++) w[i] -= w[i] * 0.1 * lr;
      refMomentum(0.9, false)(w, g, s, lr, t);
    };
    checkAgainstReference(train.momentum(0.1, 0.9, false, { weightDecay: 0.1 }), rule, { lr: 0.1 });
  });

  it('excludeFromWeightDecay skips variables whose name contains a given string', () => {
    const opt = train.adamw(0.1, 0.9, 0.999, 1e-7, 0.5);
    const a = makeVar([1, 2], [2], 'kernel');
    const b = makeVar([1, 2], [2], 'bias');
    opt.excludeFromWeightDecay(['bias']);
    const z = keel.zeros([2]);
    opt.applyGradients({ [a.name]: z, [b.name]: z });
    // zero gradients: Adam's step is 0, so only the decay moves the weights
    expectClose(a.dataSync(), [1 - 0.05, 2 - 0.1], 1e-6);
    expect(Array.from(b.dataSync())).toEqual([1, 2]);
    z.dispose();
    opt.dispose();
  });

  it('accepts tfjs-style [{ name, tensor }] gradients, identical to the name map', () => {
    const a = makeVar([1, -2, 3], [3]);
    const b = makeVar([1, -2, 3], [3]);
    const oa = train.adam(0.1);
    const ob = train.adam(0.1);
    for (let k = 0; k < 3; k++) {
      const g = keel.tensor(seededFloats(3, k));
      oa.applyGradients({ [a.name]: g });
      ob.applyGradients([{ name: b.name, tensor: g }]);
      g.dispose();
    }
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    oa.dispose();
    ob.dispose();
  });
});

// ---- convergence -------------------------------------------------------------------------

describe('convergence on a quadratic', () => {
  const target = [1.5, -2, 0.5, 3];
  const scales = [1, 2, 0.5, 4];
  const cases: [string, () => Optimizer, number][] = [
    ['sgd', () => train.sgd(0.1), 100],
    ['momentum', () => train.momentum(0.05, 0.9), 150],
    ['nesterov', () => train.momentum(0.05, 0.9, true), 150],
    ['adam', () => train.adam(0.1), 300],
    ['adamw', () => train.adamw(0.1, 0.9, 0.999, 1e-7, 0), 300],
    ['rmsprop', () => train.rmsprop(0.02), 300],
    ['rmsprop centered + momentum', () => train.rmsprop(0.005, 0.9, 0.5, 1e-7, true), 300],
  ];
  for (const [name, make, steps] of cases) {
    it(name, () => {
      const w = makeVar([0, 0, 0, 0], [4]);
      const t = keel.tensor(target);
      const s = keel.tensor(scales);
      const loss = () => keel.sum(keel.mul(keel.square(keel.sub(w, t)), s));
      const opt = make();
      const first = opt.minimize(loss, true)!;
      const l0 = first.dataSync()[0];
      first.dispose();
      for (let k = 1; k < steps; k++) opt.minimize(loss);
      const l = keel.tidy(loss);
      expect(l.dataSync()[0]).toBeLessThan(l0 * 1e-3);
      expectClose(w.dataSync(), target, 0.03, name);
      keel.dispose([l, t, s]);
      opt.dispose();
    });
  }
});

// ---- clipping ------------------------------------------------------------------------------

describe('gradient clipping (on the gradients, before the update)', () => {
  it('clipNorm clips each gradient by its own norm', () =>
    checkAgainstReference(train.sgd(1, { clipNorm: 0.5 }), refSgd, { lr: 1, clipNorm: 0.5 }));

  it('globalClipNorm scales all gradients by their global norm', () =>
    checkAgainstReference(
      train.adam(0.01, 0.9, 0.999, 1e-7, { globalClipNorm: 0.7 }),
      refAdam(0.9, 0.999, 1e-7),
      {
        lr: 0.01,
        globalClipNorm: 0.7,
      },
    ));

  it('clipValue clips elementwise', () =>
    checkAgainstReference(train.momentum(0.1, 0.9, false, { clipValue: 0.3 }), refMomentum(0.9, false), {
      lr: 0.1,
      clipValue: 0.3,
    }));

  it('leaves small gradients unchanged and handles a zero gradient', () => {
    const v = makeVar([1, 1], [2]);
    const opt = train.sgd(1, { clipNorm: 10 });
    const g = keel.tensor([0.3, -0.4]);
    opt.applyGradients({ [v.name]: g });
    expectClose(v.dataSync(), [0.7, 1.4], 1e-7);
    const z = keel.zeros([2]);
    opt.applyGradients({ [v.name]: z });
    expectClose(v.dataSync(), [0.7, 1.4], 1e-7);
    keel.dispose([g, z]);
  });

  it('a non-finite global norm makes every clipped gradient NaN (Keras)', () => {
    const a = makeVar([1], [1]);
    const b = makeVar([1], [1]);
    const opt = train.sgd(1, { globalClipNorm: 1 });
    const ga = keel.tensor([Number.POSITIVE_INFINITY]);
    const gb = keel.tensor([0.1]);
    opt.applyGradients({ [a.name]: ga, [b.name]: gb });
    expect(Number.isNaN(b.dataSync()[0])).toBe(true);
    keel.dispose([ga, gb]);
  });

  it('setters: optimizer.clipNorm = 1; only one clip option at a time; null clears', () => {
    const opt = train.adam(0.01);
    expect(opt.clipNorm).toBeUndefined();
    opt.clipNorm = 1;
    expect(opt.clipNorm).toBe(1);
    expect(() => {
      opt.clipValue = 0.5;
    }).toThrow(/only one of clipNorm, clipValue and globalClipNorm.*clipNorm is 1/);
    opt.clipNorm = null;
    opt.clipValue = 0.5;
    expect(opt.clipValue).toBe(0.5);
    expect(opt.getConfig().clipValue).toBe(0.5);
    expect(() => {
      opt.globalClipNorm = -1;
    }).toThrow(/globalClipNorm must be a finite number in \(0, inf\), got -1/);
    expect(() => train.sgd(0.1, { clipNorm: 1, clipValue: 1 })).toThrow(
      /only one of .* got clipNorm and clipValue/,
    );
    expect(() => train.sgd(0.1, { clipValue: 0 })).toThrow(/clipValue must be/);
  });
});

// ---- learning-rate schedules ---------------------------------------------------------------

describe('learning-rate schedules (Keras formulas)', () => {
  const { schedules } = train;

  it('exponentialDecay, continuous and staircase', () => {
    const s = schedules.exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 });
    const st = schedules.exponentialDecay({
      initialLearningRate: 0.1,
      decaySteps: 10,
      decayRate: 0.5,
      staircase: true,
    });
    for (const step of [0, 1, 5, 9, 10, 15, 37]) {
      expect(s.call(step)).toBeCloseTo(0.1 * 0.5 ** (step / 10), 15);
      expect(st.call(step)).toBeCloseTo(0.1 * 0.5 ** Math.floor(step / 10), 15);
    }
    expect(s.call(5)).toBeCloseTo(0.07071067811865475, 15);
    expect(st.call(15)).toBe(0.05);
  });

  it('piecewiseConstantDecay: values[i] up to and including boundaries[i]', () => {
    const s = schedules.piecewiseConstantDecay({ boundaries: [3, 6], values: [1, 0.5, 0.1] });
    expect([0, 3, 4, 6, 7, 100].map((k) => s.call(k))).toEqual([1, 1, 0.5, 0.5, 0.1, 0.1]);
  });

  it('cosineDecay, with alpha, and with linear warmup', () => {
    const s = schedules.cosineDecay({ initialLearningRate: 1, decaySteps: 10, alpha: 0.1 });
    const keras = (k: number) => 0.9 * 0.5 * (1 + Math.cos((Math.PI * Math.min(k, 10)) / 10)) + 0.1;
    for (const k of [0, 1, 5, 9, 10, 25]) expect(s.call(k)).toBeCloseTo(keras(k), 14);
    expect(s.call(5)).toBeCloseTo(0.55, 14);
    expect(s.call(25)).toBeCloseTo(0.1, 14);
    const w = schedules.cosineDecay({
      initialLearningRate: 0,
      decaySteps: 10,
      warmupTarget: 1,
      warmupSteps: 4,
    });
    expect(w.call(0)).toBe(0);
    expect(w.call(2)).toBeCloseTo(0.5, 14);
    expect(w.call(4)).toBeCloseTo(1, 14);
    expect(w.call(9)).toBeCloseTo(0.5, 14);
    expect(w.call(14)).toBeCloseTo(0, 14);
    expect(w.call(100)).toBeCloseTo(0, 14);
  });

  it('an optimizer evaluates its schedule at optimizer.iterations', () => {
    const lr = schedules.piecewiseConstantDecay({ boundaries: [1, 3], values: [0.5, 0.25, 0.125] });
    const opt = train.sgd(lr);
    const v = makeVar([0], [1]);
    const g = keel.tensor([-1]);
    const seen: number[] = [];
    let prev = 0;
    for (let k = 0; k < 6; k++) {
      expect(opt.learningRate).toBe(lr.call(k));
      opt.applyGradients({ [v.name]: g });
      const now = v.dataSync()[0];
      seen.push(now - prev);
      prev = now;
    }
    expect(seen).toEqual([0.5, 0.5, 0.25, 0.25, 0.125, 0.125]);
    g.dispose();
  });

  it('schedules drive the update maths of adaptive optimizers too', () => {
    const lr = schedules.cosineDecay({ initialLearningRate: 0.05, decaySteps: 4, alpha: 0.2 });
    checkAgainstReference(train.adam(lr), refAdam(0.9, 0.999, 1e-7), { lr: (t) => lr.call(t), steps: 6 });
  });

  it('learningRate get/set for numbers; not settable when a schedule was given (Keras)', () => {
    const opt = train.sgd(0.1);
    expect(opt.learningRate).toBe(0.1);
    opt.learningRate = 0.01;
    expect(opt.learningRate).toBe(0.01);
    expect(opt.getConfig().learningRate).toBe(0.01);
    expect(() => {
      opt.learningRate = -1;
    }).toThrow(/learningRate must be a finite number in \[0, inf\), got -1/);
    const s = schedules.exponentialDecay({ initialLearningRate: 0.1, decaySteps: 5, decayRate: 0.9 });
    const withSchedule = train.adam(s);
    expect(withSchedule.learningRateSchedule).toBe(s);
    expect(() => {
      withSchedule.learningRate = 0.5;
    }).toThrow(/learning-rate schedule.*not settable/);
    withSchedule.setLearningRate(0.5);
    expect(withSchedule.learningRate).toBe(0.5);
  });

  it('bad schedule arguments', () => {
    expect(() =>
      schedules.exponentialDecay({ initialLearningRate: 0.1, decaySteps: 0, decayRate: 0.5 }),
    ).toThrow(/decaySteps must be > 0/);
    expect(() => schedules.piecewiseConstantDecay({ boundaries: [1, 2], values: [1, 2] })).toThrow(
      /one more element/,
    );
    expect(() => schedules.piecewiseConstantDecay({ boundaries: [2, 1], values: [1, 2, 3] })).toThrow(
      /strictly increasing/,
    );
    expect(() => schedules.cosineDecay({ initialLearningRate: Number.NaN, decaySteps: 3 })).toThrow(
      /initialLearningRate/,
    );
  });
});

// ---- dtypes ----------------------------------------------------------------------------------

describe('16-bit gradients and float32 maths', () => {
  it('a float16 gradient for a float32 variable is cast to float32 (Adam, several steps)', () =>
    checkAgainstReference(train.adam(0.01), refAdam(0.9, 0.999, 1e-7), { lr: 0.01, gradDtype: 'float16' }));

  it('a bfloat16 gradient for a float32 variable, with global clipping', () =>
    checkAgainstReference(
      train.rmsprop(0.01, 0.9, 0.5, 1e-7, false, { globalClipNorm: 0.5 }),
      refRmsprop(0.9, 0.5, 1e-7, false),
      {
        lr: 0.01,
        gradDtype: 'bfloat16',
        globalClipNorm: 0.5,
      },
    ));

  it('tiny float16 gradients do not underflow Adam (maths and slots in float32)', async () => {
    const v = makeVar([1, 1], [2]);
    const opt = train.adam(0.01, 0.9, 0.999, 1e-8);
    const g = keel.tensor([1e-7, -6e-8], [2], 'float16'); // subnormal float16: g² underflows in float16
    opt.applyGradients({ [v.name]: g });
    const w = Array.from(v.dataSync());
    expect(w.every(Number.isFinite)).toBe(true);
    expect(w[0]).toBeLessThan(1);
    expect(w[1]).toBeGreaterThan(1);
    const weights = await opt.getWeights();
    expect(weights.slice(1).map((x) => x.tensor.dtype)).toEqual(['float32', 'float32']);
    keel.dispose(weights.map((x) => x.tensor));
    g.dispose();
    opt.dispose();
  });

  it('a float16 variable is updated in float32 and rounded back to float16', () => {
    const v = makeVar([1, 2], [2], 'h', 'float16');
    const opt = train.sgd(0.1);
    const g = keel.tensor([0.5, -0.25], [2], 'float16');
    opt.applyGradients({ [v.name]: g });
    expect(v.dtype).toBe('float16');
    const want = [1 - 0.05, 2 + 0.025].map((x) => keel.tensor([x], [1], 'float16').dataSync()[0]);
    expect(Array.from(v.dataSync())).toEqual(want);
    g.dispose();
  });

  it('other dtype combinations are errors naming both dtypes', () => {
    const v = makeVar([1, 2], [2]);
    const h = makeVar([1, 2], [2], 'h', 'float16');
    const opt = train.sgd(0.1);
    const gi = keel.tensor([1, 2], [2], 'int32');
    const g32 = keel.tensor([1, 2]);
    expect(() => opt.applyGradients({ [v.name]: gi })).toThrow(
      `the gradient for '${v.name}' is int32, the variable is float32`,
    );
    expect(() => opt.applyGradients({ [h.name]: g32 })).toThrow(
      `the gradient for '${h.name}' is float32, the variable is float16`,
    );
    keel.dispose([gi, g32]);
  });
});

// ---- errors ----------------------------------------------------------------------------------

describe('error paths', () => {
  it('bad hyperparameters', () => {
    expect(() => train.sgd(-0.1)).toThrow(
      'train.sgd: learningRate must be a finite number in [0, inf), got -0.1',
    );
    expect(() => train.sgd(Number.NaN)).toThrow(/train\.sgd: learningRate/);
    expect(() => train.sgd(undefined as unknown as number)).toThrow(/learningRate must be a finite number/);
    expect(() => train.adam(0.001, 1)).toThrow('train.adam: beta1 must be a finite number in [0, 1), got 1');
    expect(() => train.adam(0.001, 0.9, -0.5)).toThrow(/beta2 must be a finite number in \[0, 1\), got -0.5/);
    expect(() => train.adam(0.001, 0.9, 0.999, -1)).toThrow(/epsilon/);
    expect(() => train.adamw(0.001, 0.9, 0.999, 1e-7, -0.1)).toThrow(/train\.adamw: weightDecay/);
    expect(() => train.momentum(0.1, 1.5)).toThrow(
      /train\.momentum: momentum must be a finite number in \[0, 1\]/,
    );
    expect(() => train.rmsprop(0.1, 1)).toThrow(/train\.rmsprop: decay must be/);
  });

  it('unknown variable names, shape mismatches and bad entries; nothing is updated on error', () => {
    const v = makeVar([1, 2, 3, 4, 5, 6], [2, 3]);
    const opt = train.adam(0.1);
    const good = keel.ones([2, 3]);
    const bad = keel.ones([3, 2]);
    expect(() => opt.applyGradients({ [v.name]: good, nope: good })).toThrow(
      "train.adam.applyGradients: no trainable variable named 'nope'",
    );
    expect(() => opt.applyGradients({ [v.name]: bad })).toThrow(
      `train.adam.applyGradients: the gradient for '${v.name}' has shape [3,2], the variable has shape [2,3]`,
    );
    expect(() =>
      opt.applyGradients([
        { name: v.name, tensor: good },
        { name: v.name, tensor: good },
      ]),
    ).toThrow(/two gradients/);
    expect(() => opt.applyGradients({ [v.name]: [1, 2] as unknown as Tensor })).toThrow(/is not a Tensor/);
    expect(Array.from(v.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(opt.iterations).toBe(0);
    keel.dispose([good, bad]);
    opt.dispose();
  });
});

// ---- checkpointing ----------------------------------------------------------------------------

describe('getWeights / setWeights', () => {
  const makers: [string, () => Optimizer, string[]][] = [
    ['sgd', () => train.sgd(0.05, { clipNorm: 1 }), []],
    ['momentum', () => train.momentum(0.05, 0.9, true), ['momentum']],
    [
      'adam + cosine schedule + clipping',
      () =>
        train.adam(
          train.schedules.cosineDecay({
            initialLearningRate: 0.05,
            decaySteps: 8,
            warmupTarget: 0.1,
            warmupSteps: 3,
          }),
          0.9,
          0.999,
          1e-7,
          {
            globalClipNorm: 2,
          },
        ),
      ['m', 'v'],
    ],
    ['adamw', () => train.adamw(0.05, 0.9, 0.99, 1e-7, 0.1), ['m', 'v']],
    ['rmsprop centered', () => train.rmsprop(0.01, 0.9, 0.5, 1e-7, true), ['rms', 'momentum', 'mg']],
  ];

  for (const [label, make, slots] of makers) {
    it(`${label}: resuming from a checkpoint reproduces the uninterrupted run exactly`, async () => {
      const a = makeVar(seededFloats(6, 1), [2, 3], 'a');
      const b = makeVar(seededFloats(4, 2), [4], 'b');
      const ta = keel.tensor(seededFloats(6, 3), [2, 3]);
      const tb = keel.tensor(seededFloats(4, 4), [4]);
      const loss = () =>
        keel.add(
          keel.sum(keel.square(keel.sub(keel.mul(a, a), ta))),
          keel.sum(keel.mul(keel.square(keel.sub(b, tb)), 3)),
        );

      const opt = make();
      for (let k = 0; k < 5; k++) opt.minimize(loss);
      const ckpt = await opt.getWeights();
      const mid = [a.dataSync(), b.dataSync()];
      expect(ckpt.map((w) => w.name)).toEqual([
        'iter',
        ...slots.flatMap((s) => [`${a.name}/${s}`, `${b.name}/${s}`]),
      ]);
      expect(ckpt[0].tensor.dtype).toBe('int32');
      expect(ckpt[0].tensor.dataSync()[0]).toBe(5);
      const ckptValues = ckpt.map((w) => Array.from(w.tensor.dataSync()));
      for (let k = 0; k < 5; k++) opt.minimize(loss);
      const end = [a.dataSync(), b.dataSync()];
      // the checkpoint is a snapshot: later steps do not change it
      expect(ckpt.map((w) => Array.from(w.tensor.dataSync()))).toEqual(ckptValues);

      // a fresh optimizer restored from the checkpoint, with the weights at step 5
      keel.tidy(() => {
        a.assign(keel.tensor(mid[0], [2, 3]));
        b.assign(keel.tensor(mid[1], [4]));
      });
      const fresh = make();
      await fresh.setWeights(ckpt);
      expect(fresh.iterations).toBe(5);
      for (let k = 0; k < 5; k++) fresh.minimize(loss);
      expect(a.dataSync()).toEqual(end[0]);
      expect(b.dataSync()).toEqual(end[1]);
      expect(fresh.iterations).toBe(10);
      if (slots.length) expect(Array.from(a.dataSync())).not.toEqual(Array.from(mid[0]));

      keel.dispose([ta, tb, ckpt.map((w) => w.tensor)]);
      opt.dispose();
      fresh.dispose();
    });
  }

  it('setWeights validates names, slots and shapes', async () => {
    const v = makeVar([1, 2], [2]);
    const opt = train.adam(0.1);
    const iter = keel.scalar(3, 'int32');
    const m = keel.ones([2]);
    const wrong = keel.ones([3]);
    await expect(opt.setWeights([{ name: 'x', tensor: iter }])).rejects.toThrow(
      /first entry must be the iteration count/,
    );
    await expect(
      opt.setWeights([
        { name: 'iter', tensor: iter },
        { name: `${v.name}/q`, tensor: m },
      ]),
    ).rejects.toThrow(/is not a state of this optimizer.*'m' or 'v'/);
    await expect(
      opt.setWeights([
        { name: 'iter', tensor: iter },
        { name: `${v.name}/m`, tensor: m },
      ]),
    ).rejects.toThrow(`no 'v' state for variable '${v.name}'`);
    await expect(
      opt.setWeights([
        { name: 'iter', tensor: iter },
        { name: `${v.name}/m`, tensor: wrong },
        { name: `${v.name}/v`, tensor: wrong },
      ]),
    ).rejects.toThrow(`'${v.name}/m' has shape [3], the variable '${v.name}' has shape [2]`);
    expect(opt.iterations).toBe(0);
    await opt.setWeights([
      { name: 'iter', tensor: iter },
      { name: `${v.name}/v`, tensor: m },
      { name: `${v.name}/m`, tensor: m },
    ]);
    expect(opt.iterations).toBe(3);
    expect((await opt.getWeights()).map((w) => w.name)).toEqual(['iter', `${v.name}/m`, `${v.name}/v`]);
    keel.dispose([iter, m, wrong]);
    opt.dispose();
  });

  it('getConfig round-trips through optimizerFromConfig, schedules included', () => {
    const opts = [
      train.sgd(0.1, { clipValue: 2 }),
      train.momentum(0.1, 0.8, true),
      train.adam(
        train.schedules.exponentialDecay({
          initialLearningRate: 0.1,
          decaySteps: 3,
          decayRate: 0.5,
          staircase: true,
        }),
      ),
      train.adamw(0.002, 0.8, 0.9, 1e-6, 0.01, { globalClipNorm: 1 }),
      train.rmsprop(0.01, 0.8, 0.1, 1e-6, true),
      train.rmsprop(0.01, 0.8, 0.1, 1e-6, true, { clipNorm: 3 }),
    ];
    for (const o of opts) {
      const back = keel.optimizerFromConfig(o.getClassName(), JSON.parse(JSON.stringify(o.getConfig())));
      expect(back.getClassName()).toBe(o.getClassName());
      expect(back.getConfig()).toEqual(o.getConfig());
      expect(back.learningRate).toBe(o.learningRate);
    }
    expect(opts.map((o) => o.getClassName())).toEqual([
      'SGD',
      'Momentum',
      'Adam',
      'AdamW',
      'RMSProp',
      'RMSProp',
    ]);
    expect(opts[1].getConfig()).toEqual({ learningRate: 0.1, momentum: 0.8, useNesterov: true });
    expect(opts[2].getConfig().learningRate).toEqual({
      className: 'ExponentialDecay',
      config: {
        initialLearningRate: 0.1,
        decaySteps: 3,
        decayRate: 0.5,
        staircase: true,
        name: 'ExponentialDecay',
      },
    });
    expect(() => keel.optimizerFromConfig('Nope', {})).toThrow(/unknown optimizer class 'Nope'/);
  });

  it("getOptimizer maps compile()'s strings to tfjs-layers' defaults", () => {
    expect(keel.getOptimizer('sgd').getConfig()).toEqual({ learningRate: 0.01 });
    expect(keel.getOptimizer('Adam').getConfig()).toEqual({
      learningRate: 0.001,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
    });
    expect(keel.getOptimizer('rmsprop').getClassName()).toBe('RMSProp');
    expect(keel.getOptimizer('adamw').getConfig().weightDecay).toBe(0.004);
    const o = train.sgd(1);
    expect(keel.getOptimizer(o)).toBe(o);
    expect(() => keel.getOptimizer('adagrad')).toThrow(/unknown optimizer "adagrad"/);
  });
});

// ---- memory ------------------------------------------------------------------------------------

describe('memory', () => {
  const cases: [string, () => Optimizer, number][] = [
    ['sgd', () => train.sgd(0.1, { clipNorm: 1 }), 0],
    ['momentum', () => train.momentum(0.1, 0.9), 1],
    ['adam', () => train.adam(0.01, 0.9, 0.999, 1e-7, { globalClipNorm: 1 }), 2],
    ['adamw', () => train.adamw(0.01), 2],
    ['rmsprop centered', () => train.rmsprop(0.01, 0.9, 0.9, 1e-7, true, { clipValue: 0.1 }), 3],
  ];
  for (const [label, make, slotsPerVar] of cases) {
    it(`${label}: N steps leave only the slot variables behind; dispose frees them`, async () => {
      const a = makeVar(seededFloats(6, 1), [2, 3]);
      const b = makeVar(seededFloats(3, 2), [3]);
      const t = keel.tensor(seededFloats(3, 3));
      const loss = () => keel.add(keel.sum(keel.square(a)), keel.sum(keel.square(keel.sub(b, t))));
      const before = keel.memory().numTensors;
      const opt = make();
      for (let k = 0; k < 10; k++) opt.minimize(loss);
      // 16-bit gradients through applyGradients, too
      const g16 = keel.ones([3], 'float16');
      opt.applyGradients({ [b.name]: g16 });
      g16.dispose();
      expect(keel.memory().numTensors - before).toBe(2 * slotsPerVar);
      const w = await opt.getWeights();
      keel.dispose(w.map((x) => x.tensor));
      expect(keel.memory().numTensors - before).toBe(2 * slotsPerVar);
      opt.dispose();
      expect(keel.memory().numTensors).toBe(before);
      t.dispose();
    });
  }
});
