//! Report figures computed from records, as pure functions: the monthly report's counts by
//! activity kind and the "three meetings and one lesson" check, members developed this year
//! against the village target (3 to 5) and the share of women, and project progress.
//! Field staff type each fact once; reports and dashboards are computed from the records.

use std::collections::BTreeMap;

use crate::rules::Month;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::kinds::{ActivityKind, Gender, MemberCategory, ProjectKind, ProjectStatus, Stage};
use crate::values::{opt_date, Money};

/// What reports need of an activity (kept in its projection row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ActivityFacts {
    pub activity_kind: ActivityKind,
    #[serde(with = "opt_date", default)]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub date: Option<NaiveDate>,
    pub attendees: u32,
    pub open_follow_ups: u32,
}

/// What reports need of a member (no personal data).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MemberFacts {
    pub gender: Gender,
    pub category: MemberCategory,
    pub stage: Stage,
    #[serde(with = "opt_date", default)]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub birth_date: Option<NaiveDate>,
    #[serde(with = "opt_date", default)]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub probationary_on: Option<NaiveDate>,
    #[serde(with = "opt_date", default)]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub full_on: Option<NaiveDate>,
    /// The pipeline's dates reminders need (see `reminders`).
    #[serde(with = "opt_date", default)]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub applied_on: Option<NaiveDate>,
    #[serde(with = "opt_date", default)]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub talked_on: Option<NaiveDate>,
    #[serde(with = "opt_date", default)]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub activist_on: Option<NaiveDate>,
    #[serde(with = "opt_date", default)]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub assessed_on: Option<NaiveDate>,
    #[serde(with = "opt_date", default)]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub approved_on: Option<NaiveDate>,
}

/// What reports need of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ProjectFacts {
    pub project_kind: ProjectKind,
    pub name: String,
    pub status: ProjectStatus,
    pub progress: u32,
    pub funds_planned: Money,
    pub funds_allocated: Money,
    pub funds_raised: Money,
    pub funds_spent: Money,
    pub annual_income: Money,
    pub milestones: u32,
    pub milestones_done: u32,
    #[serde(with = "opt_date", default)]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub due_on: Option<NaiveDate>,
}

/// What the dashboard needs of a village's profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VillageFacts {
    /// Members to develop this year (0: the default minimum applies).
    pub development_target: u32,
    /// The share of women among them, in whole percent (0: none set).
    pub women_target_percent: u32,
    pub collective_income: Money,
}

/// What the dashboard needs of an inspection: its period, total score and open findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InspectionFacts {
    pub period: String,
    pub score: u32,
    pub max: u32,
    pub findings: u32,
    pub open_findings: u32,
}

/// What lists need of a task besides its title, deadline and status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskFacts {
    /// `YYYY-MM-DD`, or empty when the task has no deadline.
    pub deadline: String,
    pub issuer: String,
    pub notes: u32,
}

/// What lists need of a monthly report besides its state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportFacts {
    /// `YYYY-MM`.
    pub month: String,
}

/// The least number of members a village should develop in a year.
pub const DEVELOPMENT_MINIMUM: u32 = 3;

/// "Three meetings and one lesson" 三会一课: committee and group meetings monthly, the branch
/// member meeting and the party lecture at least once a quarter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreeMeetingsOneLesson {
    /// 支委会 this month.
    pub branch_committee_meetings: u32,
    /// 党小组会 this month.
    pub party_group_meetings: u32,
    /// 支部党员大会 this quarter up to the end of the month.
    pub branch_member_meetings_quarter: u32,
    /// 党课 this quarter up to the end of the month.
    pub party_lectures_quarter: u32,
    /// Whether the month's part is done (and, in a quarter's last month, the quarter's).
    pub complete: bool,
}

/// Member development in a year against the village target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Development {
    pub year: i32,
    /// Admitted as probationary members in the year (发展党员).
    pub developed: u32,
    pub women: u32,
    /// Share of women among those developed, in whole percent (0 when none).
    pub women_percent: u32,
    pub target: u32,
    pub met_minimum: bool,
    pub met_target: bool,
    /// People in the pipeline (applicants, activists, development targets) now.
    pub in_pipeline: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ProjectProgress {
    pub id: String,
    pub name: String,
    pub project_kind: String,
    pub status: String,
    pub progress: u32,
    pub funds_planned: Money,
    pub funds_spent: Money,
}

