// The TensorFlow.js layers format, reading: `loadLayersModel('file://DIR/model.json')` rebuilds the
// model from modelTopology and sets its weights from the manifest's shards (Keel's and tfjs' files,
// float32/int32/bool weights and tfjs' float16/uint8/uint16 quantizations).
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DType, Storage } from '../../dtype.js';
import { sizeOf } from '../../tensor/tensor.js';
import type { Functional } from '../models/functional.js';
import type { LayersModel } from '../models/model.js';
import { isObject } from './config.js';
import { modelFromTopology } from './deserialize.js';
import { parseJson, readBytes, readText, toPath } from './files.js';
import type { WeightSpec } from './tfjs-save.js';
import { assignAll, checkShape, layerOf, namedWeights, type PendingValue } from './weights.js';

export interface LoadOptions {
  /** every weight of the model must be in the file and every weight in the file must be used (default true) */
  strict?: boolean;
}

const WHERE_LOAD = 'loadLayersModel';

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, float16: 2, uint16: 2, uint8: 1 };

function checkSpec(x: unknown, where: string): WeightSpec {
  const ok =
    isObject(x) &&
    typeof x.name === 'string' &&
    Array.isArray(x.shape) &&
    x.shape.every((d) => Number.isInteger(d) && (d as number) >= 0) &&
    typeof x.dtype === 'string';
  if (!ok)
    throw new Error(
      `${where}: malformed weight spec ${JSON.stringify(x)?.slice(0, 200)}; expected { name, shape, dtype }`,
    );
  const spec = x as unknown as WeightSpec;
  const q = spec.quantization;
  if (q !== undefined && !(isObject(q) && ['float16', 'uint8', 'uint16'].includes(q.dtype))) {
    throw new Error(`${where}: weight '${spec.name}' has unsupported quantization ${JSON.stringify(q)}`);
  }
  if (q === undefined && !['float32', 'int32', 'bool'].includes(spec.dtype)) {
    throw new Error(
      `${where}: weight '${spec.name}' has unsupported dtype '${spec.dtype}'; expected float32, int32 or bool`,
    );
  }
  if (
    q &&
    (q.dtype === 'uint8' || q.dtype === 'uint16') &&
    !(typeof q.min === 'number' && typeof q.scale === 'number')
  ) {
    throw new Error(`${where}: weight '${spec.name}' is quantized to ${q.dtype} without min and scale`);
  }
  return spec;
}

function specBytes(s: WeightSpec): number {
  return sizeOf(s.shape) * BYTES[s.quantization?.dtype ?? s.dtype];
}

/** One weight's values, copied out of the shard buffer, in a dtype the assignment can convert. */
function decodeWeight(spec: WeightSpec, bytes: Uint8Array): { values: Storage; dtype: DType } {
  const copy = bytes.slice();
  const q = spec.quantization;
  if (q?.dtype === 'float16') return { values: new Uint16Array(copy.buffer), dtype: 'float16' };
  if (q) {
    const raw = q.dtype === 'uint8' ? copy : new Uint16Array(copy.buffer);
    const f = Float32Array.from(raw, (v) => v * q.scale! + q.min!);
    return spec.dtype === 'int32'
      ? { values: Int32Array.from(f, Math.round), dtype: 'int32' }
      : { values: f, dtype: 'float32' };
  }
  if (spec.dtype === 'int32') return { values: new Int32Array(copy.buffer), dtype: 'int32' };
  if (spec.dtype === 'bool') return { values: copy, dtype: 'bool' };
  return { values: new Float32Array(copy.buffer), dtype: 'float32' };
}

/** Splits one group's concatenated shard data into its weights, checking the total length. */
function splitGroup(
  specs: WeightSpec[],
  data: Uint8Array,
  what: string,
  where: string,
): Map<string, { spec: WeightSpec; bytes: Uint8Array }> {
  const need = specs.reduce((n, s) => n + specBytes(s), 0);
  if (need !== data.byteLength) {
    throw new Error(
      `${where}: ${what} holds ${data.byteLength} bytes but its manifest describes ${need}; the weight files are truncated or do not belong to this model.json`,
    );
  }
  const out = new Map<string, { spec: WeightSpec; bytes: Uint8Array }>();
  let offset = 0;
  for (const spec of specs) {
    const n = specBytes(spec);
    // optimizer state (tfjs' includeOptimizer) is skipped: Keel's optimizers start fresh
    if (spec.group !== 'optimizer') {
      if (out.has(spec.name)) throw new Error(`${where}: the weights manifest lists '${spec.name}' twice`);
      out.set(spec.name, { spec, bytes: data.subarray(offset, offset + n) });
    }
    offset += n;
  }
  return out;
}

