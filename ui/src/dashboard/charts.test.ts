import { describe, expect, it } from 'vitest';
import { linePath, markerPath, niceMax, scales, seriesStyle, SERIES_COLOURS, stackShares, ticks } from './charts';

describe('chart geometry', () => {
  it('rounds the top of an axis up to 1, 2 or 5 times a power of ten', () => {
    expect([0, 1, 3, 7, 10, 11, 24, 51, 180].map(niceMax)).toEqual([1, 1, 5, 10, 10, 20, 50, 100, 200]);
  });
  it('puts whole-number ticks from zero to the top', () => {
    expect(ticks(10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(ticks(1)).toEqual([0, 1]);
    expect(ticks(50)).toEqual([0, 10, 20, 30, 40, 50]);
  });
  it('maps values into the plot area, clamped', () => {
    const s = scales(3, 10, { left: 0, right: 100, top: 0, bottom: 50 });
    expect([s.x(0), s.x(1), s.x(2)]).toEqual([0, 50, 100]);
    expect([s.y(0), s.y(5), s.y(10), s.y(20), s.y(-1)]).toEqual([50, 25, 0, 0, 50]);
    expect(s.band(0)).toBeCloseTo(100 / 6);
    expect(scales(1, 10, { left: 0, right: 100, top: 0, bottom: 50 }).x(0)).toBe(50);
  });
  it('draws a line through every point', () => {
    expect(linePath([1, 2], (i) => i * 10, (v) => v)).toBe('M0.0,1.0L10.0,2.0');
    expect(markerPath('square', 10, 10, 2)).toBe('M8,8h4v4h-4Z');
  });
  it('gives each series its own colour and marker, dashing the second round of colours', () => {
    const a = seriesStyle(0);
    const b = seriesStyle(1);
    expect(a.colour).not.toBe(b.colour);
    expect(a.marker).not.toBe(b.marker);
    expect(a.dash).toBeUndefined();
    expect(seriesStyle(SERIES_COLOURS.length).dash).toBeDefined();
  });
  it('stacks a month\'s report states bottom-up as shares', () => {
    const s = stackShares({ missing: 1, draft: 0, submitted: 1, returned: 0, accepted: 2 });
    expect(s.map((x) => x.state)).toEqual(['missing', 'submitted', 'accepted']);
    expect(s.map((x) => [x.from, x.to])).toEqual([
      [0, 0.25],
      [0.25, 0.5],
      [0.5, 1],
    ]);
    expect(stackShares({})).toEqual([]);
  });
});
