// A run's page: header and tabs — Overview (config, summary, command, host, git, times), Charts
// (every metric), System, Logs, Precision. A running run refreshes itself.
import { api } from './api.js';
import { drawSystem, fetchMetrics, MetricGrid } from './grid.js';
import { logsTab } from './logs.js';
import { precisionTab } from './precision.js';
import { CHART_POINTS, chartControls } from './series.js';
import { getSelected, selectedColor, toggleSelected } from './state.js';
import {
  COLORS,
  el,
  failure,
  flatten,
  fmtBytes,
  fmtDate,
  fmtDuration,
  fmtValue,
  notice,
  sortKeys,
  statusBadge,
} from './util.js';

const TABS = {
  overview: 'Overview',
  charts: 'Charts',
  system: 'System',
  logs: 'Logs',
  precision: 'Precision',
};

export function runView(main, [id, tab = 'overview']) {
  if (!(tab in TABS)) tab = 'overview';
  let info = null;
  let current = null;
  const header = el('div', { class: 'run-head' });
  const tabs = el('nav', { class: 'tabs' });
  const box = el('div', { class: 'tab-body', id: `tab-${tab}` });
  main.replaceChildren(header, tabs, box);

  const run = () => ({ info, color: selectedColor(info.id) ?? COLORS[0] });

  async function load() {
    info = await api(`runs/${encodeURIComponent(id)}`);
    if (info.id !== id) location.replace(`#/run/${info.id}/${tab}`);
    renderHeader();
    tabs.replaceChildren(
      ...Object.entries(TABS).map(([k, v]) =>
        el('a', { href: `#/run/${info.id}/${k}`, class: k === tab ? 'active' : '', dataset: { tab: k } }, v),
      ),
    );
    const make = {
      overview: overviewTab,
      charts: chartsTab,
      system: systemTab,
      logs: logsTab,
      precision: precisionTab,
    }[tab];
    current = make(box, run);
  }

  function renderHeader() {
    const inCompare = getSelected().includes(info.id);
    header.replaceChildren(
      el(
        'div',
        { class: 'crumbs' },
        el('a', { href: '#/' }, 'Runs'),
        ' / ',
        info.project,
        info.group ? ` / ${info.group}` : '',
      ),
      el(
        'div',
        { class: 'run-title' },
        el('h1', {}, info.name),
        statusBadge(info.status),
        el('code', { class: 'run-id' }, info.id),
        info.tags.map((t) => el('span', { class: 'chip' }, t)),
        el('span', { class: 'spacer' }),
        el('span', { class: 'muted' }, `${fmtDate(info.startedAt)} · ${fmtDuration(info.durationSec)}`),
        el(
          'button',
          {
            class: inCompare ? 'ghost' : 'primary',
            onclick: () => {
              toggleSelected(info.id);
              renderHeader();
            },
          },
          inCompare ? 'Remove from comparison' : 'Add to comparison',
        ),
      ),
    );
  }

  const failed = (e) => main.replaceChildren(failure(e));
  load().catch(failed);
  return {
    async tick() {
      if (info?.status !== 'running') return;
      info = await api(`runs/${info.id}`);
      renderHeader();
      await current?.tick?.();
    },
    dispose: () => current?.dispose?.(),
  };
}

function kvTable(obj, { sort = false } = {}) {
  const keys = sort ? sortKeys(Object.keys(obj)) : Object.keys(obj);
  if (keys.length === 0) return notice('None recorded.');
  return el(
    'table',
    { class: 'kv' },
    el(
      'tbody',
      {},
      keys.map((k) =>
        el(
          'tr',
          {},
          el('th', {}, k),
          el(
            'td',
            {},
            typeof obj[k] === 'string' && obj[k].length > 40 ? el('code', {}, obj[k]) : fmtValue(k, obj[k]),
          ),
        ),
      ),
    ),
  );
}

/** Config keys; a nested object of more than four keys folds into a details element. */
function configTable(config) {
  const flat = {};
  const folded = [];
  for (const [k, v] of Object.entries(config ?? {})) {
    const inner = v !== null && typeof v === 'object' && !Array.isArray(v) ? flatten(v) : null;
    if (inner && Object.keys(inner).length > 4) folded.push([k, inner]);
    else Object.assign(flat, inner ? flatten({ [k]: v }) : { [k]: v });
  }
  return [
    kvTable(flat),
    folded.map(([k, inner]) =>
      el('details', {}, el('summary', {}, `${k} (${Object.keys(inner).length} keys)`), kvTable(inner)),
    ),
  ];
}

