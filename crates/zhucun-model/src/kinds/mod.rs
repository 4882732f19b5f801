//! The record kinds: what a village's work is made of, as typed records.
//!
//! Each kind is a plain serde struct (its JSON form is what the CLI reads and prints and what
//! [`crate::doc`] reconciles into the record's Automerge document), a `validate` that names the
//! failing field, and `facts` for the projection row the replica and the server keep.

mod activity;
mod inspection;
mod member;
pub mod pipeline;
mod project;
mod report;
mod task;
mod village;

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

pub use activity::{Activity, ActivityKind, DemonstrationType, FollowUp};
pub use inspection::{Finding, Inspection, InspectionKind, Rating, Score, Severity};
pub use member::{Gender, Member, MemberCategory, PriorityGroup, Recognition, Stage};
pub use pipeline::{NextStep, PipelineRule};
pub use project::{Milestone, Project, ProjectKind, ProjectStatus};
pub use report::{MonthlyReport, ReportNote, ReportState};
pub use task::{ProgressNote, Task, TaskStatus};
pub use village::{PartyOrgType, UnitType, VillageProfile};

use crate::error::{DocError, InvalidField, ModelError, Reason};
use crate::facts::Facts;
use crate::rules::{may_create, Forbidden, Refused, Role};

/// The kinds of record, as named on the command line and in documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Kind {
    Village,
    Member,
    Activity,
    Project,
    Task,
    Report,
    Inspection,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Village,
        Kind::Member,
        Kind::Activity,
        Kind::Project,
        Kind::Task,
        Kind::Report,
        Kind::Inspection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Village => "village",
            Kind::Member => "member",
            Kind::Activity => "activity",
            Kind::Project => "project",
            Kind::Task => "task",
            Kind::Report => "report",
            Kind::Inspection => "inspection",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Kind::Village => "村情概况",
            Kind::Member => "党员",
            Kind::Activity => "活动记录",
            Kind::Project => "项目",
            Kind::Task => "任务",
            Kind::Report => "月报",
            Kind::Inspection => "检查评议",
        }
    }

    /// The schema version this build writes for the kind.
    pub fn schema_version(self) -> u32 {
        1
    }

    /// The field holding the record's place in its workflow, and the rank by which concurrent
    /// moves of it merge (the highest wins; see `merge_rank` in [`crate::rules`]).
    pub fn move_field(self) -> Option<(&'static str, MergeRank)> {
        match self {
            Kind::Report => Some(("state", |s| {
                from_enum_name::<ReportState>(s).map(ReportState::merge_rank)
            })),
            Kind::Task => Some(("status", |s| {
                from_enum_name::<TaskStatus>(s).map(TaskStatus::merge_rank)
            })),
            Kind::Member => Some(("stage", |s| {
                from_enum_name::<Stage>(s).map(Stage::merge_rank)
            })),
            _ => None,
        }
    }

    /// Resolve in a record's document JSON what concurrent edits, each valid, can leave that
    /// no single edit could make: a set-like list holding one value twice (two offices add
    /// the same village to a task), a field kept for another kind than the one that won (one
    /// edit makes an activity a household visit, another a demonstration). Every read of a
    /// document goes through this, so every replica resolves a merge alike; a user's input
    /// is not settled but validated as typed.
    pub(crate) fn settle(self, m: &mut Map<String, Json>) {
        let dedupe = |m: &mut Map<String, Json>, field: &str| {
            if let Some(Json::Array(a)) = m.get_mut(field) {
                let mut seen = std::collections::HashSet::with_capacity(a.len());
                a.retain(|v| seen.insert(v.to_string()));
            }
        };
        match self {
            Kind::Task => dedupe(m, "assigned_villages"),
            // A project completed is wholly done, whatever progress a concurrent edit gave.
            Kind::Project
                if m.get("status").and_then(Json::as_str) == Some("completed")
                    && m.get("progress").and_then(Json::as_u64) != Some(100) =>
            {
                m.insert("progress".into(), Json::from(100));
            }
            // A date for a step the member has not reached (left by a move back, or by a
            // concurrent move forward that lost) is not the member's.
            Kind::Member => {
                dedupe(m, "introducers");
                let stage = m
                    .get("stage")
                    .and_then(Json::as_str)
                    .and_then(from_enum_name);
                if let Some(stage) = stage {
                    for s in Stage::ALL.into_iter().filter(|s| *s > stage) {
                        if m.get(s.date_field()).is_some_and(|d| !d.is_null()) {
                            m.insert(s.date_field().into(), Json::Null);
                        }
                    }
                }
            }
            Kind::Activity => {
                dedupe(m, "attendees");
                let kind = m
                    .get("activity_kind")
                    .and_then(Json::as_str)
                    .map(str::to_string);
                let own = |k: ActivityKind| kind.as_deref() == Some(enum_name(&k).as_str());
                if !own(ActivityKind::HouseholdVisit) && m.get("household").is_some_and(|h| h != "")
                {
                    m.insert("household".into(), Json::String(String::new()));
                }
                if !own(ActivityKind::Demonstration)
                    && m.get("demonstration").is_some_and(|d| !d.is_null())
                {
                    m.insert("demonstration".into(), Json::Null);
                }
            }
            _ => {}
        }
    }

    /// The field that dates the workflow state `state` (a member's stage its date): when
    /// concurrent edits left it empty beside a date another gave, the date is kept.
    pub fn state_date_field(self, state: &str) -> Option<&'static str> {
        match self {
            Kind::Member => from_enum_name::<Stage>(state).map(Stage::date_field),
            _ => None,
        }
    }

    /// Top-level string fields kept as Automerge Text (long texts people edit together).
    pub fn text_fields(self) -> &'static [&'static str] {
        match self {
            Kind::Village => &["notes"],
            Kind::Member => &["notes"],
            Kind::Activity => &["summary"],
            Kind::Project => &["description"],
            Kind::Task => &["description"],
            Kind::Report => &["narrative"],
            Kind::Inspection => &["summary"],
        }
    }

    /// The fields of the kind in declaration order (the record's JSON keys).
    pub fn fields(self) -> Vec<String> {
        AnyRecord::default_of(self).field_names()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Kind, ModelError> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.label_zh() == s)
            .ok_or_else(|| ModelError::UnknownKind(s.to_string()))
    }
}

