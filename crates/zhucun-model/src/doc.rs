//! One record = one Automerge document: the bridge between typed records and documents.
//!
//! A record's fields live at the root map of its document next to the envelope (`kind`,
//! `schema`, `id`, `village`, `created_by`). Records are written by *reconciling* their JSON
//! form into the document: only keys this version knows are written, keys it does not know
//! (written by a newer version) are never touched, lists are patched around their common
//! prefix and suffix, and long texts are Automerge Text updated by a character diff, so
//! concurrent edits merge by character. Reading goes the other way: the document becomes
//! JSON and serde gives the typed record.
//!
//! This module does no I/O and never looks at a clock: the caller passes the commit time.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::error::{DocError, ModelError};
use crate::kinds::{AnyRecord, Kind};

/// Keys of the envelope every document carries at its root.
pub const HEADER_KEYS: [&str; 5] = ["kind", "schema", "id", "village", "created_by"];

/// The envelope of a record document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Header {
    pub kind: Kind,
    pub schema: u32,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub id: Uuid,
    /// The organisation unit whose scope the record belongs to (a village, or for a task the
    /// issuing township).
    pub village: String,
    pub created_by: String,
}

/// Who made a change: written into each Automerge change's message so every replica's
/// history can say who changed what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Author {
    pub person: String,
    pub device: String,
}

/// A change one replica made, as another sees it arrive: see [`RecordDoc::made_since`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadeChange {
    pub hash: ChangeHash,
    pub author: Option<Author>,
    /// The change builds on nothing: it made the record.
    pub made_record: bool,
}

/// One change in a record's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct HistoryEntry {
    pub hash: String,
    pub actor: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: u64,
    /// The person and device named by the change, if it names them.
    pub person: Option<String>,
    pub device: Option<String>,
    /// The author's device clock (seconds since 1970): shown, never used for ordering.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub device_time: i64,
    /// Top-level fields the change touched, sorted.
    pub fields: Vec<String>,
}

/// An edit as its maker saw it: see [`RecordDoc::edit_span`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditSpan {
    /// The heads the edit's changes build on (empty: they made the record).
    pub base: Vec<ChangeHash>,
    /// The heads of the edit's changes alone (empty: nothing new).
    pub made: Vec<ChangeHash>,
}

/// A record document.
#[derive(Debug, Clone)]
pub struct RecordDoc {
    doc: AutoCommit,
}

impl RecordDoc {
    /// Create the document of a new record, uncommitted: call [`RecordDoc::commit`].
    pub fn create(actor: ActorId, header: &Header, record: &AnyRecord) -> Result<Self, ModelError> {
        if header.kind != record.kind() {
            return Err(DocError::KindMismatch {
                expected: header.kind,
                found: record.kind(),
            }
            .into());
        }
        let mut doc = AutoCommit::new().with_actor(actor);
        let mut root = match serde_json::to_value(header) {
            Ok(Json::Object(m)) => m,
            _ => unreachable!("a header always serialises to an object"),
        };
        root.extend(record.to_json_map());
        reconcile_map(
            &mut doc,
            &automerge::ROOT,
            &root,
            record.kind().text_fields(),
        )?;
        Ok(RecordDoc { doc })
    }

    /// Load a document from Automerge bytes (a full save or concatenated changes).
    pub fn load(bytes: &[u8], actor: ActorId) -> Result<Self, ModelError> {
        let doc = AutoCommit::load(bytes)
            .map_err(|e| DocError::Automerge(e.to_string()))?
            .with_actor(actor);
        Ok(RecordDoc { doc })
    }

    pub fn from_autocommit(doc: AutoCommit) -> Self {
        RecordDoc { doc }
    }

    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn header(&self) -> Result<Header, ModelError> {
        let mut m = Map::new();
        for k in HEADER_KEYS {
            match self.doc.get(automerge::ROOT, k) {
                Ok(Some((v, id))) => {
                    m.insert(k.to_string(), value_to_json(&self.doc, v, &id));
                }
                _ => return Err(DocError::MissingHeader(k).into()),
            }
        }
        serde_json::from_value(Json::Object(m))
            .map_err(|e| DocError::BadHeader(e.to_string()).into())
    }

    /// The whole document as JSON, keys sorted: the canonical form of a record.
    pub fn to_json(&self) -> Json {
        let mut json = obj_to_json(&self.doc, &automerge::ROOT, ObjType::Map);
        self.settle(&mut json);
        json
    }

