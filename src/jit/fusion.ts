// Fusion: groups connected elementwise nodes of one shape into a single kernel, attaches a
// following reduction as the group's epilogue (the elementwise chain becomes the reduction's
// prologue), and orders the resulting steps. A value a group computes is stored only when
// something outside the group needs it; the rest never exist in memory.

import { reductionLayout } from '../backend/cpu/reduce.js';
import type { FusedExpr, FusedSpec } from '../backend/fused.js';
import type { ReduceOp } from '../backend/primitives.js';
import type { Graph, GraphNode } from './graph.js';
import { ELEMENTWISE, sameList as sameShape, valueInfo } from './graph.js';

export type Step =
  | { kind: 'kernel'; node: GraphNode; inputs: number[]; out: number }
  | { kind: 'fused'; spec: FusedSpec; inputs: number[]; outs: number[]; nodes: number };

interface Group {
  members: number[]; // value ids, in graph order
  shape: readonly number[];
  open: boolean;
  reduce: number | null; // value id of an attached reduce node
}

export interface FusionStats {
  groups: number;
  fusedNodes: number;
  reductionsFused: number;
}

export function fuse(g: Graph): { steps: Step[]; stats: FusionStats } {
  const I = g.inputs.length;
  const consumers = new Map<number, number[]>();
  g.nodes.forEach((n, k) => {
    for (const u of n.inputs) {
      const list = consumers.get(u) ?? [];
      list.push(I + k);
      consumers.set(u, list);
    }
  });
  const isOutput = new Set(g.outputs);
  const groupOf = new Map<number, Group>();
  const open: Group[] = [];
  const steps: Step[] = [];
  const stats: FusionStats = { groups: 0, fusedNodes: 0, reductionsFused: 0 };

  const close = (grp: Group) => {
    if (!grp.open) return;
    grp.open = false;
    open.splice(open.indexOf(grp), 1);
    steps.push(emitGroup(g, grp, consumers, isOutput));
    stats.groups++;
    stats.fusedNodes += grp.members.length;
    if (grp.reduce !== null) stats.reductionsFused++;
  };

  g.nodes.forEach((n, k) => {
    const v = I + k;
    if (ELEMENTWISE.has(n.prim)) {
      const joinable = [
        ...new Set(
          n.inputs
            .map((u) => groupOf.get(u))
            .filter(
              (grp): grp is Group =>
                !!grp && grp.open && grp.reduce === null && sameShape(grp.shape, n.shape),
            ),
        ),
      ];
      let grp: Group;
      if (joinable.length === 0) {
        grp = { members: [], shape: n.shape, open: true, reduce: null };
        open.push(grp);
      } else {
        grp = joinable[0];
        for (const other of joinable.slice(1)) {
          grp.members.push(...other.members);
          for (const m of other.members) groupOf.set(m, grp);
          other.open = false;
          open.splice(open.indexOf(other), 1);
        }
        grp.members.sort((a, b) => a - b);
      }
      // inputs from other open groups must be computed first: close those groups
      for (const u of n.inputs) {
        const og = groupOf.get(u);
        if (og && og !== grp && og.open) close(og);
      }
      grp.members.push(v);
      groupOf.set(v, grp);
      return;
    }
    // a reduction of a group's value becomes that group's epilogue (the value is stored too when
    // something else needs it: a bias gradient rides along the pass that writes dy)
    if (n.prim === 'reduce' && n.inputs.length === 1) {
      const u = n.inputs[0];
      const grp = groupOf.get(u);
      const axes = (n.attrs as { axes: number[] }).axes;
      if (
        grp?.open &&
        grp.reduce === null &&
        sameShape(valueInfo(g, u).shape, grp.shape) &&
        reductionLayout(grp.shape, axes) !== null
      ) {
        grp.reduce = v;
        groupOf.set(v, grp);
        close(grp);
        return;
      }
    }
    for (const u of n.inputs) {
      const og = groupOf.get(u);
      if (og?.open) close(og);
    }
    steps.push({ kind: 'kernel', node: n, inputs: n.inputs, out: v });
  });
  for (const grp of [...open]) close(grp);
  return { steps, stats };
}

function emitGroup(g: Graph, grp: Group, consumers: Map<number, number[]>, isOutput: Set<number>): Step {
  const I = g.inputs.length;
  const inGroup = new Set(grp.members);
  const externals: number[] = [];
  const exprIndex = new Map<number, number>();
  const exprs: FusedExpr[] = [];
  const ref = (u: number): number => {
    const known = exprIndex.get(u);
    if (known !== undefined) return known;
    // an external value: a kernel input
    let k = externals.indexOf(u);
    if (k < 0) k = externals.push(u) - 1;
    exprs.push({ kind: 'input', input: k, dtype: valueInfo(g, u).dtype });
    exprIndex.set(u, exprs.length - 1);
    return exprs.length - 1;
  };
  for (const v of grp.members) {
    const n = g.nodes[v - I];
    const a = n.attrs as { op?: string };
    if (n.prim === 'broadcastTo') {
      // no computation: the kernel loads the source with broadcast strides
      exprIndex.set(v, ref(n.inputs[0]));
      continue;
    }
    let e: FusedExpr;
    if (n.prim === 'unary') e = { kind: 'unary', op: a.op as never, a: ref(n.inputs[0]), dtype: n.dtype };
    else if (n.prim === 'binary')
      e = { kind: 'binary', op: a.op as never, a: ref(n.inputs[0]), b: ref(n.inputs[1]), dtype: n.dtype };
    else if (n.prim === 'where')
      e = { kind: 'where', cond: ref(n.inputs[0]), a: ref(n.inputs[1]), b: ref(n.inputs[2]), dtype: n.dtype };
    else e = { kind: 'cast', a: ref(n.inputs[0]), dtype: n.dtype };
    exprs.push(e);
    exprIndex.set(v, exprs.length - 1);
  }
  // stored: members needed outside the group (by another node, or by the caller)
  const outs = grp.members.filter(
    (v) => isOutput.has(v) || (consumers.get(v) ?? []).some((c) => !inGroup.has(c) && c !== grp.reduce),
  );
  const spec: FusedSpec = {
    inputs: externals.map((u) => valueInfo(g, u)),
    shape: grp.shape,
    exprs,
    stores: outs.map((v) => exprIndex.get(v)!),
  };
  const allOuts = [...outs];
  if (grp.reduce !== null) {
    const rn = g.nodes[grp.reduce - I];
    const ra = rn.attrs as { op: ReduceOp; axes: number[] };
    spec.reduce = {
      op: ra.op,
      expr: exprIndex.get(rn.inputs[0])!,
      axes: ra.axes,
      shape: rn.shape,
      dtype: rn.dtype,
    };
    allOuts.push(grp.reduce);
  }
  return {
    kind: 'fused',
    spec,
    inputs: externals,
    outs: allOuts,
    nodes: grp.members.length + (grp.reduce !== null ? 1 : 0),
  };
}
