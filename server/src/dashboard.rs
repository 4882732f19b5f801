//! The office dashboard's answers: the overview (one row per village), a village's page, the
//! chart series and the supervision matrix, computed from the projection tables and the admin
//! tables through the store. No document is ever loaded here, and nothing outside the asker's
//! scope is ever read into an answer. No HTTP in this module (`http/office.rs` serves it).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use zhucun_model::figures::{
    development, ActivityFacts, Development, InspectionFacts, MemberFacts, ProjectFacts,
    ThreeMeetingsOneLesson, VillageFacts,
};
use zhucun_model::kinds::{
    enum_name, from_enum_name, ActivityKind, ProjectKind, ReportState, Stage, TaskStatus,
};

use crate::store::{in_scope, OrgUnit, ProjQuery, Store, StoreError};

/// Days without a sync after which a village is highlighted.
pub const STALE_DAYS: i64 = 7;
/// The development target when a village's profile sets none.
pub const DEFAULT_TARGET: u32 = 3;
/// Activities on a village page's timeline.
pub const TIMELINE_LEN: u32 = 200;

#[derive(Debug, thiserror::Error)]
pub enum DashError {
    #[error("month `{0}` is not a month from 1900-01 to 2200-12 written YYYY-MM")]
    BadMonth(String),
    #[error("no unit `{0}`")]
    NoUnit(String),
    #[error("unit `{0}` is outside your scope")]
    OutOfScope(String),
    #[error("unit `{0}` is not a township or street")]
    NotTownship(String),
    #[error("no record `{0}` in your view")]
    NoRecord(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub use zhucun_model::Month;

/// A month the dashboard is asked about, `YYYY-MM` ([`Month::PATTERN`]: nothing around it).
pub fn parse_month(s: &str) -> Result<Month, DashError> {
    Month::parse(s)
        .filter(|_| s.trim() == s)
        .ok_or_else(|| DashError::BadMonth(s.chars().take(20).collect()))
}

/// The `n` months ending with `last`, oldest first.
pub fn last_n(last: Month, n: usize) -> Vec<Month> {
    let mut v = vec![last];
    while v.len() < n {
        let p = v[v.len() - 1].prev();
        v.push(p);
    }
    v.reverse();
    v
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// What the asker may see: the org tree and their scope paths.
pub struct View {
    pub units: Vec<OrgUnit>,
    pub scope: Vec<String>,
    by_id: HashMap<String, usize>,
}

/// The kinds of unit that get a row of their own.
const VILLAGE_KINDS: [&str; 2] = ["village", "community"];

/// What a person with these scope paths sees of the organisation.
pub async fn view_for(store: &dyn Store, scope: &[String]) -> Result<View, DashError> {
    Ok(View::new(store.units().await?, scope.to_vec()))
}

impl View {
    /// The ids of the villages in scope: what the store's queries are limited to.
    pub fn village_ids(&self) -> Vec<String> {
        self.villages().into_iter().map(|v| v.id.clone()).collect()
    }

    /// The units in scope, in the tree's order.
    pub fn visible_units(&self) -> Vec<OrgUnit> {
        self.units
            .iter()
            .filter(|u| self.sees(u))
            .cloned()
            .collect()
    }

    pub fn new(units: Vec<OrgUnit>, scope: Vec<String>) -> View {
        let by_id = units
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.clone(), i))
            .collect();
        View {
            units,
            scope,
            by_id,
        }
    }

    pub fn unit(&self, id: &str) -> Option<&OrgUnit> {
        self.by_id.get(id).map(|&i| &self.units[i])
    }

    pub fn sees(&self, u: &OrgUnit) -> bool {
        in_scope(&u.path, &self.scope)
    }

    /// Whether a record of unit `id` is in scope (unknown units are not).
    pub fn sees_id(&self, id: &str) -> bool {
        self.unit(id).is_some_and(|u| self.sees(u))
    }

    /// The villages (and communities) in scope, by township then name.
    pub fn villages(&self) -> Vec<&OrgUnit> {
        let mut v: Vec<&OrgUnit> = self
            .units
            .iter()
            .filter(|u| VILLAGE_KINDS.contains(&u.kind.as_str()) && self.sees(u))
            .collect();
        v.sort_by(|a, b| (&a.path, &a.name).cmp(&(&b.path, &b.name)));
        v
    }

    /// The township (or street) a unit lies under.
    pub fn township_of(&self, u: &OrgUnit) -> Option<&OrgUnit> {
        let mut cur = u.parent.as_deref().and_then(|p| self.unit(p));
        while let Some(c) = cur {
            if c.kind == "township" || c.kind == "street" {
                return Some(c);
            }
            cur = c.parent.as_deref().and_then(|p| self.unit(p));
        }
        None
    }

    /// A village the asker may see, or the reason not.
    pub fn village(&self, id: &str) -> Result<&OrgUnit, DashError> {
        let u = self
            .unit(id)
            .ok_or_else(|| DashError::NoUnit(id.chars().take(64).collect()))?;
        if !self.sees(u) {
            return Err(DashError::OutOfScope(id.to_string()));
        }
        Ok(u)
    }

    /// The same view narrowed to one township (or street), as the overview's township filter
    /// narrows it: the asker's scope intersected with the township's subtree. A filter can only
    /// narrow what the asker sees, never widen it: a township with nothing of the asker's scope
    /// under it is out of scope.
    pub fn within_township(&self, id: &str) -> Result<View, DashError> {
        let t = self
            .unit(id)
            .ok_or_else(|| DashError::NoUnit(id.chars().take(64).collect()))?;
        if t.kind != "township" && t.kind != "street" {
            return Err(DashError::NotTownship(id.chars().take(64).collect()));
        }
        let mut scope: Vec<String> = Vec::new();
        for s in &self.scope {
            let narrower = if t.path.starts_with(s.as_str()) {
                &t.path
            } else if s.starts_with(t.path.as_str()) {
                s
            } else {
                continue;
            };
            if !scope.contains(narrower) {
                scope.push(narrower.clone());
            }
        }
        if scope.is_empty() {
            return Err(DashError::OutOfScope(id.to_string()));
        }
        Ok(View::new(self.units.clone(), scope))
    }

    fn village_by_path(&self) -> HashMap<&str, &str> {
        self.units
            .iter()
            .map(|u| (u.path.as_str(), u.id.as_str()))
            .collect()
    }
}

/// A village's monthly report as the dashboard shows it: the model's state, or missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[derive(utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub enum ReportStatus {
    Missing,
    Draft,
    Submitted,
    Returned,
    Accepted,
}

