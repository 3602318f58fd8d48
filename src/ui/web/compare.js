// The compare view: the selected runs overlaid on every metric (one colour each, legend and hover
// values, smoothing, log scale, x-axis choice), a scatter plot of any two summary or config values
// (default training time vs final loss, as in the seed), speedup against a baseline run, system
// metrics side by side, and the config differences.
import { api, pool } from './api.js';
import { chartCard } from './charts.js';
import { drawSystem, fetchMetrics, MetricGrid } from './grid.js';
import { currentRuns, loadRuns } from './live.js';
import { barChart, scatterChart } from './plots.js';
import { CHART_POINTS, chartControls } from './series.js';
import { getSelected, pref, setPref, setSelected } from './state.js';
import {
  colorAt,
  downloadCsv,
  el,
  failure,
  flatten,
  fmtValue,
  isNum,
  notice,
  runDuration,
  sortKeys,
  statusBadge,
} from './util.js';

/** Numeric fields of runs for the scatter plot and the bar chart: [{ id, label, get(run) }]. */
function numericFields(runs) {
  const fields = [{ id: 'duration', label: 'duration (s)', get: (r) => runDuration(r) }];
  const summary = new Set();
  const config = new Set();
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.summary ?? {})) if (isNum(v) && !k.includes('/')) summary.add(k);
    for (const [k, v] of Object.entries(flatten(r.config))) if (isNum(v)) config.add(k);
  }
  for (const k of sortKeys(summary))
    fields.push({ id: `summary.${k}`, label: k, get: (r) => r.summary?.[k] });
  for (const k of [...config].sort())
    fields.push({ id: `config.${k}`, label: `config.${k}`, get: (r) => flatten(r.config)[k] });
  return fields;
}

const pick = (fields, wanted, fallback) =>
  fields.find((f) => f.id === wanted) ?? fields.find((f) => f.id === fallback) ?? fields[0];
const select = (id, options, value, onchange) =>
  el(
    'select',
    { id, onchange: (e) => onchange(e.target.value) },
    options.map(([v, label]) => el('option', { value: v, selected: v === value }, label)),
  );

