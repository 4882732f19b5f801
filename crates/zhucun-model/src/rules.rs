//! The rules of the work that are about people and time rather than one record's fields: which
//! roles there are and at which kind of unit each is held, who may make which move of a
//! monthly report or a task, a month's dates, and when a deadline is near or past.
//!
//! Each rule is written here once. The replica refuses a save its user's role may not make,
//! the server refuses a pushed change the role of the person behind the device may not make
//! ([`crate::AnyRecord::permit`]), and the UI reads the same rules from `rules.json`, which
//! [`rule_book`] generates into the UI's bindings.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::kinds::{Kind, ReportState, TaskStatus};

/// What a person does in the organisation. Field staff write a village's records and its
/// monthly report; the office (township, city, administrators) issues tasks and reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// 驻村第一书记, stationed in one village or community.
    FirstSecretary,
    /// 党建指导员, covering several villages, communities or schools.
    Instructor,
    /// 乡镇(街道)党委组织委员.
    TownshipOfficer,
    /// 市委组织部.
    CityOfficer,
    /// Keeps the organisation tree, people and devices.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::FirstSecretary,
        Role::Instructor,
        Role::TownshipOfficer,
        Role::CityOfficer,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::FirstSecretary => "first_secretary",
            Role::Instructor => "instructor",
            Role::TownshipOfficer => "township_officer",
            Role::CityOfficer => "city_officer",
            Role::Admin => "admin",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::FirstSecretary => "驻村第一书记",
            Role::Instructor => "党建指导员",
            Role::TownshipOfficer => "乡镇组织委员",
            Role::CityOfficer => "市委组织部",
            Role::Admin => "系统管理员",
        }
    }

    /// Field staff: they write the village's records and file its monthly report.
    pub fn is_field(self) -> bool {
        matches!(self, Role::FirstSecretary | Role::Instructor)
    }

    /// The office: logs in to the dashboard, issues and closes tasks, reviews reports.
    pub fn is_office(self) -> bool {
        !self.is_field()
    }

    /// The kinds of unit a person of this role is attached to.
    pub fn unit_kinds(self) -> &'static [UnitKind] {
        use UnitKind::*;
        match self {
            Role::FirstSecretary => &[Village, Community],
            Role::Instructor => &[Village, Community, School],
            Role::TownshipOfficer => &[Township, Street],
            Role::CityOfficer => &[City],
            Role::Admin => &[City, Township, Street],
        }
    }

    pub fn may_hold(self, unit: UnitKind) -> bool {
        self.unit_kinds().contains(&unit)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`Role::ALL`] or [`UnitKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}` (expected one of: {expected})")]
pub struct UnknownName {
    pub what: &'static str,
    pub given: String,
    pub expected: String,
}

impl FromStr for Role {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Role, UnknownName> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "role",
                given: s.chars().take(40).collect(),
                expected: Role::ALL.map(Role::as_str).join(", "),
            })
    }
}

/// Kinds of organisation unit, top to bottom: city 市 → township 乡镇 / street 街道 → village
/// 村 / community 社区, and schools 学校.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UnitKind {
    City,
    Township,
    Street,
    Village,
    Community,
    School,
}

impl UnitKind {
    pub const ALL: [UnitKind; 6] = [
        UnitKind::City,
        UnitKind::Township,
        UnitKind::Street,
        UnitKind::Village,
        UnitKind::Community,
        UnitKind::School,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::City => "city",
            UnitKind::Township => "township",
            UnitKind::Street => "street",
            UnitKind::Village => "village",
            UnitKind::Community => "community",
            UnitKind::School => "school",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            UnitKind::City => "市",
            UnitKind::Township => "乡镇",
            UnitKind::Street => "街道",
            UnitKind::Village => "村",
            UnitKind::Community => "社区",
            UnitKind::School => "学校",
        }
    }

    /// Units that keep their own records (a village's roster, activities, report).
    pub fn keeps_records(self) -> bool {
        matches!(
            self,
            UnitKind::Village | UnitKind::Community | UnitKind::School
        )
    }
}

impl fmt::Display for UnitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UnitKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<UnitKind, UnknownName> {
        UnitKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "unit kind",
                given: s.chars().take(40).collect(),
                expected: UnitKind::ALL.map(UnitKind::as_str).join(", "),
            })
    }
}

