// The Precision tab: the policy and its dtypes, loss scaling (scale and skipped steps over time),
// per-layer dtypes and memory saved — from whatever the run logged (metrics loss_scale,
// batch/loss_scale, skipped_steps, peak_tensor_bytes; config policy, loss_scale, layer_dtypes);
// anything missing says "not recorded".
import { chartCard, lineChart } from './charts.js';
import { fetchMetrics } from './grid.js';
import { currentRuns } from './live.js';
import { metricXY, xOptions } from './series.js';
import { downloadCsv, el, flatten, fmtBytes, fmtNum, isNum, notice, slug } from './util.js';

const DTYPES = {
  float32: ['float32', 'float32'],
  float16: ['float16', 'float16'],
  bfloat16: ['bfloat16', 'bfloat16'],
  mixed_float16: ['float16', 'float32'],
  mixed_bfloat16: ['bfloat16', 'float32'],
};

const dtypeChip = (d) =>
  d ? el('span', { class: `dtype dtype-${String(d).replace(/[^\w]/g, '')}` }, String(d)) : '–';

const tile = (title, value, detail) =>
  el(
    'section',
    { class: 'card tile' },
    el('div', { class: 'tile-title' }, title),
    el('div', { class: 'tile-value' }, value),
    detail ? el('div', { class: 'tile-detail' }, detail) : null,
  );

/** Per-layer dtypes from config.layer_dtypes (or layers / layer_policies): an object by layer name or a list. */
function layerRows(config) {
  const src = config.layer_dtypes ?? config.layer_policies ?? config.layers;
  if (!src || typeof src !== 'object') return null;
  const entries = Array.isArray(src) ? src.map((v, i) => [v?.name ?? `#${i}`, v]) : Object.entries(src);
  const rows = entries.map(([name, v]) => {
    if (typeof v === 'string')
      return { name, policy: v, compute: DTYPES[v]?.[0] ?? v, variable: DTYPES[v]?.[1] ?? v };
    const policy = v?.policy ?? v?.dtypePolicy ?? v?.dtype ?? null;
    return {
      name,
      policy,
      compute: v?.compute ?? v?.computeDtype ?? DTYPES[policy]?.[0] ?? null,
      variable: v?.variable ?? v?.variableDtype ?? DTYPES[policy]?.[1] ?? null,
    };
  });
  return rows.length > 0 ? rows : null;
}

/** Peak tensor memory saved against a float32 run of the same group (or project and model). */
function memorySaved(info) {
  const peak = info.summary.peak_tensor_bytes;
  if (isNum(info.summary.memory_saved_bytes))
    return { saved: info.summary.memory_saved_bytes, versus: 'as logged' };
  if (!isNum(peak) || info.config.policy === 'float32') return null;
  const peers = (currentRuns() ?? []).filter(
    (r) =>
      r.id !== info.id &&
      r.config?.policy === 'float32' &&
      isNum(r.summary?.peak_tensor_bytes) &&
      (info.group
        ? r.group === info.group
        : r.project === info.project && r.config?.model === info.config.model),
  );
  if (peers.length === 0) return null;
  const base = peers[0];
  return {
    saved: base.summary.peak_tensor_bytes - peak,
    fraction: 1 - peak / base.summary.peak_tensor_bytes,
    versus: base.name,
  };
}

