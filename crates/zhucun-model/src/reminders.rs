//! What a device reminds its user of, from its own records alone (nothing is sent anywhere, and
//! nothing asks the user to report): tasks overdue or due within [`TASK_REMIND_DAYS`] days, a
//! meeting of the party-life calendar still due within [`MEETING_REMIND_DAYS`] days of its
//! period's end, a probationary member's year ending within [`PROBATION_REMIND_DAYS`] days (or
//! past, still not full), and members' 政治生日 (the day they joined, as probationary members)
//! within the coming week.

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

use crate::calendar::PartyLifeItem;
use crate::kinds::{enum_name, pipeline, Stage, TaskStatus};
use crate::rules::{due, Due};

/// Days before a task's deadline it is reminded of.
pub const TASK_REMIND_DAYS: i64 = 3;
/// Days before the end of a meeting's period it is reminded of, if none was held.
pub const MEETING_REMIND_DAYS: i64 = 7;
/// Days before a probationary member's year ends it is reminded of.
pub const PROBATION_REMIND_DAYS: i64 = 30;
/// Days ahead a 政治生日 is reminded of (today included).
pub const BIRTHDAY_REMIND_DAYS: i64 = 7;
/// Days before a step of the development pipeline falls due (a talk, an assessment, the
/// township's approval) it is reminded of.
pub const PIPELINE_REMIND_DAYS: i64 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum ReminderKind {
    TaskOverdue,
    TaskDue,
    MeetingDue,
    ProbationEnds,
    PoliticalBirthday,
    /// The branch's talk with an applicant (within a month of the application).
    TalkDue,
    /// An activist's half-year assessment.
    AssessmentDue,
    /// The township's approval of a probationary member (within three months).
    ApprovalDue,
}

/// One reminder, opening its record when it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Reminder {
    pub kind: ReminderKind,
    /// The record it opens (a task, a member); none for a meeting still to be held.
    pub record: Option<String>,
    pub village: String,
    /// A task's title, a member's name, or a meeting's activity kind (its enum name).
    pub title: String,
    /// The day it is about (`YYYY-MM-DD`): a deadline, a period's end, a probation's end, a
    /// 政治生日.
    pub date: String,
    /// Days from today to `date` (negative: past).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub days: i64,
    /// Years since joining, for a 政治生日.
    pub years: Option<i32>,
}

/// A task as reminders need it.
#[derive(Debug, Clone)]
pub struct TaskLine {
    pub id: String,
    pub village: String,
    pub title: String,
    pub status: TaskStatus,
    pub deadline: Option<NaiveDate>,
}

