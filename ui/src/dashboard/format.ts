// Times the dashboard shows beside the shared formatting (../lib/format.ts): Unix seconds
// as a date and time, and "n days ago" from a day count the server computed.

const dateTimes = new Map<string, Intl.DateTimeFormat>();
const relatives = new Map<string, Intl.RelativeTimeFormat>();

/** A Unix time (seconds) as a local date and time. */
export function fmtDateTime(unixSecs: number | null | undefined, locale: string): string {
  if (unixSecs === null || unixSecs === undefined || !Number.isFinite(unixSecs)) return '';
  let f = dateTimes.get(locale);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
    dateTimes.set(locale, f);
  }
  return f.format(new Date(unixSecs * 1000));
}

/** "today", "yesterday", "5 days ago" for a count of whole days. */
export function fmtDaysAgo(days: number, locale: string): string {
  let f = relatives.get(locale);
  if (!f) {
    f = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
    relatives.set(locale, f);
  }
  return f.format(-Math.max(0, Math.round(days)), 'day');
}

const monthsShort = new Map<string, Intl.DateTimeFormat>();

/** A chart axis label for `YYYY-MM`: the month alone, with the year on January and on the first label. */
export function fmtMonthShort(month: string, locale: string, withYear = false): string {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m) return month;
  const year = withYear || m[2] === '01';
  const key = `${locale}|${year}`;
  let f = monthsShort.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, year ? { year: 'numeric', month: 'short' } : { month: 'short' });
    monthsShort.set(key, f);
  }
  return f.format(new Date(Number(m[1]), Number(m[2]) - 1, 1));
}
