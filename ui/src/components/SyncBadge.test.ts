import { cleanup, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { setLocale, setupI18n } from '../lib/i18n';
import type { SyncView } from '../lib/api';
import { sync } from '../lib/sync.svelte';
import SyncBadge from './SyncBadge.svelte';

function view(held: SyncView['held'], pending = held.length): SyncView {
  return {
    state: 'idle',
    last_success: Math.floor(Date.now() / 1000) - 60,
    last_attempt: Math.floor(Date.now() / 1000) - 60,
    error: null,
    error_code: null,
    running: null,
    pending,
    last_pushed: 1,
    last_pulled: 0,
    held,
    held_total: held.length,
    refused: [],
  };
}

const ID = '6f1c2a8e-3b7d-4e21-9c55-0d8f7a1b2c3d';

describe('the sync card', () => {
  beforeAll(() => setupI18n('zh-CN'));
  afterEach(() => {
    cleanup();
    vi.useRealTimers();
    sync.view = null;
    setLocale('zh-CN');
  });

  it('names each record the server refused a photo of, the file and the reason', () => {
    sync.view = view([
      { record: ID, kind: 'activity', title: '村民代表大会现场', attachment: '大会合影.jpg', code: 'too_large' },
      { record: ID.replace('6f', '7a'), kind: 'task', title: '', attachment: 'ab12', code: 'bad_chunk' },
    ]);
    render(SyncBadge, { detailed: true });
    const held = screen.getByTestId('sync-held');
    expect(held.textContent).toContain('2 条记录暂未上传');
    const [first, second] = screen.getAllByTestId('sync-held-item');
    expect(first.textContent).toContain('「村民代表大会现场」的附件「大会合影.jpg」：附件超过服务器允许的大小');
    // A record of a kind with a screen of its own opens there; others are plain text.
    expect(first.querySelector('a')?.getAttribute('href')).toBe(`#/activities/${ID}`);
    expect(second.textContent).toContain('（无标题）');
    expect(second.textContent).toContain('服务器拒收（bad_chunk）');
    expect(second.querySelector('a')).toBeNull();
    expect(screen.getByTestId('sync-pending').textContent).toContain('2 条记录待同步');
    expect(screen.getByTestId('sync-held-hint').textContent).toContain('换一张较小的');
  });

  it('counts the held records it does not list, and gives the advice that fits the reason', () => {
    sync.view = {
      ...view([{ record: ID, kind: 'activity', title: '冬训', attachment: 'a.jpg', code: 'partials_full' }]),
      held_total: 25,
      pending: 25,
    };
    render(SyncBadge, { detailed: true });
    expect(screen.getByTestId('sync-held').textContent).toContain('25 条记录暂未上传');
    expect(screen.getByTestId('sync-held').textContent).toContain('另有 24 条');
    // Waiting for room on the server: no advice to change the photo.
    expect(screen.getByTestId('sync-held-hint').textContent).not.toContain('较小');
  });

  it('names each record whose change the server refused, with the reason and a way to keep the words', () => {
    sync.view = {
      ...view([], 0),
      refused: [
        { record: ID, kind: 'report', title: '2026-11 月报', code: 'forbidden', message: 'first_secretary may not change narrative of a report that is accepted' },
        { record: ID.replace('6f', '7a'), kind: 'member', title: '张伟', code: 'envelope_changed', message: 'x' },
      ],
    };
    render(SyncBadge, { detailed: true });
    expect(screen.getByTestId('sync-refused').textContent).toContain('2 条记录的修改未被服务器接受');
    const [report, member] = screen.getAllByTestId('sync-refused-item');
    expect(report.textContent).toContain('「2026-11 月报」：您的岗位不能做这项修改，或记录已被乡镇处理');
    expect(report.querySelector('a')?.getAttribute('href')).toBe('#/report');
    expect(report.querySelector('[data-testid="keep-words"]')).not.toBeNull();
    expect(member.textContent).toContain('服务器未接受（envelope_changed）');
    // Nothing is pending: the refused record waits for the user, not for the next sync.
    expect(screen.getByTestId('sync-pending').textContent).toContain('全部记录已同步');
  });

  it('says nothing of held records when there are none', () => {
    sync.view = view([], 3);
    render(SyncBadge, { detailed: true });
    expect(screen.queryByTestId('sync-held')).toBeNull();
    expect(screen.getByTestId('sync-pending').textContent).toContain('3 条记录待同步');
  });

  it('speaks English when English is chosen', () => {
    setLocale('en');
    sync.view = view([
      { record: ID, kind: 'project', title: 'Venue', attachment: 'site.jpg', code: 'partials_full' },
    ]);
    render(SyncBadge, { detailed: true });
    expect(screen.getByTestId('sync-held').textContent).toContain('1 record not uploaded yet');
    const item = screen.getByTestId('sync-held-item');
    expect(item.textContent).toContain('“Venue”, attachment “site.jpg”');
    expect(item.textContent).toContain("the server's room for unfinished uploads is full");
    expect(item.querySelector('a')?.getAttribute('href')).toBe(`#/projects/${ID}`);
  });

  it('never says the last sync is in the future', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-02T08:00:00Z'));
    sync.view = view([], 0);
    render(SyncBadge, { detailed: true });
    // A sync finishes 5 s after the card was drawn, before its clock ticks again.
    vi.setSystemTime(new Date('2026-12-02T08:00:05Z'));
    sync.view = { ...view([], 0), last_success: Date.parse('2026-12-02T08:00:04Z') / 1000 };
    await tick();
    const card = screen.getByTestId('sync-card').textContent ?? '';
    expect(card).toContain('上次同步：1秒钟前');
    expect(card).not.toContain('后');
  });
});
