// The seed's experiment as a run store for the dashboard tests: ResNet50 on ships under float32,
// mixed_float16 and mixed_bfloat16, with and without the JIT, with realistic times, curves, system
// samples and Keras-style logs; plus a failed run and a run of another project.
import { rng } from '../helpers.js';
import { type RunSpec, type SeriesSpec, writeRuns } from './write-store.js';

export { bigStore, type RunSpec, writeRuns } from './write-store.js';

const STEPS_PER_EPOCH = 78;
const EPOCHS = 5;
const BAR = '==============================';

interface SeedRun {
  id: string;
  name: string;
  policy: 'float32' | 'mixed_float16' | 'mixed_bfloat16';
  jit: boolean;
  /** seconds per epoch */
  epochSec: number[];
  loss: number[];
  accuracy: number[];
  gpuUtil: number;
  gpuMemMb: number;
  peakBytes: number;
}

/** The seed's runs: its Keras logs for float32 and mixed_float16; bfloat16 and no-JIT alongside. */
export const SEED_RUNS: SeedRun[] = [
  {
    id: 'f32jit01',
    name: 'resnet50-float32',
    policy: 'float32',
    jit: true,
    epochSec: [80, 59, 60, 61, 61],
    loss: [0.3619, 0.2056, 0.1513, 0.1305, 0.1017],
    accuracy: [0.7359, 0.7683, 0.7761, 0.7835, 0.7869],
    gpuUtil: 92,
    gpuMemMb: 13900,
    peakBytes: 5.9e9,
  },
  {
    id: 'mf16jit1',
    name: 'resnet50-mixed_float16',
    policy: 'mixed_float16',
    jit: true,
    epochSec: [71, 18, 18, 18, 18],
    loss: [0.3686, 0.2259, 0.1535, 0.1268, 0.118],
    accuracy: [0.7503, 0.7822, 0.788, 0.7979, 0.7928],
    gpuUtil: 71,
    gpuMemMb: 8300,
    peakBytes: 3.3e9,
  },
  {
    id: 'mbf16jt1',
    name: 'resnet50-mixed_bfloat16',
    policy: 'mixed_bfloat16',
    jit: true,
    epochSec: [74, 21, 21, 22, 21],
    loss: [0.3702, 0.2291, 0.1582, 0.1297, 0.1204],
    accuracy: [0.7481, 0.7795, 0.7864, 0.7951, 0.7915],
    gpuUtil: 74,
    gpuMemMb: 8450,
    peakBytes: 3.3e9,
  },
  {
    id: 'mf16nojt',
    name: 'resnet50-mixed_float16-nojit',
    policy: 'mixed_float16',
    jit: false,
    epochSec: [84, 66, 67, 66, 66],
    loss: [0.3671, 0.2248, 0.1541, 0.1272, 0.1175],
    accuracy: [0.7511, 0.7817, 0.7874, 0.7968, 0.7931],
    gpuUtil: 58,
    gpuMemMb: 9100,
    peakBytes: 3.6e9,
  },
];

const LAYERS = [
  'conv1_conv',
  'conv1_bn',
  'conv2_block1_1_conv',
  'conv2_block1_1_bn',
  'conv5_block3_3_conv',
  'avg_pool',
  'predictions',
];

function layerDtypes(policy: string): Record<string, { policy: string; compute: string; variable: string }> {
  const compute =
    policy === 'mixed_float16' ? 'float16' : policy === 'mixed_bfloat16' ? 'bfloat16' : 'float32';
  const out: Record<string, { policy: string; compute: string; variable: string }> = {};
  for (const l of LAYERS)
    out[l] =
      l === 'predictions'
        ? { policy: 'float32', compute: 'float32', variable: 'float32' }
        : { policy, compute, variable: 'float32' };
  return out;
}

