// Every row of a filtered list, a page (at most 500 rows) at a time.
import { api, type ListQuery, type Row } from './api';
import { mapLimit } from './projects';

export type Filter = Omit<ListQuery, 'offset' | 'limit' | 'unsynced'> & { unsynced?: boolean };

export async function listAll(filter: Filter, cap = 5000): Promise<Row[]> {
  const rows: Row[] = [];
  for (;;) {
    const page = await api.list({ unsynced: false, ...filter, offset: rows.length, limit: 500 });
    rows.push(...page.rows);
    if (page.rows.length === 0 || rows.length >= Number(page.total) || rows.length >= cap) return rows;
  }
}

/** The full records behind some rows, by id (8 at a time; a record that fails is left out). */
export async function recordsById(rows: Row[]): Promise<Record<string, Record<string, unknown>>> {
  const views = await mapLimit(rows, 8, (r: Row) => api.get(r.id).catch(() => null));
  const byId: Record<string, Record<string, unknown>> = {};
  for (const v of views) if (v) byId[v.id] = v.record;
  return byId;
}
