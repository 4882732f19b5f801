//! The HTTP API: thin axum handlers over `sync.rs` and the store. Every error leaves as JSON
//! `{code, message}` with the right status, mapped here in one place.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use tokio::sync::RwLock;
use zhucun_protocol::{
    CodecError, DocSyncRequest, EnrollRequest, EnrollResponse, ErrorBody, OrgUnitInfo, SyncRequest,
};

use crate::blobs::{BlobDir, BlobError};
use crate::identity;
use crate::metrics::{Metrics, UNMATCHED_ROUTE};
use crate::ratelimit::{ClientIp, RateLimiter, RateLimits};
use crate::store::{DeviceAuth, NewDevice, Store, StoreError};
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
    /// Where attachments live; `None` answers blob requests with 503.
    pub blobs: Option<Arc<BlobDir>>,
    /// What `GET /metrics` exposes.
    pub metrics: Metrics,
    /// How the office dashboard is served.
    pub web: crate::web::WebConfig,
    /// Failed token and enrolment-code attempts per client address.
    pub limiter: RateLimiter,
    units: RwLock<UnitPaths>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, limits: Limits) -> Arc<AppState> {
        Self::with_blobs(store, limits, None)
    }

    pub fn with_blobs(
        store: Arc<dyn Store>,
        limits: Limits,
        blobs: Option<BlobDir>,
    ) -> Arc<AppState> {
        Self::build(
            store,
            limits,
            blobs,
            crate::web::WebConfig::default(),
            RateLimits::default(),
        )
    }

    pub fn with_rate_limits(
        store: Arc<dyn Store>,
        limits: Limits,
        blobs: Option<BlobDir>,
        rate: RateLimits,
    ) -> Arc<AppState> {
        Self::build(store, limits, blobs, crate::web::WebConfig::default(), rate)
    }

    pub fn build(
        store: Arc<dyn Store>,
        limits: Limits,
        blobs: Option<BlobDir>,
        web: crate::web::WebConfig,
        rate: RateLimits,
    ) -> Arc<AppState> {
        Arc::new(AppState {
            store,
            limits,
            blobs: blobs.map(Arc::new),
            metrics: Metrics::new(),
            web,
            limiter: RateLimiter::new(rate),
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
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `429 rate_limited` when `ip` has used up its failed attempts.
    pub(crate) fn check_limit(state: &AppState, ip: ClientIp) -> Result<(), ApiError> {
        match state.limiter.blocked(ip.0) {
            None => Ok(()),
            Some(wait) => {
                let secs = wait.as_secs() + 1;
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many failed attempts from this address: try again in {secs} s"),
                );
                e.retry_after = Some(secs);
                Err(e)
            }
        }
    }
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

use crate::identity::now;

/// The authenticated device of a request. As an extractor it runs on the request's head,
/// before any body is read: an unauthenticated client cannot make the server buffer a body.
pub struct Device(pub DeviceAuth);

impl axum::extract::FromRequestParts<Arc<AppState>> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let ip = ClientIp(state.limiter.client_ip(parts));
        ApiError::check_limit(state, ip)?;
        let res = authenticate(state, &parts.headers).await;
        if let Err(e) = &res {
            if matches!(e.code, "bad_token" | "device_revoked") {
                state.limiter.failed(ip.0);
            }
        }
        res.map(Device)
    }
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
    Ok(dev)
}

fn encode_sync<T: serde::Serialize>(msg: &T) -> Result<Vec<u8>, ApiError> {
    zhucun_protocol::encode(msg)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

fn sync_body(body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, zhucun_protocol::CONTENT_TYPE),
            (header::CONTENT_ENCODING, "zstd"),
        ],
        body,
    )
        .into_response()
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

/// The OpenAPI description of this router (hand-written; a test checks it names every route).
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

/// The counters, for a scraper on the server's own machine only: a request from anywhere
/// else (through a trusted reverse proxy too: its `X-Forwarded-For` client counts) is
/// answered like an unknown path.
async fn metrics(
    State(state): State<Arc<AppState>>,
    crate::ratelimit::ClientIp(ip): crate::ratelimit::ClientIp,
) -> Response {
    if ip.is_some_and(|ip| !ip.to_canonical().is_loopback()) {
        return fallback().await.into_response();
    }
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.encode(),
    )
        .into_response()
}

