// The worker-thread side of Dataset.map({ workers }): defines functions, runs tasks, sends results back
// (moving their buffers). Loads no tensor engine: elements are plain data and HostTensors.

import { parentPort } from 'node:worker_threads';
import { fromWire, toWire } from './host.js';
import type { FnSpec } from './workers.js';

type Fn = (x: unknown, context: unknown) => unknown;

const BUILTINS: Record<string, () => Promise<Fn>> = {
  decodeImage: async () => {
    const m = await import('./image.js');
    return (x) => m.decodeImage(x as Parameters<typeof m.decodeImage>[0]);
  },
};

async function load(spec: FnSpec): Promise<Fn> {
  switch (spec.kind) {
    case 'source': {
      const f = new Function(`"use strict"; return (${spec.source});`)() as unknown;
      if (typeof f !== 'function')
        throw new Error('map (worker): the source does not evaluate to a function');
      return f as Fn;
    }
    case 'module': {
      const m = (await import(spec.url)) as Record<string, unknown>;
      const f = m[spec.name];
      if (typeof f !== 'function')
        throw new Error(`map (worker): ${spec.url} has no exported function '${spec.name}'`);
      return f as Fn;
    }
    case 'builtin': {
      const make = BUILTINS[spec.name];
      if (!make) throw new Error(`map (worker): unknown built-in '${spec.name}'`);
      return make();
    }
    default:
      return spec satisfies never;
  }
}

const fns = new Map<string, { fn: Promise<Fn>; context: unknown }>();

interface Message {
  type: 'define' | 'run';
  key: string;
  id: number;
  spec: FnSpec;
  context: unknown;
  input: unknown;
}

parentPort!.on('message', async (m: Message) => {
  if (m.type === 'define') {
    const fn = load(m.spec);
    fn.catch(() => undefined); // reported by the tasks that use it
    fns.set(m.key, { fn, context: fromWire(m.context) });
    return;
  }
  try {
    const def = fns.get(m.key);
    if (!def) throw new Error(`map (worker): function ${m.key} was not defined`);
    const out = await (await def.fn)(fromWire(m.input), def.context);
    const transfer = new Set<ArrayBuffer>();
    const value = toWire(out, transfer);
    parentPort!.postMessage({ id: m.id, ok: true, value }, [...transfer]);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    parentPort!.postMessage({ id: m.id, ok: false, error: { message: err.message, stack: err.stack } });
  }
});
