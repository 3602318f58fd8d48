// saveWeights / loadWeights in safetensors: round trips (float32, float16, bfloat16 bit-exact), the
// file layout checked byte by byte, and clear errors for mismatched, truncated and corrupt files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LayersModel, Tensor } from '../../../src/index.js';
import * as keel from '../../../src/index.js';
import { seededFloats } from '../../helpers.js';

const L = keel.layers;
const dir = mkdtempSync(join(tmpdir(), 'keel-io-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function net(p: string, policy = 'float32', units = 3): LayersModel {
  return keel.sequential({
    name: p,
    layers: [
      L.dense({ units: 4, inputShape: [3], activation: 'relu', dtype: policy, name: `${p}_a` }),
      L.batchNormalization({ dtype: policy, name: `${p}_bn` }),
      L.dense({ units, dtype: policy, name: `${p}_b` }),
    ],
  });
}

function values(m: LayersModel): number[][] {
  return m.weights.map((w) => Array.from(w.dataSync()));
}

function randomize(m: LayersModel, seed: number): void {
  const ws = m.getWeights();
  const fresh = ws.map((w, i) => keel.tensor(seededFloats(w.size, seed + i, 0.1, 2), w.shape));
  m.setWeights(fresh);
  keel.dispose([...ws, ...fresh]);
}

/** Parses the file by hand: header length, header JSON, data offsets. */
function parse(path: string) {
  const b = readFileSync(path);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  return { b, n, header, data: b.subarray(8 + n) };
}

describe('saveWeights / loadWeights', () => {
  it('writes the safetensors layout: 8-byte LE length, padded JSON header, contiguous LE data', async () => {
    const m = net('st_layout');
    randomize(m, 1);
    const file = join(dir, 'layout.safetensors');
    await m.saveWeights(file);
    const { b, n, header, data } = parse(file);
    expect((8 + n) % 8).toBe(0);
    expect(header.__metadata__).toMatchObject({ format: 'keel' });
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    // Keras order: trainable weights, then BN's moving statistics
    expect(names).toEqual([
      'st_layout_a/kernel',
      'st_layout_a/bias',
      'st_layout_bn/gamma',
      'st_layout_bn/beta',
      'st_layout_b/kernel',
      'st_layout_b/bias',
      'st_layout_bn/moving_mean',
      'st_layout_bn/moving_variance',
    ]);
    expect(header['st_layout_a/kernel']).toEqual({ dtype: 'F32', shape: [3, 4], data_offsets: [0, 48] });
    expect(header['st_layout_a/bias']).toEqual({ dtype: 'F32', shape: [4], data_offsets: [48, 64] });
    expect(data.byteLength).toBe(4 * m.countParams());
    expect(b.byteLength).toBe(8 + n + data.byteLength);
    // the raw little-endian float32 data is the kernel
    const kernel = m.getLayer('st_layout_a').weights[0].dataSync();
    const [s, e] = header['st_layout_a/kernel'].data_offsets;
    const f = new Float32Array(data.buffer.slice(data.byteOffset + s, data.byteOffset + e));
    expect(Array.from(f)).toEqual(Array.from(kernel));
    m.dispose();
  });

  it('round-trips float32 weights into a fresh model (predictions equal)', async () => {
    const a = net('st_rt');
    randomize(a, 2);
    const file = join(dir, 'rt.safetensors');
    await a.saveWeights(`file://${file}`);
    const b = net('st_rt'); // same names, fresh values
    expect(values(b)).not.toEqual(values(a));
    await b.loadWeights(file);
    expect(values(b)).toEqual(values(a));
    const x = keel.tensor(seededFloats(6, 3), [2, 3]);
    const ya = a.predict(x) as Tensor;
    const yb = b.predict(x) as Tensor;
    expect(Array.from(yb.dataSync())).toEqual(Array.from(ya.dataSync()));
    keel.dispose([x, ya, yb]);
    a.dispose();
    b.dispose();
  });

  it('writes float16 and bfloat16 variables as F16/BF16 bit patterns and reads them back bit-exactly', async () => {
    for (const [policy, st] of [
      ['float16', 'F16'],
      ['bfloat16', 'BF16'],
    ] as const) {
      const a = net(`st_${policy}`, policy);
      randomize(a, 4);
      const file = join(dir, `${policy}.safetensors`);
      await a.saveWeights(file);
      const { header, data } = parse(file);
      const k = header[`st_${policy}_a/kernel`];
      expect(k.dtype).toBe(st);
      expect(k.data_offsets[1] - k.data_offsets[0]).toBe(2 * 12);
      expect(header[`st_${policy}_bn/gamma`].dtype).toBe('F32'); // BN keeps float32 parameters
      // the bits are the variable's own: decode them by hand and compare
      const bits = new Uint16Array(
        data.buffer.slice(data.byteOffset + k.data_offsets[0], data.byteOffset + k.data_offsets[1]),
      );
      const decoded = Array.from(bits, (h) =>
        policy === 'bfloat16' ? new Float32Array(new Uint32Array([h << 16]).buffer)[0] : f16(h),
      );
      expect(decoded).toEqual(Array.from(a.getLayer(`st_${policy}_a`).weights[0].dataSync()));
      const b = net(`st_${policy}`, policy);
      await b.loadWeights(file);
      expect(values(b)).toEqual(values(a));
      // a float32 model reads 16-bit files exactly; a 16-bit model reads float32 files rounded
      const c = net(`st_${policy}`);
      await c.loadWeights(file);
      expect(values(c)).toEqual(values(a));
      a.dispose();
      b.dispose();
      c.dispose();
    }
  });

  it('encodeSafetensors / decodeSafetensors are inverse and validate offsets', () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
    const bytes = keel.io.encodeSafetensors([['w', { dtype: 'F32', shape: [3], data }]], { note: 'x' });
    const back = keel.io.decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ note: 'x' });
    expect(Array.from(new Float32Array(back.tensors.get('w')!.data.slice().buffer))).toEqual([1, 2, 3]);
    expect(() => keel.io.encodeSafetensors([['w', { dtype: 'F32', shape: [4], data }]])).toThrow(
      /needs 16 bytes, got 12/,
    );
  });
});