/// The figures of a village's monthly report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MonthlyFigures {
    pub month: String,
    pub activities_total: u32,
    /// Every activity kind, with zeros, so the table has the same rows every month.
    pub activities_by_kind: BTreeMap<String, u32>,
    pub household_visits: u32,
    pub trainings: u32,
    pub three_meetings_one_lesson: ThreeMeetingsOneLesson,
    pub development: Development,
    /// Members (full and probationary) on the roster.
    pub members: u32,
    pub members_by_category: BTreeMap<String, u32>,
    pub projects: Vec<ProjectProgress>,
    /// Mean progress of the village's projects in whole percent (0 when none).
    pub projects_mean_progress: u32,
}

fn kind_key(k: ActivityKind) -> String {
    crate::kinds::enum_name(&k)
}

/// The first day of the quarter `month` lies in.
pub fn quarter_start(year: i32, month: u32) -> Option<NaiveDate> {
    Month::new(year, month).map(Month::quarter_start)
}

/// The first day of `month` and of the month after.
pub fn month_bounds(year: i32, month: u32) -> Option<(NaiveDate, NaiveDate)> {
    Month::new(year, month).map(|m| (m.first(), m.next_first()))
}

/// Counts of the month's activities by kind (all kinds present, zeros included).
pub fn activity_counts(
    year: i32,
    month: u32,
    activities: &[ActivityFacts],
) -> BTreeMap<String, u32> {
    let mut m: BTreeMap<String, u32> = ActivityKind::ALL
        .iter()
        .map(|k| (kind_key(*k), 0))
        .collect();
    if let Some((first, next)) = month_bounds(year, month) {
        for a in activities {
            if a.date.is_some_and(|d| d >= first && d < next) {
                *m.entry(kind_key(a.activity_kind)).or_default() += 1;
            }
        }
    }
    m
}

/// The "three meetings and one lesson" check for a month.
pub fn three_meetings_one_lesson(
    year: i32,
    month: u32,
    activities: &[ActivityFacts],
) -> ThreeMeetingsOneLesson {
    let Some((first, next)) = month_bounds(year, month) else {
        return ThreeMeetingsOneLesson::default();
    };
    let q0 = quarter_start(year, month).unwrap_or(first);
    let count = |k: ActivityKind, from: NaiveDate| {
        activities
            .iter()
            .filter(|a| a.activity_kind == k && a.date.is_some_and(|d| d >= from && d < next))
            .count() as u32
    };
    ThreeMeetingsOneLesson::from_counts(
        month,
        count(ActivityKind::BranchCommitteeMeeting, first),
        count(ActivityKind::PartyGroupMeeting, first),
        count(ActivityKind::BranchMemberMeeting, q0),
        count(ActivityKind::PartyLecture, q0),
    )
}

impl ThreeMeetingsOneLesson {
    /// The check from counts already made (the dashboard counts in the database): committee
    /// and group meetings in `month`, member meetings and lectures in its quarter up to its end.
    pub fn from_counts(
        month: u32,
        branch_committee_meetings: u32,
        party_group_meetings: u32,
        branch_member_meetings_quarter: u32,
        party_lectures_quarter: u32,
    ) -> ThreeMeetingsOneLesson {
        // How often each is due is the party-life calendar's (one definition): a monthly
        // meeting in the month, a quarterly one by the quarter's last month.
        use crate::calendar::{Cadence, PARTY_LIFE};
        let held = |k: ActivityKind| match k {
            ActivityKind::BranchCommitteeMeeting => Some(branch_committee_meetings),
            ActivityKind::PartyGroupMeeting => Some(party_group_meetings),
            ActivityKind::BranchMemberMeeting => Some(branch_member_meetings_quarter),
            ActivityKind::PartyLecture => Some(party_lectures_quarter),
            _ => None,
        };
        let quarter_end = month.is_multiple_of(3);
        let complete = PARTY_LIFE.iter().all(|&(kind, cadence)| match held(kind) {
            None => true,
            Some(n) => match cadence {
                Cadence::Monthly => n > 0,
                Cadence::Quarterly => !quarter_end || n > 0,
                Cadence::Yearly => true,
            },
        });
        ThreeMeetingsOneLesson {
            branch_committee_meetings,
            party_group_meetings,
            branch_member_meetings_quarter,
            party_lectures_quarter,
            complete,
        }
    }
}

