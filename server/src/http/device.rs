//! The device API: enrolment, sync rounds, one-record syncs and attachments. Each handler
//! extracts, calls `devices.rs`, `sync.rs` or `blobs.rs`, and maps the answer.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use zhucun_protocol::{DocSyncRequest, EnrollRequest, EnrollResponse, SyncRequest};
#[allow(unused_imports)] // The schemas the OpenAPI attributes name.
use zhucun_protocol::{DocSyncResponse, SyncResponse};

use super::error::Body;
use crate::blobs::BlobStatus;

use super::ratelimit::ClientIp;
use super::{ApiError, AppState, PathParams, SyncBody};
use crate::blobs::{BlobDir, BlobError};
use crate::devices;
use crate::identity::now;
use crate::store::DeviceAuth;

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
        state.check_limit(ip)?;
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let res = devices::authenticate(state.store.as_ref(), token).await;
        if let Err(e) = &res {
            if e.is_guess() {
                state.limiter.failed(ip.0);
            }
        }
        Ok(Device(res?))
    }
}

/// Enrol a device with a one-time code from the office.
///
/// The answer carries the device's token (shown once; the server keeps only its hash) and
/// the organisation units the device reads and writes.
#[utoipa::path(
    post,
    path = "/v1/enroll",
    tag = "devices",
    request_body = EnrollRequest,
    responses(
        (status = 200, description = "Enrolled", body = EnrollResponse),
        (status = 400, description = "`malformed_body` (not this JSON, or a field too long) or `code_invalid` (no such code)", body = Body),
        (status = 409, description = "`code_used`: the code enrolled a device already", body = Body),
        (status = 410, description = "`code_expired`", body = Body),
    )
)]
pub async fn enroll(
    State(state): State<Arc<AppState>>,
    ip: ClientIp,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<EnrollResponse>, ApiError> {
    state.check_limit(ip)?;
    let res = async {
        let body = body?;
        let req: EnrollRequest = serde_json::from_slice(&body)
            .map_err(|e| ApiError::malformed(format!("enrolment request: {e}")))?;
        devices::enrol(state.store.as_ref(), &req, now())
            .await
            .map_err(|e| {
                if e.is_guess() {
                    state.limiter.failed(ip.0);
                }
                ApiError::from(e)
            })
    }
    .await;
    state.metrics.enrolment(match &res {
        Ok(_) => "ok",
        Err(e) => e.code,
    });
    res.map(Json)
}

fn sync_body<T: serde::Serialize>(msg: &T) -> Result<(Response, usize), ApiError> {
    let body = zhucun_protocol::encode(msg).map_err(ApiError::internal)?;
    let len = body.len();
    let resp = (
        [
            (header::CONTENT_TYPE, zhucun_protocol::CONTENT_TYPE),
            (header::CONTENT_ENCODING, "zstd"),
        ],
        body,
    )
        .into_response();
    Ok((resp, len))
}

/// One sync round: push dirty records, pull one page of changes in scope.
///
/// Both bodies are CBOR compressed with zstd (`Content-Encoding: zstd`); the schemas describe
/// the CBOR data. See `docs/protocol.md` for what the server does, in order. Replays are
/// harmless: clients retry with exponential backoff, honouring `Retry-After` on 429 and 503.
#[utoipa::path(
    post,
    path = zhucun_protocol::SYNC_PATH,
    tag = "devices",
    security(("bearer" = [])),
    request_body(content = SyncRequest, content_type = zhucun_protocol::CONTENT_TYPE),
    responses(
        (status = 200, description = "The round's answer", body = SyncResponse, content_type = zhucun_protocol::CONTENT_TYPE),
        (status = 400, description = "`malformed_body` (not zstd, not CBOR, truncated, or not this message) or `unsupported_version` (`version` is not 1; checked before anything else is read)", body = Body),
    )
)]
pub async fn sync(
    State(state): State<Arc<AppState>>,
    Device(dev): Device,
    SyncBody(body): SyncBody,
) -> Result<Response, ApiError> {
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
    state
        .store
        .touch_device(&dev.device_id, now(), resp.cursor)
        .await?;
    let (out, len) = sync_body(&resp)?;
    state.metrics.sync_round(&resp, pushed);
    state
        .metrics
        .sync_bytes(zhucun_protocol::SYNC_PATH, body.len(), len);
    tracing::info!(
        device = %dev.device_id,
        pushed,
        acked = resp.acks.len(),
        rejected = resp.rejects.len(),
        pulled = resp.pull.len(),
        more = resp.more,
        "sync round"
    );
    Ok(out)
}