impl ReportStatus {
    /// The status of a report row (its projection's state; none is a draft).
    pub fn of(state: Option<&str>) -> ReportStatus {
        match state.and_then(from_enum_name::<ReportState>) {
            None | Some(ReportState::Draft) => ReportStatus::Draft,
            Some(ReportState::Submitted) => ReportStatus::Submitted,
            Some(ReportState::Returned) => ReportStatus::Returned,
            Some(ReportState::Accepted) => ReportStatus::Accepted,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Missing => "missing",
            ReportStatus::Draft => "draft",
            ReportStatus::Submitted => "submitted",
            ReportStatus::Returned => "returned",
            ReportStatus::Accepted => "accepted",
        }
    }
}

/// One village's row in the overview.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct OverviewRow {
    pub id: String,
    pub name: String,
    pub township: Option<String>,
    pub township_name: Option<String>,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub last_sync: Option<i64>,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub last_sync_days: Option<i64>,
    pub stale: bool,
    pub activities: BTreeMap<String, u32>,
    pub activities_total: u32,
    pub tmol: ThreeMeetingsOneLesson,
    pub report: ReportStatus,
    pub developed: u32,
    pub women: u32,
    pub women_percent: u32,
    pub target: u32,
    /// The share of women the township set as a target (0: none).
    pub women_target_percent: u32,
    pub met_minimum: bool,
    pub met_target: bool,
    pub in_pipeline: u32,
    pub venue_progress: Option<u32>,
    pub overdue_tasks: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct Overview {
    pub month: String,
    pub year: i32,
    pub today: String,
    /// The months its figures are compared with: the one before, the same a year before.
    pub previous_month: String,
    pub same_month_last_year: String,
    pub villages: Vec<OverviewRow>,
}

