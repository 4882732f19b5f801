//! Hostile input and access against the real server process, on SQLite and PostgreSQL:
//! every endpoint tried out of scope, with revoked, unknown and missing tokens; guessing
//! tokens and codes limited; truncated bodies; SQL-injection strings; blob names that try to
//! leave the blob directory; and a canary person whose name, ID number and phone must never
//! show in the server's log (at trace level) nor in plaintext in the device's files.
//!
//! Reused codes and revoked devices through the CLI: `sync.rs`
//! (`codes_are_one_time_and_revoked_devices_are_refused`); malformed, oversized and
//! future-version bodies: `sync.rs` (`bad_input_gets_a_clear_4xx…`, `oversized_bodies…`).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::Path;

use serde_json::{json, Value};
use zhucun_e2e::{demo, issue_code, server_cmd, server_export, Backend, Client, Server};
use zhucun_model::automerge::{self, transaction::Transactable, AutoCommit};
use zhucun_protocol::{
    decode, encode, DocSyncRequest, DocSyncResponse, PushRecord, RejectCode, SyncRequest,
    SyncResponse, VERSION,
};

/// A plain HTTP client on its own runtime, optionally from another loopback address.
struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_string()
    }
}

impl Http {
    fn new() -> Http {
        Http::from(None)
    }

    fn from(local: Option<IpAddr>) -> Http {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = reqwest::Client::builder()
            .local_address(local)
            .build()
            .unwrap();
        Http { rt, client }
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        self.rt.block_on(async {
            let mut r = self.client.request(method.parse().unwrap(), url).body(body);
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.bytes().await.unwrap().to_vec();
            Answer {
                status,
                headers,
                body,
            }
        })
    }

    fn enroll(&self, base: &str, code: &str, name: &str) -> Answer {
        self.send(
            "POST",
            &format!("{base}/v1/enroll"),
            None,
            &[],
            json!({"code": code, "device_name": name})
                .to_string()
                .into_bytes(),
        )
    }
}

fn token_of(a: &Answer) -> String {
    assert_eq!(a.status, 200, "enrol: {}", String::from_utf8_lossy(&a.body));
    a.json()["token"].as_str().unwrap().to_string()
}

fn sync_req(push: Vec<PushRecord>) -> Vec<u8> {
    encode(&SyncRequest {
        version: VERSION,
        cursor: 0,
        cursor_check: None,
        push,
        page_bytes: 1 << 20,
    })
    .unwrap()
}

/// A record's document as the device holds it (`zhucun doc export`).
fn doc_of(c: &Client, id: &str) -> AutoCommit {
    let file = c.dir.path().join(format!("{id}.automerge"));
    c.ok(&["doc", "export", id, "-o", file.to_str().unwrap()], None);
    AutoCommit::load(&std::fs::read(&file).unwrap()).unwrap()
}

/// A document's whole history as a push carries it: its changes back to back.
fn all_changes(doc: &mut AutoCommit) -> Vec<u8> {
    doc.get_changes(&[])
        .into_iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect()
}

/// The summary text of an activity's document.
fn summary_of(doc: &AutoCommit) -> automerge::ObjId {
    match automerge::ReadDoc::get(doc, automerge::ROOT, "summary").unwrap() {
        Some((_, id)) => id,
        None => panic!("the record has a summary"),
    }
}

/// Commit `doc`'s pending operations as one change naming its maker, as every zhucun change
/// does (the server refuses a change that names none): Li Ming on a device of theirs, passed
/// on by whichever device pushes it.
fn commit_named(doc: &mut AutoCommit) {
    use automerge::transaction::CommitOptions;
    doc.commit_with(
        CommitOptions::default()
            .with_message(json!({"person": "li-ming", "device": "li-ming-phone"}).to_string()),
    );
}

/// One Automerge change to `doc` setting `field`, as raw bytes.
fn change_setting(doc: &mut AutoCommit, field: &str, value: &str) -> Vec<u8> {
    doc.put(automerge::ROOT, field, value).unwrap();
    commit_named(doc);
    doc.get_last_local_change().unwrap().raw_bytes().to_vec()
}

