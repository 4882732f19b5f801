//! zhucun-model: the records of village party-building work as typed Automerge documents.
//!
//! One document per record (activity, member, project, task, monthly report, inspection,
//! village profile). This crate knows the kinds, their validation, the projection facts each
//! record contributes and the report figures computed from them. It does no I/O, no async and
//! reads no clock: storage is `zhucun-replica`'s job, transport `zhucun-sync`'s.

pub mod calendar;
mod doc;
mod error;
mod facts;
pub mod figures;
pub mod kinds;
pub mod merge;
pub mod reminders;
pub mod rules;
mod values;
pub mod wire;

#[cfg(all(test, feature = "ts"))]
mod ts_check;

pub use automerge;
pub use doc::{
    change_tips, heads_to_json, new_actor, write_canonical, Author, EditSpan, ExportWriter, Header,
    HistoryEntry, MadeChange, RecordDoc, HEADER_KEYS,
};
pub use error::{DocError, InvalidField, ModelError, Reason};
pub use facts::Facts;
pub use kinds::{AnyRecord, Kind, RecordBody};
pub use merge::{AuthorRefused, EditRefused, PushedEdit, Receipt};
pub use rules::{due, Due, Forbidden, Month, Refused, Role, UnitKind, DUE_SOON_DAYS};
pub use values::{
    check_file_name, check_hash, parse_date, parse_month, Attachment, Money, HASH_PATTERN,
    MAX_FILE_NAME,
};

/// A new record id: a UUIDv7 (its time part is only for locality, never trusted for order).
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

pub use uuid::Uuid;
