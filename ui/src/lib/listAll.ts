// Every row of a filtered list, a page (at most 500 rows) at a time.
import { api, type ListQuery, type Row } from './api';

export type Filter = Omit<ListQuery, 'offset' | 'limit' | 'unsynced'> & { unsynced?: boolean };

export async function listAll(filter: Filter, cap = 5000): Promise<Row[]> {
  const rows: Row[] = [];
  for (;;) {
    const page = await api.list({ unsynced: false, ...filter, offset: rows.length, limit: 500 });
    rows.push(...page.rows);
    if (page.rows.length === 0 || rows.length >= Number(page.total) || rows.length >= cap) return rows;
  }
}
