import { describe, expect, it } from 'vitest';
import { isField, isOffice, mayCreate, reportMayBecome, ROLES, taskIsOpen, taskMayBecome, unitKindsOf } from './rules';

// These read the rule book generated from zhucun-model; the Rust tests pin the same rules.
describe('the rule book generated from the model', () => {
  it('names every role once, field or office', () => {
    expect(ROLES).toEqual(['first_secretary', 'instructor', 'township_officer', 'city_officer', 'admin']);
    for (const r of ROLES) expect(isField(r)).toBe(!isOffice(r));
    expect(isField(undefined)).toBe(false);
    expect(unitKindsOf('first_secretary')).toContain('village');
    expect(unitKindsOf('township_officer')).not.toContain('village');
  });
  it('lets the village submit and the office review, and nothing leave accepted', () => {
    expect(reportMayBecome('draft', 'submitted', 'first_secretary')).toBe(true);
    expect(reportMayBecome('submitted', 'accepted', 'first_secretary')).toBe(false);
    expect(reportMayBecome('submitted', 'accepted', 'township_officer')).toBe(true);
    expect(reportMayBecome('accepted', 'returned', 'city_officer')).toBe(false);
    expect(mayCreate('township_officer', 'report')).toBe(false);
  });
  it('lets the village work on a task and the township close it', () => {
    expect(taskMayBecome('open', 'in_progress', 'instructor')).toBe(true);
    expect(taskMayBecome('in_progress', 'done', 'first_secretary')).toBe(false);
    expect(taskMayBecome('in_progress', 'done', 'township_officer')).toBe(true);
    expect(taskIsOpen('in_progress')).toBe(true);
    expect(taskIsOpen('cancelled')).toBe(false);
  });
});
