// A tiny float RGB rasteriser for the synthetic ships: polygons (scanline, even-odd), rectangles, ellipses,
// soft blobs and gradients with alpha, drawn supersampled and box-filtered down for anti-aliasing.

export type RGB = [number, number, number];
export type Pt = [number, number];

export class Canvas {
  readonly data: Float32Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Float32Array(width * height * 3);
  }

  private blend(i: number, c: RGB, a: number): void {
    const d = this.data;
    const j = i * 3;
    d[j] += (c[0] - d[j]) * a;
    d[j + 1] += (c[1] - d[j + 1]) * a;
    d[j + 2] += (c[2] - d[j + 2]) * a;
  }

  /** Vertical gradient from `top` (at y0) to `bottom` (at y1) over rows y0..y1. */
  gradient(y0: number, y1: number, top: RGB, bottom: RGB): void {
    const r0 = Math.max(0, Math.floor(y0));
    const r1 = Math.min(this.height, Math.ceil(y1));
    for (let y = r0; y < r1; y++) {
      const t = y1 > y0 ? (y + 0.5 - y0) / (y1 - y0) : 0;
      const c: RGB = [
        top[0] + (bottom[0] - top[0]) * t,
        top[1] + (bottom[1] - top[1]) * t,
        top[2] + (bottom[2] - top[2]) * t,
      ];
      for (let x = 0; x < this.width; x++) this.blend(y * this.width + x, c, 1);
    }
  }

  /** Fills a polygon (even-odd rule, pixel centers). */
  poly(pts: Pt[], c: RGB, a = 1): void {
    if (pts.length < 3) return;
    let minY = Infinity;
    let maxY = -Infinity;
    for (const p of pts) {
      minY = Math.min(minY, p[1]);
      maxY = Math.max(maxY, p[1]);
    }
    const y0 = Math.max(0, Math.floor(minY));
    const y1 = Math.min(this.height - 1, Math.ceil(maxY));
    const xs: number[] = [];
    for (let y = y0; y <= y1; y++) {
      const cy = y + 0.5;
      xs.length = 0;
      for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
        const [xi, yi] = pts[i];
        const [xj, yj] = pts[j];
        if (yi > cy !== yj > cy) xs.push(xi + ((cy - yi) / (yj - yi)) * (xj - xi));
      }
      xs.sort((p, q) => p - q);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const from = Math.max(0, Math.ceil(xs[k] - 0.5));
        const to = Math.min(this.width - 1, Math.floor(xs[k + 1] - 0.5));
        for (let x = from; x <= to; x++) this.blend(y * this.width + x, c, a);
      }
    }
  }

  rect(x0: number, y0: number, x1: number, y1: number, c: RGB, a = 1): void {
    this.poly(
      [
        [x0, y0],
        [x1, y0],
        [x1, y1],
        [x0, y1],
      ],
      c,
      a,
    );
  }

  /** A thick line segment. */
  line(x0: number, y0: number, x1: number, y1: number, w: number, c: RGB, a = 1): void {
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len = Math.hypot(dx, dy) || 1;
    const nx = (-dy / len) * (w / 2);
    const ny = (dx / len) * (w / 2);
    this.poly(
      [
        [x0 + nx, y0 + ny],
        [x1 + nx, y1 + ny],
        [x1 - nx, y1 - ny],
        [x0 - nx, y0 - ny],
      ],
      c,
      a,
    );
  }

  ellipse(cx: number, cy: number, rx: number, ry: number, c: RGB, a = 1, soft = false): void {
    const y0 = Math.max(0, Math.floor(cy - ry));
    const y1 = Math.min(this.height - 1, Math.ceil(cy + ry));
    const x0 = Math.max(0, Math.floor(cx - rx));
    const x1 = Math.min(this.width - 1, Math.ceil(cx + rx));
    for (let y = y0; y <= y1; y++) {
      const v = (y + 0.5 - cy) / ry;
      for (let x = x0; x <= x1; x++) {
        const u = (x + 0.5 - cx) / rx;
        const d = u * u + v * v;
        if (d <= 1) this.blend(y * this.width + x, c, soft ? a * (1 - d) * (1 - d) : a);
      }
    }
  }

  /** Blends the whole canvas toward a colour (haze, fog). */
  veil(c: RGB, a: number): void {
    for (let i = 0; i < this.width * this.height; i++) this.blend(i, c, a);
  }

  /** Box-filters down by an integer factor into uint8 RGB, with a per-pixel transform applied first. */
  downsample(factor: number, px: (rgb: RGB, x: number, y: number) => RGB): Uint8Array {
    const w = Math.floor(this.width / factor);
    const h = Math.floor(this.height / factor);
    const out = new Uint8Array(w * h * 3);
    const n = factor * factor;
    const acc: RGB = [0, 0, 0];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        acc[0] = acc[1] = acc[2] = 0;
        for (let dy = 0; dy < factor; dy++) {
          for (let dx = 0; dx < factor; dx++) {
            const j = ((y * factor + dy) * this.width + x * factor + dx) * 3;
            acc[0] += this.data[j];
            acc[1] += this.data[j + 1];
            acc[2] += this.data[j + 2];
          }
        }
        const c = px([acc[0] / n, acc[1] / n, acc[2] / n], x, y);
        const o = (y * w + x) * 3;
        for (let k = 0; k < 3; k++) out[o + k] = Math.max(0, Math.min(255, Math.round(c[k] * 255)));
      }
    }
    return out;
  }
}

export const mix = (a: RGB, b: RGB, t: number): RGB => [
  a[0] + (b[0] - a[0]) * t,
  a[1] + (b[1] - a[1]) * t,
  a[2] + (b[2] - a[2]) * t,
];
export const scale = (a: RGB, s: number): RGB => [a[0] * s, a[1] * s, a[2] * s];
export const grey = (v: number): RGB => [v, v, v];
