// The five ship classes drawn in profile, in ship coordinates: u along the hull (0 stern .. 1 bow), v height
// above the waterline, both in units of the ship's length. Each class has its own silhouette and details:
// Cargo (stacked containers, aft bridge), Military (grey, raked bow, stepped superstructure, mast, gun),
// Carrier (long flat flight deck, small island, aircraft), Cruise (tall white terraced decks, windows,
// lifeboats, funnel), Tankers (long low hull, pipes, aft superstructure, sometimes LNG domes).

import { grey, type RGB, scale } from './canvas.js';
import type { ShipPainter } from './painter.js';

const WHITE: RGB = [0.93, 0.93, 0.91];
const WINDOW: RGB = [0.08, 0.1, 0.16];
const RED_BOTTOM: RGB = [0.55, 0.12, 0.1];

function bootTop(p: ShipPainter, bowU: number, h: number): void {
  p.poly(
    [
      [0.03, 0],
      [0.02, h],
      [bowU, h],
      [bowU - 0.01, 0],
    ],
    p.jitter(RED_BOTTOM, 0.05),
  );
}

function bridge(p: ShipPainter, u0: number, u1: number, base: number, h: number, col: RGB): void {
  p.block(u0, u1, base, base + h, col);
  const levels = Math.max(2, Math.round(h / 0.03));
  for (let k = 0; k < levels; k++)
    p.windows(u0 + 0.005, u1 - 0.003, base + (k + 0.45) * (h / levels), 0.006, 0.012, WINDOW, 0.6);
  // bridge wings
  p.block(u0 - 0.01, u1 + 0.01, base + h - 0.012, base + h - 0.004, col);
}

function funnel(p: ShipPainter, u: number, base: number, w: number, h: number, col: RGB, top: RGB): void {
  p.poly(
    [
      [u, base],
      [u + w, base],
      [u + w * 0.85, base + h],
      [u - w * 0.1, base + h],
    ],
    col,
  );
  p.block(u - w * 0.1, u + w * 0.85, base + h * 0.8, base + h, top);
}

export function drawCargo(p: ShipPainter): void {
  const fb = p.u(0.065, 0.085);
  const hull = p.jitter(
    p.pick<RGB>([
      [0.5, 0.1, 0.1],
      [0.1, 0.16, 0.34],
      [0.12, 0.12, 0.13],
      [0.1, 0.3, 0.16],
      [0.55, 0.32, 0.1],
    ]),
  );
  p.poly(
    [
      [0.04, 0],
      [0, fb * 0.6],
      [0, fb],
      [1, fb + 0.014],
      [0.93, 0],
    ],
    hull,
  );
  bootTop(p, 0.94, p.u(0.006, 0.018));
  const aft = p.rng.uniform() < 0.85;
  const [b0, b1] = aft ? [0.04, p.u(0.12, 0.16)] : [0.74, 0.84];
  const palette: RGB[] = [
    [0.7, 0.15, 0.12],
    [0.15, 0.3, 0.6],
    [0.2, 0.5, 0.25],
    [0.85, 0.5, 0.12],
    [0.55, 0.55, 0.55],
    [0.85, 0.85, 0.82],
    [0.85, 0.75, 0.2],
    [0.15, 0.45, 0.5],
  ];
  const cw = p.u(0.026, 0.036);
  const ch = p.u(0.018, 0.024);
  const maxLevels = 2 + p.rng.int(4);
  const spans = aft
    ? [[b1 + 0.015, 0.93]]
    : [
        [0.05, b0 - 0.01],
        [b1 + 0.01, 0.93],
      ];
  for (const [s0, s1] of spans) {
    for (let u = s0; u + cw <= s1; u += cw) {
      if (p.rng.uniform() < 0.08) continue;
      const n = 1 + p.rng.int(maxLevels);
      for (let k = 0; k < n; k++)
        p.block(
          u + 0.002,
          u + cw - 0.002,
          fb + k * ch + 0.002,
          fb + (k + 1) * ch,
          p.jitter(p.pick(palette), 0.05),
        );
    }
  }
  bridge(p, b0, b1, fb, p.u(0.11, 0.16), p.jitter(WHITE, 0.04));
  funnel(
    p,
    b0 + 0.005,
    fb + 0.1,
    0.03,
    p.u(0.05, 0.08),
    p.jitter(
      p.pick<RGB>([
        [0.8, 0.2, 0.1],
        [0.15, 0.2, 0.5],
        [0.9, 0.7, 0.1],
        [0.2, 0.2, 0.2],
      ]),
    ),
    grey(0.1),
  );
  if (p.rng.uniform() < 0.3)
    for (const u of [0.35, 0.55, 0.75]) {
      const col = p.pick<RGB>([[0.8, 0.7, 0.15], grey(0.5)]);
      p.line(u, fb, u, fb + 0.14, 0.006, col);
      p.line(u, fb + 0.13, u + 0.09, fb + 0.07, 0.004, col);
    }
}

