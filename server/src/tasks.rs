//! Tasks from the dashboard: a township or city officer issues a task to villages of their
//! view and follows each one's answer (the task's status, overdue by the model's rule, and the
//! notes each village wrote). Issuing makes a new record as a device makes one, judged on the
//! push's path (`sync::office_create`): the model says who may issue a task and what a valid one
//! is, the scope check that every village is the officer's. No HTTP in this module.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use zhucun_model::kinds::{enum_name, Task};
use zhucun_model::{AnyRecord, Kind, RecordDoc};

use crate::dashboard::{DashError, View};
use crate::review::ReviewError;
use crate::store::{DeviceAuth, Store, StoreError};
use crate::sync::{office_create, UnitPaths};

/// The body of `POST /api/tasks`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct NewTask {
    pub title: String,
    /// `YYYY-MM-DD`.
    pub deadline: String,
    #[serde(default)]
    pub description: String,
    /// The villages' unit ids.
    pub villages: Vec<String>,
}

/// One village of a task, with what it wrote.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct TaskVillage {
    pub id: String,
    pub name: String,
    /// Progress notes about this village.
    pub notes: u32,
    pub last_note: Option<String>,
}

/// A task reaching the asker's villages.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct TaskRow {
    pub id: String,
    pub title: String,
    pub issuer: String,
    pub issuer_name: String,
    pub deadline: Option<String>,
    /// `open`, `in_progress`, `done` or `cancelled`.
    pub status: String,
    /// Past its deadline and not finished, by the model's rule.
    pub overdue: bool,
    pub description: String,
    pub villages: Vec<TaskVillage>,
}

/// The tasks reaching the asker's villages, by deadline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct TaskBoard {
    pub tasks: Vec<TaskRow>,
}

/// The unit an office person issues tasks from: their first unit of the organisation's upper
/// levels (a township, a street or the city).
pub fn issuer_of(view: &View, person_units: &[String]) -> Option<String> {
    person_units
        .iter()
        .find(|u| {
            view.unit(u)
                .is_some_and(|u| matches!(u.kind.as_str(), "township" | "street" | "city"))
        })
        .cloned()
}

/// Issue a task as `who` (an office as a device, attached to `person_units`) from their own
/// unit ([`issuer_of`]); a person with no such unit may not issue one.
pub async fn issue(
    store: &dyn Store,
    units: &UnitPaths,
    view: &View,
    who: &DeviceAuth,
    person_units: &[String],
    t: &NewTask,
) -> Result<String, ReviewError> {
    let issuer = issuer_of(view, person_units).ok_or_else(|| {
        ReviewError::Refused(
            zhucun_protocol::RejectCode::Forbidden,
            "you are attached to no township, street or city to issue a task from".into(),
        )
    })?;
    let issuer = issuer.as_str();
    let mut input = serde_json::Map::new();
    input.insert("title".into(), t.title.trim().into());
    input.insert("issuer".into(), issuer.into());
    input.insert("deadline".into(), t.deadline.trim().into());
    input.insert("description".into(), t.description.trim().into());
    input.insert(
        "assigned_villages".into(),
        serde_json::to_value(&t.villages).unwrap_or_default(),
    );
    Ok(office_create(store, units, who, Kind::Task, issuer, input).await?)
}

/// The tasks reaching the villages of `view` on `today`.
pub async fn board(
    store: &dyn Store,
    view: &View,
    today: NaiveDate,
) -> Result<TaskBoard, DashError> {
    let ids: BTreeSet<String> = store
        .record_reach("task", &view.scope)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let ids: Vec<String> = ids.into_iter().collect();
    let name = |id: &str| view.unit(id).map(|u| u.name.clone()).unwrap_or_default();
    let mut tasks = Vec::new();
    for stored in store.load_docs(&ids).await? {
        let doc = RecordDoc::load(&stored.bytes, zhucun_model::new_actor())
            .map_err(|e| DashError::Store(StoreError::Backend(e.to_string())))?;
        let Ok(AnyRecord::Task(t)) = doc.record() else {
            continue;
        };
        let Task {
            title,
            issuer,
            assigned_villages,
            deadline,
            status,
            notes,
            description,
        } = &t;
        let villages = assigned_villages
            .iter()
            .filter(|v| view.sees_id(v))
            .map(|v| {
                let mine: Vec<_> = notes.iter().filter(|n| &n.village == v).collect();
                TaskVillage {
                    id: v.clone(),
                    name: name(v),
                    notes: mine.len() as u32,
                    last_note: mine.last().map(|n| n.text.clone()),
                }
            })
            .collect();
        tasks.push(TaskRow {
            id: stored.id.clone(),
            title: title.clone(),
            issuer_name: name(issuer),
            issuer: issuer.clone(),
            deadline: deadline.map(|d| d.format("%Y-%m-%d").to_string()),
            status: enum_name(status),
            overdue: t.overdue_on(today),
            description: description.clone(),
            villages,
        });
    }
    tasks.sort_by(|a, b| (&a.deadline, &a.title).cmp(&(&b.deadline, &b.title)));
    Ok(TaskBoard { tasks })
}
