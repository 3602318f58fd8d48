// loadKerasWeights: Keras 2 HDF5 weight files (model.save_weights('x.h5'), Keras Applications'
// *_notop.h5) read with h5wasm. Layout: root attrs `layer_names`, `backend`, `keras_version`; one
// group per layer with attr `weight_names` (['conv1_conv/kernel:0', 'conv1_conv/bias:0']) and the
// datasets at those paths inside the group. Full-model files keep the same under 'model_weights'.
// Layers are matched by name (Keras' by_name=True); each layer's weights in weight_names order,
// which is Keras' weight order (kernel, bias; BN gamma, beta, moving_mean, moving_variance).
import { open } from 'node:fs/promises';
import type H5Wasm from 'h5wasm';
import type { Dataset, Group } from 'h5wasm';
import type { Variable } from '../../tensor/tensor.js';
import type { Layer } from '../layer.js';
import { Functional } from '../models/functional.js';
import { toPath } from './files.js';
import { assignAll, fmtShape, type PendingValue } from './weights.js';

export interface KerasWeightsOptions {
  /** keep the current values of model layers that the file lacks instead of failing (default false) */
  allowMissing?: boolean;
  /** skip layers whose weight count or shapes differ from the file instead of failing (Keras' skip_mismatch) */
  skipMismatch?: boolean;
}

export interface KerasWeightsReport {
  /** layers whose weights were set from the file */
  loaded: string[];
  /** layers skipped for a count or shape mismatch (skipMismatch) */
  skipped: string[];
  /** model layers with weights that the file lacks (allowMissing) */
  missing: string[];
}

const WHERE = 'loadKerasWeights';
type H5 = typeof H5Wasm;

/** h5wasm, loaded on first use (its WebAssembly module costs a moment to start). */
async function h5wasm(): Promise<H5> {
  const h5 = (await import('h5wasm/node')).default as H5;
  await h5.ready;
  return h5;
}
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]; // \x89HDF\r\n\x1a\n

/** Checks that the file exists and carries the HDF5 signature (at 0, 512, 1024, ... for user blocks). */
async function checkHdf5(path: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `${WHERE}: weights file '${path}' does not exist`
        : `${WHERE}: cannot open '${path}': ${(e as Error).message}`,
    );
  }
  try {
    const { size } = await fh.stat();
    const buf = new Uint8Array(8);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      await fh.read(buf, 0, 8, at);
      if (SIGNATURE.every((b, i) => buf[i] === b)) return;
    }
    throw new Error(`${WHERE}: '${path}' is not an HDF5 file (no HDF5 signature)`);
  } finally {
    await fh.close();
  }
}

/** A string-list attribute, also when Keras split a long one into name0, name1, ... */
function stringsAttr(g: Group, name: string): string[] | null {
  const attrs = g.attrs;
  const read = (key: string): string[] => {
    const v = attrs[key].value;
    if (typeof v === 'string') return [v];
    if (Array.isArray(v))
      return v.map((x) => (typeof x === 'string' ? x : new TextDecoder().decode(x as Uint8Array)));
    if (ArrayBuffer.isView(v) && (v as unknown as ArrayLike<number>).length === 0) return []; // Keras writes [] as an empty float array
    throw new Error(`${WHERE}: attribute '${name}' of '${g.path}' is not a list of strings`);
  };
  if (name in attrs) return read(name);
  if (!(`${name}0` in attrs)) return null;
  const out: string[] = [];
  for (let i = 0; `${name}${i}` in attrs; i++) out.push(...read(`${name}${i}`));
  return out;
}

/** A dataset's values as float32, or as float16 bits when the file stores float16. */
function datasetValues(d: Dataset, label: string): Pick<PendingValue, 'values' | 'dtype'> {
  const meta = d.metadata;
  const v = d.value;
  if (meta.type === 1 && meta.size === 2 && ArrayBuffer.isView(v)) {
    const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
    return { values: new Uint16Array(bytes.buffer), dtype: 'float16' };
  }
  if (v instanceof Float32Array) return { values: v.slice(), dtype: 'float32' };
  if (v instanceof Float64Array) return { values: v.slice(), dtype: 'float64' };
  if (
    ArrayBuffer.isView(v) &&
    !(v instanceof DataView) &&
    !(v instanceof BigInt64Array) &&
    !(v instanceof BigUint64Array)
  ) {
    return { values: Float32Array.from(v as unknown as ArrayLike<number>), dtype: 'float32' };
  }
  throw new Error(`${WHERE}: dataset ${label} is not a numeric array (dtype ${JSON.stringify(d.dtype)})`);
}

/** The layers that hold weights, descending into nested models the file has no group for. */
function weightUnits(model: Layer, inFile: (name: string) => boolean): Layer[] {
  if (!(model instanceof Functional)) return [model];
  const out: Layer[] = [];
  for (const l of model.layers) {
    if (l.weights.length === 0) continue;
    if (l instanceof Functional && !inFile(l.name)) out.push(...weightUnits(l, inFile));
    else out.push(l);
  }
  return out;
}

