// The dashboard's calls to zhucun-server (same origin, under /api/, docs/dashboard.md).
// The session is a cookie the browser holds (HttpOnly: this code never sees it); every POST
// carries the session's CSRF token in `X-CSRF-Token`. Errors arrive as `{code, message}` and
// leave here as an `ApiError`, which `errorText` puts in the user's words.
import { t } from '../lib/i18n';
import type { Decision } from './bindings/Decision';
import type { NewTask } from './bindings/NewTask';
import type { TaskFile } from './bindings/TaskFile';
import type { ReviewDecision } from './bindings/ReviewDecision';
import type { Approve } from './bindings/Approve';
import type { VillageTargets } from './bindings/VillageTargets';
import type {
  ApprovalQueue,
  Charts,
  Device,
  IssuedCode,
  OrgUnit,
  Overview,
  Person,
  ReportView,
  ReviewQueue,
  Session,
  Supervision,
  TaskBoard,
  VillagePage,
} from './types';

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** The server's error code (`no_session`, `forbidden`, `locked`, ...), `offline`, or `http`. */
    readonly code: string,
    message: string,
    /** How long a locked login waits (`locked`). */
    readonly waitSecs: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrf = '';
let sessionEnded: (() => void) | null = null;

/** Remember the session's CSRF token (from login or `GET /api/session`); '' forgets it. */
export function setCsrf(token: string) {
  csrf = token;
}

/** Called when a request answers `no_session` (expired or logged out elsewhere). */
export function onSessionEnded(fn: (() => void) | null) {
  sessionEnded = fn;
}

function query(params: Record<string, string | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A call with a JSON body, or with a file's bytes as the body (`File`). */
async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const file = body instanceof File ? body : null;
  if (file) headers['Content-Type'] = file.type || 'application/octet-stream';
  else if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method === 'POST' && csrf) headers['X-CSRF-Token'] = csrf;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers,
      body: file ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  } catch (e) {
    throw new ApiError(0, 'offline', String((e as Error)?.message ?? e));
  }
  const text = res.status === 204 ? '' : await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const err = (data ?? {}) as { code?: unknown; message?: unknown; wait_secs?: unknown };
    const code = typeof err.code === 'string' ? err.code : 'http';
    const message = typeof err.message === 'string' ? err.message : text.slice(0, 200) || res.statusText;
    const wait = typeof err.wait_secs === 'number' ? err.wait_secs : null;
    // A session that ended answers every call alike; the login page and the first session
    // probe handle it themselves.
    if (code === 'no_session' && path !== '/api/session' && path !== '/api/login') sessionEnded?.();
    throw new ApiError(res.status, code, message, wait);
  }
  if (text && data === undefined) throw new ApiError(res.status, 'http', 'not JSON');
  return data as T;
}

const get = <T>(path: string) => request<T>('GET', path);
const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {});

/** A list answered either bare or wrapped in an object (`{people: [...]}`). */
function listOf<T>(v: unknown, key: string): T[] {
  if (Array.isArray(v)) return v as T[];
  const inner = (v as Record<string, unknown> | null)?.[key];
  return Array.isArray(inner) ? (inner as T[]) : [];
}

