//! zhucun-replica: the device's store of records, one encrypted SQLite file.
//!
//! Each record is an Automerge document (see `zhucun-model`) kept with its projection row,
//! its full-text entry and its sync bookkeeping (the heads the server last acknowledged and a
//! dirty flag). A save writes all four in one transaction, so a crash leaves the old or the
//! new version and never a mix. Lists, filters, search and reports read projections; no query
//! loads every document. The file is encrypted with SQLCipher under a key the caller gives.
//!
//! This crate must not talk to the network (that is `zhucun-sync`) nor know about windows.

mod blobs;
mod error;
pub mod pin;
mod schema;
mod search;
mod sync;

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use serde_json::{Map, Value as Json};
use zhucun_model::automerge::{ActorId, ChangeHash};
use zhucun_model::figures::{self, ActivityFacts, MemberFacts, MonthlyFigures, ProjectFacts};
use zhucun_model::kinds::{MonthlyReport, VillageProfile};
use zhucun_model::{
    AnyRecord, Author, Header, HistoryEntry, InvalidField, Kind, ModelError, Reason, RecordDoc,
    Role, Uuid,
};

pub use blobs::{BlobInfo, CHUNK_SIZE, MAX_BLOB_SIZE};
pub use error::ReplicaError;
pub use search::{index_columns, match_expression};
pub use sync::{DirtyRecord, PullApplied, ServerLink, UnappliedPull};

pub type Result<T> = std::result::Result<T, ReplicaError>;

/// The name of the replica file inside the data directory.
pub const FILE_NAME: &str = "replica.db";

/// The key the replica file is encrypted with.
#[derive(Clone)]
pub enum Key {
    /// A passphrase, stretched by SQLCipher's own key derivation (PBKDF2).
    Passphrase(String),
    /// A 256-bit key derived by the caller (the app derives it from the PIN with Argon2id).
    Raw([u8; 32]),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// Who this device is and what it may see: set at enrolment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceProfile {
    /// The device's own id before enrolment (hex), persisted once. Edits are made under a
    /// fresh actor each time the replica is opened ([`Replica::edit_actor`]).
    pub actor: String,
    /// The device id the server gave at enrolment; the actor id until then.
    pub device: String,
    pub person: String,
    pub role: String,
    /// Village codes this device reads and writes; empty = not enrolled, no restriction.
    pub scope: Vec<String>,
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaveOutcome {
    pub id: String,
    pub kind: Kind,
    pub created: bool,
    /// False when the input changed nothing (no change written, nothing to sync).
    pub changed: bool,
}

/// A record as shown: its envelope, fields (as stored, including fields of newer versions)
/// and whether the server has its latest change.
#[derive(Debug, Clone, Serialize)]
pub struct StoredRecord {
    pub id: String,
    pub kind: Kind,
    pub village: String,
    pub synced: bool,
    pub record: Json,
}

/// One line of a list or a search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListRow {
    pub id: String,
    pub kind: String,
    pub village: String,
    pub title: String,
    pub date: Option<String>,
    pub sub_kind: Option<String>,
    pub status: Option<String>,
    pub synced: bool,
}

/// Filters for [`Replica::list`]; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Option<Kind>,
    pub village: Option<String>,
    /// Inclusive `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Inclusive `YYYY-MM-DD`.
    pub to: Option<String>,
    pub sub_kind: Option<String>,
    pub status: Option<String>,
    pub unsynced_only: bool,
    pub limit: Option<u32>,
    pub offset: u32,
}

/// The outcome of importing a document from elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    pub id: String,
    pub kind: Kind,
    pub created: bool,
    pub changed: bool,
}

/// The device's replica.
pub struct Replica {
    conn: Connection,
    path: PathBuf,
    profile: DeviceProfile,
    /// The Automerge actor of this opening's edits: new every time the replica is opened.
    /// A data directory restored from a copy has lost changes the server already holds;
    /// reusing their actor would number the next edit like a lost one (same actor and
    /// sequence number, different change), which Automerge refuses on merge, and the edit
    /// would never leave the device.
    actor: ActorId,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica").field("path", &self.path).finish()
    }
}

pub(crate) use zhucun_model::heads_to_json as heads_json;

fn parse_id(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| ReplicaError::BadId(s.to_string()))
}

