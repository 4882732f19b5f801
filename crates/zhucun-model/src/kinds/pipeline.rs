//! The development pipeline by the rules of the 中国共产党发展党员工作细则: what each step needs
//! before a person may take it, the minimum durations between steps, and the township's
//! approvals.
//!
//! The rules judge **moves**, not stored states: a member entered into the roster as they are
//! (an existing member, a record made before these rules) is not refused for a past the
//! replica never saw. An edit that moves a person forward is checked for every step it crosses,
//! so a device that made two steps offline, synced as one push, is judged as the two steps.
//! A move backward (a correction) is not refused.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::member::{Member, Stage};
use crate::error::{InvalidField, Reason};
use crate::rules::Role;

/// Days after an application by which the branch talks with the applicant (一个月内).
pub const TALK_WITHIN_MONTHS: u32 = 1;
/// Months of training and assessment before an activist may become a development target.
pub const ACTIVIST_MONTHS: u32 = 12;
/// Months between two assessments of an activist (每半年考察一次).
pub const ASSESSMENT_EVERY_MONTHS: u32 = 6;
/// Concentrated training of a development target: at least this many days...
pub const TRAINING_MIN_DAYS: u32 = 3;
/// ...or this many class hours.
pub const TRAINING_MIN_HOURS: u32 = 24;
/// Introducers a development target needs (full members).
pub const INTRODUCERS: usize = 2;
/// Months within which the township approves a probationary member after the branch meeting.
pub const APPROVAL_WITHIN_MONTHS: u32 = 3;
/// Months of probation from the branch meeting before full membership.
pub const PROBATION_MONTHS: u32 = 12;

/// A rule of the pipeline: why a move is refused, and what a person still lacks for the next
/// step. The UI words each from its catalog (`error.rule.<name>`, `pipeline.<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum PipelineRule {
    /// An applicant becomes an activist only after the branch has talked with them.
    Talk,
    /// At least a year of training and assessment as an activist.
    ActivistYear,
    /// Two introducers, full members from the roster.
    Introducers,
    /// The political review 政治审查.
    PoliticalReview,
    /// Concentrated training of at least 3 days or 24 class hours.
    Training,
    /// The township's pre-review 预审, before the public notice.
    PreReview,
    /// The public notice 公示, after the pre-review and before the branch meeting.
    PublicNotice,
    /// At the branch meeting, votes for exceed half of the full members entitled to vote.
    BranchVote,
    /// The township approves a probationary member within three months of the branch meeting.
    Approval,
    /// A full year of probation from the branch meeting.
    ProbationYear,
    /// The township approves full membership after the branch meeting that proposed it.
    FullApproval,
}

