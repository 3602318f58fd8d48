// Symbolic tensors and nodes: the graph that functional models are built from. `input()` makes a
// symbolic tensor; `layer.apply(symbolic)` records a Node and returns the layer's symbolic outputs.
import type { DType } from '../dtype.js';
import type { Layer } from './layer.js';

/** A shape whose first (batch) dimension, or others, may be unknown. */
export type Shape = (number | null)[];

let nextId = 0;

export class SymbolicTensor {
  readonly id = nextId++;
  constructor(
    readonly shape: Shape,
    readonly dtype: DType,
    /** the node that produced this tensor */
    readonly node: Node,
    /** which of the node's outputs this is */
    readonly index: number,
    readonly name: string,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  get sourceLayer(): Layer {
    return this.node.layer;
  }

  toString(): string {
    return `SymbolicTensor(${this.name}, [${this.shape.map((d) => d ?? 'null')}], ${this.dtype})`;
  }
}

/** One application of a layer to symbolic inputs. */
export class Node {
  outputs: SymbolicTensor[] = [];
  constructor(
    readonly layer: Layer,
    readonly inputs: SymbolicTensor[],
    readonly kwargs: Record<string, unknown>,
    /** whether the layer was given a list (merge layers) rather than one tensor */
    readonly many = false,
  ) {}
}

export function isSymbolic(x: unknown): x is SymbolicTensor | SymbolicTensor[] {
  return (
    x instanceof SymbolicTensor ||
    (Array.isArray(x) && x.length > 0 && x.every((t) => t instanceof SymbolicTensor))
  );
}

export function shapeString(s: Shape | Shape[]): string {
  const one = (x: Shape) =>
    `(${x.map((d) => (d === null ? 'None' : d)).join(', ')}${x.length === 1 ? ',' : ''})`;
  return Array.isArray(s[0]) ? `[${(s as Shape[]).map(one).join(', ')}]` : one(s as Shape);
}
