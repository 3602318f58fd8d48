// Memory management: memory() accounting per dtype, tidy/keep/dispose, disposed-tensor errors, and no
// leaks from convolutions, gradients or a 100-step training loop.

import { describe, expect, it } from 'vitest';
import * as keel from '../../src/index.js';

const snapshot = () => {
  const m = keel.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
};

describe('memory()', () => {
  it('reports numTensors, numBytes and peakBytes; 16-bit floats take 2 bytes per element', () => {
    const m = keel.memory();
    expect(typeof m.numTensors).toBe('number');
    expect(typeof m.numBytes).toBe('number');
    expect(m.peakBytes).toBeGreaterThanOrEqual(m.numBytes);
    const base = snapshot();
    const h = keel.ones([3, 5, 7], 'float16');
    expect(keel.memory().numBytes - base.numBytes).toBe(2 * 105);
    const b = keel.ones([3, 5, 7], 'bfloat16');
    expect(keel.memory().numBytes - base.numBytes).toBe(4 * 105);
    const f = keel.ones([3, 5, 7]);
    expect(keel.memory().numBytes - base.numBytes).toBe(8 * 105);
    expect(keel.memory().numTensors - base.numTensors).toBe(3);
    // ops on 16-bit tensors produce 16-bit tensors: 2 bytes per element too
    const w = keel.ones([1, 1, 7, 4], 'float16');
    const y = keel.conv2d(h, w, 1, 'valid'); // rank 3: batched and unbatched inside, nothing left over
    expect(y.dtype).toBe('float16');
    expect(y.shape).toEqual([3, 5, 4]);
    expect(keel.memory().numTensors - base.numTensors).toBe(5);
    expect(keel.memory().numBytes - base.numBytes).toBe(8 * 105 + 2 * 28 + 2 * 60);
    keel.dispose([h, b, f, w, y]);
    expect(snapshot()).toEqual(base);
  });

  it('peakBytes is the high-water mark of numBytes', () => {
    keel.resetPeakMemory();
    const base = keel.memory().numBytes;
    keel.tidy(() => {
      const x = keel.randomNormal([1, 16, 16, 8], 0, 1, 'float32', 1);
      keel.conv2d(x, keel.randomNormal([3, 3, 8, 8], 0, 1, 'float32', 2), 1, 'same');
    });
    expect(keel.memory().numBytes).toBe(base);
    expect(keel.memory().peakBytes).toBeGreaterThanOrEqual(base + 2 * 16 * 16 * 8 * 4);
  });
});

