//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and the
//! Rust types of every request and answer (`GET /api/openapi.json`). What every route of a
//! kind shares (the answers to a missing token or session, a body too large, a busy
//! database) is added here once, by [`Shared`], instead of on each route.

use std::sync::LazyLock;

use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, OpenApi as Document, Ref, RefOr, Required, ResponseBuilder,
};
use utoipa::{Modify, OpenApi, ToSchema};

use super::error::Body;
use super::{device, office, ops, COOKIE, CSRF_HEADER};
use crate::export;
use zhucun_model::Month;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "zhucun server",
        description = "The sync server of zhucun (驻村) and its office dashboard. Devices enrol \
            with a one-time code and sync with a bearer token; the dashboard logs in with a \
            session cookie and sends its CSRF token on every change. Error answers are JSON \
            `{code, message}` (`Error`). See docs/protocol.md and docs/dashboard.md."
    ),
    paths(
        ops::healthz,
        ops::readyz,
        ops::metrics,
        ops::openapi,
        device::enroll,
        device::sync,
        device::sync_doc,
        device::blob_status,
        device::blob_put,
        device::blob_get,
        office::login,
        office::logout,
        office::session,
        office::units,
        office::overview,
        office::village,
        office::record_history,
        office::reviews,
        office::report,
        office::review_report,
        office::approvals,
        office::approve_member,
        office::set_targets,
        office::tasks,
        office::issue_task,
        office::upload_file,
        office::download_file,
        office::charts,
        office::supervision,
        office::export_file,
        office::admin_units,
        office::admin_add_unit,
        office::admin_people,
        office::admin_add_person,
        office::admin_code,
        office::admin_devices,
        office::admin_revoke,
    ),
    components(schemas(Body, zhucun_model::Role, zhucun_model::UnitKind)),
    modifiers(&Shared),
    tags(
        (name = "devices", description = "Enrolment and sync (bearer token)"),
        (name = "attachments", description = "Photos and files of records, in 256 KiB chunks (bearer token)"),
        (name = "session", description = "The dashboard's login"),
        (name = "dashboard", description = "The office dashboard's answers (session)"),
        (name = "administration", description = "Units, people and devices (an administrator's session)"),
        (name = "operations", description = "For operators and scrapers"),
    )
)]
struct ApiDoc;

/// The document as served, built once.
pub fn json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        document()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    });
    &JSON
}

/// The document.
pub fn document() -> Document {
    let mut v = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises");
    unsigned_ranges(&mut v);
    serde_json::from_value(v).expect("the OpenAPI document reads back")
}

/// An answer the error body carries.
fn error(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(Body::name())))
                .build(),
        )
        .into()
}

/// A string that is always `value`.
fn always(value: &str) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([value]))
        .into()
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| error(description));
}

