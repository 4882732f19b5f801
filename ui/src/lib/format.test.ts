import { describe, expect, it } from 'vitest';
import { fmtAgo, fmtBytes, fmtDate, fmtMoney, isoDay, parseDay } from './format';

describe('formatting for the language', () => {
  it('shows dates in Chinese and in English without shifting the day', () => {
    expect(fmtDate('2026-11-05', 'zh-CN')).toBe('2026年11月5日');
    expect(fmtDate('2026-11-05', 'en')).toBe('Nov 5, 2026');
    expect(isoDay(parseDay('2026-01-31')!)).toBe('2026-01-31');
  });
  it('keeps something readable for a date it cannot parse', () => {
    expect(fmtDate('yesterday', 'zh-CN')).toBe('yesterday');
    expect(fmtDate(null, 'zh-CN')).toBe('');
  });
  it('shows money as yuan and sizes in KB/MB', () => {
    expect(fmtMoney(12500.5, 'zh-CN')).toBe('¥12,500.50');
    expect(fmtBytes(1536, 'en')).toBe('1.5 KB');
    expect(fmtBytes(512, 'en')).toBe('512 B');
  });
  it('says how long ago the last sync was', () => {
    const now = Date.UTC(2026, 10, 25, 12, 0, 0);
    expect(fmtAgo(now / 1000 - 180, 'zh-CN', now)).toBe('3分钟前');
    expect(fmtAgo(now / 1000 - 2 * 86400, 'en', now)).toBe('2 days ago');
  });

  it('never puts a past moment in the future when the clock was set back', () => {
    const now = Date.UTC(2026, 10, 25, 12, 0, 0);
    expect(fmtAgo(now / 1000 + 300, 'zh-CN', now)).toBe('现在');
    expect(fmtAgo(now / 1000 + 300, 'en', now)).toBe('now');
  });
});
