// InputLayer and input(): the entry points of a functional model's graph.
import type { DType } from '../../dtype.js';
import { isDType } from '../../dtype.js';
import { Layer, type LayerArgs } from '../layer.js';
import { Node, type Shape, SymbolicTensor } from '../symbolic.js';

export interface InputArgs {
  /** shape without the batch dimension */
  shape?: Shape;
  batchShape?: Shape;
  batchSize?: number;
  dtype?: DType;
  name?: string;
}

function checkShape(shape: Shape, where: string): Shape {
  if (!Array.isArray(shape) || !shape.every((d) => d === null || (Number.isInteger(d) && d > 0))) {
    throw new Error(
      `${where}: shape must be an array of positive integers or null, got ${JSON.stringify(shape)}`,
    );
  }
  return [...shape];
}

export class InputLayer extends Layer {
  static override className = 'InputLayer';
  readonly inputDtype: DType;
  readonly output: SymbolicTensor;

  constructor(args: InputArgs & Pick<LayerArgs, 'name'>) {
    super({ name: args.name });
    if (args.shape && args.batchShape) throw new Error(`input: give 'shape' or 'batchShape', not both`);
    if (!args.shape && !args.batchShape)
      throw new Error(`input: 'shape' (without the batch dimension) is required`);
    const dtype = args.dtype ?? 'float32';
    if (!isDType(dtype)) throw new Error(`input: unknown dtype '${String(dtype)}'`);
    this.inputDtype = dtype;
    this.batchInputShape = args.batchShape
      ? checkShape(args.batchShape, 'input')
      : [args.batchSize ?? null, ...checkShape(args.shape as Shape, 'input')];
    this.built = true;
    const node = new Node(this, [], {});
    this.output = new SymbolicTensor(this.batchInputShape, dtype, node, 0, this.name);
    node.outputs = [this.output];
    this.inboundNodes.push(node);
  }

  call(): never {
    throw new Error(`InputLayer '${this.name}' cannot be called on tensors`);
  }

  override getConfig() {
    return {
      batch_input_shape: this.batchInputShape,
      dtype: this.inputDtype,
      sparse: false,
      name: this.name,
    };
  }
}

/** A symbolic input for a functional model (tfjs' tf.input). */
export function input(args: InputArgs): SymbolicTensor {
  return new InputLayer(args).output;
}
