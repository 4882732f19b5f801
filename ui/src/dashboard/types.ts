// The dashboard API's answers, generated from the server's Rust types (ts-rs, into
// ./bindings/ by the server's unit tests; scripts/test checks the committed files match).
// Only names the screens use and helper types of the UI's own are written here.

export type { Role } from '../lib/bindings/Role';
export type { ThreeMeetingsOneLesson as Tmol } from '../lib/bindings/ThreeMeetingsOneLesson';
export type { UserInfo as User } from './bindings/UserInfo';
/** `POST /api/login` and `GET /api/session`. */
export type { SessionInfo as Session } from './bindings/SessionInfo';
/** `missing` is the dashboard's word for "no report this month"; the rest are the model's states. */
export type { ReportStatus } from './bindings/ReportStatus';
export type { OrgUnit } from './bindings/OrgUnit';
export type { OverviewRow } from './bindings/OverviewRow';
export type { Overview } from './bindings/Overview';
export type { VillagePage } from './bindings/VillagePage';
export type { InspectionItem as Inspection } from './bindings/InspectionItem';
export type { Charts } from './bindings/Charts';
export type { Supervision } from './bindings/Supervision';
export type { ReviewQueue } from './bindings/ReviewQueue';
export type { ApprovalQueue } from './bindings/ApprovalQueue';
export type { ReportView } from './bindings/ReportView';
export type { TaskBoard } from './bindings/TaskBoard';
export type { PersonInfo as Person } from './bindings/PersonInfo';
export type { DeviceRow as Device } from './bindings/DeviceRow';
export type { CodeAnswer as IssuedCode } from './bindings/CodeAnswer';
import type { OverviewRow } from './bindings/OverviewRow';

/** A village's development figures (part of its overview row). */
export type Development = Pick<
  OverviewRow,
  'developed' | 'women' | 'women_percent' | 'target' | 'met_minimum' | 'met_target'
>;

/** Counts by a key: an object `{key: n}` or a list `[{key, n}]` (both are read). */
export type Counts =
  | Partial<Record<string, number>>
  | { key: string; n?: number; count?: number }[];
