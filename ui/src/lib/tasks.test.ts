import { describe, expect, it } from 'vitest';
import type { Row } from './api';
import { canIssueTasks, daysUntil, deadlineTone, groupTasks, isOverdue } from './tasks';

const t = (id: string, title: string, status: string, date: string | null): Row => ({
  id,
  kind: 'task',
  village: 'town',
  title,
  date,
  sub_kind: null,
  status,
  synced: true,
});
const today = '2026-05-20';

describe('overdue', () => {
  it('is an open task whose deadline has passed', () => {
    expect(isOverdue(t('1', 'a', 'open', '2026-05-19'), today)).toBe(true);
    expect(isOverdue(t('1', 'a', 'in_progress', '2026-01-01'), today)).toBe(true);
  });
  it('is not a task due today, a finished task or one without a deadline', () => {
    expect(isOverdue(t('1', 'a', 'open', today), today)).toBe(false);
    expect(isOverdue(t('1', 'a', 'done', '2026-05-01'), today)).toBe(false);
    expect(isOverdue(t('1', 'a', 'cancelled', '2026-05-01'), today)).toBe(false);
    expect(isOverdue(t('1', 'a', 'open', null), today)).toBe(false);
  });
  it('counts days across months and years', () => {
    expect(daysUntil('2026-06-01', '2026-05-31')).toBe(1);
    expect(daysUntil('2025-12-31', '2026-01-01')).toBe(-1);
  });
});

describe('deadline chip', () => {
  it('is red when overdue, amber within two weeks, plain later or when finished', () => {
    expect(deadlineTone(t('1', 'a', 'open', '2026-05-10'), today)).toBe('red');
    expect(deadlineTone(t('1', 'a', 'open', '2026-05-20'), today)).toBe('amber');
    expect(deadlineTone(t('1', 'a', 'open', '2026-06-03'), today)).toBe('amber');
    expect(deadlineTone(t('1', 'a', 'open', '2026-06-04'), today)).toBe('plain');
    expect(deadlineTone(t('1', 'a', 'done', '2026-05-10'), today)).toBe('plain');
    expect(deadlineTone(t('1', 'a', 'open', null), today)).toBe('none');
  });
});

describe('grouping', () => {
  const rows = [
    t('1', '整合方案', 'open', '2026-05-20'),
    t('2', '专项检查', 'done', '2026-04-01'),
    t('3', '进度表', 'in_progress', '2026-05-01'),
    t('4', '学习计划', 'open', null),
    t('5', '旧任务', 'cancelled', '2026-03-01'),
    t('6', '场所建设', 'done', null),
  ];
  it('puts open and in-progress tasks to do, nearest deadline first, undated last', () => {
    expect(groupTasks(rows).todo.map((r) => r.id)).toEqual(['3', '1', '4']);
  });
  it('puts done and cancelled tasks apart, latest first', () => {
    expect(groupTasks(rows).finished.map((r) => r.id)).toEqual(['2', '5', '6']);
  });
});

describe('who issues tasks', () => {
  it('is the township and above, not the village', () => {
    expect(canIssueTasks('township_officer')).toBe(true);
    expect(canIssueTasks('city_officer')).toBe(true);
    expect(canIssueTasks('admin')).toBe(true);
    expect(canIssueTasks('first_secretary')).toBe(false);
    expect(canIssueTasks('instructor')).toBe(false);
    expect(canIssueTasks(undefined)).toBe(false);
  });
});
