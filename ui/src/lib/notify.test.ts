import { describe, expect, it } from 'vitest';
import { reminderKey, unnotified } from './notify';
import type { Reminder } from './bindings/Reminder';

const r = (kind: Reminder['kind'], record: string | null, date: string): Reminder => ({
  kind, record, village: 'dongfeng', title: 'x', date, days: 1, years: null,
});

describe('which reminders are notified', () => {
  it('notifies a reminder once, and again only when it comes back on another date', () => {
    const talk = r('talk_due', 'm1', '2026-12-10');
    const task = r('task_due', 't1', '2026-12-05');
    let { fresh, keep } = unnotified([talk, task], []);
    expect(fresh).toEqual([talk, task]);
    ({ fresh, keep } = unnotified([talk, task], keep));
    expect(fresh).toEqual([]);
    // The task left the list; a new deadline brings it back as a new reminder.
    ({ fresh, keep } = unnotified([talk], keep));
    expect(fresh).toEqual([]);
    const moved = r('task_due', 't1', '2026-12-20');
    ({ fresh } = unnotified([talk, moved], keep));
    expect(fresh).toEqual([moved]);
    expect(reminderKey(moved)).not.toBe(reminderKey(task));
  });
});
