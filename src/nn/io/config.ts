// One layer's config between Keel and the Keras/tfjs JSON format: getConfig() with policies and
// activations spelled as Keras writes them, and back: class_name -> LAYER_CLASSES, snake_case keys ->
// the constructor's camelCase arguments, nested initializer/regularizer/policy objects -> values.
import { getInitializer, type Initializer } from '../initializers.js';
import type { Layer } from '../layer.js';
import { LAYER_CLASSES } from '../layers/index.js';
import { InputLayer } from '../layers/input.js';
import { Regularizer } from '../regularizers.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(x: unknown): x is JsonObject {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Keras spells mixed policies as objects, plain dtypes as strings (tfjs ignores both on inner layers). */
function policyToJson(name: string): Json {
  return name.startsWith('mixed_') ? { class_name: 'Policy', config: { name } } : name;
}

/** A (non-model) layer's config as Keras/tfjs JSON. */
export function layerConfigToJson(layer: Layer): JsonObject {
  const c = JSON.parse(JSON.stringify(layer.getConfig())) as JsonObject;
  if (layer instanceof InputLayer) return c;
  if (typeof c.dtype === 'string') c.dtype = policyToJson(c.dtype);
  if (c.activation === 'logSoftmax') c.activation = 'log_softmax';
  return c;
}

const camel = (s: string) => s.replace(/_+([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
const RENAMED: Record<string, string> = { keepdims: 'keepDims' };
const ENUM_VALUES: Record<string, string> = {
  channels_last: 'channelsLast',
  channels_first: 'channelsFirst',
  fan_in: 'fanIn',
  fan_out: 'fanOut',
  fan_avg: 'fanAvg',
  // Keras' and tfjs' 'normal' variance scaling is truncated; 'untruncated_normal' is the plain one
  normal: 'truncatedNormal',
  truncated_normal: 'truncatedNormal',
  untruncated_normal: 'normal',
};

/** A policy from a config: 'float32', 'mixed_float16', or Keras' { class_name: 'Policy', config: { name } }. */
function policyFromJson(v: Json, where: string): string {
  if (typeof v === 'string') return v;
  if (isObject(v) && isObject(v.config) && typeof v.config.name === 'string') return v.config.name;
  throw new Error(`${where}: cannot read dtype ${JSON.stringify(v)}; expected a dtype or policy name`);
}

/** An initializer from Keras/tfjs JSON; ones Keel lacks fall back to the layer's default (loaded weights replace them). */
function initializerFromJson(v: Json, where: string): Initializer | undefined {
  const name =
    typeof v === 'string' ? v : isObject(v) && typeof v.class_name === 'string' ? v.class_name : null;
  if (name === null) throw new Error(`${where}: cannot read initializer ${JSON.stringify(v)}`);
  const args: Record<string, unknown> = {};
  if (isObject(v) && isObject(v.config)) {
    for (const [k, x] of Object.entries(v.config)) {
      if (x !== null) args[camel(k)] = typeof x === 'string' ? (ENUM_VALUES[x] ?? x) : x;
    }
  }
  try {
    return getInitializer(name, where, args);
  } catch {
    return undefined;
  }
}

/** 'l2', or { class_name: 'L1L2' | 'L1' | 'L2', config: { l1, l2 } } (missing values take Keras' defaults). */
function regularizerFromJson(v: Json, where: string): Regularizer {
  const cls =
    typeof v === 'string'
      ? v.toUpperCase()
      : isObject(v) && typeof v.class_name === 'string'
        ? v.class_name
        : '';
  const c = isObject(v) && isObject(v.config) ? v.config : {};
  const num = (x: Json | undefined, dflt: number) => (typeof x === 'number' ? x : dflt);
  if (cls === 'L1') return new Regularizer(num(c.l1, 0.01), 0);
  if (cls === 'L2') return new Regularizer(0, num(c.l2, 0.01));
  if (cls === 'L1L2')
    return new Regularizer(
      num(c.l1, typeof v === 'string' ? 0.01 : 0),
      num(c.l2, typeof v === 'string' ? 0.01 : 0),
    );
  throw new Error(`${where}: unsupported regularizer ${JSON.stringify(v)}; Keel has L1L2, L1 and L2`);
}

/** Keras/tfjs layer config -> the constructor's arguments. */
export function configToArgs(config: JsonObject, where: string): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(config)) {
    if (v === null) continue;
    if (key.endsWith('_constraint') || key === 'activity_regularizer') continue; // training-only extras Keel lacks
    const name = RENAMED[key] ?? camel(key);
    if (key.endsWith('_initializer')) {
      const init = initializerFromJson(v, `${where} ${key}`);
      if (init) args[name] = init;
    } else if (key.endsWith('_regularizer')) args[name] = regularizerFromJson(v, `${where} ${key}`);
    else if (key === 'dtype') args.dtype = policyFromJson(v, where);
    else if (key === 'data_format' && typeof v === 'string') args.dataFormat = ENUM_VALUES[v] ?? v;
    else if (key === 'axis' && Array.isArray(v) && v.length === 1) args.axis = v[0];
    else args[name] = v;
  }
  if (
    (typeof config.negative_slope === 'number' && config.negative_slope !== 0) ||
    (typeof config.threshold === 'number' && config.threshold !== 0)
  ) {
    throw new Error(`${where}: ReLU with negative_slope or threshold is not supported`);
  }
  return args;
}

type LayerClass = new (args: never) => Layer;
const CLASSES = LAYER_CLASSES as unknown as Record<string, LayerClass>;

/** Builds a layer (not a model) from its Keras/tfjs class name and config. */
export function layerFromJson(className: string, config: Json, where: string): Layer {
  const cls = Object.hasOwn(CLASSES, className) ? CLASSES[className] : undefined;
  if (!cls) {
    throw new Error(
      `${where}: unknown layer class '${className}'; Keel can load ${[...Object.keys(CLASSES), 'Sequential', 'Functional', 'Model'].join(', ')}`,
    );
  }
  if (!isObject(config))
    throw new Error(
      `${where}: the config of a ${className} layer must be an object, got ${JSON.stringify(config)}`,
    );
  if (cls === (InputLayer as unknown)) {
    const batchShape = config.batch_input_shape ?? config.batch_shape;
    if (!Array.isArray(batchShape))
      throw new Error(`${where}: InputLayer '${String(config.name)}' has no batch_input_shape`);
    if (config.sparse === true || config.ragged === true)
      throw new Error(`${where}: sparse and ragged inputs are not supported`);
    const dtype = config.dtype ?? 'float32';
    return new InputLayer({
      batchShape: batchShape as (number | null)[],
      dtype: policyFromJson(dtype, where) as never,
      name: config.name as string | undefined,
    });
  }
  return new cls(configToArgs(config, `${where} ${className} '${String(config.name ?? '?')}'`) as never);
}
