// Grids of chart cards, used by the run page (one run) and the compare view (runs overlaid, one
// colour each): a card per metric key, grouped into sections by key prefix, or per system group.
import { api } from './api.js';
import { chartCard, lineChart } from './charts.js';
import { CHART_POINTS, metricXY, systemXY, xOptions } from './series.js';
import { downloadCsv, el, fmtBytes, fmtNum, notice, slug, sortKeys } from './util.js';

/**
 * GET /api/metrics: { id: { key: points } } for keys (every key of each run when keys is null), in
 * batches of keys (long key lists would make too long an address).
 */
export async function fetchMetrics(ids, keys, maxPoints = CHART_POINTS) {
  if (keys === null) return (await api('metrics', { id: ids, maxPoints })).runs;
  const out = Object.fromEntries(ids.map((id) => [id, {}]));
  let batch = [];
  let len = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const res = await api('metrics', { id: ids, key: batch, maxPoints });
    for (const id of ids) Object.assign(out[id], res.runs[id] ?? {});
    batch = [];
    len = 0;
  };
  for (const k of keys) {
    batch.push(k);
    len += encodeURIComponent(k).length + 5;
    if (len > 3000 || batch.length >= 100) await flush();
  }
  await flush();
  return out;
}

const section = (key) => (key.includes('/') ? key.slice(0, key.indexOf('/')) : '');

/**
 * Metric charts: update({ runs: [{ run, color, label }], keys, data: { id: { key: points } },
 * settings }) draws one card per key; with the same settings, existing charts just get new data.
 */
export class MetricGrid {
  constructor(container, { sync } = {}) {
    this.container = container;
    this.sync = sync;
    this.charts = new Map();
    this.settingsKey = '';
  }

  update({ runs, keys, data, settings }) {
    const sKey = JSON.stringify([
      settings.x,
      settings.smoothing,
      settings.log,
      runs.map((r) => r.run.id + r.color),
    ]);
    if (sKey !== this.settingsKey) this.clear();
    this.settingsKey = sKey;
    const shown = sortKeys(keys).filter((k) => !settings.filter || k.toLowerCase().includes(settings.filter));
    if (shown.length === 0) {
      this.clear();
      this.container.replaceChildren(
        notice(keys.length === 0 ? 'No metrics logged yet.' : 'No chart matches the filter.'),
      );
      return;
    }
    if (this.charts.size === 0) this.container.replaceChildren();
    for (const [k, c] of this.charts) {
      if (shown.includes(k)) continue;
      c.chart.destroy();
      c.card.remove();
      this.charts.delete(k);
    }
    let grid = null;
    let current = null;
    for (const key of shown) {
      const series = runs
        .filter((r) => data[r.run.id]?.[key])
        .map((r) => ({
          label: r.label,
          color: r.color,
          ...metricXY(data[r.run.id][key], settings.x, r.run, key),
        }));
      const existing = this.charts.get(key);
      if (existing) {
        existing.chart.setData(series);
        continue;
      }
      if (section(key) !== current || !grid) {
        current = section(key);
        grid = this.sectionGrid(current);
      }
      // NaN and infinities (a diverged run) come as null: say how many, as the line just stops
      const bad = series.reduce((n, s) => n + s.ys.filter((y) => y === null).length, 0);
      const { card, body } = chartCard(key, {
        subtitle: bad ? `${bad} NaN/Inf` : undefined,
        warn: bad > 0,
        onPng: () => this.charts.get(key)?.chart.png(key),
        onCsv: () => exportMetricCsv(runs, key),
      });
      card.dataset.key = key;
      grid.append(card);
      const chart = lineChart(body, series, {
        ...xOptions(settings.x),
        smoothing: settings.smoothing,
        log: settings.log,
        sync: this.sync,
      });
      this.charts.set(key, { card, chart });
    }
  }

  sectionGrid(name) {
    const id = `section-${slug(name || 'metrics')}`;
    let grid = this.container.querySelector(`#${id} .chart-grid`);
    if (!grid) {
      grid = el('div', { class: 'chart-grid' });
      this.container.append(
        el(
          'div',
          { class: 'chart-section', id },
          el('h2', { class: 'section-title' }, name ? `${name}/` : 'Metrics'),
          grid,
        ),
      );
    }
    return grid;
  }

  clear() {
    for (const c of this.charts.values()) c.chart.destroy();
    this.charts.clear();
    this.container.replaceChildren();
  }
}

/** A chart's data in full (not downsampled): run_id, run, key, step, value, wall_time rows. */
async function exportMetricCsv(runs, key) {
  const rows = [['run_id', 'run', 'key', 'step', 'value', 'wall_time']];
  for (const r of runs) {
    try {
      const res = await api(`runs/${r.run.id}/metrics`, { key, maxPoints: 1_000_000 });
      for (const [step, value, wall] of res.points) rows.push([r.run.id, r.run.name, key, step, value, wall]);
    } catch {
      // a run without this key
    }
  }
  downloadCsv(`${slug(key)}.csv`, rows);
}

const MB = (v) => `${fmtNum(Math.round(v))} MB`;
const pct = (v) => `${fmtNum(Math.round(v * 10) / 10)}%`;