fn now_secs() -> i64 {
    // Device clock: recorded in a change for people to read, never used for ordering.
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Replica {
    /// Open the replica in `dir`, creating the directory and the file if absent. A wrong key
    /// fails with [`ReplicaError::WrongKey`] before anything is written.
    pub fn open(dir: &Path, key: &Key) -> Result<Replica> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE_NAME);
        let conn = schema::open(&path, key)?;
        let mut r = Replica {
            conn,
            path,
            profile: DeviceProfile::default(),
            actor: ActorId::random(),
        };
        r.load_profile()?;
        Ok(r)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn load_profile(&mut self) -> Result<()> {
        let actor_hex = match self.meta("actor")? {
            Some(a) => a,
            None => {
                let a = ActorId::random().to_hex_string();
                self.conn
                    .execute("INSERT INTO meta(key, value) VALUES ('actor', ?1)", [&a])?;
                a
            }
        };
        // Checked, though edits no longer use it: a damaged meta row says so here.
        hex::decode(&actor_hex).map_err(|_| {
            ReplicaError::Model(zhucun_model::DocError::Malformed("stored actor id".into()).into())
        })?;
        let scope: Vec<String> = self
            .meta("scope")?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        self.profile = DeviceProfile {
            device: self.meta("device")?.unwrap_or_else(|| actor_hex.clone()),
            person: self.meta("person")?.unwrap_or_else(|| "local".into()),
            role: self.meta("role")?.unwrap_or_default(),
            actor: actor_hex,
            scope,
        };
        let p = &self.profile;
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO actors(actor, device, person) VALUES (?1, ?2, ?3)
             ON CONFLICT(actor) DO UPDATE SET device = excluded.device, person = excluded.person",
        )?;
        for actor in [p.actor.clone(), self.actor.to_hex_string()] {
            stmt.execute(params![actor, p.device, p.person])?;
        }
        Ok(())
    }

    pub fn profile(&self) -> &DeviceProfile {
        &self.profile
    }

    /// The Automerge actor (hex) this opening of the replica edits under.
    pub fn edit_actor(&self) -> String {
        self.actor.to_hex_string()
    }

    /// Set who uses this device and which villages it covers (done by enrolment).
    pub fn set_profile(
        &mut self,
        device: Option<&str>,
        person: &str,
        role: &str,
        scope: &[String],
    ) -> Result<()> {
        if person.trim().is_empty() {
            return Err(InvalidField::new("person", Reason::Required).into());
        }
        let tx = self.write_tx()?;
        let put = |k: &str, v: &str| {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )
        };
        if let Some(d) = device {
            put("device", d)?;
        }
        put("person", person)?;
        put("role", role)?;
        put(
            "scope",
            &serde_json::to_string(scope).unwrap_or_else(|_| "[]".into()),
        )?;
        tx.commit()?;
        self.load_profile()
    }

    /// Remember the person's name and the names of the units in this device's scope (set at
    /// enrolment), so screens can say 李明 and 东风村 rather than codes.
    pub fn set_names(&mut self, person_name: &str, units: &[(String, String)]) -> Result<()> {
        let map: serde_json::Map<String, Json> = units
            .iter()
            .map(|(id, name)| (id.clone(), Json::String(name.clone())))
            .collect();
        self.put_meta(&[
            ("unit_names", &Json::Object(map).to_string()),
            ("person_name", person_name),
        ])
    }

    /// Set several `meta` entries in one transaction.
    pub(crate) fn put_meta(&self, entries: &[(&str, &str)]) -> Result<()> {
        let tx = self.write_tx()?;
        for (k, v) in entries {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The name of the person this device belongs to, if enrolment gave it.
    pub fn person_name(&self) -> Result<Option<String>> {
        self.meta("person_name")
    }

    /// Unit code → name, for the units named at enrolment.
    pub fn unit_names(&self) -> Result<Vec<(String, String)>> {
        let map: serde_json::Map<String, Json> = self
            .meta("unit_names")?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        Ok(map
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|n| (k, n.to_string())))
            .collect())
    }

    fn author(&self) -> Author {
        Author {
            person: self.profile.person.clone(),
            device: self.profile.device.clone(),
        }
    }

    fn check_scope(&self, village: &str) -> Result<()> {
        if self.profile.scope.is_empty() || self.profile.scope.iter().any(|v| v == village) {
            Ok(())
        } else {
            Err(ReplicaError::OutOfScope {
                village: village.into(),
                scope: self.profile.scope.join(", "),
            })
        }
    }

    pub(crate) fn load_doc(&self, id: &str) -> Result<Option<(Kind, RecordDoc)>> {
        let row: Option<(String, Vec<u8>)> = self
            .conn
            .query_row("SELECT kind, bytes FROM docs WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        match row {
            None => Ok(None),
            Some((kind, bytes)) => {
                let kind: Kind = kind.parse()?;
                Ok(Some((kind, RecordDoc::load(&bytes, self.actor.clone())?)))
            }
        }
    }

    /// Create or edit a record from user input: a JSON object of fields, with `"id"` to edit
    /// an existing record and optionally `"village"` for a new one. Validates everything
    /// first; nothing is written when anything is wrong.
    pub fn put(&mut self, kind: Kind, input: &Map<String, Json>) -> Result<SaveOutcome> {
        let mut out = self
            .put_many(kind, std::slice::from_ref(input))
            .map_err(|e| match e {
                ReplicaError::InRow { source, .. } => *source,
                e => e,
            })?;
        Ok(out.remove(0))
    }

    /// Save several records of one kind in one transaction: all of them or none (an import
    /// of a spreadsheet). The error names the failing input's index.
    pub fn put_many(
        &mut self,
        kind: Kind,
        inputs: &[Map<String, Json>],
    ) -> Result<Vec<SaveOutcome>> {
        let tx = self.write_tx()?;
        let mut outs = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            let o = self
                .put_in(&tx, kind, input)
                .map_err(|e| ReplicaError::InRow {
                    row: i,
                    source: Box::new(e),
                })?;
            outs.push(o);
        }
        tx.commit()?;
        Ok(outs)
    }

    fn put_in(
        &self,
        tx: &Transaction<'_>,
        kind: Kind,
        input: &Map<String, Json>,
    ) -> Result<SaveOutcome> {
        let mut fields = input.clone();
        let id = fields.remove("id");
        let village = fields.remove("village");
        let village = match village {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) if s.trim().is_empty() => None,
            Some(Json::String(s)) => Some(s.trim().to_string()),
            Some(_) => {
                return Err(InvalidField::new(
                    "village",
                    Reason::Format("must be a village code".into()),
                )
                .into())
            }
        };
        match id {
            None | Some(Json::Null) => self.create(tx, kind, village, &fields),
            Some(Json::String(s)) if s.trim().is_empty() => self.create(tx, kind, village, &fields),
            Some(Json::String(s)) => self.edit(tx, kind, &s, village, &fields),
            Some(_) => {
                Err(InvalidField::new("id", Reason::Format("must be a string".into())).into())
            }
        }
    }

    fn create(
        &self,
        tx: &Transaction<'_>,
        kind: Kind,
        village: Option<String>,
        fields: &Map<String, Json>,
    ) -> Result<SaveOutcome> {
        let village = match village {
            Some(v) => v,
            None if self.profile.scope.len() == 1 => self.profile.scope[0].clone(),
            None => return Err(ReplicaError::VillageRequired(self.profile.scope.len())),
        };
        self.check_scope(&village)?;
        let mut record = AnyRecord::apply_input(kind, None, fields)?;
        let id = zhucun_model::new_id();
        self.prepare(&id.to_string(), &village, &mut record, None)?;
        let header = Header {
            kind,
            schema: kind.schema_version(),
            id,
            village,
            created_by: self.profile.person.clone(),
        };
        let mut doc = RecordDoc::create(self.actor.clone(), &header, &record)?;
        doc.commit(&self.author(), now_secs());
        doc.check_size().map_err(ModelError::from)?;
        write_doc(tx, &header, Some(&record), &mut doc, None)?;
        Ok(SaveOutcome {
            id: id.to_string(),
            kind,
            created: true,
            changed: true,
        })
    }

    fn edit(
        &self,
        tx: &Transaction<'_>,
        kind: Kind,
        id: &str,
        village: Option<String>,
        fields: &Map<String, Json>,
    ) -> Result<SaveOutcome> {
        let uuid = parse_id(id)?;
        let id = uuid.to_string();
        let (found, mut doc) = self
            .load_doc(&id)?
            .ok_or_else(|| ReplicaError::NotFound(id.clone()))?;
        if found != kind {
            return Err(ReplicaError::KindMismatch {
                id,
                expected: kind,
                found,
            });
        }
        let header = doc.header()?;
        if village.as_ref().is_some_and(|v| *v != header.village) {
            return Err(InvalidField::new("village", Reason::Immutable).into());
        }
        let previous = doc.record()?;
        // A record may be edited by a device it reaches: a village answers the township's task.
        let reaches = previous.facts().reaches;
        if self.check_scope(&header.village).is_err()
            && !reaches.iter().any(|u| self.check_scope(u).is_ok())
        {
            self.check_scope(&header.village)?;
        }
        let mut record = AnyRecord::apply_input(kind, Some(&previous), fields)?;
        self.prepare(&id, &header.village, &mut record, Some(&previous))?;
        doc.update(&record)?;
        let changed = doc.commit(&self.author(), now_secs()).is_some();
        if changed {
            doc.check_size().map_err(ModelError::from)?;
            write_doc(tx, &header, Some(&record), &mut doc, None)?;
        }
        Ok(SaveOutcome {
            id,
            kind,
            created: false,
            changed,
        })
    }

    /// Validation that needs the replica: references, uniqueness, computed figures.
    fn prepare(
        &self,
        id: &str,
        village: &str,
        record: &mut AnyRecord,
        previous: Option<&AnyRecord>,
    ) -> Result<()> {
        if let AnyRecord::Report(r) = record {
            let prev_state = match previous {
                Some(AnyRecord::Report(p)) => Some(p.state),
                _ => None,
            };
            let follows = prev_state.is_none_or(|s| s.figures_follow_records());
            if follows {
                if let Some((y, m)) = zhucun_model::parse_month(&r.month) {
                    r.figures = Some(self.monthly_figures(village, y, m)?);
                }
            }
        }
        record.validate(previous)?;
        // The server refuses what the person's role may not do; refuse it here, before saving.
        // A replica not enrolled has no role yet, as it has no scope: no restriction.
        if !self.profile.role.is_empty() {
            let role: Role = self.profile.role.parse().map_err(ModelError::from)?;
            record.permit(previous, role).map_err(ModelError::from)?;
        }
        for (field, member) in record.member_refs() {
            let stage: Option<Option<String>> = self
                .conn
                .query_row(
                    "SELECT status FROM records WHERE id = ?1 AND kind = 'member'",
                    [member.trim()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(stage) = stage else {
                return Err(InvalidField::new(
                    field,
                    Reason::UnknownReference(format!("member {member}")),
                )
                .into());
            };
            // An introducer named by this edit is a full member on this replica's roster.
            if let AnyRecord::Member(_) = &*record {
                let named_before = matches!(previous, Some(AnyRecord::Member(p))
                    if p.introducers.iter().any(|i| i.trim() == member.trim()));
                let stage = stage
                    .as_deref()
                    .and_then(zhucun_model::kinds::from_enum_name);
                if field.starts_with("introducers") && !named_before {
                    zhucun_model::kinds::pipeline::check_introducer(&field, stage)?;
                }
            }
        }
        // Attachments added by this edit must be stored here; ones that arrived with a synced
        // record may still be on the server only (downloaded on demand).
        let known: Vec<String> = previous
            .map(|p| p.blob_refs().into_iter().map(|(_, h)| h).collect())
            .unwrap_or_default();
        for (field, hash) in record.blob_refs() {
            if !known.contains(&hash) && !self.has_blob(&hash)? {
                return Err(InvalidField::new(
                    field,
                    Reason::UnknownReference(format!("attachment {hash}")),
                )
                .into());
            }
        }
        if let AnyRecord::Report(MonthlyReport { month, .. }) = record {
            let existing: Option<String> = self
                .conn
                .query_row(
                    "SELECT id FROM records WHERE kind = 'report' AND village = ?1 AND sub_kind = ?2 AND id != ?3",
                    params![village, &*month, id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(existing) = existing {
                return Err(ReplicaError::DuplicateReport {
                    village: village.into(),
                    month: month.clone(),
                    existing,
                });
            }
        }
        Ok(())
    }

    /// A record with its fields as stored.
    pub fn get(&self, id: &str) -> Result<StoredRecord> {
        let id = parse_id(id)?.to_string();
        let (kind, doc) = self
            .load_doc(&id)?
            .ok_or_else(|| ReplicaError::NotFound(id.clone()))?;
        let header = doc.header()?;
        let dirty: bool = self.conn.query_row(
            "SELECT s.dirty FROM sync_state s JOIN docs d ON d.n = s.n WHERE d.id = ?1",
            [&id],
            |r| r.get(0),
        )?;
        Ok(StoredRecord {
            id,
            kind,
            village: header.village,
            synced: !dirty,
            record: doc.to_json(),
        })
    }

    /// A member's next step in the development pipeline (`None`: not a member, or nothing
    /// left to do).
    pub fn next_step(&self, id: &str) -> Result<Option<zhucun_model::kinds::NextStep>> {
        Ok(match self.get_typed(id)? {
            AnyRecord::Member(m) => zhucun_model::kinds::pipeline::next_step(&m),
            _ => None,
        })
    }

    /// The typed record (fails with `SchemaTooNew` for a record a newer version wrote).
    pub fn get_typed(&self, id: &str) -> Result<AnyRecord> {
        let id = parse_id(id)?.to_string();
        let (_, doc) = self
            .load_doc(&id)?
            .ok_or_else(|| ReplicaError::NotFound(id.clone()))?;
        Ok(doc.record()?)
    }

    /// Records matching `filter`, newest date first, from projection rows only.
    pub fn list(&self, f: &Filter) -> Result<Vec<ListRow>> {
        let (mut sql, args) = filter_sql(
            "SELECT r.id, r.kind, r.village, r.title, r.date, r.sub_kind, r.status, d.dirty",
            f,
        );
        // NULL dates sort last; (kind, date) indexes carry n, so this walks an index.
        sql.push_str(" ORDER BY r.date DESC, r.n DESC");
        sql.push_str(&format!(
            " LIMIT {} OFFSET {}",
            f.limit.map(i64::from).unwrap_or(-1),
            f.offset
        ));
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), row_to_list)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The list line of one record (`None` when this device does not hold it).
    pub fn row(&self, id: &str) -> Result<Option<ListRow>> {
        let id = parse_id(id)?.to_string();
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, r.kind, r.village, r.title, r.date, r.sub_kind, r.status, d.dirty
             FROM records r JOIN sync_state d ON d.n = r.n WHERE r.id = ?1",
        )?;
        Ok(stmt.query_row([&id], row_to_list).optional()?)
    }

    /// How many records match `filter` (its limit and offset ignored): the length of a list
    /// the app scrolls through a page at a time.
    pub fn count(&self, f: &Filter) -> Result<u64> {
        let (sql, args) = filter_sql("SELECT count(*)", f);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let n: i64 = stmt.query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Full-text search over every record this device holds (see `search.rs`), the most
    /// recently created records first. The index is walked newest first and stops at
    /// `limit`, so a word found in every record costs no more than a rare one.
    pub fn search(&self, text: &str, kind: Option<Kind>, limit: u32) -> Result<Vec<ListRow>> {
        let Some(expr) = search::match_expression(text) else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, r.kind, r.village, r.title, r.date, r.sub_kind, r.status, d.dirty
             FROM search s JOIN records r ON r.n = s.rowid JOIN sync_state d ON d.n = r.n
             WHERE search MATCH ?1 AND (?2 IS NULL OR r.kind = ?2)
             ORDER BY s.rowid DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![expr, kind.map(|k| k.as_str()), limit], row_to_list)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Who changed which fields of a record, in causal order.
    pub fn history(&self, id: &str) -> Result<Vec<HistoryEntry>> {
        let id = parse_id(id)?.to_string();
        let (_, mut doc) = self
            .load_doc(&id)?
            .ok_or_else(|| ReplicaError::NotFound(id.clone()))?;
        let mut h = doc.history();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT device, person FROM actors WHERE actor = ?1")?;
        for e in &mut h {
            if e.person.is_none() {
                if let Some((d, p)) = stmt
                    .query_row([&e.actor], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?
                {
                    e.device = Some(d);
                    e.person = Some(p);
                }
            }
        }
        Ok(h)
    }

    /// The raw Automerge bytes of a record (a full save, readable by any Automerge).
    pub fn doc_bytes(&self, id: &str) -> Result<Vec<u8>> {
        let id = parse_id(id)?.to_string();
        self.conn
            .query_row("SELECT bytes FROM docs WHERE id = ?1", [&id], |r| r.get(0))
            .optional()?
            .ok_or(ReplicaError::NotFound(id))
    }

    /// Merge a record's Automerge bytes from elsewhere (another device, a file). The record's
    /// envelope must be valid and its village in scope (or a unit it reaches); a record written by a newer version
    /// is kept even if this version cannot read its fields.
    pub fn import_doc(&mut self, bytes: &[u8]) -> Result<ImportOutcome> {
        let mut incoming = RecordDoc::load(bytes, self.actor.clone())?;
        let header = incoming.header()?;
        // As for an edit: a record reaching a unit in scope (a township's task) may come in.
        if self.check_scope(&header.village).is_err() {
            let reaches = incoming
                .record()
                .map(|r| r.facts().reaches)
                .unwrap_or_default();
            if !reaches.iter().any(|u| self.check_scope(u).is_ok()) {
                self.check_scope(&header.village)?;
            }
        }
        let id = header.id.to_string();
        // The write lock first: another connection (the app's background sync) may write the
        // same record between our read and our write.
        let tx = self.write_tx()?;
        let (created, mut doc) = match self.load_doc(&id)? {
            Some((kind, mut doc)) => {
                if kind != header.kind {
                    return Err(ReplicaError::KindMismatch {
                        id,
                        expected: kind,
                        found: header.kind,
                    });
                }
                if !doc.merge(&mut incoming)? {
                    return Ok(ImportOutcome {
                        id,
                        kind,
                        created: false,
                        changed: false,
                    });
                }
                (false, doc)
            }
            None => (true, incoming),
        };
        let header = doc.header()?;
        let record = doc.record().ok();
        write_doc(&tx, &header, record.as_ref(), &mut doc, None)?;
        tx.commit()?;
        Ok(ImportOutcome {
            id,
            kind: header.kind,
            created,
            changed: true,
        })
    }

    /// Every record as canonical JSON, sorted by id, one record per line; documents are read
    /// one at a time. Two replicas holding the same records print the same bytes.
    pub fn export_canonical(&self, out: &mut dyn std::io::Write) -> Result<()> {
        let mut stmt = self.conn.prepare("SELECT bytes FROM docs ORDER BY id")?;
        let mut rows = stmt.query([])?;
        let mut w = zhucun_model::ExportWriter::begin(out)?;
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(0)?;
            let doc = RecordDoc::load(&bytes, self.actor.clone())?;
            w.record(&doc.to_json())?;
        }
        w.end()?;
        Ok(())
    }

    /// The projection details of a village's records of `kind` dated from `from` to before
    /// `to` (`from` empty: all of them), by date.
    fn details(
        &self,
        village: &str,
        kind: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, detail FROM records
             WHERE village = ?1 AND kind = ?2 AND readable = 1
               AND (?3 = '' OR (date >= ?3 AND date < ?4))
             ORDER BY date, id",
        )?;
        let rows = stmt.query_map(params![village, kind, from, to], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// A village's party-life calendar on day `on` (`zhucun_model::calendar`), from its
    /// activities of that year.
    pub fn party_life(
        &self,
        village: &str,
        on: chrono::NaiveDate,
    ) -> Result<Vec<zhucun_model::calendar::PartyLifeItem>> {
        use chrono::Datelike;
        let from = format!("{:04}-01-01", on.year());
        let to = format!("{:04}-01-01", on.year() + 1);
        let activities: Vec<ActivityFacts> = self
            .details(village, "activity", &from, &to)?
            .into_iter()
            .filter_map(|(_, d)| serde_json::from_str(&d).ok())
            .collect();
        Ok(zhucun_model::calendar::party_life(on, &activities))
    }

    /// What this device reminds its user of on `today` (`zhucun_model::reminders`), from its
    /// records alone: its open tasks, the party-life calendar of `villages`, its members.
    pub fn reminders(
        &self,
        today: chrono::NaiveDate,
        villages: &[String],
    ) -> Result<Vec<zhucun_model::reminders::Reminder>> {
        use zhucun_model::kinds::{from_enum_name, TaskStatus};
        use zhucun_model::reminders::{MemberLine, TaskLine};
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, village, title, status, date, detail FROM records
             WHERE kind = ?1 AND readable = 1 ORDER BY date, id",
        )?;
        type Line = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
        );
        let mut lines = |kind: &str| -> Result<Vec<Line>> {
            let rows = stmt.query_map([kind], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        };
        let tasks: Vec<TaskLine> = lines("task")?
            .into_iter()
            .map(|(id, village, title, status, date, _)| TaskLine {
                id,
                village,
                title,
                status: status
                    .as_deref()
                    .and_then(from_enum_name::<TaskStatus>)
                    .unwrap_or_default(),
                deadline: date.as_deref().and_then(zhucun_model::parse_date),
            })
            .collect();
        let members: Vec<MemberLine> = lines("member")?
            .into_iter()
            .filter_map(|(id, village, name, _, _, detail)| {
                let f: MemberFacts = serde_json::from_str(&detail).ok()?;
                Some(MemberLine {
                    id,
                    village,
                    name,
                    stage: f.stage,
                    probationary_on: f.probationary_on,
                    applied_on: f.applied_on,
                    talked_on: f.talked_on,
                    activist_on: f.activist_on,
                    assessed_on: f.assessed_on,
                    approved_on: f.approved_on,
                })
            })
            .collect();
        drop(stmt);
        let mut calendars = Vec::new();
        for v in villages {
            calendars.push((v.clone(), self.party_life(v, today)?));
        }
        Ok(zhucun_model::reminders::reminders(
            today, &tasks, &calendars, &members,
        ))
    }

    /// The figures of a village's monthly report, computed from projection rows.
    pub fn monthly_figures(&self, village: &str, year: i32, month: u32) -> Result<MonthlyFigures> {
        let details = |kind: &str, from: &str, to: &str| self.details(village, kind, from, to);
        // Activities from the quarter's start (the quarterly half of "three meetings and one
        // lesson") to the month's end; the roster and projects whole.
        let q_start = format!("{year:04}-{:02}-01", (month.clamp(1, 12) - 1) / 3 * 3 + 1);
        let next = if month >= 12 {
            format!("{:04}-01-01", year + 1)
        } else {
            format!("{year:04}-{:02}-01", month + 1)
        };
        let activities: Vec<ActivityFacts> = details("activity", &q_start, &next)?
            .into_iter()
            .filter_map(|(_, d)| serde_json::from_str(&d).ok())
            .collect();
        let members: Vec<MemberFacts> = details("member", "", "")?
            .into_iter()
            .filter_map(|(_, d)| serde_json::from_str(&d).ok())
            .collect();
        let projects: Vec<(String, ProjectFacts)> = details("project", "", "")?
            .into_iter()
            .filter_map(|(id, d)| serde_json::from_str(&d).ok().map(|p| (id, p)))
            .collect();
        let target = self
            .village_profile(village)?
            .map(|v| v.development_target)
            .unwrap_or(figures::DEVELOPMENT_MINIMUM);
        Ok(figures::monthly_figures(
            year,
            month,
            &activities,
            &members,
            &projects,
            target,
        ))
    }

    fn village_profile(&self, village: &str) -> Result<Option<VillageProfile>> {
        let id: Option<String> = self
            .conn
            .query_row(
                "SELECT id FROM records WHERE kind = 'village' AND village = ?1 AND readable = 1 ORDER BY id LIMIT 1",
                [village],
                |r| r.get(0),
            )
            .optional()?;
        match id {
            None => Ok(None),
            Some(id) => match self.get_typed(&id)? {
                AnyRecord::Village(v) => Ok(Some(v)),
                _ => Ok(None),
            },
        }
    }

    /// Never checkpoint the write-ahead log on this connection's commits: the app's UI
    /// connection calls this so a save never pays for copying a big sync's pages into the
    /// database file. Another connection (the background sync's) must then checkpoint, by
    /// its own commits or [`Replica::checkpoint`]; closing the last connection does too.
    pub fn leave_checkpoints_to_others(&self) -> Result<()> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(())
    }

    /// Copy what the write-ahead log holds into the database file, as far as readers allow.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Number of records held, by kind.
    pub fn counts(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT kind, count(*) FROM docs GROUP BY kind ORDER BY kind")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// `PRAGMA integrity_check` result lines (`["ok"]` when sound).
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// A write transaction that holds the write lock from its first statement (`BEGIN
    /// IMMEDIATE`). Every read-modify-write uses it: the app's background sync has its own
    /// connection to the same file, and a deferred transaction could read a document, lose
    /// the race for the lock and fail, or worse, write back a stale copy.
    pub(crate) fn write_tx(&self) -> Result<Transaction<'_>> {
        Ok(Transaction::new_unchecked(
            &self.conn,
            TransactionBehavior::Immediate,
        )?)
    }
}

fn row_to_list(r: &rusqlite::Row<'_>) -> rusqlite::Result<ListRow> {
    Ok(ListRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        village: r.get(2)?,
        title: r.get(3)?,
        date: r.get(4)?,
        sub_kind: r.get(5)?,
        status: r.get(6)?,
        synced: !r.get::<_, bool>(7)?,
    })
}

