//! One sync round on the server, whatever the backend: apply each pushed record's changes to
//! the server's copy, check envelope, schema, validation and scope, write every accepted
//! record with its log entries and projection in one transaction, then page out the changes
//! in the device's scope after its cursor. Rejects are per record; the rest of a batch lands.

use std::collections::{HashMap, HashSet};

use zhucun_model::automerge::{ActorId, AutoCommit, ChangeHash};
use zhucun_model::{AnyRecord, EditRefused, PushedEdit, RecordDoc, Role};
use zhucun_protocol::{
    Ack, DocSyncRequest, DocSyncResponse, PullRecord, PushRecord, Reject, RejectCode, SyncRequest,
    SyncResponse, VERSION,
};

use crate::blobs::BlobDir;
use crate::store::{
    in_scope, ChangeReceipt, DeviceAuth, Own, ProjectionRow, RecordWrite, Store, StoreError,
    StoredDoc,
};

/// Largest page of pulled changes a device may ask for.
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// Unit id → path, for resolving the units a record reaches.
pub type UnitPaths = HashMap<String, String>;

use zhucun_model::heads_to_json as heads_json;

fn wire_heads(bytes: &[zhucun_protocol::Hash]) -> Option<Vec<ChangeHash>> {
    bytes
        .iter()
        .map(|b| ChangeHash::try_from(b.as_slice()).ok())
        .collect()
}

fn reject(id: &str, code: RejectCode, message: impl Into<String>) -> Reject {
    Reject {
        id: id.to_string(),
        code,
        message: message.into(),
    }
}

/// The unit ids a record reaches: its village, and a task's villages.
fn record_units(village: &str, rec: Option<&AnyRecord>) -> Vec<String> {
    let mut u = vec![village.to_string()];
    let mut seen: HashSet<String> = u.iter().cloned().collect();
    if let Some(r) = rec {
        for x in r.facts().reaches {
            if seen.insert(x.clone()) {
                u.push(x);
            }
        }
    }
    u
}

enum Planned {
    /// A write, its ack, and the attachments it newly refers to.
    Write(Box<RecordWrite>, Ack, Vec<String>),
    Ack(Ack),
    Reject(Reject),
    Resync(String),
    /// Over the push's operation budget: neither acknowledged nor refused, so the device
    /// sends it again in its next round.
    Later,
}

/// Most operations (`zhucun_model::wire`) one push may make the server expand. The first
/// record of a push is always planned (one record is at most `MAX_OPS_PER_RECORD`), so a
/// device whose records are each within the limit always gets on.
pub const MAX_OPS_PER_PUSH: u64 = 4 * zhucun_model::wire::MAX_OPS_PER_RECORD;

/// Plan every pushed record, deferring those past `budget` operations in all.
fn plan_push(
    dev: &DeviceAuth,
    units: &UnitPaths,
    pushes: &[PushRecord],
    stored: &HashMap<String, StoredDoc>,
    mut budget: u64,
    now: i64,
) -> Vec<Planned> {
    pushes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            // A count that fails refuses the record in plan_one, with the reason.
            let ops = zhucun_model::wire::count_ops(
                &p.changes,
                zhucun_model::wire::MAX_OPS_PER_RECORD,
                zhucun_model::wire::Accept::Changes,
            )
            .unwrap_or(0);
            if i > 0 && ops > budget {
                return Planned::Later;
            }
            budget = budget.saturating_sub(ops);
            plan_one(dev, units, p, stored.get(&p.id), now)
        })
        .collect()
}

