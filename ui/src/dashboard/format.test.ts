import { describe, expect, it } from 'vitest';
import { fmtDateTime, fmtDaysAgo, fmtMonthShort } from './format';

describe('dashboard times', () => {
  it('says how many days ago in either language', () => {
    expect(fmtDaysAgo(0, 'zh-CN')).toBe('今天');
    expect(fmtDaysAgo(1, 'en')).toBe('yesterday');
    expect(fmtDaysAgo(9, 'en')).toBe('9 days ago');
    expect(fmtDaysAgo(9, 'zh-CN')).toBe('9天前');
  });
  it('labels months on an axis, with the year where it changes', () => {
    expect(fmtMonthShort('2026-05', 'zh-CN')).toBe('5月');
    expect(fmtMonthShort('2026-01', 'en')).toBe('Jan 2026');
    expect(fmtMonthShort('2026-05', 'en', true)).toBe('May 2026');
    expect(fmtMonthShort('junk', 'en')).toBe('junk');
  });
  it('shows nothing for no time', () => {
    expect(fmtDateTime(null, 'zh-CN')).toBe('');
    expect(fmtDateTime(0, 'en')).not.toBe('');
  });
});
