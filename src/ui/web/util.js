// Small helpers of the page: DOM building (text is always set as text, never as HTML), number and
// time formatting, run colours, flattening configs, downloads.

/**
 * el('div', { class: 'card', onclick: fn, dataset: { id } }, child, 'text', [more children])
 * Strings become text nodes; null/false children are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(node.style, v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Run colours: distinct on white, in this order. */
export const COLORS = [
  '#3b6fe0',
  '#e8590c',
  '#2b9348',
  '#d6336c',
  '#7048e8',
  '#0c8599',
  '#c99400',
  '#6b8e23',
  '#a61e4d',
  '#495057',
  '#1098ad',
  '#f76707',
];
export const colorAt = (i) => COLORS[i % COLORS.length];

/** An integer with thousands separators (Intl is slow to start; this is not). */
const thousands = (v) => String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** A number as people read it: 4 significant digits, exponent for the very small or large. */
export function fmtNum(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v !== 'number') return typeof v === 'string' ? v : JSON.stringify(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return thousands(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

export function fmtBytes(b) {
  if (typeof b !== 'number' || !Number.isFinite(b)) return fmtNum(b);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Math.abs(b);
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${b < 0 ? '-' : ''}${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** Seconds as 45.2s, 3m05s, 2h04m. */
export function fmtDuration(sec) {
  if (typeof sec !== 'number' || !Number.isFinite(sec)) return '–';
  if (sec < 60) return `${Number.isInteger(sec) || sec >= 10 ? sec.toFixed(0) : sec.toFixed(1)}s`;
  if (sec < 3600) {
    const m = Math.floor(sec / 60);
    const s = Math.round(sec % 60);
    return s === 0 ? `${m}m` : `${m}m${String(s).padStart(2, '0')}s`;
  }
  return `${Math.floor(sec / 3600)}h${String(Math.floor((sec % 3600) / 60)).padStart(2, '0')}m`;
}

/** How a summary or config value is shown: bytes and seconds by their key's name. */
export function fmtValue(key, v) {
  if (typeof v === 'number' && /bytes$/.test(key)) return fmtBytes(v);
  if (typeof v === 'number' && /(^|_)(time|duration)$/.test(key)) return fmtDuration(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return fmtNum(v);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function fmtDate(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  const month = MONTHS[d.getMonth()];
  const year = d.getFullYear() === new Date().getFullYear() ? '' : ` ${d.getFullYear()}`;
  return `${month} ${d.getDate()}${year}, ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function fmtAgo(iso) {
  if (!iso) return '';
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A run's duration in seconds (running: until now; crashed without an end: unknown). */
export function runDuration(r) {
  if (r.durationSec !== undefined) return r.durationSec;
  const end = r.endedAt ? Date.parse(r.endedAt) : r.status === 'running' ? Date.now() : Number.NaN;
  return Math.max(0, end - Date.parse(r.startedAt)) / 1000;
}

/** Nested objects as `a.b` keys (as `keel runs compare` shows config differences). */
export function flatten(o, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(o ?? {})) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0)
      flatten(v, `${prefix}${k}.`, out);
    else out[prefix + k] = v;
  }
  return out;
}

/** Saves a Blob as a file through a temporary link. */
export function download(filename, blob) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

const csvCell = (v) => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** rows: arrays of cells (the first row the header). */
export function downloadCsv(filename, rows) {
  download(
    filename,
    new Blob([`${rows.map((r) => r.map(csvCell).join(',')).join('\n')}\n`], { type: 'text/csv' }),
  );
}

/** A file-name-safe version of a title. */
export const slug = (s) =>
  String(s)
    .replace(/[^\w.-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 80) || 'chart';

export function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

export function statusBadge(status) {
  return el('span', { class: `badge status-${status}`, title: status }, el('i'), status);
}

/** Whether a value is a number worth plotting. */
export const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

/** Summary keys shown first, in this order, when present. */
export const HEADLINE = [
  'loss',
  'accuracy',
  'val_loss',
  'val_accuracy',
  'training_time',
  'ms_per_step',
  'images_per_sec',
];

/** Sorts metric keys: headline keys first, then plain keys, then `a/b` keys, each alphabetically. */
export function sortKeys(keys) {
  const rank = (k) => (HEADLINE.includes(k) ? HEADLINE.indexOf(k) : k.includes('/') ? 2000 : 1000);
  return [...keys].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** A message shown where content would be: an empty state or an error. */
export function notice(text, kind = 'empty') {
  return el('div', { class: `notice notice-${kind}` }, text);
}

/** A view that could not load: the reason and the way back. */
export const failure = (e) =>
  el(
    'div',
    {},
    notice(e.message, 'error'),
    el('p', { class: 'notice' }, el('a', { href: '#/' }, '← All runs')),
  );
