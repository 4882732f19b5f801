//! Bodies a client gets wrong, through the real router in-process: oversized, truncated and
//! compression bombs are refused with a 4xx and the documented code before anything is
//! stored, and the server keeps answering. (Found by reading the limits the fuzz target
//! `http_body` runs against; the end-to-end suite checks the same over TCP.)

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tower::ServiceExt;
use zhucun_protocol::{SyncRequest, VERSION};
use zhucun_server::http::{self as api, AppState, Limits};

struct Server {
    router: axum::Router,
    token: String,
    _dir: tempfile::TempDir,
}

async fn server(limits: Limits) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let store = zhucun_server::open_store(&url).await.unwrap();
    store.migrate().await.unwrap();
    let seed = zhucun_server::admin::demo(store.as_ref(), zhucun_server::identity::now())
        .await
        .unwrap();
    let blobs = zhucun_server::blobs::BlobDir::new(&dir.path().join("blobs"), 1 << 20).unwrap();
    let router = api::router(AppState::with_blobs(store, limits, Some(blobs)));
    let body = serde_json::json!({"code": seed.codes[0].code, "device_name": "t"}).to_string();
    let (status, v) = call(&router, Request::post("/v1/enroll"), "", body.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    Server {
        router,
        token: v["token"].as_str().unwrap().to_string(),
        _dir: dir,
    }
}

