// What the dashboard's screens share while it is open: the month looked at, the township
// filter, the overview's order. Kept in memory only (a reload starts at the current month).
import { isMonth, shiftMonth } from '../lib/report';
import type { OverviewSortKey, Sort } from './table';

class View {
  /** The month chosen with the picker; '' = the server's current month. */
  month = $state('');
  /** The server's current month, learnt from the first answer that names it. */
  serverMonth = $state('');
  /** '' = every township. */
  township = $state('');
  overviewSort = $state<Sort<OverviewSortKey>>({ key: 'township', dir: 'ascending' });

  /** The month shown: the chosen one, else the server's. */
  get shown(): string {
    return this.month || this.serverMonth;
  }

  /** The `month=` to ask for (undefined: let the server pick its current month). */
  get query(): string | undefined {
    return this.month || undefined;
  }

  learn(month: string | undefined | null) {
    if (!this.serverMonth && isMonth(month)) this.serverMonth = month;
  }

  step(n: number) {
    const from = this.shown;
    if (!isMonth(from)) return;
    this.pick(shiftMonth(from, n));
  }

  pick(month: string) {
    if (!isMonth(month)) return;
    // No month after the server's current one: nothing is recorded there yet.
    if (this.serverMonth && month > this.serverMonth) month = this.serverMonth;
    this.month = month === this.serverMonth ? '' : month;
  }

  reset() {
    this.month = '';
    this.township = '';
    this.overviewSort = { key: 'township', dir: 'ascending' };
  }
}

export const view = new View();
