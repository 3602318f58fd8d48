// Shape and data-movement ops: reshape, transpose, slice, pad, concat, stack, tile, gather, oneHot, ...

import { type DType, isFloatDType } from '../../dtype.js';
import { ENGINE } from '../engine.js';
import { sizeOf, type Tensor } from '../tensor.js';
import { fill, range } from './creation.js';
import { cast, equal, where } from './elementwise.js';
import { check, checkDtypeName, checkShape, convert, normAxis, scoped, type TensorLike } from './util.js';

/** Reshape; one dimension may be -1 (inferred). Shares the buffer. */
export function reshape(x: TensorLike, shape: number[]): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'reshape');
    const s = shape.slice();
    const unknown = s.filter((d) => d === -1).length;
    check(
      unknown <= 1 && s.every((d) => Number.isInteger(d) && d >= -1),
      'reshape',
      () => `invalid shape [${shape}]`,
    );
    if (unknown === 1) {
      const known = sizeOf(s.filter((d) => d !== -1));
      check(
        known > 0 && t.size % known === 0,
        'reshape',
        () => `cannot reshape [${t.shape}] (${t.size} elements) to [${shape}]`,
      );
      s[s.indexOf(-1)] = t.size / known;
    }
    check(
      sizeOf(s) === t.size,
      'reshape',
      () => `cannot reshape [${t.shape}] (${t.size} elements) to [${shape}] (${sizeOf(s)} elements)`,
    );
    return ENGINE.run('reshape', [t], { shape: s }, s, t.dtype);
  });
}

export function transpose(x: TensorLike, perm?: number[]): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'transpose');
    const p = perm ?? t.shape.map((_, i) => t.rank - 1 - i);
    check(
      p.length === t.rank && [...p].sort((a, b) => a - b).every((v, i) => v === i),
      'transpose',
      () => `perm [${p}] is not a permutation of the ${t.rank} axes of [${t.shape}]`,
    );
    if (p.every((v, i) => v === i)) return reshape(t, t.shape);
    return ENGINE.run(
      'transpose',
      [t],
      { perm: p },
      p.map((i) => t.shape[i]),
      t.dtype,
    );
  });
}

export function expandDims(x: TensorLike, axis = 0): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'expandDims');
    const a = normAxis(axis, t.rank + 1, 'expandDims');
    const s = t.shape.slice();
    s.splice(a, 0, 1);
    return reshape(t, s);
  });
}

export function squeeze(x: TensorLike, axis?: number[]): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'squeeze');
    const axes = axis
      ? axis.map((a) => normAxis(a, t.rank, 'squeeze'))
      : t.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    for (const a of axes)
      check(
        t.shape[a] === 1,
        'squeeze',
        () => `cannot squeeze axis ${a} of size ${t.shape[a]} (shape [${t.shape}])`,
      );
    return reshape(
      t,
      t.shape.filter((_, i) => !axes.includes(i)),
    );
  });
}

export function broadcastTo(x: TensorLike, shape: number[]): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'broadcastTo');
    shape = checkShape(shape, 'broadcastTo');
    check(
      shape.length >= t.rank,
      'broadcastTo',
      () => `cannot broadcast [${t.shape}] to lower rank [${shape}]`,
    );
    const lifted = [...new Array(shape.length - t.rank).fill(1), ...t.shape];
    lifted.forEach((d, i) => {
      check(
        d === shape[i] || d === 1,
        'broadcastTo',
        () => `cannot broadcast [${t.shape}] to [${shape}]: dim ${i} is ${d}`,
      );
    });
    const r = lifted.length === t.rank ? t : reshape(t, lifted);
    if (lifted.every((d, i) => d === shape[i])) return r === t ? reshape(t, shape) : r;
    return ENGINE.run('broadcastTo', [r], { shape: shape.slice() }, shape.slice(), t.dtype);
  });
}

