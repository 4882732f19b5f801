//! The one place every error becomes an HTTP answer: a status and a JSON `{code, message}`
//! body ([`Body`], which `zhucun_protocol::ErrorBody` reads), with `Retry-After` where waiting helps. The policies
//! return their own errors and know no HTTP; each is mapped here once.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use zhucun_protocol::CodecError;

use crate::admin::AdminError;
use crate::blobs::BlobError;
use crate::dashboard::DashError;
use crate::devices::DeviceError;
use crate::export::ExportError;
use crate::office::OfficeError;
use crate::review::ReviewError;
use crate::store::StoreError;

/// An error as the API answers it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
    /// More fields of the body (a locked login's `wait_secs`).
    pub wait_secs: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            wait_secs: None,
        }
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            message.to_string(),
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A well-formed request the rules refuse (`422 invalid`).
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_body", message)
    }

    pub fn rate_limited(wait_secs: u64) -> Self {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many failed attempts from this address: try again in {wait_secs} s"),
        );
        e.retry_after = Some(wait_secs);
        e
    }
}

/// Every `code` an error body may carry. The OpenAPI document's `Error.code` enumerates this
/// list, and its tests check that every code `docs/protocol.md` names is in it.
pub const ERROR_CODES: &[&str] = &[
    "malformed_body",
    "malformed_query",
    "malformed_path",
    "unsupported_encoding",
    "unsupported_version",
    "too_large",
    "code_invalid",
    "code_used",
    "code_expired",
    "no_token",
    "bad_token",
    "device_revoked",
    "rate_limited",
    "too_slow",
    "bad_login",
    "locked",
    "no_session",
    "csrf",
    "forbidden",
    "out_of_scope",
    "not_found",
    "invalid",
    "duplicate",
    "bad_hash",
    "bad_chunk",
    "hash_mismatch",
    "blob_missing",
    "partials_full",
    "uploads_full",
    "blobs_disabled",
    "method_not_allowed",
    "busy",
    "not_ready",
    "internal",
];

/// The `code` of an error body, as the OpenAPI document describes it: one of [`ERROR_CODES`].
pub struct ErrorCode;

impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(ERROR_CODES.iter().copied()))
            .description(Some(
                "What went wrong, for programs; `message` says it for people.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {}

/// The body of every 4xx and 5xx answer: what `zhucun_protocol::ErrorBody` reads, and the
/// wait of a locked login.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct Body {
    #[schema(value_type = ErrorCode, inline)]
    code: &'static str,
    message: String,
    /// Seconds until a locked login may be tried again (`locked` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    wait_secs: Option<i64>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        let retry = self
            .retry_after
            .map(|s| [(header::RETRY_AFTER, s.to_string())]);
        (
            self.status,
            retry,
            Json(Body {
                code: self.code,
                message: self.message,
                wait_secs: self.wait_secs,
            }),
        )
            .into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let (status, code) = match e {
            StoreError::CodeInvalid => (StatusCode::BAD_REQUEST, "code_invalid"),
            StoreError::CodeUsed => (StatusCode::CONFLICT, "code_used"),
            StoreError::CodeExpired => (StatusCode::GONE, "code_expired"),
            StoreError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            StoreError::Duplicate(_) => (StatusCode::CONFLICT, "duplicate"),
            StoreError::Conflict(_) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            StoreError::BadUrl(_) | StoreError::Backend(_) | StoreError::Unsupported(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<CodecError> for ApiError {
    fn from(e: CodecError) -> Self {
        let (status, code) = match e {
            CodecError::UnsupportedVersion { .. } => {
                (StatusCode::BAD_REQUEST, "unsupported_version")
            }
            CodecError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            _ => (StatusCode::BAD_REQUEST, "malformed_body"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        let status = e.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "malformed_body"
        };
        ApiError::new(status, code, e.body_text())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        let status = e.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid",
            _ => "malformed_body",
        };
        ApiError::new(status, code, e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_query", e.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_path", e.body_text())
    }
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        let (status, code) = match &e {
            BlobError::BadHash(_) => (StatusCode::BAD_REQUEST, "bad_hash"),
            BlobError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            BlobError::BadChunk { .. } | BlobError::SizeChanged { .. } => {
                (StatusCode::BAD_REQUEST, "bad_chunk")
            }
            BlobError::HashMismatch(_) => (StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch"),
            BlobError::Missing(_) => (StatusCode::NOT_FOUND, "blob_missing"),
            BlobError::PartialsFull { .. } => (StatusCode::INSUFFICIENT_STORAGE, "partials_full"),
            BlobError::UploadsFull { .. } => (StatusCode::INSUFFICIENT_STORAGE, "uploads_full"),
            BlobError::Disabled => (StatusCode::SERVICE_UNAVAILABLE, "blobs_disabled"),
            BlobError::Io(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<DeviceError> for ApiError {
    fn from(e: DeviceError) -> Self {
        let (status, code) = match e {
            DeviceError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed_body"),
            DeviceError::NoToken => (StatusCode::UNAUTHORIZED, "no_token"),
            DeviceError::BadToken => (StatusCode::UNAUTHORIZED, "bad_token"),
            DeviceError::Revoked => (StatusCode::UNAUTHORIZED, "device_revoked"),
            DeviceError::Store(s) => return s.into(),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<OfficeError> for ApiError {
    fn from(e: OfficeError) -> Self {
        let (status, code) = match &e {
            OfficeError::BadLogin => (StatusCode::UNAUTHORIZED, "bad_login"),
            OfficeError::Locked { wait_secs } => {
                let mut a = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "locked", e.to_string());
                a.retry_after = Some((*wait_secs).max(0) as u64);
                a.wait_secs = Some(*wait_secs);
                return a;
            }
            OfficeError::NoSession => (StatusCode::UNAUTHORIZED, "no_session"),
            OfficeError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            OfficeError::Csrf => (StatusCode::FORBIDDEN, "csrf"),
            OfficeError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<DashError> for ApiError {
    fn from(e: DashError) -> Self {
        let (status, code) = match e {
            DashError::BadMonth(_) | DashError::NotTownship(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
            }
            DashError::NoUnit(_) | DashError::NoRecord(_) => (StatusCode::NOT_FOUND, "not_found"),
            DashError::OutOfScope(_) => (StatusCode::FORBIDDEN, "out_of_scope"),
            DashError::Store(s) => return s.into(),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<ReviewError> for ApiError {
    fn from(e: ReviewError) -> Self {
        use zhucun_protocol::RejectCode as C;
        match e {
            ReviewError::Dash(d) => d.into(),
            ReviewError::Blob(b) => b.into(),
            ReviewError::Refused(code, message) => {
                let (status, code) = match code {
                    C::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
                    C::OutOfScope => (StatusCode::FORBIDDEN, "out_of_scope"),
                    _ => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
                };
                ApiError::new(status, code, message)
            }
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        let (status, code) = match e {
            AdminError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            AdminError::NotAdmin => (StatusCode::FORBIDDEN, "forbidden"),
            AdminError::OutOfScope(_) => (StatusCode::FORBIDDEN, "out_of_scope"),
            AdminError::NotInScope(_) => (StatusCode::NOT_FOUND, "not_found"),
            AdminError::Store(s) => return s.into(),
            AdminError::Blob(b) => return b.into(),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> Self {
        let (status, code) = match e {
            ExportError::NoTable => (StatusCode::NOT_FOUND, "not_found"),
            ExportError::BadRequest(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ExportError::NotAdmin => (StatusCode::FORBIDDEN, "forbidden"),
            ExportError::Dash(d) => return d.into(),
            ExportError::Store(s) => return s.into(),
            ExportError::Xlsx(_) | ExportError::Csv(_) | ExportError::Task(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        ApiError::new(status, code, e.to_string())
    }
}
