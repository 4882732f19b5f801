// Geometry of the dashboard's SVG charts. Pure: no calls, no components.
import { REPORT_STATES } from './labels';
import type { ReportStatus } from './types';

/** The smallest "round" number (1, 2, 5 × 10ⁿ) at or above `max`; at least 1. */
export function niceMax(max: number): number {
  if (!Number.isFinite(max) || max <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** Whole-number axis ticks from 0 to `top` (a `niceMax`), at most `most` + 1 of them. */
export function ticks(top: number, most = 5): number[] {
  const steps = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000];
  const step = steps.find((s) => top / s <= most) ?? Math.ceil(top / most);
  const out: number[] = [];
  for (let v = 0; v <= top; v += step) out.push(v);
  return out;
}

/**
 * Colours that stay apart for colour-blind readers (Okabe & Ito), and a marker shape per
 * series so lines are told apart without colour too.
 */
export const SERIES_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
export const SERIES_MARKERS = ['circle', 'square', 'triangle', 'diamond'] as const;
export type Marker = (typeof SERIES_MARKERS)[number];

export function seriesStyle(i: number): { colour: string; marker: Marker; dash: string | undefined } {
  return {
    colour: SERIES_COLOURS[i % SERIES_COLOURS.length],
    marker: SERIES_MARKERS[i % SERIES_MARKERS.length],
    // A second round of colours gets dashed lines.
    dash: Math.floor(i / SERIES_COLOURS.length) % 2 === 1 ? '6 4' : undefined,
  };
}

/** The SVG path of a marker centred on (x, y). */
export function markerPath(m: Marker, x: number, y: number, r = 4): string {
  switch (m) {
    case 'circle':
      return `M${x - r},${y}a${r},${r} 0 1,0 ${2 * r},0a${r},${r} 0 1,0 ${-2 * r},0Z`;
    case 'square':
      return `M${x - r},${y - r}h${2 * r}v${2 * r}h${-2 * r}Z`;
    case 'triangle':
      return `M${x},${y - r - 1}L${x + r + 1},${y + r}L${x - r - 1},${y + r}Z`;
    case 'diamond':
      return `M${x},${y - r - 1}L${x + r + 1},${y}L${x},${y + r + 1}L${x - r - 1},${y}Z`;
  }
}

/** A plot area: x positions of `n` evenly spaced points and a y scale from 0 to `top`. */
export function scales(n: number, top: number, box: { left: number; right: number; top: number; bottom: number }) {
  const w = box.right - box.left;
  const h = box.bottom - box.top;
  return {
    x: (i: number) => (n <= 1 ? box.left + w / 2 : box.left + (w * i) / (n - 1)),
    /** Centre of band `i` of `n` equal bands (bar charts). */
    band: (i: number) => box.left + (w * (i + 0.5)) / Math.max(1, n),
    bandWidth: w / Math.max(1, n),
    y: (v: number) => box.bottom - (h * Math.max(0, Math.min(v, top))) / (top || 1),
  };
}

/** The SVG path through the points of a series. */
export function linePath(values: readonly number[], x: (i: number) => number, y: (v: number) => number): string {
  return values.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('');
}

/** A month's report counts stacked bottom-up in state order, as shares of the month's total (0–1). */
export function stackShares(row: Partial<Record<ReportStatus, number>>): { state: ReportStatus; n: number; from: number; to: number }[] {
  const total = REPORT_STATES.reduce((s, k) => s + (row[k] ?? 0), 0);
  let at = 0;
  const out: { state: ReportStatus; n: number; from: number; to: number }[] = [];
  for (const state of REPORT_STATES) {
    const n = row[state] ?? 0;
    if (n <= 0 || total === 0) continue;
    const share = n / total;
    out.push({ state, n, from: at, to: at + share });
    at += share;
  }
  return out;
}