#[test]
fn every_endpoint_refuses_what_is_out_of_scope() {
    for b in Backend::all() {
        let name = b.name();
        let db = b.url();
        let codes = demo(&db);
        // Hundreds of refused tokens from one address: above the guessing limit on purpose.
        let server = Server::start_with(&db, "debug", &["--max-auth-failures", "100000"]);
        let base = server.url.clone();
        let http = Http::new();
        // The village's device with a member, an activity and its photo.
        let village = Client::new();
        village.enroll(&base, &codes["li-ming"]);
        let member = village.put(
            "member",
            &json!({"name": "甄卡纳瑞", "id_number": "11010519491231002X"}),
        );
        let photo: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let file = village.dir.path().join("p.jpg");
        std::fs::write(&file, &photo).unwrap();
        let hash = village
            .ok(
                &[
                    "blob",
                    "add",
                    file.to_str().unwrap(),
                    "--mime",
                    "image/jpeg",
                ],
                None,
            )
            .trim()
            .to_string();
        let act = village.put(
            "activity",
            &json!({"activity_kind": "theme_party_day", "date": "2026-05-28", "topic": "主题党日",
                "attachments": [{"hash": hash, "name": "p.jpg", "mime": "image/jpeg", "size": photo.len()}]}),
        );
        village.sync();
        let before = server_export(&db);
        // Another street's device, a revoked one, an unknown and no token.
        let outsider = token_of(&http.enroll(&base, &codes["chen-jing"], "outsider"));
        let revoked = token_of(&http.enroll(&base, &issue_code(&db, "li-ming"), "lost phone"));
        let devices: Value =
            serde_json::from_slice(&server_cmd(&db, &["admin", "devices", "--json"]).stdout)
                .unwrap();
        let lost = devices
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "lost phone")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(server_cmd(&db, &["admin", "revoke", &lost])
            .status
            .success());

        // What an outsider could send to each endpoint: (method, path, body) read and write.
        let mut doc = doc_of(&village, &act);
        let foreign_change = change_setting(&mut doc, "topic", "越权修改");
        let new_in_village = {
            let mut d = doc_of(&village, &act);
            let id = zhucun_model::new_id().to_string();
            d.put(automerge::ROOT, "id", id.as_str()).unwrap();
            commit_named(&mut d);
            (id, all_changes(&mut d))
        };
        let sync_message = {
            use automerge::sync::SyncDoc;
            let mut st = automerge::sync::State::new();
            doc.sync()
                .generate_sync_message(&mut st)
                .map(|m| m.encode())
        };
        let chunk0 = photo[..262_144].to_vec();
        type Case = Vec<(&'static str, String, Vec<u8>)>;
        // In order: the blob reads before the upload that proves a chunk.
        let mut cases: Vec<((String, String), Case)> = Vec::new();
        let mut add = |method: &str, route: &str, c: Case| {
            cases.push(((method.to_string(), route.to_string()), c));
        };
        add(
            "POST",
            "/v1/sync",
            vec![
                ("read: pull from 0", "/v1/sync".into(), sync_req(vec![])),
                (
                    "write: edit the village's record",
                    "/v1/sync".into(),
                    sync_req(vec![PushRecord {
                        id: act.clone(),
                        base_heads: vec![],
                        changes: vec![serde_bytes::ByteBuf::from(foreign_change.clone())],
                        heads: vec![],
                    }]),
                ),
                (
                    "write: new record in the village",
                    "/v1/sync".into(),
                    sync_req(vec![PushRecord {
                        id: new_in_village.0.clone(),
                        base_heads: vec![],
                        changes: vec![serde_bytes::ByteBuf::from(new_in_village.1.clone())],
                        heads: vec![],
                    }]),
                ),
            ],
        );
        add(
            "POST",
            "/v1/sync/doc",
            vec![
                (
                    "read: the member through the sync protocol",
                    "/v1/sync/doc".into(),
                    encode(&DocSyncRequest {
                        version: VERSION,
                        id: member.clone(),
                        message: None,
                        server_state: None,
                    })
                    .unwrap(),
                ),
                (
                    "write: a change through the sync protocol",
                    "/v1/sync/doc".into(),
                    encode(&DocSyncRequest {
                        version: VERSION,
                        id: act.clone(),
                        message: sync_message.map(serde_bytes::ByteBuf::from),
                        server_state: None,
                    })
                    .unwrap(),
                ),
            ],
        );
        add(
            "GET",
            "/v1/blobs/{hash}",
            vec![("read: status", format!("/v1/blobs/{hash}"), vec![])],
        );
        add(
            "GET",
            "/v1/blobs/{hash}/{idx}",
            vec![("read: the photo", format!("/v1/blobs/{hash}/0"), vec![])],
        );
        add(
            "PUT",
            "/v1/blobs/{hash}/{idx}",
            vec![
                (
                    "write: other bytes as the photo's first chunk",
                    format!("/v1/blobs/{hash}/0?size={}", photo.len()),
                    vec![0u8; 262_144],
                ),
                (
                    "write: the photo's own first chunk",
                    format!("/v1/blobs/{hash}/0?size={}", photo.len()),
                    chunk0.clone(),
                ),
            ],
        );
        // Public endpoints: nothing of a record in them.
        let public = [
            ("GET", "/healthz"),
            ("GET", "/readyz"),
            ("GET", "/metrics"),
            ("GET", "/api/openapi.json"),
            ("POST", "/v1/enroll"),
            ("POST", "/api/login"),
        ];
        let routes: BTreeSet<(String, String)> = zhucun_server::http::routes()
            .into_iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        // The office dashboard's routes answer only an office session (their scope per role is
        // tested in server/tests/dashboard.rs and tests/dashboard): a device token gets 401.
        let office: Vec<(String, String)> = routes
            .iter()
            .filter(|(_, p)| {
                p.starts_with("/api/") && p != "/api/openapi.json" && p != "/api/login"
            })
            .cloned()
            .collect();
        for (m, p) in &office {
            let path = p
                .replace("{id}", "dongfeng")
                .replace("{file}", "overview.csv");
            let a = http.send(m, &format!("{base}{path}"), Some(&outsider), &[], vec![]);
            assert_eq!(a.status, 401, "{name}: {m} {p} with a device token");
        }
        let covered: BTreeSet<(String, String)> = cases
            .iter()
            .map(|(k, _)| k.clone())
            .chain(public.iter().map(|(m, p)| (m.to_string(), p.to_string())))
            .chain(office.iter().cloned())
            .collect();
        assert_eq!(
            routes, covered,
            "every route needs an out-of-scope case here (or is listed as public)"
        );

        let mut tried = 0;
        for (m, p) in public {
            let a = http.send(m, &format!("{base}{p}"), Some(&outsider), &[], vec![]);
            let text = String::from_utf8_lossy(&a.body);
            for secret in [
                "甄卡纳瑞",
                "11010519491231002X",
                act.as_str(),
                hash.as_str(),
            ] {
                assert!(!text.contains(secret), "{name}: {m} {p} shows `{secret}`");
            }
            tried += 1;
        }
        for ((method, route), list) in &cases {
            for (what, path, body) in list {
                let url = format!("{base}{path}");
                // Refused to every device that is not a device any more.
                for (who, tok, code) in [
                    ("no token", None, "no_token"),
                    ("unknown token", Some("A".repeat(43)), "bad_token"),
                    ("revoked device", Some(revoked.clone()), "device_revoked"),
                ] {
                    // Refused on the request head: no body needed (a big one may be cut off
                    // unread, as it should).
                    let a = http.send(method, &url, tok.as_deref(), &[], vec![]);
                    assert_eq!(
                        (a.status, a.code().as_str()),
                        (401, code),
                        "{name}: {method} {route} {what} by {who}"
                    );
                    tried += 1;
                }
                // And out of scope to the outsider.
                let a = http.send(method, &url, Some(&outsider), &[], body.clone());
                tried += 1;
                let ctx = format!("{name}: {method} {route}: {what}");
                match route.as_str() {
                    "/v1/sync" => {
                        assert_eq!(a.status, 200, "{ctx}");
                        let r: SyncResponse = decode(&a.body, 1 << 26).unwrap();
                        assert!(r.pull.is_empty(), "{ctx}: pulled {:?}", r.pull.len());
                        assert!(r.acks.is_empty(), "{ctx}: acknowledged");
                        assert!(
                            r.rejects.iter().all(|x| x.code == RejectCode::OutOfScope),
                            "{ctx}: {:?}",
                            r.rejects
                        );
                        assert_eq!(r.rejects.len(), body_pushes(body), "{ctx}");
                    }
                    "/v1/sync/doc" => {
                        assert_eq!(a.status, 200, "{ctx}");
                        let r: DocSyncResponse = decode(&a.body, 1 << 26).unwrap();
                        assert!(r.message.is_none(), "{ctx}: the server answered a message");
                        assert_eq!(
                            r.reject.map(|x| x.code),
                            Some(RejectCode::OutOfScope),
                            "{ctx}"
                        );
                    }
                    "/v1/blobs/{hash}" => {
                        // As if the server had never seen it.
                        assert_eq!(a.status, 200, "{ctx}");
                        let v = a.json();
                        assert_eq!(
                            (&v["complete"], &v["size"]),
                            (&json!(false), &Value::Null),
                            "{ctx}: {v}"
                        );
                    }
                    "/v1/blobs/{hash}/{idx}" if method == "PUT" && what.contains("other bytes") => {
                        assert_eq!(
                            (a.status, a.code().as_str()),
                            (422, "hash_mismatch"),
                            "{ctx}"
                        );
                    }
                    "/v1/blobs/{hash}/{idx}" if method == "PUT" => {
                        // Holding the first chunk proves that chunk only.
                        assert_eq!(a.status, 200, "{ctx}");
                        let v = a.json();
                        assert_eq!(
                            (&v["complete"], &v["missing"]),
                            (&json!(false), &json!([1])),
                            "{ctx}: {v}"
                        );
                    }
                    _ => {
                        assert_eq!(
                            (a.status, a.code().as_str()),
                            (404, "blob_missing"),
                            "{ctx}"
                        );
                        assert!(a.body.len() < 1000, "{ctx}: served bytes");
                    }
                }
            }
        }
        // Nothing changed on the server, and the photo is intact for those in scope.
        assert_eq!(
            server_export(&db),
            before,
            "{name}: an outsider changed records"
        );
        let town = Client::new();
        town.enroll(&base, &codes["wang-qiang"]);
        town.sync();
        town.ok(&["blob", "fetch", &hash], None);
        let back = town.dir.path().join("back.jpg");
        town.ok(&["blob", "get", &hash, "-o", back.to_str().unwrap()], None);
        assert_eq!(
            std::fs::read(&back).unwrap(),
            photo,
            "{name}: photo altered"
        );
        // Claiming the photo by its hash from a record of one's own village: refused until
        // the device proves it holds the photo by uploading it.
        let claim = {
            let mut d = doc_of(&village, &act);
            let id = zhucun_model::new_id().to_string();
            d.put(automerge::ROOT, "id", id.as_str()).unwrap();
            d.put(automerge::ROOT, "village", "hongqi").unwrap();
            commit_named(&mut d);
            (id, all_changes(&mut d))
        };
        let push_claim = || {
            let a = http.send(
                "POST",
                &format!("{base}/v1/sync"),
                Some(&outsider),
                &[],
                sync_req(vec![PushRecord {
                    id: claim.0.clone(),
                    base_heads: vec![],
                    changes: vec![serde_bytes::ByteBuf::from(claim.1.clone())],
                    heads: vec![],
                }]),
            );
            decode::<SyncResponse>(&a.body, 1 << 26).unwrap()
        };
        let r = push_claim();
        assert_eq!(
            r.rejects.iter().map(|x| x.code).collect::<Vec<_>>(),
            [RejectCode::OutOfScope],
            "{name}: a record claimed another village's photo by its hash"
        );
        let chunk = format!("{base}/v1/blobs/{hash}/0");
        assert_eq!(
            http.send("GET", &chunk, Some(&outsider), &[], vec![])
                .status,
            404
        );
        tried += 2;
        for (idx, part) in photo.chunks(262_144).enumerate() {
            let url = format!("{base}/v1/blobs/{hash}/{idx}?size={}", photo.len());
            let a = http.send("PUT", &url, Some(&outsider), &[], part.to_vec());
            assert_eq!(a.status, 200, "{name}: {}", a.json());
        }
        let r = push_claim();
        assert_eq!(
            r.acks.len(),
            1,
            "{name}: holding the photo, the record lands: {:?}",
            r.rejects
        );
        assert_eq!(
            http.send("GET", &chunk, Some(&outsider), &[], vec![])
                .status,
            200
        );
        println!("{name}: {tried} out-of-scope, revoked, unknown-token and public requests refused or clean over {} routes", routes.len());
    }
}

