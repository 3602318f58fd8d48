// Weights by Keras-style name ('dense/kernel'): listing a model's weights for a file, converting
// stored values to a variable's dtype, and assigning a whole set only after every check passed.
import { type DType, fromNumbers, type Storage, toFloat32 } from '../../dtype.js';
import { ENGINE } from '../../tensor/engine.js';
import type { Variable } from '../../tensor/tensor.js';
import type { Layer } from '../layer.js';

export interface NamedWeight {
  /** Keras-style name, `${layerName}/${weightName}` */
  name: string;
  variable: Variable;
}

/** The layer part of a weight name ('block1/conv/kernel' -> 'block1/conv'). */
export function layerOf(name: string): string {
  const i = name.lastIndexOf('/');
  return i < 0 ? name : name.slice(0, i);
}

export const fmtShape = (s: readonly (number | null)[]) => `[${s.map((d) => d ?? 'null').join(', ')}]`;

/** A model's weights in Keras order (trainable, then non-trainable), named; names must be unique. */
export function namedWeights(model: Layer, where: string): NamedWeight[] {
  const names = new Map(model.allWeights.map((w) => [w.variable, w.originalName]));
  const seen = new Set<string>();
  return model.weights.map((variable) => {
    const name = names.get(variable) ?? variable.name;
    if (seen.has(name)) {
      throw new Error(
        `${where}: two weights are named '${name}'; layer names must be unique across the model and its nested models`,
      );
    }
    seen.add(name);
    return { name, variable };
  });
}

/** A variable's values in its own storage format (16-bit floats as bit patterns). */
export function readStorage(v: Variable): Storage {
  return ENGINE.readSync(v);
}

/** A value waiting to be assigned: storage in `dtype`, already checked against the variable's shape. */
export interface PendingValue {
  variable: Variable;
  values: Storage | Float64Array;
  dtype: DType | 'float64';
}

/** Checks a stored shape against a variable's, naming the layer, the weight, both shapes and the source. */
export function checkShape(
  name: string,
  variable: Variable,
  shape: readonly number[],
  source: string,
  where: string,
): void {
  if (shape.length !== variable.shape.length || shape.some((d, i) => d !== variable.shape[i])) {
    throw new Error(
      `${where}: layer '${layerOf(name)}' weight '${name}' has shape ${fmtShape(variable.shape)} in the model but ${fmtShape(shape)} in ${source}`,
    );
  }
}

/** Converts values to a variable's dtype (float16/bfloat16 round to nearest even; float->int truncates). */
function toVariableStorage(values: Storage | Float64Array, from: DType | 'float64', to: DType): Storage {
  if (from === to) return values as Storage;
  const f32 = from === 'float64' ? Float32Array.from(values) : toFloat32(from, values as Storage);
  return fromNumbers(to, f32);
}

/** Assigns every pending value; callers check all shapes first so that a bad file changes nothing. */
export function assignAll(pending: PendingValue[]): void {
  for (const p of pending) {
    const storage = toVariableStorage(p.values, p.dtype, p.variable.dtype);
    const t = ENGINE.makeTensor(storage, p.variable.shape.slice(), p.variable.dtype);
    p.variable.assign(t);
    t.dispose();
  }
}
