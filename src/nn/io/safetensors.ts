// saveWeights / loadWeights in safetensors (github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header { name: { dtype, shape, data_offsets: [begin, end] },
// "__metadata__": { string: string } } padded with spaces to 8 bytes, then the raw little-endian
// data, offsets relative to its start. Names are Keras-style ('dense/kernel'); 16-bit variables are
// written as their F16/BF16 bit patterns, so nothing is rounded on the way out.

import { stat } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { DType, Storage } from '../../dtype.js';
import { sizeOf } from '../../tensor/tensor.js';
import type { Layer } from '../layer.js';
import { isObject } from './config.js';
import { readBytes, toPath, writeFilesAtomically } from './files.js';
import { KEEL_VERSION } from './serialize.js';
import { assignAll, checkShape, layerOf, namedWeights, type PendingValue, readStorage } from './weights.js';

export const SAFETENSORS_DTYPES = [
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'I32',
  'I16',
  'I8',
  'U8',
  'BOOL',
] as const;
export type SafetensorsDType = (typeof SAFETENSORS_DTYPES)[number];
const BYTES: Record<SafetensorsDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};
const MAX_HEADER = 100_000_000;

/** One tensor of a safetensors file: its raw little-endian bytes. */
export interface SafetensorsEntry {
  dtype: SafetensorsDType;
  shape: number[];
  data: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

function checkLittleEndian(where: string): void {
  if (endianness() !== 'LE') throw new Error(`${where}: safetensors I/O needs a little-endian machine`);
}

/** Serialises tensors (in the given order) and string metadata to safetensors bytes. */
export function encodeSafetensors(
  tensors: Map<string, SafetensorsEntry> | [string, SafetensorsEntry][],
  metadata: Record<string, string> = {},
): Uint8Array {
  checkLittleEndian('encodeSafetensors');
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const list = [...tensors];
  for (const [name, t] of list) {
    if (name === '__metadata__') throw new Error(`encodeSafetensors: '__metadata__' cannot be a tensor name`);
    const n = sizeOf(t.shape) * BYTES[t.dtype];
    if (n !== t.data.byteLength)
      throw new Error(
        `encodeSafetensors: tensor '${name}' ${t.dtype}[${t.shape}] needs ${n} bytes, got ${t.data.byteLength}`,
      );
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let at = 8 + head.byteLength;
  for (const [, t] of list) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

/** Parses and validates safetensors bytes; `source` names the file in errors. */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = 'the safetensors data',
  where = 'decodeSafetensors',
): SafetensorsFile {
  checkLittleEndian(where);
  const bad = (why: string): never => {
    throw new Error(`${where}: ${source} is not a valid safetensors file: ${why}`);
  };
  if (bytes.byteLength < 8)
    bad(`it is ${bytes.byteLength} bytes long, shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER, bytes.byteLength - 8)))
    bad(`the header length ${n} exceeds the file (${bytes.byteLength} bytes)`);
  const headerLen = Number(n);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + headerLen));
  if (!text.startsWith('{')) bad('the header is not a JSON object');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    bad(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(header)) return bad('the header is not a JSON object');
  const data = bytes.subarray(8 + headerLen);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsEntry>();
  const spans: [number, number, string][] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string'))
        bad(`__metadata__ must map strings to strings`);
      Object.assign(metadata, v);
      continue;
    }
    if (!isObject(v)) return bad(`entry '${name}' is not an object`);
    const { dtype, shape, data_offsets: off } = v;
    if (typeof dtype !== 'string' || !(SAFETENSORS_DTYPES as readonly string[]).includes(dtype))
      bad(`tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0))
      bad(`tensor '${name}' has a bad shape ${JSON.stringify(shape)}`);
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((d) => Number.isInteger(d) && (d as number) >= 0) ||
      (off[0] as number) > (off[1] as number)
    ) {
      bad(`tensor '${name}' has bad data_offsets ${JSON.stringify(off)}`);
    }
    const [b, e] = off as [number, number];
    const dt = dtype as SafetensorsDType;
    const need = sizeOf(shape as number[]) * BYTES[dt];
    if (e - b !== need)
      bad(
        `tensor '${name}' ${dt}[${shape}] needs ${need} bytes, its data_offsets [${b}, ${e}] span ${e - b}`,
      );
    if (e > data.byteLength)
      bad(
        `tensor '${name}' ends at byte ${e}, past the end of the data (${data.byteLength} bytes; truncated file?)`,
      );
    spans.push([b, e, name]);
    tensors.set(name, { dtype: dt, shape: shape as number[], data: data.subarray(b, e) });
  }
  spans.sort((x, y) => x[0] - y[0]);
  let end = 0;
  for (const [b, e, name] of spans) {
    if (b !== end)
      bad(
        `tensor '${name}' starts at byte ${b}, expected ${end} (tensors must be contiguous and not overlap)`,
      );
    end = e;
  }
  if (end !== data.byteLength) bad(`the tensors cover ${end} bytes of data, the file has ${data.byteLength}`);
  return { tensors, metadata };
}