    /// What concurrent edits left, resolved as the model says ([`Kind::settle`]); concurrent
    /// moves of a record's workflow state merge by the model's rank, not by Automerge's order
    /// of actors: every replica shows the same state, the one the rules chose
    /// ([`Kind::move_field`]).
    fn settle(&self, json: &mut Json) {
        let kind = json
            .get("kind")
            .and_then(|k| k.as_str())
            .and_then(crate::kinds::from_enum_name::<Kind>);
        if let (Some(kind), Json::Object(m)) = (kind, json) {
            self.settle_move(kind, m);
            kind.settle(m);
        }
    }

    /// The workflow state concurrent moves left, by rank, with its date.
    fn settle_move(&self, kind: Kind, m: &mut Map<String, Json>) {
        let Some((field, rank)) = kind.move_field() else {
            return;
        };
        let strings = |key: &str| -> Vec<String> {
            self.doc
                .get_all(automerge::ROOT, key)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(v, _)| match v {
                    Value::Scalar(s) => match s.as_ref() {
                        ScalarValue::Str(t) => Some(t.to_string()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        };
        let states = strings(field);
        if states.len() < 2 {
            return;
        }
        // Ranks are one per state, so the order of candidates is the same on every replica.
        // A state dated by a field (a member's stage) wins only with its date: a concurrent
        // edit may have taken the date away (a move back) while another restated the state.
        let mut ranked: Vec<(u8, String)> = states
            .into_iter()
            .filter_map(|t| rank(&t).map(|r| (r, t)))
            .collect();
        ranked.sort();
        ranked.dedup();
        for (_, state) in ranked.into_iter().rev() {
            if let Some(date_field) = kind.state_date_field(&state) {
                if m.get(date_field).is_none_or(Json::is_null) {
                    let Some(d) = strings(date_field).into_iter().max() else {
                        continue;
                    };
                    m.insert(date_field.to_string(), Json::String(d));
                }
            }
            m.insert(field.to_string(), Json::String(state));
            return;
        }
    }

    /// The typed record. Fails with `SchemaTooNew` when a newer version wrote something this
    /// version cannot read.
    pub fn record(&self) -> Result<AnyRecord, ModelError> {
        let header = self.header()?;
        let json = self.to_json();
        AnyRecord::from_stored(header.kind, json).map_err(|e| {
            if header.schema > header.kind.schema_version() {
                ModelError::SchemaTooNew {
                    kind: header.kind,
                    found: header.schema,
                    supported: header.kind.schema_version(),
                }
            } else {
                e
            }
        })
    }

    /// Write `record` into the document (uncommitted). Fields unknown to this version stay.
    pub fn update(&mut self, record: &AnyRecord) -> Result<(), ModelError> {
        let header = self.header()?;
        if header.kind != record.kind() {
            return Err(DocError::KindMismatch {
                expected: header.kind,
                found: record.kind(),
            }
            .into());
        }
        // Only what the edit changed is written: a field the user left as they saw it keeps
        // its operations, so a merge settled on read (a state two moves left, a list that
        // holds a value twice) stays settled the same way, and an edit never restates what a
        // concurrent edit is changing.
        let seen = self.to_json();
        let mut changed = record.to_json_map();
        changed.retain(|k, v| seen.get(k) != Some(v));
        reconcile_map(
            &mut self.doc,
            &automerge::ROOT,
            &changed,
            record.kind().text_fields(),
        )
    }

    /// Commit pending operations as one change naming its author. `None` when nothing changed.
    pub fn commit(&mut self, author: &Author, device_time: i64) -> Option<ChangeHash> {
        let message = serde_json::to_string(author).unwrap_or_default();
        self.doc.commit_with(
            CommitOptions::default()
                .with_message(message)
                .with_time(device_time),
        )
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The operations of the record's whole history, as its changes carry them (what a
    /// device pulls of it at most; a deletion is an operation too).
    pub fn history_ops(&mut self) -> u64 {
        // From the change graph's metadata: no change is rebuilt.
        self.doc
            .get_changes_meta(&[])
            .iter()
            .map(|c| (c.max_op + 1).saturating_sub(c.start_op))
            .sum()
    }

    /// Whether the record's history is within one record's operations
    /// (`wire::MAX_OPS_PER_RECORD`, the most a device pulls of one record): checked on the
    /// device before an edit is saved, as the server checks before it takes a push.
    pub fn check_size(&mut self) -> Result<(), DocError> {
        let ops = self.history_ops();
        let max = crate::wire::MAX_OPS_PER_RECORD;
        if ops > max {
            Err(DocError::TooLarge { ops, max })
        } else {
            Ok(())
        }
    }

    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Merge another copy of the same record. Returns whether anything new arrived.
    pub fn merge(&mut self, other: &mut RecordDoc) -> Result<bool, ModelError> {
        let before = self.doc.get_heads();
        self.doc
            .merge(&mut other.doc)
            .map_err(|e| DocError::Automerge(e.to_string()))?;
        Ok(self.doc.get_heads() != before)
    }

    /// Raw bytes of every change not reachable from `heads` (what a peer holding `heads` lacks).
    pub fn changes_since(&mut self, heads: &[ChangeHash]) -> Vec<Vec<u8>> {
        self.doc
            .get_changes(heads)
            .into_iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect()
    }

    /// Apply raw chunks from a peer or the server: uncompressed Automerge change chunks
    /// (what `changes_since` gives), at most `wire::MAX_OPS_PER_RECORD` operations in all.
    /// Applying a chunk twice is a no-op. Returns whether the document changed.
    pub fn apply_change_bytes<B: AsRef<[u8]>>(&mut self, chunks: &[B]) -> Result<bool, ModelError> {
        // Counted before Automerge expands anything: a few bytes can claim billions of ops.
        crate::wire::count_ops(
            chunks,
            crate::wire::MAX_OPS_PER_RECORD,
            crate::wire::Accept::Changes,
        )
        .map_err(DocError::Changes)?;
        let before = self.doc.get_heads();
        // Parse every chunk before applying any, so a bad one leaves the document untouched.
        let mut probe = automerge::AutoCommit::new();
        for c in chunks {
            probe
                .load_incremental(c.as_ref())
                .map_err(|e| DocError::Automerge(e.to_string()))?;
        }
        for c in chunks {
            self.doc
                .load_incremental(c.as_ref())
                .map_err(|e| DocError::Automerge(e.to_string()))?;
        }
        Ok(self.doc.get_heads() != before)
    }

    /// This document without the changes after `heads` that any of `actors` made, and with
    /// everything else: for a replica, the record as the server holds it as far as the replica
    /// knows (`heads` the server acknowledged, `actors` the replica's own).
    pub fn without_changes_of(
        &mut self,
        heads: &[ChangeHash],
        actors: &[ActorId],
    ) -> Result<RecordDoc, ModelError> {
        let own: std::collections::HashSet<ChangeHash> = self
            .doc
            .get_changes(heads)
            .into_iter()
            .filter(|c| actors.contains(c.actor_id()))
            .map(|c| c.hash())
            .collect();
        let keep: Vec<automerge::Change> = self
            .doc
            .get_changes(&[])
            .into_iter()
            .filter(|c| !own.contains(&c.hash()))
            .collect();
        let mut out = AutoCommit::new().with_actor(self.doc.get_actor().clone());
        out.apply_changes(keep)
            .map_err(|e| DocError::Automerge(e.to_string()))?;
        if !out.get_missing_deps(&[]).is_empty() {
            return Err(DocError::Malformed(
                "changes from elsewhere build on changes of this replica's own".into(),
            )
            .into());
        }
        Ok(RecordDoc { doc: out })
    }

    /// What a peer's changes new to this document (those not reachable from `known`, the
    /// heads before they were applied) were made on and led to: the heads they build on
    /// (`base`) and the heads of those changes alone (`made`), each sorted. Between the two
    /// lies the edit as its maker saw it, whatever happened concurrently elsewhere.
    pub fn edit_span(&mut self, known: &[ChangeHash]) -> EditSpan {
        let new = self.doc.get_changes_meta(known);
        let hashes: std::collections::HashSet<ChangeHash> = new.iter().map(|c| c.hash).collect();
        let mut base: Vec<ChangeHash> = Vec::new();
        let mut depended: std::collections::HashSet<ChangeHash> = Default::default();
        for c in &new {
            for d in &c.deps {
                if hashes.contains(d) {
                    depended.insert(*d);
                } else {
                    base.push(*d);
                }
            }
        }
        let mut made: Vec<ChangeHash> = hashes.difference(&depended).copied().collect();
        base.sort();
        base.dedup();
        made.sort();
        EditSpan { base, made }
    }

    /// The changes gained since `known`, in causal order: each one's hash, the author its
    /// message names (`None`: it names none), and whether it made the record (builds on
    /// nothing).
    pub fn made_since(&mut self, known: &[ChangeHash]) -> Vec<MadeChange> {
        self.doc
            .get_changes_meta(known)
            .into_iter()
            .map(|c| MadeChange {
                hash: c.hash,
                author: c
                    .message
                    .as_deref()
                    .and_then(|m| serde_json::from_str(m).ok()),
                made_record: c.deps.is_empty(),
            })
            .collect()
    }

    /// The record as it was at `heads` (a state in this document's history), `None` for the
    /// empty heads (before the record existed).
    pub fn record_at(&mut self, heads: &[ChangeHash]) -> Result<Option<AnyRecord>, ModelError> {
        if heads.is_empty() {
            return Ok(None);
        }
        let then = self
            .doc
            .fork_at(heads)
            .map_err(|e| DocError::Automerge(e.to_string()))?;
        RecordDoc::from_autocommit(then).record().map(Some)
    }

    /// Changes this document waits for: dependencies of applied changes it does not have.
    pub fn missing_deps(&mut self) -> Vec<ChangeHash> {
        self.doc.get_missing_deps(&[])
    }

    /// Whether every hash in `heads` is a change of this document.
    pub fn has_all(&mut self, heads: &[ChangeHash]) -> bool {
        heads
            .iter()
            .all(|h| self.doc.get_change_by_hash(h).is_some())
    }

    /// The next message of Automerge's sync protocol for a peer in `state`, encoded.
    pub fn generate_sync_message(&mut self, state: &mut automerge::sync::State) -> Option<Vec<u8>> {
        use automerge::sync::SyncDoc;
        self.doc
            .sync()
            .generate_sync_message(state)
            .map(|m| m.encode())
    }

    /// The heads a peer had when it wrote an encoded sync message.
    pub fn sync_message_heads(message: &[u8]) -> Result<Vec<ChangeHash>, ModelError> {
        let m = automerge::sync::Message::decode(message)
            .map_err(|e| DocError::SyncMessage(e.to_string()))?;
        Ok(m.heads)
    }

    /// Receive an encoded message of Automerge's sync protocol.
    pub fn receive_sync_message(
        &mut self,
        state: &mut automerge::sync::State,
        message: &[u8],
    ) -> Result<(), ModelError> {
        use automerge::sync::SyncDoc;
        let m = automerge::sync::Message::decode(message)
            .map_err(|e| DocError::SyncMessage(e.to_string()))?;
        for have in &m.have {
            check_bloom(&have.bloom.to_bytes()).map_err(DocError::SyncMessage)?;
        }
        let chunks: Vec<&[u8]> = m.changes.iter().collect();
        crate::wire::count_ops(
            &chunks,
            crate::wire::MAX_OPS_PER_RECORD,
            crate::wire::Accept::ChangesAndDocuments,
        )
        .map_err(DocError::Changes)?;
        self.doc
            .sync()
            .receive_sync_message(state, m)
            .map_err(|e| DocError::Automerge(e.to_string()))?;
        Ok(())
    }

    /// Every change in causal order, with the top-level fields it touched.
    pub fn history(&mut self) -> Vec<HistoryEntry> {
        let changes: Vec<_> = self.doc.get_changes(&[]).into_iter().collect();
        let mut out = Vec::with_capacity(changes.len());
        for ch in changes {
            let deps: Vec<ChangeHash> = ch.deps().to_vec();
            let hash = ch.hash();
            let patches = self.doc.diff(&deps, &[hash]);
            let mut fields: Vec<String> = patches
                .iter()
                .filter_map(|p| match p.path.first() {
                    Some((_, automerge::Prop::Map(k))) => Some(k.clone()),
                    Some(_) => None,
                    None => match &p.action {
                        automerge::PatchAction::PutMap { key, .. }
                        | automerge::PatchAction::DeleteMap { key } => Some(key.clone()),
                        _ => None,
                    },
                })
                .collect();
            fields.sort();
            fields.dedup();
            let author: Option<Author> = ch.message().and_then(|m| serde_json::from_str(m).ok());
            out.push(HistoryEntry {
                hash: hash.to_string(),
                actor: ch.actor_id().to_hex_string(),
                seq: ch.seq(),
                person: author.as_ref().map(|a| a.person.clone()),
                device: author.map(|a| a.device),
                device_time: ch.timestamp(),
                fields,
            });
        }
        out
    }
}

/// Most probes a peer's bloom filter may ask for (Automerge writes 7).
const MAX_BLOOM_PROBES: u64 = 64;

/// Refuse a bloom filter in a peer's sync message that Automerge 0.12 would panic on or
/// exhaust memory with when answering it: entries but no bits (a division by zero in
/// `get_probes`, found by the fuzz target `apply_changes`), or billions of probes (a
/// `Vec::with_capacity` of that many). `bytes` is the filter as encoded: entries, bits per
/// entry and probes as LEB128, then the bits; empty when there are no entries.
fn check_bloom(bytes: &[u8]) -> Result<(), String> {
    fn leb128(b: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    if bytes.is_empty() {
        return Ok(());
    }
    let mut b = bytes;
    let (Some(_entries), Some(_bits_per_entry), Some(probes)) =
        (leb128(&mut b), leb128(&mut b), leb128(&mut b))
    else {
        return Err("bloom filter header is cut short".into());
    };
    if b.is_empty() {
        return Err("bloom filter has entries but no bits".into());
    }
    if probes > MAX_BLOOM_PROBES {
        return Err(format!("bloom filter asks for {probes} probes"));
    }
    Ok(())
}

fn scalar_to_json(s: &ScalarValue) -> Json {
    match s {
        ScalarValue::Str(s) => Json::String(s.to_string()),
        ScalarValue::Int(i) => Json::from(*i),
        ScalarValue::Uint(u) => Json::from(*u),
        ScalarValue::F64(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        ScalarValue::Boolean(b) => Json::Bool(*b),
        ScalarValue::Timestamp(t) => Json::from(*t),
        ScalarValue::Counter(c) => Json::from(i64::from(c)),
        ScalarValue::Bytes(b) => Json::String(b.iter().map(|x| format!("{x:02x}")).collect()),
        ScalarValue::Null | ScalarValue::Unknown { .. } => Json::Null,
    }
}

/// Records nest a few levels at most; anything deeper than this is not read (it would be
/// refused as malformed), so a hostile document cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

fn value_to_json(doc: &AutoCommit, v: Value<'_>, id: &ObjId) -> Json {
    value_to_json_at(doc, v, id, 0)
}

fn value_to_json_at(doc: &AutoCommit, v: Value<'_>, id: &ObjId, depth: usize) -> Json {
    match v {
        Value::Object(t) => obj_to_json_at(doc, id, t, depth + 1),
        Value::Scalar(s) => scalar_to_json(&s),
    }
}

fn obj_to_json(doc: &AutoCommit, obj: &ObjId, t: ObjType) -> Json {
    obj_to_json_at(doc, obj, t, 0)
}

fn obj_to_json_at(doc: &AutoCommit, obj: &ObjId, t: ObjType, depth: usize) -> Json {
    if depth > MAX_DEPTH {
        return Json::String("(nested too deeply)".into());
    }
    match t {
        ObjType::Map | ObjType::Table => {
            let mut m = Map::new();
            for k in doc.keys(obj) {
                if let Ok(Some((v, id))) = doc.get(obj, k.as_str()) {
                    m.insert(k, value_to_json_at(doc, v, &id, depth));
                }
            }
            Json::Object(m)
        }
        ObjType::List => {
            let n = doc.length(obj);
            let mut a = Vec::with_capacity(n);
            for i in 0..n {
                match doc.get(obj, i) {
                    Ok(Some((v, id))) => a.push(value_to_json_at(doc, v, &id, depth)),
                    _ => a.push(Json::Null),
                }
            }
            Json::Array(a)
        }
        ObjType::Text => Json::String(doc.text(obj).unwrap_or_default()),
    }
}

fn json_to_scalar(v: &Json) -> ScalarValue {
    match v {
        Json::Bool(b) => ScalarValue::Boolean(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                ScalarValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                ScalarValue::Uint(u)
            } else {
                ScalarValue::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::String(s) => ScalarValue::Str(s.as_str().into()),
        _ => ScalarValue::Null,
    }
}

fn am(e: automerge::AutomergeError) -> ModelError {
    DocError::Automerge(e.to_string()).into()
}

/// Write the keys of `new` into the map `obj`. Keys not in `new` are left alone; a `null`
/// removes the key. `text_keys` name string fields kept as Automerge Text.
fn reconcile_map(
    doc: &mut AutoCommit,
    obj: &ObjId,
    new: &Map<String, Json>,
    text_keys: &[&str],
) -> Result<(), ModelError> {
    for (key, value) in new {
        let existing = doc.get(obj, key.as_str()).map_err(am)?;
        match value {
            Json::Null => {
                if existing.is_some() {
                    doc.delete(obj, key.as_str()).map_err(am)?;
                }
            }
            Json::String(s) => match existing {
                Some((Value::Object(ObjType::Text), id)) => {
                    if doc.text(&id).map_err(am)? != *s {
                        doc.update_text(&id, s).map_err(am)?;
                    }
                }
                Some((Value::Scalar(old), _)) if old.as_ref() == &json_to_scalar(value) => {}
                _ if text_keys.contains(&key.as_str()) => {
                    let id = doc
                        .put_object(obj, key.as_str(), ObjType::Text)
                        .map_err(am)?;
                    doc.splice_text(&id, 0, 0, s).map_err(am)?;
                }
                _ => doc
                    .put(obj, key.as_str(), json_to_scalar(value))
                    .map_err(am)?,
            },
            Json::Bool(_) | Json::Number(_) => {
                let scalar = json_to_scalar(value);
                let same =
                    matches!(&existing, Some((Value::Scalar(old), _)) if old.as_ref() == &scalar);
                if !same {
                    doc.put(obj, key.as_str(), scalar).map_err(am)?;
                }
            }
            Json::Object(m) => {
                let id = match existing {
                    Some((Value::Object(ObjType::Map), id)) => id,
                    _ => doc
                        .put_object(obj, key.as_str(), ObjType::Map)
                        .map_err(am)?,
                };
                reconcile_map(doc, &id, m, &[])?;
            }
            Json::Array(items) => {
                let id = match existing {
                    Some((Value::Object(ObjType::List), id)) => id,
                    _ => doc
                        .put_object(obj, key.as_str(), ObjType::List)
                        .map_err(am)?,
                };
                reconcile_list(doc, &id, items)?;
            }
        }
    }
    Ok(())
}

/// Patch the list `obj` into `new`: keep the common prefix and suffix, update the middle in
/// place pairwise (so maps inside keep their unknown keys), insert or delete the rest.
fn reconcile_list(doc: &mut AutoCommit, obj: &ObjId, new: &[Json]) -> Result<(), ModelError> {
    let old = match obj_to_json(doc, obj, ObjType::List) {
        Json::Array(a) => a,
        _ => Vec::new(),
    };
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let old_mid = old.len() - prefix - suffix;
    let new_mid = &new[prefix..new.len() - suffix];
    let paired = old_mid.min(new_mid.len());
    for (i, value) in new_mid.iter().take(paired).enumerate() {
        let idx = prefix + i;
        let existing = doc.get(obj, idx).map_err(am)?;
        match (value, existing) {
            (Json::Object(m), Some((Value::Object(ObjType::Map), id))) => {
                reconcile_map(doc, &id, m, &[])?
            }
            (Json::Array(a), Some((Value::Object(ObjType::List), id))) => {
                reconcile_list(doc, &id, a)?
            }
            (Json::Object(m), _) => {
                let id = doc.put_object(obj, idx, ObjType::Map).map_err(am)?;
                reconcile_map(doc, &id, m, &[])?;
            }
            (Json::Array(a), _) => {
                let id = doc.put_object(obj, idx, ObjType::List).map_err(am)?;
                reconcile_list(doc, &id, a)?;
            }
            (v, _) => doc.put(obj, idx, json_to_scalar(v)).map_err(am)?,
        }
    }
    for (i, value) in new_mid.iter().enumerate().skip(paired) {
        let idx = prefix + i;
        match value {
            Json::Object(m) => {
                let id = doc.insert_object(obj, idx, ObjType::Map).map_err(am)?;
                reconcile_map(doc, &id, m, &[])?;
            }
            Json::Array(a) => {
                let id = doc.insert_object(obj, idx, ObjType::List).map_err(am)?;
                reconcile_list(doc, &id, a)?;
            }
            v => doc.insert(obj, idx, json_to_scalar(v)).map_err(am)?,
        }
    }
    for _ in paired..old_mid {
        doc.delete(obj, prefix + paired).map_err(am)?;
    }
    Ok(())
}

/// Canonical JSON: keys sorted, no spaces, numbers as serde_json writes them.
pub fn write_canonical(v: &Json, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    match v {
        Json::Object(m) => {
            out.write_all(b"{")?;
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, k)?;
                out.write_all(b":")?;
                write_canonical(&m[k], out)?;
            }
            out.write_all(b"}")
        }
        Json::Array(a) => {
            out.write_all(b"[")?;
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(x, out)?;
            }
            out.write_all(b"]")
        }
        other => serde_json::to_writer(&mut *out, other).map_err(std::io::Error::from),
    }
}

/// Writes the canonical export of many records, `{"records":[...]}` with one record per
/// line, in the order given (callers give them sorted by id). The replica and the server
/// print the same bytes for the same records.
pub struct ExportWriter<'a> {
    out: &'a mut dyn std::io::Write,
    first: bool,
}

impl<'a> ExportWriter<'a> {
    pub fn begin(out: &'a mut dyn std::io::Write) -> std::io::Result<Self> {
        out.write_all(b"{\"records\":[")?;
        Ok(ExportWriter { out, first: true })
    }

    pub fn record(&mut self, v: &Json) -> std::io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        write_canonical(v, self.out)
    }

    pub fn end(self) -> std::io::Result<()> {
        self.out.write_all(b"\n]}\n")
    }
}

/// Change hashes as the JSON array of hex strings both stores keep.
pub fn heads_to_json(heads: &[ChangeHash]) -> String {
    let v: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

/// The tips of a set of raw changes: the hashes no other change of the set depends on.
/// `None` when a change does not parse.
pub fn change_tips(changes: &[Vec<u8>]) -> Option<Vec<ChangeHash>> {
    let mut hashes = Vec::with_capacity(changes.len());
    let mut deps = std::collections::HashSet::new();
    for bytes in changes {
        let c = automerge::Change::from_bytes(bytes.clone()).ok()?;
        hashes.push(c.hash());
        deps.extend(c.deps().iter().copied());
    }
    let mut tips: Vec<ChangeHash> = hashes.into_iter().filter(|h| !deps.contains(h)).collect();
    tips.sort();
    tips.dedup();
    Some(tips)
}

/// A fresh random actor id.
pub fn new_actor() -> ActorId {
    ActorId::random()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tips_of_the_changes_since_a_point_are_the_heads() {
        let mut a = AutoCommit::new();
        a.put(automerge::ROOT, "x", 1).unwrap();
        a.commit();
        let base = a.get_heads();
        a.put(automerge::ROOT, "x", 2).unwrap();
        a.commit();
        let mut b = a.fork();
        b.put(automerge::ROOT, "y", 1).unwrap();
        b.commit();
        a.put(automerge::ROOT, "z", 1).unwrap();
        a.commit();
        a.merge(&mut b).unwrap();
        let changes: Vec<Vec<u8>> = a
            .get_changes(&base)
            .into_iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        let mut heads = a.get_heads();
        heads.sort();
        assert_eq!(heads.len(), 2, "two concurrent branches");
        assert_eq!(change_tips(&changes), Some(heads));
        assert_eq!(change_tips(&[vec![1, 2, 3]]), None);
    }
    use crate::kinds::{Activity, ActivityKind};

    fn header(kind: Kind) -> Header {
        Header {
            kind,
            schema: kind.schema_version(),
            id: Uuid::now_v7(),
            village: "v1".into(),
            created_by: "p1".into(),
        }
    }

    fn activity(topic: &str, summary: &str) -> AnyRecord {
        AnyRecord::Activity(Activity {
            activity_kind: ActivityKind::PartyLecture,
            date: chrono::NaiveDate::from_ymd_opt(2026, 5, 1),
            topic: topic.into(),
            lecturer: "张书记".into(),
            summary: summary.into(),
            ..Default::default()
        })
    }

    #[test]
    fn fields_of_a_newer_version_survive_an_edit() {
        let h = header(Kind::Activity);
        let mut d = RecordDoc::create(new_actor(), &h, &activity("党课", "first")).unwrap();
        d.commit(&Author::default(), 0);
        // A newer version adds a top-level field and a field inside a list element.
        {
            let doc = d.automerge();
            doc.put(automerge::ROOT, "weather", "晴").unwrap();
            let list = doc
                .put_object(automerge::ROOT, "follow_ups", ObjType::List)
                .unwrap();
            let item = doc.insert_object(&list, 0, ObjType::Map).unwrap();
            doc.put(&item, "text", "修路").unwrap();
            doc.put(&item, "done", false).unwrap();
            doc.put(&item, "owner_phone", "123").unwrap();
            doc.commit();
        }
        let mut rec = d.record().unwrap();
        if let AnyRecord::Activity(a) = &mut rec {
            a.topic = "党课：新思想".into();
            a.follow_ups[0].done = true;
        }
        d.update(&rec).unwrap();
        d.commit(&Author::default(), 0);
        let j = d.to_json();
        assert_eq!(j["weather"], "晴");
        assert_eq!(j["follow_ups"][0]["owner_phone"], "123");
        assert_eq!(j["follow_ups"][0]["done"], true);
        assert_eq!(j["topic"], "党课：新思想");
    }

    #[test]
    fn concurrent_text_edits_merge_by_character() {
        let h = header(Kind::Activity);
        let mut a = RecordDoc::create(new_actor(), &h, &activity("t", "学习党章")).unwrap();
        a.commit(&Author::default(), 0);
        let mut b = RecordDoc::load(&a.save(), new_actor()).unwrap();
        let mut ra = a.record().unwrap();
        let mut rb = b.record().unwrap();
        if let AnyRecord::Activity(x) = &mut ra {
            x.summary = "集中学习党章".into();
        }
        if let AnyRecord::Activity(x) = &mut rb {
            x.summary = "学习党章和党规".into();
        }
        a.update(&ra).unwrap();
        a.commit(&Author::default(), 0);
        b.update(&rb).unwrap();
        b.commit(&Author::default(), 0);
        a.merge(&mut b).unwrap();
        assert_eq!(a.to_json()["summary"], "集中学习党章和党规");
    }

    #[test]
    fn history_names_author_and_fields() {
        let h = header(Kind::Activity);
        let mut d = RecordDoc::create(new_actor(), &h, &activity("t", "s")).unwrap();
        let who = Author {
            person: "李明".into(),
            device: "dev1".into(),
        };
        d.commit(&who, 100);
        let mut r = d.record().unwrap();
        if let AnyRecord::Activity(x) = &mut r {
            x.place = "村委会".into();
        }
        d.update(&r).unwrap();
        d.commit(&who, 200);
        let hist = d.history();
        assert_eq!(hist.len(), 2);
        assert_eq!(hist[1].fields, vec!["place".to_string()]);
        assert_eq!(hist[1].person.as_deref(), Some("李明"));
        assert!(hist[0].fields.contains(&"topic".to_string()));
    }

    #[test]
    fn changes_travel_as_bytes_and_twice_is_a_no_op() {
        let h = header(Kind::Activity);
        let mut a = RecordDoc::create(new_actor(), &h, &activity("t", "s")).unwrap();
        a.commit(&Author::default(), 0);
        let base = a.heads();
        let mut b = RecordDoc::load(&a.save(), new_actor()).unwrap();
        let mut r = a.record().unwrap();
        if let AnyRecord::Activity(x) = &mut r {
            x.place = "村部".into();
        }
        a.update(&r).unwrap();
        a.commit(&Author::default(), 0);
        let changes = a.changes_since(&base);
        assert_eq!(changes.len(), 1);
        assert!(b.apply_change_bytes(&changes).unwrap());
        assert!(!b.apply_change_bytes(&changes).unwrap());
        assert_eq!(b.to_json()["place"], "村部");
        assert!(b.apply_change_bytes(&[b"junk".to_vec()]).is_err());
        // A change whose dependency is missing waits.
        let mut c = RecordDoc::create(new_actor(), &h, &activity("t", "s")).unwrap();
        c.commit(&Author::default(), 0);
        let mut fresh = RecordDoc::from_autocommit(automerge::AutoCommit::new());
        let later = a.changes_since(&base);
        fresh.apply_change_bytes(&later).unwrap();
        assert!(!fresh.missing_deps().is_empty());
    }

    #[test]
    fn automerge_sync_protocol_converges() {
        let h = header(Kind::Activity);
        let mut a = RecordDoc::create(new_actor(), &h, &activity("t", "one")).unwrap();
        a.commit(&Author::default(), 0);
        let mut b = RecordDoc::load(&a.save(), new_actor()).unwrap();
        let mut r = b.record().unwrap();
        if let AnyRecord::Activity(x) = &mut r {
            x.place = "b".into();
        }
        b.update(&r).unwrap();
        b.commit(&Author::default(), 0);
        let (mut sa, mut sb) = (automerge::sync::State::new(), automerge::sync::State::new());
        for _ in 0..10 {
            let ma = a.generate_sync_message(&mut sa);
            if let Some(m) = &ma {
                b.receive_sync_message(&mut sb, m).unwrap();
            }
            let mb = b.generate_sync_message(&mut sb);
            if let Some(m) = &mb {
                a.receive_sync_message(&mut sa, m).unwrap();
            }
            if ma.is_none() && mb.is_none() {
                break;
            }
        }
        assert_eq!(a.to_json(), b.to_json());
    }

    #[test]
    fn a_deeply_nested_document_is_read_without_exhausting_the_stack() {
        let mut doc = AutoCommit::new();
        let mut obj = doc
            .put_object(automerge::ROOT, "topic", ObjType::Map)
            .unwrap();
        for _ in 0..100_000 {
            obj = doc.put_object(&obj, "x", ObjType::Map).unwrap();
        }
        doc.commit();
        let d = RecordDoc::from_autocommit(doc);
        assert!(d.header().is_err());
        assert!(d.to_json().to_string().contains("nested too deeply"));
    }

    #[test]
    fn an_edit_that_changes_nothing_makes_no_change() {
        let h = header(Kind::Activity);
        let mut d = RecordDoc::create(new_actor(), &h, &activity("t", "s")).unwrap();
        d.commit(&Author::default(), 0);
        let r = d.record().unwrap();
        d.update(&r).unwrap();
        assert!(d.commit(&Author::default(), 0).is_none());
    }

    #[test]
    fn list_insert_in_the_middle_keeps_neighbours() {
        let h = header(Kind::Activity);
        let mut rec = activity("t", "s");
        if let AnyRecord::Activity(x) = &mut rec {
            x.attendees = vec!["a".into(), "c".into()];
        }
        let mut d = RecordDoc::create(new_actor(), &h, &rec).unwrap();
        d.commit(&Author::default(), 0);
        if let AnyRecord::Activity(x) = &mut rec {
            x.attendees = vec!["a".into(), "b".into(), "c".into()];
        }
        d.update(&rec).unwrap();
        d.commit(&Author::default(), 0);
        assert_eq!(d.to_json()["attendees"], serde_json::json!(["a", "b", "c"]));
        if let AnyRecord::Activity(x) = &mut rec {
            x.attendees = vec!["c".into()];
        }
        d.update(&rec).unwrap();
        d.commit(&Author::default(), 0);
        assert_eq!(d.to_json()["attendees"], serde_json::json!(["c"]));
    }
}
