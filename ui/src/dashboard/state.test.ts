import { describe, expect, it } from 'vitest';
import { view } from './state.svelte';

describe('the month looked at', () => {
  it('starts at the server\'s month, steps back and never past it', () => {
    view.reset();
    view.serverMonth = '';
    expect(view.query).toBeUndefined();
    view.learn('2026-05');
    view.learn('2030-01');
    expect(view.shown).toBe('2026-05');
    view.step(-1);
    expect(view.query).toBe('2026-04');
    view.step(-4);
    expect(view.shown).toBe('2025-12');
    view.pick('2027-01');
    expect(view.shown).toBe('2026-05');
    expect(view.query).toBeUndefined();
    view.pick('not a month');
    expect(view.shown).toBe('2026-05');
  });
});
