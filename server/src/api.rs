//! The HTTP API: thin axum handlers over `sync.rs` and the store. Every error leaves as JSON
//! `{code, message}` with the right status, mapped here in one place.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::RwLock;
use zhucun_protocol::{
    CodecError, DocSyncRequest, EnrollRequest, EnrollResponse, ErrorBody, OrgUnitInfo, SyncRequest,
};

use crate::identity;
use crate::store::{in_scope, DeviceAuth, NewDevice, Store, StoreError};
use crate::sync::UnitPaths;

/// Limits the server enforces on what it is sent.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body (compressed), bytes.
    pub max_body: usize,
    /// Largest body once decompressed, bytes.
    pub max_decoded: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: zhucun_protocol::DEFAULT_MAX_BODY,
            max_decoded: zhucun_protocol::DEFAULT_MAX_DECODED,
        }
    }
}

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub limits: Limits,
    units: RwLock<UnitPaths>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, limits: Limits) -> Arc<AppState> {
        Arc::new(AppState {
            store,
            limits,
            units: RwLock::new(HashMap::new()),
        })
    }

    /// Unit id → path, reloaded when units were added (by the admin CLI, another process).
    async fn unit_paths(&self) -> Result<UnitPaths, ApiError> {
        let count_known = self.units.read().await.len();
        let units = self.store.units().await?;
        if units.len() != count_known {
            let mut w = self.units.write().await;
            *w = units.into_iter().map(|u| (u.id, u.path)).collect();
        }
        Ok(self.units.read().await.clone())
    }
}

/// An error as the API answers it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        (
            self.status,
            Json(ErrorBody {
                code: self.code.to_string(),
                message: self.message,
            }),
        )
            .into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::CodeInvalid => {
                ApiError::new(StatusCode::BAD_REQUEST, "code_invalid", e.to_string())
            }
            StoreError::CodeUsed => ApiError::new(StatusCode::CONFLICT, "code_used", e.to_string()),
            StoreError::CodeExpired => {
                ApiError::new(StatusCode::GONE, "code_expired", e.to_string())
            }
            StoreError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            StoreError::Duplicate(_) => {
                ApiError::new(StatusCode::CONFLICT, "duplicate", e.to_string())
            }
            StoreError::Conflict(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string())
            }
            StoreError::BadUrl(_) | StoreError::Backend(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            }
        }
    }
}

impl From<CodecError> for ApiError {
    fn from(e: CodecError) -> Self {
        let code = match e {
            CodecError::UnsupportedVersion { .. } => "unsupported_version",
            CodecError::TooLarge { .. } => "too_large",
            _ => "malformed_body",
        };
        let status = if code == "too_large" {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, code, e.to_string())
    }
}

fn body_error(e: BytesRejection) -> ApiError {
    let status = e.status();
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "too_large"
    } else {
        "malformed_body"
    };
    ApiError::new(status, code, e.body_text())
}

fn now() -> i64 {
    // The server's clock: trusted for expiry, unlike a device's.
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<DeviceAuth, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "no_token",
                "an Authorization: Bearer token is required",
            )
        })?;
    let dev = state
        .store
        .device_by_token(&identity::hash_token(token.trim()))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad_token",
                "the device token is not known",
            )
        })?;
    if dev.revoked {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "device_revoked",
            "this device was revoked: enrol again with a new code",
        ));
    }
    state.store.touch_device(&dev.device_id, now()).await?;
    Ok(dev)
}

fn sync_body<T: serde::Serialize>(msg: &T) -> Result<Response, ApiError> {
    let body = zhucun_protocol::encode(msg)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, zhucun_protocol::CONTENT_TYPE),
            (header::CONTENT_ENCODING, "zstd"),
        ],
        body,
    )
        .into_response())
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", e.to_string()))?;
    Ok("ready")
}

async fn enroll(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<EnrollResponse>, ApiError> {
    let body = body.map_err(body_error)?;
    let req: EnrollRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            format!("enrolment request: {e}"),
        )
    })?;
    if req.code.len() > 64 || req.device_name.chars().count() > 100 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "code or device name too long",
        ));
    }
    let token = identity::new_token();
    let device = NewDevice {
        id: identity::new_device_id(),
        name: if req.device_name.trim().is_empty() {
            "device".into()
        } else {
            req.device_name.trim().to_string()
        },
        token_hash: identity::hash_token(&token),
        created_at: now(),
    };
    let person = state
        .store
        .redeem_code(&identity::hash_code(&req.code), now(), &device)
        .await?;
    let units = state.store.units().await?;
    let scope_paths: Vec<String> = units
        .iter()
        .filter(|u| person.units.contains(&u.id))
        .map(|u| u.path.clone())
        .collect();
    let scope = units
        .into_iter()
        .filter(|u| in_scope(&u.path, &scope_paths))
        .map(|u| OrgUnitInfo {
            id: u.id,
            name: u.name,
            kind: u.kind,
            parent: u.parent,
        })
        .collect();
    tracing::info!(device = %device.id, role = %person.role, "device enrolled");
    Ok(Json(EnrollResponse {
        device_id: device.id,
        token,
        person_id: person.id,
        person_name: person.name,
        role: person.role,
        scope,
    }))
}

async fn sync(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let dev = authenticate(&state, &headers).await?;
    let body = body.map_err(body_error)?;
    let req: SyncRequest = zhucun_protocol::decode(&body, state.limits.max_decoded)?;
    let pushed = req.push.len();
    let units = state.unit_paths().await?;
    let resp = crate::sync::sync(state.store.as_ref(), &units, &dev, req).await?;
    tracing::info!(
        device = %dev.device_id,
        pushed,
        acked = resp.acks.len(),
        rejected = resp.rejects.len(),
        pulled = resp.pull.len(),
        more = resp.more,
        "sync round"
    );
    sync_body(&resp)
}

async fn sync_doc(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let dev = authenticate(&state, &headers).await?;
    let body = body.map_err(body_error)?;
    let req: DocSyncRequest = zhucun_protocol::decode(&body, state.limits.max_decoded)?;
    let units = state.unit_paths().await?;
    let resp = crate::sync::sync_doc(state.store.as_ref(), &units, &dev, req).await?;
    sync_body(&resp)
}

async fn fallback() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.limits.max_body;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/enroll", post(enroll))
        .route("/v1/sync", post(sync))
        .route("/v1/sync/doc", post(sync_doc))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}
