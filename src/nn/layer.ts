// The Layer base class (tfjs-layers' Layer, Keras semantics for dtype policies): weights, build on
// first use, apply to concrete tensors (eager) or to symbolic tensors (building a functional graph).
import type { DType } from '../dtype.js';
import { isFloatDType } from '../dtype.js';
import { type Policy, toPolicy } from '../mixed/policy.js';
import { ENGINE } from '../tensor/engine.js';
import { cast } from '../tensor/ops/elementwise.js';
import { Tensor, type Variable } from '../tensor/tensor.js';
import { getInitializer, type Initializer, type InitializerIdentifier } from './initializers.js';
import type { Regularizer } from './regularizers.js';
import { isSymbolic, Node, type Shape, SymbolicTensor } from './symbolic.js';

export interface LayerArgs {
  name?: string;
  trainable?: boolean;
  /** a dtype name, a policy name ('mixed_float16') or a Policy */
  dtype?: DType | string | Policy;
  /** the input shape without the batch dimension (first layer of a sequential model) */
  inputShape?: Shape;
  batchInputShape?: Shape;
  batchSize?: number;
}

export interface CallArgs {
  training?: boolean;
  [key: string]: unknown;
}

/** One weight of a layer: the variable and how the layer uses it. */
export interface LayerWeight {
  /** Keras-style name, `${layerName}/${weightName}`, used by save/load */
  originalName: string;
  variable: Variable;
  trainable: boolean;
  regularizer: Regularizer | null;
  /** read in the compute dtype inside call (Keras' AutoCastVariable) */
  autocast: boolean;
}

const nameCounts = new Map<string, number>();

/** Keras-style unique layer names: dense, dense_1, dense_2, ... */
export function uniqueLayerName(prefix: string): string {
  const n = nameCounts.get(prefix) ?? 0;
  nameCounts.set(prefix, n + 1);
  return n === 0 ? prefix : `${prefix}_${n}`;
}

