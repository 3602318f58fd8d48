// Charts on uPlot: the card they sit in (PNG and CSV export), line charts of one or more series
// (overlaid runs) and saving a chart as PNG. Charts follow their card's width. plots.js: scatter, bars.
import uPlot from './uPlot.esm.js';
import { download, el, fmtNum, slug } from './util.js';

export const FAMILY = '-apple-system, "Segoe UI", Roboto, Arial, "Liberation Sans", sans-serif';
export const FONT = `12px ${FAMILY}`;
export const AXIS = {
  stroke: '#5f6b7a',
  font: FONT,
  grid: { stroke: '#edf0f4', width: 1 },
  ticks: { stroke: '#dfe3e8', width: 1, size: 4 },
};

/** y-axis width from its longest label. */
export const axisSize = (_u, values) => {
  if (!values) return 50;
  const longest = values.reduce((m, v) => Math.max(m, String(v ?? '').length), 0);
  return Math.max(40, 14 + longest * 7);
};

/** A card: title, optional subtitle, export buttons, and a body the chart goes in. */
export function chartCard(title, { subtitle, warn, onPng, onCsv, wide } = {}) {
  const body = el('div', { class: 'chart-body' });
  const card = el(
    'section',
    { class: `card chart-card${wide ? ' wide' : ''}`, dataset: { title } },
    el(
      'div',
      { class: 'chart-head' },
      el('h3', { title }, title, subtitle ? el('small', { class: warn ? 'warn' : '' }, subtitle) : null),
      el(
        'span',
        { class: 'chart-actions' },
        onPng
          ? el(
              'button',
              { class: 'ghost', title: 'Save the chart as PNG', onclick: onPng, dataset: { export: 'png' } },
              'PNG',
            )
          : null,
        onCsv
          ? el(
              'button',
              {
                class: 'ghost',
                title: "Save the chart's data as CSV",
                onclick: onCsv,
                dataset: { export: 'csv' },
              },
              'CSV',
            )
          : null,
      ),
    ),
    body,
  );
  return { card, body };
}

/** Debiased exponential moving average (as TensorBoard and W&B smooth); nulls stay null. */
export function smooth(ys, alpha) {
  if (!(alpha > 0)) return ys;
  const out = new Array(ys.length);
  let s = 0;
  let w = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y === null || y === undefined || !Number.isFinite(y)) {
      out[i] = null;
      continue;
    }
    s = alpha * s + (1 - alpha) * y;
    w = alpha * w + (1 - alpha);
    out[i] = s / w;
  }
  return out;
}

/** Sorted by x with duplicate xs merged (the last value wins): what uPlot.join needs. */
function sortedXY(xs, ys) {
  let sorted = true;
  for (let i = 1; i < xs.length && sorted; i++) if (!(xs[i] > xs[i - 1])) sorted = false;
  if (sorted) return [xs, ys];
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b] || a - b);
  const ox = [];
  const oy = [];
  for (const i of order) {
    if (ox.length > 0 && ox[ox.length - 1] === xs[i]) oy[oy.length - 1] = ys[i];
    else {
      ox.push(xs[i]);
      oy.push(ys[i]);
    }
  }
  return [ox, oy];
}

export function observeWidth(body, u, height) {
  const ro = new ResizeObserver(() => {
    const w = Math.floor(body.clientWidth);
    if (w > 0 && Math.abs(w - u.width) > 1)
      u.setSize({ width: w, height: typeof height === 'function' ? height() : height });
  });
  ro.observe(body);
  return ro;
}

/**
 * Line chart of series [{ label, color, xs, ys }] sharing an x-axis. opts: xLabel, xFmt, yFmt, log
 * (log y: non-positive values dropped), smoothing (0..1), height, sync (cursor sync key), xIncrs
 * (tick steps to choose from).
 */
