// Sequential models (tfjs' tf.sequential): a stack of single-input layers. The graph is built as
// soon as the input shape is known (from the first layer's inputShape, or the first call).

import type { Tensor } from '../../tensor/tensor.js';
import { type CallArgs, Layer, type LayerArgs } from '../layer.js';
import { InputLayer, input } from '../layers/input.js';
import type { Shape, SymbolicTensor } from '../symbolic.js';
import { LayersModel } from './model.js';

export class Sequential extends LayersModel {
  static override className = 'Sequential';
  private stack: Layer[] = [];

  constructor(args: LayerArgs & { layers?: Layer[] } = {}) {
    super({ name: args.name, trainable: args.trainable, dtype: args.dtype });
    this.built = false;
    for (const l of args.layers ?? []) this.add(l);
  }

  /** Appends a layer; with a known input shape the graph grows at once. */
  add(layer: Layer): void {
    if (!(layer instanceof Layer))
      throw new Error(`Sequential '${this.name}'.add: expected a Layer, got ${String(layer)}`);
    if (this.stack.includes(layer))
      throw new Error(`Sequential '${this.name}'.add: layer '${layer.name}' is already in the model`);
    if (layer instanceof InputLayer) {
      if (this.stack.length > 0)
        throw new Error(`Sequential '${this.name}'.add: an InputLayer must come first`);
      this.stack.push(layer);
      this.rebuild(layer.batchInputShape!);
      return;
    }
    this.stack.push(layer);
    if (this.built) {
      const out = layer.apply(this.outputs[0]) as SymbolicTensor;
      if (Array.isArray(out))
        throw new Error(
          `Sequential '${this.name}'.add: layer '${layer.name}' has several outputs; use a functional model`,
        );
      this.initGraph(this.inputs[0], out);
    } else if (this.stack.length === 1 && layer.batchInputShape) {
      this.rebuild(layer.batchInputShape);
    }
  }

  /** Removes the last layer. */
  pop(): void {
    if (this.stack.length === 0) throw new Error(`Sequential '${this.name}'.pop: the model has no layers`);
    this.stack.pop();
    if (this.built) this.rebuild(this.inputs[0].shape);
  }

  private rebuild(batchShape: Shape): void {
    const first = this.stack[0] instanceof InputLayer ? (this.stack[0] as InputLayer) : null;
    const x = first ? first.output : input({ batchShape, name: `${this.name}_input` });
    let y = x;
    for (const l of this.stack) {
      if (l === first) continue;
      const out = l.apply(y);
      if (Array.isArray(out))
        throw new Error(
          `Sequential '${this.name}': layer '${l.name}' has several outputs; use a functional model`,
        );
      y = out;
    }
    this.initGraph(x, y);
  }

  /** Keras: a Sequential model's layers exclude the input layer. */
  override get layers(): Layer[] {
    return this.stack.filter((l) => !(l instanceof InputLayer));
  }

  override summaryLayers(): Layer[] {
    return this.layers;
  }

  override isSequentialLike(): boolean {
    return true;
  }

  override call(inputs: Tensor | Tensor[], kwargs: CallArgs): Tensor | Tensor[] {
    if (!this.built) {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (this.stack.length === 0) throw new Error(`Sequential '${this.name}': the model has no layers`);
      this.rebuild([null, ...x.shape.slice(1)]);
    }
    return super.call(inputs, kwargs);
  }

  override checkInputs(list: Tensor[], where: string): void {
    if (!this.built && list.length === 1) this.rebuild([null, ...list[0].shape.slice(1)]);
    super.checkInputs(list, where);
  }
}

export function sequential(args: LayerArgs & { layers?: Layer[] } = {}): Sequential {
  return new Sequential(args);
}
