//! The office dashboard over HTTP: thin handlers over `office.rs` (logins, sessions, CSRF),
//! `dashboard.rs` (the answers), `export.rs` (files) and `admin.rs`. Every `/api/` handler but
//! login takes an [`OfficeUser`], which checks the session cookie and, on every state change,
//! the CSRF header.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;

use super::error::Body;
use super::ratelimit::ClientIp;
use super::{ApiError, AppState, JsonBody, PathParams, QueryParams};
use crate::admin;
use crate::dashboard::{self, Month, View};
use crate::export::{self, Lang};
use crate::identity::now;
use crate::office::{self, Office, OfficeError, SessionInfo};
#[allow(unused_imports)] // The schemas the OpenAPI attributes name.
use crate::store::{OrgUnit, PersonInfo};

/// The session cookie's name.
pub const COOKIE: &str = "zhucun_session";
/// The header a state-changing request carries its session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the dashboard is served.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// The built dashboard (`ui/dist-dashboard`); `None` serves only the API.
    pub dashboard_dir: Option<PathBuf>,
    /// Mark the cookie `Secure` on every response, not only when the request came over HTTPS.
    pub secure_cookies: bool,
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_string())
}

/// The logged-in office person of a request (checked before any body is read).
pub struct OfficeUser(pub Office);

impl axum::extract::FromRequestParts<Arc<AppState>> for OfficeUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie_token(&parts.headers).ok_or(OfficeError::NoSession)?;
        let o = office::session(state.store.as_ref(), &token, now()).await?;
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            o.check_csrf(parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))?;
        }
        Ok(OfficeUser(o))
    }
}

fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.web.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookie(value: &str, max_age: i64, secure: bool) -> (header::HeaderName, String) {
    (
        header::SET_COOKIE,
        format!(
            "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{}",
            if secure { "; Secure" } else { "" }
        ),
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    user: String,
    password: String,
}

/// Log in to the dashboard: sets the session cookie and answers the session with its CSRF token.
#[utoipa::path(
    post,
    path = "/api/login",
    tag = "session",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in; `Set-Cookie` carries the session", body = SessionInfo),
        (status = 400, description = "`malformed_body`", body = Body),
        (status = 401, description = "`bad_login`: no such user, or a wrong password", body = Body),
        (status = 429, description = "`locked` (five failures in a row: `wait_secs` says how long) or `rate_limited` (too many failures from this address)", body = Body),
    )
)]
pub async fn login(
    State(state): State<Arc<AppState>>,
    ip: ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, ApiError> {
    // Failed logins count towards the same per-address limit as device tokens and codes: one
    // address cannot try a password across many users, nor lock them all out.
    state.check_limit(ip)?;
    let res = office::login(state.store.as_ref(), &body.user, &body.password, now()).await;
    if matches!(res, Err(OfficeError::BadLogin)) {
        state.limiter.failed(ip.0);
    }
    let (token, o) = res?;
    tracing::info!(person = %o.person.id, "office login");
    Ok((
        [set_cookie(
            &token,
            office::SESSION_MAX_SECS,
            secure(&state, &headers),
        )],
        Json(SessionInfo::from(&o)),
    )
        .into_response())
}

/// Log out: ends the session and clears the cookie.
#[utoipa::path(
    post,
    path = "/api/logout",
    tag = "session",
    security(("session" = [], "csrf" = [])),
    responses((status = 204, description = "Logged out")),
)]
pub async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    OfficeUser(o): OfficeUser,
) -> Result<Response, ApiError> {
    office::logout(state.store.as_ref(), &o).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [set_cookie("", 0, secure(&state, &headers))],
    )
        .into_response())
}

/// The logged-in person and the session's CSRF token.
#[utoipa::path(
    get,
    path = "/api/session",
    tag = "session",
    security(("session" = [])),
    responses(
        (status = 200, description = "OK", body = SessionInfo),
    )
)]
pub async fn session(OfficeUser(o): OfficeUser) -> Json<SessionInfo> {
    Json(SessionInfo::from(&o))
}

async fn view(state: &AppState, o: &Office) -> Result<View, ApiError> {
    Ok(dashboard::view_for(state.store.as_ref(), &o.scope).await?)
}

