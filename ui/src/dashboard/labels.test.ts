import { describe, expect, it } from 'vitest';
import {
  activityKinds,
  AGE_BANDS,
  countEntries,
  developmentTone,
  monthCompleteness,
  percent,
  REPORT_STATES,
  reportClass,
  reportIn,
  reportNotSubmitted,
  reportSymbol,
  tmolParts,
  topKinds,
} from './labels';

describe('report states', () => {
  it('each has its own symbol and class, so colour is never the only cue', () => {
    const symbols = REPORT_STATES.map(reportSymbol);
    expect(new Set(symbols).size).toBe(REPORT_STATES.length);
    expect(reportSymbol('accepted')).toBe('✓');
    expect(reportSymbol('missing')).toBe('✗');
    expect(reportClass('returned')).toBe('st-returned');
  });
  it('reads a state it does not know as unknown', () => {
    expect(reportSymbol('archived')).toBe('?');
    expect(reportClass(undefined)).toBe('st-unknown');
  });
  it('counts a report as in when submitted or accepted, not when returned to the village', () => {
    expect(['missing', 'draft', 'submitted', 'returned', 'accepted'].map(reportIn)).toEqual([false, false, true, false, true]);
  });
  it('counts a draft as not submitted, like a missing report', () => {
    expect(['missing', 'draft', 'submitted', 'returned', 'accepted'].map(reportNotSubmitted)).toEqual([true, true, false, false, false]);
    expect(reportNotSubmitted(null)).toBe(true);
    expect(reportNotSubmitted('archived')).toBe(false);
  });
  it('computes each month\'s completeness over the villages', () => {
    const villages = [
      { states: ['accepted', 'missing', 'draft'] },
      { states: ['submitted', 'returned', 'missing'] },
      { states: ['missing', 'accepted', 'missing'] },
    ];
    expect(monthCompleteness(villages, 3)).toEqual([
      { done: 2, total: 3, percent: 67 },
      { done: 1, total: 3, percent: 33 },
      { done: 0, total: 3, percent: 0 },
    ]);
    expect(monthCompleteness([], 2)).toEqual([
      { done: 0, total: 0, percent: 0 },
      { done: 0, total: 0, percent: 0 },
    ]);
  });
});

describe('roster breakdowns', () => {
  it('lists every age band in order, zeros included, from an object', () => {
    expect(countEntries({ over_60: 4, under_35: 2 }, AGE_BANDS)).toEqual([
      { key: 'under_35', n: 2 },
      { key: '35_45', n: 0 },
      { key: '46_60', n: 0 },
      { key: 'over_60', n: 4 },
      { key: 'unknown', n: 0 },
    ]);
  });
  it('reads a list too, and keeps keys it does not know at the end', () => {
    expect(countEntries([{ key: 'female', n: 3 }, { key: 'other', count: 1 }], ['male', 'female'])).toEqual([
      { key: 'male', n: 0 },
      { key: 'female', n: 3 },
      { key: 'other', n: 1 },
    ]);
  });
  it('survives nothing at all', () => {
    expect(countEntries(null, ['a'])).toEqual([{ key: 'a', n: 0 }]);
  });
  it('rounds percentages and never divides by zero', () => {
    expect(percent(1, 3)).toBe(33);
    expect(percent(2, 0)).toBe(0);
  });
});

describe('the month at a glance', () => {
  it('lists the kinds of activity held, in the catalog order', () => {
    expect(activityKinds({ household_visit: 3, branch_committee_meeting: 1, party_lecture: 0, new_kind: 2 })).toEqual([
      { kind: 'branch_committee_meeting', n: 1 },
      { kind: 'household_visit', n: 3 },
      { kind: 'new_kind', n: 2 },
    ]);
  });
  it('shows the kinds held most, in catalog order, and counts the rest', () => {
    const kinds = [
      { kind: 'a', n: 1 },
      { kind: 'b', n: 3 },
      { kind: 'c', n: 1 },
      { kind: 'd', n: 2 },
    ];
    expect(topKinds(kinds, 3)).toEqual({ shown: [{ kind: 'a', n: 1 }, { kind: 'b', n: 3 }, { kind: 'd', n: 2 }], more: 1 });
    expect(topKinds(kinds.slice(0, 2), 3)).toEqual({ shown: kinds.slice(0, 2), more: 0 });
  });
  it('names the parts of three meetings and one lesson', () => {
    const parts = tmolParts({
      branch_committee_meetings: 1,
      party_group_meetings: 2,
      branch_member_meetings_quarter: 0,
      party_lectures_quarter: 1,
      complete: false,
    });
    expect(parts.map((p) => p.n)).toEqual([1, 2, 0, 1]);
    expect(tmolParts(null)).toEqual([]);
  });
  it('tells development below the minimum from the minimum and the target', () => {
    expect(developmentTone({ met_minimum: false, met_target: false })).toBe('below');
    expect(developmentTone({ met_minimum: true, met_target: false })).toBe('minimum');
    expect(developmentTone({ met_minimum: true, met_target: true })).toBe('target');
  });
});
