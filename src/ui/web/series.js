// From API points to chart series: the x-axis choices (step, epoch, time since the run started),
// and the chart controls shared by the run page and the compare view.
import { pref, setPref } from './state.js';
import { el, fmtDuration, fmtNum } from './util.js';

export const X_MODES = { step: 'Step', epoch: 'Epoch', time: 'Time' };

/** Points per series asked of the server: about two per horizontal pixel of a wide chart. */
export const CHART_POINTS = 1500;

/**
 * Metric points [[step, value, wallTime], ...] as { xs, ys } for an x mode. Epochs follow the
 * tracker's fit() layout: epoch metrics are logged at step = epoch index (shown as epoch 1, 2, …,
 * as Keras counts), `batch/…` metrics at the global batch index (batch b ends at epoch
 * (b + 1) / steps_per_epoch). Without steps_per_epoch a batch metric falls back to its step.
 */
export function metricXY(points, mode, run, key) {
  const xs = new Array(points.length);
  const ys = new Array(points.length);
  const spe = Number(run.config?.steps_per_epoch);
  const t0 = Date.parse(run.startedAt) / 1000;
  for (let i = 0; i < points.length; i++) {
    const [step, value, wall] = points[i];
    ys[i] = value;
    if (mode === 'time') xs[i] = wall - t0;
    else if (mode === 'epoch')
      xs[i] = key.startsWith('batch/') ? (spe > 0 ? (step + 1) / spe : step) : step + 1;
    else xs[i] = step;
  }
  return { xs, ys };
}

/** System points [[wallTime, value], ...] as { xs: seconds since the run started, ys }. */
export function systemXY(points, run) {
  const t0 = Date.parse(run.startedAt) / 1000;
  return { xs: points.map((p) => p[0] - t0), ys: points.map((p) => p[1]) };
}

export const xFormat = (mode) => (mode === 'time' ? (v) => fmtDuration(v) : (v) => fmtNum(v));

/** Tick steps of a time axis, in seconds: round minutes and hours. */
const TIME_INCRS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
];

/** The x-axis options of lineChart for a mode. */
export const xOptions = (mode) => ({
  xLabel: X_MODES[mode],
  xFmt: xFormat(mode),
  xIncrs: mode === 'time' ? TIME_INCRS : undefined,
});

/**
 * The chart controls: x-axis, smoothing, log scale and a key filter; remembered across reloads.
 * onChange(settings) after each change. Returns { node, settings }.
 */
export function chartControls(onChange, { keyFilter = true, xModes = X_MODES } = {}) {
  const settings = { x: 'step', smoothing: 0, log: false, filter: '', ...pref('chart', {}) };
  if (!(settings.x in xModes)) settings.x = Object.keys(xModes)[0];
  settings.filter = '';
  const save = () => {
    setPref('chart', { x: settings.x, smoothing: settings.smoothing, log: settings.log });
    onChange(settings);
  };
  const smoothLabel = el('span', { class: 'smooth-value' }, settings.smoothing.toFixed(2));
  const node = el(
    'div',
    { class: 'controls card' },
    el(
      'label',
      {},
      'X axis ',
      el(
        'select',
        {
          id: 'x-axis',
          onchange: (e) => {
            settings.x = e.target.value;
            save();
          },
        },
        Object.entries(xModes).map(([k, v]) => el('option', { value: k, selected: k === settings.x }, v)),
      ),
    ),
    el(
      'label',
      { class: 'smoothing' },
      'Smoothing ',
      el('input', {
        type: 'range',
        id: 'smoothing',
        min: 0,
        max: 0.99,
        step: 0.01,
        value: settings.smoothing,
        oninput: (e) => {
          settings.smoothing = Number(e.target.value);
          smoothLabel.textContent = settings.smoothing.toFixed(2);
        },
        onchange: save,
      }),
      smoothLabel,
    ),
    el(
      'label',
      {},
      el('input', {
        type: 'checkbox',
        id: 'log-scale',
        checked: settings.log,
        onchange: (e) => {
          settings.log = e.target.checked;
          save();
        },
      }),
      ' Log scale',
    ),
    keyFilter
      ? el('input', {
          type: 'search',
          class: 'key-filter',
          placeholder: 'Filter charts…',
          oninput: (e) => {
            settings.filter = e.target.value.trim().toLowerCase();
            onChange(settings);
          },
        })
      : null,
  );
  return { node, settings };
}