describe('tidy, keep and dispose', () => {
  it('tidy frees everything but its result, through convolutions and rank-3 reshapes', () => {
    const base = snapshot();
    const out = keel.tidy(() => {
      const x = keel.randomNormal([6, 6, 2], 0, 1, 'float32', 3); // rank 3: reshaped inside the op
      const w = keel.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 4);
      const y = keel.conv2d(x, w, 2, 'same').relu();
      const p = keel.maxPool(y, 2, 1, 'same');
      const d = keel.depthwiseConv2d(p, keel.ones([2, 2, 4, 2]), 1, 'valid');
      return { pooled: keel.avgPool(d, 2, 1, 'valid') };
    });
    expect(out.pooled.shape).toEqual([1, 1, 8]); // rank 3 in, rank 3 out
    expect(keel.memory().numTensors - base.numTensors).toBe(1);
    out.pooled.dispose();
    expect(snapshot()).toEqual(base);
  });

  it('convolution and pool ops outside tidy leave only their result (array inputs, rank 3, errors)', () => {
    const base = snapshot();
    const img = [
      [[1], [2], [3]],
      [[4], [5], [6]],
    ];
    const ops: (() => keel.Tensor)[] = [
      () => keel.conv2d(img, [[[[1, -1]]]], 1, 'valid'),
      () => keel.conv2d([img], [[[[2]]], [[[3]]]], 1, 'same'),
      () => keel.depthwiseConv2d(img, [[[[1, 2]]]], 1, 'same'),
      () => keel.conv2dTranspose([[[1]], [[2]]], [[[[1]]]], [2, 1, 1], 1, 'valid'),
      () => keel.maxPool(img, 2, 1, 'same'),
      () => keel.avgPool([img, img], [2, 2], 1, 'valid'),
    ];
    for (const op of ops) {
      const y = op();
      expect(keel.memory().numTensors - base.numTensors).toBe(1);
      y.dispose();
      expect(snapshot()).toEqual(base);
    }
    expect(() => keel.conv2d(img, [[[[1]]]], 1, 'valid', 'NCHW')).toThrow(/NCHW/);
    expect(() => keel.maxPool(img, 3, 1, 'valid')).toThrow(/does not fit/);
    expect(snapshot()).toEqual(base);
  });

  it('keep() survives tidy; nested tidy hands results to the parent', () => {
    const base = snapshot();
    let kept: keel.Tensor | null = null;
    const r = keel.tidy(() => {
      const inner = keel.tidy(() => {
        kept = keel.keep(keel.ones([2, 2]));
        keel.ones([100]); // garbage
        return keel.zeros([3]);
      });
      keel.ones([100]); // garbage
      return inner.add(1);
    });
    expect(Array.from(r.dataSync())).toEqual([1, 1, 1]);
    expect(kept!.isDisposed).toBe(false);
    expect(keel.memory().numTensors - base.numTensors).toBe(2);
    keel.dispose([r, kept!]);
    expect(snapshot()).toEqual(base);
  });

  it('disposing twice is safe, for tensors, views, variables and containers', () => {
    const base = snapshot();
    const a = keel.ones([4]);
    const view = a.reshape([2, 2]);
    const init = keel.zeros([3]);
    const v = keel.variable(init, true, 'leaks_twice_v');
    init.dispose();
    a.dispose();
    a.dispose();
    expect(Array.from(view.dataSync())).toEqual([1, 1, 1, 1]); // the view keeps the buffer
    keel.dispose([view, view, { v }]);
    keel.dispose(v);
    v.dispose();
    expect(snapshot()).toEqual(base);
    // the name is free again
    keel.tidy(() => keel.variable(keel.zeros([1]), true, 'leaks_twice_v')).dispose();
    expect(snapshot()).toEqual(base);
  });

  it('using a disposed tensor throws an error naming the op and the tensor', async () => {
    const x = keel.ones([1, 4, 4, 1]);
    const w = keel.ones([2, 2, 1, 1]);
    x.dispose();
    expect(() => keel.conv2d(x, w, 1, 'same')).toThrow(
      /^conv2d: argument 'x' \(tensor \d+, shape \[1,4,4,1\]\) is disposed/,
    );
    expect(() => keel.maxPool(x, 2, 2, 'same')).toThrow(/^maxPool: argument 'x' .*is disposed/);
    expect(() => x.dataSync()).toThrow(/^dataSync: tensor \d+ \(shape \[1,4,4,1\], float32\) is disposed/);
    await expect(x.data()).rejects.toThrow(/^data: tensor \d+ .*is disposed/);
    expect(() => x.add(1)).toThrow(/^add: .*is disposed/);
    expect(() => keel.grad((a) => a.sum())(x)).toThrow(/^grad: argument 'x' .*is disposed/);
    const v = keel.tidy(() => keel.variable(keel.ones([2]), true, 'leaks_disposed_v'));
    v.dispose();
    expect(() => v.assign(keel.tidy(() => keel.ones([2])))).toThrow(/leaks_disposed_v.*disposed/);
    expect(() => keel.variableGrads(() => v.sum(), [v])).toThrow(
      /^variableGrads: variable 'leaks_disposed_v' is disposed/,
    );
    w.dispose();
  });
});

describe('gradients leave nothing behind', () => {
  const convNet = (x: keel.Tensor, w: keel.Tensor) =>
    keel
      .avgPool(keel.maxPool(keel.conv2d(x, w, 2, 'same').relu(), 2, 1, 'same'), 2, 2, 'valid')
      .square()
      .sum();

  it('grad, grads, valueAndGrad(s) and customGrad inside tidy', () => {
    const x = keel.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 5);
    const w = keel.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 6);
    const base = snapshot();
    keel.tidy(() => {
      keel.grad((a) => convNet(a, w))(x);
      keel.grads(convNet)([x, w]);
      keel.valueAndGrad((a) => convNet(a, w))(x);
      keel.valueAndGrads(convNet)([x, w]);
      const custom = keel.customGrad((a, save) => {
        (save as (ts: keel.Tensor[]) => void)([a as keel.Tensor]);
        return { value: (a as keel.Tensor).square(), gradFunc: (dy, [s]) => [dy.mul(s).mul(2)] };
      });
      keel.grad((a) => custom(a).sum())(x);
      // second order through the convolution's backprop primitives (maxPool has none)
      const smooth = (a: keel.Tensor, b: keel.Tensor) =>
        keel
          .avgPool(keel.conv2d(a, b, 2, 'same').tanh(), 2, 1, 'same')
          .square()
          .sum();
      keel.grads((a, b) =>
        keel
          .grad((aa) => smooth(aa, b))(a)
          .sum(),
      )([x, w]);
    });
    expect(snapshot()).toEqual(base);
    keel.dispose([x, w]);
  });

  it('outside tidy, each call adds exactly its results', () => {
    const x = keel.randomNormal([1, 5, 5, 2], 0, 1, 'float32', 7);
    const w = keel.randomNormal([2, 2, 2, 3], 0, 1, 'float32', 8);
    const base = snapshot();
    const g = keel.grads(convNet)([x, w]);
    expect(keel.memory().numTensors - base.numTensors).toBe(2);
    const vg = keel.valueAndGrads(convNet)([x, w]);
    expect(keel.memory().numTensors - base.numTensors).toBe(5);
    keel.dispose([g, vg]);
    expect(snapshot()).toEqual(base);
    keel.dispose([x, w]);
  });

  it('failing gradient calls free what they made', () => {
    const x = keel.randomNormal([1, 4, 4, 1], 0, 1, 'float32', 9);
    const y = keel.ones([1]);
    const base = snapshot();
    expect(() => keel.grads((a, _b) => keel.maxPool(a, 2, 2, 'same').sum())([x, y])).toThrow(/argument 1/);
    expect(() =>
      keel.grad((a) =>
        keel
          .grad((aa) => keel.maxPool(aa, 2, 2, 'same').square().sum())(a)
          .sum(),
      )(x),
    ).toThrow(/maxPool/);
    expect(() => keel.grad((a) => keel.conv2d(a, keel.ones([9, 9, 1, 1]), 1, 'valid').sum())(x)).toThrow(
      /^conv2d: the 9x9 'filter' window/,
    );
    expect(snapshot()).toEqual(base);
    keel.dispose([x, y]);
  });
});

