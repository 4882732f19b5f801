import { describe, expect, it } from 'vitest';
import type { Row } from './api';
import { devChart, pipelineColumns, rosterByCategory, stageDate, stageDateField } from './members';

const m = (id: string, title: string, stage: string, category: string, date: string | null = null): Row => ({
  id,
  kind: 'member',
  village: 'dongfeng',
  title,
  date,
  sub_kind: category,
  status: stage,
  synced: true,
});

const people = [
  m('1', '王芳', 'full', 'resident', '2010-07-01'),
  m('2', '李强', 'probationary', 'migrant', '2026-03-01'),
  m('3', '张伟', 'applicant', 'resident', '2026-02-10'),
  m('4', '赵敏', 'activist', 'resident', '2025-09-01'),
  m('5', '陈静', 'activist', 'resident', '2025-03-01'),
  m('6', '刘洋', 'development_target', 'other', null),
  m('7', '孙丽', 'full', 'elderly_infirm', '1988-07-01'),
  m('8', '周杰', 'activist', 'resident', null),
];

describe('roster by category', () => {
  it('lists only members (probationary and full), in all four categories', () => {
    const groups = rosterByCategory(people);
    expect(groups.map((g) => g.category)).toEqual(['resident', 'migrant', 'elderly_infirm', 'other']);
    expect(groups.map((g) => g.rows.length)).toEqual([1, 1, 1, 0]);
    const all = groups.flatMap((g) => g.rows.map((r) => r.title));
    expect(all).not.toContain('张伟'); // an applicant is not a member yet
    expect(all).not.toContain('刘洋');
  });

  it('puts a member with an unknown category under other', () => {
    const groups = rosterByCategory([m('9', '吴刚', 'full', 'retired')]);
    expect(groups.find((g) => g.category === 'other')!.rows.map((r) => r.title)).toEqual(['吴刚']);
  });
});

describe('pipeline columns', () => {
  it('has the four stages before full membership, in order', () => {
    expect(pipelineColumns(people).map((c) => c.stage)).toEqual([
      'applicant',
      'activist',
      'development_target',
      'probationary',
    ]);
  });

  it('shows the longest-waiting person first and undated people last', () => {
    const activists = pipelineColumns(people).find((c) => c.stage === 'activist')!;
    expect(activists.rows.map((r) => r.title)).toEqual(['陈静', '赵敏', '周杰']);
  });

  it('leaves full members out', () => {
    const titles = pipelineColumns(people).flatMap((c) => c.rows.map((r) => r.title));
    expect(titles).not.toContain('王芳');
    expect(titles).toContain('李强');
  });
});

describe('stage dates', () => {
  it('reads the stage field of the record, else the row date', () => {
    expect(stageDateField('development_target')).toBe('target_on');
    expect(stageDate('activist', { activist_on: '2025-04-01' }, '2025-01-01')).toBe('2025-04-01');
    expect(stageDate('activist', { activist_on: null }, '2025-01-01')).toBe('2025-01-01');
    expect(stageDate('activist', undefined, null)).toBeNull();
  });
});

describe('development chart', () => {
  it('marks 3 and 5 on a scale to 5 and fills the developed count', () => {
    const g = devChart({ developed: 2, women: 1, target: 3 }, 300);
    expect(g.scaleMax).toBe(5);
    expect(g.developedWidth).toBe(120);
    expect(g.womenWidth).toBe(60);
    expect(g.marks.map((x) => [x.kind, x.value, x.x])).toEqual([
      ['min', 3, 180],
      ['max', 5, 300],
    ]);
    expect(g.tone).toBe('below');
    expect(g.shortOfMinimum).toBe(1);
  });

  it('marks a village target between 3 and 5 and says when it is met', () => {
    const g = devChart({ developed: 3, women: 2, target: 4 }, 300);
    expect(g.marks.find((x) => x.kind === 'target')?.value).toBe(4);
    expect(g.tone).toBe('minimum');
    expect(devChart({ developed: 4, women: 2, target: 4 }, 300).tone).toBe('target');
  });

  it('widens the scale when more than 5 were developed, never overflowing', () => {
    const g = devChart({ developed: 8, women: 9, target: 3 }, 300);
    expect(g.scaleMax).toBe(8);
    expect(g.developedWidth).toBe(300);
    expect(g.womenWidth).toBe(300); // women are never more than those developed
    expect(g.tone).toBe('target');
    expect(g.shortOfMinimum).toBe(0);
  });

  it('shows an empty bar for none developed', () => {
    const g = devChart({ developed: 0, women: 0, target: 3 }, 300);
    expect(g.developedWidth).toBe(0);
    expect(g.shortOfMinimum).toBe(3);
  });
});
