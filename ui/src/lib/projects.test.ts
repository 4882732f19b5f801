import { describe, expect, it } from 'vitest';
import { clampPercent, mapLimit, overspent, sortProjects, statusTone, yuan } from './projects';

describe('progress bar', () => {
  it('is a whole percent from 0 to 100', () => {
    expect(clampPercent(42.6)).toBe(43);
    expect(clampPercent(130)).toBe(100);
    expect(clampPercent(-5)).toBe(0);
    expect(clampPercent(undefined)).toBe(0);
    expect(clampPercent('x')).toBe(0);
  });
});

describe('status and funds', () => {
  it('colours completed green, in progress amber, suspended red', () => {
    expect(statusTone('completed')).toBe('green');
    expect(statusTone('in_progress')).toBe('amber');
    expect(statusTone('suspended')).toBe('red');
    expect(statusTone('planned')).toBe('');
  });
  it('reads money leniently and flags spending over plan', () => {
    expect(yuan(20000.5)).toBe(20000.5);
    expect(yuan(null)).toBe(0);
    expect(overspent(20000, 25000)).toBe(true);
    expect(overspent(20000, 20000)).toBe(false);
    expect(overspent(0, 500)).toBe(false);
  });
  it('lists running projects before completed ones', () => {
    const rows = [
      { title: '乙', status: 'completed' },
      { title: '甲', status: 'planned' },
      { title: '丙', status: 'in_progress' },
    ];
    expect(sortProjects(rows).map((r) => r.status)).toEqual(['in_progress', 'planned', 'completed']);
  });
});

describe('mapLimit', () => {
  it('keeps order and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5 - (n % 3)));
      running--;
      return n * 10;
    });
    expect(out).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(most).toBeLessThanOrEqual(3);
    expect(await mapLimit([], 3, async (n: number) => n)).toEqual([]);
  });
});