fn parse<T: serde::de::DeserializeOwned>(detail: &str) -> Option<T> {
    serde_json::from_str(detail).ok()
}

fn empty_kinds() -> BTreeMap<String, u32> {
    ActivityKind::ALL
        .iter()
        .map(|k| (enum_name(k), 0))
        .collect()
}

/// Members' facts of these villages.
async fn member_facts(
    store: &dyn Store,
    villages: Vec<String>,
) -> Result<Vec<(crate::store::ProjRow, MemberFacts)>, DashError> {
    let rows = store
        .projections(&ProjQuery {
            kind: "member".into(),
            villages: Some(villages),
            ..Default::default()
        })
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| parse::<MemberFacts>(&r.detail).map(|f| (r, f)))
        .collect())
}

/// Each village's targets (from its profile record: members to develop, the share of women),
/// for the villages in view.
async fn targets(store: &dyn Store, view: &View) -> Result<HashMap<String, (u32, u32)>, DashError> {
    let rows = store
        .projections(&ProjQuery {
            kind: "village".into(),
            villages: Some(view.village_ids()),
            ..Default::default()
        })
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let f = parse::<VillageFacts>(&r.detail)?;
            (f.development_target > 0)
                .then_some((r.village, (f.development_target, f.women_target_percent)))
        })
        .collect())
}

