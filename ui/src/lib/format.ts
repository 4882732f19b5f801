// Dates, numbers, sizes and ages in the user's language.

/** `YYYY-MM-DD` as a local date (no time-zone shift). */
export function parseDay(iso: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) return null;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

// Building an Intl formatter costs far more than using one, and a list formats a date per
// row: keep one per language and style.
const formatters = new Map<string, Intl.DateTimeFormat>();
function dateFormat(locale: string, style: 'day' | 'month'): Intl.DateTimeFormat {
  const key = `${locale}|${style}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(
      locale,
      style === 'day' ? { year: 'numeric', month: 'short', day: 'numeric' } : { year: 'numeric', month: 'long' },
    );
    formatters.set(key, f);
  }
  return f;
}

export function fmtDate(iso: string | null | undefined, locale: string): string {
  if (!iso) return '';
  const d = parseDay(iso);
  if (!d) return iso;
  return dateFormat(locale, 'day').format(d);
}

export function fmtMonth(month: string, locale: string): string {
  const d = parseDay(`${month}-01`);
  if (!d) return month;
  return dateFormat(locale, 'month').format(d);
}

export function fmtNumber(n: number, locale: string): string {
  return new Intl.NumberFormat(locale).format(n);
}

export function fmtMoney(yuan: number, locale: string): string {
  return new Intl.NumberFormat(locale, { style: 'currency', currency: 'CNY' }).format(yuan);
}

export function fmtBytes(n: number, locale: string): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: i === 0 ? 0 : 1 }).format(v)} ${units[i]}`;
}

/** "3 minutes ago" for a Unix time, in the language. */
export function fmtAgo(unixSecs: number, locale: string, now: number = Date.now()): string {
  // A past moment (a sync, a device last seen): a clock set back since never makes it "in 5 minutes".
  const diff = Math.min(0, Math.round(unixSecs - now / 1000));
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  const abs = Math.abs(diff);
  if (abs < 60) return rtf.format(diff, 'second');
  if (abs < 3600) return rtf.format(Math.round(diff / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(diff / 3600), 'hour');
  return rtf.format(Math.round(diff / 86400), 'day');
}

/** `YYYY-MM-DD` of a local date. */
export function isoDay(d: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function isoMonth(d: Date = new Date()): string {
  return isoDay(d).slice(0, 7);
}
