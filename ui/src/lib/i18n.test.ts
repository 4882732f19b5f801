import { describe, expect, it } from 'vitest';
import zh from '../locales/zh-CN.json';
import en from '../locales/en.json';

type Tree = { [k: string]: string | Tree };
function keys(t: Tree, prefix = ''): string[] {
  return Object.entries(t).flatMap(([k, v]) => (typeof v === 'string' ? [prefix + k] : keys(v, `${prefix}${k}.`)));
}

describe('message catalogs', () => {
  it('have the same keys in Chinese and English', () => {
    expect(keys(en as Tree).sort()).toEqual(keys(zh as Tree).sort());
  });
  it('have no empty message', () => {
    for (const [name, cat] of [['zh-CN', zh], ['en', en]] as const) {
      const empty = keys(cat as Tree).filter((k) => {
        const v = k.split('.').reduce<unknown>((o, p) => (o as Tree)[p], cat);
        return typeof v !== 'string' || v.trim() === '';
      });
      expect(empty, name).toEqual([]);
    }
  });
  it('use the same placeholders in both languages', () => {
    const ph = (s: string) => [...s.matchAll(/\{(\w+)/g)].map((m) => m[1]).sort();
    for (const k of keys(zh as Tree)) {
      const get = (c: unknown) => k.split('.').reduce<unknown>((o, p) => (o as Tree)[p], c) as string;
      expect(ph(get(en)), k).toEqual(ph(get(zh)));
    }
  });
});
