//! The office dashboard over HTTP: thin axum handlers over `office.rs` (logins, sessions,
//! CSRF), `dashboard.rs` (the answers), `export.rs` (files) and `admin.rs`, plus the built
//! dashboard's static files at `/`. Every `/api/` handler but login takes an [`OfficeUser`],
//! which checks the session cookie and, on every state change, the CSRF header.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::admin::{self, AdminError};
use crate::api::{endpoint, ApiError, AppState, Endpoint};
use crate::dashboard::{self, DashError, Month, View};
use crate::export::{self, Lang, Table};
use crate::identity::now;
use crate::office::{self, Office, OfficeError, SessionInfo};

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

impl From<OfficeError> for ApiError {
    fn from(e: OfficeError) -> Self {
        let (status, code) = match &e {
            OfficeError::BadLogin => (StatusCode::UNAUTHORIZED, "bad_login"),
            OfficeError::Locked { .. } => (StatusCode::TOO_MANY_REQUESTS, "locked"),
            OfficeError::NoSession => (StatusCode::UNAUTHORIZED, "no_session"),
            OfficeError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            OfficeError::Csrf => (StatusCode::FORBIDDEN, "csrf"),
            OfficeError::Store(s) => {
                return ApiError::from(crate::store::StoreError::Backend(s.to_string()))
            }
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<DashError> for ApiError {
    fn from(e: DashError) -> Self {
        match e {
            DashError::BadMonth(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
            }
            DashError::NoUnit(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            DashError::OutOfScope(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "out_of_scope", e.to_string())
            }
            DashError::NotTownship(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
            }
            DashError::Store(s) => s.into(),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m),
            AdminError::Store(s) => s.into(),
        }
    }
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

#[derive(Deserialize)]
struct LoginBody {
    user: String,
    password: String,
}

async fn login(
    State(state): State<Arc<AppState>>,
    ip: crate::ratelimit::ClientIp,
    headers: HeaderMap,
    Json(body): Json<LoginBody>,
) -> Result<Response, ApiError> {
    // Failed logins count towards the same per-address limit as device tokens and codes: one
    // address cannot try a password across many users, nor lock them all out.
    ApiError::check_limit(&state, ip)?;
    let res = office::login(state.store.as_ref(), &body.user, &body.password, now()).await;
    if matches!(res, Err(OfficeError::BadLogin)) {
        state.limiter.failed(ip.0);
    }
    let (token, o) = match res {
        Ok(x) => x,
        Err(OfficeError::Locked { wait_secs }) => {
            return Ok((
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, wait_secs.to_string())],
                Json(serde_json::json!({
                    "code": "locked",
                    "message": OfficeError::Locked { wait_secs }.to_string(),
                    "wait_secs": wait_secs,
                })),
            )
                .into_response())
        }
        Err(e) => return Err(e.into()),
    };
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

async fn logout(
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

async fn session(OfficeUser(o): OfficeUser) -> Json<SessionInfo> {
    Json(SessionInfo::from(&o))
}

async fn view(state: &AppState, o: &Office) -> Result<View, ApiError> {
    Ok(View::new(state.store.units().await?, o.scope.clone()))
}

async fn units(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
) -> Result<Response, ApiError> {
    let v = view(&state, &o).await?;
    let units: Vec<_> = v.units.iter().filter(|u| v.sees(u)).collect();
    Ok(Json(units).into_response())
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

async fn overview(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let t = Instant::now();
    let v = view(&state, &o).await?;
    let ov = dashboard::overview(state.store.as_ref(), &v, p.month()?, today(), now()).await?;
    Ok(timed(t, "overview", &ov))
}

async fn village(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let t = Instant::now();
    let v = view(&state, &o).await?;
    let page =
        dashboard::village_page(state.store.as_ref(), &v, &id, p.month()?, today(), now()).await?;
    Ok(timed(t, "village", &page))
}

async fn charts(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let t = Instant::now();
    let v = view(&state, &o).await?;
    let c = dashboard::charts(state.store.as_ref(), &v, p.month()?, today(), now()).await?;
    Ok(timed(t, "charts", &c))
}

async fn supervision(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let t = Instant::now();
    let v = view(&state, &o).await?;
    let s = dashboard::supervision(state.store.as_ref(), &v, p.month()?).await?;
    Ok(timed(t, "supervision", &s))
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
}

/// People whose units lie in the asker's scope, by id → name.
async fn people_in_scope(
    state: &AppState,
    v: &View,
) -> Result<Vec<crate::store::PersonInfo>, ApiError> {
    Ok(state
        .store
        .people()
        .await?
        .into_iter()
        .filter(|p| p.units.iter().any(|u| v.sees_id(u)))
        .collect())
}

/// People an administrator may act for (issue codes, revoke devices): every unit they are
/// attached to lies in the administrator's scope. A person who also covers a unit outside it
/// is listed but not managed: a code issued for them would enrol a device that sees that unit.
async fn people_managed(
    state: &AppState,
    v: &View,
) -> Result<Vec<crate::store::PersonInfo>, ApiError> {
    Ok(state
        .store
        .people()
        .await?
        .into_iter()
        .filter(|p| !p.units.is_empty() && p.units.iter().all(|u| v.sees_id(u)))
        .collect())
}

async fn build_table(
    state: &AppState,
    o: &Office,
    table: &str,
    p: &Params,
) -> Result<Table, ApiError> {
    let store = state.store.as_ref();
    let v = view(state, o).await?;
    // The same township filter the overview applies, intersected with the asker's scope.
    let v = match p.township() {
        Some(t) => v.within_township(t)?,
        None => v,
    };
    let lang = p.lang();
    let month = p.month()?;
    Ok(match table {
        "overview" => export::overview(
            &dashboard::overview(store, &v, month, today(), now()).await?,
            lang,
        ),
        "reports" => {
            let (months, rows) = dashboard::report_matrix(store, &v, month).await?;
            export::report_matrix(&months, &rows, lang)
        }
        "inspections" => export::inspections(&dashboard::inspections(store, &v).await?, lang),
        "activities" | "members" => {
            let id = p
                .village
                .as_deref()
                .ok_or_else(|| bad("this table needs ?village="))?;
            let page = dashboard::village_page(store, &v, id, month, today(), now()).await?;
            if table == "activities" {
                export::activities(&page.timeline, lang)
            } else {
                export::members(&page.roster, &page.pipeline, lang)
            }
        }
        "devices" => {
            o.require_admin()?;
            let people = people_in_scope(state, &v).await?;
            let names: HashMap<String, String> = people
                .iter()
                .map(|p| (p.id.clone(), p.name.clone()))
                .collect();
            let devices: Vec<_> = store
                .devices()
                .await?
                .into_iter()
                .filter(|d| names.contains_key(&d.person_id))
                .collect();
            export::devices(&devices, &names, lang)
        }
        "people" => {
            o.require_admin()?;
            export::people(&people_in_scope(state, &v).await?, lang)
        }
        _ => return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such table (overview, reports, inspections, activities, members, devices, people)",
        )),
    })
}

async fn export_file(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    Path(file): Path<String>,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let (table, ext) = file
        .rsplit_once('.')
        .ok_or_else(|| bad("ask for TABLE.xlsx or TABLE.csv"))?;
    let t = build_table(&state, &o, table, &p).await?;
    let lang = p.lang();
    let (bytes, mime) = match ext {
        "xlsx" => (
            tokio::task::spawn_blocking(move || t.xlsx(lang))
                .await
                .map_err(|e| {
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
                })?
                .map_err(|e| {
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
                })?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "csv" => (
            t.csv(lang).map_err(|e| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })?,
            "text/csv; charset=utf-8",
        ),
        _ => return Err(bad("ask for TABLE.xlsx or TABLE.csv")),
    };
    let month = p.month()?.to_string();
    let name = match (&p.village, p.township()) {
        (Some(v), _) if table == "activities" || table == "members" => {
            format!("zhucun-{table}-{v}-{month}.{ext}")
        }
        (_, Some(t)) => format!("zhucun-{table}-{t}-{month}.{ext}"),
        _ => format!("zhucun-{table}-{month}.{ext}"),
    };
    // The name holds only ids (checked in scope above), table names and a month.
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

// --- Administration ---

async fn admin_units(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
) -> Result<Response, ApiError> {
    o.require_admin()?;
    units(State(state), OfficeUser(o)).await
}

#[derive(Deserialize)]
struct NewUnit {
    id: String,
    name: String,
    kind: String,
    parent: Option<String>,
}

async fn admin_add_unit(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    Json(u): Json<NewUnit>,
) -> Result<Response, ApiError> {
    o.require_admin()?;
    let v = view(&state, &o).await?;
    let parent = u.parent.as_deref().filter(|p| !p.is_empty());
    match parent {
        Some(p) if !v.sees_id(p) => return Err(DashError::OutOfScope(p.to_string()).into()),
        None => return Err(bad("a new unit needs a parent in your scope")),
        _ => {}
    }
    admin::add_unit(state.store.as_ref(), &u.id, &u.name, &u.kind, parent).await?;
    tracing::info!(by = %o.person.id, unit = %u.id, "unit added");
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": u.id }))).into_response())
}

async fn admin_people(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
) -> Result<Response, ApiError> {
    o.require_admin()?;
    let v = view(&state, &o).await?;
    Ok(Json(people_in_scope(&state, &v).await?).into_response())
}

#[derive(Deserialize)]
struct NewPersonBody {
    id: String,
    name: String,
    role: String,
    units: Vec<String>,
    password: Option<String>,
}

async fn admin_add_person(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    Json(p): Json<NewPersonBody>,
) -> Result<Response, ApiError> {
    o.require_admin()?;
    let v = view(&state, &o).await?;
    if let Some(u) = p.units.iter().find(|u| !v.sees_id(u)) {
        return Err(DashError::OutOfScope(u.clone()).into());
    }
    let password = p.password.as_deref().filter(|s| !s.is_empty());
    let (store, id, name, role, units, pw) = (
        state.store.clone(),
        p.id.clone(),
        p.name,
        p.role,
        p.units,
        password.map(str::to_string),
    );
    admin::add_person(store.as_ref(), &id, &name, &role, &units, pw.as_deref()).await?;
    tracing::info!(by = %o.person.id, person = %id, "person added");
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response())
}

#[derive(Deserialize)]
struct CodeBody {
    person: String,
    #[serde(default = "default_hours")]
    hours: u32,
}

fn default_hours() -> u32 {
    72
}

/// The QR code of an enrolment: the app's enrolment link with the server and the code.
pub fn enrol_qr(server: &str, code: &str) -> Result<String, ApiError> {
    let link = format!("zhucun://enrol?server={server}&code={code}");
    let qr = qrcode::QrCode::new(link.as_bytes())
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(qr
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

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

async fn admin_code(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    OfficeUser(o): OfficeUser,
    Json(b): Json<CodeBody>,
) -> Result<Response, ApiError> {
    o.require_admin()?;
    let v = view(&state, &o).await?;
    let person = people_managed(&state, &v)
        .await?
        .into_iter()
        .find(|p| p.id == b.person)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such person in your scope",
            )
        })?;
    let t = now();
    let code = admin::issue_code(state.store.as_ref(), &person.id, b.hours, t).await?;
    let server = origin(&headers, secure(&state, &headers));
    let qr_svg = enrol_qr(&server, &code)?;
    tracing::info!(by = %o.person.id, person = %person.id, "enrolment code issued");
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "code": code,
            "person": person.id,
            "name": person.name,
            "server": server,
            "expires_at": t + i64::from(b.hours) * 3600,
            "qr_svg": qr_svg,
        })),
    )
        .into_response())
}

