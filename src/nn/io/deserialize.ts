// Rebuilds a Keel model from Keras/tfjs JSON (model.json's `modelTopology`): layers from their
// configs, then the graph by replaying each inbound node once its inputs exist (as tfjs'
// Container.fromConfig does). Sequential, Functional/Model and nested models are supported.
import type { Layer } from '../layer.js';
import { Functional } from '../models/functional.js';
import { LayersModel } from '../models/model.js';
import { Sequential } from '../models/sequential.js';
import type { SymbolicTensor } from '../symbolic.js';
import { isObject, type Json, type JsonObject, layerFromJson } from './config.js';

const MODEL_CLASSES = ['Sequential', 'Functional', 'Model'];

/** A layer or a (nested) model from `{ class_name, config }`. */
export function deserializeLayer(entry: Json, where: string): Layer {
  if (!isObject(entry) || typeof entry.class_name !== 'string') {
    throw new Error(`${where}: expected { class_name, config }, got ${JSON.stringify(entry)?.slice(0, 200)}`);
  }
  const cls = entry.class_name;
  if (cls === 'Sequential') return sequentialFromConfig(entry.config, where);
  if (cls === 'Functional' || cls === 'Model') return functionalFromConfig(entry.config, where);
  return layerFromJson(cls, entry.config ?? {}, where);
}

function sequentialFromConfig(config: Json | undefined, where: string): Sequential {
  // legacy Keras: the config is the list of layers itself
  const layerList = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(layerList)) throw new Error(`${where}: a Sequential config needs a 'layers' list`);
  const name = isObject(config) && typeof config.name === 'string' ? config.name : undefined;
  const model = new Sequential({ name });
  const here = `${where} > Sequential '${model.name}'`;
  let layer: Layer | null = null;
  try {
    layerList.forEach((entry, i) => {
      layer = deserializeLayer(entry, `${here} layer ${i}`);
      model.add(layer);
      layer = null;
    });
  } catch (e) {
    (layer as Layer | null)?.dispose();
    model.dispose();
    throw e;
  }
  if (isObject(config) && config.trainable === false) model.trainable = false;
  return model;
}

type TensorRef = [string, number, number, JsonObject?];

function asRef(x: Json, where: string): TensorRef {
  if (
    !Array.isArray(x) ||
    x.length < 3 ||
    typeof x[0] !== 'string' ||
    typeof x[1] !== 'number' ||
    typeof x[2] !== 'number'
  ) {
    throw new Error(
      `${where}: expected [layerName, nodeIndex, tensorIndex, kwargs?], got ${JSON.stringify(x)?.slice(0, 200)}`,
    );
  }
  return [x[0], x[1], x[2], isObject(x[3]) ? x[3] : undefined];
}

function functionalFromConfig(config: Json | undefined, where: string): LayersModel {
  const created = new Map<string, Layer>();
  try {
    return buildFunctional(config, where, created);
  } catch (e) {
    for (const l of created.values()) l.dispose();
    throw e;
  }
}

function buildFunctional(config: Json | undefined, where: string, created: Map<string, Layer>): LayersModel {
  if (
    !isObject(config) ||
    !Array.isArray(config.layers) ||
    !Array.isArray(config.input_layers) ||
    !Array.isArray(config.output_layers)
  ) {
    throw new Error(`${where}: a functional model config needs 'layers', 'input_layers' and 'output_layers'`);
  }
  const name = typeof config.name === 'string' ? config.name : 'model';
  const here = `${where} > model '${name}'`;
  const pending: { layer: Layer; nodes: TensorRef[][] }[] = [];
  config.layers.forEach((entry, i) => {
    const layer = deserializeLayer(entry, `${here} layer ${i}`);
    const layerName = isObject(entry) && typeof entry.name === 'string' ? entry.name : layer.name;
    if (created.has(layerName)) {
      layer.dispose();
      throw new Error(`${here}: two layers are named '${layerName}'`);
    }
    created.set(layerName, layer);
    const inbound = isObject(entry) ? (entry.inbound_nodes ?? []) : [];
    if (!Array.isArray(inbound))
      throw new Error(
        `${here}: layer '${layerName}' inbound_nodes must be a list (Keras 3's format is not supported)`,
      );
    const nodes = inbound.map((nd) => {
      if (!Array.isArray(nd))
        throw new Error(
          `${here}: layer '${layerName}' has a malformed inbound node ${JSON.stringify(nd)?.slice(0, 200)} (Keras 3's format is not supported)`,
        );
      return nd.map((r) => asRef(r, `${here} layer '${layerName}'`));
    });
    pending.push({ layer, nodes });
  });

  // Node indices count from 1 for nested models (their own creation node comes first in Keras/tfjs).
  const tensorAt = (ref: TensorRef, ctx: string): SymbolicTensor | undefined => {
    const layer = created.get(ref[0]);
    if (!layer) throw new Error(`${here}: ${ctx} refers to layer '${ref[0]}', which is not in the model`);
    const node = layer.inboundNodes[ref[1] - (layer instanceof Functional ? 1 : 0)];
    if (!node) return undefined;
    const t = node.outputs[ref[2]];
    if (!t)
      throw new Error(
        `${here}: ${ctx} refers to output ${ref[2]} of layer '${ref[0]}', which has ${node.outputs.length}`,
      );
    return t;
  };

  // replay nodes in rounds until every one has its inputs (layers may be shared at several depths)
  let queue = pending.flatMap((p) => p.nodes.map((refs) => ({ layer: p.layer, refs })));
  while (queue.length > 0) {
    const next: typeof queue = [];
    for (const item of queue) {
      const inputs = item.refs.map((r) => tensorAt(r, `an input of layer '${item.layer.name}'`));
      if (inputs.some((t) => t === undefined)) {
        next.push(item);
        continue;
      }
      const kwargs = item.refs[0]?.[3] ?? {};
      item.layer.apply(inputs.length === 1 ? inputs[0]! : (inputs as SymbolicTensor[]), kwargs);
    }
    if (next.length === queue.length) {
      throw new Error(
        `${here}: cannot connect layer(s) ${next.map((n) => `'${n.layer.name}'`).join(', ')}: their inputs never appear`,
      );
    }
    queue = next;
  }

  const ends = (list: Json[], what: string) =>
    list.map((x) => {
      const ref = asRef(x, `${here} ${what}`);
      const t = tensorAt(ref, what);
      if (!t)
        throw new Error(
          `${here}: ${what} refers to node ${ref[1]} of layer '${ref[0]}', which does not exist`,
        );
      return t;
    });
  const inputs = ends(config.input_layers, 'input_layers');
  const outputs = ends(config.output_layers, 'output_layers');
  const model = new LayersModel({
    name,
    inputs: inputs.length === 1 ? inputs[0] : inputs,
    outputs: outputs.length === 1 ? outputs[0] : outputs,
  });
  if (config.trainable === false) model.trainable = false;
  return model;
}

/** A model from a `modelTopology` object (Keras' full-model JSON with `model_config` too). */
export function modelFromTopology(topology: unknown, where: string): LayersModel {
  let t = topology;
  if (isObject(t) && isObject(t.model_config)) t = t.model_config;
  if (!isObject(t) || typeof t.class_name !== 'string')
    throw new Error(`${where}: modelTopology must be an object with 'class_name' and 'config'`);
  if (!MODEL_CLASSES.includes(t.class_name)) {
    throw new Error(
      `${where}: modelTopology's class_name is '${t.class_name}'; expected one of ${MODEL_CLASSES.join(', ')}`,
    );
  }
  return deserializeLayer(t, where) as LayersModel;
}
