// The compare view's plots of runs on uPlot: a scatter plot (a point per run, named) and a bar chart
// (a bar per run), with hover tooltips.
import { AXIS, axisSize, FAMILY, FONT, observeWidth, savePng } from './charts.js';
import uPlot from './uPlot.esm.js';
import { el, fmtNum, isNum } from './util.js';

/** Padded automatic range, so that points are not drawn on the frame. */
function padded(_u, min, max) {
  if (min === null || max === null) return [0, 1];
  if (min === max) {
    const d = Math.abs(min) * 0.1 || 1;
    return [min - d, max + d];
  }
  const d = (max - min) * 0.12;
  return [min - d, max + d];
}

/** Shows a tooltip next to the point under the cursor (nearest within 28 px), if any. */
function hoverTip(u, points, describe) {
  const tip = el('div', { class: 'chart-tip' });
  u.over.append(tip);
  return (uu) => {
    const { left, top } = uu.cursor;
    let best = -1;
    let bestD = 28 * 28;
    if (left >= 0 && top >= 0) {
      points.forEach((p, i) => {
        const dx = uu.valToPos(p.x, 'x') - left;
        const dy = uu.valToPos(p.y, 'y') - top;
        if (dx * dx + dy * dy < bestD) {
          bestD = dx * dx + dy * dy;
          best = i;
        }
      });
    }
    if (best < 0) {
      tip.style.display = 'none';
      return;
    }
    const p = points[best];
    tip.replaceChildren(...describe(p));
    tip.style.display = 'block';
    const x = uu.valToPos(p.x, 'x');
    const flip = x > uu.over.clientWidth * 0.6;
    tip.style.left = `${flip ? x - 12 - tip.offsetWidth : x + 12}px`;
    tip.style.top = `${Math.max(0, uu.valToPos(p.y, 'y') - tip.offsetHeight / 2)}px`;
  };
}

/**
 * Scatter plot: points [{ x, y, label, color }], one per run, named next to the point and on hover.
 * opts: xLabel, yLabel, xFmt, yFmt, height.
 */
export function scatterChart(body, points, opts = {}) {
  const height = opts.height ?? 300;
  const order = points.map((_, i) => i).sort((a, b) => points[a].x - points[b].x);
  const xs = order.map((i) => points[i].x);
  const cols = points.map((p, i) => xs.map((_, j) => (order[j] === i ? p.y : null)));
  const xFmt = opts.xFmt ?? fmtNum;
  const yFmt = opts.yFmt ?? fmtNum;
  const dpr = devicePixelRatio || 1;
  let onCursor = () => {};
  const u = new uPlot(
    {
      width: Math.max(200, Math.floor(body.clientWidth)),
      height,
      legend: { show: false },
      cursor: { x: false, y: false, points: { show: false }, drag: { x: false, y: false } },
      scales: { x: { time: false, range: padded }, y: { range: padded } },
      axes: [
        {
          ...AXIS,
          values: (_u, s) => s.map((v) => xFmt(v)),
          label: opts.xLabel,
          labelFont: `600 ${FONT}`,
          labelSize: 20,
        },
        {
          ...AXIS,
          values: (_u, s) => s.map((v) => yFmt(v)),
          label: opts.yLabel,
          labelFont: `600 ${FONT}`,
          labelSize: 20,
          size: axisSize,
        },
      ],
      series: [
        {},
        ...points.map((p) => ({
          label: p.label,
          stroke: p.color,
          fill: `${p.color}33`,
          paths: () => null,
          points: { show: true, size: 13, width: 2.5, fill: `${p.color}cc`, stroke: p.color },
        })),
      ],
      hooks: {
        draw: [
          (uu) => {
            // run names next to their points (on the canvas, so that the PNG has them too), where
            // they overlap no other name; the rest are named on hover
            const ctx = uu.ctx;
            ctx.save();
            ctx.font = `${12 * dpr}px ${FAMILY}`;
            ctx.textBaseline = 'middle';
            ctx.textAlign = 'left';
            ctx.fillStyle = '#2d3643';
            const placed = [];
            const { left, top, width, height: h } = uu.bbox;
            for (const p of points) {
              const x = uu.valToPos(p.x, 'x', true);
              const y = uu.valToPos(p.y, 'y', true);
              const w = ctx.measureText(p.label).width;
              const lh = 14 * dpr;
              const spots = [
                [x + 10 * dpr, y - 11 * dpr],
                [x + 10 * dpr, y + 11 * dpr],
                [x - 10 * dpr - w, y - 11 * dpr],
                [x - 10 * dpr - w, y + 11 * dpr],
              ];
              const free = spots.find(
                ([sx, sy]) =>
                  sx >= left &&
                  sx + w <= left + width &&
                  sy - lh / 2 >= top &&
                  sy + lh / 2 <= top + h &&
                  placed.every((b) => sx + w < b[0] || sx > b[2] || sy + lh / 2 < b[1] || sy - lh / 2 > b[3]),
              );
              if (!free) continue;
              placed.push([free[0] - 2 * dpr, free[1] - lh / 2, free[0] + w + 2 * dpr, free[1] + lh / 2]);
              ctx.fillText(p.label, free[0], free[1]);
            }
            ctx.restore();
          },
        ],
        setCursor: [(uu) => onCursor(uu)],
      },
    },
    [xs, ...cols],
    body,
  );
  onCursor = hoverTip(u, points, (p) => [
    el('b', { style: { color: p.color } }, p.label),
    el('div', {}, `${opts.xLabel ?? 'x'}: ${xFmt(p.x)}`),
    el('div', {}, `${opts.yLabel ?? 'y'}: ${yFmt(p.y)}`),
  ]);
  const ro = observeWidth(body, u, height);
  body.uplot = u;
  body.dataset.points = String(points.length);
  return {
    u,
    png: (title) =>
      savePng(
        u,
        title,
        points.map((p) => ({ label: p.label, color: p.color })),
      ),
    destroy() {
      ro.disconnect();
      u.destroy();
    },
  };
}