/// Members developed in `year` against the village's `target`.
pub fn development(year: i32, members: &[MemberFacts], target: u32) -> Development {
    let developed: Vec<&MemberFacts> = members
        .iter()
        .filter(|m| m.probationary_on.is_some_and(|d| d.year() == year))
        .collect();
    let n = developed.len() as u32;
    let women = developed
        .iter()
        .filter(|m| m.gender == Gender::Female)
        .count() as u32;
    Development {
        year,
        developed: n,
        women,
        women_percent: (women * 100 + n / 2).checked_div(n).unwrap_or(0),
        target,
        met_minimum: n >= DEVELOPMENT_MINIMUM,
        met_target: n >= target,
        in_pipeline: members
            .iter()
            .filter(|m| m.stage < Stage::Probationary)
            .count() as u32,
    }
}

/// Progress lines for the village's projects, in the order given.
pub fn project_progress(projects: &[(String, ProjectFacts)]) -> (Vec<ProjectProgress>, u32) {
    let lines: Vec<ProjectProgress> = projects
        .iter()
        .map(|(id, p)| ProjectProgress {
            id: id.clone(),
            name: p.name.clone(),
            project_kind: crate::kinds::enum_name(&p.project_kind),
            status: crate::kinds::enum_name(&p.status),
            progress: p.progress.min(100),
            funds_planned: p.funds_planned,
            funds_spent: p.funds_spent,
        })
        .collect();
    let mean = if lines.is_empty() {
        0
    } else {
        let n = lines.len() as u32;
        (lines.iter().map(|l| l.progress).sum::<u32>() + n / 2) / n
    };
    (lines, mean)
}

