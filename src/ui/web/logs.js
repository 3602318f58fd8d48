// The Logs tab: the run's captured console (stdout and stderr), searchable, with line numbers and
// times; stderr in red; downloadable. A running run's new lines appear as they are written.
import { api } from './api.js';
import { download, el, notice, slug } from './util.js';

/** Lines drawn at most (the latest ones); the download has them all. */
const MAX_SHOWN = 20_000;

export function logsTab(box, run) {
  let entries = [];
  let query = '';
  let stderrOnly = false;
  const count = el('span', { class: 'muted', id: 'log-count' });
  const pre = el('div', { class: 'log', id: 'log-lines', role: 'log' });
  const search = el('input', {
    type: 'search',
    id: 'log-search',
    placeholder: 'Search the log…',
    oninput: () => {
      query = search.value;
      render();
    },
  });
  box.replaceChildren(
    el(
      'div',
      { class: 'controls card' },
      search,
      el(
        'label',
        {},
        el('input', {
          type: 'checkbox',
          onchange: (e) => {
            stderrOnly = e.target.checked;
            render();
          },
        }),
        ' stderr only',
      ),
      count,
      el('span', { class: 'spacer' }),
      el('button', { class: 'ghost', onclick: save }, 'Download .log'),
    ),
    el('section', { class: 'card log-card' }, pre),
  );

  function save() {
    const { info } = run();
    download(
      `${slug(info.name)}-${info.id}.log`,
      new Blob([`${entries.map((e) => e.line).join('\n')}\n`], { type: 'text/plain' }),
    );
  }

  function lineNode(e, i, q) {
    const text = el('span', { class: 'text' });
    if (q) {
      // highlight each occurrence, case-insensitively
      const lower = e.line.toLowerCase();
      let at = 0;
      for (let j = lower.indexOf(q); j >= 0; j = lower.indexOf(q, at)) {
        text.append(e.line.slice(at, j), el('mark', {}, e.line.slice(j, j + q.length)));
        at = j + q.length;
      }
      text.append(e.line.slice(at));
    } else text.textContent = e.line;
    const t = new Date(e.time * 1000);
    const time = `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}:${String(t.getSeconds()).padStart(2, '0')}`;
    return el(
      'div',
      { class: `line ${e.stream}` },
      el('span', { class: 'ln' }, String(i + 1)),
      el('span', { class: 'time' }, time),
      text,
    );
  }

  function render() {
    const q = query.trim().toLowerCase();
    const hits = [];
    entries.forEach((e, i) => {
      if ((!stderrOnly || e.stream === 'stderr') && (!q || e.line.toLowerCase().includes(q))) hits.push(i);
    });
    const shown = hits.slice(-MAX_SHOWN);
    const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 30;
    pre.replaceChildren(...shown.map((i) => lineNode(entries[i], i, q)));
    if (entries.length === 0) pre.replaceChildren(notice('No console output captured for this run.'));
    else if (hits.length === 0) pre.append(notice('No line matches.'));
    count.textContent =
      q || stderrOnly ? `${hits.length} of ${entries.length} lines` : `${entries.length} lines`;
    if (hits.length > MAX_SHOWN) count.textContent += ` (showing the last ${MAX_SHOWN})`;
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }

  const load = async () => {
    entries = await api(`runs/${run().info.id}/logs`, { format: 'entries' });
    render();
  };
  load().catch((e) => box.replaceChildren(notice(e.message, 'error')));
  return { tick: load };
}