/**
 * Bar chart: bars [{ label, value, color, note }] (note: extra hover text), a dashed reference line
 * at opts.reference, values drawn above the bars with opts.valueFmt.
 */
export function barChart(body, bars, opts = {}) {
  const height = opts.height ?? 300;
  const xs = bars.map((_, i) => i);
  const cols = bars.map((b, i) => xs.map((j) => (j === i ? b.value : null)));
  const names = shortNames(bars.map((b) => b.label));
  const valueFmt = opts.valueFmt ?? fmtNum;
  const dpr = devicePixelRatio || 1;
  const max = Math.max(opts.reference ?? 0, ...bars.map((b) => (isNum(b.value) ? b.value : 0)));
  const barPath = uPlot.paths.bars({ size: [0.62, 90], align: 0 });
  let onCursor = () => {};
  const u = new uPlot(
    {
      width: Math.max(200, Math.floor(body.clientWidth)),
      height,
      legend: { show: false },
      cursor: { x: false, y: false, points: { show: false }, drag: { x: false, y: false } },
      scales: { x: { time: false, range: [-0.5, bars.length - 0.5] }, y: { range: [0, max * 1.18 || 1] } },
      axes: [
        {
          ...AXIS,
          grid: { show: false },
          splits: () => xs,
          values: (uu) => {
            const room = Math.max(6, Math.floor(uu.bbox.width / dpr / Math.max(1, bars.length) / 7));
            return names.map((n) => (n.length > room ? `${n.slice(0, room - 1)}…` : n));
          },
          size: 36,
        },
        {
          ...AXIS,
          values: (_u, s) => s.map((v) => valueFmt(v)),
          label: opts.yLabel,
          labelFont: `600 ${FONT}`,
          labelSize: 20,
          size: axisSize,
        },
      ],
      series: [
        {},
        ...bars.map((b) => ({
          label: b.label,
          fill: `${b.color}d9`,
          stroke: b.color,
          width: 1,
          paths: barPath,
          points: { show: false },
        })),
      ],
      hooks: {
        draw: [
          (uu) => {
            const ctx = uu.ctx;
            ctx.save();
            if (isNum(opts.reference)) {
              const y = uu.valToPos(opts.reference, 'y', true);
              ctx.strokeStyle = '#8a94a3';
              ctx.setLineDash([5 * dpr, 4 * dpr]);
              ctx.lineWidth = dpr;
              ctx.beginPath();
              ctx.moveTo(uu.bbox.left, y);
              ctx.lineTo(uu.bbox.left + uu.bbox.width, y);
              ctx.stroke();
              ctx.setLineDash([]);
            }
            ctx.font = `600 ${12 * dpr}px ${FAMILY}`;
            ctx.textAlign = 'center';
            ctx.textBaseline = 'bottom';
            ctx.fillStyle = '#2d3643';
            bars.forEach((b, i) => {
              if (!isNum(b.value)) return;
              ctx.fillText(
                valueFmt(b.value),
                uu.valToPos(i, 'x', true),
                uu.valToPos(b.value, 'y', true) - 4 * dpr,
              );
            });
            ctx.restore();
          },
        ],
        setCursor: [(uu) => onCursor(uu)],
      },
    },
    [xs, ...cols],
    body,
  );
  const pts = bars.map((b, i) => ({ ...b, x: i, y: isNum(b.value) ? b.value / 2 : 0 }));
  onCursor = hoverTip(u, pts, (p) =>
    [
      el('b', { style: { color: p.color } }, p.label),
      el('div', {}, valueFmt(p.value)),
      p.note ? el('div', {}, p.note) : null,
    ].filter(Boolean),
  );
  const ro = observeWidth(body, u, height);
  body.uplot = u;
  body.dataset.bars = String(bars.length);
  return {
    u,
    png: (title) =>
      savePng(
        u,
        title,
        bars.map((b) => ({ label: b.label, color: b.color })),
      ),
    destroy() {
      ro.disconnect();
      u.destroy();
    },
  };
}

/** Names without the prefix they all share (up to a separator): run-f32, run-f16 -> f32, f16. */
export function shortNames(names) {
  if (names.length < 2) return names;
  let p = 0;
  while (names.every((n) => p < n.length - 1 && n[p] === names[0][p])) p++;
  const cut = names[0].slice(0, p).search(/[-_ .:/][^-_ .:/]*$/);
  return cut < 0 ? names : names.map((n) => n.slice(cut + 1));
}