/** System keys grouped into charts: GPU first (what the seed compares), then CPU, memory, the rest. */
const SYSTEM_GROUPS = [
  { title: 'GPU utilisation', re: /^gpu\.(\d+)\.utilization_percent$/, fmt: pct },
  { title: 'GPU memory used', re: /^gpu\.(\d+)\.memory_used_mb$/, fmt: MB },
  { title: 'CPU', re: /^(proc|sys)\.cpu_percent$/, fmt: pct, names: { proc: 'process', sys: 'system' } },
  { title: 'Process memory (RSS)', re: /^proc\.rss_mb$/, fmt: MB },
  { title: 'System memory', re: /^sys\.memory_percent$/, fmt: pct },
  {
    title: 'Tensor memory',
    re: /^tensor\.(bytes|peak_bytes)$/,
    fmt: fmtBytes,
    names: { bytes: 'in use', peak_bytes: 'peak' },
  },
  { title: 'GPU temperature', re: /^gpu\.(\d+)\.temperature_c$/, fmt: (v) => `${fmtNum(Math.round(v))} °C` },
  { title: 'GPU power', re: /^gpu\.(\d+)\.power_w$/, fmt: (v) => `${fmtNum(Math.round(v))} W` },
  {
    title: 'Disk I/O since start',
    re: /^disk\.(read|write)_mb$/,
    fmt: MB,
    names: { read: 'read', write: 'written' },
  },
  { title: 'Tensors', re: /^tensor\.count$/, fmt: fmtNum },
];
const HIDDEN_SYSTEM = /^gpu\.\d+\.memory_total_mb$/;

/** [{ title, fmt, keys: [[key, part]] }] for the keys present; other keys get a chart each. */
export function systemGroups(keys) {
  const groups = [];
  const used = new Set();
  for (const g of SYSTEM_GROUPS) {
    const hits = keys.map((k) => [k, g.re.exec(k)]).filter(([, m]) => m);
    if (hits.length === 0) continue;
    for (const [k] of hits) used.add(k);
    groups.push({
      title: g.title,
      fmt: g.fmt,
      keys: hits.map(([k, m]) => [k, m[1] === undefined ? '' : (g.names?.[m[1]] ?? `GPU ${m[1]}`)]),
    });
  }
  for (const k of [...keys].sort())
    if (!used.has(k) && !HIDDEN_SYSTEM.test(k)) groups.push({ title: k, fmt: fmtNum, keys: [[k, '']] });
  return groups;
}

/**
 * System charts of runs [{ run, color, label }] with system data { id: { key: points } }: a card per
 * group; one run's parts (GPUs, process/system) get their own line, several runs one colour each.
 */
export function drawSystem(container, runs, system, { sync } = {}) {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(system[r.run.id] ?? {})))];
  const charts = [];
  const grid = el('div', { class: 'chart-grid' });
  container.replaceChildren(grid);
  const gpu = keys.some((k) => k.startsWith('gpu.'));
  if (keys.length === 0) {
    container.replaceChildren(
      notice(
        'No system metrics recorded (the run had system sampling off, or ended before the first sample).',
      ),
    );
    return charts;
  }
  // one run: a chart per group, a line per part (GPU, process/system); several runs: a chart per
  // part, a line (colour) per run
  const perChart = systemGroups(keys).flatMap((g) =>
    runs.length === 1 || g.keys.length === 1
      ? [{ ...g, title: g.title }]
      : g.keys.map((k) => ({ ...g, title: `${g.title} · ${k[1]}`, keys: [k] })),
  );
  for (const g of perChart) {
    const series = [];
    runs.forEach((r) => {
      g.keys.forEach(([key, part], j) => {
        const pts = system[r.run.id]?.[key];
        if (!pts) return;
        const label = runs.length === 1 ? part || key : r.label;
        const color = runs.length === 1 ? PART_COLORS[j % PART_COLORS.length] : r.color;
        series.push({ label, color, ...systemXY(pts, r.run) });
      });
    });
    if (series.length === 0) continue;
    const total = runs.map((r) => system[r.run.id]?.['gpu.0.memory_total_mb']?.at(-1)?.[1]).find((v) => v);
    const subtitle = g.title.startsWith('GPU memory used') && total ? `of ${MB(total)}` : undefined;
    const { card, body } = chartCard(g.title, {
      subtitle,
      onPng: () => chart.png(g.title),
      onCsv: () => {
        const rows = [['run_id', 'run', 'key', 'seconds_since_start', 'value', 'wall_time']];
        for (const r of runs)
          for (const [key] of g.keys)
            for (const p of system[r.run.id]?.[key] ?? [])
              rows.push([r.run.id, r.run.name, key, p[0] - Date.parse(r.run.startedAt) / 1000, p[1], p[0]]);
        downloadCsv(`${slug(g.title)}.csv`, rows);
      },
    });
    card.dataset.key = g.title;
    grid.append(card);
    const chart = lineChart(body, series, { ...xOptions('time'), yFmt: g.fmt, sync });
    charts.push(chart);
  }
  if (!gpu)
    grid.prepend(
      el(
        'section',
        { class: 'card chart-card note-card' },
        el('h3', {}, 'GPU'),
        notice('Not recorded: no NVIDIA GPU (nvidia-smi) on the machine that ran this.'),
      ),
    );
  return charts;
}

const PART_COLORS = ['#3b6fe0', '#e8590c', '#2b9348', '#d6336c', '#7048e8', '#0c8599', '#c99400', '#6b8e23'];
