import { describe, expect, it } from 'vitest';
import { selectOptions, taskSpec } from './specs';

const status = taskSpec.find((f) => f.name === 'status') as Extract<(typeof taskSpec)[number], { type: 'select' }>;

describe('the task form offers only the moves the rules allow', () => {
  it('lets a village move an open task to in progress, never close or cancel it', () => {
    const offered = selectOptions(status, 'open', 'first_secretary');
    expect(offered).toContain('open');
    expect(offered).toContain('in_progress');
    expect(offered).not.toContain('done');
    expect(offered).not.toContain('cancelled');
  });

  it('lets the township close what it issued', () => {
    expect(selectOptions(status, 'in_progress', 'township_officer')).toContain('done');
  });

  it('keeps a closed task closed for the village, and offers every status on a new task', () => {
    expect(selectOptions(status, 'done', 'first_secretary')).toEqual(['done']);
    expect(selectOptions(status, undefined, 'township_officer')).toEqual(status.options);
  });
});