/// The organisation units in the asker's view.
#[utoipa::path(
    get,
    path = "/api/units",
    tag = "dashboard",
    security(("session" = [])),
    responses(
        (status = 200, description = "OK", body = Vec<OrgUnit>),
    )
)]
pub async fn units(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
) -> Result<Response, ApiError> {
    Ok(Json(view(&state, &o).await?.visible_units()).into_response())
}

#[derive(Deserialize, Default)]
pub struct Params {
    month: Option<String>,
    village: Option<String>,
    /// The overview's township filter (exports): one township's villages of the asker's scope.
    township: Option<String>,
    lang: Option<String>,
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

impl Params {
    fn month(&self) -> Result<Month, ApiError> {
        match &self.month {
            Some(m) if !m.is_empty() => Ok(dashboard::parse_month(m)?),
            _ => Ok(Month::of(today())),
        }
    }

    /// The township filter, if one is set (`''` is every township, as in the overview).
    fn township(&self) -> Option<&str> {
        self.township.as_deref().filter(|t| !t.is_empty())
    }

    fn lang(&self) -> Lang {
        if self.lang.as_deref() == Some("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }
}

/// A JSON answer with the time the server spent on it (`Server-Timing`).
fn timed<T: serde::Serialize>(started: Instant, what: &str, body: &T) -> Response {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::debug!(what, ms, "dashboard answer");
    (
        [(
            header::HeaderName::from_static("server-timing"),
            format!("app;dur={ms:.1}"),
        )],
        Json(body),
    )
        .into_response()
}

/// One row per village of the asker's view, for a month.
#[utoipa::path(
    get,
    path = "/api/overview",
    tag = "dashboard",
    security(("session" = [])),
    params(("month" = Option<String>, Query)),
    responses(
        (status = 200, description = "OK", body = dashboard::Overview),
    )
)]
pub async fn overview(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    QueryParams(p): QueryParams<Params>,
) -> Result<Response, ApiError> {
    let t = Instant::now();
    let v = view(&state, &o).await?;
    let ov = dashboard::overview(state.store.as_ref(), &v, p.month()?, today(), now()).await?;
    Ok(timed(t, "overview", &ov))
}

/// One village's page for a month.
#[utoipa::path(
    get,
    path = "/api/villages/{id}",
    tag = "dashboard",
    security(("session" = [])),
    params(("id" = String, Path, description = "The village's unit id"), ("month" = Option<String>, Query)),
    responses(
        (status = 200, description = "OK", body = dashboard::VillagePage),
        (status = 403, description = "`out_of_scope`: the village is outside the asker's view", body = Body),
        (status = 404, description = "`not_found`: no such unit", body = Body),
    )
)]
pub async fn village(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    PathParams(id): PathParams<String>,
    QueryParams(p): QueryParams<Params>,
) -> Result<Response, ApiError> {
    let t = Instant::now();
    let v = view(&state, &o).await?;
    let page =
        dashboard::village_page(state.store.as_ref(), &v, &id, p.month()?, today(), now()).await?;
    Ok(timed(t, "village", &page))
}

/// A record's changes, oldest first, each with the maker it names and the server's receipt.
#[utoipa::path(
    get,
    path = "/api/records/{id}/history",
    tag = "dashboard",
    security(("session" = [])),
    params(("id" = String, Path, description = "The record's id")),
    responses(
        (status = 200, description = "OK", body = Vec<crate::history::RecordChange>),
        (status = 404, description = "`not_found`: no such record in the asker's view", body = Body),
    )
)]
pub async fn record_history(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let v = view(&state, &o).await?;
    let h = crate::history::record_history(state.store.as_ref(), &v, &id).await?;
    Ok(Json(h).into_response())
}

/// The submitted reports of the asker's villages, longest waiting first.
#[utoipa::path(
    get,
    path = "/api/reviews",
    tag = "dashboard",
    security(("session" = [])),
    responses(
        (status = 200, description = "OK", body = crate::review::ReviewQueue),
    )
)]
pub async fn reviews(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
) -> Result<Response, ApiError> {
    let v = view(&state, &o).await?;
    Ok(Json(crate::review::queue(state.store.as_ref(), &v).await?).into_response())
}

fn as_device(o: &Office) -> crate::store::DeviceAuth {
    crate::review::office_device(&o.person.id, &o.person.role, &o.scope)
}