function snake(className: string): string {
  // Keras' to_snake_case: Conv2D -> conv2d, BatchNormalization -> batch_normalization
  return className
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

export type LayerInput = Tensor | Tensor[];
export type LayerOutput = Tensor | Tensor[];

export function toList<T>(x: T | T[]): T[] {
  return Array.isArray(x) ? x : [x];
}

export abstract class Layer {
  static className = 'Layer';
  readonly name: string;
  readonly dtypePolicy: Policy;
  built = false;
  batchInputShape?: Shape;
  /** nodes where this layer was applied to symbolic inputs */
  readonly inboundNodes: Node[] = [];
  /** whether apply() casts floating inputs to the compute dtype (models leave it to their layers) */
  protected autocastInputs = true;
  protected ownWeights: LayerWeight[] = [];
  private trainableFlag: boolean;

  constructor(args: LayerArgs = {}) {
    this.name = args.name ?? uniqueLayerName(snake(this.className));
    this.trainableFlag = args.trainable ?? true;
    this.dtypePolicy = toPolicy(args.dtype, `${this.className} '${this.name}'`);
    if (args.batchInputShape) this.batchInputShape = [...args.batchInputShape];
    else if (args.inputShape) this.batchInputShape = [args.batchSize ?? null, ...args.inputShape];
  }

  get className(): string {
    return (this.constructor as typeof Layer).className;
  }

  get computeDtype(): DType {
    return this.dtypePolicy.computeDtype;
  }

  get variableDtype(): DType {
    return this.dtypePolicy.variableDtype;
  }

  /** Keras: a layer's dtype is its variable dtype. */
  get dtype(): DType {
    return this.variableDtype;
  }

  get trainable(): boolean {
    return this.trainableFlag;
  }

  set trainable(value: boolean) {
    this.trainableFlag = value;
    for (const w of this.ownWeights) w.variable.trainable = value && w.trainable;
  }

  /** This layer's own weights followed by those of any sub-layers (models override). */
  get allWeights(): LayerWeight[] {
    return this.ownWeights;
  }

  get trainableWeights(): Variable[] {
    return this.trainable
      ? this.allWeights.filter((w) => w.trainable && w.variable.trainable).map((w) => w.variable)
      : [];
  }

  get nonTrainableWeights(): Variable[] {
    const t = new Set(this.trainableWeights);
    return this.allWeights.map((w) => w.variable).filter((v) => !t.has(v));
  }

  /** Trainable weights first, then non-trainable (Keras' order, used by getWeights and files). */
  get weights(): Variable[] {
    return [...this.trainableWeights, ...this.nonTrainableWeights];
  }

  countParams(): number {
    return this.weights.reduce((n, v) => n + v.size, 0);
  }

  /** Creates a weight; call from build(). */
  protected addWeight(
    name: string,
    shape: number[],
    initializer: Initializer | InitializerIdentifier,
    opts: { dtype?: DType; trainable?: boolean; regularizer?: Regularizer | null; autocast?: boolean } = {},
  ): Variable {
    const dtype = opts.dtype ?? this.variableDtype;
    const trainable = opts.trainable ?? true;
    const init = getInitializer(initializer, `${this.className} '${this.name}' weight '${name}'`);
    const originalName = `${this.name}/${name}`;
    const value = ENGINE.noGrad(() => init.apply(shape, dtype));
    const variable = ENGINE.makeVariable(
      value,
      ENGINE.uniqueVariableName(originalName),
      trainable && this.trainable,
      dtype,
    );
    value.dispose();
    this.ownWeights.push({
      originalName,
      variable,
      trainable,
      regularizer: opts.regularizer ?? null,
      autocast: opts.autocast ?? true,
    });
    return variable;
  }

  /** A weight as `call` should use it: cast to the compute dtype (the gradient flows to the variable). */
  protected read(v: Variable): Tensor {
    const w = this.ownWeights.find((x) => x.variable === v);
    if (w && !w.autocast) return v;
    return isFloatDType(v.dtype) && v.dtype !== this.computeDtype ? cast(v, this.computeDtype) : v;
  }

  /** Creates the weights for inputs of this shape (batch dimension included, maybe null). */
  build(_inputShape: Shape | Shape[]): void {}

  /** The output shape for an input shape; the default keeps the shape. */
  computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  /** The dtype of the outputs for these input dtypes: floats come out in the compute dtype. */
  computeOutputDtype(inputDtypes: DType[]): DType {
    return isFloatDType(inputDtypes[0]) ? this.computeDtype : inputDtypes[0];
  }

  /** The forward computation on concrete tensors. */
  abstract call(inputs: LayerInput, kwargs: CallArgs): LayerOutput;

  apply(inputs: SymbolicTensor | SymbolicTensor[], kwargs?: CallArgs): SymbolicTensor | SymbolicTensor[];
  apply(inputs: Tensor | Tensor[], kwargs?: CallArgs): Tensor | Tensor[];
  apply(
    inputs: LayerInput | SymbolicTensor | SymbolicTensor[],
    kwargs: CallArgs = {},
  ): LayerOutput | SymbolicTensor | SymbolicTensor[] {
    if (isSymbolic(inputs)) return this.applySymbolic(inputs, kwargs);
    const list = toList(inputs as LayerInput);
    for (const [i, t] of list.entries()) {
      if (!(t instanceof Tensor))
        throw new Error(
          `${this.className} '${this.name}': input ${i} is not a Tensor or SymbolicTensor (got ${typeof t})`,
        );
    }
    this.ensureBuilt(
      list.map((t) => t.shape as Shape),
      Array.isArray(inputs),
    );
    const cast16 = this.autocastInputs
      ? list.map((t) =>
          isFloatDType(t.dtype) && t.dtype !== this.computeDtype ? cast(t, this.computeDtype) : t,
        )
      : list;
    return this.call(Array.isArray(inputs) ? cast16 : cast16[0], kwargs);
  }

  private ensureBuilt(shapes: Shape[], many: boolean): void {
    if (this.built) return;
    this.build(many ? shapes : shapes[0]);
    this.built = true;
  }

  private applySymbolic(
    inputs: SymbolicTensor | SymbolicTensor[],
    kwargs: CallArgs,
  ): SymbolicTensor | SymbolicTensor[] {
    const list = toList(inputs);
    const many = Array.isArray(inputs);
    const shapes = list.map((t) => t.shape);
    this.ensureBuilt(shapes, many);
    const out = this.computeOutputShape(many ? shapes : shapes[0]);
    const outShapes = Array.isArray(out[0]) ? (out as Shape[]) : [out as Shape];
    const dtype = this.computeOutputDtype(list.map((t) => t.dtype));
    const node = new Node(this, list, kwargs, many);
    node.outputs = outShapes.map(
      (s, i) => new SymbolicTensor(s, dtype, node, i, `${this.name}/out${outShapes.length > 1 ? i : ''}`),
    );
    this.inboundNodes.push(node);
    return node.outputs.length === 1 ? node.outputs[0] : node.outputs;
  }

  /** Regularization penalties of this layer's weights (float32 scalars). */
  regularizationLosses(): Tensor[] {
    return this.allWeights
      .filter((w) => w.regularizer && w.variable.trainable)
      .map((w) => w.regularizer!.apply(w.variable));
  }

  /** Copies of the weight values, in `weights` order. */
  getWeights(): Tensor[] {
    return this.weights.map((v) => v.clone());
  }

  /** Sets the weight values, in `weights` order; shapes must match exactly. */
  setWeights(values: Tensor[]): void {
    const ws = this.weights;
    if (values.length !== ws.length) {
      throw new Error(
        `${this.className} '${this.name}'.setWeights: expected ${ws.length} weights, got ${values.length}`,
      );
    }
    ws.forEach((v, i) => {
      const t = values[i];
      if (t.shape.join() !== v.shape.join()) {
        throw new Error(
          `${this.className} '${this.name}'.setWeights: weight ${this.originalNameOf(v)} has shape [${v.shape}], the value has [${t.shape}]`,
        );
      }
      v.assign(t.dtype === v.dtype ? t : ENGINE.noGrad(() => cast(t, v.dtype)));
    });
  }

  /** The Keras-style name of one of this layer's weights. */
  originalNameOf(v: Variable): string {
    return this.allWeights.find((w) => w.variable === v)?.originalName ?? v.name;
  }

  getConfig(): Record<string, unknown> {
    const c: Record<string, unknown> = {
      name: this.name,
      trainable: this.trainable,
      dtype: this.dtypePolicy.name,
    };
    if (this.batchInputShape) c.batch_input_shape = this.batchInputShape;
    return c;
  }

  /** Disposes the weights. */
  dispose(): void {
    for (const w of this.ownWeights) w.variable.dispose();
    this.ownWeights = [];
    this.built = false;
  }
}
