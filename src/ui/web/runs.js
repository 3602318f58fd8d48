// The runs table: every run with status, project, group, tags, times, policy and summary metrics as
// sortable columns (config fields on demand), filters, and the selection to compare.
import { currentRuns, storeInfo, subscribeRuns } from './live.js';
import {
  getSelected,
  onSelection,
  pref,
  selectedColor,
  setPref,
  setSelected,
  toggleSelected,
} from './state.js';
import {
  el,
  flatten,
  fmtAgo,
  fmtDate,
  fmtDuration,
  fmtValue,
  HEADLINE,
  notice,
  runDuration,
  sortKeys,
  statusBadge,
} from './util.js';

const STATUSES = ['running', 'finished', 'failed', 'crashed'];

const BASE_COLUMNS = [
  { id: 'status', label: 'Status', get: (r) => r.status, render: (r) => statusBadge(r.status) },
  { id: 'project', label: 'Project', get: (r) => r.project },
  { id: 'group', label: 'Group', get: (r) => r.group },
  {
    id: 'tags',
    label: 'Tags',
    get: (r) => r.tags.join(' '),
    render: (r) => r.tags.map((t) => el('span', { class: 'chip' }, t)),
  },
  {
    id: 'started',
    label: 'Started',
    get: (r) => Date.parse(r.startedAt),
    render: (r) => el('span', { title: fmtAgo(r.startedAt) }, fmtDate(r.startedAt)),
  },
  {
    id: 'duration',
    label: 'Duration',
    num: true,
    get: (r) => runDuration(r),
    render: (r) => fmtDuration(runDuration(r)),
  },
  {
    id: 'policy',
    label: 'Policy',
    get: (r) => r.config?.policy ?? null,
    render: (r) => (r.config?.policy ? el('code', { class: 'policy' }, String(r.config.policy)) : '–'),
  },
];

/** Summary and config columns: every key any run has (primitive values only). */
function dataColumns(runs) {
  const summary = new Set();
  const config = new Set();
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.summary ?? {}))
      if (v === null || typeof v !== 'object') summary.add(k);
    for (const [k, v] of Object.entries(flatten(r.config)))
      if (k !== 'policy' && (v === null || typeof v !== 'object')) config.add(k);
  }
  return [
    ...sortKeys(summary).map((k) => ({
      id: `s:${k}`,
      label: k,
      group: 'summary',
      num: true,
      get: (r) => r.summary?.[k] ?? null,
      render: (r) => fmtValue(k, r.summary?.[k]),
    })),
    ...[...config].sort().map((k) => ({
      id: `c:${k}`,
      label: k,
      group: 'config',
      get: (r) => flatten(r.config)[k] ?? null,
      render: (r) => fmtValue(k, flatten(r.config)[k]),
    })),
  ];
}

function defaultVisible(columns) {
  const ids = new Set(BASE_COLUMNS.map((c) => c.id));
  const headline = columns.filter((c) => c.group === 'summary' && HEADLINE.includes(c.label));
  for (const c of headline.length > 0 ? headline : columns.filter((c) => c.group === 'summary').slice(0, 6))
    ids.add(c.id);
  return ids;
}