/// The `FROM ... WHERE ...` of a filtered list, after `select`; values are bound, never
/// spliced.
fn filter_sql(select: &str, f: &Filter) -> (String, Vec<String>) {
    let mut sql = format!("{select} FROM records r JOIN sync_state d ON d.n = r.n WHERE 1=1");
    let mut args: Vec<String> = Vec::new();
    let mut bind = |v: &str| {
        args.push(v.to_string());
        args.len()
    };
    if let Some(k) = f.kind {
        sql += &format!(" AND r.kind = ?{}", bind(k.as_str()));
    }
    if let Some(v) = &f.village {
        let i = bind(v);
        sql += &format!(
            " AND (r.village = ?{i} OR r.n IN (SELECT n FROM record_reach WHERE unit = ?{i}))"
        );
    }
    if let Some(d) = &f.from {
        sql += &format!(" AND r.date >= ?{}", bind(d));
    }
    if let Some(d) = &f.to {
        sql += &format!(" AND r.date <= ?{}", bind(d));
    }
    if let Some(s) = &f.sub_kind {
        sql += &format!(" AND r.sub_kind = ?{}", bind(s));
    }
    if let Some(s) = &f.status {
        sql += &format!(" AND r.status = ?{}", bind(s));
    }
    if f.unsynced_only {
        sql.push_str(" AND d.dirty = 1");
    }
    (sql, args)
}