impl PipelineRule {
    pub const ALL: [PipelineRule; 11] = [
        PipelineRule::Talk,
        PipelineRule::ActivistYear,
        PipelineRule::Introducers,
        PipelineRule::PoliticalReview,
        PipelineRule::Training,
        PipelineRule::PreReview,
        PipelineRule::PublicNotice,
        PipelineRule::BranchVote,
        PipelineRule::Approval,
        PipelineRule::ProbationYear,
        PipelineRule::FullApproval,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PipelineRule::Talk => "talk",
            PipelineRule::ActivistYear => "activist_year",
            PipelineRule::Introducers => "introducers",
            PipelineRule::PoliticalReview => "political_review",
            PipelineRule::Training => "training",
            PipelineRule::PreReview => "pre_review",
            PipelineRule::PublicNotice => "public_notice",
            PipelineRule::BranchVote => "branch_vote",
            PipelineRule::Approval => "approval",
            PipelineRule::ProbationYear => "probation_year",
            PipelineRule::FullApproval => "full_approval",
        }
    }

    /// The rule in words, for logs, the CLI and the API's error messages.
    pub fn describe(self) -> &'static str {
        match self {
            PipelineRule::Talk => "the branch talks with an applicant before they become an activist",
            PipelineRule::ActivistYear => {
                "an activist is trained and assessed for at least one year before becoming a development target"
            }
            PipelineRule::Introducers => "a development target needs two introducers who are full members",
            PipelineRule::PoliticalReview => "a development target passes the political review before the branch meeting",
            PipelineRule::Training => {
                "a development target takes concentrated training of at least 3 days or 24 class hours"
            }
            PipelineRule::PreReview => "the township pre-reviews a development target before the public notice",
            PipelineRule::PublicNotice => {
                "a development target is publicly noticed after the pre-review and before the branch meeting"
            }
            PipelineRule::BranchVote => {
                "at the branch meeting, votes for must exceed half of the full members entitled to vote"
            }
            PipelineRule::Approval => {
                "the township approves a probationary member within three months of the branch meeting"
            }
            PipelineRule::ProbationYear => "probation lasts one year from the branch meeting",
            PipelineRule::FullApproval => "the township approves full membership on or after the branch meeting",
        }
    }

    /// The field a refusal names (the one to fill or correct).
    pub fn field(self) -> &'static str {
        match self {
            PipelineRule::Talk => "talked_on",
            PipelineRule::ActivistYear => "target_on",
            PipelineRule::Introducers => "introducers",
            PipelineRule::PoliticalReview => "political_review_on",
            PipelineRule::Training => "training_days",
            PipelineRule::PreReview => "prereview_on",
            PipelineRule::PublicNotice => "notice_on",
            PipelineRule::BranchVote => "votes_for",
            PipelineRule::Approval => "approved_on",
            PipelineRule::ProbationYear => "full_on",
            PipelineRule::FullApproval => "full_approved_on",
        }
    }

    /// Whether meeting it is the township's move (an approval), not the village's.
    pub fn township(self) -> bool {
        matches!(
            self,
            PipelineRule::PreReview | PipelineRule::Approval | PipelineRule::FullApproval
        )
    }
}

fn refuse(rule: PipelineRule) -> InvalidField {
    InvalidField::new(rule.field(), Reason::Rule(rule))
}

fn plus_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n))
        .unwrap_or(NaiveDate::MAX)
}

/// The fields of a member only the township may set: its approvals.
pub const TOWNSHIP_FIELDS: [&str; 3] = ["prereview_on", "approved_on", "full_approved_on"];

/// Who may make the township's approvals.
pub fn may_approve(role: Role) -> bool {
    role == Role::TownshipOfficer
}

/// Whether a person named as an introducer may be one: a full member (`stage`: theirs, as
/// the roster holds it). Judged when the name is given, like every rule here.
pub fn check_introducer(field: &str, stage: Option<Stage>) -> Result<(), InvalidField> {
    if stage != Some(Stage::Full) {
        return Err(InvalidField::new(
            field,
            Reason::Rule(PipelineRule::Introducers),
        ));
    }
    Ok(())
}

/// What a step still lacks, in the rules' order (empty: the step may be taken on `on`).
fn lacks(m: &Member, to: Stage, on: Option<NaiveDate>) -> Vec<PipelineRule> {
    use PipelineRule::*;
    let mut out = Vec::new();
    match to {
        Stage::Activist => {
            let talked = m.talked_on.is_some_and(|t| on.is_none_or(|on| t <= on));
            if !talked {
                out.push(Talk);
            }
        }
        Stage::DevelopmentTarget => {
            let ok = match (m.activist_on, on) {
                (Some(a), Some(on)) => on >= plus_months(a, ACTIVIST_MONTHS),
                (Some(_), None) => true,
                (None, _) => false,
            };
            if !ok {
                out.push(ActivistYear);
            }
        }
        Stage::Probationary => {
            let before = |d: Option<NaiveDate>| d.is_some_and(|d| on.is_none_or(|on| d <= on));
            let named: Vec<&str> = m
                .introducers
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect();
            if named.len() < INTRODUCERS {
                out.push(Introducers);
            }
            if !before(m.political_review_on) {
                out.push(PoliticalReview);
            }
            if m.training_days < TRAINING_MIN_DAYS && m.training_hours < TRAINING_MIN_HOURS {
                out.push(Training);
            }
            if !before(m.prereview_on) {
                out.push(PreReview);
            }
            let noticed = match (m.notice_on, m.prereview_on) {
                (Some(n), Some(p)) => n >= p && on.is_none_or(|on| n < on),
                (Some(n), None) => on.is_none_or(|on| n < on),
                (None, _) => false,
            };
            if !noticed {
                out.push(PublicNotice);
            }
            if m.voters == 0 || m.votes_for * 2 <= m.voters {
                out.push(BranchVote);
            }
        }
        Stage::Full => {
            if m.approved_on.is_none() {
                out.push(Approval);
            }
            let ok = match (m.probationary_on, on) {
                (Some(p), Some(on)) => on >= plus_months(p, PROBATION_MONTHS),
                (Some(_), None) => true,
                (None, _) => false,
            };
            if !ok {
                out.push(ProbationYear);
            }
        }
        Stage::Applicant => {}
    }
    out
}

