// A compiled step: the optimised graph's steps with their fused kernels compiled by the backend,
// plus the liveness schedule that frees each buffer right after its last use.
import type { Backend } from '../backend/backend.js';
import type { FusedCompiler, FusedKernel } from '../backend/fused.js';
import { type FusionStats, fuse, type Step } from './fusion.js';
import { formatGraph, type Graph, sameList as sameShape, valueInfo } from './graph.js';

import { duplicateWidenings, optimize, type PassStats } from './passes.js';

export interface CompiledStep {
  step: Step;
  kernel?: FusedKernel;
  /** values whose last use is this step (freed after it runs) */
  frees: number[];
  /** fused steps: for each stored output, the position of a dying input whose buffer it can take */
  reuse?: (number | null)[];
}

export interface Plan {
  graph: Graph;
  steps: CompiledStep[];
  /** kernels launched per execution (reshape views excluded) */
  kernels: number;
  passes: PassStats;
  fusion: FusionStats;
  sources: string[];
}

function canFuse(b: Backend): b is Backend & FusedCompiler {
  return typeof (b as Partial<FusedCompiler>).compileFused === 'function';
}

export function compilePlan(raw: Graph, target: Backend, dump: (s: string) => void): Plan {
  const { graph: optimized, stats: passes } = optimize(raw);
  const { graph } = canFuse(target) ? duplicateWidenings(optimized) : { graph: optimized };
  let { steps, stats: fusion } = fuse(graph);
  // without a code generator, run every node as a kernel (still traced, optimised and planned)
  if (!canFuse(target)) {
    const I = graph.inputs.length;
    steps = graph.nodes.map((node, k) => ({
      kind: 'kernel' as const,
      node,
      inputs: node.inputs,
      out: I + k,
    }));
  }
  const sources: string[] = [];
  const compiled: CompiledStep[] = steps.map((step) => {
    if (step.kind === 'fused' && canFuse(target)) {
      const { kernel, source } = target.compileFused(step.spec);
      sources.push(source);
      return { step, kernel, frees: [] };
    }
    return { step, frees: [] };
  });
  // liveness: free each value after the last step that reads it (outputs and inputs are never freed)
  const last = new Map<number, number>();
  compiled.forEach((c, i) => {
    for (const u of c.step.inputs) last.set(u, i);
  });
  const keep = new Set(graph.outputs);
  const produced = (c: CompiledStep) => (c.step.kind === 'fused' ? c.step.outs : [c.step.out]);
  compiled.forEach((c, _i) => {
    for (const v of produced(c)) if (!last.has(v) && !keep.has(v)) c.frees.push(v); // produced but unused
  });
  // graph inputs are listed too: the executor frees (and lets kernels write over) only those the
  // caller donated, e.g. a variable's old value that the traced step replaced
  for (const [v, i] of last) if (!keep.has(v)) compiled[i].frees.push(v);
  // in-place outputs: a stored value may take the buffer of an input of its shape and dtype that
  // dies at this step (a bias+activation epilogue writes over the matMul/conv2d output it reads;
  // an optimizer update over the donated old value of its variable)
  for (const c of compiled) {
    const s = c.step;
    if (s.kind !== 'fused') continue;
    const taken = new Set<number>();
    c.reuse = s.spec.stores.map((e) => {
      const want = s.spec.exprs[e].dtype;
      const j = s.inputs.findIndex(
        (u, k) =>
          !taken.has(k) &&
          c.frees.includes(u) &&
          valueInfo(graph, u).dtype === want &&
          sameShape(valueInfo(graph, u).shape, s.spec.shape),
      );
      if (j < 0) return null;
      taken.add(j);
      return j;
    });
  }
  const kernels = compiled.filter(
    (c) => !(c.step.kind === 'kernel' && c.step.node.prim === 'reshape'),
  ).length;
  if (dump !== noDump) {
    dump(formatGraph(raw, 'traced'));
    dump(
      formatGraph(
        graph,
        `optimised (casts -${passes.castsRemoved}, common -${passes.commonRemoved}, dead -${passes.deadRemoved})`,
      ),
    );
    dump(
      `== ${kernels} kernels: ${fusion.groups} fused groups over ${fusion.fusedNodes} nodes (${fusion.reductionsFused} with a reduction)`,
    );
    const inPlace = compiled.filter((c) => c.reuse?.some((j) => j !== null)).length;
    dump(`== ${inPlace} fused kernels write in place over an input that dies there`);
    for (const s of sources) dump(`-- fused kernel\n${s}`);
  }
  return { graph, steps: compiled, kernels, passes, fusion, sources };
}

export function noDump(): void {}