async fn call(
    router: &axum::Router,
    req: axum::http::request::Builder,
    token: &str,
    body: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let req = if token.is_empty() {
        req
    } else {
        req.header(header::AUTHORIZATION, format!("Bearer {token}"))
    };
    let resp = router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

fn idle() -> Vec<u8> {
    zhucun_protocol::encode(&SyncRequest {
        version: VERSION,
        cursor: 0,
        cursor_check: None,
        push: vec![],
        page_bytes: 1000,
    })
    .unwrap()
}

#[tokio::test]
async fn oversized_truncated_and_bomb_bodies_are_refused() {
    let s = server(Limits {
        max_body: 4096,
        max_decoded: 64 * 1024,
    })
    .await;
    let bomb = zstd::bulk::compress(&vec![0u8; 1 << 20], 19).unwrap();
    assert!(bomb.len() < 4096, "the bomb fits the body limit");
    let full = idle();
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "/v1/sync",
            "oversized",
            vec![7; 5000],
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            "/v1/sync",
            "bomb",
            bomb.clone(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            "/v1/sync/doc",
            "bomb",
            bomb,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            "/v1/sync",
            "truncated",
            full[..full.len() - 1].to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
        (
            "/v1/sync/doc",
            "truncated",
            full[..full.len() / 2].to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
        (
            "/v1/sync",
            "empty",
            vec![],
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
    ];
    for (path, what, body, status, code) in cases {
        let (st, v) = call(&s.router, Request::post(path), &s.token, body).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (status, Some(code)),
            "{path} {what}: {v}"
        );
    }
    // Enrolment JSON: oversized and truncated.
    let big = format!(r#"{{"code":"{}","device_name":"x"}}"#, "A".repeat(5000));
    let (st, v) = call(&s.router, Request::post("/v1/enroll"), "", big.into_bytes()).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
    );
    let (st, v) = call(
        &s.router,
        Request::post("/v1/enroll"),
        "",
        br#"{"code":"AB"#.to_vec(),
    )
    .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_body"))
    );
    // The full body still works.
    let (st, _) = call(&s.router, Request::post("/v1/sync"), &s.token, full).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn truncated_and_oversized_chunks_are_refused_and_nothing_is_kept() {
    let s = server(Limits::default()).await;
    let data = vec![5u8; 1000];
    let hash = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(&data))
    };
    let put = |size: usize| Request::put(format!("/v1/blobs/{hash}/0?size={size}"));
    // Truncated: fewer bytes than the size announced.
    let (st, v) = call(&s.router, put(1000), &s.token, data[..999].to_vec()).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_chunk")),
        "{v}"
    );
    // More than a chunk: refused on the body limit of the route.
    let chunk = zhucun_server::blobs::CHUNK_SIZE as usize;
    let (st, v) = call(&s.router, put(4 * chunk), &s.token, vec![0; chunk + 2048]).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")),
        "{v}"
    );
    // Over the server's blob size limit.
    let (st, v) = call(&s.router, put(2 << 20), &s.token, vec![0; chunk]).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")),
        "{v}"
    );
    // Nothing of those was kept: the blob is unknown, and the right chunk completes it.
    let (st, v) = call(
        &s.router,
        Request::get(format!("/v1/blobs/{hash}")),
        &s.token,
        vec![],
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["complete"], false);
    let (st, v) = call(&s.router, put(1000), &s.token, data).await;
    assert_eq!(
        (st, v["complete"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{v}"
    );
}

/// A device's `/v1/sync/doc` message whose bloom filter has entries but no bits made
/// Automerge divide by zero answering it (fuzz target `apply_changes`): the record is
/// refused as malformed and the server keeps serving it.
#[tokio::test]
async fn a_sync_message_with_an_empty_bloom_filter_is_refused() {
    use zhucun_protocol::{DocSyncRequest, DocSyncResponse, PushRecord};
    let s = server(Limits::default()).await;
    let base = include_bytes!("../../fuzz/fixtures/activity.automerge");
    let mut doc = zhucun_model::RecordDoc::load(base, zhucun_model::new_actor()).unwrap();
    let id = doc.header().unwrap().id.to_string();
    let push = SyncRequest {
        version: VERSION,
        cursor: 0,
        cursor_check: None,
        push: vec![PushRecord {
            id: id.clone(),
            base_heads: vec![],
            changes: doc
                .changes_since(&[])
                .into_iter()
                .map(serde_bytes::ByteBuf::from)
                .collect(),
            heads: vec![],
        }],
        page_bytes: 1000,
    };
    let body = zhucun_protocol::encode(&push).unwrap();
    let (st, _) = call(&s.router, Request::post("/v1/sync"), &s.token, body).await;
    assert_eq!(st, StatusCode::OK);
    let crasher = include_bytes!(
        "../../crates/zhucun-model/tests/fuzz-crashers/apply_changes-bloom-without-bits"
    );
    // The file is `[mode, state length 0, message]`.
    let req = DocSyncRequest {
        version: VERSION,
        id,
        message: Some(serde_bytes::ByteBuf::from(crasher[2..].to_vec())),
        server_state: None,
    };
    let resp = s
        .router
        .clone()
        .oneshot(
            Request::post("/v1/sync/doc")
                .header(header::AUTHORIZATION, format!("Bearer {}", s.token))
                .body(Body::from(zhucun_protocol::encode(&req).unwrap()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let answer: DocSyncResponse = zhucun_protocol::decode(&bytes, 1 << 20).unwrap();
    let reject = answer.reject.expect("refused");
    assert_eq!(
        reject.code,
        zhucun_protocol::RejectCode::Malformed,
        "{reject:?}"
    );
}

#[tokio::test]
async fn a_wrong_path_or_encoding_is_answered_in_json() {
    let s = server(Limits::default()).await;
    // A chunk index that is not a number: JSON `{code, message}`, not axum's plain text.
    let zeros = "0".repeat(64);
    for path in [
        format!("/v1/blobs/{zeros}/-1"),
        format!("/v1/blobs/{zeros}/x"),
    ] {
        let (st, v) = call(&s.router, Request::get(&path), &s.token, vec![]).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed_path")),
            "{path}: {v}"
        );
    }
    // Sync bodies are zstd: another encoding is refused, no header is read as zstd.
    let with = |enc: &str| Request::post("/v1/sync").header(header::CONTENT_ENCODING, enc);
    let (st, v) = call(&s.router, with("gzip"), &s.token, idle()).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_encoding")
        ),
        "{v}"
    );
    let (st, v) = call(&s.router, with("zstd"), &s.token, idle()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = call(&s.router, Request::post("/v1/sync"), &s.token, idle()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
}