/// One monthly report with its figures, narrative, review and history.
#[utoipa::path(
    get,
    path = "/api/reports/{id}",
    tag = "dashboard",
    security(("session" = [])),
    params(("id" = String, Path, description = "The report's record id")),
    responses(
        (status = 200, description = "OK", body = crate::review::ReportView),
        (status = 404, description = "`not_found`: no such report in the asker's view", body = Body),
    )
)]
pub async fn report(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let v = view(&state, &o).await?;
    let r = crate::review::report(state.store.as_ref(), &v, &as_device(&o), &id).await?;
    Ok(Json(r).into_response())
}

/// Accept a submitted report, or return it with a comment: the model's rules decide who may.
#[utoipa::path(
    post,
    path = "/api/reports/{id}/review",
    tag = "dashboard",
    security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "The report's record id")),
    request_body = crate::review::ReviewDecision,
    responses(
        (status = 200, description = "Decided: the report as it now stands", body = crate::review::ReportView),
        (status = 403, description = "`forbidden`: the asker's role may not make this move, or the report is not submitted", body = Body),
        (status = 404, description = "`not_found`: no such report in the asker's view", body = Body),
        (status = 422, description = "`invalid`: the message names the field (a return needs a comment)", body = Body),
    )
)]
pub async fn review_report(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    PathParams(id): PathParams<String>,
    JsonBody(d): JsonBody<crate::review::ReviewDecision>,
) -> Result<Response, ApiError> {
    let v = view(&state, &o).await?;
    let units = state.unit_paths().await?;
    let r =
        crate::review::decide(state.store.as_ref(), &units, &v, &as_device(&o), &id, &d).await?;
    Ok(Json(r).into_response())
}

/// The people of the asker's villages whose next development step waits on the township.
#[utoipa::path(
    get,
    path = "/api/approvals",
    tag = "dashboard",
    security(("session" = [])),
    responses(
        (status = 200, description = "OK", body = crate::approvals::ApprovalQueue),
    )
)]
pub async fn approvals(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
) -> Result<Response, ApiError> {
    let v = view(&state, &o).await?;
    Ok(Json(crate::approvals::queue(state.store.as_ref(), &v).await?).into_response())
}

/// Give a development step the township's approval: the model's rules decide who may, and when.
#[utoipa::path(
    post,
    path = "/api/members/{id}/approve",
    tag = "dashboard",
    security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "The member's record id")),
    request_body = crate::approvals::Approve,
    responses(
        (status = 200, description = "Approved: the queue as it now stands", body = crate::approvals::ApprovalQueue),
        (status = 403, description = "`forbidden`: the asker's role may not give this approval", body = Body),
        (status = 404, description = "`not_found`: no such member in the asker's view", body = Body),
        (status = 422, description = "`invalid`: the message names the rule the date breaks", body = Body),
    )
)]
pub async fn approve_member(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    PathParams(id): PathParams<String>,
    JsonBody(a): JsonBody<crate::approvals::Approve>,
) -> Result<Response, ApiError> {
    let v = view(&state, &o).await?;
    let units = state.unit_paths().await?;
    let q = crate::approvals::approve(state.store.as_ref(), &units, &v, &as_device(&o), &id, &a)
        .await?;
    Ok(Json(q).into_response())
}

/// Set a village's yearly targets: the model's rules decide who may, and the range.
#[utoipa::path(
    post,
    path = "/api/villages/{id}/targets",
    tag = "dashboard",
    security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "The village's unit id")),
    request_body = crate::targets::VillageTargets,
    responses(
        (status = 200, description = "Set", body = crate::targets::VillageTargets),
        (status = 403, description = "`forbidden`: the asker's role may not set targets", body = Body),
        (status = 404, description = "`not_found`: no such village in the asker's view", body = Body),
        (status = 422, description = "`invalid`: the message names the field out of range", body = Body),
    )
)]
pub async fn set_targets(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    PathParams(id): PathParams<String>,
    JsonBody(t): JsonBody<crate::targets::VillageTargets>,
) -> Result<Response, ApiError> {
    let v = view(&state, &o).await?;
    let units = state.unit_paths().await?;
    let t = crate::targets::set(state.store.as_ref(), &units, &v, &as_device(&o), &id, &t).await?;
    Ok(Json(t).into_response())
}

