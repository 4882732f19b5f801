//! Errors of the replica, one variant per thing a caller acts on differently.

use std::path::PathBuf;

use zhucun_model::{Kind, ModelError};

#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error("cannot open the replica at {path}: wrong key, or the file is not a zhucun replica")]
    WrongKey { path: PathBuf },
    #[error("the replica at {path} was written by a newer version (schema {found}, this version knows {known}): update zhucun")]
    ReplicaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("no record with id {0}")]
    NotFound(String),
    #[error("`{0}` is not a record id (expected a UUID)")]
    BadId(String),
    #[error("record {id} is a {found} record, not a {expected}")]
    KindMismatch {
        id: String,
        expected: Kind,
        found: Kind,
    },
    #[error("village `{village}` is outside this device's scope ({scope})")]
    OutOfScope { village: String, scope: String },
    #[error(
        "village is required: this device's scope has {0} villages, name one with \"village\""
    )]
    VillageRequired(usize),
    #[error("village {village} already has a report for {month} (record {existing})")]
    DuplicateReport {
        village: String,
        month: String,
        existing: String,
    },
    #[error("record {0} was not refused by the server: there is nothing to keep")]
    NotRefused(String),
    #[error("record {0}: the refused edit holds no words the server's record lacks")]
    NothingToKeep(String),
    #[error("blob content does not match its hash {0}")]
    BlobHashMismatch(String),
    #[error("blob {0} is not stored completely on this device")]
    BlobMissing(String),
    #[error("chunk {idx} of blob {hash} has the wrong size or index")]
    BlobChunk { hash: String, idx: u64 },
    #[error("blob is larger than the limit of {limit} bytes")]
    BlobTooLarge { limit: u64 },
    #[error("row {}: {source}", row + 1)]
    InRow {
        row: usize,
        source: Box<ReplicaError>,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<zhucun_model::InvalidField> for ReplicaError {
    fn from(e: zhucun_model::InvalidField) -> Self {
        ReplicaError::Model(ModelError::Invalid(e))
    }
}

impl From<zhucun_model::DocError> for ReplicaError {
    fn from(e: zhucun_model::DocError) -> Self {
        ReplicaError::Model(ModelError::Doc(e))
    }
}