/// The rank of a workflow state by name, for merging concurrent moves (`None`: unknown).
pub type MergeRank = fn(&str) -> Option<u8>;

/// What every kind provides.
pub trait RecordBody: Serialize + DeserializeOwned + Default + Clone + PartialEq {
    const KIND: Kind;
    /// Check the record; `previous` is the stored version when this is an edit.
    fn validate(&self, previous: Option<&Self>) -> Result<(), InvalidField>;
    /// The fields an edit may never change (part of `validate`, and checked on its own where
    /// concurrent edits merge: see [`crate::merge`]).
    fn unchanged(&self, _previous: &Self) -> Result<(), InvalidField> {
        Ok(())
    }
    /// Projection facts: title, date, status, search text and kind-specific figures.
    fn facts(&self) -> Facts;
    /// Member records this record refers to, with the field naming them.
    fn member_refs(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Attachment hashes this record refers to, with the field naming them.
    fn blob_refs(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Short-lived field labels in Chinese, for spreadsheet headers.
    fn label_zh(field: &str) -> Option<&'static str>;
    /// Whether a person of `role` may make this edit of `previous` (see [`crate::rules`]).
    /// Creating a record is checked by [`AnyRecord::permit`] before this is asked.
    fn permit_edit(&self, _previous: &Self, _role: Role) -> Result<(), Forbidden> {
        Ok(())
    }
}

/// A record of any kind.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyRecord {
    Village(VillageProfile),
    Member(Member),
    Activity(Activity),
    Project(Project),
    Task(Task),
    Report(MonthlyReport),
    Inspection(Inspection),
}

macro_rules! each {
    ($self:expr, $r:ident => $e:expr) => {
        match $self {
            AnyRecord::Village($r) => $e,
            AnyRecord::Member($r) => $e,
            AnyRecord::Activity($r) => $e,
            AnyRecord::Project($r) => $e,
            AnyRecord::Task($r) => $e,
            AnyRecord::Report($r) => $e,
            AnyRecord::Inspection($r) => $e,
        }
    };
}

fn from_json<T: RecordBody>(v: Json) -> Result<T, ModelError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde's message ends with " at line x column y" only for text input; values have none.
        ModelError::Invalid(InvalidField::new(
            if path == "." { "record".into() } else { path },
            Reason::Format(inner),
        ))
    })
}

