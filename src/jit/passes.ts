// Graph passes before fusion: cast elimination, common-subexpression elimination and dead-code
// elimination. Each rewrites uses through an alias map, then the graph is compacted.
import { is16Bit } from '../dtype.js';
import type { Graph, GraphNode } from './graph.js';
import { attrsText, ELEMENTWISE, valueInfo } from './graph.js';

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
    // common subexpressions: same primitive, attributes and inputs (attrsText tells NaN and
    // +-Infinity apart, which JSON writes alike: pads by +Infinity and -Infinity are not common)
    const key = `${n.prim}${attrsText(n.attrs)}(${ins})${n.dtype}[${n.shape}]`;
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

/**
 * A widening cast (16-bit -> float32) of a kernel's output that several fused kernels read is
 * recomputed inside each of them instead of stored: stored, its float32 copy (twice the 16-bit
 * bytes) is written once and read by every consumer (batch norm's statistics, normalisation and
 * gradient each read a convolution's output in float32). The cast is exact: results are unchanged.
 * One stored copy stays for consumers that are not fused (kernels) and for the caller.
 */
export function duplicateWidenings(g: Graph): { graph: Graph; duplicated: number } {
  const I = g.inputs.length;
  const consumers: number[][] = g.nodes.map(() => []);
  g.nodes.forEach((n, k) => {
    for (const u of n.inputs) if (u >= I) consumers[u - I].push(k);
  });
  const fusable = (k: number) => ELEMENTWISE.has(g.nodes[k].prim) || g.nodes[k].prim === 'reduce';
  const dup = g.nodes.map((n, k) => {
    if (n.prim !== 'cast' || n.dtype !== 'float32' || !is16Bit(valueInfo(g, n.inputs[0]).dtype)) return false;
    const u = n.inputs[0];
    // an elementwise producer fuses with the cast (and its consumers) as it is
    if (u >= I && ELEMENTWISE.has(g.nodes[u - I].prim)) return false;
    return consumers[k].filter(fusable).length > 1;
  });
  if (!dup.some(Boolean)) return { graph: g, duplicated: 0 };
  const isOutput = new Set(g.outputs);
  const renumber = new Array<number>(I + g.nodes.length).fill(-1);
  for (let i = 0; i < I; i++) renumber[i] = i;
  const nodes: GraphNode[] = [];
  let duplicated = 0;
  g.nodes.forEach((n, k) => {
    if (dup[k]) {
      if (isOutput.has(I + k) || consumers[k].some((c) => !fusable(c))) {
        renumber[I + k] = I + nodes.length;
        nodes.push({ ...n, inputs: n.inputs.map((v) => renumber[v]) });
      }
      return;
    }
    const copies = new Map<number, number>(); // one copy per duplicated value this node reads
    const inputs = n.inputs.map((v) => {
      if (!(v >= I && dup[v - I] && fusable(k))) return renumber[v];
      let c = copies.get(v);
      if (c === undefined) {
        const src = g.nodes[v - I];
        nodes.push({ ...src, inputs: src.inputs.map((w) => renumber[w]) });
        c = I + nodes.length - 1;
        copies.set(v, c);
        duplicated++;
      }
      return c;
    });
    renumber[I + k] = I + nodes.length;
    nodes.push({ ...n, inputs });
  });
  return { graph: { inputs: g.inputs, nodes, outputs: g.outputs.map((v) => renumber[v]) }, duplicated };
}