/// One round of Automerge's sync protocol for one record the server asked to `resync`.
///
/// Both bodies are CBOR compressed with zstd (`Content-Encoding: zstd`); the schemas describe
/// the CBOR data. See `docs/protocol.md` for what the server does, in order. Replays are
/// harmless: clients retry with exponential backoff, honouring `Retry-After` on 429 and 503.
#[utoipa::path(
    post,
    path = zhucun_protocol::DOC_SYNC_PATH,
    tag = "devices",
    security(("bearer" = [])),
    request_body(content = DocSyncRequest, content_type = zhucun_protocol::CONTENT_TYPE),
    responses(
        (status = 200, description = "The round's answer", body = DocSyncResponse, content_type = zhucun_protocol::CONTENT_TYPE),
        (status = 400, description = "`malformed_body` or `unsupported_version`", body = Body),
    )
)]
pub async fn sync_doc(
    State(state): State<Arc<AppState>>,
    Device(dev): Device,
    SyncBody(body): SyncBody,
) -> Result<Response, ApiError> {
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
    let (out, len) = sync_body(&resp)?;
    state.metrics.doc_sync_round(&resp);
    state
        .metrics
        .sync_bytes(zhucun_protocol::DOC_SYNC_PATH, body.len(), len);
    Ok(out)
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
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)??)
}

/// What the server holds of an attachment: whether it is complete, and which chunks it lacks.
///
/// An attachment no record in the device's scope names looks unknown until the device has
/// sent a chunk of it.
#[utoipa::path(
    get,
    path = "/v1/blobs/{hash}",
    tag = "attachments",
    security(("bearer" = [])),
    params(("hash" = String, Path, description = "The attachment's SHA-256, 64 lowercase hex digits")),
    responses(
        (status = 200, description = "The attachment's state", body = BlobStatus),
        (status = 400, description = "`bad_hash`", body = Body),
        (status = 503, description = "`blobs_disabled` (this server stores no attachments) or `busy`", body = Body),
    )
)]
pub async fn blob_status(
    State(state): State<Arc<AppState>>,
    Device(dev): Device,
    PathParams(hash): PathParams<String>,
) -> Result<Response, ApiError> {
    crate::blobs::check_hash(&hash)?;
    let dir = blob_dir(&state)?;
    // A blob no record in scope refers to looks unknown until the device proves it holds it.
    let visible = state.store.blob_visible(&hash, &dev.scope_paths).await?;
    let st = blocking(move || dir.status_for(&hash, &dev.device_id, visible)).await?;
    Ok(Json(st).into_response())
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PutQuery {
    /// The whole attachment's size in bytes.
    size: u64,
}

/// Upload one chunk of an attachment; the answer says which chunks are still missing.
#[utoipa::path(
    put,
    path = "/v1/blobs/{hash}/{idx}",
    tag = "attachments",
    security(("bearer" = [])),
    params(("hash" = String, Path, description = "The attachment's SHA-256, 64 lowercase hex digits"), ("idx" = u64, Path, description = "The chunk's index (chunks are 256 KiB)"), PutQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The chunk's bytes"),
    responses(
        (status = 200, description = "The attachment's state after this chunk", body = BlobStatus),
        (status = 400, description = "`bad_hash` or `bad_chunk` (no `size`, an index past the end, a wrong chunk length, or a size that differs from an earlier chunk's)", body = Body),
        (status = 413, description = "`too_large`: over the server's largest attachment (`max_size`) or the chunk limit", body = Body),
        (status = 422, description = "`hash_mismatch`: the complete bytes do not have this hash", body = Body),
        (status = 503, description = "`blobs_disabled` or `busy`", body = Body),
        (status = 507, description = "`partials_full`: this device's unfinished uploads fill their room; `uploads_full`: its uploads no record names yet fill its room", body = Body),
    )
)]
pub async fn blob_put(
    State(state): State<Arc<AppState>>,
    Device(dev): Device,
    PathParams((hash, idx)): PathParams<(String, u64)>,
    query: Result<Query<PutQuery>, QueryRejection>,
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
    let body = body?;
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

/// Download one chunk of an attachment a record in the device's scope names.
#[utoipa::path(
    get,
    path = "/v1/blobs/{hash}/{idx}",
    tag = "attachments",
    security(("bearer" = [])),
    params(("hash" = String, Path, description = "The attachment's SHA-256, 64 lowercase hex digits"), ("idx" = u64, Path, description = "The chunk's index (chunks are 256 KiB)")),
    responses(
        (status = 200, description = "The chunk's bytes", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "`bad_hash` or `bad_chunk`", body = Body),
        (status = 404, description = "`blob_missing`: not here, or not in the device's scope", body = Body),
        (status = 503, description = "`blobs_disabled` or `busy`", body = Body),
    )
)]
pub async fn blob_get(
    State(state): State<Arc<AppState>>,
    Device(dev): Device,
    PathParams((hash, idx)): PathParams<(String, u64)>,
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