export const api = {
  async login(user: string, password: string): Promise<Session> {
    const s = await post<Session>('/api/login', { user, password });
    setCsrf(s.csrf);
    return s;
  },
  async session(): Promise<Session | null> {
    try {
      const s = await get<Session>('/api/session');
      setCsrf(s.csrf);
      return s;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null;
      throw e;
    }
  },
  async logout(): Promise<void> {
    try {
      await post<void>('/api/logout');
    } finally {
      setCsrf('');
    }
  },
  units: async () => listOf<OrgUnit>(await get('/api/units'), 'units'),
  overview: (month?: string) => get<Overview>(`/api/overview${query({ month })}`),
  village: (id: string, month?: string) =>
    get<VillagePage>(`/api/villages/${encodeURIComponent(id)}${query({ month })}`),
  charts: (month?: string) => get<Charts>(`/api/charts${query({ month })}`),
  supervision: (month?: string) => get<Supervision>(`/api/supervision${query({ month })}`),
  reviews: () => get<ReviewQueue>('/api/reviews'),
  approvals: () => get<ApprovalQueue>('/api/approvals'),
  setTargets: (village: string, t: VillageTargets) =>
    post<VillageTargets>(`/api/villages/${encodeURIComponent(village)}/targets`, t),
  approve: (id: string, step: string, on: string) =>
    post<ApprovalQueue>(`/api/members/${encodeURIComponent(id)}/approve`, { step, on } satisfies Approve),
  tasks: () => get<TaskBoard>('/api/tasks'),
  issueTask: (t: NewTask) => post<{ id: string }>('/api/tasks', t),
  /** Send a file to go with a task; the answer goes in the task's `attachments`. */
  uploadFile: (f: File) => post<TaskFile>(`/api/blobs${query({ name: f.name })}`, f),
  /** Where a task's file (or another record's of the asker's view) is fetched from. */
  fileUrl: (hash: string) => `/api/blobs/${encodeURIComponent(hash)}`,
  report: (id: string) => get<ReportView>(`/api/reports/${encodeURIComponent(id)}`),
  review: (id: string, decision: Decision, comment: string) =>
    post<ReportView>(`/api/reports/${encodeURIComponent(id)}/review`, { decision, comment } satisfies ReviewDecision),
  admin: {
    units: async () => listOf<OrgUnit>(await get('/api/admin/units'), 'units'),
    addUnit: (u: { id: string; name: string; kind: string; parent: string | null }) => post<unknown>('/api/admin/units', u),
    people: async () => listOf<Person>(await get('/api/admin/people'), 'people'),
    addPerson: (p: { id: string; name: string; role: string; units: string[]; password?: string }) =>
      post<unknown>('/api/admin/people', p),
    issueCode: (person: string, hours: number) => post<IssuedCode>('/api/admin/codes', { person, hours }),
    devices: async () => listOf<Device>(await get('/api/admin/devices'), 'devices'),
    revoke: (id: string) => post<unknown>(`/api/admin/devices/${encodeURIComponent(id)}/revoke`),
  },
};

export type ExportTable = 'overview' | 'reports' | 'inspections' | 'activities' | 'members' | 'devices' | 'people';

/**
 * The link that downloads a table (the browser sends the session cookie with it). `township`
 * is the screen's township filter ('' = every township): the file holds what the screen shows.
 */
export function exportUrl(
  table: ExportTable,
  ext: 'xlsx' | 'csv',
  opts: { month?: string | null; village?: string | null; township?: string | null; lang?: string | null } = {},
): string {
  const { month, village, township } = opts;
  return `/api/export/${table}.${ext}${query({ month, village, township, lang: opts.lang === 'en' ? 'en' : null })}`;
}

function known(key: string, values?: Record<string, string | number>): string | null {
  const s = t(key, values);
  return s === key ? null : s;
}

/** Whole minutes to wait, at least one. */
export function waitMinutes(secs: number | null | undefined): number {
  return Math.max(1, Math.ceil((secs ?? 0) / 60));
}

/** An error in the user's words (the catalogs' `dashboard.error.*`). */
export function errorText(e: unknown): string {
  if (!(e instanceof ApiError)) return String((e as Error)?.message ?? e);
  if (e.code === 'locked') return t('dashboard.error.locked', { minutes: waitMinutes(e.waitSecs) });
  // The server explains what was invalid in words of its own: keep them after ours.
  if (e.code === 'invalid' && e.message) return t('dashboard.error.invalid_detail', { detail: e.message });
  const text = e.code === 'http' ? null : known(`dashboard.error.${e.code}`);
  if (text) return text;
  if (e.status === 404) return t('dashboard.error.not_found');
  return t('dashboard.error.http', { status: e.status, message: e.message });
}