export function drawTanker(p: ShipPainter): void {
  const fb = p.u(0.045, 0.062);
  const hull = p.jitter(
    p.pick<RGB>([
      [0.1, 0.1, 0.11],
      [0.4, 0.08, 0.08],
      [0.14, 0.2, 0.28],
      [0.1, 0.24, 0.14],
    ]),
  );
  p.poly(
    [
      [0.04, 0],
      [0, fb * 0.5],
      [0, fb],
      [0.97, fb + 0.008],
      [1, fb],
      [0.97, 0],
    ],
    hull,
  );
  bootTop(p, 0.97, p.u(0.004, 0.03));
  // deck colour seen just above the sheer line, pipes and manifolds
  const deck = p.jitter(
    p.pick<RGB>([
      [0.55, 0.15, 0.12],
      [0.2, 0.4, 0.25],
      [0.45, 0.45, 0.42],
    ]),
  );
  p.block(0.14, 0.96, fb, fb + 0.006, deck);
  p.line(0.15, fb + 0.012, 0.95, fb + 0.012, 0.004, grey(0.75));
  for (let u = 0.2; u < 0.92; u += p.u(0.05, 0.12)) p.line(u, fb, u, fb + p.u(0.012, 0.03), 0.004, grey(0.7));
  if (p.rng.uniform() < 0.25) {
    const col = p.jitter([0.9, 0.88, 0.8], 0.04);
    const n = 4 + p.rng.int(2);
    for (let k = 0; k < n; k++) p.dome(0.2 + ((k + 0.5) * 0.72) / n, fb, 0.055, col);
  } else p.block(0.3, 0.7, fb + 0.006, fb + 0.014, grey(0.6));
  const b1 = p.u(0.11, 0.15);
  bridge(p, 0.03, b1, fb, p.u(0.13, 0.19), p.jitter(WHITE, 0.04));
  funnel(
    p,
    0.025,
    fb + 0.12,
    0.035,
    p.u(0.05, 0.08),
    grey(0.15),
    p.jitter(
      p.pick<RGB>([
        [0.8, 0.2, 0.1],
        [0.9, 0.7, 0.1],
        [0.2, 0.3, 0.6],
      ]),
    ),
  );
  p.line(0.96, fb, 0.96, fb + 0.06, 0.004, grey(0.4));
}

