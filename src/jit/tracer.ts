// The tracing backend: while a jitted function runs, primitives are recorded instead of executed.
// Buffers appear only when something needs them — a read (dataSync), or the end of the jitted call
// — and then everything recorded since the last flush is compiled (or found in the cache) and run.
// Tensors still referenced at that point are the graph's outputs; the rest are dead code or fused.
import type {
  Backend,
  BackendMemory,
  DataId,
  KernelTable,
  OutputSpec,
  TensorInfo,
} from '../backend/backend.js';
import type { Primitive } from '../backend/primitives.js';
import { PRIMITIVES } from '../backend/primitives.js';
import type { DType, Storage } from '../dtype.js';
import { execute } from './executor.js';
import type { Graph, GraphNode } from './graph.js';
import { graphKey, sameGraph } from './graph.js';
import { compilePlan, noDump, type Plan } from './plan.js';

/** A traced value: its producing node, and its buffer once computed. */
export class LazyValue {
  concrete: DataId | null = null;
  dead = false;
  constructor(readonly node: TracedNode) {}
}

interface TracedNode {
  prim: Primitive;
  attrs: unknown;
  inputs: (LazyValue | DataId)[];
  inputMeta: { shape: readonly number[]; dtype: DType }[];
  shape: readonly number[];
  dtype: DType;
  out: LazyValue;
}

export interface JitStats {
  /** graphs compiled (cache misses) */
  compiles: number;
  /** graph executions */
  executions: number;
  /** kernels launched by the last execution */
  lastKernels: number;
  /** nodes in the last traced graph */
  lastNodes: number;
}

/** Graphs compared by structure before the key (a step with graph breaks alternates between a few). */
const RECENT = 4;

/** Outputs this small whose inputs are all computed are evaluated at once (constant folding). */
const FOLD_LIMIT = 64;

export class TracingBackend implements Backend {
  readonly name = 'jit';
  readonly device: string;
  readonly kernels: KernelTable;
  private pending: TracedNode[] = [];
  /** buffers the pending nodes read: freeing them waits until those nodes have run */
  private pendingInputs = new Set<DataId>();
  private deferredFrees: DataId[] = [];
  private readonly cache = new Map<string, Plan>();
  /** the last graphs executed, most recent first, matched by structure before any key is built */
  private readonly recent: { key: string; graph: Graph; plan: Plan }[] = [];
  readonly stats: JitStats = { compiles: 0, executions: 0, lastKernels: 0, lastNodes: 0 };

  constructor(
    readonly target: Backend,
    private readonly maxCached = 16,
    private readonly dump: (s: string) => void = process.env.KEEL_JIT_DUMP
      ? (s) => process.stderr.write(`${s}\n`)
      : noDump,
  ) {
    this.device = `jit over ${target.device}`;
    this.kernels = Object.fromEntries(PRIMITIVES.map((p) => [p, this.recorder(p)])) as unknown as KernelTable;
  }

  private recorder(prim: Primitive) {
    return (inputs: readonly TensorInfo[], attrs: unknown, out: OutputSpec): DataId => {
      const ids = inputs.map((t) =>
        t.dataId instanceof LazyValue && t.dataId.concrete ? t.dataId.concrete : t.dataId,
      );
      const size = out.shape.reduce((p, d) => p * d, 1);
      if (size <= FOLD_LIMIT && ids.every((id) => !(id instanceof LazyValue))) {
        const infos = inputs.map((t, i) => ({ ...t, dataId: ids[i] }));
        return this.target.kernels[prim](infos, attrs as never, out);
      }
      const node: TracedNode = {
        prim,
        attrs,
        inputs: ids,
        inputMeta: inputs.map((t) => ({ shape: t.shape.slice(), dtype: t.dtype })),
        shape: out.shape.slice(),
        dtype: out.dtype,
        out: null as unknown as LazyValue,
      };
      node.out = new LazyValue(node);
      for (const id of ids) if (!(id instanceof LazyValue)) this.pendingInputs.add(id);
      this.pending.push(node);
      return node.out;
    };
  }