/// Tasks past their deadline and not done, counted per village they reach.
async fn overdue_tasks(
    store: &dyn Store,
    view: &View,
    today: NaiveDate,
) -> Result<(HashMap<String, u32>, HashSet<String>), DashError> {
    let today = day(today);
    let overdue: HashSet<String> = store
        .projections(&ProjQuery {
            kind: "task".into(),
            to: Some(today),
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(|r| {
            let status = r.status.as_deref().and_then(from_enum_name::<TaskStatus>);
            status.unwrap_or_default().is_open()
        })
        .map(|r| r.id)
        .collect();
    let mut per: HashMap<String, u32> = HashMap::new();
    if overdue.is_empty() {
        return Ok((per, overdue));
    }
    let by_path = view.village_by_path();
    for (id, path) in store.record_reach("task", &view.scope).await? {
        if overdue.contains(&id) {
            if let Some(v) = by_path.get(path.as_str()) {
                *per.entry(v.to_string()).or_default() += 1;
            }
        }
    }
    Ok((per, overdue))
}

/// The latest sync of any device of a person attached to each unit.
async fn last_sync(store: &dyn Store) -> Result<HashMap<String, i64>, DashError> {
    let people = store.people().await?;
    let units_of: HashMap<&str, &Vec<String>> =
        people.iter().map(|p| (p.id.as_str(), &p.units)).collect();
    let mut last: HashMap<String, i64> = HashMap::new();
    for d in store.devices().await? {
        let (Some(seen), Some(units)) = (d.last_seen, units_of.get(d.person_id.as_str())) else {
            continue;
        };
        for u in units.iter() {
            let e = last.entry(u.clone()).or_insert(seen);
            *e = (*e).max(seen);
        }
    }
    Ok(last)
}

/// The overview: one row per village in scope for `month`, as of `today` and `now`.
pub async fn overview(
    store: &dyn Store,
    view: &View,
    month: Month,
    today: NaiveDate,
    now: i64,
) -> Result<Overview, DashError> {
    let villages = view.villages();
    let q0 = month.quarter_start();
    let counts = store
        .activity_counts(
            &view.village_ids(),
            &day(q0),
            &day(month.next_first()),
            true,
        )
        .await?;
    let key = month.to_string();
    // village -> (kinds this month, quarter counts of member meetings and lectures)
    let mut acts: HashMap<String, (BTreeMap<String, u32>, u32, u32)> = HashMap::new();
    let member_meeting = enum_name(&ActivityKind::BranchMemberMeeting);
    let lecture = enum_name(&ActivityKind::PartyLecture);
    for c in counts {
        let kind = c.sub_kind.unwrap_or_default();
        let e = acts
            .entry(c.village)
            .or_insert_with(|| (empty_kinds(), 0, 0));
        let n = c.n.min(u32::MAX as u64) as u32;
        if c.month == key {
            *e.0.entry(kind.clone()).or_default() += n;
        }
        if kind == member_meeting {
            e.1 += n;
        } else if kind == lecture {
            e.2 += n;
        }
    }
    let reports: HashMap<String, ReportStatus> = store
        .projections(&ProjQuery {
            kind: "report".into(),
            villages: Some(view.village_ids()),
            from: Some(day(month.first())),
            to: Some(day(month.next_first())),
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(|r| r.sub_kind.as_deref() == Some(key.as_str()))
        .map(|r| (r.village, ReportStatus::of(r.status.as_deref())))
        .collect();
    let mut members: HashMap<String, Vec<MemberFacts>> = HashMap::new();
    for (r, f) in member_facts(store, view.village_ids()).await? {
        members.entry(r.village).or_default().push(f);
    }
    let targets = targets(store, view).await?;
    let mut venues: HashMap<String, (u32, u32)> = HashMap::new();
    for r in store
        .projections(&ProjQuery {
            kind: "project".into(),
            villages: Some(view.village_ids()),
            ..Default::default()
        })
        .await?
    {
        if let Some(p) = parse::<ProjectFacts>(&r.detail) {
            if p.project_kind == ProjectKind::ActivityVenue {
                let e = venues.entry(r.village).or_default();
                e.0 += p.progress.min(100);
                e.1 += 1;
            }
        }
    }
    let (overdue, _) = overdue_tasks(store, view, today).await?;
    let last = last_sync(store).await?;

    let rows = villages
        .into_iter()
        .map(|v| {
            let (kinds, member_q, lecture_q) =
                acts.remove(&v.id).unwrap_or_else(|| (empty_kinds(), 0, 0));
            let get = |k: ActivityKind| kinds.get(&enum_name(&k)).copied().unwrap_or(0);
            let tmol = ThreeMeetingsOneLesson::from_counts(
                month.month(),
                get(ActivityKind::BranchCommitteeMeeting),
                get(ActivityKind::PartyGroupMeeting),
                member_q,
                lecture_q,
            );
            let (target, women_target_percent) =
                targets.get(&v.id).copied().unwrap_or((DEFAULT_TARGET, 0));
            let dev: Development = development(
                month.year(),
                members.get(&v.id).map(Vec::as_slice).unwrap_or(&[]),
                target,
            );
            let town = view.township_of(v);
            let last_sync = last.get(&v.id).copied();
            let last_sync_days = last_sync.map(|t| (now - t).max(0) / 86_400);
            OverviewRow {
                id: v.id.clone(),
                name: v.name.clone(),
                township: town.map(|t| t.id.clone()),
                township_name: town.map(|t| t.name.clone()),
                last_sync,
                last_sync_days,
                stale: last_sync_days.is_none_or(|d| d >= STALE_DAYS),
                activities_total: kinds.values().sum(),
                activities: kinds,
                tmol,
                report: reports.get(&v.id).copied().unwrap_or(ReportStatus::Missing),
                developed: dev.developed,
                women: dev.women,
                women_percent: dev.women_percent,
                target,
                women_target_percent,
                met_minimum: dev.met_minimum,
                met_target: dev.met_target,
                in_pipeline: dev.in_pipeline,
                venue_progress: venues.get(&v.id).map(|&(sum, n)| (sum + n / 2) / n.max(1)),
                overdue_tasks: overdue.get(&v.id).copied().unwrap_or(0),
            }
        })
        .collect();
    Ok(Overview {
        month: key,
        year: month.year(),
        today: day(today),
        previous_month: month.prev().to_string(),
        same_month_last_year: month.a_year_before().to_string(),
        villages: rows,
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct UnitRef {
    pub id: String,
    pub name: String,
    pub township: Option<String>,
    pub township_name: Option<String>,
    pub path: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct TimelineItem {
    pub id: String,
    pub date: Option<String>,
    pub kind: Option<String>,
    pub title: String,
    pub attendees: u32,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct Roster {
    /// Party members (probationary and full).
    pub total: u32,
    pub by_category: BTreeMap<String, u32>,
    pub by_gender: BTreeMap<String, u32>,
    pub by_age_band: BTreeMap<String, u32>,
    /// Everyone on the roster by stage, applicants included.
    pub by_stage: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct PipelineItem {
    pub id: String,
    pub name: String,
    pub stage: String,
    pub date: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct ProjectItem {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub progress: u32,
    /// Yuan.
    #[schema(value_type = f64)]
    pub funds_planned: zhucun_model::Money,
    /// Yuan.
    #[schema(value_type = f64)]
    pub funds_spent: zhucun_model::Money,
    pub due_on: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct TaskItem {
    pub id: String,
    pub title: String,
    pub deadline: Option<String>,
    pub status: String,
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct ReportItem {
    pub month: String,
    pub status: ReportStatus,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct InspectionItem {
    pub id: String,
    pub village: String,
    pub village_name: String,
    pub township: Option<String>,
    pub township_name: Option<String>,
    pub kind: String,
    pub period: String,
    pub date: Option<String>,
    pub rating: Option<String>,
    pub score: f64,
    pub max: f64,
    pub open_findings: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct VillagePage {
    pub village: UnitRef,
    pub month: String,
    pub timeline: Vec<TimelineItem>,
    pub roster: Roster,
    pub pipeline: Vec<PipelineItem>,
    pub development: Option<OverviewRow>,
    pub projects: Vec<ProjectItem>,
    pub tasks: Vec<TaskItem>,
    pub reports: Vec<ReportItem>,
    pub inspections: Vec<InspectionItem>,
    /// The party-life calendar on the month's last day (today, in the current month): the
    /// same rule the village's devices show on their home screen.
    #[schema(value_type = Vec<Object>)]
    pub party_life: Vec<zhucun_model::calendar::PartyLifeItem>,
}

fn unit_ref(view: &View, u: &OrgUnit) -> UnitRef {
    let t = view.township_of(u);
    UnitRef {
        id: u.id.clone(),
        name: u.name.clone(),
        township: t.map(|t| t.id.clone()),
        township_name: t.map(|t| t.name.clone()),
        path: u.path.clone(),
    }
}

/// The age band of someone born on `birth` on `on`.
pub fn age_band(birth: Option<NaiveDate>, on: NaiveDate) -> &'static str {
    let Some(b) = birth else { return "unknown" };
    let Some(age) = on.years_since(b) else {
        return "unknown";
    };
    match age {
        0..=34 => "under_35",
        35..=45 => "35_45",
        46..=60 => "46_60",
        _ => "over_60",
    }
}

/// Roster figures and the development pipeline from members' facts.
pub fn roster(
    members: &[(crate::store::ProjRow, MemberFacts)],
    on: NaiveDate,
) -> (Roster, Vec<PipelineItem>) {
    let mut r = Roster::default();
    for s in Stage::ALL {
        r.by_stage.insert(enum_name(&s), 0);
    }
    let mut pipeline = Vec::new();
    for (row, f) in members {
        *r.by_stage.entry(enum_name(&f.stage)).or_default() += 1;
        if f.stage >= Stage::Probationary {
            r.total += 1;
            *r.by_category.entry(enum_name(&f.category)).or_default() += 1;
            *r.by_gender.entry(enum_name(&f.gender)).or_default() += 1;
            *r.by_age_band
                .entry(age_band(f.birth_date, on).to_string())
                .or_default() += 1;
        }
        if f.stage <= Stage::Probationary {
            pipeline.push(PipelineItem {
                id: row.id.clone(),
                name: row.title.clone(),
                stage: enum_name(&f.stage),
                date: row.date.clone(),
            });
        }
    }
    pipeline.sort_by(|a, b| (&a.stage, &a.date, &a.name).cmp(&(&b.stage, &b.date, &b.name)));
    (r, pipeline)
}

fn inspection_item(view: &View, r: crate::store::ProjRow) -> InspectionItem {
    let d: InspectionFacts = parse(&r.detail).unwrap_or_default();
    let u = view.unit(&r.village);
    InspectionItem {
        village_name: u.map(|u| u.name.clone()).unwrap_or_default(),
        township: u.and_then(|u| view.township_of(u)).map(|t| t.id.clone()),
        township_name: u.and_then(|u| view.township_of(u)).map(|t| t.name.clone()),
        village: r.village,
        id: r.id,
        kind: r.sub_kind.unwrap_or_default(),
        period: d.period,
        date: r.date,
        rating: r.status,
        score: f64::from(d.score),
        max: f64::from(d.max),
        open_findings: d.open_findings,
    }
}

/// A village's page.
pub async fn village_page(
    store: &dyn Store,
    view: &View,
    id: &str,
    month: Month,
    today: NaiveDate,
    now: i64,
) -> Result<VillagePage, DashError> {
    let v = view.village(id)?;
    let q = |kind: &str| ProjQuery {
        kind: kind.into(),
        village: Some(v.id.clone()),
        ..Default::default()
    };
    let timeline = store
        .projections(&ProjQuery {
            limit: Some(TIMELINE_LEN),
            ..q("activity")
        })
        .await?
        .into_iter()
        .map(|r| TimelineItem {
            attendees: parse::<ActivityFacts>(&r.detail).map_or(0, |d| d.attendees),
            id: r.id,
            date: r.date,
            kind: r.sub_kind,
            title: r.title,
        })
        .collect();
    let members = member_facts(store, vec![v.id.clone()]).await?;
    let on = month.next_first().pred_opt().unwrap_or(month.first());
    let (roster, pipeline) = roster(&members, on);
    let projects = store
        .projections(&q("project"))
        .await?
        .into_iter()
        .filter_map(|r| {
            let p: ProjectFacts = parse(&r.detail)?;
            Some(ProjectItem {
                id: r.id,
                name: p.name,
                kind: enum_name(&p.project_kind),
                status: enum_name(&p.status),
                progress: p.progress.min(100),
                funds_planned: p.funds_planned,
                funds_spent: p.funds_spent,
                due_on: p.due_on.map(day),
            })
        })
        .collect();
    let (_, overdue) = overdue_tasks(store, view, today).await?;
    let task_ids: HashSet<String> = store
        .record_reach("task", std::slice::from_ref(&v.path))
        .await?
        .into_iter()
        .filter(|(_, p)| p == &v.path)
        .map(|(id, _)| id)
        .collect();
    let mut tasks: Vec<TaskItem> = store
        .projections(&ProjQuery {
            kind: "task".into(),
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(|r| task_ids.contains(&r.id))
        .map(|r| TaskItem {
            overdue: overdue.contains(&r.id),
            id: r.id,
            title: r.title,
            deadline: r.date,
            status: r.status.unwrap_or_default(),
        })
        .collect();
    tasks.sort_by(|a, b| (&a.deadline, &a.title).cmp(&(&b.deadline, &b.title)));
    let months = last_n(month, 12);
    let states: HashMap<String, ReportStatus> = store
        .projections(&ProjQuery {
            from: Some(day(months[0].first())),
            to: Some(day(month.next_first())),
            ..q("report")
        })
        .await?
        .into_iter()
        .filter_map(|r| Some((r.sub_kind?, ReportStatus::of(r.status.as_deref()))))
        .collect();
    let reports = months
        .iter()
        .rev()
        .map(|m| ReportItem {
            month: m.to_string(),
            status: states
                .get(&m.to_string())
                .copied()
                .unwrap_or(ReportStatus::Missing),
        })
        .collect();
    let mut inspections: Vec<InspectionItem> = store
        .projections(&q("inspection"))
        .await?
        .into_iter()
        .map(|r| inspection_item(view, r))
        .collect();
    inspections.sort_by(|a, b| b.date.cmp(&a.date));
    let only = View::new(view.units.clone(), vec![v.path.clone()]);
    let development = overview(store, &only, month, today, now)
        .await?
        .villages
        .into_iter()
        .next();
    let on = today.min(month.next_first().pred_opt().unwrap_or(month.first()));
    let year_activities: Vec<ActivityFacts> = store
        .projections(&ProjQuery {
            from: Some(format!("{:04}-01-01", on.year())),
            to: Some(day(on.succ_opt().unwrap_or(on))),
            ..q("activity")
        })
        .await?
        .iter()
        .filter_map(|r| parse(&r.detail))
        .collect();
    let party_life = zhucun_model::calendar::party_life(on, &year_activities);
    Ok(VillagePage {
        party_life,
        village: unit_ref(view, v),
        month: month.to_string(),
        timeline,
        roster,
        pipeline,
        development,
        projects,
        tasks,
        reports,
        inspections,
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct TownshipSeries {
    pub id: String,
    pub name: String,
    #[cfg_attr(test, ts(type = "Array<number>"))]
    pub activities: Vec<u64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct DevelopmentPoint {
    pub id: String,
    pub name: String,
    pub developed: u32,
    pub target: u32,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct ReportTally {
    pub month: String,
    pub missing: u32,
    pub draft: u32,
    pub submitted: u32,
    pub returned: u32,
    pub accepted: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct Charts {
    pub months: Vec<String>,
    pub townships: Vec<TownshipSeries>,
    pub development: Vec<DevelopmentPoint>,
    pub reports: Vec<ReportTally>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct MatrixRow {
    pub id: String,
    pub name: String,
    pub township: Option<String>,
    pub township_name: Option<String>,
    pub states: Vec<ReportStatus>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct Supervision {
    pub months: Vec<String>,
    pub villages: Vec<MatrixRow>,
    pub inspections: Vec<InspectionItem>,
}

/// Report states of every village in scope over the 12 months up to `month`.
pub async fn report_matrix(
    store: &dyn Store,
    view: &View,
    month: Month,
) -> Result<(Vec<String>, Vec<MatrixRow>), DashError> {
    let months: Vec<String> = last_n(month, 12).iter().map(Month::to_string).collect();
    let from = parse_month(&months[0])?.first();
    let mut states: HashMap<(String, String), ReportStatus> = HashMap::new();
    for r in store
        .projections(&ProjQuery {
            kind: "report".into(),
            villages: Some(view.village_ids()),
            from: Some(day(from)),
            to: Some(day(month.next_first())),
            ..Default::default()
        })
        .await?
    {
        if let Some(m) = r.sub_kind {
            states.insert((r.village, m), ReportStatus::of(r.status.as_deref()));
        }
    }
    let rows = view
        .villages()
        .into_iter()
        .map(|v| MatrixRow {
            id: v.id.clone(),
            name: v.name.clone(),
            township: view.township_of(v).map(|t| t.id.clone()),
            township_name: view.township_of(v).map(|t| t.name.clone()),
            states: months
                .iter()
                .map(|m| {
                    states
                        .get(&(v.id.clone(), m.clone()))
                        .copied()
                        .unwrap_or(ReportStatus::Missing)
                })
                .collect(),
        })
        .collect();
    Ok((months, rows))
}

/// Every inspection and evaluation record in scope, newest first.
pub async fn inspections(store: &dyn Store, view: &View) -> Result<Vec<InspectionItem>, DashError> {
    let mut v: Vec<InspectionItem> = store
        .projections(&ProjQuery {
            kind: "inspection".into(),
            villages: Some(view.village_ids()),
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(|r| view.sees_id(&r.village))
        .map(|r| inspection_item(view, r))
        .collect();
    v.sort_by(|a, b| (&b.date, &a.village_name).cmp(&(&a.date, &b.village_name)));
    Ok(v)
}

pub async fn supervision(
    store: &dyn Store,
    view: &View,
    month: Month,
) -> Result<Supervision, DashError> {
    let (months, villages) = report_matrix(store, view, month).await?;
    Ok(Supervision {
        months,
        villages,
        inspections: inspections(store, view).await?,
    })
}

/// The chart series for the 12 months up to `month`.
pub async fn charts(
    store: &dyn Store,
    view: &View,
    month: Month,
    today: NaiveDate,
    now: i64,
) -> Result<Charts, DashError> {
    let span = last_n(month, 12);
    let months: Vec<String> = span.iter().map(|m| m.to_string()).collect();
    let index: HashMap<&str, usize> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let mut towns: BTreeMap<String, TownshipSeries> = BTreeMap::new();
    for u in &view.units {
        if (u.kind == "township" || u.kind == "street") && view.sees(u) {
            towns.insert(
                u.path.clone(),
                TownshipSeries {
                    id: u.id.clone(),
                    name: u.name.clone(),
                    activities: vec![0; months.len()],
                },
            );
        }
    }
    // Townships above the asker's scope (a township officer's own) still get their series.
    for v in view.villages() {
        if let Some(t) = view.township_of(v) {
            towns
                .entry(t.path.clone())
                .or_insert_with(|| TownshipSeries {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    activities: vec![0; months.len()],
                });
        }
    }
    let town_of: HashMap<String, String> = view
        .villages()
        .into_iter()
        .filter_map(|v| Some((v.id.clone(), view.township_of(v)?.path.clone())))
        .collect();
    for c in store
        .activity_counts(
            &view.village_ids(),
            &day(span[0].first()),
            &day(month.next_first()),
            false,
        )
        .await?
    {
        let (Some(t), Some(&i)) = (town_of.get(&c.village), index.get(c.month.as_str())) else {
            continue;
        };
        if let Some(s) = towns.get_mut(t) {
            s.activities[i] += c.n;
        }
    }
    let ov = overview(store, view, month, today, now).await?;
    let development = ov
        .villages
        .iter()
        .map(|r| DevelopmentPoint {
            id: r.id.clone(),
            name: r.name.clone(),
            developed: r.developed,
            target: r.target,
        })
        .collect();
    let (_, matrix) = report_matrix(store, view, month).await?;
    let reports = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut t = ReportTally {
                month: m.clone(),
                ..Default::default()
            };
            for row in &matrix {
                match row.states.get(i) {
                    Some(ReportStatus::Draft) => t.draft += 1,
                    Some(ReportStatus::Submitted) => t.submitted += 1,
                    Some(ReportStatus::Returned) => t.returned += 1,
                    Some(ReportStatus::Accepted) => t.accepted += 1,
                    Some(ReportStatus::Missing) | None => t.missing += 1,
                }
            }
            t
        })
        .collect();
    Ok(Charts {
        months,
        townships: towns.into_values().collect(),
        development,
        reports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_step_back_over_a_year() {
        let m = parse_month("2026-02").unwrap();
        assert_eq!(
            last_n(m, 3)
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>(),
            ["2025-12", "2026-01", "2026-02"]
        );
        assert_eq!(m.next_first().to_string(), "2026-03-01");
        assert!(parse_month("2026-13").is_err());
        assert!(parse_month("26-1").is_err());
        assert!(parse_month("'; DROP TABLE x").is_err());
    }

    fn unit(id: &str, kind: &str, path: &str) -> OrgUnit {
        OrgUnit {
            id: id.into(),
            name: id.into(),
            kind: kind.into(),
            parent: None,
            path: path.into(),
        }
    }

    #[test]
    fn a_township_filter_narrows_the_scope_and_never_widens_it() {
        let units = vec![
            unit("city", "city", "/city/"),
            unit("a", "township", "/city/a/"),
            unit("a1", "village", "/city/a/a1/"),
            unit("b", "township", "/city/b/"),
            unit("b1", "village", "/city/b/b1/"),
        ];
        let ids = |v: &View| {
            v.villages()
                .iter()
                .map(|u| u.id.clone())
                .collect::<Vec<_>>()
        };
        let city = View::new(units.clone(), vec!["/city/".into()]);
        assert_eq!(ids(&city.within_township("b").unwrap()), ["b1"]);
        let town = View::new(units.clone(), vec!["/city/a/".into()]);
        assert_eq!(ids(&town.within_township("a").unwrap()), ["a1"]);
        assert!(matches!(
            town.within_township("b"),
            Err(DashError::OutOfScope(_))
        ));
        // A village officer filtering their township still sees only their village.
        let village = View::new(units, vec!["/city/a/a1/".into()]);
        assert_eq!(ids(&village.within_township("a").unwrap()), ["a1"]);
        assert!(matches!(
            city.within_township("a1"),
            Err(DashError::NotTownship(_))
        ));
        assert!(matches!(
            city.within_township("nowhere"),
            Err(DashError::NoUnit(_))
        ));
    }

    #[test]
    fn age_bands_on_a_day() {
        let on = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        let b = |y, m, d| Some(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        assert_eq!(age_band(b(1992, 7, 1), on), "under_35");
        assert_eq!(age_band(b(1991, 6, 30), on), "35_45");
        assert_eq!(age_band(b(1980, 1, 1), on), "46_60");
        assert_eq!(age_band(b(1960, 1, 1), on), "over_60");
        assert_eq!(age_band(None, on), "unknown");
    }
}