/// Decide what to do with one pushed record against the server's copy.
fn plan_one(
    dev: &DeviceAuth,
    units: &UnitPaths,
    push: &PushRecord,
    stored: Option<&StoredDoc>,
    now: i64,
) -> Planned {
    let id = push.id.as_str();
    if zhucun_model::Uuid::parse_str(id).is_err() {
        return Planned::Reject(reject(id, RejectCode::Malformed, "record id is not a UUID"));
    }
    let Some(sent_heads) = wire_heads(&push.heads) else {
        return Planned::Reject(reject(
            id,
            RejectCode::Malformed,
            "heads are not change hashes",
        ));
    };
    let actor = ActorId::from(&b"zhucun-server"[..]);
    // Whether the record as stored reaches the device. When it does not, the device may
    // still have made its edit while it did (a task moved away concurrently): that is judged
    // once the edit's base is known, and nothing of the record is read into a refusal first.
    let mut reached_now = true;
    let (mut doc, old) = match stored {
        Some(s) => match RecordDoc::load(&s.bytes, actor) {
            Ok(d) => {
                let old_rec = d.record().ok();
                let old_header = d.header().ok();
                let village = old_header.as_ref().map_or("", |h| h.village.as_str());
                reached_now = in_reach(dev, units, village, old_rec.as_ref());
                (d, Some((old_header, old_rec)))
            }
            Err(e) => {
                return Planned::Reject(reject(
                    id,
                    RejectCode::Malformed,
                    format!("stored record unreadable: {e}"),
                ))
            }
        },
        None => (
            RecordDoc::from_autocommit(AutoCommit::new().with_actor(actor)),
            None,
        ),
    };
    let out_of_scope = || {
        Planned::Reject(reject(
            id,
            RejectCode::OutOfScope,
            "record is outside this device's scope",
        ))
    };
    // Until the device is known to reach the record, an answer that would tell something of
    // it (its size, that the server lacks part of it) is `out_of_scope` instead.
    let unless_unreached = |answer: Planned| {
        if reached_now {
            answer
        } else {
            out_of_scope()
        }
    };
    // A record's size: its saved bytes judged before anything is expanded, and with what is
    // stored within one record's limits (a record over them could not be pulled whole by any
    // device, and would cost every push on it the work of expanding it). What is stored is
    // within them, so loading and merging it is bounded work. A device the record does not
    // reach learns nothing of its size.
    if let Err(why) = within_record_bytes(stored, &push.changes) {
        return unless_unreached(Planned::Reject(reject(id, RejectCode::Invalid, why)));
    }
    let before = doc.heads();
    if let Err(e) = doc.apply_change_bytes(&push.changes) {
        return Planned::Reject(reject(id, RejectCode::Malformed, e.to_string()));
    }
    // What the record's history holds with the pushed changes (those the server had already
    // count once): the work so far was bounded by what is stored and one push's limit.
    let total = doc.history_ops();
    if total > zhucun_model::wire::MAX_OPS_PER_RECORD {
        return unless_unreached(Planned::Reject(reject(
            id,
            RejectCode::Invalid,
            format!(
                "the record would hold more than {} operations ({total} with this push): \
                 start a new record",
                zhucun_model::wire::MAX_OPS_PER_RECORD
            ),
        )));
    }
    if !doc.missing_deps().is_empty() {
        // The server lacks changes these depend on (restored from a backup, or a replica
        // that acknowledged too much): this record alone runs Automerge's sync protocol.
        return unless_unreached(Planned::Resync(id.to_string()));
    }
    // Acknowledged at the heads the device sent: it knows them, so they are not echoed.
    let ack = Ack {
        id: id.to_string(),
        heads: Vec::new(),
    };
    if !doc.has_all(&sent_heads) {
        // The device holds changes the server does not (it lost them: restored from a
        // backup), and sent only those after what the server once acknowledged: this record
        // runs Automerge's sync protocol, which sends just what is missing.
        return unless_unreached(Planned::Resync(id.to_string()));
    }
    let header = match doc.header() {
        Ok(h) => h,
        Err(e) => return Planned::Reject(reject(id, RejectCode::Malformed, e.to_string())),
    };
    if header.id.to_string() != id {
        return Planned::Reject(reject(
            id,
            RejectCode::EnvelopeChanged,
            "document id differs from the record id",
        ));
    }
    if let Some((Some(oh), _)) = &old {
        if oh.kind != header.kind
            || oh.village != header.village
            || oh.id != header.id
            || oh.created_by != header.created_by
        {
            return Planned::Reject(reject(
                id,
                RejectCode::EnvelopeChanged,
                "kind, village, id or maker of a record cannot change",
            ));
        }
    }
    if doc.heads() == before {
        return Planned::Ack(ack);
    }
    if header.schema > header.kind.schema_version() {
        return Planned::Reject(reject(
            id,
            RejectCode::SchemaTooNew,
            format!(
                "{} schema {} is newer than this server's {}",
                header.kind,
                header.schema,
                header.kind.schema_version()
            ),
        ));
    }
    let previous = old.as_ref().and_then(|(_, r)| r.as_ref());
    // The edit as the device made it, and the record it merges into (zhucun_model::merge).
    let edit = match PushedEdit::of(&mut doc, &before, previous) {
        Ok(e) => e,
        Err(e) => {
            return unless_unreached(Planned::Reject(reject(
                id,
                RejectCode::Invalid,
                e.to_string(),
            )))
        }
    };
    // A record outside the device's reach now may still be one it reached where it made
    // the edit (a task moved away meanwhile).
    if !reached_now && !in_reach(dev, units, &header.village, edit.seen_before.as_ref()) {
        return out_of_scope();
    }
    let record = &edit.merged;
    // Scope: a new record, or one whose reach the edit changes, must lie wholly in the
    // device's scope; an existing record may be edited by any device it reaches (a village
    // answers a task).
    let new_units = record_units(&header.village, Some(record));
    let old_units = previous.map(|p| record_units(&header.village, Some(p)));
    let edit_units = record_units(&header.village, Some(&edit.seen_after));
    let base_units = edit
        .seen_before
        .as_ref()
        .map(|p| record_units(&header.village, Some(p)));
    let path_of = |u: &String| {
        units.get(u).cloned().ok_or_else(|| {
            Planned::Reject(reject(
                id,
                RejectCode::Invalid,
                format!("unknown organisation unit `{u}`"),
            ))
        })
    };
    let paths = match new_units.iter().map(path_of).collect::<Result<Vec<_>, _>>() {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let edit_paths = match edit_units
        .iter()
        .map(path_of)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let scope_ok = match &base_units {
        Some(bu) if *bu == edit_units => edit_paths.iter().any(|p| in_scope(p, &dev.scope_paths)),
        _ => edit_paths.iter().all(|p| in_scope(p, &dev.scope_paths)),
    };
    if !scope_ok {
        return Planned::Reject(reject(
            id,
            RejectCode::OutOfScope,
            format!(
                "village `{}` is outside this device's scope",
                header.village
            ),
        ));
    }
    // The rules, for the person behind the device.
    let role = match dev.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => return Planned::Reject(reject(id, RejectCode::Forbidden, e.to_string())),
    };
    match edit.check(previous, role) {
        Ok(()) => {}
        Err(EditRefused::Invalid(e)) => {
            return Planned::Reject(reject(id, RejectCode::Invalid, e.to_string()))
        }
        Err(EditRefused::Forbidden(e)) => {
            return Planned::Reject(reject(id, RejectCode::Forbidden, e.to_string()))
        }
    }
    // Who made the changes, as far as the server can vouch: the receipts it keeps.
    let receipts = match edit.receipts(&dev.device_id, &dev.person_id, &header.created_by) {
        Ok(r) => r
            .into_iter()
            .map(|r| ChangeReceipt {
                hash: r.hash.to_string(),
                device_id: dev.device_id.clone(),
                person_id: dev.person_id.clone(),
                device_name: None,
                person_name: None,
                received_at: now,
                relayed: r.relayed,
            })
            .collect(),
        Err(e) => return Planned::Reject(reject(id, RejectCode::Forbidden, e.to_string())),
    };
    // Units the record no longer reaches: its new log entries still reach them, so a
    // village a task is moved away from learns that it was.
    let left_paths: Vec<String> = old_units
        .iter()
        .flatten()
        .filter(|u| !new_units.contains(u))
        .filter_map(|u| units.get(u).cloned())
        .collect();
    let mut log = doc.changes_since(&before);
    let grew = old_units
        .as_ref()
        .is_some_and(|ou| new_units.iter().any(|u| !ou.contains(u)));
    let after = doc.heads();
    let bytes = doc.save();
    if grew {
        // Devices of newly reached units have none of the record's history: give them all,
        // as change chunks back to back (devices take nothing else; see zhucun_model::wire).
        log.push(doc.changes_since(&[]).concat());
    }
    let facts = record.facts();
    let old_blobs: HashSet<String> = previous
        .map(|p| p.blob_refs().into_iter().map(|(_, h)| h).collect())
        .unwrap_or_default();
    let new_blobs: Vec<String> = record
        .blob_refs()
        .into_iter()
        .map(|(_, h)| h)
        .filter(|h| !old_blobs.contains(h))
        .collect();
    Planned::Write(
        Box::new(RecordWrite {
            id: id.to_string(),
            kind: header.kind.as_str().to_string(),
            village: header.village.clone(),
            expected_heads: stored.map(|s| s.heads.clone()),
            heads: heads_json(&after),
            bytes,
            log,
            projection: ProjectionRow {
                title: facts.title,
                date: facts.date.map(|d| d.format("%Y-%m-%d").to_string()),
                sub_kind: facts.sub_kind,
                status: facts.status,
                detail: facts.detail.to_string(),
            },
            unit_paths: paths,
            left_paths,
            blobs: record.blob_refs().into_iter().map(|(_, h)| h).collect(),
            receipts,
        }),
        ack,
        new_blobs,
    )
}

