//! A record's history as an office sees it: each change with the fields it touched, the
//! maker the change names, and the server's receipt for it (the device that delivered it, that
//! device's person and the server's clock). Who a change names is checked when it arrives
//! (`zhucun_model::merge::PushedEdit::receipts`) only for the delivering device's own changes;
//! a relayed change (a device giving back what a restored server lost) says so here. No HTTP
//! in this module (`http/office.rs` serves it).

use std::collections::HashMap;

use serde::Serialize;
use zhucun_model::automerge::ActorId;
use zhucun_model::RecordDoc;

use crate::dashboard::{DashError, View};
use crate::store::Store;

/// One change of a record, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct RecordChange {
    pub hash: String,
    /// Top-level fields the change touched, sorted.
    pub fields: Vec<String>,
    /// The person the change names as its maker (id and name), if it names one.
    pub named_person: Option<String>,
    pub named_person_name: Option<String>,
    /// The device's clock when the change was made (seconds since 1970): shown, never trusted.
    #[cfg_attr(test, ts(type = "number"))]
    pub device_time: i64,
    /// The server's receipt: which device delivered the change, whose it is, and the
    /// server's clock then. `None` for changes taken before receipts were kept.
    pub receipt: Option<Receipt>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct Receipt {
    pub device: String,
    pub device_name: Option<String>,
    pub person: String,
    pub person_name: Option<String>,
    #[cfg_attr(test, ts(type = "number"))]
    pub received_at: i64,
    /// The change names another device than the one that delivered it: the server vouches
    /// that it was delivered, not who made it.
    pub relayed: bool,
}

/// The history of record `id`, if it reaches a unit in `view`: otherwise, as for a record
/// that does not exist, [`DashError::NoRecord`] (whether it exists is not told).
pub async fn record_history(
    store: &dyn Store,
    view: &View,
    id: &str,
) -> Result<Vec<RecordChange>, DashError> {
    let none = || DashError::NoRecord(id.chars().take(64).collect());
    let stored = store
        .load_docs(&[id.to_string()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(none)?;
    let mut doc = RecordDoc::load(&stored.bytes, ActorId::from(&b"zhucun-server"[..]))
        .map_err(|e| DashError::Store(crate::store::StoreError::Backend(e.to_string())))?;
    let header = doc.header().map_err(|_| none())?;
    let mut reaches = vec![header.village.clone()];
    if let Ok(r) = doc.record() {
        reaches.extend(r.facts().reaches);
    }
    if !reaches.iter().any(|u| view.sees_id(u)) {
        return Err(none());
    }
    let receipts: HashMap<String, crate::store::ChangeReceipt> = store
        .receipts(id)
        .await?
        .into_iter()
        .map(|r| (r.hash.clone(), r))
        .collect();
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::new();
    for h in doc.history() {
        let named_person_name = match &h.person {
            Some(p) => match names.get(p) {
                Some(n) => n.clone(),
                None => {
                    let n = store.person(p).await?.map(|p| p.name);
                    names.insert(p.clone(), n.clone());
                    n
                }
            },
            None => None,
        };
        out.push(RecordChange {
            receipt: receipts.get(&h.hash).map(|r| Receipt {
                device: r.device_id.clone(),
                device_name: r.device_name.clone(),
                person: r.person_id.clone(),
                person_name: r.person_name.clone(),
                received_at: r.received_at,
                relayed: r.relayed,
            }),
            hash: h.hash,
            fields: h.fields,
            named_person: h.person,
            named_person_name,
            device_time: h.device_time,
        });
    }
    Ok(out)
}