/// What routes share, by what they take: security schemes, the answers of the
/// authentication extractors, body limits and a busy or failing database; the sync bodies'
/// compression; the enumerations the protocol crate writes as strings.
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The device token from `POST /v1/enroll` (256 random bits, base64url).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                COOKIE,
                "The office session from `POST /api/login` (HttpOnly, SameSite=Strict).",
            ))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                CSRF_HEADER,
                "The session's `csrf` from `POST /api/login` or `GET /api/session`: every \
                 change a session makes carries it.",
            ))),
        );

        // The protocol crate knows no roles or unit kinds: it writes them as strings.
        for (schema, field, enumeration) in [
            ("EnrollResponse", "role", zhucun_model::Role::name()),
            ("OrgUnitInfo", "kind", zhucun_model::UnitKind::name()),
        ] {
            if let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut(schema) {
                o.properties
                    .insert(field.to_string(), Ref::from_schema_name(enumeration).into());
            }
        }

        // Every sync message starts with the protocol version this build speaks; another is
        // refused (`unsupported_version`).
        for schema in [
            "SyncRequest",
            "SyncResponse",
            "DocSyncRequest",
            "DocSyncResponse",
        ] {
            if let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut(schema) {
                o.properties.insert(
                    "version".to_string(),
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .enum_values(Some([zhucun_protocol::VERSION]))
                        .into(),
                );
            }
        }

        for (path, item) in doc.paths.paths.iter_mut() {
            let sync = path == zhucun_protocol::SYNC_PATH || path == zhucun_protocol::DOC_SYNC_PATH;
            for (method, op) in [
                ("get", item.get.as_mut()),
                ("post", item.post.as_mut()),
                ("put", item.put.as_mut()),
            ] {
                let Some(op) = op else { continue };
                let schemes: Vec<String> = op
                    .security
                    .iter()
                    .flatten()
                    .flat_map(|s| {
                        serde_json::to_value(s)
                            .ok()
                            .and_then(|v| {
                                v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>())
                            })
                            .unwrap_or_default()
                    })
                    .collect();
                let has = |s: &str| schemes.iter().any(|x| x == s);
                if has("bearer") {
                    add(op, "401", "`no_token` (no `Authorization: Bearer` header), `bad_token` (unknown device token) or `device_revoked` (the device was revoked: enrol again)");
                    add(op, "429", "`rate_limited`: too many failed tokens or codes from this address; `Retry-After` says when to try again");
                }
                if path == "/v1/enroll" || path == "/api/login" {
                    add(
                        op,
                        "408",
                        &format!(
                            "`too_slow`: the body did not arrive within {} seconds",
                            super::UNAUTHENTICATED_BODY_SECS
                        ),
                    );
                    add(op, "429", "`rate_limited`: too many failed attempts from this address, or too many of its requests open at once; `Retry-After` says when to try again");
                }
                if has("session") {
                    add(
                        op,
                        "401",
                        "`no_session`: no session cookie, or the session ended",
                    );
                    if method != "get" {
                        add(
                            op,
                            "403",
                            "`csrf`: the `X-CSRF-Token` header is missing or is not the session's",
                        );
                    }
                }
                if op.request_body.is_some() {
                    add(
                        op,
                        "413",
                        "`too_large`: the body is over the limit (compressed or decompressed)",
                    );
                }
                if op.request_body.as_ref().is_some_and(
                    |b| matches!(b, RefOr::T(b) if b.content.contains_key("application/json")),
                ) {
                    add(op, "400", "`malformed_body`: not JSON of this shape");
                    add(op, "422", "`invalid`: a field of the wrong type or value");
                    if path != "/v1/enroll" {
                        add(
                            op,
                            "415",
                            "`malformed_body`: the body is not `Content-Type: application/json`",
                        );
                    }
                }
                let mut month = false;
                for p in op.parameters.iter_mut().flatten() {
                    let RefOr::T(p) = p else { continue };
                    describe(path, p);
                    month |= p.parameter_in == ParameterIn::Query && p.name == "month";
                }
                if month {
                    add(op, "422", "`invalid`: `month` is not a month");
                }
                if op
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path))
                {
                    add(
                        op,
                        "400",
                        "`malformed_path`: a path parameter of the wrong type",
                    );
                }
                if op
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query))
                {
                    add(
                        op,
                        "400",
                        "`malformed_query`: a query parameter of the wrong type",
                    );
                }
                if !matches!(path.as_str(), "/healthz" | "/metrics" | "/api/openapi.json") {
                    add(
                        op,
                        "503",
                        "`busy`: the database is busy; try again after `Retry-After`",
                    );
                    add(op, "500", "`internal`: the server failed; the log says why");
                }
                if sync {
                    add(
                        op,
                        "415",
                        "`unsupported_encoding`: a `Content-Encoding` other than `zstd`",
                    );
                    op.parameters
                        .get_or_insert_with(Vec::new)
                        .push(RefOr::T(content_encoding()));
                    if let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") {
                        ok.headers.insert(
                            "Content-Encoding".to_string(),
                            RefOr::T(
                                HeaderBuilder::new()
                                    .schema(Some(always("zstd")))
                                    .description(Some("Sync answers are zstd-compressed CBOR."))
                                    .build(),
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// What a parameter of a kind is, wherever it appears: the pattern or the values the server
/// reads, from the one place that reads them.
fn describe(path: &str, p: &mut Parameter) {
    let pattern = |pattern: &str| -> Option<RefOr<Schema>> {
        Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern))
                .into(),
        )
    };
    match (p.parameter_in.clone(), p.name.as_str()) {
        (ParameterIn::Query, "month") => {
            // Empty, like absent, is this month (the dashboard sends `month=` for it).
            let month = &Month::PATTERN[1..Month::PATTERN.len() - 1];
            p.schema = pattern(&format!("^({month})?$"));
            p.description =
                Some("`YYYY-MM`, from 1900-01 to 2200-12; absent or empty: this month".to_string());
        }
        (ParameterIn::Path, "hash") => p.schema = pattern(zhucun_model::HASH_PATTERN),
        (ParameterIn::Path, "file") if path == "/api/export/{file}" => {
            let files = export::TABLES
                .iter()
                .flat_map(|t| export::FORMATS.iter().map(move |f| format!("{t}.{f}")));
            p.schema = Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(files))
                    .into(),
            );
        }
        _ => {}
    }
}

/// utoipa writes Rust's unsigned integers as `int32` or `int64` with `minimum: 0`, which says
/// a `u32` ends at 2^31 - 1 and a `u64` at 2^63 - 1: a client would take the upper half as out
/// of range. Say the real range (the API has no `u8` or `u16` fields).
fn unsigned_ranges(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            let unsigned = o.get("minimum").and_then(|m| m.as_u64()) == Some(0);
            let max = match o.get("format").and_then(|f| f.as_str()) {
                Some("int32") if unsigned => Some(u64::from(u32::MAX)),
                Some("int64") if unsigned => Some(u64::MAX),
                _ => None,
            };
            if let Some(max) = max {
                o.remove("format");
                o.entry("maximum").or_insert(max.into());
            }
            o.values_mut().for_each(unsigned_ranges);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(unsigned_ranges),
        _ => {}
    }
}

fn content_encoding() -> Parameter {
    // Optional: a body without it is read as zstd, the only encoding the protocol has.
    ParameterBuilder::new()
        .name("Content-Encoding")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some("Sync bodies are zstd-compressed CBOR."))
        .schema(Some(always("zstd")))
        .build()
}
