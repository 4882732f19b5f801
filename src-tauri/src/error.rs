//! The one place errors become what the UI sees: `{kind, message, ...}`, so the UI can say
//! the right words in Chinese or English (it looks `kind` and `reason` up in its catalogs;
//! `message` is the English detail for logs and for cases the catalogs do not name).

use serde::Serialize;
use ts_rs::TS;
use zhucun_model::{ModelError, Reason, Refused};
use zhucun_replica::pin::PinError;
use zhucun_replica::ReplicaError;
use zhucun_sync::SyncError;

/// What went wrong, as the UI branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorKind {
    /// The app is locked: ask for the PIN.
    Locked,
    /// No replica on this device yet: enrol.
    NotEnrolled,
    WrongPin,
    /// Too many wrong PINs: wait `wait_secs`.
    LockedOut,
    PinTooShort,
    /// A field of the input is not acceptable: see `field` and `reason`.
    Invalid,
    NotFound,
    OutOfScope,
    /// A monthly report for that village and month exists already.
    Duplicate,
    /// The server could not be reached.
    Offline,
    /// The server refused (see `code`: `bad_code`, `token_revoked`, ...).
    Refused,
    /// A server URL that is not http(s)://...
    BadUrl,
    /// The replica or the lock file cannot be read or written.
    Storage,
    /// A record written by a newer version: update the app.
    TooNew,
    /// The user's role may not make this change (`field` names what, `reason` the rule:
    /// `create`, `move`, `change`).
    Forbidden,
    /// Keeping a refused edit's words: the record was not refused, or its edit holds no words
    /// the server's record lacks.
    NothingToKeep,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct AppError {
    pub kind: ErrorKind,
    /// English detail, one line.
    pub message: String,
    /// The input field at fault (`Invalid`).
    pub field: Option<String>,
    /// Why the field is not acceptable (`required`, `negative`, `out_of_range`, ...).
    pub reason: Option<String>,
    /// The server's error code (`Refused`).
    pub code: Option<String>,
    /// Seconds to wait (`LockedOut`, `WrongPin` after too many attempts).
    #[ts(type = "number | null")]
    pub wait_secs: Option<u64>,
}

impl AppError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        AppError {
            kind,
            message: message.into(),
            field: None,
            reason: None,
            code: None,
            wait_secs: None,
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

fn reason_code(r: &Reason) -> &'static str {
    match r {
        Reason::Required => "required",
        Reason::UnknownField => "unknown_field",
        Reason::Negative => "negative",
        Reason::OutOfRange { .. } => "out_of_range",
        Reason::DatesOutOfOrder { .. } => "dates_out_of_order",
        Reason::NotYetReached { .. } => "not_yet_reached",
        Reason::Format(_) => "format",
        Reason::Transition { .. } => "transition",
        Reason::Immutable => "immutable",
        Reason::UnknownReference(_) => "unknown_reference",
        Reason::NotForKind(_) => "not_for_kind",
        Reason::Rule(_) => "rule",
    }
}

impl From<ModelError> for AppError {
    fn from(e: ModelError) -> Self {
        let message = e.to_string();
        match e {
            ModelError::Invalid(f) => AppError {
                field: Some(f.field.clone()),
                reason: Some(reason_code(&f.reason).into()),
                // The pipeline's rule, named for the catalog (`pipeline.rule.<code>`).
                code: match f.reason {
                    Reason::Rule(r) => Some(r.as_str().into()),
                    _ => None,
                },
                ..AppError::new(ErrorKind::Invalid, message)
            },
            ModelError::SchemaTooNew { .. } => AppError::new(ErrorKind::TooNew, message),
            ModelError::Forbidden(f) => AppError {
                field: Some(f.field.clone()),
                reason: Some(
                    match f.rule {
                        Refused::Create => "create",
                        Refused::Move { .. } => "move",
                        Refused::ChangeIn { .. } | Refused::Change => "change",
                    }
                    .into(),
                ),
                ..AppError::new(ErrorKind::Forbidden, message)
            },
            _ => AppError::new(ErrorKind::Invalid, message),
        }
    }
}