export function lineChart(body, series, opts = {}) {
  const height = opts.height ?? 220;
  const build = (list) => {
    const tables = list.map((s) => {
      let ys = smooth(s.ys, opts.smoothing ?? 0);
      if (opts.log) ys = ys.map((y) => (y !== null && y > 0 ? y : null));
      return sortedXY(s.xs, ys);
    });
    if (tables.length === 0) return [[]];
    return tables.length === 1 ? [tables[0][0], tables[0][1]] : uPlot.join(tables);
  };
  const xFmt = opts.xFmt ?? fmtNum;
  const yFmt = opts.yFmt ?? fmtNum;
  const u = new uPlot(
    {
      width: Math.max(200, Math.floor(body.clientWidth)),
      height,
      legend: { live: true },
      cursor: {
        sync: opts.sync ? { key: opts.sync } : undefined,
        drag: { x: true, y: false },
        focus: { prox: 24 },
      },
      focus: { alpha: 0.35 },
      scales: { x: { time: false }, y: opts.log ? { distr: 3, log: opts.logBase ?? 10 } : {} },
      axes: [
        {
          ...AXIS,
          values: (_u, splits) => splits.map((v) => xFmt(v)),
          incrs: opts.xIncrs,
          label: opts.xLabel,
          labelFont: FONT,
          labelSize: 18,
        },
        { ...AXIS, values: (_u, splits) => splits.map((v) => yFmt(v)), size: axisSize },
      ],
      series: [
        { label: opts.xLabel ?? 'x', value: (_u, v) => (v === null ? '–' : xFmt(v)) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 1.75,
          spanGaps: true,
          points: { size: 6, fill: s.color },
          value: (_u, v) => (v === null || v === undefined ? '–' : yFmt(v)),
        })),
      ],
    },
    build(series),
    body,
  );
  const ro = observeWidth(body, u, height);
  body.uplot = u;
  body.dataset.series = String(series.length);
  body.dataset.points = String(series.reduce((n, s) => n + s.xs.length, 0));
  return {
    u,
    /** New data for the same series (live updates), keeping the zoom when zoomed in. */
    setData(next) {
      series = next;
      u.setData(build(next));
      body.dataset.points = String(next.reduce((n, s) => n + s.xs.length, 0));
    },
    png: (title) =>
      savePng(
        u,
        title,
        series.map((s) => ({ label: s.label, color: s.color })),
      ),
    destroy() {
      ro.disconnect();
      u.destroy();
    },
  };
}

/** Saves the chart's canvas as a PNG with its title and a legend, on white. */
export function savePng(u, title, legend) {
  const src = u.ctx.canvas;
  const dpr = devicePixelRatio || 1;
  const pad = 16 * dpr;
  const titleH = 30 * dpr;
  const c = document.createElement('canvas');
  const ctx = c.getContext('2d');
  ctx.font = `${12 * dpr}px ${FAMILY}`;
  // legend entries flow left to right, wrapping at the chart's width
  const rows = [[]];
  let x = 0;
  for (const item of legend) {
    const w = 22 * dpr + ctx.measureText(item.label).width + 14 * dpr;
    if (x + w > src.width && rows[rows.length - 1].length > 0) {
      rows.push([]);
      x = 0;
    }
    rows[rows.length - 1].push({ ...item, x });
    x += w;
  }
  const legendH = legend.length > 0 ? rows.length * 20 * dpr + 8 * dpr : 0;
  c.width = src.width + 2 * pad;
  c.height = pad + titleH + src.height + legendH + pad;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.fillStyle = '#1f2733';
  ctx.font = `600 ${15 * dpr}px ${FAMILY}`;
  ctx.textBaseline = 'middle';
  ctx.fillText(title, pad, pad + titleH / 2);
  ctx.drawImage(src, pad, pad + titleH);
  ctx.font = `${12 * dpr}px ${FAMILY}`;
  rows.forEach((row, r) => {
    const y = pad + titleH + src.height + 8 * dpr + r * 20 * dpr + 10 * dpr;
    for (const item of row) {
      ctx.fillStyle = item.color;
      ctx.fillRect(pad + item.x, y - 5 * dpr, 14 * dpr, 10 * dpr);
      ctx.fillStyle = '#2d3643';
      ctx.fillText(item.label, pad + item.x + 20 * dpr, y);
    }
  });
  c.toBlob((blob) => blob && download(`${slug(title)}.png`, blob), 'image/png');
}