describe('a 100-step training loop does not leak', () => {
  /** conv -> relu -> maxPool -> flatten -> dense, softmax cross-entropy on 3 classes. */
  function setup(dtype: 'float32' | 'float16', tag: string) {
    // variables copy their initial values: tidy frees the originals
    const { vars, x, labels } = keel.tidy(() => {
      const init = (shape: number[], seed: number) =>
        keel.randomNormal(shape, 0, 0.3, 'float32', seed).cast(dtype);
      return {
        vars: [
          keel.variable(init([3, 3, 2, 4], 11), true, `${tag}_filter`),
          keel.variable(init([3, 3, 4, 1], 12), true, `${tag}_dw`),
          keel.variable(init([4 * 4 * 4, 3], 13), true, `${tag}_dense`),
          keel.variable(keel.zeros([3], dtype), true, `${tag}_bias`),
        ],
        x: init([8, 8, 8, 2], 14),
        labels: keel.oneHot(keel.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3).cast(dtype),
      };
    });
    const [filter, dw, dense, bias] = vars;
    const loss = () => {
      const h = keel.conv2d(x, filter, 1, 'same').relu();
      const d = keel.depthwiseConv2d(h, dw, 1, 'same');
      const p = keel.maxPool(d, 2, 2, 'same').reshape([8, 4 * 4 * 4]);
      const logits = keel.matMul(p, dense).add(bias);
      return keel.losses.softmaxCrossEntropy(labels, logits);
    };
    return { vars, loss, dispose: () => keel.dispose([...vars, x, labels]) };
  }

  it('optimizer.minimize with train.adam inside tidy: same numTensors and numBytes after 100 steps', () => {
    const net = setup('float32', 'leaks_adam');
    const opt = keel.train.adam(0.01);
    // the first step creates Adam's slots; count from after it
    keel.tidy(() => opt.minimize(net.loss, false, net.vars));
    const start = snapshot();
    let first = 0;
    let last = 0;
    for (let i = 0; i < 100; i++) {
      const l = keel.tidy(() => opt.minimize(net.loss, true, net.vars)!.dataSync()[0]);
      if (i === 0) first = l;
      last = l;
      if (i === 49) expect(snapshot()).toEqual(start);
    }
    expect(snapshot()).toEqual(start);
    expect(last).toBeLessThan(first);
    opt.dispose();
    net.dispose();
  });

  it('variableGrads + applyGradients (sgd) inside tidy, float16 weights: no growth either', () => {
    const net = setup('float16', 'leaks_sgd16');
    const opt = keel.train.sgd(0.05);
    keel.tidy(() => opt.minimize(net.loss, false, net.vars));
    const start = snapshot();
    for (let i = 0; i < 100; i++) {
      keel
        .tidy(() => {
          const { value, grads } = keel.variableGrads(net.loss);
          for (const g of Object.values(grads)) expect(g.dtype).toBe('float16');
          opt.applyGradients(grads);
          return value;
        })
        .dispose();
    }
    expect(snapshot()).toEqual(start);
    opt.dispose();
    net.dispose();
  });

  it('without an enclosing tidy, disposing what minimize returns is enough', () => {
    const net = setup('float32', 'leaks_notidy');
    const opt = keel.train.sgd(0.05);
    opt.minimize(net.loss, false, net.vars);
    const start = snapshot();
    for (let i = 0; i < 20; i++) opt.minimize(net.loss, true, net.vars)!.dispose();
    for (let i = 0; i < 20; i++) opt.minimize(net.loss, false, net.vars);
    expect(snapshot()).toEqual(start);
    opt.dispose();
    net.dispose();
  });
});
