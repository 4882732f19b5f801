//! The server's storage as a trait and its types, with one implementation per backend
//! (`sqlite.rs`, `postgres.rs`; chosen once by the URL's scheme, `crate::open_store`) and what
//! both share written once (`paging.rs`, `sql.rs`). A leaf: it imports nothing else of the server.
//! Everything about records that is not storage (applying changes, validation, scope) lives
//! in `sync.rs`.

pub mod paging;
pub mod postgres;
pub mod sql;
pub mod sqlite;

use std::collections::HashSet;

use async_trait::async_trait;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Duplicate(String),
    /// A record changed between reading and writing (another server process): retry.
    #[error("concurrent write to record {0}")]
    Conflict(String),
    #[error("enrolment code is not valid")]
    CodeInvalid,
    #[error("enrolment code was already used")]
    CodeUsed,
    #[error("enrolment code has expired")]
    CodeExpired,
    #[error("unsupported database URL `{0}` (use sqlite://PATH or postgres://...)")]
    BadUrl(String),
    #[error("database: {0}")]
    Backend(String),
    /// What this backend leaves to its own tools (a PostgreSQL backup is `pg_dump`'s).
    #[error("{0}")]
    Unsupported(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct OrgUnit {
    pub id: String,
    pub name: String,
    #[schema(value_type = zhucun_model::UnitKind)]
    pub kind: String,
    pub parent: Option<String>,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    pub id: String,
    pub name: String,
    pub role: String,
    pub units: Vec<String>,
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub role: String,
    pub units: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: String,
    pub name: String,
    pub token_hash: String,
    pub created_at: i64,
}

/// The asking device in a pull: its own entries are not sent back to it (it has them), except
/// those up to the cursor it was last answered with. A device asking from an earlier point
/// lost them: restored from a copy of its data (or the answer never reached it).
#[derive(Debug, Clone, Copy)]
pub struct Own<'a> {
    pub device: &'a str,
    pub synced_to: u64,
}

/// An authenticated device and what it may see.
#[derive(Debug, Clone)]
pub struct DeviceAuth {
    pub device_id: String,
    pub person_id: String,
    pub role: String,
    pub revoked: bool,
    /// Paths of the units the person is attached to: scope is every unit below them.
    pub scope_paths: Vec<String>,
    /// The cursor of the last sync round the server answered this device: its own log
    /// entries up to here are sent back to it if it asks from an earlier point.
    pub synced_to: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct DeviceInfo {
    pub id: String,
    pub name: String,
    pub person_id: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub created_at: i64,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub last_seen: Option<i64>,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub revoked_at: Option<i64>,
}

/// A record as the server holds it.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    pub id: String,
    pub kind: String,
    pub village: String,
    /// JSON array of hex change hashes.
    pub heads: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct ProjectionRow {
    pub title: String,
    pub date: Option<String>,
    pub sub_kind: Option<String>,
    pub status: Option<String>,
    pub detail: String,
}

/// One record's write, made in one transaction with every other write of the push.
#[derive(Debug, Clone)]
pub struct RecordWrite {
    pub id: String,
    pub kind: String,
    pub village: String,
    /// The heads read before applying (`None`: the record must not exist yet). A mismatch
    /// is a [`StoreError::Conflict`].
    pub expected_heads: Option<String>,
    pub heads: String,
    pub bytes: Vec<u8>,
    /// New log entries (Automerge changes, or a whole document for units newly reached).
    pub log: Vec<Vec<u8>>,
    pub projection: ProjectionRow,
    /// Paths of every unit the record reaches.
    pub unit_paths: Vec<String>,
    /// Paths of units the record reached before this write and no longer does: the new log
    /// entries reach them too.
    pub left_paths: Vec<String>,
    /// Hashes of the attachments the record refers to.
    pub blobs: Vec<String>,
    /// Receipts for the changes the write takes (see `change_receipts`).
    pub receipts: Vec<ChangeReceipt>,
}

/// The server's receipt for one change: see migration 0006.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeReceipt {
    /// The change's hash, hex.
    pub hash: String,
    /// The device that delivered it (for a stored receipt; the committing device when
    /// written).
    pub device_id: String,
    /// Whose the change is as the server knows it: the delivering device's person, or the
    /// office person who made it from the dashboard.
    pub person_id: String,
    /// The device's and the person's names (read back only; `None` for the dashboard).
    pub device_name: Option<String>,
    pub person_name: Option<String>,
    /// The server's clock, seconds since 1970.
    pub received_at: i64,
    /// The change names another device than the one that delivered it.
    pub relayed: bool,
}