/// The tasks reaching the asker's villages, with each village's answer.
#[utoipa::path(
    get,
    path = "/api/tasks",
    tag = "dashboard",
    security(("session" = [])),
    responses(
        (status = 200, description = "OK", body = crate::tasks::TaskBoard),
    )
)]
pub async fn tasks(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
) -> Result<Response, ApiError> {
    let v = view(&state, &o).await?;
    Ok(Json(crate::tasks::board(state.store.as_ref(), &v, today()).await?).into_response())
}

/// Issue a task to villages of the asker's view, from the asker's own unit.
#[utoipa::path(
    post,
    path = "/api/tasks",
    tag = "dashboard",
    security(("session" = [], "csrf" = [])),
    request_body = crate::tasks::NewTask,
    responses(
        (status = 201, description = "Issued", body = Created),
        (status = 403, description = "`forbidden`: the asker's role may not issue tasks; `out_of_scope`: a village outside the asker's view", body = Body),
        (status = 404, description = "`blob_missing`: an attachment not sent by the asker nor on a record of their view", body = Body),
        (status = 422, description = "`invalid`: the message names the field", body = Body),
    )
)]
pub async fn issue_task(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    JsonBody(t): JsonBody<crate::tasks::NewTask>,
) -> Result<Response, ApiError> {
    let v = view(&state, &o).await?;
    let units = state.unit_paths().await?;
    let store = state.store.as_ref();
    let blobs = state.blobs.as_deref();
    let who = as_device(&o);
    let id = crate::tasks::issue(store, blobs, &units, &v, &who, &o.person.units, &t).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileParams {
    /// The file's name as the dashboard shows it (`zhucun_model::check_file_name`; the
    /// document's 200 is `MAX_FILE_NAME`, which a test holds it to).
    #[param(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
}

/// Send a file to go with a task (the body is the file; its type in `Content-Type`); the
/// answer is what `POST /api/tasks` takes in its `attachments`.
#[utoipa::path(
    post,
    path = "/api/blobs",
    tag = "dashboard",
    security(("session" = [], "csrf" = [])),
    params(FileParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses(
        (status = 201, description = "Stored", body = crate::tasks::TaskFile),
        (status = 403, description = "`forbidden`: the asker issues no tasks", body = Body),
        (status = 413, description = "`too_large`: over the server's largest attachment", body = Body),
        (status = 422, description = "`invalid`: no file name, or no bytes", body = Body),
        (status = 503, description = "`blobs_disabled`: this server stores no attachments", body = Body),
        (status = 507, description = "`uploads_full`: the asker's files no task names yet fill their room", body = Body),
    )
)]
pub async fn upload_file(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    QueryParams(p): QueryParams<FileParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let v = view(&state, &o).await?;
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|m| m.to_str().ok())
        .unwrap_or("application/octet-stream");
    let blobs = state.blobs.clone();
    let f = crate::tasks::upload(
        blobs,
        &v,
        &o.person.id,
        &o.person.units,
        &p.name,
        mime,
        body,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(f)).into_response())
}

/// A file of a task or another record of the asker's view, or one the asker sent.
#[utoipa::path(
    get,
    path = "/api/blobs/{hash}",
    tag = "dashboard",
    security(("session" = [])),
    params(("hash" = String, Path, description = "The file's SHA-256, 64 lowercase hex digits")),
    responses(
        (status = 200, description = "The file, to save", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "`bad_hash`", body = Body),
        (status = 404, description = "`blob_missing`: not here, or not the asker's to see", body = Body),
        (status = 503, description = "`blobs_disabled`: this server stores no attachments", body = Body),
    )
)]
pub async fn download_file(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    PathParams(hash): PathParams<String>,
) -> Result<Response, ApiError> {
    let blobs = state.blobs.clone();
    let bytes = crate::tasks::file(state.store.as_ref(), blobs, &as_device(&o), &hash).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment"),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The year's series per township up to a month.
#[utoipa::path(
    get,
    path = "/api/charts",
    tag = "dashboard",
    security(("session" = [])),
    params(("month" = Option<String>, Query)),
    responses(
        (status = 200, description = "OK", body = dashboard::Charts),
    )
)]
pub async fn charts(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    QueryParams(p): QueryParams<Params>,
) -> Result<Response, ApiError> {
    let t = Instant::now();
    let v = view(&state, &o).await?;
    let c = dashboard::charts(state.store.as_ref(), &v, p.month()?, today(), now()).await?;
    Ok(timed(t, "charts", &c))
}