async fn enroll(
    State(state): State<Arc<AppState>>,
    ip: ClientIp,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<EnrollResponse>, ApiError> {
    ApiError::check_limit(&state, ip)?;
    let res = enroll_device(&state, body).await;
    if let Err(e) = &res {
        if matches!(e.code, "code_invalid" | "code_used" | "code_expired") {
            state.limiter.failed(ip.0);
        }
    }
    state.metrics.enrolment(match &res {
        Ok(_) => "ok",
        Err(e) => e.code,
    });
    res
}

async fn enroll_device(
    state: &AppState,
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
    let scope = crate::store::units_in_scope(units, &person.units)
        .into_iter()
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
    Device(dev): Device,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let req: SyncRequest = zhucun_protocol::decode(&body, state.limits.max_decoded)?;
    let pushed = req.push.len();
    let units = state.unit_paths().await?;
    let resp = crate::sync::sync_with_blobs(
        state.store.as_ref(),
        &units,
        &dev,
        req,
        state.blobs.as_deref(),
    )
    .await?;
    // "Last sync" on the dashboard: a round the server answered, not any request (a sync that
    // keeps failing, or a photo fetch, does not make a village look up to date).
    state.store.touch_device(&dev.device_id, now()).await?;
    let out = encode_sync(&resp)?;
    state.metrics.sync_round(&resp, pushed);
    state.metrics.sync_bytes(SYNC, body.len(), out.len());
    tracing::info!(
        device = %dev.device_id,
        pushed,
        acked = resp.acks.len(),
        rejected = resp.rejects.len(),
        pulled = resp.pull.len(),
        more = resp.more,
        "sync round"
    );
    Ok(sync_body(out))
}

async fn sync_doc(
    State(state): State<Arc<AppState>>,
    Device(dev): Device,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let req: DocSyncRequest = zhucun_protocol::decode(&body, state.limits.max_decoded)?;
    let units = state.unit_paths().await?;
    let resp = crate::sync::sync_doc(
        state.store.as_ref(),
        &units,
        &dev,
        req,
        state.blobs.as_deref(),
    )
    .await?;
    let out = encode_sync(&resp)?;
    state.metrics.doc_sync_round(&resp);
    state.metrics.sync_bytes(SYNC_DOC, body.len(), out.len());
    Ok(sync_body(out))
}

async fn fallback() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method (see /api/openapi.json)",
    )
}

/// Counts every request by matched route and status class and times it. The route is the
/// router's pattern (`/v1/sync`), never the request's URI, so no path a client invents and no
/// personal data becomes a label.
async fn track(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let start = Instant::now();
    let mut resp = next.run(req).await;
    state.metrics.http_request(
        route.as_deref().unwrap_or(UNMATCHED_ROUTE),
        resp.status().as_u16(),
        start.elapsed(),
    );
    let headers = resp.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(name)
            .or_insert(header::HeaderValue::from_static(value));
    }
    resp
}

/// Sent with every answer. The dashboard loads only its own scripts (no inline script, no
/// other origin), is never framed by another site, and sends no referrer; styles may be
/// inline (Svelte's transitions write them).
const SECURITY_HEADERS: [(header::HeaderName, &str); 4] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'",
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
];

pub(crate) const SYNC: &str = "/v1/sync";
pub(crate) const SYNC_DOC: &str = "/v1/sync/doc";