/// A change-log entry a device pulls.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub seq: u64,
    pub record_id: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct PullPage {
    pub entries: Vec<LogEntry>,
    /// The cursor after this page.
    pub cursor: u64,
    pub more: bool,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Bring the schema up to date (idempotent).
    async fn migrate(&self) -> StoreResult<()>;
    /// Claim the database for this serving process, for as long as the store lives. SQLite
    /// refuses a second server on the same file (the log's order and the devices' cursors
    /// assume one writer process); PostgreSQL orders commits itself and takes any number.
    /// Administration commands on a served database do not claim it.
    async fn claim_server(&self) -> StoreResult<()> {
        Ok(())
    }
    async fn ping(&self) -> StoreResult<()>;

    async fn add_unit(
        &self,
        id: &str,
        name: &str,
        kind: &str,
        parent: Option<&str>,
    ) -> StoreResult<OrgUnit>;
    async fn units(&self) -> StoreResult<Vec<OrgUnit>>;
    async fn add_person(&self, p: &NewPerson) -> StoreResult<()>;
    async fn person(&self, id: &str) -> StoreResult<Option<Person>>;

    async fn add_code(&self, code_hash: &str, person_id: &str, expires_at: i64) -> StoreResult<()>;
    /// Use a code once and register the device, in one transaction.
    async fn redeem_code(
        &self,
        code_hash: &str,
        now: i64,
        device: &NewDevice,
    ) -> StoreResult<Person>;
    async fn device_by_token(&self, token_hash: &str) -> StoreResult<Option<DeviceAuth>>;
    /// A sync round was answered: "last sync" for the dashboard, and the cursor the device
    /// was given (see [`DeviceAuth::synced_to`]).
    async fn touch_device(&self, device_id: &str, now: i64, synced_to: u64) -> StoreResult<()>;
    async fn devices(&self) -> StoreResult<Vec<DeviceInfo>>;
    async fn revoke_device(&self, id: &str, now: i64) -> StoreResult<bool>;

    async fn load_docs(&self, ids: &[String]) -> StoreResult<Vec<StoredDoc>>;
    /// Write every record of a push in one transaction, appending to the log in order.
    async fn commit(&self, origin: &str, writes: &[RecordWrite]) -> StoreResult<()>;
    /// The receipts of a record's changes, in no order.
    async fn receipts(&self, record_id: &str) -> StoreResult<Vec<ChangeReceipt>>;
    /// Log entries after `after` reaching any of `scope_paths`, up to about `max_bytes`;
    /// entries pushed by `own.device` are left out past `own.synced_to` (see [`Own`]).
    async fn pull(
        &self,
        scope_paths: &[String],
        after: u64,
        own: Own<'_>,
        max_bytes: usize,
    ) -> StoreResult<PullPage>;
    async fn max_seq(&self) -> StoreResult<u64>;
    /// The bytes of the log entry at `seq`, if there is one.
    async fn entry(&self, seq: u64) -> StoreResult<Option<Vec<u8>>>;
    /// Every record id, sorted.
    async fn doc_ids(&self) -> StoreResult<Vec<String>>;
    /// What is wrong with the stored data, empty when nothing is: the backend's own page
    /// check where it has one (SQLite's `integrity_check`), then the rules every commit keeps
    /// (each log entry names a stored record; each record has its projection row and reaches
    /// a unit; no projection row without its record). See [`CONSISTENCY_CHECKS`].
    async fn check(&self) -> StoreResult<Vec<String>>;
    /// Write a consistent copy of the whole database to the new file `dest` while it keeps
    /// serving (SQLite: `VACUUM INTO`, one read transaction, so no commit is half in it).
    /// PostgreSQL answers [`StoreError::Unsupported`]: `pg_dump` does this (the README's recipe).
    async fn backup_into(&self, dest: &std::path::Path) -> StoreResult<()>;
    /// Whether a record reaching any of `scope_paths` refers to the blob `hash`.
    async fn blob_visible(&self, hash: &str, scope_paths: &[String]) -> StoreResult<bool>;
    /// Those of `hashes` some record refers to.
    async fn referenced_blobs(&self, hashes: &[String]) -> StoreResult<HashSet<String>>;

    // --- Office logins (the dashboard) ---

    /// Every person, with their units and whether they have a password.
    async fn people(&self) -> StoreResult<Vec<PersonInfo>>;
    /// The Argon2id hash of a person's office password, if they have one.
    async fn password_hash(&self, person_id: &str) -> StoreResult<Option<String>>;
    async fn login_failures(&self, user: &str) -> StoreResult<LoginFailures>;
    /// Count one more failed login for `user`, in one statement: the `max`-th failure in a
    /// row resets the count and locks until `lock_until`. Returns the state after it, so
    /// failures arriving at once each get their own count and exactly one of them locks.
    async fn add_login_failure(
        &self,
        user: &str,
        max: u32,
        lock_until: i64,
    ) -> StoreResult<LoginFailures>;
    /// Forget `user`'s failures (after a right password).
    async fn clear_login_failures(&self, user: &str) -> StoreResult<()>;
    async fn add_session(&self, s: &OfficeSession) -> StoreResult<()>;
    async fn session(&self, token_hash: &str) -> StoreResult<Option<OfficeSession>>;
    async fn touch_session(&self, token_hash: &str, now: i64) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Delete sessions last used before `before`.
    async fn prune_sessions(&self, before: i64) -> StoreResult<()>;

    // --- The dashboard's questions, answered from the projection tables ---

    async fn projections(&self, q: &ProjQuery) -> StoreResult<Vec<ProjRow>>;
    /// Activities of `villages` dated in `[from, to)`, counted per village and month (and kind
    /// when `by_kind`).
    async fn activity_counts(
        &self,
        villages: &[String],
        from: &str,
        to: &str,
        by_kind: bool,
    ) -> StoreResult<Vec<ActivityCount>>;
    /// (record id, unit path) for every unit under `scope_paths` each record of `kind` reaches.
    async fn record_reach(
        &self,
        kind: &str,
        scope_paths: &[String],
    ) -> StoreResult<Vec<(String, String)>>;
}