/// A calendar month, written `YYYY-MM` (years 1900 to 2200).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// A month as an API writes it, `YYYY-MM` from 1900-01 to 2200-12, as a regular expression
    /// (ECMA-262, for the OpenAPI document): exactly what [`Month::parse`] reads when there is
    /// no space around it.
    pub const PATTERN: &'static str = r"^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])$";

    pub fn new(year: i32, month: u32) -> Option<Month> {
        ((1..=12).contains(&month) && (1900..=2200).contains(&year))
            .then_some(Month { year, month })
    }

    pub fn parse(s: &str) -> Option<Month> {
        crate::values::parse_month(s).and_then(|(y, m)| Month::new(y, m))
    }

    /// The month `day` lies in.
    pub fn of(day: NaiveDate) -> Month {
        Month {
            year: day.year(),
            month: day.month(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    pub fn first(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    /// The first day of the month after.
    pub fn next_first(self) -> NaiveDate {
        self.next().first()
    }

    pub fn last(self) -> NaiveDate {
        self.next_first().pred_opt().unwrap_or_default()
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The same month a year before: what a month's figures are compared with, beside
    /// [`Month::prev`].
    pub fn a_year_before(self) -> Month {
        Month {
            year: self.year - 1,
            month: self.month,
        }
    }

    pub fn contains(self, day: NaiveDate) -> bool {
        Month::of(day) == self
    }

    /// The first day of the quarter the month lies in.
    pub fn quarter_start(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, (self.month - 1) / 3 * 3 + 1, 1).unwrap_or_default()
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = crate::InvalidField;
    fn from_str(s: &str) -> Result<Month, crate::InvalidField> {
        Month::parse(s).ok_or_else(|| {
            crate::InvalidField::new(
                "month",
                crate::Reason::Format(format!(
                    "`{}` is not a month (YYYY-MM)",
                    s.chars().take(20).collect::<String>()
                )),
            )
        })
    }
}

/// Days ahead in which a deadline counts as near.
pub const DUE_SOON_DAYS: u32 = 14;

/// Where an open piece of work stands against its deadline on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Due {
    /// Finished or cancelled: no deadline applies.
    Closed,
    /// Open and past its deadline (a deadline today is not past yet).
    Overdue,
    /// Open and due within [`DUE_SOON_DAYS`] days, today included.
    Soon,
    /// Open and due later.
    Later,
    /// Open with no deadline.
    Undated,
}

/// Where work that is `open` with `deadline` stands on `today`.
pub fn due(open: bool, deadline: Option<NaiveDate>, today: NaiveDate) -> Due {
    match deadline {
        _ if !open => Due::Closed,
        None => Due::Undated,
        Some(d) if d < today => Due::Overdue,
        Some(d) if (d - today).num_days() <= i64::from(DUE_SOON_DAYS) => Due::Soon,
        Some(_) => Due::Later,
    }
}

impl ReportState {
    /// Whether a person of `role` may move a report from `self` to `to`: the village submits
    /// and resubmits, the township or city accepts or returns, nothing leaves accepted.
    /// Staying in a state is not a move (what may change in it is [`Self::open_to_village`]).
    pub fn may_become(self, to: ReportState, role: Role) -> bool {
        use ReportState::*;
        self == to
            || match (self, to) {
                (Draft, Submitted) | (Returned, Submitted) => role.is_field(),
                (Submitted, Returned) | (Submitted, Accepted) => role.is_office(),
                _ => false,
            }
    }

    /// How concurrent moves of one report merge: the state of highest rank wins, on every
    /// replica alike. A report is accepted only if no concurrent move disagreed: a return
    /// beats an acceptance (a reviewer saw a problem), a resubmission beats an acceptance of
    /// the earlier text (the words changed since the reviewer read them).
    pub fn merge_rank(self) -> u8 {
        match self {
            ReportState::Draft => 0,
            ReportState::Accepted => 1,
            ReportState::Submitted => 2,
            ReportState::Returned => 3,
        }
    }

    /// Whether the village may still change the report's words and figures.
    pub fn open_to_village(self) -> bool {
        matches!(self, ReportState::Draft | ReportState::Returned)
    }

    pub const ALL: [ReportState; 4] = [
        ReportState::Draft,
        ReportState::Submitted,
        ReportState::Returned,
        ReportState::Accepted,
    ];
}

impl TaskStatus {
    /// Whether a person of `role` may move a task from `self` to `to`: the village starts
    /// work on it (or sets it back to open); the office that issues tasks also closes,
    /// cancels and reopens them.
    pub fn may_become(self, to: TaskStatus, role: Role) -> bool {
        use TaskStatus::*;
        self == to
            || role.is_office()
            || matches!((self, to), (Open, InProgress) | (InProgress, Open))
    }

    /// How concurrent moves of one task merge: the status of highest rank wins, on every
    /// replica alike. The office's decisions beat the village's (closed while the village
    /// started work: closed), cancelling beats closing.
    pub fn merge_rank(self) -> u8 {
        match self {
            TaskStatus::Open => 0,
            TaskStatus::InProgress => 1,
            TaskStatus::Done => 2,
            TaskStatus::Cancelled => 3,
        }
    }

    /// Open or in progress: still to be done.
    pub fn is_open(self) -> bool {
        matches!(self, TaskStatus::Open | TaskStatus::InProgress)
    }

    pub const ALL: [TaskStatus; 4] = [
        TaskStatus::Open,
        TaskStatus::InProgress,
        TaskStatus::Done,
        TaskStatus::Cancelled,
    ];
}

/// The yearly development target a township sets for a village: 3 to 5 new members.
pub const DEVELOPMENT_TARGET: (u32, u32) = (3, 5);

/// Who sets a village's yearly targets (development, share of women): the township.
pub fn may_set_targets(role: Role) -> bool {
    role == Role::TownshipOfficer
}

/// Which kinds a role may create: the office issues tasks, the village files its reports;
/// every other kind may be created by anyone whose scope holds the village.
pub fn may_create(kind: Kind, role: Role) -> bool {
    match kind {
        Kind::Task => role.is_office(),
        Kind::Report => role.is_field(),
        _ => true,
    }
}

/// What a role may not do, as the replica and the server say it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {}", role, self.what())]
pub struct Forbidden {
    pub role: Role,
    pub kind: Kind,
    /// The field whose change is refused (`record` for creating one).
    pub field: String,
    pub rule: Refused,
}

impl Forbidden {
    /// Refuse the first changed field of `changes` (`(field, changed)`) when `allowed` is
    /// false: fields only some roles may change.
    pub(crate) fn first_change(
        kind: Kind,
        role: Role,
        allowed: bool,
        changes: &[(&str, bool)],
    ) -> Result<(), Forbidden> {
        match changes.iter().find(|(_, changed)| *changed) {
            Some((field, _)) if !allowed => Err(Forbidden {
                role,
                kind,
                field: (*field).into(),
                rule: Refused::Change,
            }),
            _ => Ok(()),
        }
    }
}

/// The kind of move refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Create,
    Move { from: String, to: String },
    ChangeIn { state: String },
    Change,
}

impl Forbidden {
    fn what(&self) -> String {
        let k = self.kind;
        match &self.rule {
            Refused::Create => format!("may not create a {k}"),
            Refused::Move { from, to } => {
                format!("may not change a {k}'s {} from {from} to {to}", self.field)
            }
            Refused::ChangeIn { state } => {
                format!("may not change {} of a {k} that is {state}", self.field)
            }
            Refused::Change => format!("may not change {} of a {k}", self.field),
        }
    }
}

/// One allowed move between two states, and the roles that may make it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ReportMove {
    pub from: ReportState,
    pub to: ReportState,
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TaskMove {
    pub from: TaskStatus,
    pub to: TaskStatus,
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct RoleRules {
    pub role: Role,
    pub field: bool,
    pub office: bool,
    pub unit_kinds: Vec<UnitKind>,
    /// Kinds this role may create.
    pub creates: Vec<Kind>,
}

/// Every rule above as data, for the UI (generated into `ui/src/lib/bindings/rules.json`):
/// computed from the functions, so it cannot say anything they do not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct RuleBook {
    pub roles: Vec<RoleRules>,
    pub unit_kinds: Vec<UnitKind>,
    pub report_moves: Vec<ReportMove>,
    /// States in which the village may change a report's words.
    pub report_open_states: Vec<ReportState>,
    pub task_moves: Vec<TaskMove>,
    pub task_open_statuses: Vec<TaskStatus>,
    pub due_soon_days: u32,
    /// The development pipeline's rules met by the township's approval, not the village.
    pub township_pipeline_rules: Vec<crate::kinds::PipelineRule>,
    /// Roles that give the township's approvals.
    pub approving_roles: Vec<Role>,
    /// Roles that set a village's yearly targets, and the range of the development target.
    pub target_roles: Vec<Role>,
    pub development_target_min: u32,
    pub development_target_max: u32,
}

pub fn rule_book() -> RuleBook {
    let roles_for = |ok: &dyn Fn(Role) -> bool| -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| ok(*r)).collect()
    };
    let mut report_moves = Vec::new();
    for from in ReportState::ALL {
        for to in ReportState::ALL {
            let roles = roles_for(&|r| from.may_become(to, r));
            if from != to && !roles.is_empty() {
                report_moves.push(ReportMove { from, to, roles });
            }
        }
    }
    let mut task_moves = Vec::new();
    for from in TaskStatus::ALL {
        for to in TaskStatus::ALL {
            let roles = roles_for(&|r| from.may_become(to, r));
            if from != to && !roles.is_empty() {
                task_moves.push(TaskMove { from, to, roles });
            }
        }
    }
    RuleBook {
        roles: Role::ALL
            .into_iter()
            .map(|role| RoleRules {
                role,
                field: role.is_field(),
                office: role.is_office(),
                unit_kinds: role.unit_kinds().to_vec(),
                creates: Kind::ALL
                    .into_iter()
                    .filter(|k| may_create(*k, role))
                    .collect(),
            })
            .collect(),
        unit_kinds: UnitKind::ALL.to_vec(),
        report_moves,
        report_open_states: ReportState::ALL
            .into_iter()
            .filter(|s| s.open_to_village())
            .collect(),
        task_moves,
        task_open_statuses: TaskStatus::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .collect(),
        due_soon_days: DUE_SOON_DAYS,
        township_pipeline_rules: crate::kinds::PipelineRule::ALL
            .into_iter()
            .filter(|r| r.township())
            .collect(),
        approving_roles: roles_for(&crate::kinds::pipeline::may_approve),
        target_roles: roles_for(&may_set_targets),
        development_target_min: DEVELOPMENT_TARGET.0,
        development_target_max: DEVELOPMENT_TARGET.1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        crate::parse_date(s).unwrap()
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_named() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(crate::kinds::enum_name(&r), r.as_str());
        }
        for k in UnitKind::ALL {
            assert_eq!(k.as_str().parse::<UnitKind>().unwrap(), k);
            assert_eq!(crate::kinds::enum_name(&k), k.as_str());
        }
        let e = "mayor".parse::<Role>().unwrap_err().to_string();
        assert!(
            e.contains("`mayor`") && e.contains("first_secretary"),
            "{e}"
        );
    }

    #[test]
    fn each_role_holds_its_own_kind_of_unit() {
        assert!(Role::FirstSecretary.may_hold(UnitKind::Village));
        assert!(!Role::FirstSecretary.may_hold(UnitKind::Township));
        assert!(Role::Instructor.may_hold(UnitKind::School));
        assert!(Role::TownshipOfficer.may_hold(UnitKind::Street));
        assert!(!Role::TownshipOfficer.may_hold(UnitKind::Village));
        assert!(Role::CityOfficer.may_hold(UnitKind::City));
        assert!(!Role::CityOfficer.may_hold(UnitKind::Township));
    }

    #[test]
    fn months_know_their_days() {
        let feb = Month::parse("2028-02").unwrap();
        assert_eq!(feb.first(), day("2028-02-01"));
        assert_eq!(feb.last(), day("2028-02-29"));
        assert_eq!(feb.next_first(), day("2028-03-01"));
        let dec = Month::parse("2026-12").unwrap();
        assert_eq!(dec.next().to_string(), "2027-01");
        assert_eq!(dec.next().prev(), dec);
        assert_eq!(dec.last(), day("2026-12-31"));
        assert_eq!(dec.quarter_start(), day("2026-10-01"));
        assert!(dec.contains(day("2026-12-31")) && !dec.contains(day("2027-01-01")));
        assert_eq!(Month::of(day("2026-05-17")).to_string(), "2026-05");
        for bad in ["2026-13", "26-05", "2026-5", "", "1899-12", "二月"] {
            assert!(Month::parse(bad).is_none(), "{bad}");
        }
        assert_eq!("x".parse::<Month>().unwrap_err().field, "month");
    }

    #[test]
    fn a_deadline_today_is_soon_yesterday_overdue() {
        let today = day("2026-05-20");
        assert_eq!(due(true, Some(day("2026-05-19")), today), Due::Overdue);
        assert_eq!(due(true, Some(today), today), Due::Soon);
        assert_eq!(due(true, Some(day("2026-06-03")), today), Due::Soon);
        assert_eq!(due(true, Some(day("2026-06-04")), today), Due::Later);
        assert_eq!(due(true, None, today), Due::Undated);
        assert_eq!(due(false, Some(day("2026-01-01")), today), Due::Closed);
    }

    #[test]
    fn the_village_submits_the_office_reviews_nothing_leaves_accepted() {
        use ReportState::*;
        let fs = Role::FirstSecretary;
        let town = Role::TownshipOfficer;
        assert!(Draft.may_become(Submitted, fs));
        assert!(Returned.may_become(Submitted, Role::Instructor));
        assert!(!Draft.may_become(Submitted, town));
        assert!(Submitted.may_become(Accepted, town));
        assert!(Submitted.may_become(Returned, Role::CityOfficer));
        assert!(!Submitted.may_become(Accepted, fs));
        assert!(!Submitted.may_become(Returned, fs));
        for r in Role::ALL {
            for to in [Draft, Submitted, Returned] {
                assert!(!Accepted.may_become(to, r), "{r} {to:?}");
            }
            assert!(!Draft.may_become(Accepted, r));
        }
    }

    #[test]
    fn the_village_works_on_a_task_the_office_closes_it() {
        use TaskStatus::*;
        let fs = Role::FirstSecretary;
        assert!(Open.may_become(InProgress, fs));
        assert!(InProgress.may_become(Open, fs));
        for closed in [Done, Cancelled] {
            assert!(!InProgress.may_become(closed, fs));
            assert!(!closed.may_become(Open, fs));
            assert!(InProgress.may_become(closed, Role::TownshipOfficer));
            assert!(closed.may_become(InProgress, Role::CityOfficer));
        }
        assert!(may_create(Kind::Task, Role::TownshipOfficer));
        assert!(!may_create(Kind::Task, fs));
        assert!(may_create(Kind::Report, fs));
        assert!(!may_create(Kind::Report, Role::Admin));
    }

    #[test]
    fn the_rule_book_says_what_the_functions_say() {
        let b = rule_book();
        let accept = b
            .report_moves
            .iter()
            .find(|m| m.from == ReportState::Submitted && m.to == ReportState::Accepted)
            .unwrap();
        assert_eq!(
            accept.roles,
            [Role::TownshipOfficer, Role::CityOfficer, Role::Admin]
        );
        assert!(!b
            .report_moves
            .iter()
            .any(|m| m.from == ReportState::Accepted));
        assert_eq!(b.report_moves.len(), 4);
        assert_eq!(b.due_soon_days, 14);
        let fs = &b.roles[0];
        assert!(fs.field && !fs.creates.contains(&Kind::Task));
    }

    #[cfg(feature = "ts")]
    #[test]
    fn export_bindings_rule_book() {
        // Beside the ts-rs bindings, in the directory .cargo/config.toml names.
        let dir = std::env::var("TS_RS_EXPORT_DIR").unwrap_or_else(|_| "bindings".into());
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let path = root.join(dir).join("rules.json");
        let json = serde_json::to_string_pretty(&rule_book()).unwrap() + "\n";
        std::fs::write(&path, json).unwrap();
    }
}