/** Sets a model's weights from named shard data: checks every name and shape, then assigns. */
function applyWeights(
  model: Functional,
  found: Map<string, { spec: WeightSpec; bytes: Uint8Array }>,
  source: string,
  strict: boolean,
  where: string,
): void {
  const pending: PendingValue[] = [];
  const used = new Set<string>();
  const missing: string[] = [];
  for (const { name, variable } of namedWeights(model, where)) {
    let key = found.has(name) ? name : undefined;
    if (key === undefined) {
      // converters sometimes prefix the enclosing model's name: 'outer/dense/kernel'
      const candidates = [...found.keys()].filter((k) => k.endsWith(`/${name}`) && !used.has(k));
      if (candidates.length === 1) key = candidates[0];
    }
    if (key === undefined) {
      missing.push(name);
      continue;
    }
    used.add(key);
    const { spec, bytes } = found.get(key)!;
    checkShape(name, variable, spec.shape, source, where);
    pending.push({ variable, ...decodeWeight(spec, bytes) });
  }
  if (strict && missing.length > 0) {
    const layers = [...new Set(missing.map(layerOf))];
    throw new Error(
      `${where}: ${source} has no values for ${missing.length} weight(s) of layer(s) ${layers.map((l) => `'${l}'`).join(', ')}: ${missing.join(', ')}`,
    );
  }
  const unused = [...found.keys()].filter((k) => !used.has(k));
  if (strict && unused.length > 0)
    throw new Error(
      `${where}: ${source} has weights that match no weight of the model: ${unused.join(', ')}`,
    );
  assignAll(pending);
}

/** A Keel model from tfjs artifacts (topology, weight specs and their data in one buffer). */
export function modelFromArtifacts(
  a: { modelTopology: unknown; weightSpecs?: WeightSpec[]; weightData?: ArrayBuffer | Uint8Array },
  options: LoadOptions = {},
): LayersModel {
  const model = modelFromTopology(a.modelTopology, WHERE_LOAD);
  try {
    if (a.weightSpecs && a.weightData) {
      const specs = a.weightSpecs.map((s) => checkSpec(s, WHERE_LOAD));
      const data = a.weightData instanceof Uint8Array ? a.weightData : new Uint8Array(a.weightData);
      const found = splitGroup(specs, data, 'the weight data', WHERE_LOAD);
      applyWeights(model, found, 'the weight data', options.strict ?? true, WHERE_LOAD);
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** Reads model.json (a `file://` URL, a path, or a directory holding model.json) and its weight shards. */
export async function loadLayersModel(url: string, options: LoadOptions = {}): Promise<LayersModel> {
  let path = toPath(url, WHERE_LOAD);
  if ((await stat(path).catch(() => null))?.isDirectory()) path = join(path, 'model.json');
  const json = parseJson(await readText(path, 'model file', WHERE_LOAD), path, WHERE_LOAD);
  if (!isObject(json))
    throw new Error(`${WHERE_LOAD}: '${path}' must hold a JSON object with 'modelTopology'`);
  if (json.format === 'graph-model')
    throw new Error(`${WHERE_LOAD}: '${path}' is a tfjs graph model; only layers models can be loaded`);
  if (!isObject(json.modelTopology))
    throw new Error(
      `${WHERE_LOAD}: '${path}' has no 'modelTopology' object; is it a tfjs layers model.json?`,
    );
  const manifest = json.weightsManifest ?? [];
  if (!Array.isArray(manifest))
    throw new Error(`${WHERE_LOAD}: '${path}': weightsManifest must be a list of { paths, weights }`);
  // read and check every shard before building anything
  const found = new Map<string, { spec: WeightSpec; bytes: Uint8Array }>();
  for (const [i, group] of manifest.entries()) {
    if (
      !isObject(group) ||
      !Array.isArray(group.paths) ||
      !Array.isArray(group.weights) ||
      !group.paths.every((p) => typeof p === 'string')
    ) {
      throw new Error(
        `${WHERE_LOAD}: '${path}': weightsManifest[${i}] must be { paths: [string], weights: [spec] }`,
      );
    }
    const shards: Uint8Array[] = [];
    for (const p of group.paths as string[]) {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p))
        throw new Error(
          `${WHERE_LOAD}: '${path}': weight path '${p}' is a URL; only files beside model.json can be read`,
        );
      shards.push(await readBytes(join(dirname(path), p), 'weights file', WHERE_LOAD));
    }
    const data = new Uint8Array(shards.reduce((n, s) => n + s.byteLength, 0));
    let off = 0;
    for (const s of shards) {
      data.set(s, off);
      off += s.byteLength;
    }
    const specs = group.weights.map((s) => checkSpec(s, `${WHERE_LOAD}: '${path}'`));
    const what = `weights file(s) ${(group.paths as string[]).map((p) => `'${p}'`).join(', ')}`;
    for (const [name, w] of splitGroup(specs, data, what, WHERE_LOAD)) {
      if (found.has(name))
        throw new Error(`${WHERE_LOAD}: '${path}': the weights manifest lists '${name}' twice`);
      found.set(name, w);
    }
  }
  const model = modelFromTopology(json.modelTopology, `${WHERE_LOAD}: '${path}'`);
  try {
    if (manifest.length > 0) applyWeights(model, found, `'${path}'`, options.strict ?? true, WHERE_LOAD);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
