// The tasks screen's arithmetic: which tasks are still to do, which are overdue. Pure. A task
// row's `date` is its deadline and `status` its TaskStatus. Which statuses are open, how near
// is "due soon" and who issues tasks are the model's rules (lib/rules.ts).
import type { Row } from './api';
import type { TaskStatus } from './bindings/TaskStatus';
import { parseDay } from './format';
import { mayCreate, RULES, taskIsOpen } from './rules';

/** Days ahead in which a deadline counts as near (as on the home screen). */
export const DUE_SOON_DAYS = RULES.due_soon_days;

/** The township and above issue tasks; villages answer them. */
export function canIssueTasks(role: string | undefined): boolean {
  return mayCreate(role, 'task');
}

export function isOpen(r: Pick<Row, 'status'>): boolean {
  return !r.status || taskIsOpen(r.status as TaskStatus);
}

/** Whole days from `today` to `day` (negative when past), both `YYYY-MM-DD`. */
export function daysUntil(day: string, today: string): number | null {
  const a = parseDay(today);
  const b = parseDay(day);
  if (!a || !b) return null;
  return Math.round((b.getTime() - a.getTime()) / 86_400_000);
}

/** An open task whose deadline is before today. A task due today is not overdue yet. */
export function isOverdue(r: Pick<Row, 'status' | 'date'>, today: string): boolean {
  if (!isOpen(r) || !r.date) return false;
  const d = daysUntil(r.date, today);
  return d !== null && d < 0;
}

export type DeadlineTone = 'red' | 'amber' | 'plain' | 'none';

/** The deadline chip's colour: red overdue, amber due within two weeks, plain otherwise. */
export function deadlineTone(r: Pick<Row, 'status' | 'date'>, today: string): DeadlineTone {
  if (!r.date) return 'none';
  if (!isOpen(r)) return 'plain';
  const d = daysUntil(r.date, today);
  if (d === null) return 'plain';
  if (d < 0) return 'red';
  if (d <= DUE_SOON_DAYS) return 'amber';
  return 'plain';
}

const byTitle = (a: Row, b: Row) => a.title.localeCompare(b.title, 'zh-CN');

/**
 * Tasks to do (open, in progress) with the nearest deadline first and undated ones last, and
 * tasks finished (done, cancelled) with the latest deadline first.
 */
export function groupTasks(rows: Row[]): { todo: Row[]; finished: Row[] } {
  const todo = rows.filter((r) => isOpen(r));
  const finished = rows.filter((r) => !isOpen(r));
  todo.sort((a, b) => {
    if (a.date && b.date && a.date !== b.date) return a.date < b.date ? -1 : 1;
    if (a.date && !b.date) return -1;
    if (!a.date && b.date) return 1;
    return byTitle(a, b);
  });
  finished.sort((a, b) => {
    if (a.date && b.date && a.date !== b.date) return a.date > b.date ? -1 : 1;
    if (a.date && !b.date) return -1;
    if (!a.date && b.date) return 1;
    return byTitle(a, b);
  });
  return { todo, finished };
}