/// Check an edit of a member against the pipeline's rules (`previous`: the stored record, or
/// `None` when the record is new and so judged as entered, see the module doc).
pub fn check(m: &Member, previous: Option<&Member>) -> Result<(), InvalidField> {
    let Some(p) = previous else { return Ok(()) };
    // Every step crossed by this edit, each judged on the date the member reached it.
    for s in Stage::ALL {
        if s > p.stage && s <= m.stage {
            if let Some(rule) = lacks(m, s, m.stage_date(s)).first() {
                return Err(refuse(*rule));
            }
        }
    }
    // The township's approvals, judged when they are given.
    if m.approved_on != p.approved_on {
        if let Some(a) = m.approved_on {
            let in_time = m
                .probationary_on
                .is_some_and(|b| a >= b && a <= plus_months(b, APPROVAL_WITHIN_MONTHS));
            if m.stage < Stage::Probationary || !in_time {
                return Err(refuse(PipelineRule::Approval));
            }
        }
    }
    if m.full_approved_on != p.full_approved_on {
        if let Some(a) = m.full_approved_on {
            if m.stage < Stage::Full || m.full_on.is_none_or(|f| a < f) {
                return Err(refuse(PipelineRule::FullApproval));
            }
        }
    }
    if m.prereview_on != p.prereview_on {
        if let Some(a) = m.prereview_on {
            if m.stage < Stage::DevelopmentTarget || m.target_on.is_none_or(|t| a < t) {
                return Err(refuse(PipelineRule::PreReview));
            }
        }
    }
    Ok(())
}

/// A person's next step: where it leads, the earliest day it may be taken, and what it still
/// lacks (the township's approvals among them, marked by [`PipelineRule::township`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct NextStep {
    /// The stage the step leads to (`full` with only the township's approval missing, once the
    /// branch has proposed full membership).
    pub to: Stage,
    /// The earliest day by the minimum durations (`YYYY-MM-DD`), if one applies.
    pub earliest: Option<String>,
    /// The latest day a rule sets for it (the talk within a month, the township's approval
    /// within three months), if one applies.
    pub latest: Option<String>,
    pub missing: Vec<PipelineRule>,
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The next step of `m` (`None`: a full member with nothing left to do).
pub fn next_step(m: &Member) -> Option<NextStep> {
    let (to, earliest, latest) = match m.stage {
        Stage::Applicant => (
            Stage::Activist,
            None,
            m.applied_on.map(|a| plus_months(a, TALK_WITHIN_MONTHS)),
        ),
        Stage::Activist => (
            Stage::DevelopmentTarget,
            m.activist_on.map(|a| plus_months(a, ACTIVIST_MONTHS)),
            None,
        ),
        Stage::DevelopmentTarget => (Stage::Probationary, None, None),
        Stage::Probationary => (
            Stage::Full,
            m.probationary_on.map(|p| plus_months(p, PROBATION_MONTHS)),
            m.probationary_on
                .filter(|_| m.approved_on.is_none())
                .map(|p| plus_months(p, APPROVAL_WITHIN_MONTHS)),
        ),
        Stage::Full => {
            // Full by the branch meeting, through these rules (the probationary approval is
            // recorded), and the township has not approved it yet.
            if m.approved_on.is_some() && m.full_approved_on.is_none() {
                return Some(NextStep {
                    to: Stage::Full,
                    earliest: m.full_on.map(ymd),
                    latest: None,
                    missing: vec![PipelineRule::FullApproval],
                });
            }
            return None;
        }
    };
    // What is missing regardless of the day the step will be taken on.
    let mut missing = lacks(m, to, None);
    if m.stage == Stage::Applicant && m.talked_on.is_some() {
        missing.retain(|r| *r != PipelineRule::Talk);
    }
    Some(NextStep {
        to,
        earliest: earliest.map(ymd),
        latest: latest.map(ymd),
        missing,
    })
}