/** slice(x, begin, size?): size -1 (or missing) runs to the end of that axis. */
export function slice(x: TensorLike, begin: number | number[], size?: number | number[]): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'slice');
    const b =
      typeof begin === 'number' ? [begin, ...new Array(Math.max(t.rank - 1, 0)).fill(0)] : begin.slice();
    while (b.length < t.rank) b.push(0);
    const sz = size === undefined ? [] : typeof size === 'number' ? [size] : size.slice();
    while (sz.length < t.rank) sz.push(-1);
    check(b.length === t.rank && sz.length === t.rank, 'slice', () => `begin/size must have rank ${t.rank}`);
    const s = sz.map((d, i) => (d === -1 ? t.shape[i] - b[i] : d));
    for (let i = 0; i < t.rank; i++) {
      check(
        Number.isInteger(b[i]) &&
          Number.isInteger(s[i]) &&
          b[i] >= 0 &&
          s[i] >= 0 &&
          b[i] + s[i] <= t.shape[i],
        'slice',
        () => `begin [${b}] size [${sz}] is out of bounds for shape [${t.shape}] at axis ${i}`,
      );
    }
    if (s.every((d, i) => d === t.shape[i])) return reshape(t, t.shape);
    return ENGINE.run('slice', [t], { begin: b, size: s }, s, t.dtype);
  });
}

/** Pads each axis by [before, after] with a constant. */
export function pad(x: TensorLike, paddings: [number, number][], constantValue = 0): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'pad');
    check(
      paddings.length === t.rank,
      'pad',
      () => `paddings must have one [before, after] per axis (${t.rank}), got ${paddings.length}`,
    );
    for (const [a, b] of paddings)
      check(
        Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0,
        'pad',
        () => `paddings must be non-negative integers, got ${JSON.stringify(paddings)}`,
      );
    const shape = t.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
    return ENGINE.run(
      'pad',
      [t],
      { paddings: paddings.map(([a, b]) => [a, b] as [number, number]), value: constantValue },
      shape,
      t.dtype,
    );
  });
}

export function concat(tensors: TensorLike[], axis = 0): Tensor {
  return scoped(() => {
    check(Array.isArray(tensors) && tensors.length > 0, 'concat', () => 'needs a non-empty list of tensors');
    let ts = tensors.map((x, i) => convert(x, `tensors[${i}]`, 'concat'));
    // under automatic mixed precision, mixed float inputs meet in the 16-bit dtype
    const ac = ENGINE.autocast;
    if (
      ac &&
      ts.some((t) => isFloatDType(t.dtype) && t.dtype !== ts[0].dtype) &&
      ts.every((t) => isFloatDType(t.dtype))
    ) {
      ts = ts.map((t) => (t.dtype === ac.dtype ? t : cast(t, ac.dtype)));
    }
    const first = ts[0];
    const a = normAxis(axis, first.rank, 'concat');
    ts.forEach((t, i) => {
      check(
        t.dtype === first.dtype,
        'concat',
        () => `tensors[${i}] is ${t.dtype} but tensors[0] is ${first.dtype}`,
      );
      check(
        t.rank === first.rank && t.shape.every((d, j) => j === a || d === first.shape[j]),
        'concat',
        () =>
          `tensors[${i}] has shape [${t.shape}], incompatible with [${first.shape}] on axes other than ${a}`,
      );
    });
    if (ts.length === 1) return reshape(first, first.shape);
    const shape = first.shape.slice();
    shape[a] = ts.reduce((s, t) => s + t.shape[a], 0);
    return ENGINE.run('concat', ts, { axis: a }, shape, first.dtype);
  });
}