  /** Computes everything recorded so far whose result is still referenced. */
  flush(): void {
    if (this.pending.length === 0) return;
    const nodes = this.pending;
    this.pending = [];
    const inputIds: DataId[] = [];
    const inputs: { shape: readonly number[]; dtype: DType }[] = [];
    const slot = new Map<DataId, number>();
    const position = new Map<LazyValue, number>();
    nodes.forEach((n, k) => {
      position.set(n.out, k);
    });
    // references: node k as ~k (negative), external buffer as its slot
    const refs = nodes.map((n) =>
      n.inputs.map((x, i) => {
        if (x instanceof LazyValue && !x.concrete) {
          const k = position.get(x);
          if (k === undefined) throw new Error('jit: a traced value was used after it was freed');
          return ~k;
        }
        const id = x instanceof LazyValue ? x.concrete! : x;
        let s = slot.get(id);
        if (s === undefined) {
          s = inputIds.push(id) - 1;
          slot.set(id, s);
          inputs.push(n.inputMeta[i]);
        }
        return s;
      }),
    );
    const I = inputIds.length;
    const g: Graph = {
      inputs,
      nodes: nodes.map(
        (n, k): GraphNode => ({
          prim: n.prim,
          attrs: n.attrs,
          inputs: refs[k].map((r) => (r < 0 ? I + ~r : r)),
          shape: n.shape,
          dtype: n.dtype,
        }),
      ),
      outputs: [],
    };
    g.outputs = nodes.map((n, k) => (n.out.dead ? -1 : I + k)).filter((v) => v >= 0);
    const plan = this.lookup(g);
    // inputs whose tensors were disposed during the trace (a variable's replaced value) are given
    // to the execution, which frees them or writes over them in place
    const donated = new Set(this.deferredFrees.filter((id) => slot.has(id)));
    let outs: DataId[];
    try {
      outs = execute(plan, this.target, inputIds, donated);
    } finally {
      // donated buffers now belong to the execution (after a failure they may leak, never double-free)
      this.releaseInputs(donated);
    }
    g.outputs.forEach((v, i) => {
      nodes[v - I].out.concrete = outs[i];
    });
    this.stats.executions++;
    this.stats.lastKernels = plan.kernels;
    this.stats.lastNodes = g.nodes.length;
  }

  /** The compiled plan for graph g: one of the last few graphs, by structure, else by key. */
  private lookup(g: Graph): Plan {
    const r = this.recent.findIndex((c) => sameGraph(c.graph, g));
    let entry: { key: string; graph: Graph; plan: Plan };
    if (r >= 0) {
      entry = this.recent[r];
      this.recent.splice(r, 1);
    } else {
      const key = graphKey(g);
      let plan = this.cache.get(key);
      if (!plan) {
        plan = compilePlan(g, this.target, this.dump);
        this.stats.compiles++;
        if (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value!);
      }
      entry = { key, graph: g, plan };
    }
    this.cache.delete(entry.key); // most recently used goes last
    this.cache.set(entry.key, entry.plan);
    this.recent.unshift(entry);
    if (this.recent.length > RECENT) this.recent.pop();
    return entry.plan;
  }

  /** Drops everything recorded and not yet computed. */
  discard(): void {
    this.pending = [];
    this.releaseInputs();
  }

  /** Frees the input buffers whose tensors were disposed while nodes still needed them. */
  private releaseInputs(owned: ReadonlySet<DataId> = new Set()): void {
    this.pendingInputs.clear();
    const frees = this.deferredFrees;
    this.deferredFrees = [];
    for (const id of frees) if (!owned.has(id)) this.target.disposeData(id);
  }

  // ---- Backend -------------------------------------------------------------------------

  write(values: Storage, dtype: DType): DataId {
    return this.target.write(values, dtype);
  }

  readSync(dataId: DataId, dtype: DType): Storage {
    return this.target.readSync(this.settle(dataId), dtype);
  }

  read(dataId: DataId, dtype: DType): Promise<Storage> {
    return this.target.read(this.settle(dataId), dtype);
  }

  disposeData(dataId: DataId): void {
    if (!(dataId instanceof LazyValue)) {
      if (this.pendingInputs.has(dataId)) this.deferredFrees.push(dataId);
      else this.target.disposeData(dataId);
      return;
    }
    if (dataId.concrete) {
      // computed in an earlier flush: pending nodes may still read it
      if (this.pendingInputs.has(dataId.concrete)) this.deferredFrees.push(dataId.concrete);
      else this.target.disposeData(dataId.concrete);
      dataId.concrete = null;
    }
    dataId.dead = true;
  }

  memory(): BackendMemory {
    return this.target.memory();
  }

  resetPeak(): void {
    this.target.resetPeak();
  }

  settle(dataId: DataId): DataId {
    if (!(dataId instanceof LazyValue)) return dataId;
    if (!dataId.concrete) this.flush();
    if (!dataId.concrete)
      throw new Error(
        `jit: a value needed after the step was not computed (${dataId.node.prim} ${JSON.stringify(dataId.node.attrs)} [${dataId.node.shape}], dead=${dataId.dead})`,
      );
    return dataId.concrete;
  }
}
