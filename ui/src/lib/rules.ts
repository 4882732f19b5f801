// The rules of who may do what and when work is due, as the model states them: read from the
// rule book generated from Rust (`zhucun_model::rules::rule_book`, bindings/rules.json), never
// restated here. The replica and the server apply the same rules and have the last word.
import type { Role } from './bindings/Role';
import type { RuleBook } from './bindings/RuleBook';
import type { ReportState } from './bindings/ReportState';
import type { TaskStatus } from './bindings/TaskStatus';
import type { Kind } from './bindings/Kind';
import book from './bindings/rules.json';

export const RULES = book as RuleBook;

/** The development pipeline's rules met by the township's approval. */
export const TOWNSHIP_RULES: string[] = RULES.township_pipeline_rules;

/** Every role, in the model's order. */
export const ROLES: Role[] = RULES.roles.map((r) => r.role);

function rulesOf(role: string | undefined) {
  return RULES.roles.find((r) => r.role === role);
}

/** Field staff: they write a village's records and its monthly report. */
export function isField(role: string | undefined): boolean {
  return !!rulesOf(role)?.field;
}

/** The office: issues and closes tasks, reviews reports, logs in to the dashboard. */
export function isOffice(role: string | undefined): boolean {
  return !!rulesOf(role)?.office;
}

export function mayCreate(role: string | undefined, kind: Kind): boolean {
  return !!rulesOf(role)?.creates.includes(kind);
}

/** The unit kinds a person of `role` is attached to. */
export function unitKindsOf(role: string | undefined): string[] {
  return rulesOf(role)?.unit_kinds ?? [];
}

export function reportMayBecome(from: ReportState, to: ReportState, role: string | undefined): boolean {
  return from === to || RULES.report_moves.some((m) => m.from === from && m.to === to && m.roles.includes(role as Role));
}

/** Whether the village may still change a report's words in this state. */
export function reportOpenToVillage(state: ReportState): boolean {
  return RULES.report_open_states.includes(state);
}

export function taskMayBecome(from: TaskStatus, to: TaskStatus, role: string | undefined): boolean {
  return from === to || RULES.task_moves.some((m) => m.from === from && m.to === to && m.roles.includes(role as Role));
}

export function taskIsOpen(status: TaskStatus): boolean {
  return RULES.task_open_statuses.includes(status);
}
