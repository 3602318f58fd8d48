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

function attrsText(attrs: unknown): string {
  return attrs === undefined ? '' : JSON.stringify(attrs);
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