/// Write a document, its projection row, search entry and sync bookkeeping. The caller owns
/// the transaction, so all of it lands together or not at all. `acked` sets the heads the
/// server acknowledged (sync); `None` keeps them.
pub(crate) fn write_doc(
    tx: &Transaction<'_>,
    header: &Header,
    record: Option<&AnyRecord>,
    doc: &mut RecordDoc,
    acked: Option<&[ChangeHash]>,
) -> Result<()> {
    let id = header.id.to_string();
    let heads = doc.heads();
    let heads_s = heads_json(&heads);
    let bytes = doc.save();
    tx.execute(
        "INSERT INTO docs(id, kind, village, bytes) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET bytes = excluded.bytes",
        params![id, header.kind.as_str(), header.village, bytes],
    )?;
    let n: i64 = tx.query_row("SELECT n FROM docs WHERE id = ?1", [&id], |r| r.get(0))?;
    tx.execute(
        "INSERT INTO sync_state(n, heads) VALUES (?1, ?2)
         ON CONFLICT(n) DO UPDATE SET heads = excluded.heads",
        params![n, heads_s],
    )?;
    if let Some(a) = acked {
        tx.execute(
            "UPDATE sync_state SET acked_heads = ?2 WHERE n = ?1",
            params![n, heads_json(a)],
        )?;
    }
    tx.execute(
        "UPDATE sync_state SET dirty = (acked_heads != heads) WHERE n = ?1",
        [n],
    )?;
    let facts = record.map(|r| r.facts()).unwrap_or_default();
    let title = if record.is_some() {
        facts.title.clone()
    } else {
        format!("({} record from a newer version)", header.kind)
    };
    tx.execute(
        "INSERT INTO records(n, id, kind, village, title, date, sub_kind, status, readable, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(n) DO UPDATE SET title = excluded.title, date = excluded.date,
           sub_kind = excluded.sub_kind, status = excluded.status,
           readable = excluded.readable, detail = excluded.detail",
        params![
            n,
            id,
            header.kind.as_str(),
            header.village,
            title,
            facts.date.map(|d| d.format("%Y-%m-%d").to_string()),
            facts.sub_kind,
            facts.status,
            record.is_some(),
            facts.detail.to_string(),
        ],
    )?;
    tx.execute("DELETE FROM record_reach WHERE n = ?1", [n])?;
    for unit in &facts.reaches {
        tx.execute(
            "INSERT OR IGNORE INTO record_reach(unit, n) VALUES (?1, ?2)",
            params![unit, n],
        )?;
    }
    tx.execute("DELETE FROM search WHERE rowid = ?1", [n])?;
    let (body, uni) = search::index_columns(&format!("{}\n{}", facts.title, facts.search_text));
    tx.execute(
        "INSERT INTO search(rowid, body, uni) VALUES (?1, ?2, ?3)",
        params![n, body, uni],
    )?;
    // A bounded share of index merging (about 16 pages), so no single save pays for a big merge.
    tx.execute("INSERT INTO search(search, rank) VALUES ('merge', 16)", [])?;
    Ok(())
}

pub use zhucun_model::write_canonical;
