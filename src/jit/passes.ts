// Graph passes before fusion: cast elimination, common-subexpression elimination and dead-code
// elimination. Each rewrites uses through an alias map, then the graph is compacted.
import { is16Bit } from '../dtype.js';
import type { Graph, GraphNode } from './graph.js';
import { valueInfo } from './graph.js';

export interface PassStats {
  castsRemoved: number;
  commonRemoved: number;
  deadRemoved: number;
}

/** Whether casting `from` to `to` loses nothing (so casting back restores the value exactly). */
function exactWidening(from: string, to: string): boolean {
  if (from === to) return true;
  if (from === 'bool') return true;
  if (is16Bit(from as 'float16') && to === 'float32') return true;
  return false;
}

/** Rewrites the graph keeping nodes where `keep`, with uses mapped through `alias`. */
function rebuild(g: Graph, alias: number[], keep: boolean[]): Graph {
  const I = g.inputs.length;
  const renumber = new Array<number>(I + g.nodes.length);
  for (let i = 0; i < I; i++) renumber[i] = i;
  const nodes: GraphNode[] = [];
  const resolve = (v: number): number => {
    let x = v;
    while (alias[x] !== x) x = alias[x];
    return x;
  };
  g.nodes.forEach((n, k) => {
    if (!keep[k]) return;
    renumber[I + k] = I + nodes.length;
    nodes.push({ ...n, inputs: n.inputs.map((v) => renumber[resolve(v)]) });
  });
  return { inputs: g.inputs, nodes, outputs: g.outputs.map((v) => renumber[resolve(v)]) };
}

export function optimize(g: Graph): { graph: Graph; stats: PassStats } {
  const I = g.inputs.length;
  const total = I + g.nodes.length;
  const alias = Array.from({ length: total }, (_, i) => i);
  const resolve = (v: number): number => {
    let x = v;
    while (alias[x] !== x) x = alias[x];
    return x;
  };
  const stats: PassStats = { castsRemoved: 0, commonRemoved: 0, deadRemoved: 0 };
  const seen = new Map<string, number>();
  g.nodes.forEach((n, k) => {
    const v = I + k;
    const ins = n.inputs.map(resolve);
    // cast elimination: casts to the same dtype, and round trips through an exact widening
    if (n.prim === 'cast') {
      const src = valueInfo(g, ins[0]);
      if (src.dtype === n.dtype) {
        alias[v] = ins[0];
        stats.castsRemoved++;
        return;
      }
      const prod = ins[0] >= I ? g.nodes[ins[0] - I] : null;
      if (prod?.prim === 'cast') {
        const orig = resolve(prod.inputs[0]);
        const od = valueInfo(g, orig).dtype;
        if (od === n.dtype && exactWidening(od, prod.dtype)) {
          alias[v] = orig;
          stats.castsRemoved++;
          return;
        }
      }
    }
    // common subexpressions: same primitive, attributes and inputs
    const key = `${n.prim}${JSON.stringify(n.attrs)}(${ins})${n.dtype}[${n.shape}]`;
    const prev = seen.get(key);
    if (prev !== undefined) {
      alias[v] = prev;
      stats.commonRemoved++;
      return;
    }
    seen.set(key, v);
  });
  // dead code: only what the outputs need
  const live = new Array<boolean>(total).fill(false);
  const stack = g.outputs.map(resolve);
  while (stack.length) {
    const v = stack.pop()!;
    if (live[v]) continue;
    live[v] = true;
    if (v >= I) for (const u of g.nodes[v - I].inputs) stack.push(resolve(u));
  }
  const keep = g.nodes.map((_, k) => alias[I + k] === I + k && live[I + k]);
  stats.deadRemoved = keep.filter((x, k) => !x && alias[I + k] === I + k).length;
  return { graph: rebuild(g, alias, keep), stats };
}
