// The values of the record enums, typed against the generated model types so a renamed or
// added value fails the type check here.
import type { ActivityKind } from './bindings/ActivityKind';
import type { Gender } from './bindings/Gender';
import type { MemberCategory } from './bindings/MemberCategory';
import type { Stage } from './bindings/Stage';
import type { ProjectKind } from './bindings/ProjectKind';
import type { ProjectStatus } from './bindings/ProjectStatus';
import type { TaskStatus } from './bindings/TaskStatus';
import type { DemonstrationType } from './bindings/DemonstrationType';
import type { PriorityGroup } from './bindings/PriorityGroup';

export const ACTIVITY_KINDS: ActivityKind[] = [
  'branch_member_meeting', 'branch_committee_meeting', 'party_group_meeting', 'party_lecture',
  'theme_party_day', 'organisational_life_meeting', 'democratic_appraisal', 'training_lecture', 'study_trip', 'competition', 'observation',
  'household_visit', 'demonstration', 'collective_economy', 'venue_inspection', 'other',
];
export const DEMONSTRATION_TYPES: DemonstrationType[] = ['post', 'household', 'site', 'show_identity'];
export const GENDERS: Gender[] = ['male', 'female', 'unspecified'];
export const CATEGORIES: MemberCategory[] = ['resident', 'migrant', 'elderly_infirm', 'other'];
export const STAGES: Stage[] = ['applicant', 'activist', 'development_target', 'probationary', 'full'];
export const PRIORITY_GROUPS: PriorityGroup[] = ['returning_youth', 'demobilised_soldier', 'college_graduate'];
export const PROJECT_KINDS: ProjectKind[] = ['activity_venue', 'collective_economy'];
export const PROJECT_STATUSES: ProjectStatus[] = ['planned', 'in_progress', 'completed', 'suspended'];
export const TASK_STATUSES: TaskStatus[] = ['open', 'in_progress', 'done', 'cancelled'];

/** Activity kinds whose record needs a lecturer, and the one that needs a household. */
export const NEEDS_LECTURER: ActivityKind[] = ['party_lecture', 'training_lecture', 'study_trip', 'competition', 'observation'];
