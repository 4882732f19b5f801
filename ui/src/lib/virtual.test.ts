import { describe, expect, it } from 'vitest';
import { pagesFor, visibleRange } from './virtual';

describe('the virtual list', () => {
  it('renders only the rows in view of 10,000, plus a margin', () => {
    const r = visibleRange(640_000, 600, 64, 10_000, 8);
    expect(r).toEqual({ start: 9992, end: 10_000 });
    const mid = visibleRange(64 * 5000, 640, 64, 10_000, 8);
    expect(mid.end - mid.start).toBeLessThanOrEqual(10 + 16);
    expect(mid.start).toBe(4992);
  });
  it('asks for the pages that hold those rows and no others', () => {
    expect(pagesFor({ start: 95, end: 130 }, 100)).toEqual([0, 1]);
    expect(pagesFor({ start: 0, end: 0 }, 100)).toEqual([]);
  });
  it('copes with an empty list and a negative scroll (rubber-banding)', () => {
    expect(visibleRange(-40, 600, 64, 0)).toEqual({ start: 0, end: 0 });
    expect(visibleRange(-40, 600, 64, 3).start).toBe(0);
  });
});
