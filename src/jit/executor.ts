// Runs a compiled plan on the target backend: kernels and fused kernels in order, each buffer
// released right after its last use (buffers shared by reshape views are reference-counted).
import type { Backend, DataId, TensorInfo } from '../backend/backend.js';
import { valueInfo } from './graph.js';
import type { Plan } from './plan.js';

/**
 * `donated` input buffers belong to the execution: each is freed after its last use (or written
 * over by a fused kernel, or returned as an output); the other inputs are only read.
 */
export function execute(
  plan: Plan,
  target: Backend,
  inputs: readonly DataId[],
  donated: ReadonlySet<DataId> = new Set(),
): DataId[] {
  const g = plan.graph;
  const I = g.inputs.length;
  const vals = new Array<DataId | undefined>(I + g.nodes.length);
  const external = new Set<DataId>(inputs.filter((id) => !donated.has(id)));
  const uses = new Map<DataId, number>();
  const hold = (v: number, id: DataId) => {
    vals[v] = id;
    uses.set(id, (uses.get(id) ?? 0) + 1);
  };
  inputs.forEach((id, i) => {
    hold(i, id);
  });
  const release = (v: number) => {
    const id = vals[v]!;
    vals[v] = undefined;
    const n = uses.get(id)! - 1;
    if (n > 0) uses.set(id, n);
    else {
      uses.delete(id);
      if (!external.has(id)) target.disposeData(id);
    }
  };
  const info = (v: number): TensorInfo => {
    const vi = valueInfo(g, v);
    return { dataId: vals[v]!, shape: vi.shape, dtype: vi.dtype };
  };
  for (const c of plan.steps) {
    const s = c.step;
    if (s.kind === 'kernel') {
      const n = s.node;
      hold(
        s.out,
        target.kernels[n.prim](s.inputs.map(info), n.attrs as never, { shape: n.shape, dtype: n.dtype }),
      );
    } else {
      // an input buffer that dies here and that nothing else shares can become an output
      const reuse = (c.reuse ?? []).map((j) => {
        if (j === null) return null;
        const id = vals[s.inputs[j]]!;
        return uses.get(id) === 1 && !external.has(id) ? id : null;
      });
      const ids = c.kernel!(
        s.inputs.map((v) => vals[v]!),
        reuse,
      );
      s.outs.forEach((v, i) => {
        hold(v, ids[i]);
      });
    }
    for (const v of c.frees) release(v);
  }
  // each output gets a buffer of its own (an output may be an input, or alias another output)
  const given = new Set<DataId>();
  return g.outputs.map((v) => {
    let id = vals[v]!;
    if (external.has(id) || given.has(id)) {
      const vi = valueInfo(g, v);
      id = target.kernels.cast([info(v)], { dtype: vi.dtype }, { shape: vi.shape, dtype: vi.dtype });
    }
    given.add(id);
    return id;
  });
}
