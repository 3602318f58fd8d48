// Matrix multiplication: batched, with transposes and broadcasting batch dimensions (tfjs' matMul).

import { ENGINE } from '../engine.js';
import { sizeOf, type Tensor } from '../tensor.js';
import { cast } from './elementwise.js';
import { broadcastTo } from './layout.js';
import { broadcastShapes, check, commonDtype, convert, scoped, type TensorLike } from './util.js';

export function matMul(a: TensorLike, b: TensorLike, transposeA = false, transposeB = false): Tensor {
  return scoped(() => {
    const op = 'matMul';
    let ta = convert(a, 'a', op);
    let tb = convert(b, 'b', op);
    check(ta.dtype !== 'bool', op, () => `argument 'a' must be numeric, got bool`);
    check(tb.dtype !== 'bool', op, () => `argument 'b' must be numeric, got bool`);
    const dtype = commonDtype(ta, tb, op);
    check(
      ta.rank >= 2 && tb.rank >= 2,
      op,
      () => `inputs must have rank >= 2, got shapes [${ta.shape}] and [${tb.shape}]`,
    );
    if (dtype === 'int32') {
      // tfjs multiplies int32 matrices too: computed in float32 (exact while sums stay below 2^24), then truncated
      return cast(matMul(cast(ta, 'float32'), cast(tb, 'float32'), transposeA, transposeB), 'int32');
    }
    // an int32 operand meets a float one: cast up, as tfjs does
    if (ta.dtype !== dtype) ta = cast(ta, dtype);
    if (tb.dtype !== dtype) tb = cast(tb, dtype);
    const [ar, ac] = ta.shape.slice(-2);
    const [br, bc] = tb.shape.slice(-2);
    const M = transposeA ? ac : ar;
    const K = transposeA ? ar : ac;
    const K2 = transposeB ? bc : br;
    const N = transposeB ? br : bc;
    check(
      K === K2,
      op,
      () =>
        `inner dimensions differ: a [${ta.shape}]${transposeA ? ' (transposed)' : ''} has ${K}, b [${tb.shape}]${transposeB ? ' (transposed)' : ''} has ${K2}`,
    );
    const batchA = ta.shape.slice(0, -2);
    const batchB = tb.shape.slice(0, -2);
    const r = Math.max(batchA.length, batchB.length);
    const fits = Array.from({ length: r }, (_, i) => {
      const x = batchA[batchA.length - r + i] ?? 1;
      const y = batchB[batchB.length - r + i] ?? 1;
      return x === y || x === 1 || y === 1;
    });
    check(
      fits.every(Boolean),
      op,
      () =>
        `batch dimensions [${batchA}] of a [${ta.shape}] and [${batchB}] of b [${tb.shape}] cannot be broadcast together`,
    );
    const batch = broadcastShapes(batchA, batchB, op);
    // the kernel broadcasts a whole batch of one; anything subtler is materialised first
    if (sizeOf(batchA) !== 1 && batchA.join() !== batch.join()) ta = broadcastTo(ta, [...batch, ar, ac]);
    if (sizeOf(batchB) !== 1 && batchB.join() !== batch.join()) tb = broadcastTo(tb, [...batch, br, bc]);
    return ENGINE.run('matMul', [ta, tb], { transposeA, transposeB }, [...batch, M, N], ta.dtype);
  });
}

/** Outer product of two vectors. */
export function outerProduct(v1: TensorLike, v2: TensorLike): Tensor {
  return scoped(() => {
    const a = convert(v1, 'v1', 'outerProduct');
    const b = convert(v2, 'v2', 'outerProduct');
    check(
      a.rank === 1 && b.rank === 1,
      'outerProduct',
      () => `inputs must be vectors, got [${a.shape}] and [${b.shape}]`,
    );
    return matMul(a.reshape([-1, 1]), b.reshape([1, -1]));
  });
}

/** Dot product of vectors/matrices (rank 1 or 2). */
export function dot(t1: TensorLike, t2: TensorLike): Tensor {
  return scoped(() => {
    const a = convert(t1, 't1', 'dot');
    const b = convert(t2, 't2', 'dot');
    check(
      a.rank >= 1 && a.rank <= 2 && b.rank >= 1 && b.rank <= 2,
      'dot',
      () => `inputs must have rank 1 or 2, got [${a.shape}] and [${b.shape}]`,
    );
    const A = a.rank === 1 ? a.reshape([1, -1]) : a;
    const B = b.rank === 1 ? b.reshape([-1, 1]) : b;
    const y = matMul(A, B);
    const shape = [...(a.rank === 2 ? [a.shape[0]] : []), ...(b.rank === 2 ? [b.shape[1]] : [])];
    return y.reshape(shape);
  });
}
