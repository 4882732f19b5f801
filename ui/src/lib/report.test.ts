import { describe, expect, it } from 'vitest';
import type { Row } from './api';
import type { MonthlyFigures } from './bindings/MonthlyFigures';
import { activeKinds, findReport, isMonth, reportActions, shiftMonth, shownFigures, stateTone } from './report';

const rep = (id: string, village: string, month: string, state = 'draft'): Row => ({
  id,
  kind: 'report',
  village,
  title: `${month} 月报`,
  date: `${month}-01`,
  sub_kind: month,
  status: state,
  synced: true,
});

describe('months', () => {
  it('accepts only YYYY-MM', () => {
    expect(isMonth('2026-05')).toBe(true);
    expect(isMonth('2026-5')).toBe(false);
    expect(isMonth('2026-13')).toBe(false);
    expect(isMonth(undefined)).toBe(false);
  });
  it('steps across the year end', () => {
    expect(shiftMonth('2026-01', -1)).toBe('2025-12');
    expect(shiftMonth('2025-12', 1)).toBe('2026-01');
    expect(shiftMonth('2026-05', 0)).toBe('2026-05');
    expect(shiftMonth('2026-05', -17)).toBe('2024-12');
  });
});

describe('finding the month report', () => {
  const rows = [rep('a', 'dongfeng', '2026-04'), rep('b', 'xinhe', '2026-05'), rep('c', 'dongfeng', '2026-05')];
  it('is the village and month match', () => {
    expect(findReport(rows, 'dongfeng', '2026-05')?.id).toBe('c');
    expect(findReport(rows, 'xinhe', '2026-04')).toBeUndefined();
  });
});

describe('who may do what', () => {
  it('lets the first secretary start, edit and submit a draft or returned report', () => {
    expect(reportActions('first_secretary', null)).toEqual({ canCreate: true, canEdit: false, canSubmit: false, canReview: false });
    expect(reportActions('first_secretary', 'draft').canSubmit).toBe(true);
    expect(reportActions('instructor', 'returned').canSubmit).toBe(true);
    expect(reportActions('first_secretary', 'submitted')).toEqual({ canCreate: false, canEdit: false, canSubmit: false, canReview: false });
    expect(reportActions('first_secretary', 'accepted').canEdit).toBe(false);
  });
  it('lets the township review only a submitted report', () => {
    expect(reportActions('township_officer', 'submitted').canReview).toBe(true);
    expect(reportActions('city_officer', 'submitted').canReview).toBe(true);
    expect(reportActions('township_officer', 'draft').canReview).toBe(false);
    expect(reportActions('township_officer', 'accepted').canReview).toBe(false);
    expect(reportActions('township_officer', 'draft').canSubmit).toBe(false);
    expect(reportActions('first_secretary', 'submitted').canReview).toBe(false);
  });
  it('colours the states', () => {
    expect(stateTone('accepted')).toBe('green');
    expect(stateTone('returned')).toBe('red');
    expect(stateTone('submitted')).toBe('amber');
    expect(stateTone('draft')).toBe('');
  });
});

describe('figures shown', () => {
  const live = { month: '2026-05', activities_total: 9 } as MonthlyFigures;
  const frozen = { month: '2026-05', activities_total: 7 } as MonthlyFigures;
  it('follow the records until submitted, then stay as submitted', () => {
    expect(shownFigures(null, live, null)).toEqual({ figures: live, frozen: false });
    expect(shownFigures('draft', live, frozen)).toEqual({ figures: live, frozen: false });
    expect(shownFigures('returned', live, frozen).figures?.activities_total).toBe(9);
    expect(shownFigures('submitted', live, frozen)).toEqual({ figures: frozen, frozen: true });
    expect(shownFigures('accepted', live, frozen).figures?.activities_total).toBe(7);
    expect(shownFigures('accepted', live, null).figures).toBe(live);
  });
  it('lists only the activity kinds held, in the usual order', () => {
    const k = activeKinds({ party_lecture: 1, branch_member_meeting: 2, household_visit: 0, other: 3 });
    expect(k).toEqual([
      { kind: 'branch_member_meeting', n: 2 },
      { kind: 'party_lecture', n: 1 },
      { kind: 'other', n: 3 },
    ]);
  });
});
