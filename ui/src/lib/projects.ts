// The projects screen's arithmetic: progress bars, status colours, spending. Pure.
import type { ProjectStatus } from './bindings/ProjectStatus';

/** A progress value as a whole percent between 0 and 100 (junk reads as 0). */
export function clampPercent(p: unknown): number {
  const n = typeof p === 'number' ? p : Number(p);
  if (!Number.isFinite(n)) return 0;
  return Math.round(Math.min(100, Math.max(0, n)));
}

/** The status chip's colour. */
export function statusTone(status: string | null | undefined): 'green' | 'amber' | 'red' | '' {
  switch (status as ProjectStatus) {
    case 'completed':
      return 'green';
    case 'in_progress':
      return 'amber';
    case 'suspended':
      return 'red';
    default:
      return '';
  }
}

/** Money as the record holds it (yuan, possibly absent): a number. */
export function yuan(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** Whether more has been spent than was planned (only when something was planned). */
export function overspent(planned: number, spent: number): boolean {
  return planned > 0 && spent > planned;
}

/** Projects still running first (in progress, planned, suspended), completed last; by name. */
const ORDER: Record<string, number> = { in_progress: 0, planned: 1, suspended: 2, completed: 3 };
export function sortProjects<T extends { status?: string | null; title: string }>(rows: T[]): T[] {
  return [...rows].sort(
    (a, b) =>
      (ORDER[a.status ?? ''] ?? 4) - (ORDER[b.status ?? ''] ?? 4) ||
      a.title.localeCompare(b.title, 'zh-CN'),
  );
}

/** Run `f` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
