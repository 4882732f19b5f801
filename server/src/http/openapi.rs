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
    ApiDoc::openapi()
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
                "X-CSRF-Token",
                "The session's `csrf` from `POST /api/login` or `GET /api/session`: every \
                 change a session makes carries it.",
            ))),
        );
        debug_assert!(CSRF_HEADER.eq_ignore_ascii_case("X-CSRF-Token"));

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
                if path == "/v1/enroll" {
                    add(op, "429", "`rate_limited`: too many failed codes from this address; `Retry-After` says when to try again");
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

fn content_encoding() -> Parameter {
    ParameterBuilder::new()
        .name("Content-Encoding")
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some("Sync bodies are zstd-compressed CBOR."))
        .schema(Some(always("zstd")))
        .build()
}
