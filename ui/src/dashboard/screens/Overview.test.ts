import { cleanup, render, screen } from '@testing-library/svelte';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { setupI18n, t } from '../../lib/i18n';
import { view } from '../state.svelte';
import type { Overview as OverviewAnswer, OverviewRow, ReportStatus } from '../types';
import Overview from './Overview.svelte';

function row(id: string, township: string, report: ReportStatus): OverviewRow {
  return {
    id,
    name: id,
    township,
    township_name: township,
    last_sync: 1_700_000_000,
    last_sync_days: 0,
    stale: false,
    activities: {},
    activities_total: 0,
    tmol: {
      branch_committee_meetings: 1,
      party_group_meetings: 1,
      branch_member_meetings_quarter: 1,
      party_lectures_quarter: 1,
      complete: true,
    },
    report,
    developed: 0,
    women: 0,
    women_percent: 0,
    target: 3,
    women_target_percent: 0,
    met_minimum: false,
    met_target: false,
    in_pipeline: 0,
    venue_progress: null,
    overdue_tasks: 0,
  };
}

const answer: OverviewAnswer = {
  month: '2026-05',
  year: 2026,
  today: '2026-05-20',
  previous_month: '2026-04',
  same_month_last_year: '2025-05',
  villages: [
    row('dongfeng', 'chengguan', 'submitted'),
    row('xinhe', 'chengguan', 'draft'),
    row('nanshan', 'chengguan', 'missing'),
    row('hongqi', 'dongcheng', 'missing'),
  ],
};

describe('the overview screen', () => {
  beforeAll(() => setupI18n('zh-CN'));
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    view.reset();
  });

  it('exports what the township filter shows and counts drafts as not submitted', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify(answer), { status: 200, headers: { 'Content-Type': 'application/json' } })),
    );
    view.reset();
    view.township = 'chengguan';
    render(Overview);

    const chip = await screen.findByTestId('unsubmitted-count');
    // 城关镇's draft and missing reports; 东城街道's missing one is filtered out.
    expect(chip.textContent).toContain(t('dashboard.overview.unsubmitted_count', { n: 2 }));
    expect(screen.getByTestId('export-csv').getAttribute('href')).toBe('/api/export/overview.csv?township=chengguan');
    expect(screen.getByTestId('export-xlsx').getAttribute('href')).toBe('/api/export/overview.xlsx?township=chengguan');
    // The draft's badge says it is not submitted.
    const draft = screen.getAllByTestId('overview-row').find((r) => r.dataset.village === 'xinhe');
    expect(draft?.querySelector('[data-state="draft"]')?.textContent).toContain(t('dashboard.report_state.draft'));
    expect(t('dashboard.report_state.draft')).toContain('未提交');
  });

  it('exports every township when none is chosen', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify(answer), { status: 200, headers: { 'Content-Type': 'application/json' } })),
    );
    view.reset();
    render(Overview);
    const chip = await screen.findByTestId('unsubmitted-count');
    expect(chip.textContent).toContain(t('dashboard.overview.unsubmitted_count', { n: 3 }));
    expect(screen.getByTestId('export-csv').getAttribute('href')).toBe('/api/export/overview.csv');
  });
});
