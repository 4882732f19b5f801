//! The server's HTTP surface in-process: `zhucun_server::http::router` over a SQLite store in a
//! temporary directory (the demo organisation, one device enrolled once), driven with
//! `tower::ServiceExt::oneshot`, so every request reaches the real routes, extractors, body
//! limits, codecs, the sync round and the blob store.
//!
//! Input layout (so seeds can be written from real requests):
//! `[route, method, flags, hash mode, chunk index, size mode, body...]`.
//! Checked: no panic, no 5xx except a documented 503, and `/healthz` still answers after.
//! The store persists across inputs (as a server's does), so a crash may need the inputs
//! before it to reproduce: `-runs` over the corpus directory replays them in order.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use zhucun_server::http::{self as api, AppState, Limits};

struct Fixture {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    token: String,
    _dir: tempfile::TempDir,
}

/// The body limit of the fuzzed server: small, so oversized bodies are cheap to send.
const MAX_BODY: usize = 64 * 1024;

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (router, token) = rt.block_on(async {
            let url = format!("sqlite://{}", dir.path().join("s.db").display());
            let store = zhucun_server::open_store(&url).await.unwrap();
            store.migrate().await.unwrap();
            let seed = zhucun_server::admin::demo(store.as_ref(), zhucun_server::identity::now())
                .await
                .unwrap();
            let blobs =
                zhucun_server::blobs::BlobDir::new(&dir.path().join("blobs"), 4 << 20).unwrap();
            let limits = Limits {
                max_body: MAX_BODY,
                max_decoded: 1 << 20,
            };
            let state = AppState::with_blobs(store, limits, Some(blobs));
            let router = api::router(state);
            let body = serde_json::json!({"code": seed.codes[0].code, "device_name": "fuzz"});
            let resp = router
                .clone()
                .oneshot(
                    Request::post("/v1/enroll")
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(body.to_string()))
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            (router, v["token"].as_str().unwrap().to_string())
        });
        Fixture {
            rt,
            router,
            token,
            _dir: dir,
        }
    })
}

const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::HEAD,
    Method::PATCH,
    Method::OPTIONS,
];

/// A hash segment for blob routes.
fn hash_segment(mode: u8, body: &[u8]) -> String {
    match mode % 6 {
        0 => hex::encode(Sha256::digest(body)),
        1 => hex::encode(Sha256::digest(b"")),
        2 => "A".repeat(64),
        3 => "..%2F..%2F..%2Fetc%2Fpasswd".into(),
        4 => "0".repeat(63),
        _ => {
            // Up to the first NUL of the body, percent-encoded.
            let end = body
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(body.len())
                .min(200);
            body[..end].iter().map(|b| format!("%{b:02X}")).collect()
        }
    }
}

fn build(data: &[u8], token: &str) -> Option<Request<Body>> {
    if data.len() < 6 {
        return None;
    }
    let (head, body) = data.split_at(6);
    let [route, method, flags, hash_mode, idx, size_mode] =
        [head[0], head[1], head[2], head[3], head[4], head[5]];
    let idx = match idx {
        250 => "x".to_string(),
        251 => "18446744073709551616".to_string(),
        252 => "-1".to_string(),
        n => (n % 8).to_string(),
    };
    let size = match size_mode % 5 {
        0 => format!("?size={}", body.len()),
        1 => format!("?size={}", u64::from(size_mode) << 16),
        2 => String::new(),
        3 => "?size=-1".into(),
        _ => format!("?size={}&size=1", body.len()),
    };
    let (path, own): (String, Method) = match route % 11 {
        0 => ("/healthz".into(), Method::GET),
        1 => ("/readyz".into(), Method::GET),
        2 => ("/metrics".into(), Method::GET),
        3 => ("/api/openapi.json".into(), Method::GET),
        4 => ("/v1/enroll".into(), Method::POST),
        5 => ("/v1/sync".into(), Method::POST),
        6 => ("/v1/sync/doc".into(), Method::POST),
        7 => (
            format!("/v1/blobs/{}", hash_segment(hash_mode, body)),
            Method::GET,
        ),
        8 => (
            format!("/v1/blobs/{}/{idx}{size}", hash_segment(hash_mode, body)),
            Method::PUT,
        ),
        9 => (
            format!("/v1/blobs/{}/{idx}", hash_segment(hash_mode, body)),
            Method::GET,
        ),
        _ => {
            let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
            (
                String::from_utf8_lossy(&body[..end]).into_owned(),
                Method::GET,
            )
        }
    };
    let method = METHODS.get(usize::from(method)).cloned().unwrap_or(own);
    let mut req = Request::builder().method(method).uri(path.as_str());
    req = match flags & 3 {
        0 => req.header(header::AUTHORIZATION, format!("Bearer {token}")),
        1 => req,
        2 => req.header(
            header::AUTHORIZATION,
            "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
        _ => req.header(header::AUTHORIZATION, format!("bearer {token}x")),
    };
    if flags & 4 != 0 {
        req = req.header(header::CONTENT_ENCODING, "zstd");
    }
    req = req.header(
        header::CONTENT_TYPE,
        if flags & 8 != 0 {
            "text/plain"
        } else {
            zhucun_protocol::CONTENT_TYPE
        },
    );
    let mut body = body.to_vec();
    if flags & 16 != 0 {
        // The rest is the uncompressed message: compress it as a client would.
        body = zstd::bulk::compress(&body, 1).ok()?;
    }
    if flags & 32 != 0 {
        // A Content-Length that lies.
        req = req.header(
            header::CONTENT_LENGTH,
            body.len() + usize::from(flags >> 6) * 1000,
        );
    }
    if flags & 64 != 0 && flags & 32 == 0 {
        // Oversized: past the body limit.
        let pad = MAX_BODY + 1 - body.len().min(MAX_BODY);
        body.extend(std::iter::repeat_n(0u8, pad));
    }
    req.body(Body::from(body)).ok()
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some(req) = build(data, &f.token) else {
        return;
    };
    f.rt.block_on(async {
        let resp = f.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        if status.is_server_error() {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let documented = status == StatusCode::SERVICE_UNAVAILABLE
                && matches!(v["code"].as_str(), Some("busy" | "not_ready"));
            assert!(documented, "{status}: {}", String::from_utf8_lossy(&body));
        }
        let health = f
            .router
            .clone()
            .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            health.status(),
            StatusCode::OK,
            "the server stopped answering"
        );
    });
});