/// Inspections and their findings in the asker's view, for a month.
#[utoipa::path(
    get,
    path = "/api/supervision",
    tag = "dashboard",
    security(("session" = [])),
    params(("month" = Option<String>, Query)),
    responses(
        (status = 200, description = "OK", body = dashboard::Supervision),
    )
)]
pub async fn supervision(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    QueryParams(p): QueryParams<Params>,
) -> Result<Response, ApiError> {
    let t = Instant::now();
    let v = view(&state, &o).await?;
    let s = dashboard::supervision(state.store.as_ref(), &v, p.month()?).await?;
    Ok(timed(t, "supervision", &s))
}

/// A table of the asker's view as a file (`.csv` or `.xlsx`), for a month.
#[utoipa::path(
    get,
    path = "/api/export/{file}",
    tag = "dashboard",
    security(("session" = [])),
    params(
        ("file" = String, Path, description = "The table and format, e.g. `overview.xlsx`; docs/dashboard.md lists them"),
        ("month" = Option<String>, Query),
        ("village" = Option<String>, Query, description = "One village's rows (the tables per village)"),
        ("township" = Option<String>, Query, description = "One township's villages of the asker's view"),
        ("lang" = Option<String>, Query, description = "`en` for English headings; otherwise Chinese"),
    ),
    responses(
        (status = 200, description = "The file", content(
            (Vec<u8> = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 403, description = "`out_of_scope` or `forbidden` (the devices table is for administrators)", body = Body),
        (status = 404, description = "`not_found`: no such table, village or township", body = Body),
    )
)]
pub async fn export_file(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    PathParams(file): PathParams<String>,
    QueryParams(p): QueryParams<Params>,
) -> Result<Response, ApiError> {
    let q = export::FileQuery {
        file: &file,
        month: p.month()?,
        village: p.village.as_deref(),
        township: p.township(),
        lang: p.lang(),
        today: today(),
        now: now(),
    };
    let f = export::file(state.store.as_ref(), &o, &q).await?;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", f.name))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(f.mime)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        f.bytes,
    )
        .into_response())
}

// --- Administration ---

/// What was added.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Created {
    id: String,
}

/// The units an administrator manages.
#[utoipa::path(
    get,
    path = "/api/admin/units",
    tag = "administration",
    security(("session" = [])),
    responses(
        (status = 200, description = "OK", body = Vec<OrgUnit>),
        (status = 403, description = "`forbidden`: not an administrator", body = Body),
    )
)]
pub async fn admin_units(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
) -> Result<Response, ApiError> {
    Ok(Json(admin::units_for(state.store.as_ref(), &o).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUnit {
    id: String,
    name: String,
    #[schema(value_type = zhucun_model::UnitKind)]
    kind: String,
    parent: Option<String>,
}

/// Add an organisation unit under one the administrator manages.
#[utoipa::path(
    post,
    path = "/api/admin/units",
    tag = "administration",
    security(("session" = [], "csrf" = [])),
    request_body = NewUnit,
    responses(
        (status = 201, description = "Added", body = Created),
        (status = 403, description = "`forbidden` (not an administrator) or `out_of_scope` (outside the administrator's units)", body = Body),
        (status = 409, description = "`duplicate`: the id is taken", body = Body),
        (status = 422, description = "`invalid`: the message names the field", body = Body),
    )
)]
pub async fn admin_add_unit(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    JsonBody(u): JsonBody<NewUnit>,
) -> Result<Response, ApiError> {
    admin::add_unit_for(
        state.store.as_ref(),
        &o,
        &u.id,
        &u.name,
        &u.kind,
        u.parent.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id: u.id })).into_response())
}

