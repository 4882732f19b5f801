// The dashboard API's answers, as docs/dashboard.md states them. The server's dashboard types
// are not generated to TypeScript (yet); when they are, these become re-exports of the bindings.

export type { Role } from '../lib/bindings/Role';
import type { Role } from '../lib/bindings/Role';

export type User = { id: string; name: string; role: Role | string };

/** `POST /api/login` and `GET /api/session`. */
export type Session = { user: User; csrf: string };

/** `missing` is the dashboard's word for "no report this month"; the rest are the model's states. */
export type ReportStatus = 'missing' | 'draft' | 'submitted' | 'returned' | 'accepted';

export type OrgUnit = { id: string; name: string; kind: string; parent: string | null; path: string };

export type Tmol = {
  branch_committee_meetings: number;
  party_group_meetings: number;
  branch_member_meetings_quarter: number;
  party_lectures_quarter: number;
  complete: boolean;
};

export type Development = {
  developed: number;
  women: number;
  women_percent: number;
  target: number;
  met_minimum: boolean;
  met_target: boolean;
};

export type OverviewRow = Development & {
  id: string;
  name: string;
  township: string | null;
  township_name: string | null;
  last_sync: number | null;
  last_sync_days: number | null;
  stale: boolean;
  activities: Record<string, number>;
  activities_total: number;
  tmol: Tmol;
  report: ReportStatus;
  venue_progress: number | null;
  overdue_tasks: number;
};

export type Overview = { month: string; year: number; today: string; villages: OverviewRow[] };

/** Counts by a key: an object `{key: n}` or a list `[{key, n}]` (both are read). */
export type Counts = Record<string, number> | { key: string; n?: number; count?: number }[];

export type VillagePage = {
  village: { id: string; name: string; township: string | null; township_name: string | null; path: string };
  /** The month asked about (`YYYY-MM`). */
  month?: string;
  timeline: { id: string; date: string | null; kind: string | null; title: string; attendees: number | null }[];
  roster: { total: number; by_category: Counts; by_gender: Counts; by_age_band: Counts; by_stage: Counts };
  pipeline: { id: string; name: string; stage: string; date: string | null }[];
  /** The village's overview row; null when the server has none. */
  development: (Partial<OverviewRow> & Development) | null;
  projects: {
    id: string;
    name: string;
    kind: string;
    status: string | null;
    progress: number | null;
    funds_planned: number | null;
    funds_spent: number | null;
    due_on: string | null;
  }[];
  tasks: { id: string; title: string; deadline: string | null; status: string | null; overdue: boolean }[];
  reports: { month: string; status: ReportStatus }[];
  inspections: Inspection[];
};

export type Inspection = {
  id: string;
  village?: string;
  village_name?: string;
  township_name?: string | null;
  kind: string;
  period: string;
  date: string | null;
  rating: string | null;
  score: number | null;
  max: number | null;
  open_findings: number;
};

export type Charts = {
  months: string[];
  townships: { id: string; name: string; activities: number[] }[];
  development: { id: string; name: string; developed: number; target: number }[];
  reports: ({ month: string } & Record<ReportStatus, number>)[];
};

export type Supervision = {
  months: string[];
  villages: { id: string; name: string; township?: string | null; township_name: string | null; states: ReportStatus[] }[];
  inspections: Inspection[];
};

export type Person = {
  id: string;
  name: string;
  role: string;
  units: string[];
  /** Whether the person can log in to the dashboard (has a password). */
  has_login?: boolean;
};

export type Device = {
  id: string;
  name: string;
  person_id: string;
  person_name?: string;
  created_at: number;
  last_seen: number | null;
  revoked_at: number | null;
};

export type IssuedCode = { code: string; person: string; name?: string; expires_at: number; qr_svg: string };
