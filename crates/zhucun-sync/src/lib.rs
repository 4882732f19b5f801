//! zhucun-sync: moves a replica's changes to the server and the server's to the replica.
//!
//! One `POST /v1/sync` carries the cursor and every dirty record's changes since the
//! server-acknowledged heads; the answer's acks, rejects and one page of pulled changes are
//! committed locally (a page in short transactions, the cursor with the last) before the next round.
//! Every request is safe to replay, so failures are retried with exponential backoff and
//! jitter, honouring `Retry-After`. A record whose heads disagree with the server's runs
//! Automerge's sync protocol alone. The device clock is used only to wait between retries.
//!
//! The transport is a trait; [`HttpTransport`] is reqwest with rustls. [`background`] runs
//! syncs on a thread of their own for the app.

pub mod background;
mod engine;
mod transport;

pub use engine::{enroll, fetch_blob, sync, HeldBack, Progress, SyncError, SyncOptions, SyncStats};
pub use transport::{HttpTransport, Method, Reply, Transport, TransportError};