const KEEL_TO_ST: Record<DType, SafetensorsDType> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int32: 'I32',
  bool: 'BOOL',
};

function copyBytes(s: Storage): Uint8Array {
  return new Uint8Array(s.buffer, s.byteOffset, s.byteLength).slice();
}

/** A file entry's values as something assignAll converts to any variable dtype (copied, aligned). */
function entryValues(t: SafetensorsEntry): Pick<PendingValue, 'values' | 'dtype'> {
  const b = t.data.slice();
  switch (t.dtype) {
    case 'F32':
      return { values: new Float32Array(b.buffer), dtype: 'float32' };
    case 'F16':
      return { values: new Uint16Array(b.buffer), dtype: 'float16' };
    case 'BF16':
      return { values: new Uint16Array(b.buffer), dtype: 'bfloat16' };
    case 'I32':
      return { values: new Int32Array(b.buffer), dtype: 'int32' };
    case 'F64':
      return { values: new Float64Array(b.buffer), dtype: 'float64' };
    case 'BOOL':
      return { values: b, dtype: 'bool' };
    case 'I64':
      return { values: Float32Array.from(new BigInt64Array(b.buffer), Number), dtype: 'float32' };
    case 'I16':
      return { values: Float32Array.from(new Int16Array(b.buffer)), dtype: 'float32' };
    case 'I8':
      return { values: Float32Array.from(new Int8Array(b.buffer)), dtype: 'float32' };
    case 'U8':
      return { values: Float32Array.from(b), dtype: 'float32' };
    default:
      return t.dtype satisfies never;
  }
}

/** Writes every weight of a layer or model to a safetensors file, named as Keras names them. */
export async function saveWeights(model: Layer, path: string): Promise<void> {
  const where = 'saveWeights';
  const file = toPath(path, where);
  if ((await stat(file).catch(() => null))?.isDirectory())
    throw new Error(`${where}: '${file}' is a directory; expected a file path such as model.safetensors`);
  const entries = namedWeights(model, where).map(({ name, variable }): [string, SafetensorsEntry] => [
    name,
    {
      dtype: KEEL_TO_ST[variable.dtype],
      shape: variable.shape.slice(),
      data: copyBytes(readStorage(variable)),
    },
  ]);
  const bytes = encodeSafetensors(entries, {
    format: 'keel',
    generated_by: `keel ${KEEL_VERSION}`,
    model: model.name,
  });
  await writeFilesAtomically([{ path: file, data: bytes }], where);
}

export interface LoadWeightsOptions {
  /** every weight of the model must be in the file and every tensor in the file must be used (default true) */
  strict?: boolean;
}

/** Loads weights saved by saveWeights (or any safetensors file with Keras-style names) by name. */
export async function loadWeights(
  model: Layer,
  path: string,
  options: LoadWeightsOptions = {},
): Promise<void> {
  const where = 'loadWeights';
  const file = toPath(path, where);
  const { tensors } = decodeSafetensors(await readBytes(file, 'weights file', where), `'${file}'`, where);
  const strict = options.strict ?? true;
  const pending: PendingValue[] = [];
  const missing: string[] = [];
  const used = new Set<string>();
  for (const { name, variable } of namedWeights(model, where)) {
    const t = tensors.get(name);
    if (!t) {
      missing.push(name);
      continue;
    }
    used.add(name);
    checkShape(name, variable, t.shape, `'${file}'`, where);
    pending.push({ variable, ...entryValues(t) });
  }
  if (strict && missing.length > 0) {
    const layers = [...new Set(missing.map(layerOf))].map((l) => `'${l}'`).join(', ');
    throw new Error(
      `${where}: '${file}' has no values for ${missing.length} weight(s) of layer(s) ${layers}: ${missing.join(', ')}`,
    );
  }
  const extra = [...tensors.keys()].filter((k) => !used.has(k));
  if (strict && extra.length > 0)
    throw new Error(
      `${where}: '${file}' has tensors that match no weight of model '${model.name}': ${extra.join(', ')}`,
    );
  assignAll(pending);
}