const card = (title, ...content) =>
  el('section', { class: 'card info-card' }, el('h3', {}, title), ...content);

function overviewTab(box, run) {
  const { info } = run();
  const e = info.env ?? {};
  const summary = Object.fromEntries(Object.entries(info.summary).filter(([k]) => !k.includes('/')));
  const batch = Object.fromEntries(Object.entries(info.summary).filter(([k]) => k.includes('/')));
  const runRows = {
    status: `${info.status}${info.exitCode !== null && info.exitCode !== undefined ? ` (exit code ${info.exitCode})` : ''}`,
    started: fmtDate(info.startedAt),
    ended: info.endedAt ? fmtDate(info.endedAt) : info.status === 'running' ? 'still running' : '–',
    duration: fmtDuration(info.durationSec),
    'last heartbeat': fmtDate(info.heartbeatAt),
    project: info.project,
    group: info.group ?? '–',
    tags: info.tags.join(', ') || '–',
    metrics: `${info.metricKeys.length} keys, ${info.metricKeys.reduce((n, k) => n + k.count, 0).toLocaleString('en-US')} points`,
  };
  const envRows = {
    host: e.host ?? '–',
    platform: e.platform ?? '–',
    node: e.node ?? '–',
    cpu: e.cpu ? `${e.cpu} × ${e.cpuCount}` : '–',
    memory: e.memoryBytes ? fmtBytes(e.memoryBytes) : '–',
    backend: e.backend ? `${e.backend}${e.device ? ` (${e.device})` : ''}` : '–',
    'git commit': e.git
      ? `${e.git.commit.slice(0, 12)}${e.git.branch ? ` on ${e.git.branch}` : ''}`
      : 'not in a git repository',
    directory: e.cwd ?? '–',
  };
  box.replaceChildren(
    el(
      'div',
      { class: 'overview-grid' },
      el(
        'div',
        { class: 'column' },
        card('Run', kvTable(runRows)),
        card(
          'Environment',
          e.command ? el('pre', { class: 'command', title: 'command line' }, e.command) : null,
          kvTable(envRows),
        ),
      ),
      el(
        'div',
        { class: 'column' },
        card(
          'Summary',
          kvTable(summary, { sort: true }),
          Object.keys(batch).length
            ? el(
                'details',
                {},
                el('summary', {}, `${Object.keys(batch).length} per-batch values`),
                kvTable(batch, { sort: true }),
              )
            : null,
        ),
      ),
      el('div', { class: 'column' }, card('Config', configTable(info.config))),
    ),
  );
  return {};
}

function chartsTab(box, run) {
  const grid = new MetricGrid(el('div', { class: 'sections' }), { sync: `run-${run().info.id}` });
  let data = {};
  const controls = chartControls(() => draw());
  box.replaceChildren(controls.node, grid.container);
  const draw = () => {
    const { info, color } = run();
    grid.update({
      runs: [{ run: info, color, label: info.name }],
      keys: info.metricKeys.map((k) => k.key),
      data,
      settings: controls.settings,
    });
  };
  const load = async () => {
    const { info } = run();
    data = await fetchMetrics(
      [info.id],
      info.metricKeys.map((k) => k.key),
      CHART_POINTS,
    );
    draw();
  };
  load().catch((e) => box.append(notice(e.message, 'error')));
  return { tick: load, dispose: () => grid.clear() };
}

function systemTab(box, run) {
  let charts = [];
  const load = async () => {
    const { info, color } = run();
    const system = await api(`runs/${info.id}/system`, { maxPoints: CHART_POINTS });
    for (const c of charts) c.destroy();
    charts = drawSystem(
      box,
      [{ run: info, color, label: info.name }],
      { [info.id]: system },
      { sync: `sys-${info.id}` },
    );
  };
  load().catch((e) => box.replaceChildren(notice(e.message, 'error')));
  return {
    tick: load,
    dispose: () => {
      for (const c of charts) c.destroy();
    },
  };
}
