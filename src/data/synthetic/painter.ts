// ShipPainter: draws in ship coordinates — u along the hull (0 stern .. 1 bow), v height above the waterline,
// both in units of the ship's length — onto a Canvas, with the random helpers the class painters share.

import type { Random } from '../../tensor/random.js';
import type { Canvas, Pt, RGB } from './canvas.js';

/** Where the ship sits: image x of the stern, direction (1: bow right), length and waterline in pixels. */
export interface Frame {
  x0: number;
  dir: 1 | -1;
  len: number;
  wy: number;
  /** vertical exaggeration (viewpoint) */
  vs: number;
}

export class ShipPainter {
  constructor(
    readonly c: Canvas,
    readonly f: Frame,
    readonly rng: Random,
  ) {}

  at(u: number, v: number): Pt {
    const { x0, dir, len, wy, vs } = this.f;
    return [x0 + dir * u * len, wy - v * len * vs];
  }
  poly(pts: [number, number][], col: RGB, a = 1): void {
    this.c.poly(
      pts.map(([u, v]) => this.at(u, v)),
      col,
      a,
    );
  }
  block(u0: number, u1: number, v0: number, v1: number, col: RGB, a = 1): void {
    this.poly(
      [
        [u0, v0],
        [u1, v0],
        [u1, v1],
        [u0, v1],
      ],
      col,
      a,
    );
  }
  line(u0: number, v0: number, u1: number, v1: number, w: number, col: RGB, a = 1): void {
    const [x0, y0] = this.at(u0, v0);
    const [x1, y1] = this.at(u1, v1);
    this.c.line(x0, y0, x1, y1, Math.max(0.8, w * this.f.len), col, a);
  }
  dome(u: number, v: number, r: number, col: RGB): void {
    const [x, y] = this.at(u, v);
    const rx = r * this.f.len;
    const ry = r * this.f.len * this.f.vs;
    this.c.ellipse(x, y, rx, ry, col);
  }
  /** A row of windows: small dark rectangles from u0 to u1 at height v. */
  windows(u0: number, u1: number, v: number, h: number, step: number, col: RGB, fill = 0.55): void {
    for (let u = u0; u + step * fill <= u1; u += step) this.block(u, u + step * fill, v, v + h, col);
  }
  u(lo: number, hi: number): number {
    return lo + (hi - lo) * this.rng.uniform();
  }
  pick<T>(xs: T[]): T {
    return xs[this.rng.int(xs.length)];
  }
  jitter(c: RGB, amount = 0.06): RGB {
    return [c[0] + this.u(-amount, amount), c[1] + this.u(-amount, amount), c[2] + this.u(-amount, amount)];
  }
}
