import { describe, expect, it } from 'vitest';
import { ariaSort, comparedFigures, filterTownship, monthFigures, nextSort, overviewFacts, sortOverview, sortRows, townshipsOf } from './table';
import type { OverviewRow } from './types';

function row(p: Partial<OverviewRow> & { id: string }): OverviewRow {
  return {
    name: p.id,
    township: 'chengguan',
    township_name: '城关镇',
    last_sync: 1_700_000_000,
    last_sync_days: 1,
    stale: false,
    activities: {},
    activities_total: 0,
    tmol: {
      branch_committee_meetings: 0,
      party_group_meetings: 0,
      branch_member_meetings_quarter: 0,
      party_lectures_quarter: 0,
      complete: false,
    },
    report: 'missing',
    developed: 0,
    women: 0,
    women_percent: 0,
    target: 3,
    women_target_percent: 0,
    met_minimum: false,
    met_target: false,
    in_pipeline: 0,
    venue_progress: null,
    overdue_tasks: 0,
    ...p,
  };
}

describe('sorting tables', () => {
  it('puts rows without a value last in both directions', () => {
    const rows = [{ v: 2 }, { v: null }, { v: 1 }, { v: 3 }];
    expect(sortRows(rows, (r) => r.v, 'ascending').map((r) => r.v)).toEqual([1, 2, 3, null]);
    expect(sortRows(rows, (r) => r.v, 'descending').map((r) => r.v)).toEqual([3, 2, 1, null]);
  });
  it('sorts Chinese names by pinyin and keeps ties in their order', () => {
    const rows = [{ n: '西山村', i: 1 }, { n: '东风村', i: 2 }, { n: '东风村', i: 3 }, { n: '北岭村', i: 4 }];
    expect(sortRows(rows, (r) => r.n, 'ascending').map((r) => r.i)).toEqual([4, 2, 3, 1]);
  });
  it('compares numbers as numbers, not as text', () => {
    const rows = [{ v: 10 }, { v: 9 }, { v: 100 }];
    expect(sortRows(rows, (r) => r.v, 'ascending').map((r) => r.v)).toEqual([9, 10, 100]);
  });
  it('flips a column clicked again and starts a new column ascending', () => {
    const s = nextSort({ key: 'name', dir: 'ascending' }, 'name');
    expect(s).toEqual({ key: 'name', dir: 'descending' });
    expect(nextSort(s, 'overdue')).toEqual({ key: 'overdue', dir: 'ascending' });
    expect(ariaSort(s, 'name')).toBe('descending');
    expect(ariaSort(s, 'overdue')).toBe('none');
  });
});

describe('the overview table', () => {
  const rows = [
    row({ id: 'a', name: '东风村', last_sync: 1_700_000_000, report: 'accepted', venue_progress: 60 }),
    row({ id: 'b', name: '西山村', last_sync: null, report: 'missing', overdue_tasks: 2 }),
    row({ id: 'c', name: '北岭村', last_sync: 1_600_000_000, report: 'returned', township: 'xiangyang', township_name: '向阳街道', venue_progress: 20 }),
  ];
  it('puts never-synced villages first when oldest sync comes first', () => {
    expect(sortOverview(rows, { key: 'last_sync', dir: 'ascending' }).map((r) => r.id)).toEqual(['b', 'c', 'a']);
  });
  it('orders reports from missing to accepted', () => {
    expect(sortOverview(rows, { key: 'report', dir: 'ascending' }).map((r) => r.id)).toEqual(['b', 'c', 'a']);
    expect(sortOverview(rows, { key: 'report', dir: 'descending' }).map((r) => r.id)).toEqual(['a', 'c', 'b']);
  });
  it('keeps villages without a venue project last', () => {
    expect(sortOverview(rows, { key: 'venue', dir: 'descending' }).map((r) => r.id)).toEqual(['a', 'c', 'b']);
    expect(sortOverview(rows, { key: 'venue', dir: 'ascending' }).map((r) => r.id)).toEqual(['c', 'a', 'b']);
  });
  it('breaks ties by village name', () => {
    expect(sortOverview(rows, { key: 'activities', dir: 'ascending' }).map((r) => r.name)).toEqual(['北岭村', '东风村', '西山村']);
  });
  it('filters by township and lists each township once, by name', () => {
    expect(filterTownship(rows, 'xiangyang').map((r) => r.id)).toEqual(['c']);
    expect(filterTownship(rows, '').length).toBe(3);
    expect(townshipsOf(rows)).toEqual([
      { id: 'chengguan', name: '城关镇' },
      { id: 'xiangyang', name: '向阳街道' },
    ]);
  });
  it('warns of every village whose report is not submitted, drafts included', () => {
    const facts = overviewFacts([
      row({ id: 'a', report: 'missing' }),
      row({ id: 'b', report: 'draft' }),
      row({ id: 'c', report: 'submitted', overdue_tasks: 2 }),
      row({ id: 'd', report: 'returned', stale: true }),
      row({ id: 'e', report: 'accepted', last_sync: null }),
    ]);
    expect(facts).toEqual({ stale: 2, unsubmitted: 2, tmol: 5, overdue: 2 });
  });
  it('does not list a township it cannot name', () => {
    expect(townshipsOf([{ township: null, township_name: null }, { township: 'x', township_name: null }])).toEqual([{ id: 'x', name: 'x' }]);
  });
});

describe('the figures a month is compared by', () => {
  it('sums activities and members developed, and counts reports handed in', () => {
    const rows = [
      row({ id: 'a', activities_total: 4, developed: 1, report: 'submitted' }),
      row({ id: 'b', activities_total: 2, developed: 2, report: 'draft' }),
      row({ id: 'c', activities_total: 1, developed: 0, report: 'accepted' }),
    ];
    const f = monthFigures(rows);
    expect([f.activities, f.submitted, f.developed]).toEqual([7, 2, 3]);
    expect(monthFigures([])).toEqual({ activities: 0, submitted: 0, developed: 0, women: 0, in_pipeline: 0, overdue: 0 });
  });

  it('sums every figure of the table, each kind of activity on its own', () => {
    const rows = [
      row({ id: 'a', activities: { party_lecture: 1, household_visit: 3 }, women: 1, in_pipeline: 4, overdue_tasks: 1 }),
      row({ id: 'b', activities: { household_visit: 2 }, women: 0, in_pipeline: 1, overdue_tasks: 0 }),
    ];
    const f = monthFigures(rows);
    expect(f['kind.household_visit']).toBe(5);
    expect(f['kind.party_lecture']).toBe(1);
    expect([f.women, f.in_pipeline, f.overdue]).toEqual([1, 5, 1]);
    // Figures counted as they stand today have no earlier month to be compared with.
    expect(comparedFigures(['party_lecture'])).toEqual(['activities', 'kind.party_lecture', 'submitted', 'developed', 'women']);
  });
});