function seedRun(s: SeedRun, startedAt: number, index: number): RunSpec {
  const rand = rng(index + 1);
  const m: Record<string, SeriesSpec> = {};
  const add = (
    target: Record<string, SeriesSpec>,
    key: string,
    step: number,
    value: number,
    wall: number,
  ) => {
    target[key] ??= { steps: [], values: [], walls: [] };
    target[key].steps.push(step);
    target[key].values.push(value);
    target[key].walls.push(wall);
  };
  const logs: RunSpec['logs'] = [];
  const line = (time: number, text: string, stream: 'stdout' | 'stderr' = 'stdout') =>
    logs.push({ stream, time, line: text });
  let t = startedAt + 4000;
  line(t - 3000, `Keel 0.1.0 on cuda (Tesla T4): resnet50, policy ${s.policy}${s.jit ? ', jit' : ''}`);
  if (s.policy === 'mixed_float16')
    line(
      t - 2500,
      'Mixed precision compatibility check (mixed_float16): OK, Tesla T4 has compute capability 7.5',
    );
  if (!s.jit) line(t - 2000, 'warning: jitCompile is off: steps run eagerly (slower)', 'stderr');
  line(t - 1000, `Train for ${STEPS_PER_EPOCH} steps`);
  let scale = 32768;
  let skipped = 0;
  for (let e = 0; e < EPOCHS; e++) {
    line(t, `Epoch ${e + 1}/${EPOCHS}`);
    const stepMs = (s.epochSec[e] * 1000) / STEPS_PER_EPOCH;
    const prev = e === 0 ? 1.6 : s.loss[e - 1];
    for (let b = 0; b < STEPS_PER_EPOCH; b++) {
      const g = e * STEPS_PER_EPOCH + b;
      const frac = (b + 1) / STEPS_PER_EPOCH;
      const loss = prev + (s.loss[e] - prev) * frac ** 0.6 + (rand() - 0.5) * 0.06;
      const accPrev = e === 0 ? 0.3 : s.accuracy[e - 1];
      const acc = accPrev + (s.accuracy[e] - accPrev) * frac ** 0.6 + (rand() - 0.5) * 0.02;
      const wall = t + (b + 1) * stepMs;
      add(m, 'batch/loss', g, loss, wall);
      add(m, 'batch/accuracy', g, acc, wall);
      if (s.policy === 'mixed_float16') {
        if (g === 3 || g === 5 || g === 9) {
          scale /= 2;
          skipped++;
        }
        if (g > 0 && g % 150 === 0) scale *= 2;
        add(m, 'batch/loss_scale', g, scale, wall);
      }
    }
    t += s.epochSec[e] * 1000;
    const epochLogs: Record<string, number> = {
      loss: s.loss[e],
      accuracy: s.accuracy[e],
      val_loss: s.loss[e] * 1.08 + 0.01,
      val_accuracy: s.accuracy[e] - 0.012,
      epoch: e,
      epoch_time: s.epochSec[e],
      ms_per_step: (s.epochSec[e] * 1000) / STEPS_PER_EPOCH,
      images_per_sec: (STEPS_PER_EPOCH * 80) / s.epochSec[e],
      learning_rate: 1e-4,
      peak_tensor_bytes: s.peakBytes,
    };
    if (s.policy === 'mixed_float16') Object.assign(epochLogs, { loss_scale: scale, skipped_steps: skipped });
    for (const [k, v] of Object.entries(epochLogs)) add(m, k, e, v, t);
    const ms = Math.round((s.epochSec[e] * 1000) / STEPS_PER_EPOCH);
    line(
      t,
      `${STEPS_PER_EPOCH}/${STEPS_PER_EPOCH} [${BAR}] - ${s.epochSec[e]}s ${ms}ms/step - loss: ${s.loss[e].toFixed(4)} - accuracy: ${s.accuracy[e].toFixed(4)} - val_loss: ${epochLogs.val_loss.toFixed(4)} - val_accuracy: ${epochLogs.val_accuracy.toFixed(4)}`,
    );
  }
  const trainingTime = s.epochSec.reduce((a, b) => a + b, 0);
  add(m, 'training_time', EPOCHS - 1, trainingTime, t);
  line(t + 500, `training_time: ${trainingTime.toFixed(1)} s`);
  const endedAt = t + 2000;
  const sys: Record<string, SeriesSpec> = {};
  for (let i = 0, at = startedAt; at <= endedAt; i++, at += 2000) {
    const warm = at - startedAt > 15_000 ? 1 : (at - startedAt) / 15_000;
    add(sys, 'sys.cpu_percent', i, 35 + 20 * rand(), at);
    add(sys, 'proc.cpu_percent', i, 95 + 40 * rand(), at);
    add(sys, 'proc.rss_mb', i, 1800 + 600 * warm + 30 * rand(), at);
    add(sys, 'sys.memory_percent', i, 31 + 8 * warm + rand(), at);
    add(sys, 'gpu.0.utilization_percent', i, Math.min(100, s.gpuUtil * warm + 10 * (rand() - 0.5)), at);
    add(sys, 'gpu.0.memory_used_mb', i, 400 + (s.gpuMemMb - 400) * warm, at);
    add(sys, 'gpu.0.memory_total_mb', i, 15109, at);
    add(sys, 'gpu.0.temperature_c', i, 45 + 25 * warm + 2 * rand(), at);
    add(sys, 'gpu.0.power_w', i, 28 + (s.gpuUtil / 100) * 40 * warm + 3 * rand(), at);
    add(sys, 'tensor.bytes', i, s.peakBytes * 0.8 * warm, at);
    add(sys, 'tensor.peak_bytes', i, s.peakBytes * warm, at);
  }
  const summary: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) summary[k] = v.values.at(-1);
  return {
    id: s.id,
    name: s.name,
    group: 'seed-mp',
    tags: ['resnet50', s.policy, ...(s.jit ? ['jit'] : [])],
    startedAt,
    endedAt,
    config: {
      model: 'resnet50',
      dataset: 'ships',
      policy: s.policy,
      jit: s.jit,
      loss_scale: s.policy === 'mixed_float16' ? 'dynamic' : null,
      optimizer: 'Adam',
      lr: 1e-4,
      epochs: EPOCHS,
      batch_size: 80,
      steps_per_epoch: STEPS_PER_EPOCH,
      image_size: 224,
      layer_dtypes: layerDtypes(s.policy),
    },
    summary,
    metrics: m,
    system: sys,
    logs,
    command: `keel train --data ships --model resnet50 --policy ${s.policy} --${s.jit ? '' : 'no-'}jit --epochs 5 --batch-size 80`,
  };
}