/**
 * The layer's variables in the file's order when every file name ('conv1_conv/kernel:0', or
 * 'outer/conv1_conv/kernel:0') names a distinct weight of the layer; otherwise null, and Keras'
 * positional order applies (trainable weights first, as `layer.weights`).
 */
function matchByName(names: string[], layer: Layer): Variable[] | null {
  const own = layer.allWeights;
  if (names.length !== own.length) return null;
  const out: Variable[] = [];
  for (const n of names) {
    const base = n.replace(/:\d+$/, '');
    const hits = own.filter((w) => w.originalName === base || base.endsWith(`/${w.originalName}`));
    if (hits.length !== 1 || out.includes(hits[0].variable)) return null;
    out.push(hits[0].variable);
  }
  return out;
}

/** Reads one layer's group: the pending values, or why the layer does not fit the file. */
function readLayer(
  h5: H5,
  layer: Layer,
  g: Group,
  file: string,
): { pending: PendingValue[] } | { mismatch: string } {
  const names = stringsAttr(g, 'weight_names') ?? [];
  const vars = matchByName(names, layer) ?? layer.weights;
  if (names.length !== vars.length) {
    return {
      mismatch: `layer '${layer.name}' has ${vars.length} weight(s) but '${file}' has ${names.length} for it (${names.join(', ') || 'none'})`,
    };
  }
  const pending: PendingValue[] = [];
  for (const [i, variable] of vars.entries()) {
    const d = g.get(names[i]);
    if (!(d instanceof h5.Dataset))
      throw new Error(
        `${WHERE}: '${file}' lists weight '${names[i]}' for layer '${layer.name}' but has no such dataset`,
      );
    const ds = d;
    const shape = ds.shape ?? [];
    if (shape.length !== variable.shape.length || shape.some((n, k) => n !== variable.shape[k])) {
      return {
        mismatch: `layer '${layer.name}' weight '${layer.originalNameOf(variable)}' has shape ${fmtShape(variable.shape)} in the model but ${fmtShape(shape)} in '${file}' (as '${names[i]}')`,
      };
    }
    pending.push({ variable, ...datasetValues(ds, `'${names[i]}' of layer '${layer.name}'`) });
  }
  return { pending };
}

/**
 * Loads a Keras 2 HDF5 weights file into a model by layer name. Every model layer with weights
 * must be in the file (unless `allowMissing`); file layers the model lacks are ignored; a count or
 * shape mismatch is an error naming the layer, the weight and both shapes (unless `skipMismatch`).
 * Nothing is assigned unless the whole file checks out.
 */
export async function loadKerasWeights(
  model: Layer,
  path: string,
  options: KerasWeightsOptions = {},
): Promise<KerasWeightsReport> {
  const file = toPath(path, WHERE);
  await checkHdf5(file);
  const h5 = await h5wasm();
  const f = new h5.File(file, 'r');
  if (typeof f.file_id === 'bigint' && f.file_id < 0n)
    throw new Error(`${WHERE}: '${file}' could not be opened as HDF5 (corrupt file?)`);
  try {
    let root: Group = f;
    let layerNames = stringsAttr(f, 'layer_names');
    const mw = layerNames === null ? f.get('model_weights') : null;
    if (mw instanceof h5.Group) {
      root = mw;
      layerNames = stringsAttr(root, 'layer_names');
    }
    if (layerNames === null) {
      throw new Error(
        `${WHERE}: '${file}' has no 'layer_names' attribute; it is not a Keras 2 HDF5 weights file (Keras 3 '.weights.h5' files are not supported)`,
      );
    }
    const inFile = new Set(layerNames);
    const report: KerasWeightsReport = { loaded: [], skipped: [], missing: [] };
    const pending: PendingValue[] = [];
    for (const layer of weightUnits(model, (n) => inFile.has(n))) {
      const g = inFile.has(layer.name) ? root.get(layer.name) : null;
      if (!(g instanceof h5.Group)) {
        report.missing.push(layer.name);
        continue;
      }
      const r = readLayer(h5, layer, g, file);
      if ('mismatch' in r) {
        if (!options.skipMismatch) throw new Error(`${WHERE}: ${r.mismatch}`);
        report.skipped.push(layer.name);
        continue;
      }
      pending.push(...r.pending);
      report.loaded.push(layer.name);
    }
    if (report.missing.length > 0 && !options.allowMissing) {
      throw new Error(
        `${WHERE}: '${file}' has no weights for layer(s) ${report.missing.map((n) => `'${n}'`).join(', ')} of model '${model.name}' (pass { allowMissing: true } to keep their current values)`,
      );
    }
    assignAll(pending);
    return report;
  } finally {
    f.close();
  }
}
