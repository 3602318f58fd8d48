// Functional models: a graph of layers from symbolic inputs to outputs, itself usable as a layer
// (nested models). Training (compile/fit/evaluate/predict) lives in LayersModel (model.ts).
import { isFloatDType } from '../../dtype.js';
import { cast } from '../../tensor/ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import {
  type CallArgs,
  Layer,
  type LayerArgs,
  type LayerInput,
  type LayerOutput,
  type LayerWeight,
  toList,
} from '../layer.js';
import { InputLayer } from '../layers/input.js';
import type { Node, Shape, SymbolicTensor } from '../symbolic.js';
import { type Graph, traceGraph } from './graph.js';

export interface FunctionalArgs {
  inputs: SymbolicTensor | SymbolicTensor[];
  outputs: SymbolicTensor | SymbolicTensor[];
  name?: string;
}

export class Functional extends Layer {
  static override className = 'Functional';
  inputs: SymbolicTensor[] = [];
  outputs: SymbolicTensor[] = [];
  protected graph: Graph = { nodes: [], layers: [] };
  /** whether inputs/outputs were given as arrays (apply/predict return the same form) */
  protected multiInput = false;
  protected multiOutput = false;

  constructor(args: LayerArgs & Partial<FunctionalArgs> = {}) {
    super(args);
    this.autocastInputs = false;
    if (args.inputs && args.outputs) this.initGraph(args.inputs, args.outputs);
  }

  protected initGraph(
    inputs: SymbolicTensor | SymbolicTensor[],
    outputs: SymbolicTensor | SymbolicTensor[],
  ): void {
    this.inputs = toList(inputs);
    this.outputs = toList(outputs);
    this.multiInput = Array.isArray(inputs);
    this.multiOutput = Array.isArray(outputs);
    this.graph = traceGraph(this.inputs, this.outputs, `model '${this.name}'`);
    this.built = true;
  }

  /** The model's layers in graph order, input layers included (Keras' model.layers). */
  get layers(): Layer[] {
    return this.graph.layers;
  }

  override get allWeights(): LayerWeight[] {
    const seen = new Set<unknown>();
    const out: LayerWeight[] = [];
    for (const l of this.layers) {
      for (const w of l.allWeights) {
        if (seen.has(w.variable)) continue;
        seen.add(w.variable);
        out.push(w);
      }
    }
    return out;
  }

  override get trainableWeights() {
    if (!this.trainable) return [];
    const seen = new Set<unknown>();
    return this.layers
      .flatMap((l) => l.trainableWeights)
      .filter((v) => {
        if (seen.has(v)) return false;
        seen.add(v);
        return true;
      });
  }

  override get trainable(): boolean {
    return super.trainable;
  }

  /** Freezing a model freezes every layer in it (Keras). */
  override set trainable(value: boolean) {
    super.trainable = value;
    for (const l of this.layers) l.trainable = value;
  }

  getLayer(nameOrIndex: string | number): Layer {
    if (typeof nameOrIndex === 'number') {
      const l = this.layers[nameOrIndex];
      if (!l)
        throw new Error(
          `getLayer: index ${nameOrIndex} is out of range; the model has ${this.layers.length} layers`,
        );
      return l;
    }
    const l = this.layers.find((x) => x.name === nameOrIndex);
    if (!l) throw new Error(`getLayer: no layer named '${nameOrIndex}' in model '${this.name}'`);
    return l;
  }

  get inputShapes(): Shape[] {
    return this.inputs.map((t) => t.shape);
  }

  override computeOutputShape(): Shape | Shape[] {
    const shapes = this.outputs.map((t) => t.shape);
    return shapes.length === 1 ? shapes[0] : shapes;
  }

  /** Checks concrete inputs against the model's input shapes, naming the input and both shapes. */
  checkInputs(list: Tensor[], where: string): void {
    if (list.length !== this.inputs.length) {
      throw new Error(
        `${where}: model '${this.name}' expects ${this.inputs.length} input(s), got ${list.length}`,
      );
    }
    list.forEach((t, i) => {
      const want = this.inputs[i].shape;
      const ok = t.rank === want.length && want.every((d, k) => d === null || d === t.shape[k]);
      if (!ok) {
        const pretty = `[${want.map((d) => d ?? 'null')}]`;
        throw new Error(
          `${where}: input '${this.inputs[i].sourceLayer.name}' of model '${this.name}' expects shape ${pretty}, got [${t.shape}]`,
        );
      }
    });
  }

  call(inputs: LayerInput, kwargs: CallArgs): LayerOutput {
    const list = toList(inputs);
    this.checkInputs(list, `${this.className} '${this.name}'`);
    const values = new Map<number, Tensor>();
    this.inputs.forEach((s, i) => {
      const t = list[i];
      // an input layer's declared float dtype is what the graph expects
      values.set(
        s.id,
        isFloatDType(t.dtype) && isFloatDType(s.dtype) && t.dtype !== s.dtype ? cast(t, s.dtype) : t,
      );
    });
    for (const node of this.graph.nodes) {
      if (node.layer instanceof InputLayer) continue;
      const ins = node.inputs.map((s) => values.get(s.id)!);
      const outs = toList(
        node.layer.apply(node.many ? ins : ins[0], { ...node.kwargs, ...kwargs }) as LayerOutput,
      );
      node.outputs.forEach((s, i) => {
        values.set(s.id, outs[i]);
      });
    }
    const outs = this.outputs.map((s) => values.get(s.id)!);
    return this.multiOutput ? outs : outs[0];
  }

  /** Whether a node belongs to this model's graph (a layer may be used in several models). */
  ownsNode(node: Node): boolean {
    return this.graph.nodes.includes(node);
  }

  /** Keras' test: a chain where every node has at most one input and each depth one node. */
  isSequentialLike(): boolean {
    const counts = new Map<Layer, number>();
    for (const n of this.graph.nodes) {
      if (n.inputs.length > 1) return false;
      counts.set(n.layer, (counts.get(n.layer) ?? 0) + 1);
    }
    const consumers = new Map<number, number>();
    for (const n of this.graph.nodes)
      for (const t of n.inputs) consumers.set(t.id, (consumers.get(t.id) ?? 0) + 1);
    return [...consumers.values()].every((c) => c <= 1) && [...counts.values()].every((c) => c === 1);
  }

  /** The rows of summary(): every layer of the graph. */
  summaryLayers(): Layer[] {
    return this.layers;
  }

  override getConfig(): Record<string, unknown> {
    return { name: this.name, trainable: this.trainable };
  }

  override dispose(): void {
    for (const l of this.layers) l.dispose();
    super.dispose();
  }
}