/// The people of the units an administrator manages.
#[utoipa::path(
    get,
    path = "/api/admin/people",
    tag = "administration",
    security(("session" = [])),
    responses(
        (status = 200, description = "OK", body = Vec<PersonInfo>),
        (status = 403, description = "`forbidden`: not an administrator", body = Body),
    )
)]
pub async fn admin_people(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
) -> Result<Response, ApiError> {
    Ok(Json(admin::people_for(state.store.as_ref(), &o).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewPersonBody {
    id: String,
    name: String,
    #[schema(value_type = zhucun_model::Role)]
    role: String,
    units: Vec<String>,
    /// A password for the dashboard (office roles); none: the person cannot log in.
    password: Option<String>,
}

/// Add a person to units the administrator manages.
#[utoipa::path(
    post,
    path = "/api/admin/people",
    tag = "administration",
    security(("session" = [], "csrf" = [])),
    request_body = NewPersonBody,
    responses(
        (status = 201, description = "Added", body = Created),
        (status = 403, description = "`forbidden` (not an administrator) or `out_of_scope` (outside the administrator's units)", body = Body),
        (status = 409, description = "`duplicate`: the id is taken", body = Body),
        (status = 422, description = "`invalid`: the message names the field", body = Body),
    )
)]
pub async fn admin_add_person(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    JsonBody(p): JsonBody<NewPersonBody>,
) -> Result<Response, ApiError> {
    admin::add_person_for(
        state.store.as_ref(),
        &o,
        &p.id,
        &p.name,
        &p.role,
        &p.units,
        p.password.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id: p.id })).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeBody {
    person: String,
    /// How long the code is valid, in hours (default 72).
    #[serde(default = "default_hours")]
    #[schema(default = 72, minimum = 1, maximum = 720)]
    hours: u32,
}

fn default_hours() -> u32 {
    72
}

/// The address devices reach this server at, as the asking browser did.
fn origin(headers: &HeaderMap, secure: bool) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("{}://{host}", if secure { "https" } else { "http" })
}

/// An enrolment code as the dashboard shows it: with the server's address and its QR code.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct CodeAnswer {
    #[serde(flatten)]
    code: admin::IssuedCode,
    server: String,
    qr_svg: String,
}

/// Issue a one-time enrolment code for a person, with the server's address and its QR code.
#[utoipa::path(
    post,
    path = "/api/admin/codes",
    tag = "administration",
    security(("session" = [], "csrf" = [])),
    request_body = CodeBody,
    responses(
        (status = 201, description = "Issued", body = CodeAnswer),
        (status = 403, description = "`forbidden` (not an administrator) or `out_of_scope` (outside the administrator's units)", body = Body),
        (status = 404, description = "`not_found`: no such person among the administrator's", body = Body),
        (status = 422, description = "`invalid`: `hours` out of range", body = Body),
    )
)]
pub async fn admin_code(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    OfficeUser(o): OfficeUser,
    JsonBody(b): JsonBody<CodeBody>,
) -> Result<Response, ApiError> {
    let code = admin::issue_code_for(state.store.as_ref(), &o, &b.person, b.hours, now()).await?;
    let server = origin(&headers, secure(&state, &headers));
    let qr_svg = admin::enrol_qr(&server, &code.code)?;
    Ok((
        StatusCode::CREATED,
        Json(CodeAnswer {
            code,
            server,
            qr_svg,
        }),
    )
        .into_response())
}

/// The devices of the people an administrator manages.
#[utoipa::path(
    get,
    path = "/api/admin/devices",
    tag = "administration",
    security(("session" = [])),
    responses(
        (status = 200, description = "OK", body = Vec<admin::DeviceRow>),
        (status = 403, description = "`forbidden`: not an administrator", body = Body),
    )
)]
pub async fn admin_devices(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
) -> Result<Response, ApiError> {
    Ok(Json(admin::devices_for(state.store.as_ref(), &o).await?).into_response())
}

/// Revoke a device: its token is refused from now on.
#[utoipa::path(
    post,
    path = "/api/admin/devices/{id}/revoke",
    tag = "administration",
    security(("session" = [], "csrf" = [])),
    params(("id" = String, Path, description = "The device's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "`forbidden` (not an administrator) or `out_of_scope` (outside the administrator's units)", body = Body),
        (status = 404, description = "`not_found`: no such device among the administrator's", body = Body),
    )
)]
pub async fn admin_revoke(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    admin::revoke_for(state.store.as_ref(), &o, &id, now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
