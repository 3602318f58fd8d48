// The default progress logger, in Keras' exact format:
//   Epoch 1/5
//   78/78 [==============================] - 18s 230ms/step - loss: 0.2259 - accuracy: 0.7822
// verbose 1 draws a live bar on a terminal and prints the final line once per epoch otherwise;
// verbose 2 prints `78/78 - 18s - loss: ... - 18s/epoch - 230ms/step` per epoch (tf.keras 2.x).
import { Callback, type Logs } from './callbacks.js';

export interface ProgressSink {
  write(s: string): void;
  isTTY?: boolean;
}

const BAR_WIDTH = 30;

/** Keras' number format in logs: 4 decimals, scientific for tiny magnitudes. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v).toLowerCase();
  return Math.abs(v) > 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Keras' per-step time: 2s/step, 230ms/step, 87us/step. */
export function formatStepTime(sec: number): string {
  if (sec >= 1) return `${sec.toFixed(0)}s/step`;
  if (sec >= 1e-3) return `${(sec * 1e3).toFixed(0)}ms/step`;
  return `${(sec * 1e6).toFixed(0)}us/step`;
}

function formatEta(sec: number): string {
  const s = Math.round(sec);
  if (s > 3600)
    return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  if (s > 60) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  return `${s}s`;
}

/** `12/78 [====>.........................]` */
export function progressBar(current: number, target: number | null): string {
  if (target === null) return `${current}/Unknown`;
  const digits = String(target).length;
  let bar = `${String(current).padStart(digits)}/${target} [`;
  const filled = Math.floor((BAR_WIDTH * current) / target);
  if (filled > 0) bar += '='.repeat(filled - 1) + (current < target ? '>' : '=');
  bar += '.'.repeat(BAR_WIDTH - filled);
  return `${bar}]`;
}

function metricsText(logs: Logs, keys: string[]): string {
  return keys
    .filter((k) => logs[k] !== undefined)
    .map((k) => ` - ${k}: ${formatValue(logs[k])}`)
    .join('');
}

export class ProgbarLogger extends Callback {
  private epochStart = 0;
  private seen = 0;
  private lastDraw = 0;
  private readonly live: boolean;

  constructor(
    private readonly verbose: 1 | 2,
    private readonly out: ProgressSink = process.stdout,
  ) {
    super();
    this.live = verbose === 1 && Boolean(out.isTTY);
  }

  override onEpochBegin(epoch: number): void {
    const total = this.params!.epochs;
    this.out.write(`Epoch ${epoch + 1}/${total}\n`);
    this.epochStart = performance.now();
    this.seen = 0;
    this.lastDraw = 0;
  }

  override onBatchEnd(batch: number, logs: Logs = {}): void {
    this.seen = batch + 1;
    if (!this.live) return;
    const now = performance.now();
    const steps = this.params!.steps;
    // redraw at most every 50 ms, as Keras does (stateful_metrics aside)
    if (now - this.lastDraw < 50 && this.seen !== steps) return;
    this.lastDraw = now;
    const perStep = (now - this.epochStart) / 1000 / this.seen;
    const eta = steps ? ` - ETA: ${formatEta(perStep * (steps - this.seen))}` : '';
    this.out.write(`\r${progressBar(this.seen, steps)}${eta}${metricsText(logs, this.keys(logs))}\x1b[K`);
  }

  override onEpochEnd(_epoch: number, logs: Logs = {}): void {
    const elapsed = (performance.now() - this.epochStart) / 1000;
    const steps = this.params!.steps ?? this.seen;
    const perStep = elapsed / Math.max(1, this.seen);
    const total = `${elapsed.toFixed(0)}s`;
    const keys = this.keys(logs);
    if (this.verbose === 2) {
      this.out.write(
        `${steps}/${steps} - ${total} - ${metricsText(logs, keys).slice(3)} - ${total}/epoch - ${formatStepTime(perStep)}\n`,
      );
      return;
    }
    const line = `${progressBar(this.seen, this.params!.steps ?? this.seen)} - ${total} ${formatStepTime(perStep)}${metricsText(logs, keys)}`;
    this.out.write(this.live ? `\r${line}\x1b[K\n` : `${line}\n`);
  }

  /** Training metrics first, then validation ones (Keras' order). */
  private keys(logs: Logs): string[] {
    const names = Object.keys(logs);
    return [...names.filter((k) => !k.startsWith('val_')), ...names.filter((k) => k.startsWith('val_'))];
  }
}