export function stack(tensors: TensorLike[], axis = 0): Tensor {
  return scoped(() => {
    check(Array.isArray(tensors) && tensors.length > 0, 'stack', () => 'needs a non-empty list of tensors');
    const ts = tensors.map((x, i) => convert(x, `tensors[${i}]`, 'stack'));
    ts.forEach((t, i) => {
      check(
        t.dtype === ts[0].dtype,
        'stack',
        () => `tensors[${i}] is ${t.dtype} but tensors[0] is ${ts[0].dtype}`,
      );
      check(
        t.rank === ts[0].rank && t.shape.every((d, j) => d === ts[0].shape[j]),
        'stack',
        () => `tensors[${i}] has shape [${t.shape}], tensors[0] has [${ts[0].shape}]`,
      );
    });
    const a = normAxis(axis, ts[0].rank + 1, 'stack');
    return concat(
      ts.map((t) => expandDims(t, a)),
      a,
    );
  });
}

export function unstack(x: TensorLike, axis = 0): Tensor[] {
  return scoped(() => {
    const t = convert(x, 'x', 'unstack');
    const a = normAxis(axis, t.rank, 'unstack');
    const out: Tensor[] = [];
    for (let i = 0; i < t.shape[a]; i++) {
      const begin = t.shape.map((_, j) => (j === a ? i : 0));
      const size = t.shape.map((d, j) => (j === a ? 1 : d));
      out.push(squeeze(slice(t, begin, size), [a]));
    }
    return out;
  });
}

/** Repeats x `reps[i]` times along axis i: broadcast of an interleaved view, then reshape. */
export function tile(x: TensorLike, reps: number[]): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'tile');
    check(
      reps.length === t.rank && reps.every((r) => Number.isInteger(r) && r >= 0),
      'tile',
      () => `reps must have ${t.rank} non-negative integers, got [${reps}]`,
    );
    const lifted = t.shape.flatMap((d) => [1, d]);
    const target = t.shape.flatMap((d, i) => [reps[i], d]);
    return reshape(
      broadcastTo(reshape(t, lifted), target),
      t.shape.map((d, i) => d * reps[i]),
    );
  });
}

/** Takes slices of x along `axis` at int32 `indices`. */
export function gather(x: TensorLike, indices: TensorLike, axis = 0): Tensor {
  return scoped(() => {
    const t = convert(x, 'x', 'gather');
    const idx = convert(indices, 'indices', 'gather', 'int32');
    check(idx.dtype === 'int32', 'gather', () => `argument 'indices' must be int32, got ${idx.dtype}`);
    const a = normAxis(axis, t.rank, 'gather');
    const shape = [...t.shape.slice(0, a), ...idx.shape, ...t.shape.slice(a + 1)];
    return ENGINE.run('gather', [t, idx], { axis: a }, shape, t.dtype);
  });
}

/**
 * One-hot rows of length `depth` for int32 `indices` (out-of-range indices give all-off rows), in
 * `dtype` (int32 by default, as tfjs: fractional on/off values then truncate).
 */
export function oneHot(
  indices: TensorLike,
  depth: number,
  onValue = 1,
  offValue = 0,
  dtype: DType = 'int32',
): Tensor {
  return scoped(() => {
    const idx = convert(indices, 'indices', 'oneHot', 'int32');
    check(idx.dtype === 'int32', 'oneHot', () => `argument 'indices' must be int32, got ${idx.dtype}`);
    check(
      Number.isInteger(depth) && depth > 0,
      'oneHot',
      () => `depth must be a positive integer, got ${depth}`,
    );
    const d = checkDtypeName(dtype, 'oneHot');
    const hit = equal(expandDims(idx, -1), range(0, depth, 1, 'int32'));
    if (d === 'bool' && onValue === 1 && offValue === 0) return hit;
    const on = fill([], onValue, d);
    const off = fill([], offValue, d);
    return d === 'bool' ? cast(where(hit, on, off), 'bool') : where(hit, on, off);
  });
}

/** Sums `updates` into a zero tensor of `size` along `axis` at int32 `indices` (gather's adjoint). */
export function scatterAdd(updates: Tensor, indices: Tensor, axis: number, size: number): Tensor {
  const shape = updates.shape.slice(0, axis).concat([size], updates.shape.slice(axis + indices.rank));
  return ENGINE.run('scatterAdd', [updates, indices], { axis, size }, shape, updates.dtype);
}