impl AnyRecord {
    pub fn kind(&self) -> Kind {
        match self {
            AnyRecord::Village(_) => Kind::Village,
            AnyRecord::Member(_) => Kind::Member,
            AnyRecord::Activity(_) => Kind::Activity,
            AnyRecord::Project(_) => Kind::Project,
            AnyRecord::Task(_) => Kind::Task,
            AnyRecord::Report(_) => Kind::Report,
            AnyRecord::Inspection(_) => Kind::Inspection,
        }
    }

    pub fn default_of(kind: Kind) -> AnyRecord {
        match kind {
            Kind::Village => AnyRecord::Village(Default::default()),
            Kind::Member => AnyRecord::Member(Default::default()),
            Kind::Activity => AnyRecord::Activity(Default::default()),
            Kind::Project => AnyRecord::Project(Default::default()),
            Kind::Task => AnyRecord::Task(Default::default()),
            Kind::Report => AnyRecord::Report(Default::default()),
            Kind::Inspection => AnyRecord::Inspection(Default::default()),
        }
    }

    fn parse(kind: Kind, v: Json) -> Result<AnyRecord, ModelError> {
        Ok(match kind {
            Kind::Village => AnyRecord::Village(from_json(v)?),
            Kind::Member => AnyRecord::Member(from_json(v)?),
            Kind::Activity => AnyRecord::Activity(from_json(v)?),
            Kind::Project => AnyRecord::Project(from_json(v)?),
            Kind::Task => AnyRecord::Task(from_json(v)?),
            Kind::Report => AnyRecord::Report(from_json(v)?),
            Kind::Inspection => AnyRecord::Inspection(from_json(v)?),
        })
    }

    /// Read a record from its stored document JSON (envelope and unknown keys ignored).
    pub fn from_stored(kind: Kind, doc_json: Json) -> Result<AnyRecord, ModelError> {
        let mut m = match doc_json {
            Json::Object(m) => m,
            _ => return Err(DocError::Malformed("root is not a map".into()).into()),
        };
        let known = Self::default_of(kind).field_names();
        m.retain(|k, _| known.iter().any(|f| f == k));
        Self::parse(kind, Json::Object(m)).map_err(|e| DocError::Malformed(e.to_string()).into())
    }

    /// Apply user input (a JSON object of fields) on top of `base` (the stored record for an
    /// edit, `None` for a new one). Unknown fields and wrong types are errors naming the field.
    /// The result is not validated yet: see [`AnyRecord::validate`].
    pub fn apply_input(
        kind: Kind,
        base: Option<&AnyRecord>,
        input: &Map<String, Json>,
    ) -> Result<AnyRecord, ModelError> {
        let start = match base {
            Some(b) if b.kind() == kind => b.clone(),
            _ => Self::default_of(kind),
        };
        let mut m = start.to_json_map();
        for (k, v) in input {
            if !m.contains_key(k) {
                return Err(InvalidField::new(k.clone(), Reason::UnknownField).into());
            }
            m.insert(k.clone(), v.clone());
        }
        let parsed = Self::parse(kind, Json::Object(m))?;
        // Nested objects are read leniently (stored documents may carry newer fields), so
        // input is checked here: every key given must be one the record keeps.
        let kept = Json::Object(parsed.to_json_map());
        for (k, v) in input {
            if let Some(path) = unknown_key(v, &kept[k.as_str()], k) {
                return Err(InvalidField::new(path, Reason::UnknownField).into());
            }
        }
        Ok(parsed)
    }

    /// The record's fields as a JSON object (all fields, `null` for absent optional ones).
    pub fn to_json_map(&self) -> Map<String, Json> {
        let v = each!(self, r => serde_json::to_value(r));
        match v {
            Ok(Json::Object(m)) => m,
            _ => Map::new(),
        }
    }

    pub fn field_names(&self) -> Vec<String> {
        self.to_json_map().keys().cloned().collect()
    }

    pub fn validate(&self, previous: Option<&AnyRecord>) -> Result<(), InvalidField> {
        match (self, previous) {
            (AnyRecord::Village(r), Some(AnyRecord::Village(p))) => r.validate(Some(p)),
            (AnyRecord::Member(r), Some(AnyRecord::Member(p))) => r.validate(Some(p)),
            (AnyRecord::Activity(r), Some(AnyRecord::Activity(p))) => r.validate(Some(p)),
            (AnyRecord::Project(r), Some(AnyRecord::Project(p))) => r.validate(Some(p)),
            (AnyRecord::Task(r), Some(AnyRecord::Task(p))) => r.validate(Some(p)),
            (AnyRecord::Report(r), Some(AnyRecord::Report(p))) => r.validate(Some(p)),
            (AnyRecord::Inspection(r), Some(AnyRecord::Inspection(p))) => r.validate(Some(p)),
            (r, _) => each!(r, x => x.validate(None)),
        }
    }

