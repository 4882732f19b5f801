//! The seed corpora of the fuzz targets (`fuzz/seeds/<target>/`, run by `scripts/fuzz`) are
//! real requests and records, made here from the same types the server and devices use, so
//! the fuzzer starts from inputs that reach deep into the code. This test fails when the
//! committed seeds no longer match what the code makes (a protocol or model change): run
//! `ZHUCUN_WRITE_FUZZ_SEEDS=1 cargo test -p zhucun-server --test fuzz_seeds` to rewrite them.

use std::path::PathBuf;

use serde_bytes::ByteBuf;
use zhucun_model::automerge::ActorId;
use zhucun_model::{AnyRecord, Header, Kind, RecordDoc, Uuid};
use zhucun_protocol::{DocSyncRequest, PushRecord, SyncRequest, VERSION};

const KINDS: [Kind; 7] = [
    Kind::Village,
    Kind::Member,
    Kind::Activity,
    Kind::Project,
    Kind::Task,
    Kind::Report,
    Kind::Inspection,
];

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn cbor<T: serde::Serialize>(msg: &T) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(msg, &mut out).unwrap();
    out
}

fn header(kind: Kind, n: u128) -> Header {
    Header {
        kind,
        schema: kind.schema_version(),
        id: Uuid::from_u128(0x0190_f0a0_0000_7000_8000_0000_0000_0000 + n),
        village: "dongfeng".into(),
        created_by: "li-ming".into(),
    }
}

/// A valid activity in the demo's village (李明's), as a device makes it.
fn activity() -> AnyRecord {
    let input = serde_json::json!({
        "activity_kind": "党课", "date": "2026-05-08", "topic": "学习党章",
        "lecturer": "李明", "summary": "讲了党章第一章。",
    });
    AnyRecord::apply_input(Kind::Activity, None, input.as_object().unwrap()).unwrap()
}

fn doc_of(rec: &AnyRecord, n: u128, actor: &[u8]) -> RecordDoc {
    let mut doc = RecordDoc::create(ActorId::from(actor), &header(rec.kind(), n), rec).unwrap();
    doc.commit(&zhucun_model::Author::default(), 0);
    doc
}

fn prefixed(head: &[u8], body: &[u8]) -> Vec<u8> {
    let mut v = head.to_vec();
    v.extend_from_slice(body);
    v
}