function compareValues(a, b) {
  const na = a === null || a === undefined || (typeof a === 'number' && Number.isNaN(a));
  const nb = b === null || b === undefined || (typeof b === 'number' && Number.isNaN(b));
  if (na || nb) return na === nb ? 0 : na ? 1 : -1; // empty cells last
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

export function runsView(main) {
  const filters = { text: '', project: '', group: '', status: '' };
  let sort = pref('sort', { id: 'started', desc: true });
  let visible = null;
  let columns = [];

  const count = el('span', { class: 'muted' });
  const text = el('input', {
    type: 'search',
    id: 'run-filter',
    placeholder: 'Filter: name, id, tag, config value…',
    oninput: () => {
      filters.text = text.value.trim().toLowerCase();
      renderBody();
    },
  });
  const selects = {
    project: el('select', {
      id: 'filter-project',
      onchange: () => {
        filters.project = selects.project.value;
        renderBody();
      },
    }),
    group: el('select', {
      id: 'filter-group',
      onchange: () => {
        filters.group = selects.group.value;
        renderBody();
      },
    }),
    status: el('select', {
      id: 'filter-status',
      onchange: () => {
        filters.status = selects.status.value;
        renderBody();
      },
    }),
  };
  const columnMenu = el('div', { class: 'menu' });
  const compareBtn = el('button', {
    class: 'primary',
    id: 'compare-btn',
    onclick: () => (location.hash = `#/compare/${getSelected().join(',')}`),
  });
  const clearBtn = el('button', { class: 'ghost', onclick: () => setSelected([]) }, 'Clear');
  const table = el('table', { class: 'runs-table' });
  const wrap = el('div', { class: 'card table-wrap' }, table);

  main.replaceChildren(
    el(
      'div',
      { class: 'page-head' },
      el('h1', {}, 'Runs ', count),
      el(
        'div',
        { class: 'toolbar' },
        text,
        selects.project,
        selects.group,
        selects.status,
        el('details', { class: 'dropdown' }, el('summary', { class: 'button ghost' }, 'Columns'), columnMenu),
        el('span', { class: 'spacer' }),
        clearBtn,
        compareBtn,
      ),
    ),
    wrap,
  );

  function options(select, label, values) {
    const cur = select.value;
    select.replaceChildren(
      el('option', { value: '' }, `All ${label}`),
      ...values.map((v) => el('option', { value: v }, v)),
    );
    select.value = values.includes(cur) ? cur : '';
  }

  function renderColumnMenu() {
    const groups = [
      ['Run', BASE_COLUMNS],
      ['Summary', columns.filter((c) => c.group === 'summary')],
      ['Config', columns.filter((c) => c.group === 'config')],
    ];
    columnMenu.replaceChildren(
      ...groups.flatMap(([title, cols]) =>
        cols.length === 0
          ? []
          : [
              el('div', { class: 'menu-title' }, title),
              ...cols.map((c) =>
                el(
                  'label',
                  { class: 'menu-item' },
                  el('input', {
                    type: 'checkbox',
                    checked: visible.has(c.id),
                    onchange: (e) => {
                      if (e.target.checked) visible.add(c.id);
                      else visible.delete(c.id);
                      setPref('columns', [...visible]);
                      renderHead();
                      renderBody();
                    },
                  }),
                  c.label,
                ),
              ),
            ],
      ),
    );
  }

  const shown = () => [...BASE_COLUMNS, ...columns].filter((c) => visible.has(c.id));

  function filtered(runs) {
    const q = filters.text;
    return runs.filter((r) => {
      if (filters.project && r.project !== filters.project) return false;
      if (filters.group && (r.group ?? '') !== filters.group) return false;
      if (filters.status && r.status !== filters.status) return false;
      if (!q) return true;
      const hay = [
        r.id,
        r.name,
        r.project,
        r.group ?? '',
        ...r.tags,
        ...Object.values(flatten(r.config)).map(String),
      ]
        .join('\n')
        .toLowerCase();
      return q.split(/\s+/).every((w) => hay.includes(w));
    });
  }

  function renderHead() {
    const runs = filtered(currentRuns() ?? []);
    const all = runs.length > 0 && runs.every((r) => getSelected().includes(r.id));
    const th = (c) =>
      el(
        'th',
        {
          class: `${c.num ? 'num ' : ''}${sort.id === c.id ? `sorted ${sort.desc ? 'desc' : 'asc'}` : ''}`,
          title: c.group ? `${c.group}: ${c.label}` : c.label,
          dataset: { col: c.id },
          onclick: () => {
            sort = { id: c.id, desc: sort.id === c.id ? !sort.desc : c.num || c.id === 'started' };
            setPref('sort', sort);
            renderHead();
            renderBody();
          },
        },
        c.group === 'config' ? el('span', { class: 'col-kind' }, 'config ') : null,
        c.label,
        el('i', { class: 'arrow' }),
      );
    const nameCol = { id: 'name', label: 'Name', get: (r) => r.name };
    table.replaceChildren(
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el(
            'th',
            { class: 'check' },
            el('input', {
              type: 'checkbox',
              title: 'Select all shown',
              checked: all,
              onchange: (e) => selectAll(e.target.checked),
            }),
          ),
          th(nameCol),
          shown().map(th),
        ),
      ),
      el('tbody'),
    );
  }

  function selectAll(on) {
    const ids = filtered(currentRuns() ?? []).map((r) => r.id);
    setSelected(on ? [...getSelected(), ...ids] : getSelected().filter((id) => !ids.includes(id)));
  }

  function renderBody() {
    const runs = currentRuns() ?? [];
    const rows = filtered(runs);
    const col =
      [{ id: 'name', get: (r) => r.name }, ...BASE_COLUMNS, ...columns].find((c) => c.id === sort.id) ??
      BASE_COLUMNS[4];
    rows.sort((a, b) => {
      const d = compareValues(col.get(a), col.get(b));
      const empty = col.get(a) == null || col.get(b) == null;
      return (empty ? d : sort.desc ? -d : d) || a.id.localeCompare(b.id);
    });
    count.textContent = rows.length === runs.length ? `${runs.length}` : `${rows.length} of ${runs.length}`;
    const cols = shown();
    const tbody = table.tBodies[0];
    tbody.replaceChildren(
      ...rows.map((r) => {
        const color = selectedColor(r.id);
        return el(
          'tr',
          {
            dataset: { id: r.id },
            class: color ? 'selected' : '',
            onclick: (e) => e.target.closest('a, input') || toggleSelected(r.id),
          },
          el(
            'td',
            { class: 'check' },
            el('input', {
              type: 'checkbox',
              class: 'select',
              checked: !!color,
              onchange: (e) => toggleSelected(r.id, e.target.checked),
              'aria-label': `select ${r.name}`,
            }),
          ),
          el(
            'td',
            { class: 'name' },
            el('i', {
              class: 'dot',
              style: { background: color ?? 'transparent', borderColor: color ?? 'transparent' },
            }),
            el('a', { href: `#/run/${r.id}` }, r.name),
            el('small', { class: 'id' }, r.id),
          ),
          cols.map((c) =>
            el('td', { class: c.num ? 'num' : '' }, c.render ? c.render(r) : (c.get(r) ?? '–')),
          ),
        );
      }),
    );
    if (rows.length === 0) {
      const info = storeInfo();
      tbody.append(
        el(
          'tr',
          {},
          el(
            'td',
            { colspan: cols.length + 2 },
            notice(
              runs.length === 0
                ? `No runs yet in ${info?.runsDir ?? 'the store'}. Start one (keel train, or track.init() in your script): it shows up here live.`
                : 'No run matches the filters.',
            ),
          ),
        ),
      );
    }
    const n = getSelected().length;
    compareBtn.textContent =
      n >= 2 ? `Compare ${n} runs →` : n === 1 ? 'Select another run to compare' : 'Select runs to compare';
    compareBtn.disabled = n < 2;
    clearBtn.hidden = n === 0;
  }

  function refresh(runs) {
    columns = dataColumns(runs);
    if (!visible) {
      const saved = pref('columns', null);
      visible = Array.isArray(saved) ? new Set(saved) : defaultVisible(columns);
    }
    options(selects.project, 'projects', [...new Set(runs.map((r) => r.project))].sort());
    options(selects.group, 'groups', [...new Set(runs.map((r) => r.group).filter(Boolean))].sort());
    options(selects.status, 'statuses', STATUSES);
    renderColumnMenu();
    renderHead();
    renderBody();
  }

  if (currentRuns()) refresh(currentRuns());
  const unsubRuns = subscribeRuns(refresh);
  const unsubSel = onSelection(() => {
    renderHead();
    renderBody();
  });
  return {
    dispose() {
      unsubRuns();
      unsubSel();
    },
  };
}
