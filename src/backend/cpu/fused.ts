// JavaScript code generation for fused kernels (src/backend/fused.ts). Each expression is rounded
// to its dtype exactly as the eager kernels store it (float32 via Math.fround, 16-bit floats by
// round-to-nearest-even, int32 by ToInt32), so a fused kernel's results equal the eager ones bit
// for bit. Inputs are read straight from their storage (float16 through the decode table).
import type { DType, Storage } from '../../dtype.js';
import { allocStorage, float16BitsToFloat32 } from '../../dtype.js';
import type { FusedExpr, FusedSpec } from '../fused.js';
import { BINARY_EXPR, broadcastStrides, INT_DIV_EXPR, UNARY_EXPR } from './elementwise.js';
import { reductionLayout } from './reduce.js';

const F16 = new Float32Array(65536);
for (let h = 0; h < 65536; h++) F16[h] = float16BitsToFloat32(h);

/** Tables and allocation the generated code uses. */
const RT = { F16, alloc: allocStorage };

/**
 * 16-bit conversions defined inside each kernel's source, so the JIT compiler can inline them
 * (calls into another module's closures stay calls). Same algorithms as src/dtype.ts, tested
 * against it bit for bit.
 */
const PRELUDE = `
const F32 = new Float32Array(1); const U32 = new Uint32Array(F32.buffer);
function encBf16(x) {
  F32[0] = x; const b = U32[0];
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}
function decBf16(h) { U32[0] = h << 16; return F32[0]; }
function bf16(x) { return decBf16(encBf16(x)); }
function encF16(x) {
  F32[0] = x; const bits = U32[0];
  const sign = (bits >>> 16) & 0x8000; const exp = (bits >>> 23) & 0xff; const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000; const shift = 14 - e; const half = 1 << (shift - 1); const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && (h & 1) === 1)) h += 1;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13); const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h += 1;
  return sign | h;
}
const F16T = RT.F16;
function f16(x) { return F16T[encF16(x)]; }
`;

/**
 * `v` rounded as a store into `dtype`'s storage would round it — except bfloat16, whose values stay
 * at float32 precision until they are stored: results then differ from eager execution only by
 * bfloat16 rounding (one rounding instead of one per op), and the kernels avoid a bit-level
 * round trip per operation. float16 keeps exact per-op rounding (its range is not float32's).
 */
function rounded(v: string, dtype: DType): string {
  switch (dtype) {
    case 'float32':
      return `Math.fround(${v})`;
    case 'float16':
      return `f16(${v})`;
    case 'bfloat16':
      // inside a kernel bfloat16 values are kept at float32 precision (bfloat16 has float32's
      // range, so nothing overflows differently); rounding happens once, at the store
      return `Math.fround(${v})`;
    case 'int32':
      return `((${v}) | 0)`;
    case 'bool':
      return `((${v}) & 255)`;
  }
}

function load(arr: string, idx: string, dtype: DType): string {
  if (dtype === 'float16') return `F16T[${arr}[${idx}]]`;
  if (dtype === 'bfloat16') return `decBf16(${arr}[${idx}])`;
  return `${arr}[${idx}]`;
}

function store(arr: string, idx: string, v: string, dtype: DType): string {
  if (dtype === 'float16') return `${arr}[${idx}] = encF16(${v});`;
  if (dtype === 'bfloat16') return `${arr}[${idx}] = encBf16(${v});`;
  return `${arr}[${idx}] = ${v};`;
}

function subst(template: string, vars: Record<string, string>): string {
  return template.replace(/\b([abc])\b/g, (m) => vars[m] ?? m);
}