fn body_pushes(body: &[u8]) -> usize {
    decode::<SyncRequest>(body, 1 << 26)
        .map(|r| r.push.len())
        .unwrap_or(0)
}

#[test]
fn guessing_tokens_and_codes_is_limited_per_client_address() {
    let b = Backend::Sqlite(tempfile::tempdir().unwrap());
    let db = b.url();
    let codes = demo(&db);
    let server = Server::start_with(&db, "info", &["--trust-proxy", "127.0.0.4"]);
    let base = server.url.clone();
    let sync = format!("{base}/v1/sync");
    let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
    let honest = Http::new();
    let token = token_of(&honest.enroll(&base, &codes["li-ming"], "honest"));

    // Token guesses from 127.0.0.2: ten wrong answers, then 429 with Retry-After.
    let guesser = Http::from(ip("127.0.0.2"));
    for n in 0..10 {
        let a = guesser.send("POST", &sync, Some(&format!("guess{n:040}")), &[], vec![]);
        assert_eq!(
            (a.status, a.code().as_str()),
            (401, "bad_token"),
            "guess {n}"
        );
    }
    let a = guesser.send("POST", &sync, Some("guess-eleven"), &[], vec![]);
    assert_eq!((a.status, a.code().as_str()), (429, "rate_limited"));
    let wait: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=61).contains(&wait), "Retry-After {wait}");
    // The same address cannot turn to codes instead.
    let a = guesser.enroll(&base, "ABCD-EFGH", "x");
    assert_eq!(a.status, 429);
    // A valid device elsewhere is unaffected, and so are codes from elsewhere.
    for _ in 0..3 {
        let a = honest.send("POST", &sync, Some(&token), &[], sync_req(vec![]));
        assert_eq!(a.status, 200);
    }
    let c = Client::new();
    c.enroll(&base, &codes["wang-qiang"]);
    assert_eq!(c.sync()["pending"], 0);

    // Code guesses from 127.0.0.3.
    let coder = Http::from(ip("127.0.0.3"));
    for n in 0..10 {
        let a = coder.enroll(&base, &format!("ZZZZ-{n:04}"), "x");
        assert_eq!(
            (a.status, a.code().as_str()),
            (400, "code_invalid"),
            "code {n}"
        );
    }
    let a = coder.enroll(&base, &codes["chen-jing"], "x");
    assert_eq!(
        (a.status, a.code().as_str()),
        (429, "rate_limited"),
        "even a right code waits once the address is over its limit"
    );
    // ...and the code was not used up by that.
    let a = honest.enroll(&base, &codes["chen-jing"], "y");
    assert_eq!(a.status, 200);

    // Office passwords sprayed across the three office users from 127.0.0.7: no user reaches
    // its own lock (at most 4 failures each), but the address is limited after ten.
    let login = |h: &Http, user: &str, password: &str| {
        h.send(
            "POST",
            &format!("{base}/api/login"),
            None,
            &[("content-type", "application/json")],
            json!({"user": user, "password": password})
                .to_string()
                .into_bytes(),
        )
    };
    let sprayer = Http::from(ip("127.0.0.7"));
    let users = ["admin", "zhao-min", "wang-qiang"];
    for n in 0..10 {
        let a = login(&sprayer, users[n % 3], &format!("spring{n}"));
        assert_eq!(
            (a.status, a.code().as_str()),
            (401, "bad_login"),
            "password {n}"
        );
    }
    let a = login(&sprayer, "admin", zhucun_server::admin::DEMO_PASSWORD);
    assert_eq!(
        (a.status, a.code().as_str()),
        (429, "rate_limited"),
        "even the right password waits once the address is over its limit"
    );
    assert!(a.headers.contains_key("retry-after"));
    // The sprayed users are not locked out for everyone else.
    let officer = Http::from(ip("127.0.0.8"));
    for u in users {
        let a = login(&officer, u, zhucun_server::admin::DEMO_PASSWORD);
        assert_eq!(a.status, 200, "{u} logs in from another address");
    }

    // Behind the trusted proxy 127.0.0.4, clients are told apart by X-Forwarded-For.
    let proxy = Http::from(ip("127.0.0.4"));
    for n in 0..10 {
        let a = proxy.send(
            "POST",
            &sync,
            Some(&format!("p{n}")),
            &[("x-forwarded-for", "10.1.1.1")],
            vec![],
        );
        assert_eq!(a.status, 401);
    }
    let a = proxy.send(
        "POST",
        &sync,
        Some("p"),
        &[("x-forwarded-for", "10.1.1.1")],
        vec![],
    );
    assert_eq!(a.status, 429, "the client behind the proxy is limited");
    let a = proxy.send(
        "POST",
        &sync,
        Some(&token),
        &[("x-forwarded-for", "10.1.1.2")],
        sync_req(vec![]),
    );
    assert_eq!(a.status, 200, "another client behind the same proxy is not");
    // An untrusted peer cannot pick its own address by the header.
    let spoofer = Http::from(ip("127.0.0.5"));
    for n in 0..10 {
        let xff = format!("10.2.2.{n}");
        let a = spoofer.send(
            "POST",
            &sync,
            Some("s"),
            &[("x-forwarded-for", &xff)],
            vec![],
        );
        assert_eq!(a.status, 401);
    }
    let a = spoofer.send(
        "POST",
        &sync,
        Some("s"),
        &[("x-forwarded-for", "10.3.3.3")],
        vec![],
    );
    assert_eq!(a.status, 429);
    println!("rate limit: 56 guesses from 5 addresses (11 of them office passwords), 5 limited as they should be, 9 honest requests served");
}