/// (path under fuzz/, bytes) of every seed and fixture.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    // The record every apply_changes input is applied to (the target includes this file).
    let mut base = doc_of(&activity(), 2, b"device");
    let base_bytes = base.save();
    out.push(("fixtures/activity.automerge".into(), base_bytes.clone()));
    // An edit on top of it, as a device would push it.
    let mut edited = RecordDoc::load(&base_bytes, ActorId::from(&b"device"[..])).unwrap();
    let before = edited.heads();
    let mut rec = activity();
    if let AnyRecord::Activity(a) = &mut rec {
        a.place = "村委会".into();
    }
    edited.update(&rec).unwrap();
    edited.commit(&zhucun_model::Author::default(), 1);
    let edit = edited.changes_since(&before);
    let mut joined = Vec::new();
    for (i, c) in edit.iter().enumerate() {
        if i > 0 {
            joined.extend_from_slice(&[0xfe, 0xfd]);
        }
        joined.extend_from_slice(c);
    }
    out.push(("seeds/apply_changes/edit".into(), prefixed(&[0], &joined)));
    let mut state = zhucun_model::automerge::sync::State::new();
    let msg = edited.generate_sync_message(&mut state).unwrap();
    out.push((
        "seeds/apply_changes/sync-message".into(),
        prefixed(&[1, 0], &msg),
    ));

    // hydrate_record: saved documents of every kind, and their JSON.
    for (i, kind) in KINDS.iter().enumerate() {
        let rec = if *kind == Kind::Activity {
            activity()
        } else {
            AnyRecord::default_of(*kind)
        };
        let bytes = doc_of(&rec, 10 + i as u128, b"device").save();
        out.push((
            format!("seeds/hydrate_record/{kind}.automerge"),
            prefixed(&[0], &bytes),
        ));
        let json = serde_json::to_vec(&rec.to_json_map()).unwrap();
        out.push((
            format!("seeds/hydrate_record/{kind}.json"),
            prefixed(&[(i as u8) << 1 | 1], &json),
        ));
    }
    out.push((
        "seeds/hydrate_record/edited.automerge".into(),
        prefixed(&[0], &edited.save()),
    ));

    // sync_request and http_body: real request bodies.
    let push = SyncRequest {
        version: VERSION,
        cursor: 0,
        cursor_check: None,
        push: vec![PushRecord {
            id: header(Kind::Activity, 2).id.to_string(),
            base_heads: vec![],
            changes: base
                .changes_since(&[])
                .into_iter()
                .chain(edit.clone())
                .map(ByteBuf::from)
                .collect(),
            heads: vec![],
        }],
        page_bytes: 1 << 20,
    };
    let idle = SyncRequest {
        version: VERSION,
        cursor: 3,
        cursor_check: Some(ByteBuf::from(vec![1; 8])),
        push: vec![],
        page_bytes: 1 << 20,
    };
    let doc_sync = DocSyncRequest {
        version: VERSION,
        id: header(Kind::Activity, 2).id.to_string(),
        message: Some(ByteBuf::from(msg)),
        server_state: None,
    };
    let enroll = serde_json::to_vec(&zhucun_protocol::EnrollRequest {
        code: "ABCD-EFGH".into(),
        device_name: "平板".into(),
    })
    .unwrap();
    for (name, sel, body, encoded) in [
        (
            "push",
            0u8,
            cbor(&push),
            zhucun_protocol::encode(&push).unwrap(),
        ),
        (
            "idle",
            0,
            cbor(&idle),
            zhucun_protocol::encode(&idle).unwrap(),
        ),
        (
            "doc-sync",
            1,
            cbor(&doc_sync),
            zhucun_protocol::encode(&doc_sync).unwrap(),
        ),
    ] {
        out.push((
            format!("seeds/sync_request/{name}.cbor"),
            prefixed(&[sel | 0x80], &body),
        ));
        out.push((
            format!("seeds/sync_request/{name}.zst"),
            prefixed(&[sel], &encoded),
        ));
        // [route, method (own), flags: valid token, compress the body, hash mode, idx, size mode]
        let route = if sel == 0 { 5 } else { 6 };
        out.push((
            format!("seeds/http_body/{name}"),
            prefixed(&[route, 255, 16, 0, 0, 0], &body),
        ));
    }
    out.push((
        "seeds/sync_request/enroll.json".into(),
        prefixed(&[4], &enroll),
    ));
    out.push((
        "seeds/http_body/enroll".into(),
        prefixed(&[4, 255, 1, 0, 0, 0], &enroll),
    ));
    // A one-chunk attachment named by its hash: upload, status, download.
    let blob = "一张照片".repeat(20).into_bytes();
    out.push((
        "seeds/http_body/blob-put".into(),
        prefixed(&[8, 255, 0, 0, 0, 0], &blob),
    ));
    out.push((
        "seeds/http_body/blob-status".into(),
        prefixed(&[7, 255, 0, 0, 0, 0], &blob),
    ));
    out.push((
        "seeds/http_body/blob-get".into(),
        prefixed(&[9, 255, 0, 0, 0, 0], &blob),
    ));
    for (i, route) in ["healthz", "readyz", "metrics", "openapi"]
        .iter()
        .enumerate()
    {
        out.push((
            format!("seeds/http_body/{route}"),
            vec![i as u8, 255, 1, 0, 0, 0],
        ));
    }
    out.push((
        "seeds/http_body/unknown-path".into(),
        prefixed(&[10, 255, 0, 0, 0, 0], b"/v1/nothing?x=1"),
    ));
    out
}

#[test]
fn fuzz_seeds_are_made_from_current_requests_and_records() {
    let dir = fuzz_dir();
    let write = std::env::var_os("ZHUCUN_WRITE_FUZZ_SEEDS").is_some();
    let mut stale = Vec::new();
    for (path, bytes) in seeds() {
        let p = dir.join(&path);
        if write {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, &bytes).unwrap();
        } else if std::fs::read(&p).ok().as_deref() != Some(&bytes[..]) {
            stale.push(path);
        }
    }
    assert!(
        stale.is_empty(),
        "fuzz seeds out of date: {stale:?}; rewrite them with \
         ZHUCUN_WRITE_FUZZ_SEEDS=1 cargo test -p zhucun-server --test fuzz_seeds"
    );
}
