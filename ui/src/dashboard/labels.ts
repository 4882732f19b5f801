// Words, symbols and tones for the dashboard's states and figures. Pure: no calls, no components.
// Every state is shown with a colour AND a symbol and a word, so nobody needs to tell red from green.
import { ACTIVITY_KINDS, CATEGORIES, GENDERS, STAGES } from '../lib/kinds';
import type { Counts, ReportStatus, Tmol } from './types';

/** The report states in the order a month goes through them. */
export const REPORT_STATES: ReportStatus[] = ['missing', 'draft', 'submitted', 'returned', 'accepted'];

const SYMBOLS: Record<ReportStatus, string> = {
  missing: '✗',
  draft: '✎',
  submitted: '●',
  returned: '↩',
  accepted: '✓',
};

/** The symbol of a report state (`?` for one this version does not know). */
export function reportSymbol(state: string | null | undefined): string {
  return SYMBOLS[state as ReportStatus] ?? '?';
}

/** The CSS class of a report state's cell or badge. */
export function reportClass(state: string | null | undefined): string {
  return REPORT_STATES.includes(state as ReportStatus) ? `st-${state}` : 'st-unknown';
}

/**
 * Whether the month's report is in: submitted (waiting for review) or accepted. A returned
 * report is back with the village, a draft has not left it.
 */
export function reportIn(state: string | null | undefined): boolean {
  return state === 'submitted' || state === 'accepted';
}

/**
 * Whether the month's report has not been submitted: none yet (no state is none), or a draft
 * still in the village. A returned report was submitted once; a state this version does not know
 * is not counted as missing.
 */
export function reportNotSubmitted(state: string | null | undefined): boolean {
  return state === 'missing' || state === 'draft' || state === null || state === undefined;
}

/** Age bands of the roster, youngest first (docs/dashboard.md). */
export const AGE_BANDS = ['under_35', '35_45', '46_60', 'over_60', 'unknown'] as const;

/** Canonical orders of the roster's breakdowns. */
export const COUNT_ORDERS: Record<'by_category' | 'by_gender' | 'by_age_band' | 'by_stage', readonly string[]> = {
  by_category: CATEGORIES,
  by_gender: GENDERS,
  by_age_band: AGE_BANDS,
  by_stage: STAGES,
};

/**
 * A breakdown (`{key: n}` or `[{key, n}]`) as rows in the canonical order: every known key
 * (zeros included, so a missing band reads as 0 rather than vanishing), then unknown keys.
 */
export function countEntries(counts: Counts | null | undefined, order: readonly string[]): { key: string; n: number }[] {
  const m = new Map<string, number>();
  if (Array.isArray(counts)) {
    for (const c of counts) if (c && typeof c.key === 'string') m.set(c.key, Number(c.n ?? c.count ?? 0) || 0);
  } else if (counts && typeof counts === 'object') {
    for (const [k, v] of Object.entries(counts)) m.set(k, Number(v) || 0);
  }
  const known = order.map((key) => ({ key, n: m.get(key) ?? 0 }));
  const extra = [...m].filter(([k]) => !order.includes(k)).map(([key, n]) => ({ key, n }));
  return [...known, ...extra];
}

/** `n` of `total` as a whole percent (0 when there is no total). */
export function percent(n: number, total: number): number {
  return total > 0 ? Math.round((100 * n) / total) : 0;
}

/** The parts of "three meetings and one lesson" with their counts, in the order people say them. */
export function tmolParts(t: Tmol | null | undefined): { key: string; n: number }[] {
  if (!t) return [];
  return [
    { key: 'branch_committee_meetings', n: t.branch_committee_meetings },
    { key: 'party_group_meetings', n: t.party_group_meetings },
    { key: 'branch_member_meetings_quarter', n: t.branch_member_meetings_quarter },
    { key: 'party_lectures_quarter', n: t.party_lectures_quarter },
  ];
}

/** A month's activities by kind: the kinds held, in the catalog's order, then kinds this version does not know. */
export function activityKinds(byKind: Record<string, number> | null | undefined): { kind: string; n: number }[] {
  const all = countEntries(byKind ?? {}, ACTIVITY_KINDS);
  return all.filter((x) => x.n > 0).map((x) => ({ kind: x.key, n: x.n }));
}

/** The `most` kinds held most often (ties in catalog order) and how many kinds are left out. */
export function topKinds(kinds: readonly { kind: string; n: number }[], most: number): { shown: { kind: string; n: number }[]; more: number } {
  const order = kinds.map((k, i) => ({ k, i })).sort((a, b) => b.k.n - a.k.n || a.i - b.i);
  const shown = order.slice(0, most).sort((a, b) => a.i - b.i).map((x) => x.k);
  return { shown, more: Math.max(0, kinds.length - shown.length) };
}

/** Per month, how many villages' reports have reached the township, of how many villages. */
export function monthCompleteness(
  villages: readonly { states: readonly (string | null)[] }[],
  months: number,
): { done: number; total: number; percent: number }[] {
  return Array.from({ length: months }, (_, i) => {
    const done = villages.filter((v) => reportIn(v.states[i])).length;
    return { done, total: villages.length, percent: percent(done, villages.length) };
  });
}

/** The tone of a development figure: short of the minimum (3), at least the minimum, at the village's target. */
export function developmentTone(d: { met_minimum: boolean; met_target: boolean }): 'below' | 'minimum' | 'target' {
  return d.met_target ? 'target' : d.met_minimum ? 'minimum' : 'below';
}
