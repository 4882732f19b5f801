import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { setLocale, setupI18n } from '../lib/i18n';
import { api, ApiError, errorText, exportUrl, onSessionEnded, setCsrf, waitMinutes } from './api';

type Call = { url: string; init: RequestInit };

function serve(status: number, body: unknown): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
      return new Response(status === 204 ? null : text, { status, headers: { 'Content-Type': 'application/json' } });
    }),
  );
  return calls;
}

const header = (c: Call, name: string) => (c.init.headers as Record<string, string>)[name];

describe('the dashboard API client', () => {
  beforeAll(() => setupI18n('zh-CN'));
  afterEach(() => {
    vi.unstubAllGlobals();
    setCsrf('');
    onSessionEnded(null);
  });

  it('logs in with the cookie of this origin and sends the CSRF token on every later POST', async () => {
    let calls = serve(200, { user: { id: 'wang-qiang', name: '王强', role: 'township_officer' }, csrf: 'tok' });
    const s = await api.login('wang-qiang', 'pw');
    expect(s.user.name).toBe('王强');
    expect(calls[0].url).toBe('/api/login');
    expect(calls[0].init.credentials).toBe('same-origin');
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ user: 'wang-qiang', password: 'pw' });

    calls = serve(204, undefined);
    await api.admin.revoke('dev 1');
    expect(calls[0].url).toBe('/api/admin/devices/dev%201/revoke');
    expect(calls[0].init.method).toBe('POST');
    expect(header(calls[0], 'X-CSRF-Token')).toBe('tok');
  });

  it('sends no CSRF token on a GET and asks for the month only when one is chosen', async () => {
    setCsrf('tok');
    let calls = serve(200, { month: '2026-05', year: 2026, today: '2026-05-20', villages: [] });
    await api.overview();
    expect(calls[0].url).toBe('/api/overview');
    expect(header(calls[0], 'X-CSRF-Token')).toBeUndefined();
    calls = serve(200, { month: '2026-04', year: 2026, today: '2026-05-20', villages: [] });
    await api.overview('2026-04');
    expect(calls[0].url).toBe('/api/overview?month=2026-04');
  });

  it('answers null for no session, and reports a session that ended elsewhere', async () => {
    serve(401, { code: 'no_session', message: 'log in' });
    expect(await api.session()).toBeNull();
    const ended = vi.fn();
    onSessionEnded(ended);
    await expect(api.charts()).rejects.toMatchObject({ code: 'no_session', status: 401 });
    expect(ended).toHaveBeenCalledTimes(1);
  });

  it('reads lists bare or wrapped', async () => {
    serve(200, [{ id: 'p', name: 'P', role: 'admin', units: [] }]);
    expect((await api.admin.people()).length).toBe(1);
    serve(200, { people: [{ id: 'p', name: 'P', role: 'admin', units: [] }] });
    expect((await api.admin.people()).length).toBe(1);
  });

  it('puts wrong passwords and lockouts in the user\'s words, in both languages', async () => {
    serve(401, { code: 'bad_login', message: 'wrong' });
    const bad = await api.login('x', 'y').catch((e) => e);
    expect(errorText(bad)).toBe('账号或密码不对');
    serve(429, { code: 'locked', message: 'locked', wait_secs: 610 });
    const locked = await api.login('x', 'y').catch((e) => e);
    expect(locked).toBeInstanceOf(ApiError);
    expect(errorText(locked)).toBe('登录失败次数过多，已暂时锁定，请 11 分钟后再试');
    setLocale('en');
    expect(errorText(locked)).toBe('Too many failed logins: locked, try again in 11 minutes');
    expect(errorText(bad)).toBe('Wrong user id or password');
    setLocale('zh-CN');
  });

  it('explains a server it cannot reach and errors it does not know', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    expect(errorText(await api.charts().catch((e) => e))).toBe('连不上服务器，请检查网络');
    serve(500, 'boom');
    expect(errorText(await api.charts().catch((e) => e))).toBe('服务器出错（500）：boom');
    serve(403, { code: 'out_of_scope', message: 'x' });
    expect(errorText(await api.village('far').catch((e) => e))).toBe('这个村不在您的负责范围内');
    serve(422, { code: 'invalid', message: 'unit name is required' });
    expect(errorText(await api.admin.addUnit({ id: 'a', name: '', kind: 'village', parent: 'b' }).catch((e) => e))).toBe(
      '填写的内容有误：unit name is required',
    );
  });

  it('waits at least a minute', () => {
    expect([0, 1, 60, 61, 900].map(waitMinutes)).toEqual([1, 1, 1, 2, 15]);
  });

  it('links exports with the month, the village and English headers when asked', () => {
    expect(exportUrl('overview', 'xlsx')).toBe('/api/export/overview.xlsx');
    expect(exportUrl('activities', 'csv', { month: '2026-05', village: 'dongfeng', lang: 'zh-CN' })).toBe(
      '/api/export/activities.csv?month=2026-05&village=dongfeng',
    );
    expect(exportUrl('reports', 'xlsx', { lang: 'en' })).toBe('/api/export/reports.xlsx?lang=en');
  });

  it('links exports with the township filter, and none for every township', () => {
    expect(exportUrl('overview', 'csv', { month: '2026-05', township: 'chengguan' })).toBe(
      '/api/export/overview.csv?month=2026-05&township=chengguan',
    );
    expect(exportUrl('reports', 'xlsx', { township: '' })).toBe('/api/export/reports.xlsx');
  });
});