/// Whether a push keeps a record's saved bytes within `MAX_RECORD_BYTES`, judged before
/// anything is expanded. (The pushed changes' operations are counted by
/// `RecordDoc::apply_change_bytes`, which refuses more than one push may carry.)
fn within_record_bytes(
    stored: Option<&StoredDoc>,
    pushed: &[serde_bytes::ByteBuf],
) -> Result<(), String> {
    use zhucun_model::wire::MAX_RECORD_BYTES;
    let stored_bytes = stored.map_or(0, |s| s.bytes.len());
    let pushed_bytes: usize = pushed.iter().map(|c| c.len()).sum();
    if stored_bytes + pushed_bytes > MAX_RECORD_BYTES {
        return Err(format!(
            "the record would take more than {MAX_RECORD_BYTES} bytes ({stored_bytes} stored, \
             {pushed_bytes} pushed): start a new record"
        ));
    }
    Ok(())
}

/// A record may newly refer to an attachment that records outside the device's scope refer
/// to only when the device proved it holds the content (uploaded every chunk): otherwise
/// knowing a hash would make another village's photo visible. `None` when the refs are fine.
async fn claim_check(
    store: &dyn Store,
    blobs: Option<&BlobDir>,
    dev: &DeviceAuth,
    id: &str,
    new_blobs: &[String],
) -> Result<Option<Reject>, StoreError> {
    let everywhere = ["/".to_string()];
    for h in new_blobs {
        if store.blob_visible(h, &dev.scope_paths).await?
            || !store.blob_visible(h, &everywhere).await?
        {
            continue;
        }
        let held = blobs.is_some_and(|b| {
            b.status_for(h, &dev.device_id, false)
                .is_ok_and(|st| st.complete)
        });
        if !held {
            return Ok(Some(reject(
                id,
                RejectCode::OutOfScope,
                format!(
                    "attachment {h} belongs to records outside this device's scope: upload it from this device first"
                ),
            )));
        }
    }
    Ok(None)
}