export function drawMilitary(p: ShipPainter): void {
  const g = p.u(0.42, 0.62);
  const base: RGB = [g * 0.97, g, g * 1.05];
  const shade = (k: number) => p.jitter(scale(base, k), 0.015);
  const fs = p.u(0.05, 0.065);
  const fbow = fs + p.u(0.02, 0.035);
  p.poly(
    [
      [0.02, 0],
      [0, fs],
      [0.6, fs + 0.004],
      [0.8, fbow],
      [1, fbow + 0.006],
      [0.88, 0],
    ],
    shade(1),
  );
  p.block(0.03, 0.9, 0, 0.006, grey(0.12));
  for (let k = 0; k < 2 + p.rng.int(2); k++)
    p.block(0.83 + k * 0.014, 0.83 + k * 0.014 + 0.009, fbow * 0.45, fbow * 0.75, grey(0.92));
  // stepped superstructure, bridge with slanted face, mast and radar
  const s0 = p.u(0.26, 0.34);
  const s1 = p.u(0.6, 0.66);
  const h1 = p.u(0.05, 0.07);
  p.poly(
    [
      [s0, fs],
      [s1 + 0.03, fs],
      [s1, fs + h1],
      [s0 + 0.02, fs + h1],
    ],
    shade(0.92),
  );
  const h2 = p.u(0.04, 0.055);
  p.poly(
    [
      [s0 + 0.12, fs + h1],
      [s1 - 0.01, fs + h1],
      [s1 - 0.04, fs + h1 + h2],
      [s0 + 0.15, fs + h1 + h2],
    ],
    shade(0.95),
  );
  p.windows(s1 - 0.09, s1 - 0.04, fs + h1 + h2 * 0.5, 0.006, 0.012, WINDOW);
  const mu = s0 + p.u(0.17, 0.22);
  const top = fs + h1 + h2 + p.u(0.07, 0.12);
  p.poly(
    [
      [mu - 0.02, fs + h1 + h2],
      [mu + 0.02, fs + h1 + h2],
      [mu + 0.004, top],
      [mu - 0.004, top],
    ],
    shade(0.85),
  );
  p.line(mu - 0.03, top - 0.02, mu + 0.03, top - 0.02, 0.004, shade(0.6));
  p.block(mu - 0.012, mu + 0.012, top - 0.05, top - 0.035, shade(0.7));
  // funnel and gun
  p.poly(
    [
      [s0 + 0.03, fs + h1],
      [s0 + 0.1, fs + h1],
      [s0 + 0.09, fs + h1 + p.u(0.04, 0.06)],
      [s0 + 0.04, fs + h1 + 0.05],
    ],
    shade(0.88),
  );
  const gu = p.u(0.74, 0.8);
  const gv = fs + (fbow - fs) * ((gu - 0.6) / 0.2);
  p.poly(
    [
      [gu - 0.02, gv],
      [gu + 0.02, gv],
      [gu + 0.012, gv + 0.02],
      [gu - 0.016, gv + 0.02],
    ],
    shade(0.9),
  );
  p.line(gu + 0.01, gv + 0.012, gu + 0.07, gv + 0.016, 0.004, shade(0.7));
  if (p.rng.uniform() < 0.5) p.block(0.06, 0.18, fs, fs + 0.01, shade(0.8));
}

