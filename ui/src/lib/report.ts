// The monthly report screen: which report is this month's, which actions to offer, which
// figures to show. Pure. Who may make which move is the model's rule (lib/rules.ts).
import type { Row } from './api';
import type { MonthlyFigures } from './bindings/MonthlyFigures';
import type { ReportState } from './bindings/ReportState';
import { ACTIVITY_KINDS } from './kinds';
import { mayCreate, reportMayBecome, reportOpenToVillage } from './rules';

export function isMonth(s: string | null | undefined): s is string {
  return !!s && /^\d{4}-(0[1-9]|1[0-2])$/.test(s);
}

/** The month `n` months after `month` (`YYYY-MM`). */
export function shiftMonth(month: string, n: number): string {
  const y = Number(month.slice(0, 4));
  const m = Number(month.slice(5, 7)) - 1 + n;
  const yy = y + Math.floor(m / 12);
  const mm = ((m % 12) + 12) % 12;
  return `${String(yy).padStart(4, '0')}-${String(mm + 1).padStart(2, '0')}`;
}

/** The village's report of the month among report rows (a report row's `sub_kind` is its month). */
export function findReport(rows: Row[], village: string, month: string): Row | undefined {
  return rows.find(
    (r) => r.kind === 'report' && r.village === village && (r.sub_kind === month || r.date?.slice(0, 7) === month),
  );
}

export type ReportActions = {
  /** Start the month's report (none yet). */
  canCreate: boolean;
  /** Change the narrative (the village, before the township has it). */
  canEdit: boolean;
  canSubmit: boolean;
  /** Accept or return (the township, once submitted). */
  canReview: boolean;
};

export function reportActions(role: string | undefined, state: ReportState | null): ReportActions {
  const canSubmit = state !== null && reportMayBecome(state, 'submitted', role) && state !== 'submitted';
  return {
    canCreate: state === null && mayCreate(role, 'report'),
    canEdit: canSubmit && reportOpenToVillage(state),
    canSubmit,
    canReview: state === 'submitted' && reportMayBecome(state, 'accepted', role),
  };
}

/** The chip colour of a state. */
export function stateTone(state: ReportState | null | undefined): 'green' | 'amber' | 'red' | '' {
  switch (state) {
    case 'accepted':
      return 'green';
    case 'submitted':
      return 'amber';
    case 'returned':
      return 'red';
    default:
      return '';
  }
}

/**
 * The figures to show: while the village may still change the report (no report, draft,
 * returned) the figures follow the records; once submitted they are the report's frozen ones.
 */
export function shownFigures(
  state: ReportState | null,
  live: MonthlyFigures | null,
  frozen: MonthlyFigures | null | undefined,
): { figures: MonthlyFigures | null; frozen: boolean } {
  if ((state === 'submitted' || state === 'accepted') && frozen) return { figures: frozen, frozen: true };
  return { figures: live, frozen: false };
}

/** The activity kinds held at least once, in the catalog's order, with their counts. */
export function activeKinds(byKind: Record<string, number | undefined>): { kind: string; n: number }[] {
  const known = ACTIVITY_KINDS.map((kind) => ({ kind: kind as string, n: byKind[kind] ?? 0 }));
  const extra = Object.keys(byKind)
    .filter((k) => !(ACTIVITY_KINDS as string[]).includes(k))
    .map((kind) => ({ kind, n: byKind[kind] ?? 0 }));
  return [...known, ...extra].filter((x) => x.n > 0);
}