async fn admin_devices(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
) -> Result<Response, ApiError> {
    o.require_admin()?;
    let v = view(&state, &o).await?;
    let people = people_in_scope(&state, &v).await?;
    let names: HashMap<&str, &str> = people
        .iter()
        .map(|p| (p.id.as_str(), p.name.as_str()))
        .collect();
    let devices: Vec<serde_json::Value> = state
        .store
        .devices()
        .await?
        .into_iter()
        .filter_map(|d| {
            let name = names.get(d.person_id.as_str())?;
            let mut j = serde_json::to_value(&d).ok()?;
            j["person_name"] = serde_json::Value::String(name.to_string());
            Some(j)
        })
        .collect();
    Ok(Json(devices).into_response())
}

async fn admin_revoke(
    State(state): State<Arc<AppState>>,
    OfficeUser(o): OfficeUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    o.require_admin()?;
    let v = view(&state, &o).await?;
    let people = people_managed(&state, &v).await?;
    let dev = state
        .store
        .devices()
        .await?
        .into_iter()
        .find(|d| d.id == id && people.iter().any(|p| p.id == d.person_id))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such device in your scope",
            )
        })?;
    state.store.revoke_device(&dev.id, now()).await?;
    tracing::info!(by = %o.person.id, device = %dev.id, "device revoked");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The dashboard's routes (mounted with the device API's, documented in the same OpenAPI).
pub(crate) fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint(Method::POST, "/api/login", login),
        endpoint(Method::POST, "/api/logout", logout),
        endpoint(Method::GET, "/api/session", session),
        endpoint(Method::GET, "/api/units", units),
        endpoint(Method::GET, "/api/overview", overview),
        endpoint(Method::GET, "/api/villages/{id}", village),
        endpoint(Method::GET, "/api/charts", charts),
        endpoint(Method::GET, "/api/supervision", supervision),
        endpoint(Method::GET, "/api/export/{file}", export_file),
        endpoint(Method::GET, "/api/admin/units", admin_units),
        endpoint(Method::POST, "/api/admin/units", admin_add_unit),
        endpoint(Method::GET, "/api/admin/people", admin_people),
        endpoint(Method::POST, "/api/admin/people", admin_add_person),
        endpoint(Method::POST, "/api/admin/codes", admin_code),
        endpoint(Method::GET, "/api/admin/devices", admin_devices),
        endpoint(Method::POST, "/api/admin/devices/{id}/revoke", admin_revoke),
    ]
}
