//! The operational endpoints over real HTTP: `GET /metrics` after an enrolment and one real
//! sync round, and `GET /api/openapi.json` against the routes the router serves. The server
//! runs in-process on 127.0.0.1:0 with a SQLite store in a temp directory.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use zhucun_protocol::{
    EnrollRequest, EnrollResponse, PushRecord, RejectCode, SyncRequest, SyncResponse,
};
use zhucun_server::admin::{self, DemoSeed};
use zhucun_server::http::{self as api, AppState, Limits};

/// The server clock of the demo seed (seconds); codes stay valid 30 days from now.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct Server {
    base: String,
    seed: DemoSeed,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let store = zhucun_server::open_store(&url).await.unwrap();
    store.migrate().await.unwrap();
    let seed = admin::demo(store.as_ref(), now()).await.unwrap();
    let state = AppState::new(store, Limits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = api::router(state);
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server {
        base: format!("http://{addr}"),
        seed,
        task,
        _dir: dir,
    }
}

/// One sample of the Prometheus text: metric name and labels.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parse the sample lines of the Prometheus text format (0.0.4). Label values here never
/// contain `,`, `"` or `}` except escaped, which this parser does not need to handle.
fn parse_samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample line: series value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value in `{line}`"));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                let labels = body
                    .split(',')
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').expect("label k=v");
                        let v = v
                            .strip_prefix('"')
                            .and_then(|v| v.strip_suffix('"'))
                            .expect("quoted label value");
                        (k.to_string(), v.to_string())
                    })
                    .collect();
                (name.to_string(), labels)
            }
        };
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

/// The value of the one sample named `name` whose labels are exactly `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let found: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == name && s.labels == want)
        .map(|s| s.value)
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} appears twice");
    found.first().copied()
}

