// What each record kind's form shows: field names are the model's (checked against the
// generated types), labels come from the catalogs (`field.<kind>.<name>`).
import type { Activity } from './bindings/Activity';
import type { Member } from './bindings/Member';
import type { Project } from './bindings/Project';
import type { Task } from './bindings/Task';
import type { TaskStatus } from './bindings/TaskStatus';
import { taskMayBecome } from './rules';
import {
  ACTIVITY_KINDS, CATEGORIES, DEMONSTRATION_TYPES, GENDERS, NEEDS_LECTURER, PRIORITY_GROUPS,
  PROJECT_KINDS, PROJECT_STATUSES, STAGES, TASK_STATUSES,
} from './kinds';

type Rec = Record<string, unknown>;
type Base<K extends string> = {
  name: K;
  required?: boolean;
  show?: (r: Rec) => boolean;
  wide?: boolean;
  /** Shown, never sent: a value only another role gives (the township's approvals). */
  readonly?: boolean;
};

export type SubField = { name: string; type: 'text' | 'date' | 'check' };
export type FieldSpec<K extends string = string> =
  | (Base<K> & { type: 'text' | 'textarea' | 'date' | 'number' | 'money' | 'percent' })
  | (Base<K> & {
      type: 'select';
      group: string;
      options: readonly string[];
      nullable?: boolean;
      /** Whether a saved record's value may move from `from` to `to` for this role (the model's rule). */
      moves?: (from: string, to: string, role: string | undefined) => boolean;
    })
  | (Base<K> & { type: 'multi'; group: string; options: readonly string[] })
  | (Base<K> & { type: 'members' | 'photos' | 'villages' | 'files' })
  | (Base<K> & { type: 'list'; labels: string; add: string; item: SubField[] });

const kindIs = (...ks: string[]) => (r: Rec) => ks.includes(String(r.activity_kind));
/** A step's fields show from the stage they belong to on, and whenever they hold a value. */
const atStage = (name: string, ...stages: string[]) => (r: Rec) =>
  stages.includes(String(r.stage)) || (r[name] != null && r[name] !== 0 && !(Array.isArray(r[name]) && r[name].length === 0));

export const activitySpec: FieldSpec<keyof Activity & string>[] = [
  { name: 'activity_kind', type: 'select', group: 'activity_kind', options: ACTIVITY_KINDS, required: true },
  { name: 'date', type: 'date', required: true },
  { name: 'topic', type: 'text', required: true, wide: true },
  { name: 'place', type: 'text' },
  { name: 'host', type: 'text' },
  { name: 'lecturer', type: 'text', required: true, show: kindIs(...NEEDS_LECTURER) },
  { name: 'household', type: 'text', required: true, show: kindIs('household_visit') },
  { name: 'demonstration', type: 'select', group: 'demonstration', options: DEMONSTRATION_TYPES, nullable: true, required: true, show: kindIs('demonstration') },
  { name: 'duration_minutes', type: 'number' },
  { name: 'other_attendees', type: 'number' },
  { name: 'attendees', type: 'members', wide: true },
  { name: 'summary', type: 'textarea', wide: true },
  { name: 'follow_ups', type: 'list', labels: 'follow_up', add: 'form.add_follow_up', wide: true, item: [
    { name: 'text', type: 'text' }, { name: 'due', type: 'date' }, { name: 'done', type: 'check' },
  ] },
  { name: 'attachments', type: 'photos', wide: true },
];

