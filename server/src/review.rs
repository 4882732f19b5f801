//! The township's review of monthly reports from the dashboard: the queue of submitted
//! reports in an office's view, one report with its figures, narrative and history, and the
//! decision (accept, or return with a comment). The decision is an edit made as a device makes
//! one and judged by the model's rules on the same path as a push (`sync::office_edit`): who may
//! accept or return, and that a return needs a comment, are written once, in `zhucun-model`.
//! No HTTP in this module (`http/office.rs` serves it).

use serde::{Deserialize, Serialize};
use zhucun_model::figures::MonthlyFigures;
use zhucun_model::kinds::{enum_name, MonthlyReport, ReportState};
use zhucun_model::{AnyRecord, RecordDoc};

use crate::dashboard::{DashError, View};
use crate::history::{record_history, RecordChange};
use crate::store::{DeviceAuth, ProjQuery, Store, StoreError};
use crate::sync::{office_edit, OfficeEditError, UnitPaths, DASHBOARD_DEVICE};

/// A submitted report waiting for review.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct ReviewItem {
    pub id: String,
    pub village: String,
    pub village_name: String,
    pub township_name: Option<String>,
    /// `YYYY-MM`.
    pub month: String,
    /// When the server received the report's latest change, its submission (server clock,
    /// seconds since 1970); `None` for a report received before receipts were kept.
    #[cfg_attr(test, ts(type = "number | null"))]
    pub waiting_since: Option<i64>,
}

/// The reports waiting for review in the asker's view, longest waiting first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct ReviewQueue {
    pub reports: Vec<ReviewItem>,
}

/// One monthly report as a reviewer reads it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct ReportView {
    pub id: String,
    pub village: String,
    pub village_name: String,
    pub month: String,
    /// `draft`, `submitted`, `returned` or `accepted`.
    pub state: String,
    /// Frozen when it was submitted.
    #[schema(value_type = Option<Object>)]
    pub figures: Option<MonthlyFigures>,
    pub narrative: String,
    pub review_comment: String,
    pub reviewed_by: String,
    pub reviewed_by_name: Option<String>,
    /// Notes added after the report left the village, oldest first.
    pub addenda: Vec<String>,
    /// Whether the asker may decide on it now (submitted, and their role reviews).
    pub may_decide: bool,
    pub history: Vec<RecordChange>,
}

/// An office's decision on a submitted report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accept,
    Return,
}