/// When the next half-year assessment of an activist falls due: six months after the last one
/// (or after they became an activist).
pub fn assessment_due(
    m_activist_on: Option<NaiveDate>,
    last: Option<NaiveDate>,
) -> Option<NaiveDate> {
    last.or(m_activist_on)
        .map(|d| plus_months(d, ASSESSMENT_EVERY_MONTHS))
}

/// When the branch's talk with an applicant falls due.
pub fn talk_due(applied_on: Option<NaiveDate>) -> Option<NaiveDate> {
    applied_on.map(|a| plus_months(a, TALK_WITHIN_MONTHS))
}

/// When the township's approval of a probationary member falls due.
pub fn approval_due(probationary_on: Option<NaiveDate>) -> Option<NaiveDate> {
    probationary_on.map(|p| plus_months(p, APPROVAL_WITHIN_MONTHS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::RecordBody;

    fn d(s: &str) -> Option<NaiveDate> {
        Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    /// A person who has met every rule up to the branch meeting of 2026-06-20.
    fn ready() -> Member {
        Member {
            name: "刘芳".into(),
            stage: Stage::DevelopmentTarget,
            applied_on: d("2024-03-01"),
            talked_on: d("2024-03-20"),
            activist_on: d("2024-05-01"),
            assessed_on: d("2025-05-01"),
            target_on: d("2025-06-01"),
            introducers: vec!["m-wang".into(), "m-li".into()],
            political_review_on: d("2026-03-01"),
            training_days: 3,
            prereview_on: d("2026-05-20"),
            notice_on: d("2026-06-01"),
            votes_for: 12,
            voters: 20,
            ..Default::default()
        }
    }

    fn admitted() -> Member {
        Member {
            stage: Stage::Probationary,
            probationary_on: d("2026-06-20"),
            ..ready()
        }
    }

    fn refused(m: &Member, p: &Member) -> (String, Option<PipelineRule>) {
        let e = m.validate(Some(p)).unwrap_err();
        let rule = match e.reason {
            Reason::Rule(r) => Some(r),
            _ => None,
        };
        (e.field, rule)
    }

    #[test]
    fn an_applicant_becomes_an_activist_only_after_the_talk() {
        let p = Member {
            name: "张三".into(),
            stage: Stage::Applicant,
            applied_on: d("2026-01-05"),
            ..Default::default()
        };
        let mut m = Member {
            stage: Stage::Activist,
            activist_on: d("2026-03-01"),
            ..p.clone()
        };
        assert_eq!(
            refused(&m, &p),
            ("talked_on".into(), Some(PipelineRule::Talk))
        );
        // A talk after the move's date is not a talk before it.
        m.talked_on = d("2026-03-02");
        assert_eq!(refused(&m, &p).1, Some(PipelineRule::Talk));
        m.talked_on = d("2026-01-20");
        m.validate(Some(&p)).unwrap();
        // The message names the rule.
        m.talked_on = None;
        assert_eq!(
            m.validate(Some(&p)).unwrap_err().to_string(),
            "talked_on breaks a rule of the development pipeline: the branch talks with an \
             applicant before they become an activist"
        );
    }

    #[test]
    fn an_activist_is_trained_for_a_year_before_becoming_a_development_target() {
        let p = Member {
            stage: Stage::Activist,
            ..ready()
        };
        let p = Member {
            target_on: None,
            ..p
        };
        let early = Member {
            stage: Stage::DevelopmentTarget,
            target_on: d("2025-04-30"),
            ..p.clone()
        };
        assert_eq!(
            refused(&early, &p),
            ("target_on".into(), Some(PipelineRule::ActivistYear))
        );
        let on_time = Member {
            target_on: d("2025-05-01"),
            ..early
        };
        on_time.validate(Some(&p)).unwrap();
    }

    /// One way to leave a step undone.
    type Breaks = fn(&mut Member);

    #[test]
    fn a_development_target_needs_every_step_before_the_branch_meeting() {
        let p = ready();
        admitted().validate(Some(&p)).unwrap();
        let cases: Vec<(PipelineRule, Breaks)> = vec![
            (PipelineRule::Introducers, |m| m.introducers.truncate(1)),
            (PipelineRule::Introducers, |m| m.introducers[1] = " ".into()),
            (PipelineRule::PoliticalReview, |m| {
                m.political_review_on = None
            }),
            (PipelineRule::PoliticalReview, |m| {
                m.political_review_on = d("2026-06-21")
            }),
            (PipelineRule::Training, |m| m.training_days = 2),
            (PipelineRule::PreReview, |m| m.prereview_on = None),
            (PipelineRule::PublicNotice, |m| m.notice_on = None),
            // The notice comes after the pre-review, and before the meeting.
            (PipelineRule::PublicNotice, |m| {
                m.notice_on = d("2026-05-19")
            }),
            (PipelineRule::PublicNotice, |m| {
                m.notice_on = d("2026-06-20")
            }),
            // 10 of 20 is not more than half.
            (PipelineRule::BranchVote, |m| m.votes_for = 10),
            (PipelineRule::BranchVote, |m| {
                m.votes_for = 0;
                m.voters = 0
            }),
        ];
        for (rule, break_it) in cases {
            let mut m = admitted();
            break_it(&mut m);
            assert_eq!(refused(&m, &p).1, Some(rule), "{m:?}");
        }
        // 24 class hours stand for 3 days.
        let mut m = admitted();
        m.training_days = 0;
        m.training_hours = 24;
        m.validate(Some(&p)).unwrap();
        // 11 of 20 is more than half.
        m.votes_for = 11;
        m.validate(Some(&p)).unwrap();
    }

    #[test]
    fn a_move_that_skips_steps_is_judged_for_each_step_it_crosses() {
        let p = Member {
            name: "张三".into(),
            stage: Stage::Applicant,
            applied_on: d("2026-01-05"),
            ..Default::default()
        };
        // Straight from applicant to development target: the talk is the first rule broken.
        let skip = Member {
            stage: Stage::DevelopmentTarget,
            activist_on: d("2026-02-01"),
            target_on: d("2026-03-01"),
            ..p.clone()
        };
        assert_eq!(refused(&skip, &p).1, Some(PipelineRule::Talk));
        let talked = Member {
            talked_on: d("2026-01-20"),
            ..skip
        };
        assert_eq!(refused(&talked, &p).1, Some(PipelineRule::ActivistYear));
        // Two valid steps made offline and pushed together are two valid steps.
        let both = Member {
            target_on: d("2027-02-01"),
            ..talked
        };
        both.validate(Some(&p)).unwrap();
    }

    #[test]
    fn what_is_stored_is_not_judged_only_moves() {
        // A member entered as they are (no pipeline facts) is not refused, nor is an edit of
        // something else on such a record, nor a move back.
        let old = Member {
            name: "老党员".into(),
            stage: Stage::Probationary,
            probationary_on: d("2026-01-01"),
            ..Default::default()
        };
        old.validate(None).unwrap();
        let renamed = Member {
            notes: "备注".into(),
            ..old.clone()
        };
        renamed.validate(Some(&old)).unwrap();
        let back = Member {
            stage: Stage::DevelopmentTarget,
            probationary_on: None,
            target_on: d("2025-12-01"),
            ..old.clone()
        };
        back.validate(Some(&old)).unwrap();
    }

    #[test]
    fn probation_lasts_a_year_and_needs_the_townships_approval() {
        let p = Member {
            approved_on: d("2026-08-01"),
            ..admitted()
        };
        let early = Member {
            stage: Stage::Full,
            full_on: d("2027-06-19"),
            ..p.clone()
        };
        assert_eq!(
            refused(&early, &p),
            ("full_on".into(), Some(PipelineRule::ProbationYear))
        );
        let year = Member {
            full_on: d("2027-06-20"),
            ..early.clone()
        };
        year.validate(Some(&p)).unwrap();
        let unapproved = Member {
            approved_on: None,
            ..year.clone()
        };
        let before = Member {
            approved_on: None,
            ..p.clone()
        };
        assert_eq!(
            refused(&unapproved, &before),
            ("approved_on".into(), Some(PipelineRule::Approval))
        );
        // The full approval comes on or after the branch meeting.
        let full_approved = Member {
            full_approved_on: d("2027-06-19"),
            ..year.clone()
        };
        assert_eq!(
            refused(&full_approved, &year).1,
            Some(PipelineRule::FullApproval)
        );
    }

    #[test]
    fn the_township_approves_within_three_months_of_the_branch_meeting() {
        let p = admitted();
        for (on, ok) in [
            ("2026-06-19", false),
            ("2026-06-20", true),
            ("2026-09-20", true),
            ("2026-09-21", false),
        ] {
            let m = Member {
                approved_on: d(on),
                ..p.clone()
            };
            assert_eq!(m.validate(Some(&p)).is_ok(), ok, "{on}");
        }
        // The pre-review comes once the person is a development target.
        let t = Member {
            prereview_on: None,
            ..ready()
        };
        let early = Member {
            prereview_on: d("2025-05-31"),
            ..t.clone()
        };
        assert_eq!(refused(&early, &t).1, Some(PipelineRule::PreReview));
    }

    #[test]
    fn approvals_are_the_townships_moves_only() {
        let p = admitted();
        let m = Member {
            approved_on: d("2026-07-01"),
            ..p.clone()
        };
        for role in Role::ALL {
            assert_eq!(
                m.permit_edit(&p, role).is_ok(),
                role == Role::TownshipOfficer,
                "{role}"
            );
        }
        // The village's own steps stay the village's.
        let talked = Member {
            notes: "谈话记录".into(),
            ..p.clone()
        };
        talked.permit_edit(&p, Role::FirstSecretary).unwrap();
    }

    #[test]
    fn the_next_step_says_when_and_what_is_missing() {
        let applicant = Member {
            name: "张三".into(),
            stage: Stage::Applicant,
            applied_on: d("2026-11-10"),
            ..Default::default()
        };
        let n = next_step(&applicant).unwrap();
        assert_eq!(n.to, Stage::Activist);
        assert_eq!(n.latest.as_deref(), Some("2026-12-10"));
        assert_eq!(n.missing, vec![PipelineRule::Talk]);

        let activist = Member {
            stage: Stage::Activist,
            target_on: None,
            ..ready()
        };
        let n = next_step(&activist).unwrap();
        assert_eq!(
            (n.to, n.earliest.as_deref(), n.missing.len()),
            (Stage::DevelopmentTarget, Some("2025-05-01"), 0)
        );

        let target = Member {
            introducers: vec!["m-wang".into()],
            prereview_on: None,
            notice_on: None,
            votes_for: 0,
            voters: 0,
            ..ready()
        };
        let n = next_step(&target).unwrap();
        assert_eq!(
            n.missing,
            vec![
                PipelineRule::Introducers,
                PipelineRule::PreReview,
                PipelineRule::PublicNotice,
                PipelineRule::BranchVote
            ]
        );
        assert!(n.missing.iter().any(|r| r.township()));

        let n = next_step(&admitted()).unwrap();
        assert_eq!(n.to, Stage::Full);
        assert_eq!(n.earliest.as_deref(), Some("2027-06-20"));
        assert_eq!(n.latest.as_deref(), Some("2026-09-20"));
        assert_eq!(n.missing, vec![PipelineRule::Approval]);

        let full = Member {
            stage: Stage::Full,
            approved_on: d("2026-08-01"),
            full_on: d("2027-06-25"),
            ..admitted()
        };
        let n = next_step(&full).unwrap();
        assert_eq!(n.missing, vec![PipelineRule::FullApproval]);
        let done = Member {
            full_approved_on: d("2027-07-01"),
            ..full
        };
        assert_eq!(next_step(&done), None);
        // A full member entered as they are has no next step.
        let old = Member {
            name: "老党员".into(),
            full_on: d("1990-07-01"),
            ..Default::default()
        };
        assert_eq!(next_step(&old), None);
    }
}