/// A short fingerprint of a log entry (first 8 bytes of its SHA-256).
pub fn entry_check(bytes: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)[..8].to_vec()
}

/// Serve one `POST /v1/sync` without a blob directory (no device can prove it holds an
/// attachment; see [`sync_with_blobs`]).
pub async fn sync(
    store: &dyn Store,
    units: &UnitPaths,
    dev: &DeviceAuth,
    req: SyncRequest,
) -> Result<SyncResponse, StoreError> {
    sync_with_blobs(store, units, dev, req, None).await
}

/// Serve one `POST /v1/sync`.
pub async fn sync_with_blobs(
    store: &dyn Store,
    units: &UnitPaths,
    dev: &DeviceAuth,
    req: SyncRequest,
    blobs: Option<&BlobDir>,
) -> Result<SyncResponse, StoreError> {
    let mut acks = Vec::new();
    let mut rejects = Vec::new();
    let mut resync = Vec::new();
    // A record pushed twice in one request: the later entry wins (both carry the same history).
    let mut seen = HashSet::new();
    let cursor = req.cursor;
    let cursor_check_sent = req.cursor_check;
    let page_bytes_asked = req.page_bytes;
    let mut pushes: Vec<PushRecord> = req
        .push
        .into_iter()
        .rev()
        .filter(|p| seen.insert(p.id.clone()))
        .collect();
    let ids: Vec<String> = pushes.iter().map(|p| p.id.clone()).collect();
    let mut attempt = 0;
    loop {
        acks.clear();
        rejects.clear();
        resync.clear();
        let stored: HashMap<String, StoredDoc> = store
            .load_docs(&ids)
            .await?
            .into_iter()
            .map(|d| (d.id.clone(), d))
            .collect();
        let mut writes = Vec::new();
        // Loading and merging documents is CPU work: off the async workers, so one big push
        // does not stall every other request on the same worker.
        let (back, plans) = {
            let (dev, units) = (dev.clone(), units.clone());
            tokio::task::spawn_blocking(move || {
                let now = crate::identity::now();
                let plans = plan_push(&dev, &units, &pushes, &stored, MAX_OPS_PER_PUSH, now);
                (pushes, plans)
            })
            .await
            .map_err(|e| StoreError::Backend(format!("planning a push failed: {e}")))?
        };
        pushes = back;
        for (p, plan) in pushes.iter().zip(plans) {
            match plan {
                Planned::Write(w, a, new_blobs) => {
                    match claim_check(store, blobs, dev, &p.id, &new_blobs).await? {
                        Some(r) => rejects.push(r),
                        None => {
                            writes.push(*w);
                            acks.push(a);
                        }
                    }
                }
                Planned::Ack(a) => acks.push(a),
                Planned::Reject(r) => rejects.push(r),
                Planned::Resync(id) => resync.push(id),
                Planned::Later => {}
            }
        }
        if writes.is_empty() {
            break;
        }
        match store.commit(&dev.device_id, &writes).await {
            Ok(()) => {
                // Attachments records now refer to no longer count against their uploaders'
                // room (a few file-system calls, no waiting on the disk's contents).
                let named: Vec<String> = writes.iter().flat_map(|w| w.blobs.clone()).collect();
                if let (Some(b), false) = (blobs, named.is_empty()) {
                    if let Err(e) = b.referenced(&named) {
                        tracing::warn!(error = %e, "clearing attachment upload markers");
                    }
                }
                break;
            }
            Err(StoreError::Conflict(_)) if attempt < 8 => {
                attempt += 1;
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    // Is the device's cursor a point of this server's log? A server restored from a backup
    // lacks that entry, or has another one under the same number.
    let lost = if cursor == 0 {
        false
    } else {
        match store.entry(cursor).await? {
            None => true,
            Some(bytes) => cursor_check_sent
                .as_ref()
                .is_some_and(|c| c.as_slice() != entry_check(&bytes).as_slice()),
        }
    };
    if lost {
        return Ok(SyncResponse {
            version: VERSION,
            acks,
            rejects,
            resync,
            pull: Vec::new(),
            cursor: 0,
            cursor_check: None,
            more: true,
            cursor_reset: true,
        });
    }
    let page_bytes = (page_bytes_asked as usize).clamp(16 * 1024, MAX_PAGE_BYTES);
    let page = store
        .pull(
            &dev.scope_paths,
            cursor,
            Own {
                device: &dev.device_id,
                synced_to: dev.synced_to,
            },
            page_bytes,
        )
        .await?;
    let mut order: Vec<String> = Vec::new();
    let mut by_id: HashMap<String, Vec<serde_bytes::ByteBuf>> = HashMap::new();
    for e in page.entries {
        if !by_id.contains_key(&e.record_id) {
            order.push(e.record_id.clone());
        }
        by_id
            .entry(e.record_id)
            .or_default()
            .push(serde_bytes::ByteBuf::from(e.bytes));
    }
    let pull = order
        .into_iter()
        .map(|id| PullRecord {
            changes: by_id.remove(&id).unwrap_or_default(),
            id,
        })
        .collect();
    let cursor_check = if page.cursor == 0 {
        None
    } else {
        store
            .entry(page.cursor)
            .await?
            .map(|b| serde_bytes::ByteBuf::from(entry_check(&b)))
    };
    Ok(SyncResponse {
        version: VERSION,
        acks,
        rejects,
        resync,
        pull,
        cursor: page.cursor,
        cursor_check,
        more: page.more,
        cursor_reset: false,
    })
}

/// Serve one `POST /v1/sync/doc`: a round of Automerge's sync protocol for one record, the
/// server's sync state carried by the device between rounds. The Automerge work runs off the
/// async workers, as a push's does.
pub async fn sync_doc(
    store: &dyn Store,
    units: &UnitPaths,
    dev: &DeviceAuth,
    req: DocSyncRequest,
    blobs: Option<&BlobDir>,
) -> Result<DocSyncResponse, StoreError> {
    let req = std::sync::Arc::new(req);
    let mut attempt = 0;
    loop {
        let stored = store
            .load_docs(std::slice::from_ref(&req.id))
            .await?
            .into_iter()
            .next();
        let plan = {
            let (dev, units, req) = (dev.clone(), units.clone(), req.clone());
            tokio::task::spawn_blocking(move || plan_doc(&dev, &units, &req, stored.as_ref()))
                .await
                .map_err(|e| StoreError::Backend(format!("a record's sync round failed: {e}")))??
        };
        if let Some((write, new_blobs)) = plan.write {
            if let Some(r) = claim_check(store, blobs, dev, &req.id, &new_blobs).await? {
                return Ok(DocSyncResponse {
                    version: VERSION,
                    message: None,
                    server_state: serde_bytes::ByteBuf::from(plan.state_before),
                    reject: Some(r),
                });
            }
            match store.commit(&dev.device_id, &[*write]).await {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) if attempt < 8 => {
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        return Ok(plan.answer);
    }
}

/// One record's sync round, decided without the store: what to write first (if anything, with
/// the attachments it newly names), and the answer.
struct DocPlan {
    write: Option<(Box<RecordWrite>, Vec<String>)>,
    /// The server's sync state before the answer was generated: sent back if the write is
    /// refused after all (an attachment claim).
    state_before: Vec<u8>,
    answer: DocSyncResponse,
}

fn plan_doc(
    dev: &DeviceAuth,
    units: &UnitPaths,
    req: &DocSyncRequest,
    stored: Option<&StoredDoc>,
) -> Result<DocPlan, StoreError> {
    use zhucun_model::automerge::sync::State;
    let refuse = |state: &State, r: Reject| DocPlan {
        write: None,
        state_before: state.encode(),
        answer: DocSyncResponse {
            version: VERSION,
            message: None,
            server_state: serde_bytes::ByteBuf::from(state.encode()),
            reject: Some(r),
        },
    };
    let mut state = match &req.server_state {
        Some(b) => State::decode(b).unwrap_or_else(|_| State::new()),
        None => State::new(),
    };
    let actor = ActorId::from(&b"zhucun-server"[..]);
    let mut doc = match stored {
        Some(s) => RecordDoc::load(&s.bytes, actor)
            .map_err(|e| StoreError::Backend(format!("stored record unreadable: {e}")))?,
        None => RecordDoc::from_autocommit(AutoCommit::new().with_actor(actor)),
    };
    // Scope first: the stored record must be visible to this device before anything of it
    // is read or written through the sync protocol.
    if stored.is_some() && !visible(dev, units, &doc) {
        return Ok(refuse(
            &State::new(),
            reject(
                &req.id,
                RejectCode::OutOfScope,
                "record is outside this device's scope",
            ),
        ));
    }
    let before = doc.heads();
    if let Some(m) = &req.message {
        if let Err(e) = doc.receive_sync_message(&mut state, m) {
            return Ok(refuse(
                &State::new(),
                reject(&req.id, RejectCode::Malformed, e.to_string()),
            ));
        }
    }
    let mut write = None;
    if doc.heads() != before && doc.missing_deps().is_empty() {
        // New changes arrived: the same checks as a push, as one record.
        let push = push_since(&req.id, &mut doc, &before);
        match plan_one(dev, units, &push, stored, crate::identity::now()) {
            Planned::Write(w, _, new_blobs) => write = Some((w, new_blobs)),
            Planned::Reject(r) => return Ok(refuse(&state, r)),
            Planned::Ack(_) | Planned::Resync(_) | Planned::Later => {}
        }
    }
    // (With holes in what arrived, nothing is stored; the reply asks for what is missing.)
    let state_before = state.encode();
    let message = doc
        .generate_sync_message(&mut state)
        .map(serde_bytes::ByteBuf::from);
    Ok(DocPlan {
        write,
        state_before,
        answer: DocSyncResponse {
            version: VERSION,
            message,
            server_state: serde_bytes::ByteBuf::from(state.encode()),
            reject: None,
        },
    })
}

/// What `doc` gained since `before`, as a device would push it: judged by [`plan_one`] like
/// any push.
fn push_since(id: &str, doc: &mut RecordDoc, before: &[ChangeHash]) -> PushRecord {
    PushRecord {
        id: id.to_string(),
        base_heads: Vec::new(),
        changes: doc
            .changes_since(before)
            .into_iter()
            .map(serde_bytes::ByteBuf::from)
            .collect(),
        heads: doc
            .heads()
            .iter()
            .map(|h| zhucun_protocol::hash(&h.0))
            .collect(),
    }
}

/// The device id an office's edits from the dashboard are made and received under.
pub const DASHBOARD_DEVICE: &str = "dashboard";

/// Why an office's edit did not land.
#[derive(Debug, thiserror::Error)]
pub enum OfficeEditError {
    /// No such record in the office's view (whether it exists is not told).
    #[error("no record `{0}` in your view")]
    NotFound(String),
    /// The rules refused it, as they refuse a device's push.
    #[error("{}", .0.message)]
    Refused(Reject),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An office's edit of record `id` from the dashboard, `input` as the app sends a save
/// (`AnyRecord::apply_input`): made as a device makes one (an Automerge change on the server's
/// copy naming `who`'s person and [`DASHBOARD_DEVICE`]), then judged and written by the same
/// path as a push, so the model's rules, scope and receipts are the same. `who` is the office
/// as a device: its person, role and scope. Nothing changed: nothing written.
pub async fn office_edit(
    store: &dyn Store,
    units: &UnitPaths,
    who: &DeviceAuth,
    id: &str,
    input: serde_json::Map<String, serde_json::Value>,
) -> Result<(), OfficeEditError> {
    let input = std::sync::Arc::new(input);
    for _ in 0..8 {
        let Some(stored) = store.load_docs(&[id.to_string()]).await?.into_iter().next() else {
            return Err(OfficeEditError::NotFound(id.to_string()));
        };
        let plan = {
            let (who, units, input, id) =
                (who.clone(), units.clone(), input.clone(), id.to_string());
            tokio::task::spawn_blocking(move || {
                plan_office_edit(&who, &units, &id, &stored, &input)
            })
            .await
            .map_err(|e| StoreError::Backend(format!("an office's edit failed: {e}")))??
        };
        let Some(write) = plan else { return Ok(()) };
        match store.commit(DASHBOARD_DEVICE, &[*write]).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Backend(format!(
        "record `{id}` kept changing under an office's edit"
    ))
    .into())
}

/// A record an office makes from the dashboard (a task it issues): `input` as the app sends a
/// new record, for unit `village` (a task's issuing township), made and judged as an office's
/// edit is ([`office_edit`]). Its id.
pub async fn office_create(
    store: &dyn Store,
    units: &UnitPaths,
    who: &DeviceAuth,
    kind: zhucun_model::Kind,
    village: &str,
    input: serde_json::Map<String, serde_json::Value>,
) -> Result<String, OfficeEditError> {
    let header = zhucun_model::Header {
        kind,
        schema: kind.schema_version(),
        id: zhucun_model::new_id(),
        village: village.to_string(),
        created_by: who.person_id.clone(),
    };
    let id = header.id.to_string();
    let plan = {
        let (who, units, id) = (who.clone(), units.clone(), id.clone());
        tokio::task::spawn_blocking(move || -> Result<Box<RecordWrite>, OfficeEditError> {
            let invalid = |e: zhucun_model::ModelError| {
                OfficeEditError::Refused(reject(&id, RejectCode::Invalid, e.to_string()))
            };
            let record = AnyRecord::apply_input(kind, None, &input).map_err(invalid)?;
            let mut doc =
                RecordDoc::create(zhucun_model::new_actor(), &header, &record).map_err(invalid)?;
            let now = crate::identity::now();
            let author = zhucun_model::Author {
                person: who.person_id.clone(),
                device: who.device_id.clone(),
            };
            doc.commit(&author, now);
            let push = push_since(&id, &mut doc, &[]);
            match plan_one(&who, &units, &push, None, now) {
                Planned::Write(w, _, _) => Ok(w),
                Planned::Reject(r) => Err(OfficeEditError::Refused(r)),
                _ => Err(
                    StoreError::Backend(format!("a new record `{id}` could not be planned")).into(),
                ),
            }
        })
        .await
        .map_err(|e| StoreError::Backend(format!("an office's new record failed: {e}")))??
    };
    store.commit(DASHBOARD_DEVICE, &[*plan]).await?;
    Ok(id)
}

fn plan_office_edit(
    who: &DeviceAuth,
    units: &UnitPaths,
    id: &str,
    stored: &StoredDoc,
    input: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<Box<RecordWrite>>, OfficeEditError> {
    let not_found = || OfficeEditError::NotFound(id.to_string());
    let mut doc = RecordDoc::load(&stored.bytes, zhucun_model::new_actor())
        .map_err(|e| StoreError::Backend(format!("stored record unreadable: {e}")))?;
    if !visible(who, units, &doc) {
        return Err(not_found());
    }
    let invalid = |e: zhucun_model::ModelError| {
        OfficeEditError::Refused(reject(id, RejectCode::Invalid, e.to_string()))
    };
    let current = doc.record().map_err(invalid)?;
    let edited = AnyRecord::apply_input(current.kind(), Some(&current), input).map_err(invalid)?;
    let before = doc.heads();
    doc.update(&edited).map_err(invalid)?;
    let now = crate::identity::now();
    let author = zhucun_model::Author {
        person: who.person_id.clone(),
        device: who.device_id.clone(),
    };
    if doc.commit(&author, now).is_none() {
        return Ok(None);
    }
    let push = push_since(id, &mut doc, &before);
    match plan_one(who, units, &push, Some(stored), now) {
        Planned::Write(w, _, _) => Ok(Some(w)),
        Planned::Ack(_) => Ok(None),
        Planned::Reject(r) if r.code == RejectCode::OutOfScope => Err(not_found()),
        Planned::Reject(r) => Err(OfficeEditError::Refused(r)),
        Planned::Resync(_) | Planned::Later => Err(StoreError::Backend(format!(
            "an office's edit of `{id}` could not be planned"
        ))
        .into()),
    }
}

/// Whether a stored record reaches a unit in the device's scope.
fn visible(dev: &DeviceAuth, units: &UnitPaths, doc: &RecordDoc) -> bool {
    let rec = doc.record().ok();
    let village = doc.header().map(|h| h.village).unwrap_or_default();
    in_reach(dev, units, &village, rec.as_ref())
}

/// Whether a record of `village` (as `rec`) reaches a unit in the device's scope.
fn in_reach(dev: &DeviceAuth, units: &UnitPaths, village: &str, rec: Option<&AnyRecord>) -> bool {
    record_units(village, rec)
        .iter()
        .filter_map(|u| units.get(u))
        .any(|p| in_scope(p, &dev.scope_paths))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhucun_model::automerge::{transaction::Transactable, AutoCommit, ObjType, ROOT};

    /// A push of one change of `ops` operations (not a record: plan_one refuses it, which
    /// tells a planned push from a deferred one).
    fn push(n: u8, ops: usize) -> PushRecord {
        let mut doc = AutoCommit::new();
        let text = doc.put_object(ROOT, "summary", ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, &"村".repeat(ops - 1)).unwrap();
        doc.commit();
        PushRecord {
            id: format!("0190e0a0-0000-7000-8000-00000000000{n}"),
            base_heads: Vec::new(),
            changes: doc
                .get_changes(&[])
                .into_iter()
                .map(|c| serde_bytes::ByteBuf::from(c.raw_bytes().to_vec()))
                .collect(),
            heads: Vec::new(),
        }
    }

    #[test]
    fn a_push_over_its_operation_budget_defers_the_rest_to_the_next_round() {
        let dev = DeviceAuth {
            device_id: "d".into(),
            person_id: "p".into(),
            role: "first_secretary".into(),
            revoked: false,
            scope_paths: vec!["/c/t/v/".into()],
            synced_to: 0,
        };
        let pushes = [push(1, 1000), push(2, 1000), push(3, 200)];
        let kinds = |budget| -> Vec<&'static str> {
            plan_push(&dev, &UnitPaths::new(), &pushes, &HashMap::new(), budget, 0)
                .iter()
                .map(|p| match p {
                    Planned::Later => "later",
                    Planned::Reject(_) => "planned",
                    _ => "other",
                })
                .collect()
        };
        assert_eq!(kinds(u64::MAX), ["planned", "planned", "planned"]);
        // The first record always goes; what no longer fits waits, what still fits goes.
        assert_eq!(kinds(1500), ["planned", "later", "planned"]);
        assert_eq!(kinds(10), ["planned", "later", "later"]);
    }
}