export function compareView(main, [list]) {
  const ids = (list ? list.split(',') : getSelected()).filter(Boolean);
  const disposers = [];
  if (ids.length < 2) {
    main.replaceChildren(
      el('div', { class: 'page-head' }, el('h1', {}, 'Compare')),
      notice('Select two or more runs in the runs table to compare them.'),
      el('p', {}, el('a', { href: '#/' }, '← Runs')),
    );
    return {};
  }
  const legend = el('div', { class: 'legend-chips' });
  const scatterBox = el('div');
  const barBox = el('div');
  const controls = chartControls(() => drawMetrics());
  const sections = el('div', { class: 'sections', id: 'compare-charts' });
  const systemBox = el('div', { id: 'compare-system' });
  const configBox = el('div', { id: 'compare-config' });
  main.replaceChildren(
    el('div', { class: 'page-head' }, el('h1', {}, `Comparing ${ids.length} runs`), legend),
    el('div', { class: 'compare-top' }, scatterBox, barBox),
    el('div', { class: 'spaced' }, controls.node),
    sections,
    el('h2', { class: 'section-title big' }, 'System'),
    systemBox,
    el('h2', { class: 'section-title big' }, 'Config and summary'),
    configBox,
  );
  const grid = new MetricGrid(sections, { sync: 'compare' });
  let runs = [];
  let data = {};

  const entries = () => runs.map((r, i) => ({ run: r, color: colorAt(i), label: r.name }));

  function drawLegend() {
    legend.replaceChildren(
      ...entries().map((e) =>
        el(
          'span',
          { class: 'legend-chip', dataset: { id: e.run.id } },
          el('i', { class: 'dot', style: { background: e.color, borderColor: e.color } }),
          el('a', { href: `#/run/${e.run.id}` }, e.run.name),
          statusBadge(e.run.status),
          el(
            'button',
            {
              class: 'x',
              title: 'Remove from the comparison',
              onclick: () => (location.hash = `#/compare/${ids.filter((x) => x !== e.run.id).join(',')}`),
            },
            '×',
          ),
        ),
      ),
    );
  }

  function drawMetrics() {
    const keys = [...new Set(runs.flatMap((r) => Object.keys(data[r.id] ?? {})))];
    grid.update({ runs: entries(), keys, data, settings: controls.settings });
  }

  function drawScatter() {
    for (const d of disposers.splice(0)) d();
    const fields = numericFields(runs);
    const fx = pick(fields, pref('scatterX', null), 'summary.training_time');
    const fy = pick(fields, pref('scatterY', null), 'summary.loss');
    const points = entries()
      .map((e) => ({ x: fx.get(e.run), y: fy.get(e.run), label: e.run.name, color: e.color, id: e.run.id }))
      .filter((p) => isNum(p.x) && isNum(p.y));
    const missing = runs.length - points.length;
    const title = `${fy.label} vs ${fx.label}`;
    const { card, body } = chartCard(title, {
      subtitle: missing ? `${missing} run${missing > 1 ? 's' : ''} without both values` : undefined,
      wide: true,
      onPng: () => chart?.png(title),
      onCsv: () =>
        downloadCsv('scatter.csv', [
          ['run_id', 'run', fx.id, fy.id],
          ...points.map((p) => [p.id, p.label, p.x, p.y]),
        ]),
    });
    card.id = 'scatter';
    const opts = fields.map((f) => [f.id, f.label]);
    card.querySelector('.chart-head').after(
      el(
        'div',
        { class: 'chart-options' },
        el(
          'label',
          {},
          'X ',
          select('scatter-x', opts, fx.id, (v) => {
            setPref('scatterX', v);
            drawScatter();
          }),
        ),
        el(
          'label',
          {},
          'Y ',
          select('scatter-y', opts, fy.id, (v) => {
            setPref('scatterY', v);
            drawScatter();
          }),
        ),
      ),
    );
    scatterBox.replaceChildren(card);
    const chart = points.length
      ? scatterChart(body, points, {
          xLabel: fx.label,
          yLabel: fy.label,
          xFmt: (v) => fmtValue(fx.label, v),
          yFmt: (v) => fmtValue(fy.label, v),
        })
      : null;
    if (!chart) body.append(notice('No run has both values.'));
    if (chart) disposers.push(() => chart.destroy());
    drawBars(fields);
  }

  function drawBars(fields) {
    const timeFields = fields.filter((f) => /time|duration|ms_per|per_sec|throughput/.test(f.id));
    const fm = pick(timeFields, pref('speedMetric', null), 'summary.training_time');
    const higherBetter = /per_sec|throughput/.test(fm.id);
    const defaultBase = runs.find((r) => r.config?.policy === 'float32')?.id ?? runs[0].id;
    const baseId = runs.some((r) => r.id === pref('baseline', null)) ? pref('baseline', null) : defaultBase;
    const base = runs.find((r) => r.id === baseId);
    const bv = fm.get(base);
    const bars = entries().map((e) => {
      const v = fm.get(e.run);
      const speedup = isNum(v) && isNum(bv) && v > 0 && bv > 0 ? (higherBetter ? v / bv : bv / v) : null;
      return {
        label: e.run.name,
        value: speedup,
        color: e.color,
        note: `${fm.label}: ${fmtValue(fm.label, v)}`,
        id: e.run.id,
        raw: v,
      };
    });
    const title = `Speedup vs ${base.name}`;
    const { card, body } = chartCard(title, {
      subtitle: `${fm.label}, ${higherBetter ? 'higher' : 'lower'} is faster`,
      wide: true,
      onPng: () => chart.png(title),
      onCsv: () =>
        downloadCsv('speedup.csv', [
          ['run_id', 'run', fm.id, `speedup_vs_${base.id}`],
          ...bars.map((b) => [b.id, b.label, b.raw, b.value]),
        ]),
    });
    card.id = 'speedup';
    card.querySelector('.chart-head').after(
      el(
        'div',
        { class: 'chart-options' },
        el(
          'label',
          {},
          'Baseline ',
          select(
            'baseline',
            runs.map((r) => [r.id, r.name]),
            base.id,
            (v) => {
              setPref('baseline', v);
              drawScatter();
            },
          ),
        ),
        el(
          'label',
          {},
          'Time ',
          select(
            'speed-metric',
            timeFields.map((f) => [f.id, f.label]),
            fm.id,
            (v) => {
              setPref('speedMetric', v);
              drawScatter();
            },
          ),
        ),
      ),
    );
    barBox.replaceChildren(card);
    const chart = barChart(body, bars, {
      reference: 1,
      valueFmt: (v) => `${v.toFixed(2)}×`,
      yLabel: 'speedup',
    });
    disposers.push(() => chart.destroy());
  }

  function drawConfig() {
    const flat = runs.map((r) => flatten(r.config));
    // top-level keys first, then nested ones
    const keys = [...new Set(flat.flatMap((c) => Object.keys(c)))].sort(
      (a, b) => Number(a.includes('.')) - Number(b.includes('.')) || a.localeCompare(b),
    );
    const same = (k) => flat.every((c) => k in c && JSON.stringify(c[k]) === JSON.stringify(flat[0][k]));
    const differing = keys.filter((k) => !same(k));
    let showAll = false;
    const head = el(
      'tr',
      {},
      el('th', {}, 'key'),
      entries().map((e) =>
        el(
          'th',
          {},
          el('i', { class: 'dot', style: { background: e.color, borderColor: e.color } }),
          e.run.name,
        ),
      ),
    );
    const table = el('table', { class: 'kv diff', id: 'config-diff' });
    const summaryKeys = sortKeys(
      [...new Set(runs.flatMap((r) => Object.keys(r.summary ?? {})))].filter((k) => !k.includes('/')),
    );
    const cell = (k, v) =>
      el(
        'td',
        {},
        v === undefined ? '–' : typeof v === 'object' && v !== null ? JSON.stringify(v) : fmtValue(k, v),
      );
    const render = () => {
      const shown = showAll ? keys : differing;
      table.replaceChildren(
        el('thead', {}, head),
        el(
          'tbody',
          {},
          shown.length === 0
            ? el('tr', {}, el('td', { colspan: runs.length + 1 }, notice('The configs are identical.')))
            : null,
          shown.map((k) =>
            el(
              'tr',
              { class: differing.includes(k) ? 'differs' : '' },
              el('th', {}, k),
              flat.map((c) => cell(k, c[k])),
            ),
          ),
          el('tr', { class: 'subhead' }, el('th', { colspan: runs.length + 1 }, 'Summary')),
          summaryKeys.map((k) =>
            el(
              'tr',
              {},
              el('th', {}, k),
              runs.map((r) => cell(k, r.summary?.[k])),
            ),
          ),
        ),
      );
    };
    render();
    configBox.replaceChildren(
      el(
        'section',
        { class: 'card' },
        el(
          'div',
          { class: 'chart-head' },
          el('h3', {}, `Config: ${differing.length} of ${keys.length} keys differ`),
          el(
            'label',
            { class: 'muted' },
            el('input', {
              type: 'checkbox',
              onchange: (e) => {
                showAll = e.target.checked;
                render();
              },
            }),
            ' show identical keys',
          ),
        ),
        el('div', { class: 'table-scroll' }, table),
      ),
    );
  }

  let systemCharts = [];
  async function loadSystem() {
    const system = {};
    await pool(
      runs,
      4,
      async (r) => (system[r.id] = await api(`runs/${r.id}/system`, { maxPoints: CHART_POINTS })),
    );
    for (const c of systemCharts) c.destroy();
    systemCharts = drawSystem(systemBox, entries(), system, { sync: 'compare-sys' });
  }

  async function load(full) {
    const all = currentRuns() ?? (await loadRuns());
    // runs not in the list (an id prefix in the address): asked for one by one, which says why if unknown
    runs = await pool(
      ids,
      6,
      async (id) => all.find((r) => r.id === id) ?? (await api(`runs/${encodeURIComponent(id)}`)),
    );
    // the compared runs become the selection (so that their colours match in the table)
    const shownIds = runs.map((r) => r.id);
    if (full && shownIds.join(',') !== getSelected().join(',')) setSelected(shownIds);
    drawLegend();
    drawScatter();
    if (full) drawConfig();
    data = await fetchMetrics(
      runs.map((r) => r.id),
      null,
      CHART_POINTS,
    );
    drawMetrics();
    await loadSystem();
  }

  load(true).catch((e) => main.replaceChildren(failure(e)));
  return {
    async tick() {
      if (
        runs.some((r) => r.status === 'running') ||
        (currentRuns() ?? []).some((r) => ids.includes(r.id) && r.status === 'running')
      )
        await load(false);
    },
    dispose() {
      for (const d of disposers) d();
      for (const c of systemCharts) c.destroy();
      grid.clear();
    },
  };
}