/// A logged-in office session (the token itself is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeSession {
    pub token_hash: String,
    pub person_id: String,
    pub csrf: String,
    pub created_at: i64,
    pub last_used: i64,
}

/// A person as the administration page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct PersonInfo {
    pub id: String,
    pub name: String,
    #[schema(value_type = zhucun_model::Role)]
    pub role: String,
    pub units: Vec<String>,
    /// Whether the person can log in to the dashboard.
    pub has_login: bool,
}

/// Failed logins in a row for one typed user id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginFailures {
    pub failures: u32,
    pub locked_until: Option<i64>,
}

/// Which projection rows to read (all conditions apply).
#[derive(Debug, Clone, Default)]
pub struct ProjQuery {
    pub kind: String,
    pub village: Option<String>,
    /// Only rows of these villages (the asker's scope); `None` reads every village.
    pub villages: Option<Vec<String>>,
    /// `date >= from` (a `YYYY-MM-DD` string compare).
    pub from: Option<String>,
    /// `date < to`.
    pub to: Option<String>,
    /// Newest first, at most this many.
    pub limit: Option<u32>,
}

/// One projection row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjRow {
    pub id: String,
    pub village: String,
    pub title: String,
    pub date: Option<String>,
    pub sub_kind: Option<String>,
    pub status: Option<String>,
    /// JSON (see `zhucun_model::figures`).
    pub detail: String,
}

/// Activities counted by village, month (`YYYY-MM`) and, when asked, activity kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityCount {
    pub village: String,
    pub month: String,
    /// `None` when counted over every kind.
    pub sub_kind: Option<String>,
    pub n: u64,
}

/// The path of a unit under `parent_path`.
pub fn child_path(parent_path: Option<&str>, id: &str) -> String {
    format!("{}{id}/", parent_path.unwrap_or("/"))
}

/// Every unit under the units a person is attached to: what their devices may see.
pub fn units_in_scope(units: Vec<OrgUnit>, attached: &[String]) -> Vec<OrgUnit> {
    let roots: Vec<String> = units
        .iter()
        .filter(|u| attached.contains(&u.id))
        .map(|u| u.path.clone())
        .collect();
    units
        .into_iter()
        .filter(|u| in_scope(&u.path, &roots))
        .collect()
}

/// Whether `path` lies under any of `scope_paths`.
pub fn in_scope(path: &str, scope_paths: &[String]) -> bool {
    scope_paths.iter().any(|s| path.starts_with(s.as_str()))
}

/// The rules every commit keeps, as queries that count what breaks them (the same SQL on
/// both backends), with what a count above zero means.
pub const CONSISTENCY_CHECKS: &[(&str, &str)] = &[
    (
        "SELECT count(*) FROM changes c WHERE NOT EXISTS (SELECT 1 FROM docs d WHERE d.id = c.record_id)",
        "change log entries name no stored record",
    ),
    (
        "SELECT count(*) FROM docs d WHERE NOT EXISTS (SELECT 1 FROM projections p WHERE p.id = d.id)",
        "records have no projection row",
    ),
    (
        "SELECT count(*) FROM projections p WHERE NOT EXISTS (SELECT 1 FROM docs d WHERE d.id = p.id)",
        "projection rows have no record",
    ),
    (
        "SELECT count(*) FROM docs d WHERE NOT EXISTS (SELECT 1 FROM record_units u WHERE u.record_id = d.id)",
        "records reach no organisation unit",
    ),
];