impl From<ReplicaError> for AppError {
    fn from(e: ReplicaError) -> Self {
        let message = e.to_string();
        match e {
            ReplicaError::Model(m) => m.into(),
            ReplicaError::InRow { source, .. } => (*source).into(),
            ReplicaError::NotFound(_) | ReplicaError::BlobMissing(_) => {
                AppError::new(ErrorKind::NotFound, message)
            }
            ReplicaError::BadId(_)
            | ReplicaError::KindMismatch { .. }
            | ReplicaError::BlobHashMismatch(_)
            | ReplicaError::BlobChunk { .. } => AppError::new(ErrorKind::Invalid, message),
            ReplicaError::BlobTooLarge { .. } => AppError {
                field: Some("photos".into()),
                reason: Some("too_large".into()),
                ..AppError::new(ErrorKind::Invalid, message)
            },
            ReplicaError::OutOfScope { .. } | ReplicaError::VillageRequired(_) => AppError {
                field: Some("village".into()),
                ..AppError::new(ErrorKind::OutOfScope, message)
            },
            ReplicaError::DuplicateReport { .. } => AppError::new(ErrorKind::Duplicate, message),
            ReplicaError::NotRefused(_) | ReplicaError::NothingToKeep(_) => {
                AppError::new(ErrorKind::NothingToKeep, message)
            }
            ReplicaError::ReplicaTooNew { .. } => AppError::new(ErrorKind::TooNew, message),
            ReplicaError::WrongKey { .. } => AppError::new(ErrorKind::WrongPin, message),
            ReplicaError::Sqlite(_) | ReplicaError::Io(_) => {
                AppError::new(ErrorKind::Storage, message)
            }
        }
    }
}

impl From<PinError> for AppError {
    fn from(e: PinError) -> Self {
        let message = e.to_string();
        match e {
            PinError::TooShort => AppError::new(ErrorKind::PinTooShort, message),
            PinError::Wrong { wait_secs, .. } => AppError {
                wait_secs: Some(wait_secs),
                ..AppError::new(ErrorKind::WrongPin, message)
            },
            PinError::LockedOut(s) => AppError {
                wait_secs: Some(s),
                ..AppError::new(ErrorKind::LockedOut, message)
            },
            PinError::NotSet => AppError::new(ErrorKind::NotEnrolled, message),
            PinError::Replica(r) => r.into(),
            PinError::AlreadySet(_) | PinError::Damaged { .. } | PinError::Io(_) => {
                AppError::new(ErrorKind::Storage, message)
            }
        }
    }
}

impl From<SyncError> for AppError {
    fn from(e: SyncError) -> Self {
        let message = e.to_string();
        match e {
            SyncError::NotEnrolled => AppError::new(ErrorKind::NotEnrolled, message),
            SyncError::Transport(zhucun_sync::TransportError::BadUrl(_)) => {
                AppError::new(ErrorKind::BadUrl, message)
            }
            SyncError::Transport(_) | SyncError::GaveUp { .. } => {
                AppError::new(ErrorKind::Offline, message)
            }
            SyncError::Server { code, .. } => AppError {
                code: Some(code),
                ..AppError::new(ErrorKind::Refused, message)
            },
            SyncError::BadReply(_) => AppError::new(ErrorKind::Refused, message),
            SyncError::Replica(r) => r.into(),
        }
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        AppError::new(ErrorKind::Storage, e.to_string())
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use zhucun_model::InvalidField;

    #[test]
    fn a_field_error_names_the_field_and_a_reason_the_ui_can_translate() {
        let e: AppError = ReplicaError::Model(ModelError::Invalid(InvalidField::new(
            "topic",
            Reason::Required,
        )))
        .into();
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert_eq!(e.field.as_deref(), Some("topic"));
        assert_eq!(e.reason.as_deref(), Some("required"));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"], "invalid");
    }

    #[test]
    fn a_locked_out_pin_says_how_long_to_wait() {
        let e: AppError = PinError::LockedOut(60).into();
        assert_eq!(e.kind, ErrorKind::LockedOut);
        assert_eq!(e.wait_secs, Some(60));
    }
}
