import { describe, expect, it } from 'vitest';
import zh from '../locales/zh-CN.json';
import en from '../locales/en.json';
import { refusalReason } from './refused';

const lookup = (cat: unknown, key: string) =>
  key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], cat);

describe('refusalReason', () => {
  it('names every reject code a record can come back with, in both languages', () => {
    for (const code of ['forbidden', 'invalid', 'out_of_scope', 'schema_too_new', 'something_new']) {
      const { key } = refusalReason(code);
      expect(typeof lookup(zh, key), `${code} in zh-CN`).toBe('string');
      expect(typeof lookup(en, key), `${code} in en`).toBe('string');
    }
  });

  it('says the code it does not know', () => {
    expect(refusalReason('envelope_changed')).toEqual({
      key: 'sync.refused_other',
      values: { code: 'envelope_changed' },
    });
    expect(refusalReason('forbidden').key).toBe('sync.refused_forbidden');
  });
});