    /// Whether this record keeps the fields of `previous` no edit may change.
    pub fn unchanged(&self, previous: &AnyRecord) -> Result<(), InvalidField> {
        match (self, previous) {
            (AnyRecord::Village(r), AnyRecord::Village(p)) => r.unchanged(p),
            (AnyRecord::Member(r), AnyRecord::Member(p)) => r.unchanged(p),
            (AnyRecord::Activity(r), AnyRecord::Activity(p)) => r.unchanged(p),
            (AnyRecord::Project(r), AnyRecord::Project(p)) => r.unchanged(p),
            (AnyRecord::Task(r), AnyRecord::Task(p)) => r.unchanged(p),
            (AnyRecord::Report(r), AnyRecord::Report(p)) => r.unchanged(p),
            (AnyRecord::Inspection(r), AnyRecord::Inspection(p)) => r.unchanged(p),
            _ => Err(InvalidField::new("kind", Reason::Immutable)),
        }
    }

    /// Whether a person of `role` may turn `previous` (`None`: nothing yet) into this record:
    /// who creates which kind, who makes which move of a report or a task. The replica asks
    /// before it saves; the server asks of every pushed change, for the person behind the
    /// device that pushed it.
    pub fn permit(&self, previous: Option<&AnyRecord>, role: Role) -> Result<(), Forbidden> {
        let kind = self.kind();
        match (self, previous) {
            (AnyRecord::Village(r), Some(AnyRecord::Village(p))) => r.permit_edit(p, role),
            (AnyRecord::Member(r), Some(AnyRecord::Member(p))) => r.permit_edit(p, role),
            (AnyRecord::Activity(r), Some(AnyRecord::Activity(p))) => r.permit_edit(p, role),
            (AnyRecord::Project(r), Some(AnyRecord::Project(p))) => r.permit_edit(p, role),
            (AnyRecord::Task(r), Some(AnyRecord::Task(p))) => r.permit_edit(p, role),
            (AnyRecord::Report(r), Some(AnyRecord::Report(p))) => r.permit_edit(p, role),
            (AnyRecord::Inspection(r), Some(AnyRecord::Inspection(p))) => r.permit_edit(p, role),
            _ if !may_create(kind, role) => Err(Forbidden {
                role,
                kind,
                field: "record".into(),
                rule: Refused::Create,
            }),
            // A new record is an edit of the kind's empty record.
            (r, _) => r.permit(Some(&AnyRecord::default_of(kind)), role),
        }
    }

    /// An edit the server refused (`mine`, as the device holds it) rebuilt on the record as the
    /// server holds it (`self`), keeping the user's words in a form the rules let them add:
    /// a report's changed narrative and new notes become notes attached to the report
    /// (补充说明), a task's new progress notes and changed description become progress notes.
    /// `None` when the refused edit holds no words the server's record lacks.
    pub fn keep_words(
        &self,
        mine: &AnyRecord,
        by: &str,
        on: chrono::NaiveDate,
    ) -> Option<AnyRecord> {
        match (self, mine) {
            (AnyRecord::Report(server), AnyRecord::Report(mine)) => {
                let mut kept = server.clone();
                let mut added = false;
                for n in &mine.addenda {
                    if !kept.addenda.contains(n) {
                        kept.addenda.push(n.clone());
                        added = true;
                    }
                }
                if mine.narrative.trim() != server.narrative.trim()
                    && !mine.narrative.trim().is_empty()
                {
                    kept.addenda.push(ReportNote {
                        by: by.into(),
                        on: Some(on),
                        text: mine.narrative.clone(),
                    });
                    added = true;
                }
                added.then_some(AnyRecord::Report(kept))
            }
            (AnyRecord::Task(server), AnyRecord::Task(mine)) => {
                let mut kept = server.clone();
                let mut added = false;
                for n in &mine.notes {
                    if !kept.notes.contains(n) {
                        kept.notes.push(n.clone());
                        added = true;
                    }
                }
                if mine.description.trim() != server.description.trim()
                    && !mine.description.trim().is_empty()
                {
                    kept.notes.push(ProgressNote {
                        by: by.into(),
                        village: String::new(),
                        on: Some(on),
                        text: mine.description.clone(),
                    });
                    added = true;
                }
                added.then_some(AnyRecord::Task(kept))
            }
            _ => None,
        }
    }