/// The body of `POST /api/reports/{id}/review`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct ReviewDecision {
    pub decision: Decision,
    /// Required to return a report (the model says so); kept with an acceptance too.
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Dash(#[from] DashError),
    /// An attachment sent or named was refused (`crate::tasks`).
    #[error(transparent)]
    Blob(#[from] crate::blobs::BlobError),
    /// The rules refused the decision: the reject's code and message.
    #[error("{1}")]
    Refused(zhucun_protocol::RejectCode, String),
}

/// An office's edit refused or failed, as the dashboard's moves answer it.
impl From<OfficeEditError> for ReviewError {
    fn from(e: OfficeEditError) -> Self {
        match e {
            OfficeEditError::NotFound(id) => DashError::NoRecord(id).into(),
            OfficeEditError::Refused(r) => ReviewError::Refused(r.code, r.message),
            OfficeEditError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ReviewError {
    fn from(e: StoreError) -> Self {
        ReviewError::Dash(DashError::Store(e))
    }
}

/// The submitted reports of the villages in `view`.
pub async fn queue(store: &dyn Store, view: &View) -> Result<ReviewQueue, DashError> {
    let rows = store
        .projections(&ProjQuery {
            kind: "report".into(),
            villages: Some(view.village_ids()),
            ..Default::default()
        })
        .await?;
    let mut reports = Vec::new();
    for r in rows {
        if r.status.as_deref() != Some(&enum_name(&ReportState::Submitted)) {
            continue;
        }
        let waiting_since = store
            .receipts(&r.id)
            .await?
            .into_iter()
            .map(|x| x.received_at)
            .max();
        let u = view.unit(&r.village);
        reports.push(ReviewItem {
            village_name: u.map(|u| u.name.clone()).unwrap_or_default(),
            township_name: u.and_then(|u| view.township_of(u)).map(|t| t.name.clone()),
            month: r.sub_kind.unwrap_or_default(),
            village: r.village,
            id: r.id,
            waiting_since,
        });
    }
    reports.sort_by(|a, b| {
        (a.waiting_since.unwrap_or(0), &a.village_name, &a.month).cmp(&(
            b.waiting_since.unwrap_or(0),
            &b.village_name,
            &b.month,
        ))
    });
    Ok(ReviewQueue { reports })
}

/// Report `id` as the asker reads it; a record that is not a report in their view is
/// [`DashError::NoRecord`].
pub async fn report(
    store: &dyn Store,
    view: &View,
    who: &DeviceAuth,
    id: &str,
) -> Result<ReportView, DashError> {
    let none = || DashError::NoRecord(id.chars().take(64).collect());
    // The history checks the record is in the asker's view.
    let history = record_history(store, view, id).await?;
    let stored = store
        .load_docs(&[id.to_string()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(none)?;
    let doc = RecordDoc::load(&stored.bytes, zhucun_model::new_actor())
        .map_err(|e| DashError::Store(StoreError::Backend(e.to_string())))?;
    let Ok(AnyRecord::Report(r)) = doc.record() else {
        return Err(none());
    };
    let reviewed_by_name = match r.reviewed_by.as_str() {
        "" => None,
        p => store.person(p).await?.map(|p| p.name),
    };
    let role = who.role.parse::<zhucun_model::Role>().ok();
    let may_decide = role.is_some_and(|role| {
        [ReportState::Accepted, ReportState::Returned]
            .iter()
            .any(|to| *to != r.state && r.state.may_become(*to, role))
    });
    let MonthlyReport {
        month,
        state,
        figures,
        narrative,
        review_comment,
        reviewed_by,
        addenda,
    } = r;
    Ok(ReportView {
        id: id.to_string(),
        village_name: view
            .unit(&stored.village)
            .map(|u| u.name.clone())
            .unwrap_or_default(),
        village: stored.village,
        month,
        state: enum_name(&state),
        figures,
        narrative,
        review_comment,
        reviewed_by,
        reviewed_by_name,
        addenda: addenda.into_iter().map(|n| n.text).collect(),
        may_decide,
        history,
    })
}

/// Decide on report `id` as `who` (an office as a device: person, role, scope); the report
/// as it then stands.
pub async fn decide(
    store: &dyn Store,
    units: &UnitPaths,
    view: &View,
    who: &DeviceAuth,
    id: &str,
    d: &ReviewDecision,
) -> Result<ReportView, ReviewError> {
    // Only a report: the decision's fields mean nothing on another kind.
    report(store, view, who, id).await?;
    let state = match d.decision {
        Decision::Accept => ReportState::Accepted,
        Decision::Return => ReportState::Returned,
    };
    let mut input = serde_json::Map::new();
    input.insert("state".into(), enum_name(&state).into());
    input.insert("review_comment".into(), d.comment.trim().into());
    input.insert("reviewed_by".into(), who.person_id.clone().into());
    office_edit(store, units, who, id, input).await?;
    Ok(report(store, view, who, id).await?)
}

/// An office person as the device the dashboard is for them.
pub fn office_device(person: &str, role: &str, scope: &[String]) -> DeviceAuth {
    DeviceAuth {
        device_id: DASHBOARD_DEVICE.to_string(),
        person_id: person.to_string(),
        role: role.to_string(),
        revoked: false,
        scope_paths: scope.to_vec(),
        synced_to: 0,
    }
}