function exprCode(e: FusedExpr, name: (i: number) => string, dtypes: DType[]): string {
  switch (e.kind) {
    case 'input':
      return '';
    case 'unary':
      return rounded(subst(UNARY_EXPR[e.op], { a: name(e.a) }), e.dtype);
    case 'binary': {
      const t = e.op === 'div' && dtypes[e.a] === 'int32' ? INT_DIV_EXPR : BINARY_EXPR[e.op];
      return rounded(subst(t, { a: name(e.a), b: name(e.b) }), e.dtype);
    }
    case 'where':
      return rounded(`(${name(e.cond)} ? ${name(e.a)} : ${name(e.b)})`, e.dtype);
    case 'cast': {
      const from = dtypes[e.a];
      if (from === e.dtype) return name(e.a);
      if (e.dtype === 'bool') return `(${name(e.a)} !== 0 ? 1 : 0)`;
      if (e.dtype === 'int32') return `(${name(e.a)} | 0)`;
      return rounded(name(e.a), e.dtype);
    }
  }
}

export interface LoopDim {
  size: number;
  /** per strided input: its stride along this dim */
  strides: number[];
}

/**
 * Merges neighbouring dims that every input walks contiguously (stride[d] = stride[d+1] * size[d+1]),
 * within [from, to): a bias broadcast over NHWC becomes a [N*H*W, C] walk.
 */
export function collapse(shape: readonly number[], strides: number[][], from: number, to: number): LoopDim[] {
  const dims: LoopDim[] = [];
  for (let d = from; d < to; d++) {
    if (shape[d] === 1) continue;
    const cur: LoopDim = { size: shape[d], strides: strides.map((s) => s[d]) };
    const prev = dims[dims.length - 1];
    if (prev?.strides.every((st, k) => st === cur.strides[k] * cur.size)) {
      prev.size *= cur.size;
      prev.strides = cur.strides;
    } else dims.push(cur);
  }
  return dims;
}

/**
 * Generates the kernel's body: nested loops over the collapsed domain (with a reduction, the
 * domain splits into [outer, reduced, inner] as the eager kernel walks it, so sums accumulate in
 * the same order), a flat output index `i`, and a position per strided input.
 */