/** The seed's four runs, a failed run and a run of another project: ids in `ids`. */
export function seedStore(
  runsDir: string,
  now = Date.now(),
): { ids: Record<string, string>; runs: RunSpec[] } {
  const runs: RunSpec[] = [];
  let start = now - 3 * 3600_000;
  SEED_RUNS.forEach((s, i) => {
    const r = seedRun(s, start, i);
    runs.push(r);
    start = r.endedAt! + 60_000;
  });
  const nan = {
    steps: [0, 1, 2],
    values: [2.3, 7.9, Number.NaN],
    walls: [start + 20_000, start + 40_000, start + 60_000],
  };
  runs.push({
    id: 'f16nosc1',
    name: 'smallcnn-float16-noscale',
    group: 'ablation',
    tags: ['smallcnn'],
    status: 'failed',
    startedAt: start,
    endedAt: start + 61_000,
    config: { model: 'smallcnn', policy: 'float16', loss_scale: 'none', epochs: 5 },
    summary: { loss: null },
    metrics: { loss: nan },
    logs: [
      { stream: 'stdout', time: start + 1000, line: 'Epoch 1/5' },
      {
        stream: 'stderr',
        time: start + 60_000,
        line: 'TerminateOnNaN: batch 2: invalid loss, terminating training',
      },
    ],
  });
  runs.push({
    id: 'mnist001',
    name: 'mnist-baseline',
    project: 'mnist',
    tags: ['baseline'],
    startedAt: start - 7200_000,
    endedAt: start - 7000_000,
    config: { model: 'mlp', policy: 'float32', epochs: 2 },
    summary: { loss: 0.21, accuracy: 0.94, training_time: 190 },
    metrics: { loss: { steps: [0, 1], values: [0.4, 0.21], walls: [start - 7100_000, start - 7000_000] } },
  });
  writeRuns(runsDir, runs);
  const ids: Record<string, string> = {};
  for (const r of runs) ids[r.name] = r.id;
  return { ids, runs };
}
