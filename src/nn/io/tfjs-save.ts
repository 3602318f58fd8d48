// The TensorFlow.js layers format, writing: model.json ({ format: 'layers-model', modelTopology,
// weightsManifest }) and one binary shard. `model.save('file://DIR')` writes DIR/model.json and
// DIR/weights.bin, which tfjs' loadLayersModel reads (tf.io.fromMemory in Node).
// 16-bit weights: tfjs has no bfloat16 and only reads float16 as a "quantization" of float32, so
// float16 variables are written as { dtype: 'float32', quantization: { dtype: 'float16' } } (exact)
// and bfloat16 variables as float32 (exact); loading converts back to each layer's variable dtype.
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DType, Storage } from '../../dtype.js';
import type { Functional } from '../models/functional.js';
import type { JsonObject } from './config.js';
import { toPath, writeFilesAtomically } from './files.js';
import { KEEL_VERSION, modelTopology } from './serialize.js';
import { namedWeights, readStorage } from './weights.js';

/** One entry of a weights manifest (tfjs' WeightsManifestEntry). */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | string;
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; min?: number; scale?: number };
  group?: string;
}

/** What tfjs' `io.fromMemory` takes: the topology, the weight specs and one buffer of their data. */
export interface ModelArtifacts {
  modelTopology: JsonObject;
  weightSpecs: WeightSpec[];
  weightData: ArrayBuffer;
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
}

export interface SaveResult {
  modelArtifactsInfo: {
    dateSaved: Date;
    modelTopologyType: 'JSON';
    modelTopologyBytes: number;
    weightSpecsBytes: number;
    weightDataBytes: number;
  };
  /** the files written */
  paths: { modelJson: string; weights: string };
}

const WHERE_SAVE = 'save';

function bytesOf(s: Storage): Uint8Array {
  return new Uint8Array(s.buffer, s.byteOffset, s.byteLength);
}

function encodeWeight(
  name: string,
  dtype: DType,
  shape: number[],
  s: Storage,
): { spec: WeightSpec; bytes: Uint8Array } {
  switch (dtype) {
    case 'float32':
    case 'int32':
    case 'bool':
      return { spec: { name, shape, dtype }, bytes: bytesOf(s) };
    case 'float16':
      return {
        spec: { name, shape, dtype: 'float32', quantization: { dtype: 'float16' } },
        bytes: bytesOf(s),
      };
    case 'bfloat16': {
      const f32 = new Float32Array(s.length);
      new Uint32Array(f32.buffer).set(Uint32Array.from(s as Uint16Array, (h) => h << 16));
      return { spec: { name, shape, dtype: 'float32' }, bytes: bytesOf(f32) };
    }
    default:
      return dtype satisfies never;
  }
}

/** The model as tfjs model artifacts (topology, specs, one weight buffer). */
export function modelToArtifacts(model: Functional): ModelArtifacts {
  const topology = modelTopology(model);
  const parts = namedWeights(model, WHERE_SAVE).map((w) =>
    encodeWeight(w.name, w.variable.dtype, w.variable.shape.slice(), readStorage(w.variable)),
  );
  const total = parts.reduce((n, p) => n + p.bytes.byteLength, 0);
  const data = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    data.set(p.bytes, offset);
    offset += p.bytes.byteLength;
  }
  return {
    modelTopology: topology,
    weightSpecs: parts.map((p) => p.spec),
    weightData: data.buffer,
    format: 'layers-model',
    generatedBy: `keel ${KEEL_VERSION}`,
    convertedBy: null,
  };
}

/** Writes DIR/model.json and DIR/weights.bin (a path ending in .json names the model.json itself). */
export async function saveLayersModel(model: Functional, url: string): Promise<SaveResult> {
  const path = toPath(url, WHERE_SAVE);
  const jsonPath = path.endsWith('.json') ? path : join(path, 'model.json');
  const existing = await stat(path).catch(() => null);
  if (existing?.isFile() && !path.endsWith('.json'))
    throw new Error(`${WHERE_SAVE}: '${path}' is a file; expected a directory to save the model into`);
  const weightsName = 'weights.bin';
  const a = modelToArtifacts(model);
  const json = {
    format: a.format,
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: [weightsName], weights: a.weightSpecs }],
  };
  const text = JSON.stringify(json);
  const weightsPath = join(dirname(jsonPath), weightsName);
  await writeFilesAtomically(
    [
      { path: weightsPath, data: new Uint8Array(a.weightData) },
      { path: jsonPath, data: text },
    ],
    WHERE_SAVE,
  );
  return {
    modelArtifactsInfo: {
      dateSaved: new Date(),
      modelTopologyType: 'JSON',
      modelTopologyBytes: JSON.stringify(a.modelTopology).length,
      weightSpecsBytes: JSON.stringify(a.weightSpecs).length,
      weightDataBytes: a.weightData.byteLength,
    },
    paths: { modelJson: jsonPath, weights: weightsPath },
  };
}
