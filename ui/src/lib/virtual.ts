// Which rows of a long list are in view, and which pages hold them.
export type Range = { start: number; end: number };

export function visibleRange(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  total: number,
  overscan = 5,
): Range {
  if (total <= 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const count = Math.ceil(Math.max(viewport, rowHeight) / rowHeight);
  return {
    start: Math.max(0, first - overscan),
    end: Math.min(total, first + count + overscan),
  };
}

export function pagesFor(r: Range, pageSize: number): number[] {
  if (r.end <= r.start) return [];
  const out: number[] = [];
  for (let p = Math.floor(r.start / pageSize); p <= Math.floor((r.end - 1) / pageSize); p++) out.push(p);
  return out;
}
