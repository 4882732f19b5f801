// Sorting and filtering the dashboard's tables. Pure: no calls, no components.
import { reportNotSubmitted } from './labels';
import type { OverviewRow, ReportStatus } from './types';

/** The two directions, spelt as `aria-sort` spells them. */
export type SortDir = 'ascending' | 'descending';
export type Sort<K extends string = string> = { key: K; dir: SortDir };
export type SortValue = string | number | null | undefined;

const collator = new Intl.Collator('zh-CN', { numeric: true });

/** Compare two present values: numbers as numbers, anything else as Chinese text (pinyin order). */
export function compareValues(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 0 : a < b ? -1 : 1;
  return collator.compare(String(a), String(b));
}

/**
 * Rows sorted by `value` in `dir`; rows without a value (null, undefined, NaN) go last in
 * either direction, and equal values keep `tie`'s order (then their original order).
 */
export function sortRows<T>(
  rows: readonly T[],
  value: (r: T) => SortValue,
  dir: SortDir,
  tie?: (a: T, b: T) => number,
): T[] {
  const sign = dir === 'ascending' ? 1 : -1;
  const absent = (v: SortValue) => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
  return rows
    .map((r, i) => ({ r, i, v: value(r) }))
    .sort((a, b) => {
      const na = absent(a.v);
      const nb = absent(b.v);
      if (na || nb) {
        if (na && nb) return (tie?.(a.r, b.r) || 0) || a.i - b.i;
        return na ? 1 : -1;
      }
      const c = compareValues(a.v as string | number, b.v as string | number);
      if (c !== 0) return sign * c;
      return (tie?.(a.r, b.r) || 0) || a.i - b.i;
    })
    .map((x) => x.r);
}

/** A click on a column header: the same column flips direction, a new one starts ascending. */
export function nextSort<K extends string>(current: Sort<K>, key: K): Sort<K> {
  if (current.key === key) return { key, dir: current.dir === 'ascending' ? 'descending' : 'ascending' };
  return { key, dir: 'ascending' };
}

/** The `aria-sort` of a column header. */
export function ariaSort(current: Sort, key: string): SortDir | 'none' {
  return current.key === key ? current.dir : 'none';
}

/** Report states from worst to best: sorting by report puts missing reports first. */
export const REPORT_ORDER: ReportStatus[] = ['missing', 'draft', 'returned', 'submitted', 'accepted'];

export const OVERVIEW_SORT_KEYS = [
  'name',
  'township',
  'last_sync',
  'activities',
  'tmol',
  'report',
  'developed',
  'venue',
  'overdue',
] as const;
export type OverviewSortKey = (typeof OVERVIEW_SORT_KEYS)[number];

/** What an overview column sorts by. */
export function overviewValue(row: OverviewRow, key: OverviewSortKey): SortValue {
  switch (key) {
    case 'name':
      return row.name;
    case 'township':
      return row.township_name;
    case 'last_sync':
      // Never synced is older than any sync.
      return row.last_sync ?? Number.NEGATIVE_INFINITY;
    case 'activities':
      return row.activities_total;
    case 'tmol':
      return row.tmol?.complete ? 1 : 0;
    case 'report': {
      const i = REPORT_ORDER.indexOf(row.report);
      return i < 0 ? null : i;
    }
    case 'developed':
      return row.developed;
    case 'venue':
      return row.venue_progress;
    case 'overdue':
      return row.overdue_tasks;
  }
}

const byName = (a: { name: string }, b: { name: string }) => collator.compare(a.name, b.name);

/** Overview rows in a column's order (ties by village name). */
export function sortOverview(rows: readonly OverviewRow[], sort: Sort<OverviewSortKey>): OverviewRow[] {
  return sortRows(rows, (r) => overviewValue(r, sort.key), sort.dir, byName);
}

/**
 * The overview's warning chips: villages not synced lately, without a submitted report (none or
 * a draft), with three meetings and one lesson incomplete; and the overdue tasks.
 */
export function overviewFacts(rows: readonly OverviewRow[]): { stale: number; unsubmitted: number; tmol: number; overdue: number } {
  return {
    stale: rows.filter((r) => r.stale || r.last_sync === null).length,
    unsubmitted: rows.filter((r) => reportNotSubmitted(r.report)).length,
    tmol: rows.filter((r) => !r.tmol?.complete).length,
    overdue: rows.reduce((s, r) => s + (r.overdue_tasks || 0), 0),
  };
}

/** The overview's figures summed over the rows shown: what a month is compared by. Every
 *  figure of the table is here: the totals, and each kind of activity as `kind.<name>`. */
export type MonthFigures = {
  activities: number;
  submitted: number;
  developed: number;
  women: number;
  in_pipeline: number;
  overdue: number;
  [kind: `kind.${string}`]: number;
};

export function monthFigures(rows: readonly OverviewRow[]): MonthFigures {
  const f: MonthFigures = {
    activities: rows.reduce((s, r) => s + (r.activities_total || 0), 0),
    submitted: rows.filter((r) => !reportNotSubmitted(r.report)).length,
    developed: rows.reduce((s, r) => s + (r.developed || 0), 0),
    women: rows.reduce((s, r) => s + (r.women || 0), 0),
    in_pipeline: rows.reduce((s, r) => s + (r.in_pipeline || 0), 0),
    overdue: rows.reduce((s, r) => s + (r.overdue_tasks || 0), 0),
  };
  for (const r of rows) {
    for (const [k, n] of Object.entries(r.activities ?? {})) {
      const key = `kind.${k}` as const;
      f[key] = (f[key] ?? 0) + (n || 0);
    }
  }
  return f;
}

/**
 * The rows of the comparison table: every figure a month has, the kinds of activity in `kinds`
 * order. The people in the pipeline and the overdue tasks are counted as they stand today, not
 * as they stood at the end of an earlier month, so they are not compared: the same number three
 * times would read as a history the records do not give.
 */
export function comparedFigures(kinds: readonly string[]): (keyof MonthFigures)[] {
  return ['activities', ...kinds.map((k) => `kind.${k}` as const), 'submitted', 'developed', 'women'];
}

/** Rows of one township (`''`: every township). */
export function filterTownship<T extends { township?: string | null }>(rows: readonly T[], township: string): T[] {
  return township ? rows.filter((r) => r.township === township) : [...rows];
}

/** The townships the rows belong to, each once, by name. */
export function townshipsOf(rows: readonly { township?: string | null; township_name?: string | null }[]): { id: string; name: string }[] {
  const seen = new Map<string, string>();
  for (const r of rows) if (r.township && !seen.has(r.township)) seen.set(r.township, r.township_name || r.township);
  return [...seen].map(([id, name]) => ({ id, name })).sort(byName);
}
