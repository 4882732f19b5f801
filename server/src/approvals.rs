//! The township's approvals of development steps from the dashboard: the queue of people in an
//! office's view whose next step waits on the township (the pre-review 预审 of a development
//! target the village has prepared, the approval 审批 of a probationary member, the approval
//! of full membership 转正审批), and the approval itself. Like a report's review, an approval
//! is an edit made as a device makes one (`sync::office_edit`) and judged by the model: only
//! the township's role may give it, and its date by the pipeline's rules
//! (`zhucun_model::kinds::pipeline`). No HTTP in this module (`http/office.rs` serves it).

use serde::{Deserialize, Serialize};
use zhucun_model::figures::MemberFacts;
use zhucun_model::kinds::pipeline::{next_step, PipelineRule};
use zhucun_model::kinds::{enum_name, Stage};
use zhucun_model::{AnyRecord, RecordDoc};

use crate::dashboard::{DashError, View};
use crate::review::ReviewError;
use crate::store::{DeviceAuth, ProjQuery, Store, StoreError};
use crate::sync::{office_edit, UnitPaths};

/// A person whose next step waits on the township.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct ApprovalItem {
    /// The member record.
    pub id: String,
    pub village: String,
    pub village_name: String,
    pub name: String,
    /// `development_target`, `probationary` or `full`.
    pub stage: String,
    /// The approval waited for: `pre_review`, `approval` or `full_approval`.
    pub step: String,
    /// The day it may be given from (`YYYY-MM-DD`): the date of the stage reached.
    pub from: Option<String>,
    /// The last day the rules allow for it (the approval within three months), if any.
    pub latest: Option<String>,
}

/// The approvals waiting in the asker's view, soonest latest day first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct ApprovalQueue {
    pub members: Vec<ApprovalItem>,
}

/// The body of `POST /api/members/{id}/approve`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct Approve {
    /// `pre_review`, `approval` or `full_approval`.
    pub step: String,
    /// The day of the township's decision (`YYYY-MM-DD`).
    pub on: String,
}

/// The township's approvals, by the name the API uses.
fn township_step(name: &str) -> Option<PipelineRule> {
    PipelineRule::ALL
        .into_iter()
        .find(|r| r.township() && r.as_str() == name)
}

/// The people of `view` whose next step waits on the township.
pub async fn queue(store: &dyn Store, view: &View) -> Result<ApprovalQueue, DashError> {
    let rows = store
        .projections(&ProjQuery {
            kind: "member".into(),
            villages: Some(view.village_ids()),
            ..Default::default()
        })
        .await?;
    // Candidates by the projection (a full member entered as they are never waits); each is
    // then judged on its record by the model's next step.
    let ids: Vec<String> = rows
        .iter()
        .filter(|r| {
            let f: Option<MemberFacts> = serde_json::from_str(&r.detail).ok();
            f.is_some_and(|f| match f.stage {
                Stage::DevelopmentTarget => true,
                Stage::Probationary => f.approved_on.is_none(),
                Stage::Full => f.approved_on.is_some(),
                _ => false,
            })
        })
        .map(|r| r.id.clone())
        .collect();
    let mut members = Vec::new();
    for stored in store.load_docs(&ids).await? {
        let doc = RecordDoc::load(&stored.bytes, zhucun_model::new_actor())
            .map_err(|e| DashError::Store(StoreError::Backend(e.to_string())))?;
        let Ok(AnyRecord::Member(m)) = doc.record() else {
            continue;
        };
        let Some(next) = next_step(&m) else { continue };
        // The township's step, once what the village prepares for it is done.
        let Some(step) = next.missing.iter().copied().find(|r| r.township()) else {
            continue;
        };
        let prepared = match step {
            PipelineRule::PreReview => !next.missing.iter().any(|r| {
                matches!(
                    r,
                    PipelineRule::Introducers
                        | PipelineRule::PoliticalReview
                        | PipelineRule::Training
                )
            }),
            _ => true,
        };
        if !prepared {
            continue;
        }
        members.push(ApprovalItem {
            village_name: view
                .unit(&stored.village)
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            village: stored.village,
            id: stored.id,
            name: m.name.clone(),
            stage: enum_name(&m.stage),
            step: step.as_str().into(),
            from: m
                .stage_date(m.stage)
                .map(|d| d.format("%Y-%m-%d").to_string()),
            latest: next.latest,
        });
    }
    members.sort_by(|a, b| {
        let far = "9999";
        (a.latest.as_deref().unwrap_or(far), &a.village_name, &a.name).cmp(&(
            b.latest.as_deref().unwrap_or(far),
            &b.village_name,
            &b.name,
        ))
    });
    Ok(ApprovalQueue { members })
}

/// Give the township's approval `a` to member `id` as `who`; the queue as it then stands.
pub async fn approve(
    store: &dyn Store,
    units: &UnitPaths,
    view: &View,
    who: &DeviceAuth,
    id: &str,
    a: &Approve,
) -> Result<ApprovalQueue, ReviewError> {
    let Some(step) = township_step(a.step.trim()) else {
        return Err(ReviewError::Refused(
            zhucun_protocol::RejectCode::Invalid,
            format!(
                "step `{}` is not one of the township's approvals (pre_review, approval, full_approval)",
                a.step.chars().take(40).collect::<String>()
            ),
        ));
    };
    let Some(on) = zhucun_model::parse_date(a.on.trim()) else {
        return Err(ReviewError::Refused(
            zhucun_protocol::RejectCode::Invalid,
            "on is not a date (YYYY-MM-DD)".into(),
        ));
    };
    // Only a member in the asker's view (the history checks the view).
    crate::history::record_history(store, view, id).await?;
    let is_member = store
        .load_docs(&[id.to_string()])
        .await?
        .into_iter()
        .next()
        .is_some_and(|s| s.kind == "member");
    if !is_member {
        return Err(DashError::NoRecord(id.chars().take(64).collect()).into());
    }
    let mut input = serde_json::Map::new();
    input.insert(
        step.field().into(),
        on.format("%Y-%m-%d").to_string().into(),
    );
    office_edit(store, units, who, id, input).await?;
    Ok(queue(store, view).await?)
}