/// Send a request head announcing `length` bytes, then only `body`, then close the sending
/// side. Returns the status line answered (empty when the server just closed).
fn truncated(addr: &str, head: &str, length: usize, body: &[u8]) -> String {
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        tcp,
        "{head}Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    tcp.write_all(body).unwrap();
    let _ = tcp.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn truncated_bodies_store_nothing() {
    for b in Backend::all() {
        let name = b.name();
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let http = Http::new();
        // An enrolment cut short does not use the code up.
        let body = json!({"code": codes["li-ming"], "device_name": "cut"}).to_string();
        let st = truncated(
            &server.addr,
            "POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
            body.len(),
            &body.as_bytes()[..body.len() / 2],
        );
        assert!(!st.contains("200"), "{name}: {st}");
        let village = Client::new();
        village.enroll(&server.url, &codes["li-ming"]);
        let tok = token_of(&http.enroll(&server.url, &issue_code(&db, "li-ming"), "raw"));
        // A sync carrying a record, cut in its body: nothing of it lands.
        let rec = village.put(
            "activity",
            &json!({"activity_kind": "theme_party_day",
            "date": "2026-05-01", "topic": "截断"}),
        );
        let doc = doc_of(&village, &rec);
        let full = sync_req(vec![PushRecord {
            id: rec.clone(),
            base_heads: vec![],
            changes: vec![serde_bytes::ByteBuf::from(all_changes(&mut doc.clone()))],
            heads: vec![],
        }]);
        let mut cases = 0;
        for cut in [1, full.len() / 3, full.len() / 2, full.len() - 1] {
            let st = truncated(
                &server.addr,
                &format!("POST /v1/sync HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n"),
                full.len(),
                &full[..cut],
            );
            assert!(!st.contains("200"), "{name}: cut at {cut}: {st}");
            cases += 1;
        }
        assert!(
            !server_export(&db).contains("截断"),
            "{name}: a truncated push was stored"
        );
        // A blob chunk cut short is not stored: the chunk is still missing.
        let data = vec![5u8; 262_144 + 10];
        let h = hex_sha256(&data);
        let st = truncated(
            &server.addr,
            &format!(
                "PUT /v1/blobs/{h}/0?size={} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n",
                data.len()
            ),
            262_144,
            &data[..100_000],
        );
        assert!(!st.contains("200"), "{name}: {st}");
        cases += 1;
        let a = http.send(
            "GET",
            &format!("{}/v1/blobs/{h}", server.url),
            Some(&tok),
            &[],
            vec![],
        );
        let missing = a.json()["missing"].clone();
        assert!(
            missing == json!([0, 1]) || a.json()["size"].is_null(),
            "{name}: {}",
            a.json()
        );
        // The server still serves, and the whole push lands.
        let s = village.sync();
        assert_eq!(s["acked"], 1, "{name}: {s}");
        println!(
            "{name}: {} truncated bodies refused, nothing stored",
            cases + 1
        );
    }
}

fn hex_sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

const INJECTIONS: [&str; 6] = [
    "'); DROP TABLE docs;--",
    "\" OR 1=1 --",
    "x' OR '1'='1",
    "1; DELETE FROM devices; --",
    "李'); DROP TABLE changes;--",
    "%' UNION SELECT token_hash FROM devices --",
];

#[test]
fn sql_injection_strings_are_stored_literally() {
    for b in Backend::all() {
        let name = b.name();
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let http = Http::new();
        let mut cases = 0;
        // Through the admin CLI: names are stored as given, ids are refused as ids.
        for (n, bad) in INJECTIONS.iter().enumerate() {
            let unit = format!("inj{n}");
            let o = server_cmd(
                &db,
                &[
                    "admin",
                    "add-unit",
                    "--id",
                    &unit,
                    "--name",
                    bad,
                    "--kind",
                    "village",
                    "--parent",
                    "chengguan",
                ],
            );
            assert!(
                o.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let person = format!("p{n}");
            let o = server_cmd(
                &db,
                &[
                    "admin",
                    "add-person",
                    "--id",
                    &person,
                    "--name",
                    bad,
                    "--role",
                    "first_secretary",
                    "--unit",
                    &unit,
                ],
            );
            assert!(
                o.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let o = server_cmd(
                &db,
                &[
                    "admin", "add-unit", "--id", bad, "--name", "x", "--kind", "village",
                ],
            );
            assert!(!o.status.success(), "{name}: `{bad}` accepted as a unit id");
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(err.lines().count(), 1, "{name}: one clear line: {err}");
            let o = server_cmd(&db, &["admin", "issue-code", "--person", bad]);
            assert!(!o.status.success());
            // Enrol with the name as device name; the answer carries names literally.
            let a = http.enroll(&server.url, &issue_code(&db, &person), bad);
            assert_eq!(a.status, 200, "{name}");
            let v = a.json();
            assert_eq!(v["person_name"], *bad);
            assert_eq!(v["scope"][0]["name"], *bad);
            cases += 5;
        }
        let units = String::from_utf8(server_cmd(&db, &["admin", "units"]).stdout).unwrap();
        let devices =
            String::from_utf8(server_cmd(&db, &["admin", "devices", "--json"]).stdout).unwrap();
        let devices: Value = serde_json::from_str(&devices).unwrap();
        for bad in INJECTIONS {
            assert!(units.contains(bad), "{name}: unit name `{bad}` not literal");
            assert!(
                devices.as_array().unwrap().iter().any(|d| d["name"] == bad),
                "{name}: device name `{bad}`"
            );
        }
        // Record fields and search through a device; a record id that is not a UUID.
        let c = Client::new();
        c.enroll(&server.url, &codes["li-ming"]);
        let mut ids = Vec::new();
        for bad in INJECTIONS {
            ids.push(c.put(
                "activity",
                &json!({"activity_kind": "theme_party_day",
                "date": "2026-05-01", "topic": bad, "place": bad, "summary": bad}),
            ));
            ids.push(c.put("member", &json!({"name": bad, "notes": bad})));
            cases += 2;
        }
        assert_eq!(c.sync()["acked"], ids.len());
        let tok = token_of(&http.enroll(&server.url, &issue_code(&db, "li-ming"), "raw"));
        for bad in INJECTIONS {
            let a = http.send(
                "POST",
                &format!("{}/v1/sync", server.url),
                Some(&tok),
                &[],
                sync_req(vec![PushRecord {
                    id: bad.to_string(),
                    base_heads: vec![],
                    changes: vec![],
                    heads: vec![],
                }]),
            );
            let r: SyncResponse = decode(&a.body, 1 << 26).unwrap();
            assert_eq!(
                r.rejects[0].code,
                RejectCode::Malformed,
                "{name}: id `{bad}`"
            );
            cases += 1;
        }
        // Everything comes back literally, to another device too; every table still there.
        let town = Client::new();
        town.enroll(&server.url, &codes["wang-qiang"]);
        assert_eq!(town.sync()["pulled"], ids.len(), "{name}");
        let export: Value = serde_json::from_str(&town.export()).unwrap();
        let topics: Vec<&str> = export["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["topic"].as_str().or(r["name"].as_str()))
            .collect();
        for bad in INJECTIONS {
            assert_eq!(
                topics.iter().filter(|t| **t == bad).count(),
                2,
                "{name}: `{bad}`"
            );
        }
        assert_eq!(server_export(&db), town.export(), "{name}");
        let found = town.json(&["search", "DROP TABLE", "--json"], None);
        assert!(!found.as_array().unwrap().is_empty(), "{name}: search");
        let listed = String::from_utf8(server_cmd(&db, &["admin", "units"]).stdout).unwrap();
        assert!(listed.contains("dongfeng"), "{name}: units table intact");
        println!("{name}: {cases} SQL-injection strings stored literally or refused as ids");
    }
}

/// Every path under `root`.
fn tree(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                out.insert(p.display().to_string());
                if p.is_dir() {
                    stack.push(p);
                }
            }
        }
    }
    out
}

#[test]
fn blob_names_cannot_leave_the_blob_directory() {
    let b = Backend::Sqlite(tempfile::tempdir().unwrap());
    let db = b.url();
    let codes = demo(&db);
    let server = Server::start(&db);
    let http = Http::new();
    let tok = token_of(&http.enroll(&server.url, &codes["li-ming"], "t"));
    let outer = server.blob_dir().parent().unwrap().to_path_buf();
    let db_dir = match &b {
        Backend::Sqlite(d) => d.path().to_path_buf(),
        Backend::Postgres(_) => unreachable!(),
    };
    let before = (tree(&outer), tree(&db_dir));
    let hex = "a".repeat(64);
    let names = [
        "..".to_string(),
        "...".to_string(),
        "..%2F..%2F..%2Fetc%2Fpasswd".to_string(),
        "..%2f..%2fserver.db".to_string(),
        "%2Fetc%2Fpasswd".to_string(),
        "%2e%2e%2f%2e%2e%2fserver.log".to_string(),
        "..%5C..%5Cserver.log".to_string(),
        format!("{hex}%2F..%2F..%2Fescape"),
        format!("..%2F{}", &hex[..61]),
        format!("{hex}%00"),
        "A".repeat(64),
        "g".repeat(64),
        hex[..63].to_string(),
        format!("{hex}a"),
        "partial".to_string(),
        format!("partial%2F{hex}"),
        "%E9%87%91".repeat(21),
    ];
    let mut cases = 0;
    for n in &names {
        for (method, path, body) in [
            ("GET", format!("/v1/blobs/{n}"), vec![]),
            ("GET", format!("/v1/blobs/{n}/0"), vec![]),
            ("PUT", format!("/v1/blobs/{n}/0?size=5"), b"hello".to_vec()),
        ] {
            let a = http.send(
                method,
                &format!("{}{path}", server.url),
                Some(&tok),
                &[],
                body,
            );
            assert!(
                (a.status == 400 && a.code() == "bad_hash") || a.status == 404,
                "{method} {path}: {} {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            );
            cases += 1;
        }
    }
    // Raw request lines the HTTP client would normalise.
    for raw in [
        "/v1/blobs/../../../etc/passwd",
        "/v1/blobs/%2e%2e/%2e%2e/x/0",
    ] {
        let mut tcp = std::net::TcpStream::connect(&server.addr).unwrap();
        write!(
            tcp,
            "PUT {raw}?size=5 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
        )
        .unwrap();
        let mut answer = String::new();
        let _ = tcp.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 4"),
            "{raw}: {}",
            answer.lines().next().unwrap_or("")
        );
        cases += 1;
    }
    let after = (tree(&outer), tree(&db_dir));
    // The server's own log and database may grow; no new path appears anywhere.
    assert_eq!(
        before.0, after.0,
        "files appeared around the blob directory"
    );
    assert_eq!(
        before
            .1
            .iter()
            .filter(|p| !p.contains("server.db"))
            .collect::<Vec<_>>(),
        after
            .1
            .iter()
            .filter(|p| !p.contains("server.db"))
            .collect::<Vec<_>>()
    );
    println!("blob names: {cases} escaping or malformed names refused, no file created");
}

const CANARY_NAME: &str = "金丝雀测试员";
const CANARY_ID: &str = "110101199003077774";
const CANARY_PHONE: &str = "13907770777";

/// Files under `dir` (recursively) that contain any of `needles`, with the needle.
fn files_containing(dir: &Path, needles: &[&[u8]]) -> Vec<String> {
    let mut hits = Vec::new();
    for p in tree(dir) {
        let path = Path::new(&p);
        if !path.is_file() {
            continue;
        }
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        for n in needles {
            if bytes.windows(n.len()).any(|w| w == *n) {
                hits.push(format!("{p}: {}", String::from_utf8_lossy(n)));
            }
        }
    }
    hits
}

#[test]
fn a_canary_person_never_shows_in_logs_or_plaintext_files() {
    for b in Backend::all() {
        let name = b.name();
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start_with(&db, "trace", &[]);
        let mut village = Client::new();
        let mut town = Client::new();
        for c in [&mut village, &mut town] {
            // SQLite's temporary files go where TMPDIR says: inside the data directory here,
            // so they are searched too.
            let tmp = c.dir.path().join("tmp");
            std::fs::create_dir_all(&tmp).unwrap();
            c.env.push(("TMPDIR".into(), tmp.display().to_string()));
            c.env
                .push(("SQLITE_TMPDIR".into(), tmp.display().to_string()));
        }
        village.enroll(&server.url, &codes["li-ming"]);
        town.enroll(&server.url, &codes["wang-qiang"]);
        let id = village.put(
            "member",
            &json!({"name": CANARY_NAME, "id_number": CANARY_ID, "phone": CANARY_PHONE,
                "gender": "女", "notes": format!("{CANARY_NAME} {CANARY_ID}")}),
        );
        // Edits, a search and a list while the member is there (the search index, the temp
        // b-trees of a sort).
        for n in 0..20 {
            village.put(
                "activity",
                &json!({"activity_kind": "household_visit",
                "date": "2026-05-02", "topic": format!("走访{n}"), "household": CANARY_NAME,
                "summary": format!("联系 {CANARY_PHONE}")}),
            );
        }
        village.ok(&["search", CANARY_NAME], None);
        village.ok(&["list", "--json"], None);
        village.sync();
        town.sync();
        let got = town.json(&["get", &id, "--json"], None);
        assert_eq!(
            got["record"]["id_number"], CANARY_ID,
            "{name}: the member arrived"
        );
        town.ok(&["search", CANARY_NAME], None);
        town.ok(
            &["put", "member"],
            Some(&json!({"id": id, "phone": "13800000000"}).to_string()),
        );
        town.sync();
        village.sync();

        let logs = server.logs();
        assert!(
            logs.contains("sync round"),
            "{name}: the server logged at trace level"
        );
        assert!(
            logs.len() > 10_000,
            "{name}: trace logging is on ({} bytes)",
            logs.len()
        );
        for secret in [CANARY_NAME, CANARY_ID, CANARY_PHONE] {
            assert!(
                !logs.contains(secret),
                "{name}: `{secret}` in the server log: {}",
                logs.lines().find(|l| l.contains(secret)).unwrap_or("")
            );
        }
        let needles: [&[u8]; 3] = [
            CANARY_NAME.as_bytes(),
            CANARY_ID.as_bytes(),
            CANARY_PHONE.as_bytes(),
        ];
        // A writer killed in the middle of saving more canary records leaves its write-ahead
        // log behind un-checkpointed: the frames written last are searched too.
        let wal_bytes = kill_a_canary_writer(&village);
        assert!(wal_bytes > 0, "{name}: the killed writer left a WAL");
        for c in [&village, &town] {
            let files = tree(c.dir.path());
            assert!(
                files.iter().any(|f| f.ends_with(zhucun_replica::FILE_NAME)),
                "{name}: {files:?}"
            );
            let hits = files_containing(c.dir.path(), &needles);
            assert!(hits.is_empty(), "{name}: plaintext personal data: {hits:?}");
        }
        println!(
            "{name}: canary name, ID number and phone absent from {} KB of trace log and from every file of 2 device directories (a {} KB WAL left by a killed writer included)",
            logs.len() / 1024,
            wal_bytes / 1024
        );
    }
}

/// Start `zhucun put --lines` on the device, let it acknowledge ten canary activities, and
/// SIGKILL it before it writes the rest. Returns the size of the WAL it left.
fn kill_a_canary_writer(c: &Client) -> u64 {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(zhucun_e2e::bin("zhucun"))
        .arg("--data-dir")
        .arg(c.dir.path())
        .args(["put", "activity", "--lines", "--json"])
        .env("ZHUCUN_KEY", zhucun_e2e::CLIENT_KEY)
        .envs(c.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start zhucun put --lines");
    let mut stdin = child.stdin.take().unwrap();
    for n in 0..10 {
        let line = json!({"activity_kind": "household_visit", "date": "2026-05-03",
            "topic": format!("再访{n}"), "household": CANARY_NAME,
            "summary": format!("{CANARY_NAME} {CANARY_ID} {CANARY_PHONE}")});
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    for _ in 0..10 {
        let mut ack = String::new();
        out.read_line(&mut ack).unwrap();
        assert!(ack.contains("\"id\""), "acknowledged: {ack}");
    }
    // Killed while it waits for more lines, its connection still open.
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
    let wal = c
        .dir
        .path()
        .join(format!("{}-wal", zhucun_replica::FILE_NAME));
    std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn a_push_that_would_expand_past_the_operation_limit_is_refused() {
    let b = Backend::Sqlite(tempfile::tempdir().unwrap());
    let db = b.url();
    let codes = demo(&db);
    let server = Server::start(&db);
    let c = Client::new();
    c.enroll(&server.url, &codes["li-ming"]);
    let big = c.put(
        "activity",
        &json!({"activity_kind": "party_lecture", "date": "2026-05-08", "topic": "大",
            "lecturer": "李明", "summary": "开始"}),
    );
    let small = c.put(
        "activity",
        &json!({"activity_kind": "party_lecture", "date": "2026-05-09", "topic": "小",
            "lecturer": "李明"}),
    );
    c.sync();
    let http = Http::new();
    let tok = token_of(&http.enroll(&server.url, &issue_code(&db, "li-ming"), "raw"));
    // One change that inserts a million and one characters into the summary: a few
    // megabytes on the wire, a million operations once Automerge expands it.
    let mut doc = doc_of(&c, &big);
    let summary = summary_of(&doc);
    doc.splice_text(&summary, 0, 0, &"党".repeat(1_000_001))
        .unwrap();
    commit_named(&mut doc);
    let huge = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    let mut other = doc_of(&c, &small);
    let fine = change_setting(&mut other, "place", "村委会");
    let a = http.send(
        "POST",
        &format!("{}/v1/sync", server.url),
        Some(&tok),
        &[],
        sync_req(vec![
            PushRecord {
                id: big.clone(),
                base_heads: vec![],
                changes: vec![serde_bytes::ByteBuf::from(huge.clone())],
                heads: vec![],
            },
            PushRecord {
                id: small.clone(),
                base_heads: vec![],
                changes: vec![serde_bytes::ByteBuf::from(fine)],
                heads: vec![],
            },
        ]),
    );
    assert_eq!(a.status, 200);
    let r: SyncResponse = decode(&a.body, 1 << 26).unwrap();
    assert_eq!(r.rejects.len(), 1, "{:?}", r.rejects);
    assert_eq!(
        (r.rejects[0].id.as_str(), r.rejects[0].code),
        (big.as_str(), RejectCode::Malformed)
    );
    assert!(
        r.rejects[0]
            .message
            .contains("more than 1000000 operations"),
        "{}",
        r.rejects[0].message
    );
    assert_eq!(r.acks.len(), 1, "the rest of the push lands");
    let export: Value = serde_json::from_str(&server_export(&db)).unwrap();
    let rec = |id: &str| {
        export["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == json!(id))
            .cloned()
            .unwrap()
    };
    assert_eq!(rec(&big)["summary"], "开始");
    assert_eq!(rec(&small)["place"], "村委会");
    println!(
        "operation limit: a {} KB change of 1,000,001 operations refused before it was expanded",
        huge.len() / 1024
    );
}

#[test]
fn a_record_cannot_be_grown_past_its_limit_by_small_pushes() {
    let b = Backend::Sqlite(tempfile::tempdir().unwrap());
    let db = b.url();
    let codes = demo(&db);
    let server = Server::start(&db);
    let c = Client::new();
    c.enroll(&server.url, &codes["li-ming"]);
    let id = c.put(
        "activity",
        &json!({"activity_kind": "party_lecture", "date": "2026-05-08", "topic": "长",
            "lecturer": "李明", "summary": "开始"}),
    );
    c.sync();
    let http = Http::new();
    let tok = token_of(&http.enroll(&server.url, &issue_code(&db, "li-ming"), "raw"));
    // Pushes of 400,000 operations each, every one within the limit of a push: the record
    // grows by each until the next would take it past one record's limit.
    let mut doc = doc_of(&c, &id);
    let summary = summary_of(&doc);
    let mut landed = 0;
    let mut refused = None;
    for _ in 0..3 {
        // Typed and deleted again: 400,000 operations, and the record stays valid.
        doc.splice_text(&summary, 0, 0, &"党".repeat(200_000))
            .unwrap();
        doc.splice_text(&summary, 0, 200_000, "").unwrap();
        commit_named(&mut doc);
        let change = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
        let a = http.send(
            "POST",
            &format!("{}/v1/sync", server.url),
            Some(&tok),
            &[],
            sync_req(vec![PushRecord {
                id: id.clone(),
                base_heads: vec![],
                changes: vec![serde_bytes::ByteBuf::from(change)],
                heads: vec![],
            }]),
        );
        assert_eq!(a.status, 200);
        let r: SyncResponse = decode(&a.body, 1 << 26).unwrap();
        match r.rejects.first() {
            None => landed += 1,
            Some(rej) => {
                refused = Some(rej.clone());
                break;
            }
        }
    }
    assert_eq!(landed, 2, "two pushes land: 800,000 operations");
    let rej = refused.expect("the third push is refused");
    assert_eq!(rej.code, RejectCode::Invalid, "{}", rej.message);
    assert!(
        rej.message.contains("more than 1000000 operations"),
        "{}",
        rej.message
    );
    // The village's devices still sync: a new one gets the record whole.
    let fresh = Client::new();
    fresh.enroll(&server.url, &issue_code(&db, "li-ming"));
    fresh.sync();
    let rec = fresh.json(&["get", &id, "--json"], None)["record"].clone();
    assert_eq!(rec["summary"], "开始", "the record as the server holds it");
    println!(
        "record limit: two pushes of 400,000 operations landed, the third refused: {}",
        rej.message
    );
}

#[test]
fn a_device_outside_a_records_reach_learns_nothing_of_it_from_a_refusal() {
    let b = Backend::Sqlite(tempfile::tempdir().unwrap());
    let db = b.url();
    let codes = demo(&db);
    let server = Server::start(&db);
    let village = Client::new();
    village.enroll(&server.url, &codes["li-ming"]);
    let member = village.put(
        "member",
        &json!({"name": "王建国", "gender": "male", "stage": "full",
            "birth_date": "1968-05-02", "full_on": "1995-07-01"}),
    );
    village.sync();
    // A device of another street that knows the record's id pushes an edit on top of it
    // that validation would refuse, quoting the stored birth date.
    let http = Http::new();
    let tok = token_of(&http.enroll(&server.url, &codes["chen-jing"], "street"));
    let mut doc = doc_of(&village, &member);
    change_setting(&mut doc, "full_on", "1960-01-01");
    let a = http.send(
        "POST",
        &format!("{}/v1/sync", server.url),
        Some(&tok),
        &[],
        sync_req(vec![PushRecord {
            id: member.clone(),
            base_heads: vec![],
            changes: vec![serde_bytes::ByteBuf::from(all_changes(&mut doc))],
            heads: vec![],
        }]),
    );
    assert_eq!(a.status, 200);
    let r: SyncResponse = decode(&a.body, 1 << 26).unwrap();
    assert_eq!(r.rejects.len(), 1, "{:?}", r);
    let rej = &r.rejects[0];
    assert_eq!(rej.code, RejectCode::OutOfScope, "{}", rej.message);
    for stored in ["1968", "1995", "王建国", "male"] {
        assert!(!rej.message.contains(stored), "{}", rej.message);
    }
    // And nothing changed on the server.
    let export: Value = serde_json::from_str(&server_export(&db)).unwrap();
    let rec = export["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(member))
        .cloned()
        .unwrap();
    assert_eq!(rec["full_on"], "1995-07-01");
}

#[test]
fn a_second_server_on_one_sqlite_file_is_refused_at_start() {
    let b = Backend::Sqlite(tempfile::tempdir().unwrap());
    let db = b.url();
    demo(&db);
    let server = Server::start(&db);
    let blobs = tempfile::tempdir().unwrap();
    let second = server_cmd(
        &db,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--blob-dir",
            blobs.path().to_str().unwrap(),
        ],
    );
    assert!(!second.status.success(), "a second server started");
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains("served by another zhucun-server"),
        "the refusal names the reason: {said}"
    );
    // Administration on the served file still works, and the first server serves on.
    let code = issue_code(&db, "li-ming");
    let c = Client::new();
    c.enroll(&server.url, &code);
    c.put(
        "activity",
        &json!({"activity_kind": "party_lecture", "date": "2026-05-08", "topic": "党课",
            "lecturer": "李明"}),
    );
    assert_eq!(c.sync()["rejected"], 0);
}

#[test]
fn slow_enrolment_bodies_do_not_hold_the_route_for_others() {
    use std::net::{SocketAddr, TcpStream};
    let b = Backend::Sqlite(tempfile::tempdir().unwrap());
    let db = b.url();
    let codes = demo(&db);
    let server = Server::start(&db);
    let addr: SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    // 256 enrolments whose bodies trickle in (one byte of a hundred), from one address:
    // as many as the route takes at once.
    let slow: Vec<TcpStream> = (0..256)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(
                s,
                "POST /v1/enroll HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                 Content-Length: 100\r\n\r\n{{"
            )
            .unwrap();
            s
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Someone else enrols at once.
    let started = std::time::Instant::now();
    let other = Http::from(Some("127.0.0.2".parse().unwrap()));
    let a = other.enroll(&server.url, &codes["li-ming"], "在乡镇办公室");
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let waited = started.elapsed();
    // The slow ones are answered: 429 beyond the address's few open requests, 408 for those
    // whose body did not come in time.
    let mut answers = std::collections::BTreeMap::new();
    for mut s in slow {
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut head = [0u8; 12];
        let status = match s.read_exact(&mut head) {
            Ok(()) => String::from_utf8_lossy(&head[9..12]).to_string(),
            Err(_) => "none".to_string(),
        };
        *answers.entry(status).or_insert(0) += 1;
    }
    assert_eq!(answers.get("408"), Some(&4), "{answers:?}");
    assert_eq!(answers.get("429"), Some(&252), "{answers:?}");
    println!("slow bodies: another address enrolled in {waited:?}; the slow ones got {answers:?}");
}

#[test]
fn a_heavy_record_sync_does_not_stall_the_server() {
    use automerge::sync::{Message, State, SyncDoc};
    let b = Backend::Sqlite(tempfile::tempdir().unwrap());
    let db = b.url();
    demo(&db);
    let server = Server::start(&db);
    let c = Client::new();
    c.enroll(&server.url, &issue_code(&db, "li-ming"));
    // A record the server has not seen, of 900,000 operations (within one record's limit),
    // sent through the sync protocol.
    let id = c.put(
        "activity",
        &json!({"activity_kind": "party_lecture", "date": "2026-05-08", "topic": "长",
            "lecturer": "李明", "summary": "开始"}),
    );
    let mut doc = doc_of(&c, &id);
    let summary = summary_of(&doc);
    doc.splice_text(&summary, 0, 0, &"党".repeat(450_000))
        .unwrap();
    doc.splice_text(&summary, 0, 450_000, "").unwrap();
    commit_named(&mut doc);
    let http = Http::new();
    let tok = token_of(&http.enroll(&server.url, &issue_code(&db, "li-ming"), "raw"));
    let url = format!("{}/v1/sync/doc", server.url);
    let round = |http: &Http, message: Option<Message>, state: Option<Vec<u8>>| {
        let a = http.send(
            "POST",
            &url,
            Some(&tok),
            &[],
            encode(&DocSyncRequest {
                version: VERSION,
                id: id.clone(),
                message: message.map(|m| serde_bytes::ByteBuf::from(m.encode())),
                server_state: state.map(serde_bytes::ByteBuf::from),
            })
            .unwrap(),
        );
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        decode::<DocSyncResponse>(&a.body, 1 << 26).unwrap()
    };
    // The first round says what each side has; the second carries the changes.
    let mut mine = State::new();
    let first = doc.sync().generate_sync_message(&mut mine);
    let answer = round(&http, first, None);
    if let Some(m) = &answer.message {
        doc.sync()
            .receive_sync_message(&mut mine, Message::decode(m).unwrap())
            .unwrap();
    }
    let heavy = doc
        .sync()
        .generate_sync_message(&mut mine)
        .expect("changes to send");
    let state = answer.server_state.into_vec();
    // Two of them at once, and the operator's health check meanwhile.
    let started = std::time::Instant::now();
    let took = std::thread::scope(|s| {
        let heavy_rounds: Vec<_> = (0..2)
            .map(|_| {
                let (heavy, state, round) = (heavy.clone(), state.clone(), &round);
                s.spawn(move || {
                    let r = round(&Http::new(), Some(heavy), Some(state));
                    assert!(r.reject.is_none(), "{:?}", r.reject);
                    started.elapsed()
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let health = http.send("GET", &format!("{}/healthz", server.url), None, &[], vec![]);
        assert_eq!(health.status, 200);
        let answered = started.elapsed();
        let heavy_took: Vec<_> = heavy_rounds
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        (answered, heavy_took)
    });
    println!(
        "a heavy record sync: two rounds of 900,000 operations ended after {:?}; /healthz answered after {:?}",
        took.1, took.0
    );
    // Answered while the heavy rounds ran, not after them.
    assert!(
        took.1.iter().any(|h| *h > took.0),
        "/healthz waited for the heavy rounds: {took:?}"
    );
}

/// One change to `doc` setting `field`, naming `author` (person, device) as its maker in the
/// message as a zhucun replica writes it (`None`: no message), and the document's whole history
/// as a push carries it.
fn push_named(
    doc: &mut AutoCommit,
    field: &str,
    value: &str,
    author: Option<(&str, &str)>,
) -> (PushRecord, String) {
    use automerge::transaction::CommitOptions;
    let mut doc = doc.fork();
    doc.put(automerge::ROOT, field, value).unwrap();
    let hash = match author {
        Some((person, device)) => doc.commit_with(
            CommitOptions::default()
                .with_message(json!({"person": person, "device": device}).to_string()),
        ),
        None => doc.commit(),
    }
    .unwrap();
    let id = match automerge::ReadDoc::get(&doc, automerge::ROOT, "id").unwrap() {
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            automerge::ScalarValue::Str(s) => s.to_string(),
            other => panic!("id is {other:?}"),
        },
        other => panic!("id is {other:?}"),
    };
    let push = PushRecord {
        id,
        base_heads: vec![],
        changes: vec![serde_bytes::ByteBuf::from(all_changes(&mut doc))],
        heads: vec![],
    };
    (push, hash.to_string())
}

#[test]
fn who_made_a_change_is_what_the_server_can_vouch_for() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let village = Client::new();
        let li_device = village.enroll(&server.url, &codes["li-ming"])["device"]
            .as_str()
            .unwrap()
            .to_string();
        let act = village.put(
            "activity",
            &json!({"activity_kind": "party_lecture", "date": "2026-05-08",
                "topic": "学习党章", "lecturer": "李明"}),
        );
        village.sync();
        // The township officer's device reaches the village's records.
        let http = Http::new();
        let enrolled = http.enroll(&server.url, &codes["wang-qiang"], "town");
        let tok = token_of(&enrolled);
        let wang_device = enrolled.json()["device_id"].as_str().unwrap().to_string();
        let mut base = doc_of(&village, &act);
        let push = |p: PushRecord| -> SyncResponse {
            let a = http.send(
                "POST",
                &format!("{}/v1/sync", server.url),
                Some(&tok),
                &[],
                sync_req(vec![p]),
            );
            assert_eq!(a.status, 200, "{}", b.name());
            decode(&a.body, 1 << 26).unwrap()
        };
        let refused = |p: PushRecord, code: RejectCode, says: &str| {
            let r = push(p);
            assert!(r.acks.is_empty(), "{}: {r:?}", b.name());
            assert_eq!(r.rejects.len(), 1, "{}: {r:?}", b.name());
            assert_eq!(r.rejects[0].code, code, "{}: {r:?}", b.name());
            assert!(
                r.rejects[0].message.contains(says),
                "{}: {}",
                b.name(),
                r.rejects[0].message
            );
        };
        // Wang's device says Li made a change on it: refused.
        let (p, _) = push_named(
            &mut base,
            "place",
            "村委会",
            Some(("li-ming", &wang_device)),
        );
        refused(p, RejectCode::Forbidden, "`li-ming`");
        // A change naming nobody: refused.
        let (p, _) = push_named(&mut base, "place", "村委会", None);
        refused(p, RejectCode::Forbidden, "names no author");
        // A change that names Wang but makes Wang the record's maker: refused.
        let (p, _) = push_named(
            &mut base,
            "created_by",
            "wang-qiang",
            Some(("wang-qiang", &wang_device)),
        );
        refused(p, RejectCode::EnvelopeChanged, "maker");
        // Nothing of those landed.
        let rec = |id: &str| -> Value {
            let export: Value = serde_json::from_str(&server_export(&db)).unwrap();
            export["records"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == json!(id))
                .cloned()
                .unwrap()
        };
        assert_eq!(rec(&act)["place"], "", "{}", b.name());
        // Wang's own edit lands; so does a change naming Li's device that Wang's device passes
        // on, as relayed: the server vouches for who delivered it, not who made it.
        let (p, own) = push_named(
            &mut base,
            "place",
            "村委会",
            Some(("wang-qiang", &wang_device)),
        );
        assert_eq!(push(p).acks.len(), 1, "{}", b.name());
        village.sync();
        let mut after = doc_of(&village, &act);
        let (p, relayed) = push_named(
            &mut after,
            "lecturer",
            "李明同志",
            Some(("li-ming", &li_device)),
        );
        assert_eq!(push(p).acks.len(), 1, "{}", b.name());
        assert_eq!(rec(&act)["lecturer"], "李明同志", "{}", b.name());

        // The history an office reads: each change with the maker it names and the receipt.
        let office_cookie = |user: &str| {
            let login = http.send(
                "POST",
                &format!("{}/api/login", server.url),
                None,
                &[("content-type", "application/json")],
                json!({"user": user, "password": "zhucun-demo"})
                    .to_string()
                    .into_bytes(),
            );
            assert_eq!(login.status, 200, "{}: {user}", b.name());
            login
                .headers
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let cookie = office_cookie("zhao-min");
        let history = |id: &str| {
            http.send(
                "GET",
                &format!("{}/api/records/{id}/history", server.url),
                None,
                &[("cookie", &cookie)],
                vec![],
            )
        };
        let h = history(&act);
        assert_eq!(h.status, 200, "{}", b.name());
        let h = h.json();
        let changes = h.as_array().unwrap();
        assert_eq!(changes.len(), 3, "{}: {h}", b.name());
        let made = &changes[0];
        assert_eq!(made["named_person"], "li-ming", "{}", b.name());
        assert_eq!(made["named_person_name"], "李明", "{}", b.name());
        assert_eq!(made["receipt"]["device"], json!(li_device), "{}", b.name());
        assert_eq!(made["receipt"]["person_name"], "李明", "{}", b.name());
        assert_eq!(made["receipt"]["relayed"], false, "{}", b.name());
        let by_hash = |hash: &str| {
            changes
                .iter()
                .find(|c| c["hash"] == json!(hash))
                .cloned()
                .unwrap_or_else(|| panic!("{}: change {hash} in {h}", b.name()))
        };
        let c = by_hash(&own);
        assert_eq!(c["named_person"], "wang-qiang", "{}", b.name());
        assert_eq!(c["fields"], json!(["place"]), "{}", b.name());
        assert_eq!(c["receipt"]["device"], json!(wang_device), "{}", b.name());
        assert_eq!(c["receipt"]["person_name"], "王强", "{}", b.name());
        assert_eq!(c["receipt"]["relayed"], false, "{}", b.name());
        let c = by_hash(&relayed);
        assert_eq!(c["named_person"], "li-ming", "{}", b.name());
        assert_eq!(c["receipt"]["device"], json!(wang_device), "{}", b.name());
        assert_eq!(c["receipt"]["person"], "wang-qiang", "{}", b.name());
        assert_eq!(c["receipt"]["relayed"], true, "{}", b.name());
        let received = c["receipt"]["received_at"].as_i64().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!(
            (now - 600..=now).contains(&received),
            "{}: {received}",
            b.name()
        );

        // A record outside the office's view answers as one that does not exist.
        let street = Client::new();
        street.enroll(&server.url, &codes["chen-jing"]);
        let theirs = street.put(
            "activity",
            &json!({"activity_kind": "party_lecture", "date": "2026-05-08",
                "topic": "社区党课", "lecturer": "陈静"}),
        );
        street.sync();
        let town_cookie = office_cookie("wang-qiang");
        for id in [theirs.as_str(), "0190e0a0-0000-7000-8000-000000000000"] {
            let a = http.send(
                "GET",
                &format!("{}/api/records/{id}/history", server.url),
                None,
                &[("cookie", &town_cookie)],
                vec![],
            );
            assert_eq!(
                (a.status, a.code().as_str()),
                (404, "not_found"),
                "{}",
                b.name()
            );
            assert!(!String::from_utf8_lossy(&a.body).contains("社区党课"));
        }
        assert_eq!(
            history(&theirs).status,
            200,
            "the city sees it: {}",
            b.name()
        );
    }
}
