// The JIT's graph IR: primitive nodes with static shapes and dtypes over numbered values.
// Values 0..inputs-1 are the graph's external inputs (buffers that existed before the step, or
// constants); value inputs+i is node i's output.
import type { Primitive } from '../backend/primitives.js';
import type { DType } from '../dtype.js';

export interface ValueInfo {
  shape: readonly number[];
  dtype: DType;
}

export interface GraphNode extends ValueInfo {
  prim: Primitive;
  attrs: unknown;
  inputs: number[];
}

export interface Graph {
  inputs: ValueInfo[];
  nodes: GraphNode[];
  /** values the caller still holds after the step (must be materialised) */
  outputs: number[];
}

/** Primitives a fused elementwise kernel can compute (broadcastTo becomes a broadcast load). */
export const ELEMENTWISE: ReadonlySet<Primitive> = new Set<Primitive>([
  'unary',
  'binary',
  'where',
  'cast',
  'broadcastTo',
]);

export function valueInfo(g: Graph, v: number): ValueInfo {
  return v < g.inputs.length ? g.inputs[v] : g.nodes[v - g.inputs.length];
}

export function nodeOf(g: Graph, v: number): GraphNode | null {
  return v < g.inputs.length ? null : g.nodes[v - g.inputs.length];
}

// JSON writes NaN and +-Infinity as null: a pad value of -Infinity must not share a key with +Infinity
const nonFinite = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `#${v}` : v);

export function attrsText(attrs: unknown): string {
  return attrs === undefined ? '' : JSON.stringify(attrs, nonFinite);
}

/** Attribute values equal as the compile key sees them (undefined properties are absent). */
function sameAttrs(a: unknown, b: unknown): boolean {
  if (a === b || (typeof a === 'number' && typeof b === 'number' && Object.is(a, b))) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameAttrs(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (x[k] === undefined) continue;
    if (!sameAttrs(x[k], y[k])) return false;
    n++;
  }
  for (const k in y) if (y[k] !== undefined) n--;
  return n === 0;
}

/** Element-wise equality of two number lists (shapes, operand lists). */
export function sameList(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether two graphs have one structure (graphKey(a) === graphKey(b)), found without building the
 * keys: a training loop traces the same graph every step, and a ResNet's key is ~300 KB of text.
 */
export function sameGraph(a: Graph, b: Graph): boolean {
  if (a.inputs.length !== b.inputs.length || a.nodes.length !== b.nodes.length) return false;
  if (!sameList(a.outputs, b.outputs)) return false;
  for (let i = 0; i < a.inputs.length; i++) {
    const x = a.inputs[i];
    const y = b.inputs[i];
    if (x.dtype !== y.dtype || !sameList(x.shape, y.shape)) return false;
  }
  for (let i = 0; i < a.nodes.length; i++) {
    const x = a.nodes[i];
    const y = b.nodes[i];
    if (
      x.prim !== y.prim ||
      x.dtype !== y.dtype ||
      !sameList(x.inputs, y.inputs) ||
      !sameList(x.shape, y.shape)
    )
      return false;
    if (!sameAttrs(x.attrs, y.attrs)) return false;
  }
  return true;
}

/** A string that identifies the graph's structure (not its input values): the compile cache key. */
export function graphKey(g: Graph): string {
  const parts = g.inputs.map((i) => `${i.dtype}[${i.shape}]`);
  parts.push('|');
  for (const n of g.nodes) parts.push(`${n.prim}${attrsText(n.attrs)}(${n.inputs})${n.dtype}[${n.shape}]`);
  parts.push(`|${g.outputs}`);
  return parts.join(';');
}

/** Human-readable listing for KEEL_JIT_DUMP. */
export function formatGraph(g: Graph, title: string): string {
  const lines = [
    `== ${title}: ${g.inputs.length} inputs, ${g.nodes.length} nodes, ${g.outputs.length} outputs`,
  ];
  g.inputs.forEach((i, k) => {
    lines.push(`  %${k} = input ${i.dtype}[${i.shape}]`);
  });
  const I = g.inputs.length;
  g.nodes.forEach((n, k) => {
    lines.push(
      `  %${I + k} = ${n.prim}${attrsText(n.attrs)}(${n.inputs.map((v) => `%${v}`).join(', ')}) : ${n.dtype}[${n.shape}]`,
    );
  });
  lines.push(`  outputs: ${g.outputs.map((v) => `%${v}`).join(', ')}`);
  return lines.join('\n');
}
