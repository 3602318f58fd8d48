// The graph of a functional model: the nodes between its inputs and outputs in execution order,
// and the layers they use. Layers applied several times (shared) appear once in `layers`.

import type { Layer } from '../layer.js';
import { InputLayer } from '../layers/input.js';
import type { Node, SymbolicTensor } from '../symbolic.js';

export interface Graph {
  nodes: Node[];
  layers: Layer[];
}

export function traceGraph(inputs: SymbolicTensor[], outputs: SymbolicTensor[], where: string): Graph {
  const inputIds = new Set(inputs.map((t) => t.id));
  for (const t of inputs) {
    if (!(t.sourceLayer instanceof InputLayer))
      throw new Error(`${where}: inputs must come from input(), got ${t}`);
  }
  const nodes: Node[] = [];
  const state = new Map<Node, 'visiting' | 'done'>();
  const visit = (t: SymbolicTensor) => {
    const node = t.node;
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'visiting') throw new Error(`${where}: the graph has a cycle at ${t}`);
    state.set(node, 'visiting');
    if (node.layer instanceof InputLayer) {
      if (!inputIds.has(t.id)) {
        throw new Error(
          `${where}: output depends on input '${node.layer.name}', which is not among the model's inputs`,
        );
      }
    }
    for (const i of node.inputs) visit(i);
    state.set(node, 'done');
    nodes.push(node);
  };
  for (const o of outputs) visit(o);
  const layers: Layer[] = [];
  for (const n of nodes) if (!layers.includes(n.layer)) layers.push(n.layer);
  // inputs that no output uses still belong to the model
  for (const t of inputs) if (!layers.includes(t.sourceLayer)) layers.unshift(t.sourceLayer);
  const names = new Set<string>();
  for (const l of layers) {
    if (names.has(l.name))
      throw new Error(
        `${where}: two different layers are named '${l.name}'; layer names must be unique in a model`,
      );
    names.add(l.name);
  }
  return { nodes, layers };
}
