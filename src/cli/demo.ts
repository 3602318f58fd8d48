// `keel demo`: for now, the tensor-core preview — a small CNN trained from ops in float32 and with bfloat16 compute.
// The seed's full experiment (models, ship data, tracker, dashboard) replaces this as those issues land.

import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import * as keel from '../index.js';

interface Config {
  name: string;
  compute: 'float32' | 'bfloat16' | 'float16';
}

const CONFIGS: Config[] = [
  { name: 'float32', compute: 'float32' },
  { name: 'mixed_bfloat16 (float32 master weights)', compute: 'bfloat16' },
];

/** A 5-class synthetic image set: each class is a differently oriented stripe pattern with its own tint, plus noise. */
function syntheticImages(n: number, size: number, seed: number): { x: keel.Tensor; labels: number[] } {
  const vals = new Float32Array(n * size * size * 3);
  const labels: number[] = [];
  const noise = keel.randomNormal([n * size * size * 3], 0, 0.3, 'float32', seed).dataSync();
  for (let i = 0; i < n; i++) {
    const k = i % 5;
    labels.push(k);
    const angle = (k * Math.PI) / 5;
    const [c, s] = [Math.cos(angle), Math.sin(angle)];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = Math.sin((x * c + y * s) * 0.8);
        for (let ch = 0; ch < 3; ch++) {
          const at = ((i * size + y) * size + x) * 3 + ch;
          vals[at] = v * (ch === k % 3 ? 1 : 0.5) + noise[at];
        }
      }
    }
  }
  return { x: keel.tensor(vals, [n, size, size, 3]), labels };
}

function runConfig(cfg: Config, epochs: number, steps: number, batch: number, size: number) {
  const seed = 1;
  const w1 = keel.variable(keel.randomNormal([3, 3, 3, 16], 0, Math.sqrt(2 / 27), 'float32', seed), true, `demo_${cfg.compute}_w1`);
  const b1 = keel.variable(keel.zeros([16]), true, `demo_${cfg.compute}_b1`);
  const w2 = keel.variable(keel.randomNormal([3, 3, 16, 32], 0, Math.sqrt(2 / 144), 'float32', seed + 1), true, `demo_${cfg.compute}_w2`);
  const b2 = keel.variable(keel.zeros([32]), true, `demo_${cfg.compute}_b2`);
  const w3 = keel.variable(keel.randomNormal([32, 5], 0, Math.sqrt(1 / 32), 'float32', seed + 2), true, `demo_${cfg.compute}_w3`);
  const b3 = keel.variable(keel.zeros([5]), true, `demo_${cfg.compute}_b3`);
  const vars = [w1, b1, w2, b2, w3, b3];
  const opt = keel.train.adam(0.01);
  const data = syntheticImages(steps * batch, size, 7);
  const labels = keel.oneHot(keel.tensor1d(data.labels, 'int32'), 5);
  const c = (t: keel.Tensor) => (cfg.compute === 'float32' ? t : t.cast(cfg.compute));
  const forward = (x: keel.Tensor) => {
    let h = keel.relu(keel.conv2d(c(x), c(w1), 1, 'same').add(c(b1)));
    h = keel.relu(keel.conv2d(h, c(w2), 1, 'same').add(c(b2)));
    return keel.matMul(h.mean([1, 2]), c(w3)).add(c(b3)).cast('float32');
  };
  keel.resetPeakMemory();
  const history: { loss: number; accuracy: number; msPerStep: number }[] = [];
  for (let e = 0; e < epochs; e++) {
    const t0 = performance.now();
    let lossSum = 0;
    let correct = 0;
    for (let s = 0; s < steps; s++) {
      keel.tidy(() => {
        const xb = keel.slice(data.x, [s * batch, 0, 0, 0], [batch, -1, -1, -1]);
        const yb = keel.slice(labels, [s * batch, 0], [batch, -1]);
        let logits: keel.Tensor | null = null;
        const loss = opt.minimize(
          () => {
            logits = keel.keep(forward(xb));
            return keel.losses.softmaxCrossEntropy(yb, logits);
          },
          true,
          vars,
        )!;
        lossSum += loss.dataSync()[0];
        const hits = keel.equal(keel.argMax(logits!, 1), keel.argMax(yb, 1)).sum().dataSync()[0];
        correct += hits;
        (logits as keel.Tensor | null)?.dispose();
      });
    }
    const ms = (performance.now() - t0) / steps;
    history.push({ loss: lossSum / steps, accuracy: correct / (steps * batch), msPerStep: ms });
    console.log(
      `Epoch ${e + 1}/${epochs} - ${steps} steps - ${ms.toFixed(0)}ms/step - loss: ${(lossSum / steps).toFixed(4)} - accuracy: ${(correct / (steps * batch)).toFixed(4)}`,
    );
  }
  const peak = keel.memory().peakBytes;
  keel.dispose([...vars, data.x, labels]);
  opt.dispose();
  return { name: cfg.name, history, peakTensorBytes: peak };
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('train a small CNN on synthetic images in float32 and with bfloat16 compute, then compare')
    .option('--quick', 'a few steps only (about 10 s)')
    .option('--json <file>', 'write the results as JSON')
    .action((opts: { quick?: boolean; json?: string }) => {
      const [epochs, steps] = opts.quick ? [2, 4] : [3, 12];
      console.log(`Keel demo on ${keel.getBackend()}: small CNN, 32x32x3 images, batch 32, Adam`);
      const runs = CONFIGS.map((cfg) => {
        console.log(`\n== ${cfg.name}`);
        return runConfig(cfg, epochs, steps, 32, 32);
      });
      const base = runs[0].history.at(-1)!.msPerStep;
      console.log('\nconfiguration                              ms/step  speedup  final loss  accuracy  peak tensor MB');
      for (const r of runs) {
        const last = r.history.at(-1)!;
        console.log(
          `${r.name.padEnd(42)} ${last.msPerStep.toFixed(1).padStart(7)}  ${(base / last.msPerStep).toFixed(2).padStart(6)}x  ${last.loss.toFixed(4).padStart(10)}  ${last.accuracy.toFixed(4).padStart(8)}  ${(r.peakTensorBytes / 2 ** 20).toFixed(1).padStart(14)}`,
        );
      }
      if (opts.json) writeFileSync(opts.json, `${JSON.stringify({ backend: keel.getBackend(), runs }, null, 2)}\n`);
    });
}
