//! Checks that the TypeScript bindings ts-rs generates (feature `ts`) describe the JSON serde
//! actually writes: every record kind, default and filled, is serialised and its value is
//! checked against the declarations ts-rs reports — same keys in the same order, and every
//! value of the declared TS type (string, number, boolean, null, literal unions, arrays, maps,
//! objects, named types). A serde rename, a `with` module or a number type that drifts from
//! the TS fails here.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value as Json;
use ts_rs::{Config, TS};

use crate::figures::{
    monthly_figures, ActivityFacts, Development, MemberFacts, MonthlyFigures, ProjectFacts,
    ProjectProgress, ThreeMeetingsOneLesson,
};
use crate::kinds::*;
use crate::{Attachment, Header, HistoryEntry, Money};

/// Declarations by TS name: `Activity` → `{ activity_kind: ActivityKind, ... }`.
struct Decls {
    cfg: Config,
    by_name: HashMap<String, String>,
}

macro_rules! decls {
    ($($t:ty),* $(,)?) => {{
        let cfg = Config::from_env();
        let mut by_name = HashMap::new();
        $(
            let decl = strip_comments(&<$t as TS>::decl(&cfg));
            let rhs = decl
                .split_once(" = ")
                .map(|(_, r)| r.trim().trim_end_matches(';').trim().to_string())
                .unwrap_or_else(|| panic!("unexpected declaration {decl}"));
            by_name.insert(<$t as TS>::name(&cfg), rhs);
        )*
        Decls { cfg, by_name }
    }};
}

fn all_decls() -> Decls {
    decls![
        Kind,
        Header,
        HistoryEntry,
        Money,
        Attachment,
        Activity,
        ActivityKind,
        DemonstrationType,
        FollowUp,
        Member,
        Gender,
        MemberCategory,
        PriorityGroup,
        Recognition,
        Stage,
        Project,
        Milestone,
        ProjectKind,
        ProjectStatus,
        Task,
        ProgressNote,
        ReportNote,
        TaskStatus,
        MonthlyReport,
        ReportState,
        Inspection,
        InspectionKind,
        Finding,
        Score,
        Severity,
        Rating,
        VillageProfile,
        PartyOrgType,
        UnitType,
        ActivityFacts,
        MemberFacts,
        ProjectFacts,
        ThreeMeetingsOneLesson,
        Development,
        ProjectProgress,
        MonthlyFigures,
        crate::rules::Role,
        crate::rules::UnitKind,
        crate::rules::Due,
        crate::rules::RuleBook,
        crate::rules::RoleRules,
        crate::rules::ReportMove,
        crate::rules::TaskMove,
        crate::calendar::Cadence,
        crate::calendar::PartyLifeItem,
        crate::reminders::ReminderKind,
        crate::reminders::Reminder,
        NextStep,
        PipelineRule,
    ]
}

fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("/**") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("*/").expect("unterminated comment") + i + 2;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Split at `sep` where not nested in brackets or a string literal.
fn split_top(s: &str, sep: char) -> Vec<String> {
    let (mut parts, mut cur, mut depth, mut in_str) = (Vec::new(), String::new(), 0i32, false);
    for c in s.chars() {
        match c {
            '"' => in_str = !in_str,
            '{' | '<' | '(' | '[' if !in_str => depth += 1,
            '}' | '>' | ')' | ']' if !in_str => depth -= 1,
            c if c == sep && depth == 0 && !in_str => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

impl Decls {
    /// Check `v` against the TS type `ty`; the error names the JSON path.
    fn conforms(&self, ty: &str, v: &Json, path: &str) -> Result<(), String> {
        let ty = ty.trim();
        let alts = split_top(ty, '|');
        if alts.len() > 1 {
            return if alts.iter().any(|a| self.conforms(a, v, path).is_ok()) {
                Ok(())
            } else {
                Err(format!("{path}: {v} is not {ty}"))
            };
        }
        let ok = match ty {
            "string" => v.is_string(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            t if t.starts_with('"') => v.as_str() == Some(t.trim_matches('"')),
            t if t.starts_with("Array<") && t.ends_with('>') => {
                let inner = &t["Array<".len()..t.len() - 1];
                let items = v.as_array().ok_or(format!("{path}: {v} is not an array"))?;
                for (i, x) in items.iter().enumerate() {
                    self.conforms(inner, x, &format!("{path}[{i}]"))?;
                }
                true
            }
            t if t.starts_with("{ [key in string]") => {
                let inner = t.split_once(':').map(|(_, r)| r).unwrap_or_default();
                let inner = inner.trim().trim_end_matches('}');
                let m = v.as_object().ok_or(format!("{path}: {v} is not a map"))?;
                for (k, x) in m {
                    self.conforms(inner, x, &format!("{path}.{k}"))?;
                }
                true
            }
            t if t.starts_with('{') && t.ends_with('}') => {
                return self.object(&t[1..t.len() - 1], v, path)
            }
            name => {
                let rhs = self
                    .by_name
                    .get(name)
                    .ok_or(format!("{path}: no declaration for TS type `{name}`"))?;
                return self.conforms(rhs, v, path);
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{path}: {v} is not {ty}"))
        }
    }

    /// An object type's body `a: T, b: U,`: the JSON keys must be exactly the TS fields, in
    /// order (serde_json keeps insertion order here), and each value of its field's type.
    fn object(&self, body: &str, v: &Json, path: &str) -> Result<(), String> {
        let m = v
            .as_object()
            .ok_or(format!("{path}: {v} is not an object"))?;
        let fields: Vec<(String, String)> = split_top(body, ',')
            .into_iter()
            .map(|f| {
                let (k, t) = f.split_once(':').expect("field without a type");
                (k.trim().trim_matches('"').to_string(), t.trim().to_string())
            })
            .collect();
        let ts_keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        let json_keys: Vec<&str> = m.keys().map(String::as_str).collect();
        if ts_keys != json_keys {
            return Err(format!(
                "{path}: JSON keys {json_keys:?} differ from TS fields {ts_keys:?}"
            ));
        }
        for (k, t) in &fields {
            self.conforms(t, &m[k.as_str()], &format!("{path}.{k}"))?;
        }
        Ok(())
    }

    fn check<T: TS + Serialize>(&self, value: &T) {
        let name = T::name(&self.cfg);
        let json = serde_json::to_value(value).unwrap();
        if let Err(e) = self.conforms(&name, &json, &name) {
            panic!("{e}\nTS: {}", self.by_name[&name]);
        }
    }

    /// A unit enum: its TS union holds exactly the serde names of `all`, which must list
    /// every variant (the counts are compared).
    fn check_enum<T: TS + Serialize>(&self, all: &[T]) {
        let name = T::name(&self.cfg);
        let ts: BTreeSet<String> = split_top(&self.by_name[&name], '|')
            .into_iter()
            .map(|l| l.trim_matches('"').to_string())
            .collect();
        let serde: BTreeSet<String> = all
            .iter()
            .map(|v| match serde_json::to_value(v).unwrap() {
                Json::String(s) => s,
                other => panic!("{name}: {other} is not a string"),
            })
            .collect();
        assert_eq!(serde, ts, "{name}: serde names vs TS union");
        assert_eq!(all.len(), ts.len(), "{name}: variants listed vs TS union");
    }
}

fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, day)
}

fn attachment() -> Attachment {
    Attachment {
        hash: "a".repeat(64),
        name: "照片.jpg".into(),
        mime: "image/jpeg".into(),
        size: 12_345,
    }
}

fn filled_figures() -> MonthlyFigures {
    let acts = [ActivityFacts {
        activity_kind: ActivityKind::PartyLecture,
        date: d(2026, 5, 2),
        attendees: 9,
        open_follow_ups: 1,
    }];
    let members = [MemberFacts {
        gender: Gender::Female,
        category: MemberCategory::Resident,
        stage: Stage::Probationary,
        birth_date: d(1990, 1, 1),
        probationary_on: d(2026, 3, 1),
        full_on: None,
        ..Default::default()
    }];
    let projects = [("p1".to_string(), filled_project_facts())];
    monthly_figures(2026, 5, &acts, &members, &projects, 4)
}

fn filled_project_facts() -> ProjectFacts {
    ProjectFacts {
        project_kind: ProjectKind::CollectiveEconomy,
        name: "合作社".into(),
        status: ProjectStatus::InProgress,
        progress: 40,
        funds_planned: Money(10_000_050),
        funds_allocated: Money(100),
        funds_raised: Money(1),
        funds_spent: Money(0),
        annual_income: Money(-250),
        milestones: 2,
        milestones_done: 1,
        due_on: d(2026, 12, 31),
    }
}

#[test]
fn records_serialise_as_their_typescript_says() {
    let decls = all_decls();

    // Defaults: empty lists, absent dates and options as null.
    for k in Kind::ALL {
        match AnyRecord::default_of(k) {
            AnyRecord::Village(r) => decls.check(&r),
            AnyRecord::Member(r) => decls.check(&r),
            AnyRecord::Activity(r) => decls.check(&r),
            AnyRecord::Project(r) => decls.check(&r),
            AnyRecord::Task(r) => decls.check(&r),
            AnyRecord::Report(r) => decls.check(&r),
            AnyRecord::Inspection(r) => decls.check(&r),
        }
    }

    // Filled: every field set, every list with an element, so nested types are checked too.
    // Struct literals without `..Default::default()`: a new field must be added here.
    decls.check(&VillageProfile {
        name: "东风村".into(),
        unit_type: UnitType::Community,
        township: "城关镇".into(),
        households: 310,
        population: 1_024,
        party_org: PartyOrgType::GeneralBranch,
        branch_secretary: "王书记".into(),
        first_secretary: "李书记".into(),
        feature: "茶叶".into(),
        collective_income: Money(12_345_678),
        development_target: 4,
        women_target_percent: 30,
        notes: "备注".into(),
    });
    decls.check(&Member {
        name: "刘芳".into(),
        gender: Gender::Female,
        birth_date: d(1990, 2, 3),
        id_number: "11010519491231002X".into(),
        phone: "13800138000".into(),
        ethnicity: "汉族".into(),
        education: "大专".into(),
        branch: "第一党小组".into(),
        category: MemberCategory::Migrant,
        stage: Stage::Full,
        applied_on: d(2020, 1, 1),
        activist_on: d(2020, 7, 1),
        target_on: d(2021, 7, 1),
        probationary_on: d(2022, 7, 1),
        full_on: d(2023, 7, 1),
        talked_on: d(2020, 1, 20),
        assessed_on: d(2021, 1, 1),
        introducers: vec!["m1".into(), "m2".into()],
        political_review_on: d(2022, 5, 1),
        training_days: 3,
        training_hours: 24,
        prereview_on: d(2022, 6, 1),
        notice_on: d(2022, 6, 10),
        votes_for: 20,
        voters: 25,
        approved_on: d(2022, 8, 1),
        full_approved_on: d(2023, 8, 1),
        priority_groups: vec![
            PriorityGroup::ReturningYouth,
            PriorityGroup::CollegeGraduate,
        ],
        recognitions: vec![Recognition {
            date: d(2024, 7, 1),
            title: "优秀共产党员".into(),
        }],
        notes: "备注".into(),
    });
    decls.check(&Activity {
        activity_kind: ActivityKind::Demonstration,
        date: d(2026, 5, 1),
        place: "村部".into(),
        topic: "亮身份".into(),
        attendees: vec!["m1".into(), "m2".into()],
        other_attendees: 3,
        host: "王书记".into(),
        lecturer: "李老师".into(),
        duration_minutes: 90,
        household: "张家".into(),
        demonstration: Some(DemonstrationType::ShowIdentity),
        summary: "摘要".into(),
        follow_ups: vec![FollowUp {
            text: "回访".into(),
            due: d(2026, 6, 1),
            done: true,
        }],
        attachments: vec![attachment()],
    });
    decls.check(&Project {
        project_kind: ProjectKind::CollectiveEconomy,
        name: "合作社".into(),
        status: ProjectStatus::Completed,
        funds_planned: Money(10_000_050),
        funds_allocated: Money(500_000),
        funds_raised: Money(1),
        funds_spent: Money(99),
        annual_income: Money(1_000_000),
        responsibility_letter_on: d(2026, 1, 5),
        start_on: d(2026, 2, 1),
        due_on: d(2026, 12, 31),
        progress: 100,
        milestones: vec![Milestone {
            title: "开工".into(),
            due: d(2026, 3, 1),
            done_on: d(2026, 3, 2),
        }],
        description: "说明".into(),
        attachments: vec![attachment()],
    });
    decls.check(&Task {
        title: "报送方案".into(),
        issuer: "town-1".into(),
        assigned_villages: vec!["v1".into(), "v2".into()],
        deadline: d(2026, 5, 20),
        status: TaskStatus::InProgress,
        notes: vec![ProgressNote {
            by: "p1".into(),
            village: "v1".into(),
            on: d(2026, 5, 10),
            text: "已起草".into(),
        }],
        description: "要求".into(),
        attachments: vec![attachment()],
    });
    decls.check(&MonthlyReport {
        month: "2026-05".into(),
        state: ReportState::Returned,
        figures: Some(filled_figures()),
        narrative: "总结".into(),
        review_comment: "请补充".into(),
        reviewed_by: "town-1".into(),
        addenda: vec![ReportNote {
            by: "li-ming".into(),
            on: d(2026, 6, 2),
            text: "补充：党课两次".into(),
        }],
    });
    decls.check(&Inspection {
        inspection_kind: InspectionKind::JointSupervision,
        period: "2026-Q2".into(),
        date: d(2026, 6, 30),
        inspector: "城关镇党委".into(),
        findings: vec![Finding {
            text: "台账不全".into(),
            severity: Severity::Major,
            rectified_on: d(2026, 7, 10),
        }],
        scores: vec![Score {
            item: "三会一课".into(),
            score: 18,
            max: 20,
        }],
        rating: Some(Rating::Good),
        summary: "意见".into(),
    });

    // The other exported types.
    decls.check(&filled_figures());
    decls.check(&MonthlyFigures::default());
    decls.check(&filled_project_facts());
    decls.check(&ProjectFacts {
        due_on: None,
        ..filled_project_facts()
    });
    decls.check(&ActivityFacts {
        activity_kind: ActivityKind::Other,
        date: None,
        attendees: 0,
        open_follow_ups: 0,
    });
    decls.check(&MemberFacts {
        gender: Gender::Unspecified,
        category: MemberCategory::Other,
        stage: Stage::Applicant,
        birth_date: None,
        probationary_on: None,
        full_on: d(2020, 1, 1),
        ..Default::default()
    });
    decls.check(&ThreeMeetingsOneLesson::default());
    for item in crate::calendar::party_life(d(2026, 5, 20).unwrap(), &[]) {
        decls.check(&item);
    }
    let today = d(2026, 12, 28).unwrap();
    let member = crate::reminders::MemberLine {
        id: "m1".into(),
        village: "v1".into(),
        name: "王芳".into(),
        stage: Stage::Probationary,
        probationary_on: d(2026, 1, 15),
        applied_on: None,
        talked_on: None,
        activist_on: None,
        assessed_on: None,
        approved_on: None,
    };
    for r in crate::reminders::reminders(today, &[], &[], &[member]) {
        decls.check(&r);
    }
    let applicant = Member {
        name: "张三".into(),
        stage: Stage::Applicant,
        applied_on: d(2026, 11, 1),
        ..Default::default()
    };
    decls.check(&crate::kinds::pipeline::next_step(&applicant).unwrap());
    decls.check(&Development::default());
    decls.check(&ProjectProgress::default());
    decls.check(&Header {
        kind: Kind::Activity,
        schema: 1,
        id: crate::new_id(),
        village: "v1".into(),
        created_by: "p1".into(),
    });
    for (person, device) in [
        (None, None),
        (Some("p1".to_string()), Some("d1".to_string())),
    ] {
        decls.check(&HistoryEntry {
            hash: "ab".repeat(32),
            actor: "cd".repeat(16),
            seq: 7,
            person,
            device,
            device_time: 1_780_000_000,
            fields: vec!["topic".into()],
        });
    }
}

#[test]
fn enums_serialise_as_their_typescript_union() {
    let decls = all_decls();
    decls.check_enum(&Kind::ALL);
    decls.check_enum(&ActivityKind::ALL);
    use crate::calendar::Cadence as Ca;
    decls.check_enum(&[Ca::Monthly, Ca::Quarterly, Ca::Yearly]);
    use crate::reminders::ReminderKind as Rk;
    decls.check_enum(&[
        Rk::TaskOverdue,
        Rk::TaskDue,
        Rk::MeetingDue,
        Rk::ProbationEnds,
        Rk::PoliticalBirthday,
        Rk::TalkDue,
        Rk::AssessmentDue,
        Rk::ApprovalDue,
    ]);
    decls.check_enum(&PipelineRule::ALL);
    decls.check_enum(&Stage::ALL);
    use DemonstrationType as D;
    decls.check_enum(&[D::Post, D::Household, D::Site, D::ShowIdentity]);
    decls.check_enum(&[Gender::Male, Gender::Female, Gender::Unspecified]);
    use MemberCategory as C;
    decls.check_enum(&[C::Resident, C::Migrant, C::ElderlyInfirm, C::Other]);
    use PriorityGroup as P;
    decls.check_enum(&[P::ReturningYouth, P::DemobilisedSoldier, P::CollegeGraduate]);
    use ProjectKind as PK;
    decls.check_enum(&[PK::ActivityVenue, PK::CollectiveEconomy]);
    use ProjectStatus as PS;
    decls.check_enum(&[PS::Planned, PS::InProgress, PS::Completed, PS::Suspended]);
    use TaskStatus as T;
    decls.check_enum(&[T::Open, T::InProgress, T::Done, T::Cancelled]);
    use ReportState as R;
    decls.check_enum(&[R::Draft, R::Submitted, R::Returned, R::Accepted]);
    decls.check_enum(&crate::rules::Role::ALL);
    decls.check_enum(&crate::rules::UnitKind::ALL);
    use crate::rules::Due as Du;
    decls.check_enum(&[Du::Closed, Du::Overdue, Du::Soon, Du::Later, Du::Undated]);
    decls.check(&crate::rules::rule_book());
    use InspectionKind as I;
    decls.check_enum(&[
        I::QuarterlyInspection,
        I::AnnualEvaluation,
        I::SpecialInspection,
        I::JointSupervision,
        I::Debriefing,
    ]);
    decls.check_enum(&[Severity::Minor, Severity::Major]);
    use Rating as Ra;
    decls.check_enum(&[Ra::Excellent, Ra::Good, Ra::Fair, Ra::Poor]);
    use UnitType as U;
    decls.check_enum(&[U::Village, U::Community, U::School]);
    use PartyOrgType as O;
    decls.check_enum(&[O::Committee, O::GeneralBranch, O::Branch, O::JointBranch]);
}

/// The checker itself catches a drift: a renamed key and a wrong value type.
#[test]
fn the_checker_notices_drift() {
    let decls = all_decls();
    let ok = serde_json::to_value(FollowUp::default()).unwrap();
    assert!(decls.conforms("FollowUp", &ok, "f").is_ok());
    let renamed = serde_json::json!({ "text": "", "due_on": null, "done": false });
    assert!(decls.conforms("FollowUp", &renamed, "f").is_err());
    let wrong = serde_json::json!({ "text": "", "due": 20260501, "done": false });
    assert!(decls.conforms("FollowUp", &wrong, "f").is_err());
    let missing = serde_json::json!({ "text": "", "done": false });
    assert!(decls.conforms("FollowUp", &missing, "f").is_err());
    let mut nested = serde_json::to_value(Activity::default()).unwrap();
    nested["follow_ups"] = serde_json::json!([renamed]);
    assert!(decls.conforms("Activity", &nested, "a").is_err());
    assert!(decls
        .conforms("Money", &serde_json::json!("12.5"), "m")
        .is_err());
    assert!(decls
        .conforms("Rating", &serde_json::json!("great"), "r")
        .is_err());
}
