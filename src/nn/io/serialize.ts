// A model's architecture as Keras/tfjs JSON (the `modelTopology` of model.json): Sequential as
// `{ name, layers: [{ class_name, config }] }`, functional models as `{ name, layers: [{ name,
// class_name, config, inbound_nodes }], input_layers, output_layers }`; nested models recurse.
import type { Layer } from '../layer.js';
import { InputLayer } from '../layers/input.js';
import { Functional } from '../models/functional.js';
import type { Node } from '../symbolic.js';
import { type Json, type JsonObject, layerConfigToJson } from './config.js';

export const KEEL_VERSION = '0.1.0';

/**
 * Node indices in a saved config count only the nodes that belong to the model, and for a nested
 * model start at 1: loading recreates the nested model (its own node 0 in Keras and tfjs) first.
 */
function nodeIndexMap(model: Functional): Map<Node, number> {
  const map = new Map<Node, number>();
  for (const layer of model.layers) {
    let k = layer instanceof Functional ? 1 : 0;
    for (const node of layer.inboundNodes) if (model.ownsNode(node)) map.set(node, k++);
  }
  return map;
}

function serializableKwargs(kwargs: Record<string, unknown>): Json {
  try {
    const s = JSON.stringify(kwargs ?? {});
    return s === undefined ? {} : (JSON.parse(s) as Json);
  } catch {
    return {};
  }
}

function functionalConfig(model: Functional): JsonObject {
  const index = nodeIndexMap(model);
  const ref = (t: { node: Node; index: number; sourceLayer: Layer }) => [
    t.sourceLayer.name,
    index.get(t.node) ?? 0,
    t.index,
  ];
  const layers = model.layers.map((layer) => {
    const inbound = layer.inboundNodes
      .filter((n) => model.ownsNode(n) && n.inputs.length > 0)
      .map((n) => n.inputs.map((t) => [...ref(t), serializableKwargs(n.kwargs)] as Json));
    return {
      name: layer.name,
      class_name: layer.className,
      config: layerToJson(layer),
      inbound_nodes: inbound,
    };
  });
  const config: JsonObject = {
    name: model.name,
    layers,
    input_layers: model.inputs.map(ref) as Json,
    output_layers: model.outputs.map(ref) as Json,
  };
  if (!model.trainable) config.trainable = false;
  return config;
}

/** Keras 2's Sequential config: an InputLayer entry first (tfjs accepts it), then the stack. */
function sequentialConfig(model: Functional): JsonObject {
  const layers: Json[] = [];
  if (model.inputs.length === 1) {
    const input = model.inputs[0].sourceLayer;
    layers.push({ class_name: 'InputLayer', config: layerToJson(input) });
  }
  for (const l of model.layers)
    if (!(l instanceof InputLayer)) layers.push({ class_name: l.className, config: layerToJson(l) });
  const config: JsonObject = { name: model.name, layers };
  if (!model.trainable) config.trainable = false;
  return config;
}

/** The JSON config of any layer or model. */
export function layerToJson(layer: Layer): JsonObject {
  if (layer instanceof Functional)
    return layer.className === 'Sequential' ? sequentialConfig(layer) : functionalConfig(layer);
  return layerConfigToJson(layer);
}

/** The `modelTopology` object of model.json. */
export function modelTopology(model: Functional): JsonObject {
  if (model.inputs.length === 0) {
    throw new Error(
      `save: model '${model.name}' has no inputs yet; give its first layer an inputShape or call it once before saving`,
    );
  }
  return {
    class_name: model.className,
    config: layerToJson(model),
    keras_version: `keel ${KEEL_VERSION}`,
    backend: 'tensor_flow.js',
  };
}
