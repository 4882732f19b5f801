//! zhucun-server: the township's sync server. Devices push the records they changed and pull
//! what changed in their scope, one round trip per sync; the office dashboard (`web.rs`,
//! `dashboard.rs`) reads the projection rows written with every change. Storage is a trait with an embedded SQLite
//! backend and a PostgreSQL one for several server processes.
//!
//! Handlers stay thin (`api.rs`); record logic is `sync.rs`; storage is `store.rs` and its
//! backends. The server never edits a record except through the same CRDT path as a device.

pub mod admin;
pub mod api;
pub mod blobs;
pub mod dashboard;
pub mod export;
pub mod identity;
pub mod metrics;
pub mod office;
pub mod postgres;
pub mod ratelimit;
pub mod sqlite;
pub mod store;
pub mod sync;
pub mod web;
