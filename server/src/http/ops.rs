//! What operators and scrapers ask: liveness, readiness, the OpenAPI document, the counters,
//! and the answers for unknown paths and methods.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::Body;
use super::ratelimit::ClientIp;
use super::{ApiError, AppState};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "`ok`", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "`ready`", body = String, content_type = "text/plain"),
    (status = 503, description = "`not_ready`: the database does not answer", body = Body),
))]
pub async fn readyz(State(state): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", e.to_string()))?;
    Ok("ready")
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this server", content_type = "application/json")))]
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::json(),
    )
        .into_response()
}

/// The counters, for a scraper on the server's own machine only: a request from anywhere
/// else (through a trusted reverse proxy too: its `X-Forwarded-For` client counts) is
/// answered like an unknown path.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, description = "The counters in the Prometheus text format", body = String, content_type = "text/plain"),
    (status = 404, description = "`not_found`: asked from another machine", body = Body),
))]
pub async fn metrics(State(state): State<Arc<AppState>>, ClientIp(ip): ClientIp) -> Response {
    if ip.is_some_and(|ip| !ip.to_canonical().is_loopback()) {
        return fallback().await.into_response();
    }
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.encode(),
    )
        .into_response()
}

pub async fn fallback() -> ApiError {
    ApiError::not_found("no such endpoint")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method (see /api/openapi.json)",
    )
}