export function precisionTab(box, run) {
  const { info, color } = run();
  const cfg = info.config ?? {};
  const sum = info.summary ?? {};
  const policy = cfg.policy ?? cfg.dtype_policy ?? null;
  const [compute, variable] = DTYPES[policy] ?? [null, null];
  const ls = cfg.loss_scale;
  const lossScaling =
    ls === 'dynamic'
      ? 'dynamic'
      : isNum(ls)
        ? `fixed ${fmtNum(ls)}`
        : ls === null || ls === 'none'
          ? 'none'
          : ls === undefined
            ? null
            : String(ls);
  const steps = isNum(cfg.steps_per_epoch) && isNum(cfg.epochs) ? cfg.steps_per_epoch * cfg.epochs : null;
  const skipped = isNum(sum.skipped_steps) ? sum.skipped_steps : null;
  const mem = memorySaved(info);

  const tiles = el(
    'div',
    { class: 'tiles' },
    tile(
      'Policy',
      policy ? el('code', {}, policy) : 'not recorded',
      compute ? el('span', {}, 'compute ', dtypeChip(compute), ' · variables ', dtypeChip(variable)) : null,
    ),
    tile(
      'Loss scaling',
      lossScaling ?? 'not recorded',
      isNum(sum.loss_scale) ? `final scale ${fmtNum(sum.loss_scale)}` : null,
    ),
    tile(
      'Skipped steps',
      skipped === null ? 'not recorded' : fmtNum(skipped),
      skipped !== null && steps ? `${((100 * skipped) / steps).toFixed(2)}% of ${fmtNum(steps)} steps` : null,
    ),
    tile(
      'Peak tensor memory',
      isNum(sum.peak_tensor_bytes) ? fmtBytes(sum.peak_tensor_bytes) : 'not recorded',
      mem
        ? `${mem.saved >= 0 ? 'saves' : 'costs'} ${fmtBytes(Math.abs(mem.saved))}${isNum(mem.fraction) ? ` (${(100 * Math.abs(mem.fraction)).toFixed(0)}%)` : ''} vs ${mem.versus}`
        : null,
    ),
  );
  const charts = el('div', { class: 'chart-grid' });
  const layers = layerRows(cfg);
  const other = Object.entries({ ...prefixed('config', flatten(cfg)), ...prefixed('summary', sum) }).filter(
    ([k]) =>
      /loss_scale|skipped|dtype|policy|precision|jit|bytes|memory/.test(k) &&
      !/layer_dtypes|layer_policies|^config\.layers/.test(k),
  );
  box.replaceChildren(
    tiles,
    charts,
    el(
      'div',
      { class: 'overview-grid' },
      el(
        'section',
        { class: 'card info-card', id: 'layer-dtypes' },
        el('h3', {}, 'Per-layer dtypes'),
        layers
          ? el(
              'table',
              { class: 'kv layers' },
              el(
                'thead',
                {},
                el(
                  'tr',
                  {},
                  el('th', {}, 'layer'),
                  el('th', {}, 'policy'),
                  el('th', {}, 'compute'),
                  el('th', {}, 'variables'),
                ),
              ),
              el(
                'tbody',
                {},
                layers.map((r) =>
                  el(
                    'tr',
                    {},
                    el('td', {}, r.name),
                    el('td', {}, r.policy ?? '–'),
                    el('td', {}, dtypeChip(r.compute)),
                    el('td', {}, dtypeChip(r.variable)),
                  ),
                ),
              ),
            )
          : notice('Not recorded. A run can log them as config.layer_dtypes: { layerName: policy }.'),
      ),
      el(
        'section',
        { class: 'card info-card' },
        el('h3', {}, 'Precision fields'),
        other.length
          ? el(
              'table',
              { class: 'kv' },
              el(
                'tbody',
                {},
                other.map(([k, v]) =>
                  el(
                    'tr',
                    {},
                    el('th', {}, k),
                    el('td', {}, /bytes/.test(k) && isNum(v) ? fmtBytes(v) : fmtNum(v)),
                  ),
                ),
              ),
            )
          : notice('None recorded.'),
      ),
    ),
  );

  const made = [];
  const draw = async () => {
    const have = new Set(info.metricKeys.map((k) => k.key));
    const wanted = [
      'batch/loss_scale',
      'loss_scale',
      'skipped_steps',
      'batch/skipped_steps',
      'peak_tensor_bytes',
    ].filter((k) => have.has(k));
    const data = wanted.length ? (await fetchMetrics([info.id], wanted))[info.id] : {};
    for (const c of made.splice(0)) c.destroy();
    charts.replaceChildren();
    const specs = [
      {
        title: 'Loss scale',
        keys: ['batch/loss_scale', 'loss_scale'],
        log: true,
        logBase: 2,
        empty: 'Loss scale: not recorded (no LossScaleOptimizer, or a float32/bfloat16 policy).',
      },
      {
        title: 'Skipped steps',
        keys: ['batch/skipped_steps', 'skipped_steps'],
        empty: 'Skipped steps: not recorded.',
      },
      {
        title: 'Peak tensor memory',
        keys: ['peak_tensor_bytes'],
        fmt: fmtBytes,
        empty: 'Peak tensor memory: not recorded.',
      },
    ];
    for (const s of specs) {
      const key = s.keys.find((k) => data[k]);
      if (!key) {
        charts.append(
          el('section', { class: 'card chart-card note-card' }, el('h3', {}, s.title), notice(s.empty)),
        );
        continue;
      }
      const mode = key.startsWith('batch/') || !isNum(cfg.steps_per_epoch) ? 'step' : 'epoch';
      const series = [{ label: info.name, color, ...metricXY(data[key], mode, info, key) }];
      const { card, body } = chartCard(s.title, {
        subtitle: key,
        onPng: () => chart.png(`${s.title} — ${info.name}`),
        onCsv: () =>
          downloadCsv(`${slug(info.name)}-${slug(key)}.csv`, [['step', 'value', 'wall_time'], ...data[key]]),
      });
      charts.append(card);
      const chart = lineChart(body, series, {
        ...xOptions(mode),
        yFmt: s.fmt,
        log: s.log,
        logBase: s.logBase,
      });
      made.push(chart);
    }
  };
  draw().catch((e) => charts.replaceChildren(notice(e.message, 'error')));
  return {
    dispose: () => {
      for (const c of made) c.destroy();
    },
  };
}

const prefixed = (p, o) => Object.fromEntries(Object.entries(o ?? {}).map(([k, v]) => [`${p}.${k}`, v]));
