//! Errors of the model: each variant is something a caller can act on.

use crate::kinds::Kind;

/// Why a field's value is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("is required")]
    Required,
    #[error("is not a field of this kind of record")]
    UnknownField,
    #[error("must not be negative")]
    Negative,
    #[error("must be between {min} and {max}")]
    OutOfRange { min: i64, max: i64 },
    #[error("must not be before {earlier} ({earlier_field})")]
    DatesOutOfOrder {
        earlier_field: String,
        earlier: String,
    },
    #[error("must be empty at stage {stage}")]
    NotYetReached { stage: String },
    #[error("is not valid: {0}")]
    Format(String),
    #[error("cannot change from {from} to {to}")]
    Transition { from: String, to: String },
    #[error("cannot be changed once set")]
    Immutable,
    #[error("refers to {0}, which is not in this replica")]
    UnknownReference(String),
    #[error("is used by kind {0} only")]
    NotForKind(String),
    /// A rule of the development pipeline (`kinds::pipeline`), named.
    #[error("breaks a rule of the development pipeline: {}", .0.describe())]
    Rule(crate::kinds::PipelineRule),
}

/// A field that failed validation: the error names the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct InvalidField {
    pub field: String,
    pub reason: Reason,
}

impl InvalidField {
    pub fn new(field: impl Into<String>, reason: Reason) -> Self {
        InvalidField {
            field: field.into(),
            reason,
        }
    }
}

/// Problems with a document's bytes or structure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocError {
    #[error("not a valid Automerge document: {0}")]
    Automerge(String),
    #[error("document has no `{0}` field, so it is not a zhucun record")]
    MissingHeader(&'static str),
    #[error("document envelope is not valid: {0}")]
    BadHeader(String),
    #[error("document is a {found} record, expected {expected}")]
    KindMismatch { expected: Kind, found: Kind },
    #[error("stored record does not match its kind: {0}")]
    Malformed(String),
    #[error("not a valid sync message: {0}")]
    SyncMessage(String),
    /// Changes refused before Automerge expands them (too many operations, a chunk kind no
    /// zhucun peer sends, bytes cut short): see `wire`.
    #[error("changes refused: {0}")]
    Changes(String),
    /// A record that would pass one record's limits (`wire::MAX_OPS_PER_RECORD`): no device
    /// could pull it whole. The edit is not saved.
    #[error("the record would hold {ops} operations, more than one record may ({max}): start a new record")]
    TooLarge { ops: u64, max: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("invalid field: {0}")]
    Invalid(#[from] InvalidField),
    #[error("unknown record kind `{0}` (expected one of: village, member, activity, project, task, report, inspection)")]
    UnknownKind(String),
    #[error(
        "{kind} record uses schema {found}; this version reads up to {supported}: update the app"
    )]
    SchemaTooNew {
        kind: Kind,
        found: u32,
        supported: u32,
    },
    #[error(transparent)]
    Doc(#[from] DocError),
    /// The user's role may not make this move (see `rules`).
    #[error("not allowed: {0}")]
    Forbidden(#[from] crate::rules::Forbidden),
    #[error(transparent)]
    UnknownName(#[from] crate::rules::UnknownName),
}
