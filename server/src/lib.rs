//! zhucun-server: the township's sync server. Devices push the records they changed and pull
//! what changed in their scope, one round trip per sync; the office dashboard reads the
//! projection rows written with every change.
//!
//! Three layers, each importing only the ones below it (ARCHITECTURE.md draws the map):
//! - `http`: the state, the route table with its middleware, handlers that only extract, call
//!   and map, and the one mapping of every error to a status and `{code, message}` body;
//! - the policies, which know no HTTP: `sync` (records: applying changes, validation, scope,
//!   the model's rules), `devices` (enrolment, tokens), `office` (logins, sessions),
//!   `dashboard`, `history`, `review`, `approvals`, `targets`, `tasks` and `export` (the answers, the
//!   review of reports, the township's approvals of development steps, a village's yearly targets, tasks issued from the dashboard, files), `admin` (the organisation), `blobs`
//!   (attachments), `identity` (tokens, codes, passwords), `metrics` (counters);
//! - `store`: the storage trait and its types, with one backend per database; chosen once, by
//!   the URL's scheme, in [`open_store`].
//!
//! The server never edits a record except through the same CRDT path as a device.

pub mod admin;
pub mod approvals;
pub mod backup;
pub mod blobs;
pub mod dashboard;
pub mod devices;
pub mod export;
pub mod history;
pub mod http;
pub mod identity;
pub mod metrics;
pub mod office;
pub mod review;
pub mod store;
pub mod sync;
pub mod targets;
pub mod tasks;

use std::sync::Arc;

use store::{Store, StoreError, StoreResult};

/// Open the store a URL names: `sqlite://PATH` or `postgres://...` (`postgresql://...`).
pub async fn open_store(url: &str) -> StoreResult<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(store::sqlite::SqliteStore::open(path)?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(store::postgres::PgStore::open(url).await?))
    } else {
        Err(StoreError::BadUrl(url.to_string()))
    }
}