#[tokio::test]
async fn metrics_count_a_real_sync_round() {
    let server = start().await;
    let http = reqwest::Client::new();
    let demo = &server.seed.codes[0];

    // Enrol over HTTP.
    let enrol = EnrollRequest {
        code: demo.code.clone(),
        device_name: "ops test phone".into(),
    };
    let resp = http
        .post(format!("{}/v1/enroll", server.base))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&enrol).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "enrol: {:?}", resp.text().await);
    let enrolled: EnrollResponse = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();

    // One real sync round.
    let req = SyncRequest {
        version: 1,
        cursor: 0,
        cursor_check: None,
        push: vec![],
        page_bytes: 1 << 20,
    };
    let body = zhucun_protocol::encode(&req).unwrap();
    let sent = body.len();
    let resp = http
        .post(format!("{}/v1/sync", server.base))
        .header("content-type", zhucun_protocol::CONTENT_TYPE)
        .header("content-encoding", "zstd")
        .bearer_auth(&enrolled.token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer = resp.bytes().await.unwrap();
    let received = answer.len();
    let sync: SyncResponse =
        zhucun_protocol::decode(&answer, zhucun_protocol::DEFAULT_MAX_DECODED).unwrap();
    assert!(sync.acks.is_empty() && sync.rejects.is_empty());

    // An unknown path: counted, but its path must not become a label.
    let secret_path = "/no-such-endpoint/probe-7f3a9c";
    let resp = http
        .get(format!(
            "{}{secret_path}?token={}",
            server.base, enrolled.token
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    let resp = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        ctype.starts_with("text/plain; version=0.0.4"),
        "content type {ctype}"
    );
    let text = resp.text().await.unwrap();
    let samples = parse_samples(&text);

    assert_eq!(value(&samples, "zhucun_sync_rounds_total", &[]), Some(1.0));
    assert_eq!(
        value(
            &samples,
            "zhucun_http_requests_total",
            &[("route", "/v1/sync"), ("status", "2xx")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            "zhucun_http_request_duration_seconds_count",
            &[("route", "/v1/sync")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "zhucun_http_request_duration_seconds_bucket",
            &[("route", "/v1/sync"), ("le", "+Inf")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "zhucun_http_requests_total",
            &[("route", "/v1/enroll"), ("status", "2xx")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "zhucun_enrolments_total", &[("result", "ok")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "zhucun_sync_request_bytes_total",
            &[("route", "/v1/sync")]
        ),
        Some(sent as f64)
    );
    assert_eq!(
        value(
            &samples,
            "zhucun_sync_response_bytes_total",
            &[("route", "/v1/sync")]
        ),
        Some(received as f64)
    );
    assert_eq!(
        value(&samples, "zhucun_records_pushed_total", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(
            &samples,
            "zhucun_sync_request_bytes_total",
            &[("route", "/v1/sync/doc")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(&samples, "zhucun_records_pulled_total", &[]),
        Some(sync.pull.len() as f64)
    );
    for code in [
        "out_of_scope",
        "invalid",
        "schema_too_new",
        "malformed",
        "envelope_changed",
    ] {
        assert_eq!(
            value(&samples, "zhucun_records_rejected_total", &[("code", code)]),
            Some(0.0),
            "reject code {code}"
        );
    }

    // The unknown path is counted under a fixed label, and no label carries its path.
    assert_eq!(
        value(
            &samples,
            "zhucun_http_requests_total",
            &[("route", "unmatched"), ("status", "4xx")]
        ),
        Some(1.0),
        "{text}"
    );
    for s in &samples {
        for v in s.labels.values() {
            assert!(
                !v.contains("no-such-endpoint") && !v.contains("probe-7f3a9c"),
                "raw path in a label: {s:?}"
            );
        }
    }
    assert!(!text.contains("probe-7f3a9c"), "raw path in /metrics");

    // Neither secrets nor personal data.
    let normalised_code: String = demo.code.chars().filter(|c| *c != '-').collect();
    for secret in [
        demo.code.as_str(),
        normalised_code.as_str(),
        enrolled.token.as_str(),
        enrolled.device_id.as_str(),
        enrolled.person_id.as_str(),
        enrolled.person_name.as_str(),
        "ops test phone",
    ] {
        assert!(!text.contains(secret), "`{secret}` appears in /metrics");
    }
}

/// Enrol a device with the demo's first code.
async fn enrol(server: &Server, http: &reqwest::Client) -> EnrollResponse {
    let req = EnrollRequest {
        code: server.seed.codes[0].code.clone(),
        device_name: "second phone".into(),
    };
    let resp = http
        .post(format!("{}/v1/enroll", server.base))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&req).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn metrics_count_rejects_by_code() {
    let server = start().await;
    let http = reqwest::Client::new();
    let enrolled = enrol(&server, &http).await;
    let bad_id = "not-a-uuid-5d1e";
    let req = SyncRequest {
        version: 1,
        cursor: 0,
        cursor_check: None,
        push: vec![PushRecord {
            id: bad_id.into(),
            base_heads: vec![],
            changes: vec![serde_bytes::ByteBuf::from(b"not automerge".to_vec())],
            heads: vec![],
        }],
        page_bytes: 1 << 20,
    };
    let resp = http
        .post(format!("{}/v1/sync", server.base))
        .header("content-type", zhucun_protocol::CONTENT_TYPE)
        .header("content-encoding", "zstd")
        .bearer_auth(&enrolled.token)
        .body(zhucun_protocol::encode(&req).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: SyncResponse = zhucun_protocol::decode(
        &resp.bytes().await.unwrap(),
        zhucun_protocol::DEFAULT_MAX_DECODED,
    )
    .unwrap();
    assert_eq!(answer.rejects.len(), 1);
    assert_eq!(answer.rejects[0].code, RejectCode::Malformed);

    // A refused round (no token) is an HTTP 4xx, not a sync round.
    let resp = http
        .post(format!("{}/v1/sync", server.base))
        .body(zhucun_protocol::encode(&req).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    let text = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples = parse_samples(&text);
    assert_eq!(value(&samples, "zhucun_sync_rounds_total", &[]), Some(1.0));
    assert_eq!(
        value(&samples, "zhucun_records_pushed_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "zhucun_records_acknowledged_total", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(
            &samples,
            "zhucun_records_rejected_total",
            &[("code", "malformed")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "zhucun_records_rejected_total",
            &[("code", "out_of_scope")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &samples,
            "zhucun_http_requests_total",
            &[("route", "/v1/sync"), ("status", "4xx")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "zhucun_http_requests_total",
            &[("route", "/v1/sync"), ("status", "2xx")]
        ),
        Some(1.0)
    );
    assert!(!text.contains(bad_id), "record id in /metrics");
    assert!(!text.contains(&enrolled.token), "token in /metrics");
}

/// A JSON pointer target of a local `$ref`.
fn check_refs(doc: &Value, node: &Value, broken: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                let ok = r.strip_prefix('#').and_then(|p| doc.pointer(p)).is_some();
                if !ok {
                    broken.push(r.clone());
                }
            }
            for v in map.values() {
                check_refs(doc, v, broken);
            }
        }
        Value::Array(items) => {
            for v in items {
                check_refs(doc, v, broken);
            }
        }
        _ => {}
    }
}

/// Follow a `$ref` (if any) to what it names.
fn resolve<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.pointer(&r[1..]).expect("resolvable $ref"),
        None => node,
    }
}

#[tokio::test]
async fn openapi_documents_every_route() {
    let server = start().await;
    let resp = reqwest::get(format!("{}/api/openapi.json", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let doc: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).expect("valid JSON");

    let version = doc["openapi"].as_str().expect("`openapi` is a string");
    assert!(version.starts_with("3.1"), "openapi {version}");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));

    // Every route the router serves is documented, and nothing else is.
    let served: BTreeSet<(String, String)> = api::routes()
        .into_iter()
        .map(|(m, p)| (m.as_str().to_lowercase(), p.to_string()))
        .collect();
    assert!(served.len() >= 7, "routes: {served:?}");
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch", "head", "options"]
                .contains(&method.as_str())
            {
                documented.insert((method.clone(), path.clone()));
            }
        }
    }
    assert_eq!(served, documented, "router vs openapi.json");

    let mut broken = Vec::new();
    check_refs(&doc, &doc, &mut broken);
    assert!(broken.is_empty(), "unresolved $ref: {broken:?}");

    // Bearer auth, used by the sync endpoints; CBOR + zstd bodies there.
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for path in ["/v1/sync", "/v1/sync/doc"] {
        let op = &doc["paths"][path]["post"];
        assert_eq!(op["security"][0]["bearer"], Value::Array(vec![]), "{path}");
        let body = resolve(&doc, &op["requestBody"]);
        assert!(
            body["content"].get(zhucun_protocol::CONTENT_TYPE).is_some(),
            "{path} request content"
        );
        let ok = resolve(&doc, &op["responses"]["200"]);
        assert!(ok["content"].get(zhucun_protocol::CONTENT_TYPE).is_some());
        let zstd = serde_json::json!(["zstd"]);
        assert_eq!(ok["headers"]["Content-Encoding"]["schema"]["enum"], zstd);
        let enc = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| resolve(&doc, p))
            .find(|p| p["name"] == "Content-Encoding")
            .expect("Content-Encoding parameter");
        assert_eq!(enc["schema"]["enum"], zstd);
        // The bodies have real schemas: the CBOR messages' fields.
        let request = resolve(
            &doc,
            &body["content"][zhucun_protocol::CONTENT_TYPE]["schema"],
        );
        assert_eq!(
            request["properties"]["version"]["type"], "integer",
            "{path}"
        );
        let answer = resolve(
            &doc,
            &ok["content"][zhucun_protocol::CONTENT_TYPE]["schema"],
        );
        assert_eq!(answer["properties"]["version"]["type"], "integer", "{path}");
        let unauthorized = resolve(&doc, &op["responses"]["401"]);
        assert_eq!(
            unauthorized["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Error"
        );
    }
    // What the server reads, the document says: a month's pattern matches exactly the months
    // the model parses (and empty, which is this month); every export file is listed.
    let param = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| resolve(&doc, p))
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} {name}"))
            .clone()
    };
    for path in [
        "/api/overview",
        "/api/villages/{id}",
        "/api/charts",
        "/api/supervision",
        "/api/export/{file}",
    ] {
        let month = param(path, "month");
        let re = regex::Regex::new(month["schema"]["pattern"].as_str().unwrap()).unwrap();
        assert!(re.is_match(""), "{path}: empty is this month");
        for y in [
            0, 999, 1899, 1900, 1999, 2000, 2026, 2199, 2200, 2201, 3000, 9999,
        ] {
            for m in 0..=13 {
                for s in [format!("{y:04}-{m:02}"), format!("{y}-{m}")] {
                    assert_eq!(
                        re.is_match(&s),
                        zhucun_model::Month::parse(&s).is_some(),
                        "{path}: {s}"
                    );
                }
            }
        }
        let invalid = resolve(&doc, &doc["paths"][path]["get"]["responses"]["422"]);
        assert_eq!(
            invalid["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error",
            "{path}"
        );
    }
    let files = param("/api/export/{file}", "file")["schema"]["enum"].clone();
    for f in ["overview.xlsx", "reports.csv", "members.xlsx", "people.csv"] {
        assert!(files.as_array().unwrap().contains(&Value::from(f)), "{f}");
    }
    let hash = param("/v1/blobs/{hash}", "hash");
    assert_eq!(hash["schema"]["pattern"], zhucun_model::HASH_PATTERN);
    // A task file's name as the model bounds it.
    let name = doc["paths"]["/api/blobs"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "name")
        .expect("/api/blobs name")
        .clone();
    assert_eq!(name["schema"]["maxLength"], zhucun_model::MAX_FILE_NAME);
    assert_eq!(name["schema"]["minLength"], 1);
    // A u32 is documented up to 2^32 - 1, not int32's 2^31 - 1.
    let request = &doc["components"]["schemas"]["SyncRequest"]["properties"];
    assert_eq!(request["page_bytes"]["maximum"], u32::MAX);
    assert_eq!(
        request["version"]["enum"],
        serde_json::json!([zhucun_protocol::VERSION])
    );

    let enroll = &doc["paths"]["/v1/enroll"]["post"];
    assert_eq!(
        enroll["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/EnrollRequest"
    );

    // The error body: {code, message}, with every code docs/protocol.md lists.
    let error = &doc["components"]["schemas"]["Error"];
    assert_eq!(error["required"], serde_json::json!(["code", "message"]));
    let codes: BTreeSet<&str> = error["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let protocol = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md"),
    )
    .unwrap();
    let mut listed = 0;
    for line in protocol.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // `| 401 | `no_token` / `bad_token` | ... |`
        if cells.len() >= 4 && cells[1].parse::<u16>().is_ok_and(|s| s >= 400) {
            for code in cells[2].split('`').skip(1).step_by(2) {
                listed += 1;
                assert!(
                    codes.contains(code),
                    "error code `{code}` not in openapi.json"
                );
            }
        }
    }
    assert!(listed >= 10, "read {listed} codes from docs/protocol.md");

    // Enumerations agree with the server's own lists.
    let role = &doc["components"]["schemas"]["EnrollResponse"]["properties"]["role"];
    let roles: BTreeSet<&str> = resolve(&doc, role)["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        zhucun_model::Role::ALL
            .map(zhucun_model::Role::as_str)
            .into_iter()
            .collect::<BTreeSet<_>>()
    );
    let kind = &doc["components"]["schemas"]["OrgUnitInfo"]["properties"]["kind"];
    let kinds: BTreeSet<&str> = resolve(&doc, kind)["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        zhucun_model::UnitKind::ALL
            .map(zhucun_model::UnitKind::as_str)
            .into_iter()
            .collect::<BTreeSet<_>>()
    );

    // Every answer with a body names a schema (no bare `{"type": "object"}`), and every JSON
    // body of an operation is a named type, an array of one, or the error body.
    for (path, item) in paths {
        if path == "/api/openapi.json" {
            continue; // This document: OpenAPI's own schema describes it.
        }
        for (method, op) in item.as_object().unwrap() {
            for (status, answer) in op["responses"].as_object().unwrap() {
                let answer = resolve(&doc, answer);
                for (mime, content) in answer["content"].as_object().into_iter().flatten() {
                    let schema = resolve(&doc, &content["schema"]);
                    assert!(
                        ["type", "$ref", "allOf", "oneOf", "anyOf"]
                            .iter()
                            .any(|k| schema.get(*k).is_some()),
                        "{method} {path} {status} {mime}: no schema"
                    );
                    assert!(
                        !(schema["type"] == "object" && schema.get("properties").is_none()),
                        "{method} {path} {status} {mime}: an object of no known shape"
                    );
                }
            }
        }
    }
    let overview = &doc["paths"]["/api/overview"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"]["$ref"];
    assert_eq!(overview, "#/components/schemas/Overview");
    let row = &doc["components"]["schemas"]["OverviewRow"]["properties"];
    assert_eq!(row["report"]["$ref"], "#/components/schemas/ReportStatus");

    // The document served is the one the server builds.
    let built: Value = serde_json::from_str(api::openapi_json()).unwrap();
    assert_eq!(built, doc);
}

/// Behind a reverse proxy every request comes from loopback; the proxy's `X-Forwarded-For`
/// says who asked. `/metrics` answers the machine itself only; the other answers carry the
/// headers that keep the dashboard from being framed or fed foreign scripts.
#[tokio::test]
async fn metrics_answer_only_the_machine_itself() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let store = zhucun_server::open_store(&url).await.unwrap();
    store.migrate().await.unwrap();
    let state = AppState::with_rate_limits(
        store,
        Limits::default(),
        None,
        zhucun_server::http::ratelimit::RateLimits {
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..Default::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let http = reqwest::Client::new();
    let get = |path: &str, forwarded: Option<&str>| {
        let mut r = http.get(format!("http://{addr}{path}"));
        if let Some(f) = forwarded {
            r = r.header("x-forwarded-for", f);
        }
        r.send()
    };
    let local = get("/metrics", None).await.unwrap();
    assert_eq!(local.status(), 200);
    assert!(local.text().await.unwrap().contains("zhucun_"));
    for who in ["203.0.113.9", "10.1.2.3", "::ffff:198.51.100.4"] {
        let far = get("/metrics", Some(who)).await.unwrap();
        assert_eq!(far.status(), 404, "{who}");
        let body: Value = far.json().await.unwrap();
        assert_eq!(body["code"], "not_found", "{who}");
    }
    let ok = get("/healthz", Some("203.0.113.9")).await.unwrap();
    assert_eq!(ok.status(), 200);
    let h = ok.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    task.abort();
}