export function drawCarrier(p: ShipPainter): void {
  const g = p.u(0.38, 0.55);
  const base: RGB = [g * 0.97, g, g * 1.04];
  const shade = (k: number) => p.jitter(scale(base, k), 0.015);
  const dh = p.u(0.085, 0.115);
  p.poly(
    [
      [0.06, 0],
      [0.02, dh * 0.6],
      [-0.02, dh],
      [1.03, dh],
      [0.97, dh * 0.55],
      [0.92, 0],
    ],
    shade(1),
  );
  p.block(0.04, 0.93, 0, 0.006, grey(0.12));
  for (let k = 0; k < 2 + p.rng.int(3); k++) {
    const u = p.u(0.12, 0.8);
    p.block(u, u + p.u(0.04, 0.07), dh * 0.5, dh * 0.82, grey(0.12));
  }
  const skiJump = p.rng.uniform() < 0.3;
  p.poly(
    [
      [-0.02, dh],
      [1.03, dh],
      [1.04, dh + (skiJump ? 0.03 : 0.016)],
      [0.9, dh + 0.016],
      [-0.02, dh + 0.016],
    ],
    shade(0.75),
  );
  // island with mast and radar
  const i0 = p.u(0.55, 0.68);
  const ih = p.u(0.07, 0.1);
  p.block(i0, i0 + p.u(0.08, 0.12), dh + 0.016, dh + 0.016 + ih, shade(0.92));
  p.windows(i0 + 0.01, i0 + 0.07, dh + 0.016 + ih * 0.7, 0.006, 0.012, WINDOW);
  p.line(i0 + 0.04, dh + 0.016 + ih, i0 + 0.04, dh + 0.016 + ih + 0.06, 0.005, shade(0.7));
  p.block(i0 + 0.025, i0 + 0.055, dh + ih + 0.05, dh + ih + 0.06, shade(0.6));
  // aircraft on deck
  for (let k = 0; k < 3 + p.rng.int(6); k++) {
    const u = p.rng.uniform() < 0.6 ? p.u(0.02, i0 - 0.05) : p.u(i0 + 0.14, 0.98);
    const w = p.u(0.025, 0.04);
    p.poly(
      [
        [u, dh + 0.016],
        [u + w, dh + 0.016],
        [u + w * 0.8, dh + 0.026],
        [u + w * 0.2, dh + 0.03],
      ],
      grey(p.u(0.25, 0.45)),
    );
  }
}

export function drawCruise(p: ShipPainter): void {
  const fb = p.u(0.07, 0.09);
  const navy = p.rng.uniform() < 0.3;
  const hull = navy ? p.jitter([0.1, 0.12, 0.3], 0.04) : p.jitter(WHITE, 0.03);
  p.poly(
    [
      [0.05, 0],
      [0.01, fb * 0.5],
      [0, fb],
      [1, fb + 0.012],
      [0.94, 0],
    ],
    hull,
  );
  if (!navy && p.rng.uniform() < 0.6)
    p.block(
      0.02,
      0.96,
      fb * 0.3,
      fb * 0.42,
      p.jitter(
        p.pick<RGB>([
          [0.1, 0.25, 0.6],
          [0.1, 0.5, 0.6],
          [0.7, 0.15, 0.15],
        ]),
      ),
    );
  p.windows(0.04, 0.9, fb * 0.6, 0.006, 0.014, WINDOW, 0.45);
  const decks = 4 + p.rng.int(4);
  const dhgt = p.u(0.019, 0.025);
  let top = fb;
  for (let k = 0; k < decks; k++) {
    const u0 = 0.04 + k * p.u(0.008, 0.02);
    const u1 = 0.9 - k * p.u(0.025, 0.045);
    if (u1 - u0 < 0.15) break;
    const v0 = fb + k * dhgt;
    p.poly(
      [
        [u0, v0],
        [u1 + 0.02, v0],
        [u1, v0 + dhgt],
        [u0, v0 + dhgt],
      ],
      p.jitter(WHITE, 0.025),
    );
    p.windows(
      u0 + 0.01,
      u1 - 0.005,
      v0 + dhgt * 0.35,
      dhgt * 0.35,
      p.u(0.01, 0.016),
      p.rng.uniform() < 0.5 ? WINDOW : [0.15, 0.3, 0.45],
      0.7,
    );
    top = v0 + dhgt;
  }
  for (let u = 0.18; u < 0.75; u += 0.045)
    p.block(u, u + 0.03, fb + dhgt * 1.1, fb + dhgt * 1.7, p.jitter([0.95, 0.55, 0.1], 0.05));
  funnel(
    p,
    p.u(0.12, 0.22),
    top,
    0.05,
    p.u(0.04, 0.07),
    p.jitter(p.pick<RGB>([[0.8, 0.15, 0.12], [0.1, 0.25, 0.6], [0.95, 0.8, 0.2], WHITE])),
    grey(0.12),
  );
}

export const CLASS_PAINTERS: ((p: ShipPainter) => void)[] = [
  drawCargo,
  drawMilitary,
  drawCarrier,
  drawCruise,
  drawTanker,
];