describe('safetensors errors', () => {
  const base = join(dir, 'base.safetensors');
  const make = async () => {
    const m = net('st_err');
    await m.saveWeights(base);
    return m;
  };
  const withHeader = (name: string, header: unknown, data = new Uint8Array(0)): string => {
    const h = Buffer.from(JSON.stringify(header));
    const b = Buffer.alloc(8 + h.byteLength + data.byteLength);
    b.writeBigUInt64LE(BigInt(h.byteLength), 0);
    h.copy(b, 8);
    b.set(data, 8 + h.byteLength);
    const p = join(dir, name);
    writeFileSync(p, b);
    return p;
  };

  it('a model whose shapes differ names the layer, the weight and both shapes, and changes nothing', async () => {
    const m = await make();
    const other = net('st_err', 'float32', 5); // st_err_b has 5 units here
    const before = values(other);
    await expect(other.loadWeights(base)).rejects.toThrow(
      /loadWeights: layer 'st_err_b' weight 'st_err_b\/kernel' has shape \[4, 5\] in the model but \[4, 3\] in '.*base.safetensors'/,
    );
    expect(values(other)).toEqual(before);
    m.dispose();
    other.dispose();
  });

  it('missing and unexpected weights are errors unless strict is false', async () => {
    const m = await make();
    const renamed = net('st_other');
    await expect(renamed.loadWeights(base)).rejects.toThrow(
      /has no values for 8 weight\(s\) of layer\(s\) 'st_other_a', 'st_other_bn', 'st_other_b'/,
    );
    const bigger = keel.sequential({
      name: 'st_err',
      layers: [L.dense({ units: 4, inputShape: [3], name: 'st_err_a' })],
    });
    await expect(bigger.loadWeights(base)).rejects.toThrow(
      /has tensors that match no weight of model 'st_err': st_err_bn\/gamma/,
    );
    await bigger.loadWeights(base, { strict: false });
    expect(Array.from(bigger.weights[0].dataSync())).toEqual(Array.from(m.weights[0].dataSync()));
    m.dispose();
    renamed.dispose();
    bigger.dispose();
  });

  it('missing, truncated, and corrupt files are clear errors', async () => {
    const m = await make();
    await expect(m.loadWeights(join(dir, 'absent.safetensors'))).rejects.toThrow(
      /weights file '.*absent.safetensors' does not exist/,
    );
    const whole = readFileSync(base);
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, whole.subarray(0, whole.byteLength - 10));
    await expect(m.loadWeights(cut)).rejects.toThrow(
      /is not a valid safetensors file: tensor '.*' ends at byte \d+, past the end of the data/,
    );
    writeFileSync(cut, whole.subarray(0, 5));
    await expect(m.loadWeights(cut)).rejects.toThrow(/shorter than the 8-byte header length/);
    const huge = Buffer.from(whole);
    huge.writeBigUInt64LE(10n ** 12n, 0);
    writeFileSync(cut, huge);
    await expect(m.loadWeights(cut)).rejects.toThrow(/the header length 1000000000000 exceeds the file/);
    await expect(m.loadWeights(withHeader('badjson.safetensors', '{"a": '))).rejects.toThrow(
      /header is not a JSON object/,
    );
    const notJson = join(dir, 'notjson.safetensors');
    const nb = Buffer.alloc(8 + 5);
    nb.writeBigUInt64LE(5n, 0);
    nb.write('{"a":', 8);
    writeFileSync(notJson, nb);
    await expect(m.loadWeights(notJson)).rejects.toThrow(/header is not valid JSON/);
    await expect(
      m.loadWeights(
        withHeader(
          'dtype.safetensors',
          { w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } },
          new Uint8Array(8),
        ),
      ),
    ).rejects.toThrow(/tensor 'w' has unsupported dtype "C64"/);
    await expect(
      m.loadWeights(
        withHeader(
          'size.safetensors',
          { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } },
          new Uint8Array(8),
        ),
      ),
    ).rejects.toThrow(/tensor 'w' F32\[3\] needs 12 bytes, its data_offsets \[0, 8\] span 8/);
    const gap = {
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    };
    await expect(m.loadWeights(withHeader('gap.safetensors', gap, new Uint8Array(12)))).rejects.toThrow(
      /tensor 'b' starts at byte 8, expected 4/,
    );
    const tail = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } };
    await expect(m.loadWeights(withHeader('tail.safetensors', tail, new Uint8Array(12)))).rejects.toThrow(
      /cover 4 bytes of data, the file has 12/,
    );
    await expect(m.saveWeights(dir)).rejects.toThrow(/is a directory/);
    m.dispose();
  });
});

/** float16 bits -> value, written out independently of Keel's table. */
function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
