//! The HTTP part of the server: its state, the one route table with its middleware, and the
//! handlers (`device.rs` for devices, `office.rs` for the dashboard, `ops.rs` for operators),
//! which only extract, call a policy module and map. Every error becomes its status and
//! `{code, message}` body in `error.rs`. Only `main.rs` (and the tests) import it: no policy
//! and no store module does.

mod device;
mod error;
mod office;
mod openapi;
mod ops;
pub mod ratelimit;

pub use error::ApiError;
pub use office::{WebConfig, COOKIE, CSRF_HEADER};
pub use openapi::{document as openapi_document, json as openapi_json};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use tokio::sync::RwLock;

use crate::blobs::BlobDir;
use crate::metrics::{Metrics, UNMATCHED_ROUTE};
use crate::store::Store;
use crate::sync::UnitPaths;
use ratelimit::{ClientIp, RateLimiter, RateLimits};

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
    pub web: WebConfig,
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
            WebConfig::default(),
            RateLimits::default(),
        )
    }

    pub fn with_rate_limits(
        store: Arc<dyn Store>,
        limits: Limits,
        blobs: Option<BlobDir>,
        rate: RateLimits,
    ) -> Arc<AppState> {
        Self::build(store, limits, blobs, WebConfig::default(), rate)
    }

    pub fn build(
        store: Arc<dyn Store>,
        limits: Limits,
        blobs: Option<BlobDir>,
        web: WebConfig,
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

    /// `429 rate_limited` when `ip` has used up its failed attempts.
    fn check_limit(&self, ip: ClientIp) -> Result<(), ApiError> {
        match self.limiter.blocked(ip.0) {
            None => Ok(()),
            Some(wait) => Err(ApiError::rate_limited(wait.as_secs() + 1)),
        }
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

/// A JSON body; a body that is not the JSON asked for is answered by [`ApiError`] like every
/// other error.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T> FromRequest<S> for JsonBody<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Ok(JsonBody(Json::<T>::from_request(req, state).await?.0))
    }
}

/// The query string's parameters, answered like [`JsonBody`] when they do not parse.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T> FromRequestParts<S> for QueryParams<T>
where
    axum::extract::Query<T>: FromRequestParts<S, Rejection = QueryRejection>,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        Ok(QueryParams(
            axum::extract::Query::<T>::from_request_parts(parts, state)
                .await?
                .0,
        ))
    }
}

/// The path's parameters, answered like [`JsonBody`] when they do not parse (a chunk index
/// that is not a number).
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T> FromRequestParts<S> for PathParams<T>
where
    axum::extract::Path<T>: FromRequestParts<S, Rejection = PathRejection>,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        Ok(PathParams(
            axum::extract::Path::<T>::from_request_parts(parts, state)
                .await?
                .0,
        ))
    }
}

/// A sync body as sent: zstd-compressed bytes. A `Content-Encoding` other than `zstd` is
/// refused (`415 unsupported_encoding`); none at all is read as zstd, the only encoding the
/// protocol has.
pub struct SyncBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for SyncBody
where
    Bytes: FromRequest<S, Rejection = BytesRejection>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if let Some(enc) = req.headers().get(header::CONTENT_ENCODING) {
            if !enc.as_bytes().eq_ignore_ascii_case(b"zstd") {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_encoding",
                    "sync bodies are `Content-Encoding: zstd`",
                ));
            }
        }
        Ok(SyncBody(Bytes::from_request(req, state).await?))
    }
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

/// One route: method, path, handler.
struct Endpoint {
    method: Method,
    path: &'static str,
    handler: MethodRouter<Arc<AppState>>,
    /// Reads its body before it knows who is asking: see [`unauthenticated_body`].
    unauthenticated_body: bool,
    /// Its body is a whole attachment: up to the server's largest, not the request limit.
    attachment_body: bool,
}

fn endpoint<H, T>(method: Method, path: &'static str, handler: H) -> Endpoint
where
    H: Handler<T, Arc<AppState>>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
    Endpoint {
        method,
        path,
        handler: on(filter, handler),
        unauthenticated_body: false,
        attachment_body: false,
    }
}

impl Endpoint {
    fn unauthenticated_body(mut self) -> Self {
        self.unauthenticated_body = true;
        self
    }

    fn attachment_body(mut self) -> Self {
        self.attachment_body = true;
        self
    }
}

/// How long a route that reads its body before authenticating waits for the whole body.
/// Enrolment and login bodies are a few hundred bytes: ten seconds is a slow link's worth.
pub const UNAUTHENTICATED_BODY_SECS: u64 = 10;
/// The most such a body may be (enrolment and login bodies are far smaller).
const UNAUTHENTICATED_BODY_MAX: usize = 16 * 1024;

