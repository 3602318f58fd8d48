// Worker-thread entry of a run's system monitor: samples on its own event loop, so samples and
// heartbeats keep coming while the main thread runs long synchronous steps. Started by run.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { SystemMonitor } from './monitor.js';
import { openStore } from './store.js';
import { SystemSampler } from './system.js';

export interface WorkerData {
  runsDir: string;
  runId: string;
  intervalMs: number;
  gpu: boolean | string;
  /** Float64Array over it: [published (0/1), numTensors, numBytes, peakBytes], written by the main thread */
  tensorMemory: SharedArrayBuffer;
}

const data = workerData as WorkerData;
const mem = new Float64Array(data.tensorMemory);
const db = openStore(data.runsDir);
const sampler = new SystemSampler({
  intervalMs: data.intervalMs,
  gpu: data.gpu,
  tensorMemory: () => (mem[0] ? { numTensors: mem[1], numBytes: mem[2], peakBytes: mem[3] } : null),
});
const monitor = new SystemMonitor(db, data.runId, sampler);
const timer = setInterval(() => monitor.tick(), data.intervalMs);

parentPort!.on('message', (m: unknown) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  try {
    monitor.close();
  } finally {
    db.close();
    parentPort!.postMessage('stopped');
    parentPort!.close();
  }
});
parentPort!.postMessage('started');