/// Everything a monthly report shows, from the village's records.
pub fn monthly_figures(
    year: i32,
    month: u32,
    activities: &[ActivityFacts],
    members: &[MemberFacts],
    projects: &[(String, ProjectFacts)],
    development_target: u32,
) -> MonthlyFigures {
    let by_kind = activity_counts(year, month, activities);
    let total = by_kind.values().sum();
    let trainings = ActivityKind::ALL
        .iter()
        .filter(|k| k.is_training())
        .map(|k| by_kind.get(&kind_key(*k)).copied().unwrap_or(0))
        .sum();
    let household_visits = by_kind
        .get(&kind_key(ActivityKind::HouseholdVisit))
        .copied()
        .unwrap_or(0);
    let on_roster: Vec<&MemberFacts> = members
        .iter()
        .filter(|m| m.stage >= Stage::Probationary)
        .collect();
    let mut by_cat: BTreeMap<String, u32> = [
        MemberCategory::Resident,
        MemberCategory::Migrant,
        MemberCategory::ElderlyInfirm,
        MemberCategory::Other,
    ]
    .iter()
    .map(|c| (crate::kinds::enum_name(c), 0))
    .collect();
    for m in &on_roster {
        *by_cat
            .entry(crate::kinds::enum_name(&m.category))
            .or_default() += 1;
    }
    let (projects, mean) = project_progress(projects);
    MonthlyFigures {
        month: format!("{year:04}-{month:02}"),
        activities_total: total,
        activities_by_kind: by_kind,
        household_visits,
        trainings,
        three_meetings_one_lesson: three_meetings_one_lesson(year, month, activities),
        development: development(year, members, development_target),
        members: on_roster.len() as u32,
        members_by_category: by_cat,
        projects,
        projects_mean_progress: mean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(k: ActivityKind, y: i32, m: u32, d: u32) -> ActivityFacts {
        ActivityFacts {
            activity_kind: k,
            date: NaiveDate::from_ymd_opt(y, m, d),
            attendees: 5,
            open_follow_ups: 0,
        }
    }

    fn member(g: Gender, stage: Stage, prob: Option<(i32, u32, u32)>) -> MemberFacts {
        MemberFacts {
            gender: g,
            category: MemberCategory::Resident,
            stage,
            birth_date: None,
            probationary_on: prob.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
            full_on: None,
            ..Default::default()
        }
    }

    #[test]
    fn counts_only_the_month_and_keeps_every_kind() {
        let acts = vec![
            act(ActivityKind::PartyLecture, 2026, 5, 1),
            act(ActivityKind::PartyLecture, 2026, 5, 31),
            act(ActivityKind::PartyLecture, 2026, 6, 1),
            act(ActivityKind::HouseholdVisit, 2026, 4, 30),
        ];
        let c = activity_counts(2026, 5, &acts);
        assert_eq!(c["party_lecture"], 2);
        assert_eq!(c["household_visit"], 0);
        assert_eq!(c.len(), ActivityKind::ALL.len());
    }

    #[test]
    fn three_meetings_one_lesson_checks_month_and_quarter() {
        let mut acts = vec![
            act(ActivityKind::BranchCommitteeMeeting, 2026, 6, 3),
            act(ActivityKind::PartyGroupMeeting, 2026, 6, 4),
        ];
        // June ends a quarter: the member meeting and lecture of the quarter are still missing.
        assert!(!three_meetings_one_lesson(2026, 6, &acts).complete);
        // May is mid-quarter: the monthly part is what counts... but May had no meetings.
        assert!(!three_meetings_one_lesson(2026, 5, &acts).complete);
        acts.push(act(ActivityKind::BranchMemberMeeting, 2026, 4, 10));
        acts.push(act(ActivityKind::PartyLecture, 2026, 5, 10));
        let t = three_meetings_one_lesson(2026, 6, &acts);
        assert!(t.complete);
        assert_eq!(t.party_lectures_quarter, 1);
        // A lecture in the previous quarter does not count.
        assert_eq!(
            three_meetings_one_lesson(2026, 7, &acts).party_lectures_quarter,
            0
        );
    }

    #[test]
    fn development_against_target_and_share_of_women() {
        let ms = vec![
            member(Gender::Female, Stage::Probationary, Some((2026, 3, 1))),
            member(Gender::Male, Stage::Probationary, Some((2026, 7, 1))),
            member(Gender::Female, Stage::Full, Some((2025, 7, 1))),
            member(Gender::Male, Stage::Activist, None),
        ];
        let d = development(2026, &ms, 3);
        assert_eq!((d.developed, d.women, d.women_percent), (2, 1, 50));
        assert!(!d.met_minimum && !d.met_target);
        assert_eq!(d.in_pipeline, 1);
        let d2025 = development(2025, &ms, 3);
        assert_eq!((d2025.developed, d2025.women_percent), (1, 100));
        assert_eq!(development(2024, &ms, 3).women_percent, 0);
    }

    #[test]
    fn monthly_figures_put_it_together() {
        let acts = vec![
            act(ActivityKind::TrainingLecture, 2026, 5, 2),
            act(ActivityKind::StudyTrip, 2026, 5, 3),
            act(ActivityKind::HouseholdVisit, 2026, 5, 4),
        ];
        let ms = vec![member(
            Gender::Female,
            Stage::Probationary,
            Some((2026, 3, 1)),
        )];
        let p = ProjectFacts {
            project_kind: ProjectKind::ActivityVenue,
            name: "活动场所".into(),
            status: ProjectStatus::InProgress,
            progress: 45,
            funds_planned: Money::from_yuan(100_000),
            funds_allocated: Money(0),
            funds_raised: Money::from_yuan(20_000),
            funds_spent: Money(0),
            annual_income: Money(0),
            milestones: 2,
            milestones_done: 1,
            due_on: None,
        };
        let p2 = ProjectFacts {
            progress: 100,
            ..p.clone()
        };
        let f = monthly_figures(2026, 5, &acts, &ms, &[("a".into(), p), ("b".into(), p2)], 4);
        assert_eq!(f.month, "2026-05");
        assert_eq!(
            (f.activities_total, f.trainings, f.household_visits),
            (3, 2, 1)
        );
        assert_eq!(f.members, 1);
        assert_eq!(f.members_by_category["resident"], 1);
        assert_eq!(f.projects_mean_progress, 73);
        assert_eq!(f.development.target, 4);
    }
}
