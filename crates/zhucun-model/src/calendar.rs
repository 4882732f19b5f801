//! The branch's party-life calendar (支部工作条例): which meetings a branch holds how often, and
//! for a day, each one's current period, how many were held in it and whether it is still due.
//! The device's home and the dashboard's village page both show [`party_life`]; nothing else
//! decides what "due" means for a meeting.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::figures::ActivityFacts;
use crate::kinds::ActivityKind;
use crate::rules::Month;

/// How often a branch must hold a kind of meeting: at least once in each such period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Cadence {
    Monthly,
    Quarterly,
    Yearly,
}

/// The meetings of the calendar and their cadence: the branch committee, party groups and the
/// theme party day monthly; the branch member meeting and the party lecture at least quarterly;
/// the organisational life meeting and the democratic appraisal of members yearly.
pub const PARTY_LIFE: [(ActivityKind, Cadence); 7] = [
    (ActivityKind::BranchCommitteeMeeting, Cadence::Monthly),
    (ActivityKind::PartyGroupMeeting, Cadence::Monthly),
    (ActivityKind::ThemePartyDay, Cadence::Monthly),
    (ActivityKind::BranchMemberMeeting, Cadence::Quarterly),
    (ActivityKind::PartyLecture, Cadence::Quarterly),
    (ActivityKind::OrganisationalLifeMeeting, Cadence::Yearly),
    (ActivityKind::DemocraticAppraisal, Cadence::Yearly),
];

/// One meeting of the calendar in the period that holds a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct PartyLifeItem {
    pub activity_kind: ActivityKind,
    pub cadence: Cadence,
    /// The period's first and last day (`YYYY-MM-DD`).
    pub from: String,
    pub to: String,
    /// Meetings of the kind held in the period, up to and including the day.
    pub held: u32,
    /// None held yet: still due by `to`.
    pub due: bool,
    /// Days from the day to `to`, the day itself not counted (0 on the last day).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub days_left: i64,
}

/// The first and last day of the `cadence` period holding `on`.
pub fn period(cadence: Cadence, on: NaiveDate) -> (NaiveDate, NaiveDate) {
    let m = Month::of(on);
    let (first, next) = match cadence {
        Cadence::Monthly => (m.first(), m.next_first()),
        Cadence::Quarterly => {
            let q = m.quarter_start();
            let next = q
                .checked_add_months(chrono::Months::new(3))
                .unwrap_or(m.next_first());
            (q, next)
        }
        Cadence::Yearly => {
            let y = NaiveDate::from_ymd_opt(on.year(), 1, 1).unwrap_or(on);
            let next = NaiveDate::from_ymd_opt(on.year() + 1, 1, 1).unwrap_or(on);
            (y, next)
        }
    };
    (first, next.pred_opt().unwrap_or(next))
}

/// The calendar on day `on`, counting with `held(kind, from, to)`: the meetings of a kind held
/// from `from` to `to`, both included (the dashboard counts in its database, a device in its
/// records: [`party_life`]).
pub fn party_life_with(
    on: NaiveDate,
    mut held: impl FnMut(ActivityKind, NaiveDate, NaiveDate) -> u32,
) -> Vec<PartyLifeItem> {
    PARTY_LIFE
        .iter()
        .map(|&(kind, cadence)| {
            let (from, to) = period(cadence, on);
            let n = held(kind, from, on);
            PartyLifeItem {
                activity_kind: kind,
                cadence,
                from: from.format("%Y-%m-%d").to_string(),
                to: to.format("%Y-%m-%d").to_string(),
                held: n,
                due: n == 0,
                days_left: (to - on).num_days(),
            }
        })
        .collect()
}

/// The calendar on day `on` from a branch's activities.
pub fn party_life(on: NaiveDate, activities: &[ActivityFacts]) -> Vec<PartyLifeItem> {
    party_life_with(on, |kind, from, to| {
        activities
            .iter()
            .filter(|a| a.activity_kind == kind && a.date.is_some_and(|d| d >= from && d <= to))
            .count() as u32
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn held(kind: ActivityKind, on: &str) -> ActivityFacts {
        ActivityFacts {
            activity_kind: kind,
            date: Some(day(on)),
            attendees: 0,
            open_follow_ups: 0,
        }
    }

    fn item(c: &[PartyLifeItem], k: ActivityKind) -> &PartyLifeItem {
        c.iter().find(|i| i.activity_kind == k).unwrap()
    }

    #[test]
    fn each_meeting_is_due_once_in_its_period_and_done_once_held() {
        use ActivityKind as K;
        let acts = [
            held(K::BranchCommitteeMeeting, "2026-05-04"),
            // Last month's group meeting does not count for this month.
            held(K::PartyGroupMeeting, "2026-04-28"),
            // A lecture in April counts for the second quarter.
            held(K::PartyLecture, "2026-04-10"),
            // A member meeting in the first quarter does not.
            held(K::BranchMemberMeeting, "2026-03-30"),
            held(K::OrganisationalLifeMeeting, "2026-01-15"),
            // After the day asked about: not held yet.
            held(K::ThemePartyDay, "2026-05-30"),
            // Another kind counts for nothing.
            held(K::HouseholdVisit, "2026-05-02"),
        ];
        let c = party_life(day("2026-05-20"), &acts);
        assert_eq!(c.len(), 7);
        let committee = item(&c, K::BranchCommitteeMeeting);
        assert_eq!((committee.held, committee.due), (1, false));
        assert_eq!(
            (committee.from.as_str(), committee.to.as_str()),
            ("2026-05-01", "2026-05-31")
        );
        assert_eq!(committee.days_left, 11);
        let group = item(&c, K::PartyGroupMeeting);
        assert_eq!((group.held, group.due), (0, true));
        let theme = item(&c, K::ThemePartyDay);
        assert_eq!((theme.held, theme.due), (0, true));
        let lecture = item(&c, K::PartyLecture);
        assert_eq!((lecture.held, lecture.due), (1, false));
        assert_eq!(
            (lecture.from.as_str(), lecture.to.as_str()),
            ("2026-04-01", "2026-06-30")
        );
        let members = item(&c, K::BranchMemberMeeting);
        assert_eq!(
            (members.held, members.due, members.days_left),
            (0, true, 41)
        );
        let life = item(&c, K::OrganisationalLifeMeeting);
        assert_eq!((life.held, life.due), (1, false));
        assert_eq!(
            (life.from.as_str(), life.to.as_str()),
            ("2026-01-01", "2026-12-31")
        );
        let appraisal = item(&c, K::DemocraticAppraisal);
        assert_eq!((appraisal.held, appraisal.due), (0, true));
        assert_eq!(appraisal.cadence, Cadence::Yearly);
    }

    #[test]
    fn periods_turn_at_month_quarter_and_year_ends() {
        assert_eq!(
            period(Cadence::Quarterly, day("2026-12-31")),
            (day("2026-10-01"), day("2026-12-31"))
        );
        assert_eq!(
            period(Cadence::Monthly, day("2028-02-10")),
            (day("2028-02-01"), day("2028-02-29"))
        );
        assert_eq!(
            period(Cadence::Yearly, day("2026-01-01")),
            (day("2026-01-01"), day("2026-12-31"))
        );
        // On the last day, a meeting held that day counts.
        let c = party_life(
            day("2026-03-31"),
            &[held(ActivityKind::BranchMemberMeeting, "2026-03-31")],
        );
        let m = item(&c, ActivityKind::BranchMemberMeeting);
        assert_eq!((m.held, m.due, m.days_left), (1, false, 0));
    }
}