/// For the routes that read a body before they know who is asking (enrolment, login): at
/// most [`ratelimit::MAX_OPEN_PER_CLIENT`] open at once per client address (`429` beyond),
/// and the whole body within [`UNAUTHENTICATED_BODY_SECS`] (`408 too_slow`), so slow bodies
/// cannot hold the route's slots for others. The handler gets the body already read.
async fn unauthenticated_body(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let Some(_slot) = state.limiter.enter(state.limiter.client_ip(&parts)) else {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "this address has {} requests open already: try again when they end",
                ratelimit::MAX_OPEN_PER_CLIENT
            ),
        );
        e.retry_after = Some(1);
        return e.into_response();
    };
    let deadline = std::time::Duration::from_secs(UNAUTHENTICATED_BODY_SECS);
    let read = axum::body::to_bytes(body, UNAUTHENTICATED_BODY_MAX);
    let bytes = match tokio::time::timeout(deadline, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the body is over {UNAUTHENTICATED_BODY_MAX} bytes or was cut: {e}"),
            )
            .into_response()
        }
        Err(_) => {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "too_slow",
                format!("the body did not arrive within {UNAUTHENTICATED_BODY_SECS} s"),
            )
            .into_response()
        }
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// Every route the server answers, in one table: `router` mounts these and `routes` lists
/// them (the OpenAPI test checks each is documented). A new answer is one line here.
fn endpoints() -> Vec<Endpoint> {
    use Method as M;
    vec![
        // Operators.
        endpoint(M::GET, "/healthz", ops::healthz),
        endpoint(M::GET, "/readyz", ops::readyz),
        endpoint(M::GET, "/metrics", ops::metrics),
        endpoint(M::GET, "/api/openapi.json", ops::openapi),
        // Devices.
        endpoint(M::POST, "/v1/enroll", device::enroll).unauthenticated_body(),
        endpoint(M::POST, zhucun_protocol::SYNC_PATH, device::sync),
        endpoint(M::POST, zhucun_protocol::DOC_SYNC_PATH, device::sync_doc),
        endpoint(M::GET, "/v1/blobs/{hash}", device::blob_status),
        {
            // A chunk at most (plus a little): blob uploads never need the sync body limit.
            let mut e = endpoint(M::PUT, "/v1/blobs/{hash}/{idx}", device::blob_put);
            e.handler = e.handler.layer(DefaultBodyLimit::max(
                crate::blobs::CHUNK_SIZE as usize + 1024,
            ));
            e
        },
        endpoint(M::GET, "/v1/blobs/{hash}/{idx}", device::blob_get),
        // The office dashboard.
        endpoint(M::POST, "/api/login", office::login).unauthenticated_body(),
        endpoint(M::POST, "/api/logout", office::logout),
        endpoint(M::GET, "/api/session", office::session),
        endpoint(M::GET, "/api/units", office::units),
        endpoint(M::GET, "/api/overview", office::overview),
        endpoint(M::GET, "/api/villages/{id}", office::village),
        endpoint(M::GET, "/api/records/{id}/history", office::record_history),
        endpoint(M::GET, "/api/reviews", office::reviews),
        endpoint(M::GET, "/api/reports/{id}", office::report),
        endpoint(M::POST, "/api/reports/{id}/review", office::review_report),
        endpoint(M::GET, "/api/approvals", office::approvals),
        endpoint(M::POST, "/api/villages/{id}/targets", office::set_targets),
        endpoint(M::POST, "/api/members/{id}/approve", office::approve_member),
        endpoint(M::GET, "/api/tasks", office::tasks),
        endpoint(M::POST, "/api/tasks", office::issue_task),
        endpoint(M::POST, "/api/blobs", office::upload_file).attachment_body(),
        endpoint(M::GET, "/api/blobs/{hash}", office::download_file),
        endpoint(M::GET, "/api/charts", office::charts),
        endpoint(M::GET, "/api/supervision", office::supervision),
        endpoint(M::GET, "/api/export/{file}", office::export_file),
        endpoint(M::GET, "/api/admin/units", office::admin_units),
        endpoint(M::POST, "/api/admin/units", office::admin_add_unit),
        endpoint(M::GET, "/api/admin/people", office::admin_people),
        endpoint(M::POST, "/api/admin/people", office::admin_add_person),
        endpoint(M::POST, "/api/admin/codes", office::admin_code),
        endpoint(M::GET, "/api/admin/devices", office::admin_devices),
        endpoint(
            M::POST,
            "/api/admin/devices/{id}/revoke",
            office::admin_revoke,
        ),
    ]
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
    let max_blob = state.blobs.as_ref().map_or(0, |b| b.max_size);
    let mut router = Router::new();
    for mut e in endpoints() {
        if e.attachment_body {
            let limit = usize::try_from(max_blob)
                .unwrap_or(usize::MAX)
                .max(max_body);
            e.handler = e.handler.layer(DefaultBodyLimit::max(limit));
        }
        let handler = if e.unauthenticated_body {
            e.handler.layer(middleware::from_fn_with_state(
                state.clone(),
                unauthenticated_body,
            ))
        } else {
            e.handler
        };
        router = router.route(e.path, handler);
    }
    // The built dashboard at `/`; anything else unknown is a JSON 404.
    let router = match &state.web.dashboard_dir {
        Some(dir) => router.fallback_service(
            tower_http::services::ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .not_found_service(axum::handler::HandlerWithoutStateExt::into_service(
                    ops::fallback,
                )),
        ),
        None => router.fallback(ops::fallback),
    };
    router
        .method_not_allowed_fallback(ops::method_not_allowed)
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