export function generateFused(spec: FusedSpec): string {
  const n = spec.shape.reduce((p, d) => p * d, 1);
  const dtypes = spec.exprs.map((e) => e.dtype);
  const name = (i: number) => `v${i}`;
  const lines: string[] = [];
  lines.push(...spec.inputs.map((_, k) => `const X${k} = inputs[${k}];`));
  lines.push(...spec.stores.map((e, k) => `const O${k} = reuse[${k}] ?? RT.alloc('${dtypes[e]}', ${n});`));
  const allStrides = spec.inputs.map((inp) => broadcastStrides(inp.shape, spec.shape));
  const size = (inp: { shape: readonly number[] }) => inp.shape.reduce((p, d) => p * d, 1);
  const flat = spec.inputs.map((inp) => size(inp) === n);
  const scalar = spec.inputs.map((inp) => size(inp) === 1);
  const strided = spec.inputs.map((_, k) => k).filter((k) => !flat[k] && !scalar[k]);
  const sStrides = strided.map((k) => allStrides[k]);
  const index = (k: number) => (flat[k] ? 'i' : scalar[k] ? '0' : `p${strided.indexOf(k)}`);
  const body: string[] = [];
  for (const [i, e] of spec.exprs.entries()) {
    if (e.kind === 'input')
      body.push(`const ${name(i)} = ${load(`X${e.input}`, index(e.input), spec.inputs[e.input].dtype)};`);
    else body.push(`const ${name(i)} = ${exprCode(e, name, dtypes)};`);
  }
  spec.stores.forEach((e, k) => {
    body.push(store(`O${k}`, 'i', name(e), dtypes[e]));
  });

  // loop nest: each strided input's position is carried level by level (q{j}_{level}); the
  // innermost level defines p{j} for the loads. `i` counts elements in flat (row-major) order.
  let level = 0;
  const last = strided.map(() => -1);
  /** Opens one loop per dim (in nesting order) and returns the header lines. */
  const openLoops = (dims: LoopDim[]): string[] => {
    const out: string[] = [];
    for (const d of dims) {
      const L = level++;
      out.push(`for (let d${L} = 0; d${L} < ${d.size}; d${L}++) {`);
      strided.forEach((_, j) => {
        out.push(`const q${j}_${L} = ${last[j] < 0 ? '0' : `q${j}_${last[j]}`} + d${L} * ${d.strides[j]};`);
        last[j] = L;
      });
    }
    return out;
  };
  /** The element body at the innermost level: positions, loads, computation, `i++`. */
  const element = (inner: string[]): string[] => [
    ...strided.map((_, j) => `const p${j} = ${last[j] < 0 ? '0' : `q${j}_${last[j]}`};`),
    ...inner,
    'i++;',
  ];
  const closeLoops = (dims: LoopDim[]) => dims.map(() => '}');
  if (!spec.reduce) {
    const dims = collapse(spec.shape, sStrides, 0, spec.shape.length);
    lines.push('let i = 0;', ...openLoops(dims), ...element(body), ...closeLoops(dims));
    lines.push(`return [${spec.stores.map((_, k) => `O${k}`).join(', ')}];`);
    return lines.join('\n');
  }
  const red = spec.reduce;
  const layout = reductionLayout(spec.shape, red.axes);
  if (!layout) throw new Error('generateFused: reduced axes must be contiguous');
  const sorted = [...red.axes].sort((a, b) => a - b);
  const lo = sorted.length ? sorted[0] : spec.shape.length;
  const hi = sorted.length ? sorted[sorted.length - 1] + 1 : spec.shape.length;
  const { outer, r, inner } = layout;
  const init = { sum: '0', mean: '0', prod: '1', max: '-Infinity', min: 'Infinity' }[red.op];
  const x = name(red.expr);
  const accum = {
    sum: `acc[ii] += ${x};`,
    mean: `acc[ii] += ${x};`,
    prod: `acc[ii] *= ${x};`,
    max: `if (${x} > acc[ii] || ${x} !== ${x}) acc[ii] = ${x};`,
    min: `if (${x} < acc[ii] || ${x} !== ${x}) acc[ii] = ${x};`,
  }[red.op];
  const scale = red.op === 'mean' ? ` * ${1 / r}` : '';
  const outerDims = collapse(spec.shape, sStrides, 0, lo);
  const rDims = collapse(spec.shape, sStrides, lo, hi);
  const innerDims = collapse(spec.shape, sStrides, hi, spec.shape.length);
  const finalStore = rounded(
    `acc[ii]${scale}`,
    red.dtype === 'int32' || red.dtype === 'bool' ? red.dtype : 'float32',
  );
  // per outer index: reset, accumulate over [r, inner] (flat order), store
  const outerLoops = [
    ...openLoops(outerDims),
    `acc.fill(${init});`,
    ...openLoops(rDims),
    'let ii = 0;',
    ...openLoops(innerDims),
    ...element([...body, accum, 'ii++;']),
    ...closeLoops(innerDims),
    ...closeLoops(rDims),
    `for (let ii = 0; ii < ${inner}; ii++) { ${store('R', `of * ${inner} + ii`, finalStore, red.dtype)} }`,
    'of++;',
    ...closeLoops(outerDims),
  ];
  lines.push(
    `const R = RT.alloc('${red.dtype}', ${outer * inner});`,
    `const acc = new Float64Array(${inner});`,
    'let i = 0; let of = 0;',
    ...outerLoops,
  );
  lines.push(`return [${[...spec.stores.map((_, k) => `O${k}`), 'R'].join(', ')}];`);
  return lines.join('\n');
}

export function compileFusedJs(spec: FusedSpec): {
  run: (inputs: Storage[], reuse: (Storage | null)[]) => Storage[];
  source: string;
} {
  const source = generateFused(spec);
  // the prelude runs once per kernel; the returned closure is the kernel
  const make = new Function('RT', `${PRELUDE}\nreturn function kernel(inputs, reuse) {\n${source}\n};`) as (
    rt: typeof RT,
  ) => (inputs: Storage[], reuse: (Storage | null)[]) => Storage[];
  return { run: make(RT), source };
}