/// One route: method, path, handler.
pub(crate) struct Endpoint {
    method: Method,
    path: &'static str,
    handler: MethodRouter<Arc<AppState>>,
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
            BlobError::Io(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

fn blob_dir(state: &AppState) -> Result<Arc<BlobDir>, ApiError> {
    state.blobs.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "blobs_disabled",
            "this server stores no attachments",
        )
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(ApiError::from)
}

async fn blob_status(
    State(state): State<Arc<AppState>>,
    Device(dev): Device,
    axum::extract::Path(hash): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    crate::blobs::check_hash(&hash)?;
    let dir = blob_dir(&state)?;
    // A blob no record in scope refers to looks unknown until the device proves it holds it.
    let visible = state.store.blob_visible(&hash, &dev.scope_paths).await?;
    let st = blocking(move || dir.status_for(&hash, &dev.device_id, visible)).await?;
    Ok(Json(st).into_response())
}

#[derive(serde::Deserialize)]
struct PutQuery {
    size: u64,
}

async fn blob_put(
    State(state): State<Arc<AppState>>,
    Device(dev): Device,
    axum::extract::Path((hash, idx)): axum::extract::Path<(String, u64)>,
    query: Result<axum::extract::Query<PutQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let size = query
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_chunk",
                "?size=<total bytes> is required",
            )
        })?
        .size;
    let body = body.map_err(body_error)?;
    let dir = blob_dir(&state)?;
    crate::blobs::check_hash(&hash)?;
    let visible = state.store.blob_visible(&hash, &dev.scope_paths).await?;
    let (h, d) = (hash.clone(), dev.device_id.clone());
    let st = blocking(move || dir.put_chunk_for(&h, size, idx, &body, &d, visible)).await?;
    if st.complete {
        tracing::info!(device = %dev.device_id, size, "attachment received");
    }
    Ok(Json(st).into_response())
}

async fn blob_get(
    State(state): State<Arc<AppState>>,
    Device(dev): Device,
    axum::extract::Path((hash, idx)): axum::extract::Path<(String, u64)>,
) -> Result<Response, ApiError> {
    crate::blobs::check_hash(&hash)?;
    // Only attachments of records the device may see; others look missing.
    if !state.store.blob_visible(&hash, &dev.scope_paths).await? {
        return Err(BlobError::Missing(hash).into());
    }
    let dir = blob_dir(&state)?;
    let bytes = blocking(move || dir.read_chunk(&hash, idx)).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

pub(crate) fn endpoint<H, T>(method: Method, path: &'static str, handler: H) -> Endpoint
where
    H: Handler<T, Arc<AppState>>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
    Endpoint {
        method,
        path,
        handler: on(filter, handler),
    }
}

/// Every route the router serves, declared once: `router` mounts these and `routes` lists
/// them (the OpenAPI test checks each is documented).
fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint(Method::GET, "/healthz", healthz),
        endpoint(Method::GET, "/readyz", readyz),
        endpoint(Method::GET, "/metrics", metrics),
        endpoint(Method::GET, "/api/openapi.json", openapi),
        endpoint(Method::POST, "/v1/enroll", enroll),
        endpoint(Method::POST, SYNC, sync),
        endpoint(Method::POST, SYNC_DOC, sync_doc),
        endpoint(Method::GET, "/v1/blobs/{hash}", blob_status),
        {
            // A chunk at most (plus a little): blob uploads never need the sync body limit.
            let mut e = endpoint(Method::PUT, "/v1/blobs/{hash}/{idx}", blob_put);
            e.handler = e.handler.layer(DefaultBodyLimit::max(
                crate::blobs::CHUNK_SIZE as usize + 1024,
            ));
            e
        },
        endpoint(Method::GET, "/v1/blobs/{hash}/{idx}", blob_get),
    ]
    .into_iter()
    .chain(crate::web::endpoints())
    .collect()
}

/// The routes the router serves, as (method, path).
pub fn routes() -> Vec<(Method, &'static str)> {
    endpoints()
        .into_iter()
        .map(|e| (e.method, e.path))
        .collect()
}

pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.limits.max_body;
    let mut router = Router::new();
    for e in endpoints() {
        router = router.route(e.path, e.handler);
    }
    // The built dashboard at `/`; anything else unknown is a JSON 404.
    let router = match &state.web.dashboard_dir {
        Some(dir) => router.fallback_service(
            tower_http::services::ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .not_found_service(axum::handler::HandlerWithoutStateExt::into_service(
                    fallback,
                )),
        ),
        None => router.fallback(fallback),
    };
    router
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        // Requests in progress at once, and how long one may take: slow or many clients
        // wait their turn instead of exhausting memory.
        .layer(tower::limit::ConcurrencyLimitLayer::new(256))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_secs(300),
        ))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}
