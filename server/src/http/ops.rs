//! What operators and scrapers ask: liveness, readiness, the OpenAPI document, the counters,
//! and the answers for unknown paths and methods.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::ratelimit::ClientIp;
use super::{ApiError, AppState};

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", e.to_string()))?;
    Ok("ready")
}

/// The OpenAPI description of the router (a test checks it names every route).
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

/// The counters, for a scraper on the server's own machine only: a request from anywhere
/// else (through a trusted reverse proxy too: its `X-Forwarded-For` client counts) is
/// answered like an unknown path.
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