/// A member as reminders need it.
#[derive(Debug, Clone)]
pub struct MemberLine {
    pub id: String,
    pub village: String,
    pub name: String,
    pub stage: Stage,
    pub probationary_on: Option<NaiveDate>,
    pub applied_on: Option<NaiveDate>,
    pub talked_on: Option<NaiveDate>,
    pub activist_on: Option<NaiveDate>,
    pub assessed_on: Option<NaiveDate>,
    pub approved_on: Option<NaiveDate>,
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The first anniversary of `joined` on or after `today` (29 February falls on 1 March in
/// other years).
fn next_anniversary(joined: NaiveDate, today: NaiveDate) -> Option<NaiveDate> {
    let on = |y: i32| {
        NaiveDate::from_ymd_opt(y, joined.month(), joined.day())
            .or_else(|| NaiveDate::from_ymd_opt(y, 3, 1))
    };
    let this = on(today.year())?;
    if this >= today {
        Some(this)
    } else {
        on(today.year() + 1)
    }
}

/// The reminders on `today`, soonest first.
pub fn reminders(
    today: NaiveDate,
    tasks: &[TaskLine],
    calendars: &[(String, Vec<PartyLifeItem>)],
    members: &[MemberLine],
) -> Vec<Reminder> {
    let mut out = Vec::new();
    for t in tasks {
        let Some(deadline) = t.deadline else { continue };
        let days = (deadline - today).num_days();
        let kind = match due(t.status.is_open(), Some(deadline), today) {
            Due::Overdue => ReminderKind::TaskOverdue,
            Due::Soon if days <= TASK_REMIND_DAYS => ReminderKind::TaskDue,
            _ => continue,
        };
        out.push(Reminder {
            kind,
            record: Some(t.id.clone()),
            village: t.village.clone(),
            title: t.title.clone(),
            date: ymd(deadline),
            days,
            years: None,
        });
    }
    for (village, items) in calendars {
        for i in items {
            if i.due && i.days_left <= MEETING_REMIND_DAYS {
                out.push(Reminder {
                    kind: ReminderKind::MeetingDue,
                    record: None,
                    village: village.clone(),
                    title: enum_name(&i.activity_kind),
                    date: i.to.clone(),
                    days: i.days_left,
                    years: None,
                });
            }
        }
    }
    for m in members {
        let step = match m.stage {
            Stage::Applicant if m.talked_on.is_none() => {
                pipeline::talk_due(m.applied_on).map(|d| (ReminderKind::TalkDue, d))
            }
            Stage::Activist => pipeline::assessment_due(m.activist_on, m.assessed_on)
                .map(|d| (ReminderKind::AssessmentDue, d)),
            Stage::Probationary if m.approved_on.is_none() => {
                pipeline::approval_due(m.probationary_on).map(|d| (ReminderKind::ApprovalDue, d))
            }
            _ => None,
        };
        if let Some((kind, on)) = step {
            let days = (on - today).num_days();
            if days <= PIPELINE_REMIND_DAYS {
                out.push(Reminder {
                    kind,
                    record: Some(m.id.clone()),
                    village: m.village.clone(),
                    title: m.name.clone(),
                    date: ymd(on),
                    days,
                    years: None,
                });
            }
        }
        let Some(joined) = m.probationary_on else {
            continue;
        };
        if m.stage == Stage::Probationary {
            if let Some(end) = joined.checked_add_months(Months::new(12)) {
                let days = (end - today).num_days();
                if days <= PROBATION_REMIND_DAYS {
                    out.push(Reminder {
                        kind: ReminderKind::ProbationEnds,
                        record: Some(m.id.clone()),
                        village: m.village.clone(),
                        title: m.name.clone(),
                        date: ymd(end),
                        days,
                        years: None,
                    });
                }
            }
        }
        if m.stage >= Stage::Probationary {
            if let Some(a) = next_anniversary(joined, today) {
                let days = (a - today).num_days();
                if days < BIRTHDAY_REMIND_DAYS && a.year() > joined.year() {
                    out.push(Reminder {
                        kind: ReminderKind::PoliticalBirthday,
                        record: Some(m.id.clone()),
                        village: m.village.clone(),
                        title: m.name.clone(),
                        date: ymd(a),
                        days,
                        years: Some(a.year() - joined.year()),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| (a.days, &a.title).cmp(&(b.days, &b.title)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::party_life;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn task(title: &str, status: TaskStatus, deadline: &str) -> TaskLine {
        TaskLine {
            id: format!("t-{title}"),
            village: "v1".into(),
            title: title.into(),
            status,
            deadline: Some(day(deadline)),
        }
    }

    fn member(name: &str, stage: Stage, joined: &str) -> MemberLine {
        MemberLine {
            id: format!("m-{name}"),
            village: "v1".into(),
            name: name.into(),
            stage,
            probationary_on: Some(day(joined)),
            approved_on: Some(day(joined)),
            applied_on: None,
            talked_on: None,
            activist_on: None,
            assessed_on: None,
        }
    }

    #[test]
    fn reminders_come_from_the_records_alone_soonest_first() {
        let today = day("2026-12-28");
        let tasks = [
            task("逾期", TaskStatus::Open, "2026-12-20"),
            task("三天内", TaskStatus::InProgress, "2026-12-31"),
            task("还早", TaskStatus::Open, "2027-01-10"),
            task("已完成", TaskStatus::Done, "2026-12-01"),
        ];
        let calendars = [("v1".to_string(), party_life(today, &[]))];
        let members = [
            member("预备满一年", Stage::Probationary, "2026-01-15"),
            member("预备未满", Stage::Probationary, "2026-06-01"),
            member("入党纪念", Stage::Full, "1995-12-30"),
            member("纪念日已过", Stage::Full, "1995-12-01"),
            member("今年刚入", Stage::Probationary, "2026-12-29"),
        ];
        let r = reminders(today, &tasks, &calendars, &members);
        let seen: Vec<(ReminderKind, &str, i64)> = r
            .iter()
            .map(|r| (r.kind, r.title.as_str(), r.days))
            .collect();
        use ReminderKind as K;
        assert!(seen.contains(&(K::TaskOverdue, "逾期", -8)), "{seen:?}");
        assert!(seen.contains(&(K::TaskDue, "三天内", 3)), "{seen:?}");
        assert!(
            seen.contains(&(K::ProbationEnds, "预备满一年", 18)),
            "{seen:?}"
        );
        assert!(
            seen.contains(&(K::PoliticalBirthday, "入党纪念", 2)),
            "{seen:?}"
        );
        // Every meeting of the calendar is due by the year's end, none held: all reminded.
        assert_eq!(
            seen.iter().filter(|s| s.0 == K::MeetingDue).count(),
            7,
            "{seen:?}"
        );
        for quiet in ["还早", "已完成", "预备未满", "纪念日已过", "今年刚入"] {
            assert!(!seen.iter().any(|s| s.1 == quiet), "{quiet} in {seen:?}");
        }
        let days: Vec<i64> = r.iter().map(|r| r.days).collect();
        let mut sorted = days.clone();
        sorted.sort();
        assert_eq!(days, sorted, "soonest first");
        let b = r.iter().find(|r| r.kind == K::PoliticalBirthday).unwrap();
        assert_eq!((b.date.as_str(), b.years), ("2026-12-30", Some(31)));
        // Mid-month, a monthly meeting not yet held is not reminded yet.
        let mid = day("2026-12-10");
        let r = reminders(mid, &[], &[("v1".into(), party_life(mid, &[]))], &[]);
        assert!(r.iter().all(|r| r.kind != K::MeetingDue), "{r:?}");
    }

    #[test]
    fn pipeline_steps_coming_due_are_reminded() {
        let today = day("2026-12-03");
        let line = |name: &str, stage: Stage| MemberLine {
            id: format!("m-{name}"),
            village: "v1".into(),
            name: name.into(),
            stage,
            probationary_on: None,
            applied_on: None,
            talked_on: None,
            activist_on: None,
            assessed_on: None,
            approved_on: None,
        };
        let members = [
            // Applied 2026-11-10: the talk is due by 2026-12-10.
            MemberLine {
                applied_on: Some(day("2026-11-10")),
                ..line("待谈话", Stage::Applicant)
            },
            MemberLine {
                applied_on: Some(day("2026-11-10")),
                talked_on: Some(day("2026-11-20")),
                ..line("已谈话", Stage::Applicant)
            },
            // Assessed last 2026-06-10: the next is due 2026-12-10.
            MemberLine {
                activist_on: Some(day("2025-06-01")),
                assessed_on: Some(day("2026-06-10")),
                ..line("待考察", Stage::Activist)
            },
            MemberLine {
                activist_on: Some(day("2026-09-01")),
                ..line("新积极分子", Stage::Activist)
            },
            // Admitted 2026-08-20, not approved: the township is late since 2026-11-20.
            MemberLine {
                probationary_on: Some(day("2026-08-20")),
                ..line("待审批", Stage::Probationary)
            },
        ];
        let r = reminders(today, &[], &[], &members);
        let seen: Vec<(ReminderKind, &str, i64)> = r
            .iter()
            .map(|r| (r.kind, r.title.as_str(), r.days))
            .collect();
        use ReminderKind as K;
        assert_eq!(
            seen,
            vec![
                (K::ApprovalDue, "待审批", -13),
                (K::AssessmentDue, "待考察", 7),
                (K::TalkDue, "待谈话", 7),
            ]
        );
    }

    #[test]
    fn a_political_birthday_of_29_february_falls_on_1_march() {
        let m = [member("闰日", Stage::Full, "2000-02-29")];
        let r = reminders(day("2026-02-27"), &[], &[], &m);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].date.as_str(), r[0].days), ("2026-03-01", 2));
    }
}