    pub fn facts(&self) -> Facts {
        each!(self, r => r.facts())
    }

    /// The record's place in its workflow (a report's state, a task's status), by name.
    pub fn workflow_state(&self) -> Option<String> {
        match self {
            AnyRecord::Report(r) => Some(enum_name(&r.state)),
            AnyRecord::Task(t) => Some(enum_name(&t.status)),
            _ => None,
        }
    }

    pub fn member_refs(&self) -> Vec<(String, String)> {
        each!(self, r => r.member_refs())
    }

    pub fn blob_refs(&self) -> Vec<(String, String)> {
        each!(self, r => r.blob_refs())
    }

    /// The Chinese label of a field of `kind`, for spreadsheet headers.
    pub fn label_zh(kind: Kind, field: &str) -> Option<&'static str> {
        match kind {
            Kind::Village => VillageProfile::label_zh(field),
            Kind::Member => Member::label_zh(field),
            Kind::Activity => Activity::label_zh(field),
            Kind::Project => Project::label_zh(field),
            Kind::Task => Task::label_zh(field),
            Kind::Report => MonthlyReport::label_zh(field),
            Kind::Inspection => Inspection::label_zh(field),
        }
    }
}

/// The path of the first key in `given` that `kept` does not have.
fn unknown_key(given: &Json, kept: &Json, path: &str) -> Option<String> {
    match (given, kept) {
        (Json::Object(g), Json::Object(k)) => g.iter().find_map(|(key, v)| match k.get(key) {
            None => Some(format!("{path}.{key}")),
            Some(kv) => unknown_key(v, kv, &format!("{path}.{key}")),
        }),
        (Json::Array(g), Json::Array(k)) => g
            .iter()
            .zip(k)
            .enumerate()
            .find_map(|(i, (gv, kv))| unknown_key(gv, kv, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// Check that `later` is not before `earlier` when both are set.
pub(crate) fn in_order(
    earlier_field: &str,
    earlier: Option<chrono::NaiveDate>,
    later_field: &str,
    later: Option<chrono::NaiveDate>,
) -> Result<(), InvalidField> {
    if let (Some(e), Some(l)) = (earlier, later) {
        if l < e {
            return Err(InvalidField::new(
                later_field,
                Reason::DatesOutOfOrder {
                    earlier_field: earlier_field.into(),
                    earlier: e.format("%Y-%m-%d").to_string(),
                },
            ));
        }
    }
    Ok(())
}

pub(crate) fn date_str(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The snake_case name of a unit enum value.
/// The wire name of an enum value (`party_lecture`), as projections and catalogs use it.
pub fn enum_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Json::String(s)) => s,
        _ => String::new(),
    }
}

/// The enum value a wire name ([`enum_name`]) names, as projections store it.
pub fn from_enum_name<T: DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(Json::String(name.to_string())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_json() {
        for k in Kind::ALL {
            let d = AnyRecord::default_of(k);
            let back = AnyRecord::apply_input(k, None, &d.to_json_map()).unwrap();
            assert_eq!(back, d, "{k}");
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), k);
            for t in k.text_fields() {
                assert!(k.fields().iter().any(|f| f == t), "{k}.{t}");
            }
            for f in k.fields() {
                assert!(AnyRecord::label_zh(k, &f).is_some(), "label for {k}.{f}");
            }
        }
    }

    #[test]
    fn unknown_input_field_is_named() {
        let mut m = Map::new();
        m.insert("colour".into(), Json::from("red"));
        let e = AnyRecord::apply_input(Kind::Activity, None, &m).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid field: colour is not a field of this kind of record"
        );
    }

    #[test]
    fn unknown_nested_input_field_is_named() {
        let input: Map<String, Json> =
            serde_json::from_str(r#"{"follow_ups":[{"text":"a"},{"text":"b","colour":1}]}"#)
                .unwrap();
        let e = AnyRecord::apply_input(Kind::Activity, None, &input).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid field: follow_ups[1].colour is not a field of this kind of record"
        );
    }

    #[test]
    fn unknown_activity_kind_is_named() {
        let mut m = Map::new();
        m.insert("activity_kind".into(), Json::from("picnic"));
        let e = AnyRecord::apply_input(Kind::Activity, None, &m).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("activity_kind") && s.contains("picnic"), "{s}");
    }
}