export const memberSpec: FieldSpec<keyof Member & string>[] = [
  { name: 'name', type: 'text', required: true },
  { name: 'gender', type: 'select', group: 'gender', options: GENDERS },
  { name: 'birth_date', type: 'date' },
  { name: 'id_number', type: 'text' },
  { name: 'phone', type: 'text' },
  { name: 'ethnicity', type: 'text' },
  { name: 'education', type: 'text' },
  { name: 'branch', type: 'text' },
  { name: 'category', type: 'select', group: 'category', options: CATEGORIES },
  { name: 'stage', type: 'select', group: 'stage', options: STAGES },
  { name: 'applied_on', type: 'date' },
  { name: 'activist_on', type: 'date' },
  { name: 'target_on', type: 'date' },
  { name: 'probationary_on', type: 'date' },
  { name: 'full_on', type: 'date' },
  { name: 'talked_on', type: 'date', show: atStage('talked_on', 'applicant', 'activist') },
  { name: 'assessed_on', type: 'date', show: atStage('assessed_on', 'activist', 'development_target') },
  { name: 'introducers', type: 'members', wide: true, show: atStage('introducers', 'development_target') },
  { name: 'political_review_on', type: 'date', show: atStage('political_review_on', 'development_target') },
  { name: 'training_days', type: 'number', show: atStage('training_days', 'development_target') },
  { name: 'training_hours', type: 'number', show: atStage('training_hours', 'development_target') },
  { name: 'prereview_on', type: 'date', readonly: true, show: atStage('prereview_on', 'development_target') },
  { name: 'notice_on', type: 'date', show: atStage('notice_on', 'development_target') },
  { name: 'votes_for', type: 'number', show: atStage('votes_for', 'development_target') },
  { name: 'voters', type: 'number', show: atStage('voters', 'development_target') },
  { name: 'approved_on', type: 'date', readonly: true, show: atStage('approved_on', 'probationary') },
  { name: 'full_approved_on', type: 'date', readonly: true, show: atStage('full_approved_on') },
  { name: 'priority_groups', type: 'multi', group: 'priority_group', options: PRIORITY_GROUPS, wide: true },
  { name: 'recognitions', type: 'list', labels: 'recognition', add: 'form.add_recognition', wide: true, item: [
    { name: 'date', type: 'date' }, { name: 'title', type: 'text' },
  ] },
  { name: 'notes', type: 'textarea', wide: true },
];

export const projectSpec: FieldSpec<keyof Project & string>[] = [
  { name: 'name', type: 'text', required: true, wide: true },
  { name: 'project_kind', type: 'select', group: 'project_kind', options: PROJECT_KINDS },
  { name: 'status', type: 'select', group: 'project_status', options: PROJECT_STATUSES },
  { name: 'funds_planned', type: 'money' },
  { name: 'funds_allocated', type: 'money' },
  { name: 'funds_raised', type: 'money' },
  { name: 'funds_spent', type: 'money' },
  { name: 'annual_income', type: 'money' },
  { name: 'progress', type: 'percent' },
  { name: 'responsibility_letter_on', type: 'date' },
  { name: 'start_on', type: 'date' },
  { name: 'due_on', type: 'date' },
  { name: 'milestones', type: 'list', labels: 'milestone', add: 'form.add_milestone', wide: true, item: [
    { name: 'title', type: 'text' }, { name: 'due', type: 'date' }, { name: 'done_on', type: 'date' },
  ] },
  { name: 'description', type: 'textarea', wide: true },
  { name: 'attachments', type: 'photos', wide: true },
];

export const taskSpec: FieldSpec<keyof Task & string>[] = [
  { name: 'title', type: 'text', required: true, wide: true },
  { name: 'issuer', type: 'text', required: true },
  { name: 'deadline', type: 'date' },
  {
    name: 'status', type: 'select', group: 'task_status', options: TASK_STATUSES,
    moves: (from, to, role) => from === to || taskMayBecome(from as TaskStatus, to as TaskStatus, role),
  },
  { name: 'assigned_villages', type: 'villages', wide: true },
  { name: 'description', type: 'textarea', wide: true },
  { name: 'attachments', type: 'files', wide: true },
  { name: 'notes', type: 'list', labels: 'note', add: 'form.add_note', wide: true, item: [
    { name: 'on', type: 'date' }, { name: 'text', type: 'text' },
  ] },
];

/**
 * The options a select offers: for a saved record, only the values its current one may move
 * to for this role (a village never sees "closed" on the township's task).
 */
export function selectOptions(
  f: Extract<FieldSpec, { type: 'select' }>,
  saved: unknown,
  role: string | undefined,
): readonly string[] {
  if (!f.moves || typeof saved !== 'string') return f.options;
  return f.options.filter((o) => f.moves!(saved, o, role));
}

export const SPECS: Record<string, FieldSpec[]> = {
  activity: activitySpec,
  member: memberSpec,
  project: projectSpec,
  task: taskSpec,
};

/** The fields a save sends: those of the spec that are shown for this record. */
export function fieldsToSave(spec: FieldSpec[], rec: Rec): Rec {
  const out: Rec = {};
  for (const f of spec) {
    if (f.show && !f.show(rec)) {
      // Hidden fields are cleared, so switching kind does not leave a stale value behind.
      if (f.type === 'select' && f.nullable) out[f.name] = null;
      else if (f.type === 'text') out[f.name] = '';
      continue;
    }
    if (f.readonly) continue;
    if (rec[f.name] !== undefined) out[f.name] = rec[f.name];
  }
  return out;
}
