//! Tasks from the dashboard: a township or city officer issues a task to villages of their
//! view and follows each one's answer (the task's status, overdue by the model's rule, and the
//! notes each village wrote). Issuing makes a new record as a device makes one, judged on the
//! push's path (`sync::office_create`): the model says who may issue a task and what a valid one
//! is, the scope check that every village is the officer's. No HTTP in this module.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use zhucun_model::kinds::{enum_name, Task};
use zhucun_model::Attachment;
use zhucun_model::{AnyRecord, Kind, RecordDoc};

use crate::blobs::{BlobDir, BlobError};
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
    /// Files uploaded with `POST /api/blobs` by the asker (or already on records of their
    /// view), as that answer gave them.
    #[serde(default)]
    pub attachments: Vec<TaskFile>,
}

/// A file sent with a task: what `POST /api/blobs` answers and a task lists.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct TaskFile {
    /// Lower-case hex SHA-256 of the content.
    pub hash: String,
    pub name: String,
    pub mime: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub size: u64,
}

impl From<&Attachment> for TaskFile {
    fn from(a: &Attachment) -> Self {
        TaskFile {
            hash: a.hash.clone(),
            name: a.name.clone(),
            mime: a.mime.clone(),
            size: a.size,
        }
    }
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
    pub attachments: Vec<TaskFile>,
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
#[allow(clippy::too_many_arguments)]
pub async fn issue(
    store: &dyn Store,
    blobs: Option<&BlobDir>,
    units: &UnitPaths,
    view: &View,
    who: &DeviceAuth,
    person_units: &[String],
    t: &NewTask,
) -> Result<String, ReviewError> {
    let issuer = issuer_of(view, person_units).ok_or_else(no_issuer)?;
    let issuer = issuer.as_str();
    let mut files = Vec::with_capacity(t.attachments.len());
    for a in &t.attachments {
        files.push(held_file(store, blobs, who, a).await?);
    }
    let mut input = serde_json::Map::new();
    input.insert("title".into(), t.title.trim().into());
    input.insert("issuer".into(), issuer.into());
    input.insert("deadline".into(), t.deadline.trim().into());
    input.insert("description".into(), t.description.trim().into());
    input.insert(
        "assigned_villages".into(),
        serde_json::to_value(&t.villages).unwrap_or_default(),
    );
    input.insert(
        "attachments".into(),
        serde_json::to_value(&files).unwrap_or_default(),
    );
    let id = office_create(store, units, who, Kind::Task, issuer, input).await?;
    // The files a task now names no longer count against the sender's room.
    let named: Vec<String> = files.iter().map(|f| f.hash.clone()).collect();
    if let (Some(dir), false) = (blobs, named.is_empty()) {
        if let Err(e) = dir.referenced(&named) {
            tracing::warn!(error = %e, "clearing attachment upload markers");
        }
    }
    Ok(id)
}

fn no_issuer() -> ReviewError {
    ReviewError::Refused(
        zhucun_protocol::RejectCode::Forbidden,
        "you are attached to no township, street or city to issue a task from".into(),
    )
}

/// Take a file an office person sends with a task (`POST /api/blobs`): only someone who may
/// issue a task from their unit may, and the file then counts against their room for
/// uploads no record names yet.
pub async fn upload(
    blobs: Option<Arc<BlobDir>>,
    view: &View,
    person: &str,
    person_units: &[String],
    name: &str,
    mime: &str,
    bytes: Bytes,
) -> Result<TaskFile, ReviewError> {
    issuer_of(view, person_units).ok_or_else(no_issuer)?;
    let refuse = |e: zhucun_model::InvalidField| {
        ReviewError::Refused(zhucun_protocol::RejectCode::Invalid, e.to_string())
    };
    zhucun_model::check_file_name("name", name.trim()).map_err(refuse)?;
    if bytes.is_empty() {
        return Err(refuse(zhucun_model::InvalidField::new(
            "file",
            zhucun_model::Reason::Required,
        )));
    }
    let dir = blobs.ok_or(BlobError::Disabled)?;
    let owner = crate::blobs::office_owner(person);
    let size = bytes.len() as u64;
    let hash = tokio::task::spawn_blocking(move || dir.put_whole_for(&bytes, &owner))
        .await
        .map_err(|e| StoreError::Backend(format!("storing an attachment failed: {e}")))??;
    Ok(TaskFile {
        hash,
        name: name.trim().to_string(),
        mime: mime.trim().to_string(),
        size,
    })
}

/// A file named by a new task as the record will hold it: complete on the server and either
/// an attachment of a record the asker sees or one the asker uploaded (knowing a hash is
/// not enough, as for a device: [`crate::sync`]'s claim check). Its size is the server's.
async fn held_file(
    store: &dyn Store,
    blobs: Option<&BlobDir>,
    who: &DeviceAuth,
    a: &TaskFile,
) -> Result<Attachment, ReviewError> {
    crate::blobs::check_hash(&a.hash)?;
    let dir = blobs.ok_or(BlobError::Disabled)?;
    let st = office_holds(store, dir, who, &a.hash).await?;
    Ok(Attachment {
        hash: a.hash.clone(),
        name: a.name.trim().to_string(),
        mime: a.mime.trim().to_string(),
        size: st.size.unwrap_or(a.size),
    })
}

/// The state of the blob `hash` (checked by the caller) when the office person `who` may use
/// it: complete, and an attachment of a record of their view or one they sent themselves;
/// `blob_missing` otherwise (knowing a hash is not enough).
async fn office_holds(
    store: &dyn Store,
    dir: &BlobDir,
    who: &DeviceAuth,
    hash: &str,
) -> Result<crate::blobs::BlobStatus, ReviewError> {
    let visible = store.blob_visible(hash, &who.scope_paths).await?;
    let owner = crate::blobs::office_owner(&who.person_id);
    let st = dir.status_for(hash, &owner, visible)?;
    if !st.complete {
        return Err(BlobError::Missing(hash.into()).into());
    }
    Ok(st)
}

/// A file an office person may fetch: an attachment of a record of their view, or one they
/// sent themselves.
pub async fn file(
    store: &dyn Store,
    blobs: Option<Arc<BlobDir>>,
    who: &DeviceAuth,
    hash: &str,
) -> Result<Vec<u8>, ReviewError> {
    crate::blobs::check_hash(hash)?;
    let dir = blobs.ok_or(BlobError::Disabled)?;
    office_holds(store, &dir, who, hash).await?;
    let h = hash.to_string();
    let bytes = tokio::task::spawn_blocking(move || dir.read_whole(&h))
        .await
        .map_err(|e| StoreError::Backend(format!("reading an attachment failed: {e}")))??;
    Ok(bytes)
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
            attachments,
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
            attachments: attachments.iter().map(TaskFile::from).collect(),
            villages,
        });
    }
    tasks.sort_by(|a, b| (&a.deadline, &a.title).cmp(&(&b.deadline, &b.title)));
    Ok(TaskBoard { tasks })
}
