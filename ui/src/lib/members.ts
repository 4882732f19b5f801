// The members screen's arithmetic: the roster by category, the development pipeline by stage,
// and the geometry of the "developed this year" chart. Pure: no calls, no components.
import type { Row } from './api';
import type { Member } from './bindings/Member';
import type { MemberCategory } from './bindings/MemberCategory';
import type { Stage } from './bindings/Stage';
import { CATEGORIES } from './kinds';

/** The stages before full membership, in order: the columns of the pipeline. */
export const PIPELINE_STAGES: Stage[] = ['applicant', 'activist', 'development_target', 'probationary'];

/** Stages whose people are party members (on the roster). */
export const MEMBER_STAGES: Stage[] = ['probationary', 'full'];

/** Every village develops at least 3 and up to 5 new members a year. */
export const DEVELOPMENT_MIN = 3;
export const DEVELOPMENT_MAX = 5;

/** The field holding the date a person reached a stage. */
export function stageDateField(stage: Stage): keyof Member & string {
  switch (stage) {
    case 'applicant':
      return 'applied_on';
    case 'activist':
      return 'activist_on';
    case 'development_target':
      return 'target_on';
    case 'probationary':
      return 'probationary_on';
    case 'full':
      return 'full_on';
  }
}

const byName = (a: Row, b: Row) => a.title.localeCompare(b.title, 'zh-CN');

/** Oldest date first (longest waiting at the top), undated last, then by name. */
function byDateThenName(a: Row, b: Row): number {
  if (a.date && b.date && a.date !== b.date) return a.date < b.date ? -1 : 1;
  if (a.date && !b.date) return -1;
  if (!a.date && b.date) return 1;
  return byName(a, b);
}

export type CategoryGroup = { category: MemberCategory; rows: Row[] };

/**
 * The roster (probationary and full members; applicants, activists and development targets
 * are not members yet) in the four categories, every category present even when empty.
 * A row's `sub_kind` is its category and `status` its stage.
 */
export function rosterByCategory(rows: Row[]): CategoryGroup[] {
  const groups: CategoryGroup[] = CATEGORIES.map((category) => ({ category, rows: [] }));
  for (const r of rows) {
    if (!MEMBER_STAGES.includes(r.status as Stage)) continue;
    const g = groups.find((x) => x.category === r.sub_kind) ?? groups[groups.length - 1];
    g.rows.push(r);
  }
  for (const g of groups) g.rows.sort(byName);
  return groups;
}

export type StageColumn = { stage: Stage; rows: Row[] };

/** The pipeline's four columns, each ordered by the date its people reached the stage. */
export function pipelineColumns(rows: Row[]): StageColumn[] {
  return PIPELINE_STAGES.map((stage) => ({
    stage,
    rows: rows.filter((r) => r.status === stage).sort(byDateThenName),
  }));
}

/** The date a person reached their current stage: the record's own field, else the row's date. */
export function stageDate(
  stage: Stage,
  record: Partial<Record<string, unknown>> | undefined,
  rowDate: string | null | undefined,
): string | null {
  const v = record?.[stageDateField(stage)];
  return typeof v === 'string' && v ? v : (rowDate ?? null);
}

export type ChartMark = { value: number; x: number; kind: 'min' | 'max' | 'target' };
export type DevChart = {
  /** The value at the right end of the scale. */
  scaleMax: number;
  developedWidth: number;
  womenWidth: number;
  marks: ChartMark[];
  /** below: fewer than 3; minimum: 3 or more but short of the village's target; target: met. */
  tone: 'below' | 'minimum' | 'target';
  /** How many more are needed to reach 3 (0 when reached). */
  shortOfMinimum: number;
};

/**
 * Geometry of a horizontal bar `width` units wide: the scale runs from 0 to at least 5 (more
 * when the village's target or its count is higher), with 3 and 5 and the village's own target
 * marked.
 */
export function devChart(
  d: { developed: number; women: number; target: number },
  width: number,
): DevChart {
  const developed = Math.max(0, d.developed);
  const women = Math.min(Math.max(0, d.women), developed);
  const target = Math.max(0, d.target);
  const scaleMax = Math.max(DEVELOPMENT_MAX, target, developed);
  const x = (v: number) => (v / scaleMax) * width;
  const marks: ChartMark[] = [
    { value: DEVELOPMENT_MIN, x: x(DEVELOPMENT_MIN), kind: 'min' },
    { value: DEVELOPMENT_MAX, x: x(DEVELOPMENT_MAX), kind: 'max' },
  ];
  if (target > 0 && target !== DEVELOPMENT_MIN && target !== DEVELOPMENT_MAX) {
    marks.push({ value: target, x: x(target), kind: 'target' });
  }
  const goal = Math.max(DEVELOPMENT_MIN, target);
  return {
    scaleMax,
    developedWidth: x(developed),
    womenWidth: x(women),
    marks,
    tone: developed >= goal ? 'target' : developed >= DEVELOPMENT_MIN ? 'minimum' : 'below',
    shortOfMinimum: Math.max(0, DEVELOPMENT_MIN - developed),
  };
}
