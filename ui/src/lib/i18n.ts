// Message catalogs (zh-CN first, English second) and formatting for the chosen language.
import { addMessages, init, locale, _ } from 'svelte-i18n';
import { get } from 'svelte/store';
import zh from '../locales/zh-CN.json';
import en from '../locales/en.json';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
const KEY = 'zhucun.locale';

export function savedLocale(): Locale {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'en' || v === 'zh-CN') return v;
  } catch {
    /* storage unavailable: default */
  }
  return 'zh-CN';
}

export function setupI18n(initial: Locale = savedLocale()) {
  addMessages('zh-CN', zh);
  addMessages('en', en);
  init({ fallbackLocale: 'zh-CN', initialLocale: initial });
  document.documentElement.lang = initial;
}

export function setLocale(l: Locale) {
  locale.set(l);
  document.documentElement.lang = l;
  try {
    localStorage.setItem(KEY, l);
  } catch {
    /* not persisted */
  }
}

export function currentLocale(): Locale {
  return get(locale) === 'en' ? 'en' : 'zh-CN';
}

/** Translate outside components (the same store components use as `$_`). */
export function t(key: string, values?: Record<string, string | number>): string {
  return get(_)(key, values ? { values } : undefined);
}

/** The label of an enum value, falling back to the value itself. */
export function enumLabel(group: string, value: string | null | undefined): string {
  if (!value) return '';
  const key = `enum.${group}.${value}`;
  const s = t(key);
  return s === key ? value : s;
}

export { _, locale };
