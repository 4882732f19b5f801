//! Sync end to end: the real server (on SQLite and on PostgreSQL) and real `zhucun` clients.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use zhucun_e2e::proxy::{Faults, Proxy};
use zhucun_e2e::{
    copy_dir, demo, issue_code, server_cmd, server_export, Backend, Client, PgDb, Server,
};

fn ids(v: &Value) -> Vec<String> {
    v["records"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The ids of the activities a client lists.
fn activity_ids(c: &Client) -> Vec<String> {
    c.json(&["list", "activity", "--json"], None)
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| r["id"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Save a 300,000-byte photo named `name` into `c`'s replica and an activity `topic` that
/// carries it; returns (the photo's hash, the activity's id).
fn activity_with_photo(c: &Client, name: &str, fill: u8, topic: &str) -> (String, String) {
    let file = c.dir.path().join(name);
    std::fs::write(&file, vec![fill; 300_000]).unwrap();
    let hash = c
        .ok(&["blob", "add", file.to_str().unwrap()], None)
        .trim()
        .to_string();
    let id = c.put(
        "activity",
        &json!({"activity_kind": "theme_party_day", "date": "2026-06-01", "topic": topic,
            "attachments": [{"hash": hash, "name": name, "mime": "image/jpeg", "size": 300_000}]}),
    );
    (hash, id)
}

fn lecture(topic: &str) -> Value {
    json!({"activity_kind": "party_lecture", "date": "2026-05-08", "topic": topic, "lecturer": "李明"})
}

#[test]
fn enrol_push_pull_within_scope() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let (a, town, other) = (Client::new(), Client::new(), Client::new());
        let who = a.enroll(&server.url, &codes["li-ming"]);
        assert_eq!(who["scope"], json!(["dongfeng"]), "{}", b.name());
        town.enroll(&server.url, &codes["wang-qiang"]);
        other.enroll(&server.url, &codes["chen-jing"]);

        let act = a.put("activity", &lecture("学习党章"));
        let member = a.put(
            "member",
            &json!({"name": "王芳", "gender": "女", "id_number": "11010519491231002X"}),
        );
        let s = a.sync();
        assert_eq!(
            (s["pushed"].as_u64(), s["acked"].as_u64()),
            (Some(2), Some(2))
        );
        assert_eq!(s["round_trips"], 1, "one round trip: {s}");
        assert_eq!(s["pending"], 0);
        // The record now shows as synced.
        assert_eq!(a.json(&["get", &act, "--json"], None)["synced"], true);

        let task = town.put(
            "task",
            &json!({"title": "报送融合发展工作方案", "village": "chengguan", "issuer": "chengguan",
                    "assigned_villages": ["dongfeng"], "deadline": "2026-05-20"}),
        );
        let s = town.sync();
        assert_eq!(
            s["pulled"], 2,
            "the township sees its village's records: {s}"
        );
        let s = a.sync();
        assert_eq!(s["pulled"], 1, "the village gets the township's task: {s}");
        // The village answers the task; the township sees the answer.
        a.ok(
            &["put", "task"],
            Some(
                &json!({"id": task, "status": "in_progress",
                          "notes": [{"by": "li-ming", "text": "已起草方案"}]})
                .to_string(),
            ),
        );
        a.sync();
        town.sync();
        let t = town.json(&["get", &task, "--json"], None);
        assert_eq!(t["record"]["status"], "in_progress");
        assert_eq!(t["record"]["notes"][0]["text"], "已起草方案");
        // Another street's first secretary sees none of it.
        let s = other.sync();
        assert_eq!(
            s["pulled"],
            0,
            "{}: out of scope records leaked: {s}",
            b.name()
        );
        // The member's personal data arrived intact where it is in scope.
        let m = town.json(&["get", &member, "--json"], None);
        assert_eq!(m["record"]["id_number"], "11010519491231002X");

        // Personal data never reaches the server's log, even at debug level.
        let logs = server.logs();
        assert!(logs.contains("sync round"), "the server logs its rounds");
        for secret in ["王芳", "11010519491231002X", "学习党章", &codes["li-ming"]] {
            assert!(
                !logs.contains(secret),
                "{}: `{secret}` in the server log: {}",
                b.name(),
                logs.lines()
                    .find(|l| l.contains(secret))
                    .unwrap_or("")
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
        // Everyone in scope holds the same; the server holds the same.
        let ea: Value = serde_json::from_str(&a.export()).unwrap();
        let et: Value = serde_json::from_str(&town.export()).unwrap();
        assert_eq!(ea, et);
        let o = server_cmd(&db, &["admin", "export"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8(o.stdout).unwrap(), a.export());
        assert_eq!(ids(&ea).len(), 3);
        // A second sync with nothing new moves nothing but a small request.
        let s = a.sync();
        assert_eq!(
            (s["pushed"].as_u64(), s["pulled"].as_u64()),
            (Some(0), Some(0))
        );
    }
}

#[test]
fn refused_records_have_reasons_and_the_rest_of_the_batch_lands() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let (a, town) = (Client::new(), Client::new());
        a.enroll(&server.url, &codes["li-ming"]);
        town.enroll(&server.url, &codes["wang-qiang"]);
        // Widen the scope on the device only: the server still knows better.
        a.ok(
            &[
                "init",
                "--person",
                "li-ming",
                "--village",
                "dongfeng",
                "--village",
                "hongqi",
            ],
            None,
        );
        let outside = a.put(
            "activity",
            &json!({"village": "hongqi", "activity_kind": "theme_party_day",
                                                "date": "2026-05-01", "topic": "越界"}),
        );
        let inside = a.put(
            "activity",
            &json!({"village": "dongfeng", "activity_kind": "theme_party_day",
                                               "date": "2026-05-01", "topic": "本村"}),
        );
        // A record that breaks a rule (empty topic), made outside the app and imported.
        let file = a.dir.path().join("bad.automerge");
        a.ok(
            &["doc", "export", &inside, "-o", file.to_str().unwrap()],
            None,
        );
        let mut doc =
            zhucun_model::automerge::AutoCommit::load(&std::fs::read(&file).unwrap()).unwrap();
        {
            use zhucun_model::automerge::transaction::Transactable;
            let id = zhucun_model::new_id().to_string();
            doc.put(zhucun_model::automerge::ROOT, "id", id.as_str())
                .unwrap();
            doc.put(zhucun_model::automerge::ROOT, "topic", "").unwrap();
            doc.commit();
        }
        std::fs::write(&file, doc.save()).unwrap();
        a.ok(&["doc", "import", file.to_str().unwrap()], None);

        let s = a.sync();
        assert_eq!(
            (s["acked"].as_u64(), s["rejected"].as_u64()),
            (Some(1), Some(2)),
            "{}: {s}",
            b.name()
        );
        let rej = a.json(&["rejected", "--json"], None);
        let by_id: HashMap<String, Value> = rej
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_str().unwrap().to_string(), r.clone()))
            .collect();
        assert_eq!(by_id[&outside]["code"], "out_of_scope");
        let invalid = by_id
            .values()
            .find(|r| r["code"] == "invalid")
            .expect("invalid reject");
        assert!(
            invalid["message"].as_str().unwrap().contains("topic"),
            "{invalid}"
        );
        // Refused records are not sent again until they change.
        assert_eq!(a.sync()["pushed"], 0);
        // Nothing refused reached the server or the township.
        town.sync();
        let got = ids(&serde_json::from_str(&town.export()).unwrap());
        assert_eq!(got, vec![inside.clone()], "{}", b.name());
    }
}

#[test]
fn codes_are_one_time_and_revoked_devices_are_refused() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let (a, thief) = (Client::new(), Client::new());
        a.enroll(&server.url, &codes["li-ming"]);
        let o = thief.run(
            &[
                "enroll",
                "--server",
                &server.url,
                "--code",
                &codes["li-ming"],
            ],
            None,
        );
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("code_used"));
        let o = thief.run(
            &["enroll", "--server", &server.url, "--code", "ABCD-EFGH"],
            None,
        );
        assert!(String::from_utf8_lossy(&o.stderr).contains("code_invalid"));
        // A code can be typed in lower case without the dash.
        let fresh = String::from_utf8(
            server_cmd(&db, &["admin", "issue-code", "--person", "zhang-hua"]).stdout,
        )
        .unwrap();
        let typed = fresh.trim().to_lowercase().replace('-', "");
        let who = thief.enroll(&server.url, &typed);
        assert_eq!(who["person"], "zhang-hua");

        let devices: Value =
            serde_json::from_slice(&server_cmd(&db, &["admin", "devices", "--json"]).stdout)
                .unwrap();
        let dev = devices
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["person_id"] == "li-ming")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(server_cmd(&db, &["admin", "revoke", &dev]).status.success());
        a.put("activity", &lecture("吊销后"));
        let o = a.run(&["sync"], None);
        assert!(!o.status.success(), "{}", b.name());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("device_revoked") && err.lines().count() == 1,
            "{err}"
        );
        // Still listed as waiting on the device: nothing typed is lost.
        assert_eq!(
            a.json(&["list", "--unsynced", "--json"], None)
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
}

/// A hostile request and the answer it must get.
type BadCase<'a> = (&'a str, Option<&'a str>, Vec<u8>, u16, &'a str);

fn post(url: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut r = reqwest::Client::new().post(url).body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    })
}

#[test]
fn bad_input_gets_a_clear_4xx_and_the_server_keeps_serving() {
    use zhucun_protocol::{encode, PushRecord, SyncRequest, VERSION};
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let sync = format!("{}/v1/sync", server.url);
        let (st, body) = post(
            &format!("{}/v1/enroll", server.url),
            None,
            json!({"code": codes["li-ming"], "device_name": "test"})
                .to_string()
                .into_bytes(),
        );
        assert_eq!(st, 200);
        let token = body["token"].as_str().unwrap().to_string();
        assert!(token.len() >= 43, "256-bit token");

        // (what, token, body, expected status, expected code)
        let cases: Vec<BadCase> = vec![
            ("no token", None, vec![], 401, "no_token"),
            ("bad token", Some("AAAA"), vec![], 401, "bad_token"),
            (
                "garbage",
                Some(&token),
                b"not zstd at all".to_vec(),
                400,
                "malformed_body",
            ),
            ("empty", Some(&token), vec![], 400, "malformed_body"),
            (
                "future version",
                Some(&token),
                encode(&SyncRequest {
                    version: 99,
                    cursor: 0,
                    cursor_check: None,
                    push: vec![],
                    page_bytes: 1000,
                })
                .unwrap(),
                400,
                "unsupported_version",
            ),
            (
                "truncated",
                Some(&token),
                {
                    let full = encode(&SyncRequest {
                        version: VERSION,
                        cursor: 0,
                        cursor_check: None,
                        push: vec![],
                        page_bytes: 1000,
                    })
                    .unwrap();
                    full[..full.len() - 3].to_vec()
                },
                400,
                "malformed_body",
            ),
        ];
        for (what, tok, body, status, code) in cases {
            let (st, v) = post(&sync, tok, body);
            assert_eq!(
                (st, v["code"].as_str()),
                (status, Some(code)),
                "{}: {what}: {v}",
                b.name()
            );
            assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        // Invalid Automerge bytes inside a well-formed request: that record is refused.
        let req = SyncRequest {
            version: VERSION,
            cursor: 0,
            cursor_check: None,
            push: vec![PushRecord {
                id: zhucun_model::new_id().to_string(),
                base_heads: vec![],
                changes: vec![serde_bytes_buf(b"\x85\x6f\x4a\x83 not a change")],
                heads: vec![],
            }],
            page_bytes: 1000,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let resp = rt.block_on(async {
            reqwest::Client::new()
                .post(&sync)
                .bearer_auth(&token)
                .body(encode(&req).unwrap())
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        });
        let r: zhucun_protocol::SyncResponse = zhucun_protocol::decode(&resp, 1 << 20).unwrap();
        assert_eq!(r.rejects.len(), 1);
        assert_eq!(r.rejects[0].code, zhucun_protocol::RejectCode::Malformed);
        // A reused code over HTTP.
        let (st, v) = post(
            &format!("{}/v1/enroll", server.url),
            None,
            json!({"code": codes["li-ming"], "device_name": "again"})
                .to_string()
                .into_bytes(),
        );
        assert_eq!((st, v["code"].as_str()), (409, Some("code_used")));
        // Refused on its headers alone: a client announcing a 10 MB body without a token is
        // answered before it sends a byte of it.
        {
            use std::io::{Read, Write};
            let mut tcp = std::net::TcpStream::connect(&server.addr).unwrap();
            tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            write!(
                tcp,
                "POST /v1/sync HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut answer = Vec::new();
            let _ = tcp.read_to_end(&mut answer);
            let text = String::from_utf8_lossy(&answer);
            assert!(text.starts_with("HTTP/1.1 401"), "{text}");
            assert!(text.contains("no_token"), "{text}");
        }
        // A blob chunk larger than a chunk is refused before it is stored.
        let (st, v) = rt.block_on(async {
            let r = reqwest::Client::new()
                .put(format!(
                    "{}/v1/blobs/{}/0?size=1000000",
                    server.url,
                    "a".repeat(64)
                ))
                .bearer_auth(&token)
                .body(vec![0u8; 600_000])
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            (
                st,
                serde_json::from_slice::<Value>(&r.bytes().await.unwrap()).unwrap_or(Value::Null),
            )
        });
        assert_eq!((st, v["code"].as_str()), (413, Some("too_large")), "{v}");
        // A wrong method and an unknown path answer in the same JSON shape.
        let rt2 = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for (path, status, code) in [
            ("/v1/sync", 405, "method_not_allowed"),
            ("/v1/nothing", 404, "not_found"),
        ] {
            let (st, v) = rt2.block_on(async {
                let r = reqwest::get(format!("{}{path}", server.url)).await.unwrap();
                let st = r.status().as_u16();
                (
                    st,
                    serde_json::from_slice::<Value>(&r.bytes().await.unwrap())
                        .unwrap_or(Value::Null),
                )
            });
            assert_eq!(
                (st, v["code"].as_str()),
                (status, Some(code)),
                "{path}: {v}"
            );
        }
        // Still serving.
        let (st, _) = post(&format!("{}/v1/enroll", server.url), None, b"{".to_vec());
        assert_eq!(st, 400);
        let c = Client::new();
        c.enroll(&server.url, &codes["wang-qiang"]);
        assert_eq!(c.sync()["round_trips"], 1);
    }
}

fn serde_bytes_buf(b: &[u8]) -> zhucun_protocol::Hash {
    zhucun_protocol::hash(b)
}

#[test]
fn oversized_bodies_are_refused() {
    let b = Backend::Sqlite(tempfile::tempdir().unwrap());
    let db = b.url();
    let codes = demo(&db);
    // A server with a small body limit.
    let mut child = std::process::Command::new(zhucun_e2e::bin("zhucun-server"))
        .args([
            "--db",
            &db,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-body",
            "2000",
        ])
        .env("ZHUCUN_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    let (_, v) = post(
        &format!("{url}/v1/enroll"),
        None,
        json!({"code": codes["li-ming"], "device_name": "t"})
            .to_string()
            .into_bytes(),
    );
    let token = v["token"].as_str().unwrap().to_string();
    let (st, v) = post(&format!("{url}/v1/sync"), Some(&token), vec![7u8; 5000]);
    assert_eq!((st, v["code"].as_str()), (413, Some("too_large")), "{v}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn two_server_processes_share_one_postgres() {
    let Some(pg) = zhucun_e2e::PgDb::create() else {
        return;
    };
    let codes = demo(&pg.url);
    let (s1, s2) = (Server::start(&pg.url), Server::start(&pg.url));
    let town_codes: Vec<String> = (0..3)
        .map(|_| {
            String::from_utf8(
                server_cmd(&pg.url, &["admin", "issue-code", "--person", "wang-qiang"]).stdout,
            )
            .unwrap()
            .trim()
            .to_string()
        })
        .collect();
    drop(codes);
    let clients: Vec<Client> = (0..3).map(|_| Client::new()).collect();
    for (i, c) in clients.iter().enumerate() {
        c.enroll(if i % 2 == 0 { &s1.url } else { &s2.url }, &town_codes[i]);
    }
    let mut created = Vec::new();
    for round in 0..6 {
        for (i, c) in clients.iter().enumerate() {
            created.push(c.put(
                "activity",
                &json!({"village": "dongfeng", "activity_kind": "theme_party_day",
                "date": "2026-05-01", "topic": format!("第{round}轮 设备{i}")}),
            ));
            // Alternate the server each client talks to.
            let url = if (round + i) % 2 == 0 {
                &s1.url
            } else {
                &s2.url
            };
            c.ok(&["set-server", url], None);
            c.sync();
        }
    }
    for c in &clients {
        c.sync();
    }
    let e0 = clients[0].export();
    for c in &clients[1..] {
        assert_eq!(c.export(), e0);
    }
    assert_eq!(
        ids(&serde_json::from_str(&e0).unwrap()).len(),
        created.len()
    );
}

#[test]
fn random_edits_through_a_faulty_link_converge() {
    let seed: u64 = std::env::var("ZHUCUN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    println!("faulty-link convergence seed = {seed} (replay with ZHUCUN_SEED={seed})");
    for b in Backend::all() {
        let mut rng = StdRng::seed_from_u64(seed);
        let db = b.url();
        demo(&db);
        let server = Server::start(&db);
        let proxy = Proxy::start(
            &server.addr,
            Faults {
                delay: std::time::Duration::from_millis(2),
                bytes_per_sec: 2_000_000,
                reset_probability: 0.5,
                ..Faults::default()
            },
        );
        let clients: Vec<Client> = (0..3).map(|_| Client::new()).collect();
        for c in &clients {
            let code = String::from_utf8(
                server_cmd(&db, &["admin", "issue-code", "--person", "wang-qiang"]).stdout,
            )
            .unwrap();
            c.enroll(&server.url, code.trim());
            // From now on the clients talk through the faulty link.
            c.ok(&["set-server", &proxy.url()], None);
        }
        let task = clients[0].put(
            "task",
            &json!({"title": "进度表", "village": "chengguan", "issuer": "chengguan",
                    "assigned_villages": ["dongfeng", "xinhe"], "deadline": "2026-06-30"}),
        );
        let mut notes_written: Vec<String> = Vec::new();
        let mut topics: Vec<String> = Vec::new();
        for step in 0..50 {
            let i = rng.random_range(0..3);
            let c = &clients[i];
            match rng.random_range(0..4) {
                0 => {
                    let t = format!("活动{step}");
                    c.put("activity", &json!({"village": if step % 2 == 0 {"dongfeng"} else {"xinhe"},
                        "activity_kind": "household_visit", "date": "2026-05-02", "topic": t, "household": "张家"}));
                    topics.push(t);
                }
                1 | 2 => {
                    if c.run(&["get", &task], None).status.success() {
                        let cur = c.json(&["get", &task, "--json"], None);
                        let mut notes = cur["record"]["notes"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default();
                        let text = format!("进展{step}-{i}");
                        notes.push(json!({"by": "wang-qiang", "text": text}));
                        c.ok(
                            &["put", "task"],
                            Some(&json!({"id": task, "notes": notes}).to_string()),
                        );
                        notes_written.push(text);
                    }
                }
                _ => {
                    // A sync over the bad link may fail after its retries; that loses nothing.
                    let _ = c.run(&["sync", "--json"], None);
                }
            }
        }
        // The link recovers: everyone syncs until quiet.
        for c in &clients {
            c.ok(&["set-server", &server.url], None);
        }
        for _ in 0..2 {
            for c in &clients {
                c.sync();
            }
        }
        let e0 = clients[0].export();
        for c in &clients[1..] {
            assert_eq!(c.export(), e0, "{}: seed {seed}", b.name());
        }
        let o = server_cmd(&db, &["admin", "export"]);
        assert_eq!(
            String::from_utf8(o.stdout).unwrap(),
            e0,
            "{}: server differs, seed {seed}",
            b.name()
        );
        // No acknowledged edit is missing.
        let all: Value = serde_json::from_str(&e0).unwrap();
        let text = all.to_string();
        for t in topics.iter().chain(notes_written.iter()) {
            assert!(
                text.contains(t.as_str()),
                "{}: `{t}` lost, seed {seed}",
                b.name()
            );
        }
        println!(
            "{}: {} connections through the proxy, {} cut mid-body",
            b.name(),
            proxy.connections.load(std::sync::atomic::Ordering::Relaxed),
            proxy.resets.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
}

#[test]
fn attachments_travel_in_resumable_chunks_and_stay_in_scope() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let (a, town, other) = (Client::new(), Client::new(), Client::new());
        a.enroll(&server.url, &codes["li-ming"]);
        town.enroll(&server.url, &codes["wang-qiang"]);
        other.enroll(&server.url, &codes["chen-jing"]);
        let photo: Vec<u8> = (0..700_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let file = a.dir.path().join("合影.jpg");
        std::fs::write(&file, &photo).unwrap();
        let hash = a
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

        // Another device of the same person knows the hash and sends junk for its first
        // chunk: uploads are per device, so it cannot spoil the village laptop's.
        let extra = String::from_utf8(
            server_cmd(&db, &["admin", "issue-code", "--person", "li-ming"]).stdout,
        )
        .unwrap();
        let (_, v) = post(
            &format!("{}/v1/enroll", server.url),
            None,
            json!({"code": extra.trim(), "device_name": "junk"})
                .to_string()
                .into_bytes(),
        );
        let junk_token = v["token"].as_str().unwrap().to_string();
        // The laptop's own earlier upload was cut after the first chunk (sent here by hand
        // with its token): its upload resumes from there.
        let token = a.token();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let status = |rt: &tokio::runtime::Runtime, token: &str| -> Value {
            rt.block_on(async {
                let r = reqwest::Client::new()
                    .get(format!("{}/v1/blobs/{hash}", server.url))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
            })
        };
        let put_chunk = |rt: &tokio::runtime::Runtime, token: &str, idx: usize, bytes: Vec<u8>| {
            rt.block_on(async {
                let r = reqwest::Client::new()
                    .put(format!(
                        "{}/v1/blobs/{hash}/{idx}?size={}",
                        server.url,
                        photo.len()
                    ))
                    .bearer_auth(token)
                    .body(bytes)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200);
            })
        };
        put_chunk(&rt, &junk_token, 1, vec![0u8; 262_144]);
        put_chunk(&rt, &token, 0, photo[..262_144].to_vec());
        assert_eq!(
            status(&rt, &token)["missing"],
            json!([1, 2]),
            "{}",
            b.name()
        );
        assert_eq!(
            status(&rt, &junk_token)["missing"],
            json!([0, 2]),
            "{}",
            b.name()
        );

        let rec = json!({"activity_kind": "theme_party_day", "date": "2026-05-28", "topic": "主题党日",
            "attachments": [{"hash": hash, "name": "合影.jpg", "mime": "image/jpeg", "size": photo.len()}]});
        a.put("activity", &rec);
        let s = a.sync();
        assert_eq!(s["blobs_up"], 1, "{}: {s}", b.name());
        // Two chunks and the record, not the whole photo again.
        assert!(
            s["bytes_up"].as_u64().unwrap() < photo.len() as u64,
            "{}: {s}",
            b.name()
        );
        assert_eq!(status(&rt, &token)["complete"], true);

        town.sync();
        let out = town.dir.path().join("back.jpg");
        assert!(
            !town.run(&["blob", "get", &hash], None).status.success(),
            "not downloaded yet"
        );
        town.ok(&["blob", "fetch", &hash], None);
        town.ok(&["blob", "get", &hash, "-o", out.to_str().unwrap()], None);
        assert_eq!(std::fs::read(&out).unwrap(), photo, "{}", b.name());
        // The record with a synced attachment can be edited where the photo is not local.
        let id = town.json(&["list", "activity", "--json"], None)[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let fresh = Client::new();
        fresh.enroll(
            &server.url,
            String::from_utf8(
                server_cmd(&db, &["admin", "issue-code", "--person", "wang-qiang"]).stdout,
            )
            .unwrap()
            .trim(),
        );
        fresh.sync();
        fresh.ok(
            &["put", "activity"],
            Some(&json!({"id": id, "place": "村广场"}).to_string()),
        );
        // Another street cannot fetch it.
        let o = other.run(&["blob", "fetch", &hash], None);
        assert!(
            !o.status.success(),
            "{}: out-of-scope attachment served",
            b.name()
        );
    }
}

#[test]
fn a_server_restored_from_a_backup_gets_back_every_record_the_devices_hold() {
    // SQLite makes the backup a file copy; the PostgreSQL path is the same code above the store.
    let b = Backend::Sqlite(tempfile::tempdir().unwrap());
    let db = b.url();
    let file = db.trim_start_matches("sqlite://").to_string();
    let codes = demo(&db);
    let mut server = Server::start(&db);
    let (a, town) = (Client::new(), Client::new());
    a.enroll(&server.url, &codes["li-ming"]);
    town.enroll(&server.url, &codes["wang-qiang"]);
    let id = a.put("activity", &lecture("备份前"));
    let kept = a.put("activity", &lecture("备份前另一条"));
    a.sync();
    town.sync();
    // Last night's backup: the database and the attachments beside it.
    server.kill();
    let backup = backup_sqlite(&file);
    let blobs = server.blob_dir();
    let blobs_backup = tempfile::tempdir().unwrap();
    if blobs.exists() {
        copy_dir(&blobs, blobs_backup.path());
    }
    let mut server = Server::start(&db);
    for c in [&a, &town] {
        c.ok(&["set-server", &server.url], None);
    }
    // A day of work the server then loses.
    a.ok(
        &["put", "activity"],
        Some(&json!({"id": id, "place": "村委会"}).to_string()),
    );
    let lost = a.put("activity", &lecture("备份后新建"));
    let (photo, with_photo) = activity_with_photo(&a, "备份后合影.jpg", 7, "备份后合影");
    a.sync();
    town.sync();
    server.kill();
    restore_sqlite(&backup, &file);
    let _ = std::fs::remove_dir_all(&blobs);
    std::fs::create_dir_all(&blobs).unwrap();
    copy_dir(blobs_backup.path(), &blobs);
    let server = Server::start(&db);
    for c in [&a, &town] {
        c.ok(&["set-server", &server.url], None);
    }
    // The village edits the record again: its changes depend on ones the server lost, so that
    // record runs Automerge's sync protocol; the device's cursor is past the server's log.
    a.ok(
        &["put", "activity"],
        Some(&json!({"id": id, "lecturer": "王老师"}).to_string()),
    );
    let s = a.sync();

    assert_eq!(s["server_restored"], true, "{s}");
    assert_eq!(s["rejected"], 0, "{s}");
    assert_eq!(s["pending"], 0, "{s}");
    assert_eq!(s["blobs_up"], 1, "the lost photo is uploaded again: {s}");
    let rec = server_cmd(&db, &["admin", "export"]);
    let server_export: Value = serde_json::from_slice(&rec.stdout).unwrap();
    let on_server = server_export["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(id))
        .cloned()
        .unwrap();
    assert_eq!(
        on_server["place"], "村委会",
        "the lost edit came back from the device"
    );
    assert_eq!(on_server["lecturer"], "王老师");
    // The township still converges on the record the server caught up on.
    town.sync();
    let t = town.json(&["get", &id, "--json"], None);
    assert_eq!(t["record"]["lecturer"], "王老师");
    // Records the server lost and nobody touched since are on both devices and, given back by
    // the village's device, on the server again with their photo.
    assert!(a.run(&["get", &lost], None).status.success());
    assert!(town.run(&["get", &lost], None).status.success());
    let on_server: Vec<String> = server_export["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    for r in [&id, &lost, &with_photo, &kept] {
        assert!(on_server.contains(r), "{r} is on the server again");
    }
    // A device enrolled after the restore gets every record, the photo too, and holds what
    // the village's own device holds, byte for byte.
    let fresh = Client::new();
    fresh.enroll(&server.url, &issue_code(&db, "li-ming"));
    fresh.sync();
    let fetched = fresh.run(&["blob", "fetch", &photo], None);
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    a.sync();
    assert_eq!(fresh.export(), a.export());
}

/// The server backed up while its devices sync (`admin backup`; `pg_dump` and
/// `admin backup --attachments-only` on PostgreSQL), the devices syncing on after it, and the
/// backup restored into an empty location (`admin restore`; `pg_restore` and
/// `admin restore --attachments-only`): after one sync of each device, the restored server
/// holds every record, byte for byte, that the server held when it was lost, and a device
/// enrolled then holds what the old device of that person holds, photos included. A village
/// laptop copied at the backup and restored from the copy holds all it held after one sync.
#[test]
fn a_server_backed_up_under_sync_load_and_restored_holds_every_record_again() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    for b in Backend::all() {
        let name = b.name();
        let db = b.url();
        let codes = demo(&db);
        let mut server = Server::start(&db);
        let people = ["li-ming", "chen-jing", "wang-qiang"];
        let devices: Vec<Client> = people
            .iter()
            .map(|p| {
                let c = Client::new();
                c.enroll(&server.url, &codes[*p]);
                c
            })
            .collect();
        let kept = tempfile::tempdir().unwrap();
        let file = kept.path().join("zhucun.backup");
        let file_s = file.to_str().unwrap().to_string();
        let blob_dir = server.blob_dir();
        let blob_dir_s = blob_dir.to_str().unwrap().to_string();
        let (rounds, backed_up) = (AtomicUsize::new(0), AtomicBool::new(false));
        let photos = std::sync::Mutex::new(Vec::new());
        // The first village's laptop is also copied as the backup is taken (between two of
        // its commands), then restored from that copy once the others are done.
        let (copy_of_a, copied) = (Client::new(), AtomicBool::new(false));
        std::thread::scope(|scope| {
            // The two villages make and edit records and sync, round after round; the
            // township's device pulls. Each goes on for rounds after the backup is taken.
            for (i, c) in devices.iter().enumerate() {
                let (rounds, backed_up, photos) = (&rounds, &backed_up, &photos);
                let (copy_of_a, copied) = (&copy_of_a, &copied);
                scope.spawn(move || {
                    let mut first = None;
                    let mut after = 0;
                    for round in 0..60 {
                        if i < 2 {
                            let id = c.put("activity", &lecture(&format!("负载{i}-{round}")));
                            let first = first.get_or_insert(id);
                            c.ok(
                                &["put", "activity"],
                                Some(
                                    &json!({"id": first, "place": format!("第{round}次")})
                                        .to_string(),
                                ),
                            );
                            if round % 2 == 1 {
                                let when = backed_up.load(Ordering::SeqCst);
                                let (hash, _) = activity_with_photo(
                                    c,
                                    &format!("合影{i}-{round}.jpg"),
                                    (i * 60 + round) as u8,
                                    &format!("合影{i}-{round}"),
                                );
                                photos.lock().unwrap().push((i, hash, when));
                            }
                            rounds.fetch_add(1, Ordering::SeqCst);
                        }
                        let s = c.sync();
                        assert_eq!(s["rejected"], 0, "{name}: {s}");
                        if backed_up.load(Ordering::SeqCst) {
                            if i == 0 && !copied.swap(true, Ordering::SeqCst) {
                                copy_dir(c.dir.path(), copy_of_a.dir.path());
                            }
                            after += 1;
                            if after >= 3 {
                                return;
                            }
                        }
                    }
                    panic!("{name}: the backup was not taken within 60 rounds");
                });
            }
            while rounds.load(Ordering::SeqCst) < 6 {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let o = match &b {
                Backend::Sqlite(_) => server_cmd(
                    &db,
                    &["admin", "backup", &file_s, "--blob-dir", &blob_dir_s],
                ),
                Backend::Postgres(_) => {
                    let dump = std::process::Command::new("pg_dump")
                        .args(["--format=custom", "--file", &file_s, &db])
                        .output()
                        .expect("run pg_dump");
                    assert!(
                        dump.status.success(),
                        "pg_dump: {}",
                        String::from_utf8_lossy(&dump.stderr)
                    );
                    server_cmd(
                        &db,
                        &[
                            "admin",
                            "backup",
                            &file_s,
                            "--attachments-only",
                            "--blob-dir",
                            &blob_dir_s,
                        ],
                    )
                }
            };
            assert!(
                o.status.success(),
                "{name}: admin backup: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            backed_up.store(true, Ordering::SeqCst);
        });
        let count = |export: &str| {
            serde_json::from_str::<Value>(export).unwrap()["records"]
                .as_array()
                .unwrap()
                .len()
        };
        // The laptop restored from its copy gets back, in one sync, what it made after it.
        assert!(copied.load(Ordering::SeqCst));
        let held = count(&copy_of_a.export());
        let s = copy_of_a.sync();
        assert_eq!(s["rejected"], 0, "{name}: {s}");
        assert_eq!(s["unapplied"], 0, "{name}: {s}");
        assert_eq!(
            copy_of_a.export(),
            devices[0].export(),
            "{name}: the laptop restored from a copy holds all it held"
        );
        assert!(
            held < count(&copy_of_a.export()),
            "{name}: the copy lacked what was made after it"
        );

        // Everything the server held when it was lost: every record the devices synced.
        let before = server_export(&db);
        server.kill();
        let made: Vec<bool> = photos.lock().unwrap().iter().map(|p| p.2).collect();
        assert!(
            made.contains(&false) && made.contains(&true),
            "{name}: photos were made before the backup and after it: {made:?}"
        );

        // Restored into an empty location, then served from there.
        let (restored_db, _restored_pg, _restored_dir);
        match &b {
            Backend::Sqlite(_) => {
                let d = tempfile::tempdir().unwrap();
                restored_db = format!("sqlite://{}", d.path().join("server.db").display());
                _restored_dir = Some(d);
                _restored_pg = None;
            }
            Backend::Postgres(_) => {
                let pg = PgDb::create().expect("PostgreSQL");
                let r = std::process::Command::new("pg_restore")
                    .args(["--no-owner", "--dbname", &pg.url, &file_s])
                    .output()
                    .expect("run pg_restore");
                assert!(
                    r.status.success(),
                    "pg_restore: {}",
                    String::from_utf8_lossy(&r.stderr)
                );
                restored_db = pg.url.clone();
                _restored_pg = Some(pg);
                _restored_dir = None;
            }
        }
        let mut server = Server::unstarted(&restored_db, "debug", &[]);
        let new_blobs = server.blob_dir();
        let mut args = vec!["admin", "restore", &file_s];
        if let Backend::Postgres(_) = b {
            args.push("--attachments-only");
        }
        let new_blobs_s = new_blobs.to_str().unwrap().to_string();
        args.extend(["--blob-dir", &new_blobs_s]);
        let o = server_cmd(&restored_db, &args);
        assert!(
            o.status.success(),
            "{name}: admin restore: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // A restore never writes over data: the same again is refused, naming what exists.
        let again = server_cmd(&restored_db, &args);
        assert!(!again.status.success(), "{name}: restored twice");
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("already exists"),
            "{name}: {}",
            String::from_utf8_lossy(&again.stderr)
        );
        server.spawn();
        let (held, restored) = (count(&before), count(&server_export(&restored_db)));
        assert!(
            restored < held,
            "{name}: the backup lacks what was made after it ({restored} of {held} records)"
        );
        println!("{name}: the backup holds {restored} of the {held} records");

        // One sync of each device.
        for c in &devices {
            c.ok(&["set-server", &server.url], None);
        }
        for c in &devices {
            let s = c.sync();
            assert_eq!(s["rejected"], 0, "{name}: {s}");
            assert_eq!(s["pending"], 0, "{name}: {s}");
        }
        assert_eq!(
            server_export(&restored_db),
            before,
            "{name}: the restored server holds every record again, as it was"
        );

        // A device enrolled now holds what the old one of that person holds, photos too.
        for (i, c) in devices.iter().enumerate() {
            let fresh = Client::new();
            fresh.enroll(&server.url, &issue_code(&restored_db, people[i]));
            fresh.sync();
            c.sync();
            assert_eq!(fresh.export(), c.export(), "{name}: {}", people[i]);
            for (_, hash, _) in photos.lock().unwrap().iter().filter(|p| p.0 == i) {
                let f = fresh.run(&["blob", "fetch", hash], None);
                assert!(
                    f.status.success(),
                    "{name}: photo {hash}: {}",
                    String::from_utf8_lossy(&f.stderr)
                );
            }
        }
    }
}

/// A device restored from a copy of its data gets back what it made after the copy, though
/// nobody else touched it: the server sends a device its own changes back when it asks from
/// before the cursor it was last answered with.
#[test]
fn a_device_restored_from_a_copy_gets_back_its_own_records() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let a = Client::new();
        a.enroll(&server.url, &codes["li-ming"]);
        let id = a.put("activity", &lecture("拷贝前"));
        a.sync();
        let restored = Client::new();
        copy_dir(a.dir.path(), restored.dir.path());
        // A day of work after the copy, synced, then the laptop's disk fails.
        a.ok(
            &["put", "activity"],
            Some(&json!({"id": id, "place": "村委会"}).to_string()),
        );
        let mine = a.put("activity", &lecture("拷贝后新建"));
        a.sync();
        let s = restored.sync();
        assert_eq!(
            (s["rejected"].as_u64(), s["unapplied"].as_u64()),
            (Some(0), Some(0)),
            "{} {s}",
            b.name()
        );
        assert!(
            restored.run(&["get", &mine], None).status.success(),
            "{}: the record made after the copy is back",
            b.name()
        );
        let r = restored.json(&["get", &id, "--json"], None);
        assert_eq!(r["record"]["place"], "村委会", "{}: {r}", b.name());
        assert_eq!(restored.export(), a.export(), "{}", b.name());
        // Its own changes come back once: the next sync moves nothing.
        let s = restored.sync();
        assert_eq!(s["pulled"].as_u64(), Some(0), "{} {s}", b.name());
    }
}

/// A server started with a smaller `--max-blob` refuses a larger photo before the device
/// sends any of it, every sync; the photo's record waits and says why, the others go on.
#[test]
fn a_photo_over_the_servers_limit_waits_and_is_not_sent_again() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        // Settings are checked: no attachment could ever be taken.
        let zero = server_cmd(
            &db,
            &["serve", "--listen", "127.0.0.1:0", "--max-blob", "0"],
        );
        assert!(!zero.status.success());
        assert!(
            String::from_utf8_lossy(&zero.stderr).contains("max_blob"),
            "{}",
            String::from_utf8_lossy(&zero.stderr)
        );
        let server = Server::start_with(&db, "info", &["--max-blob", "200000"]);
        let (a, town) = (Client::new(), Client::new());
        a.enroll(&server.url, &codes["li-ming"]);
        town.enroll(&server.url, &codes["wang-qiang"]);
        let (_, with_photo) = activity_with_photo(&a, "大合影.jpg", 9, "大合影");
        let plain = a.put("activity", &lecture("冬训第一课"));
        for round in 0..2 {
            let s = a.sync();
            assert_eq!(
                (
                    s["held"].as_u64(),
                    s["held_back"][0]["record"].as_str(),
                    s["held_back"][0]["code"].as_str(),
                    s["pending"].as_u64()
                ),
                (
                    Some(1),
                    Some(with_photo.as_str()),
                    Some("too_large"),
                    Some(1)
                ),
                "{} round {round}: {s}",
                b.name()
            );
            // Not a chunk of the photo went up (one chunk is 262,144 bytes).
            assert!(
                s["bytes_up"].as_u64().unwrap() < 100_000,
                "{} round {round}: {s}",
                b.name()
            );
        }
        town.sync();
        let seen = activity_ids(&town);
        assert!(seen.contains(&plain), "{}: {seen:?}", b.name());
        assert!(!seen.contains(&with_photo), "{}: {seen:?}", b.name());
        assert!(
            !server.logs().contains("attachment received"),
            "{}: the server took the photo",
            b.name()
        );
    }
}

#[test]
fn a_refused_attachment_holds_back_its_record_only() {
    use sha2::{Digest, Sha256};
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let (a, town) = (Client::new(), Client::new());
        a.enroll(&server.url, &codes["li-ming"]);
        town.enroll(&server.url, &codes["wang-qiang"]);
        // The laptop left 16 uploads unfinished (the most a device may have): the server
        // refuses to begin a seventeenth.
        let token = a.token();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let put = |hash: &str, size: usize, idx: usize, bytes: &[u8]| -> u16 {
            rt.block_on(async {
                reqwest::Client::new()
                    .put(format!("{}/v1/blobs/{hash}/{idx}?size={size}", server.url))
                    .bearer_auth(&token)
                    .body(bytes.to_vec())
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        };
        let begun: Vec<(String, Vec<u8>)> = (0..16u8)
            .map(|i| {
                let data = vec![i; 262_144 + 1];
                (hex::encode(Sha256::digest(&data)), data)
            })
            .collect();
        for (h, data) in &begun {
            assert_eq!(put(h, data.len(), 0, &data[..262_144]), 200);
        }
        let (hash, with_photo) = activity_with_photo(&a, "照片.jpg", 7, "带照片");
        let plain = a.put("activity", &lecture("没有照片"));
        let s = a.sync();
        assert_eq!(
            (
                s["held"].as_u64(),
                s["acked"].as_u64(),
                s["pending"].as_u64()
            ),
            (Some(1), Some(1), Some(1)),
            "{}: {s}",
            b.name()
        );
        assert_eq!(
            (
                s["held_back"][0]["record"].as_str(),
                s["held_back"][0]["hash"].as_str(),
                s["held_back"][0]["code"].as_str()
            ),
            (
                Some(with_photo.as_str()),
                Some(hash.as_str()),
                Some("partials_full")
            ),
            "{}: {s}",
            b.name()
        );
        town.sync();
        let seen = activity_ids(&town);
        assert!(seen.contains(&plain), "{}: {seen:?}", b.name());
        assert!(!seen.contains(&with_photo), "{}: {seen:?}", b.name());
        // One unfinished upload completes: there is room, and the next sync sends the photo
        // and its record.
        let (h, data) = &begun[0];
        assert_eq!(put(h, data.len(), 1, &data[262_144..]), 200);
        let s = a.sync();
        assert_eq!(
            (
                s["held"].as_u64(),
                s["blobs_up"].as_u64(),
                s["pending"].as_u64()
            ),
            (Some(0), Some(1), Some(0)),
            "{}: {s}",
            b.name()
        );
        town.sync();
        let seen = activity_ids(&town);
        assert!(seen.contains(&with_photo), "{}: {seen:?}", b.name());
    }
}

#[test]
fn a_device_restored_from_a_backup_gets_back_what_others_built_on_its_lost_edits() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let (a, town) = (Client::new(), Client::new());
        a.enroll(&server.url, &codes["li-ming"]);
        town.enroll(&server.url, &codes["wang-qiang"]);
        let id = a.put("activity", &lecture("备份前"));
        a.sync();
        // Last night's copy of the village laptop's data directory.
        let restored = Client::new();
        copy_dir(a.dir.path(), restored.dir.path());
        // A day of work on the laptop, synced; the township builds on it.
        a.ok(
            &["put", "activity"],
            Some(&json!({"id": id, "place": "村委会"}).to_string()),
        );
        a.sync();
        town.sync();
        town.ok(
            &["put", "activity"],
            Some(&json!({"id": id, "lecturer": "王老师"}).to_string()),
        );
        town.sync();
        // The laptop is restored from the copy and edited before it syncs: the edit must
        // not be numbered like the lost place edit (same actor and sequence number), which
        // the server would refuse for good. The device asks from before the cursor it was
        // last answered with, so the server sends back its own lost place edit with the
        // township's edit that depends on it: the page applies whole, nothing to fetch.
        restored.ok(
            &["put", "activity"],
            Some(&json!({"id": id, "summary": "恢复后补记"}).to_string()),
        );
        let s = restored.sync();
        assert_eq!(
            (
                s["recovered"].as_u64(),
                s["unapplied"].as_u64(),
                s["rejected"].as_u64()
            ),
            (Some(0), Some(0), Some(0)),
            "{} {s}",
            b.name()
        );
        let r = restored.json(&["get", &id, "--json"], None);
        assert_eq!(r["record"]["place"], "村委会", "{}: {r}", b.name());
        assert_eq!(r["record"]["lecturer"], "王老师", "{}: {r}", b.name());
        assert_eq!(r["record"]["summary"], "恢复后补记", "{}: {r}", b.name());
        assert_eq!(r["synced"], true, "{}: {r}", b.name());
        // Nothing is left to fetch: the next sync moves no records.
        let s = restored.sync();
        assert_eq!(
            (s["recovered"].as_u64(), s["pulled"].as_u64()),
            (Some(0), Some(0)),
            "{} {s}",
            b.name()
        );
        // An edit on the restored laptop reaches the township on top of both.
        restored.ok(
            &["put", "activity"],
            Some(&json!({"id": id, "topic": "学习党章"}).to_string()),
        );
        restored.sync();
        town.sync();
        let t = town.json(&["get", &id, "--json"], None);
        assert_eq!(
            (
                &t["record"]["topic"],
                &t["record"]["place"],
                &t["record"]["lecturer"],
                &t["record"]["summary"]
            ),
            (
                &json!("学习党章"),
                &json!("村委会"),
                &json!("王老师"),
                &json!("恢复后补记")
            ),
            "{}",
            b.name()
        );
    }
}

/// A backup of a stopped server's SQLite database, as a copy of its files beside it.
fn backup_sqlite(file: &str) -> String {
    let backup = format!("{file}.backup");
    for ext in ["", "-wal"] {
        if std::path::Path::new(&format!("{file}{ext}")).exists() {
            std::fs::copy(format!("{file}{ext}"), format!("{backup}{ext}")).unwrap();
        }
    }
    backup
}

/// Put a stopped server's SQLite database back from `backup_sqlite`'s copy.
fn restore_sqlite(backup: &str, file: &str) {
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{file}{ext}"));
    }
    for ext in ["", "-wal"] {
        if std::path::Path::new(&format!("{backup}{ext}")).exists() {
            std::fs::copy(format!("{backup}{ext}"), format!("{file}{ext}")).unwrap();
        }
    }
}

#[test]
fn the_sync_protocol_path_is_scoped_too() {
    use zhucun_protocol::{decode, encode, DocSyncRequest, DocSyncResponse, RejectCode, VERSION};
    let b = Backend::Sqlite(tempfile::tempdir().unwrap());
    let db = b.url();
    let codes = demo(&db);
    let server = Server::start(&db);
    let a = Client::new();
    a.enroll(&server.url, &codes["li-ming"]);
    let id = a.put(
        "member",
        &json!({"name": "甄卡纳瑞", "id_number": "11010519491231002X"}),
    );
    a.sync();
    // A device of another street asks for that record through Automerge's sync protocol,
    // with and without a message of its own.
    let (_, v) = post(
        &format!("{}/v1/enroll", server.url),
        None,
        json!({"code": codes["chen-jing"], "device_name": "x"})
            .to_string()
            .into_bytes(),
    );
    let token = v["token"].as_str().unwrap().to_string();
    let mut mine = zhucun_model::automerge::AutoCommit::new();
    let mut state = zhucun_model::automerge::sync::State::new();
    let msg = {
        use zhucun_model::automerge::sync::SyncDoc;
        mine.sync()
            .generate_sync_message(&mut state)
            .map(|m| m.encode())
    };
    for message in [None, msg] {
        let req = DocSyncRequest {
            version: VERSION,
            id: id.clone(),
            message: message.map(serde_bytes_vec),
            server_state: None,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let body = rt.block_on(async {
            reqwest::Client::new()
                .post(format!("{}/v1/sync/doc", server.url))
                .bearer_auth(&token)
                .body(encode(&req).unwrap())
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        });
        let r: DocSyncResponse = decode(&body, 1 << 20).unwrap();
        assert!(r.message.is_none(), "nothing of the record is sent");
        assert_eq!(r.reject.map(|x| x.code), Some(RejectCode::OutOfScope));
    }
}

fn serde_bytes_vec(b: Vec<u8>) -> zhucun_protocol::Hash {
    zhucun_protocol::hash(&b)
}

/// An attachment a device sent and no record ever named is collected once older than the
/// grace period; the photo a record names stays, and the device's upload room is given back
/// when its record lands (the server's room per device is bounded).
#[test]
fn attachments_no_record_names_are_collected_and_the_rest_stay() {
    use sha2::{Digest, Sha256};
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let name = b.name();
        let c = Client::new();
        c.enroll(&server.url, &codes["li-ming"]);
        let (named, _) = activity_with_photo(&c, "photo.jpg", 7, "党课");
        c.sync();
        // A photo sent by hand, as a device whose record was never saved would have.
        let orphan: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let oh = hex::encode(Sha256::digest(&orphan));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let r = reqwest::Client::new()
                .put(format!("{}/v1/blobs/{oh}/0?size=1000", server.url))
                .bearer_auth(c.token())
                .body(orphan.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200, "{name}");
        });
        let file = |h: &str| server.blob_dir().join(&h[..2]).join(h);
        assert!(file(&oh).exists() && file(&named).exists(), "{name}");
        // Only the orphan counts against the device's room: the photo its record names
        // stopped counting when the record landed.
        let marks = server.blob_dir().join("uploads");
        assert!(marks.join(&oh).exists(), "{name}");
        assert!(!marks.join(&named).exists(), "{name}");
        let collect = || {
            let out = server_cmd(
                &db,
                &[
                    "admin",
                    "collect-blobs",
                    "--blob-dir",
                    server.blob_dir().to_str().unwrap(),
                ],
            );
            assert!(out.status.success(), "{name}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        // Young: nothing goes.
        assert_eq!(collect().trim(), "removed 0 attachments, 0 bytes", "{name}");
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(20 * 24 * 3600);
        for h in [&oh, &named] {
            std::fs::File::open(file(h))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        assert_eq!(
            collect().trim(),
            "removed 1 attachments, 1000 bytes",
            "{name}"
        );
        assert!(!file(&oh).exists(), "{name}: the orphan is gone");
        assert!(file(&named).exists(), "{name}: the named photo stays");
        assert!(
            !marks.join(&oh).exists(),
            "{name}: nor does it count any more"
        );
        // A new device of the village gets the photo.
        let other = Client::new();
        other.enroll(&server.url, &issue_code(&db, "li-ming"));
        other.sync();
        other.ok(&["blob", "fetch", &named], None);
        let got = other.ok(&["blob", "get", &named], None);
        assert_eq!(got.len(), 300_000, "{name}");
    }
}

/// Benchmark, not part of the suite (about 3 minutes): what a device sends after a server
/// restore. 300 records of four edits each synced, the backup taken, 10 records made, the
/// backup restored; the sync's figures are printed. Run with
/// `cargo test -p zhucun-e2e --test sync -- --ignored restore_upload_figures --nocapture`.
#[test]
#[ignore]
fn restore_upload_figures() {
    let b = Backend::Sqlite(tempfile::tempdir().unwrap());
    let db = b.url();
    let file = db.trim_start_matches("sqlite://").to_string();
    let codes = demo(&db);
    let mut server = Server::start(&db);
    let a = Client::new();
    a.enroll(&server.url, &codes["li-ming"]);
    let words = [
        "党课",
        "走访",
        "茶叶",
        "合作社",
        "支委会",
        "集体经济",
        "示范",
        "学习",
        "村民",
        "产业",
        "道路",
        "养殖",
        "培训",
        "返乡",
        "电商",
    ];
    let mut rng = StdRng::seed_from_u64(7);
    let mut text = |n: usize| -> String {
        (0..n)
            .map(|_| words[rng.random_range(0..words.len())])
            .collect::<Vec<_>>()
            .join("")
    };
    for i in 0..300 {
        let id = a.put(
            "activity",
            &json!({"activity_kind": "party_lecture", "date": "2026-05-08",
            "topic": format!("党课第{i}次"), "lecturer": "李明", "summary": text(60)}),
        );
        for _ in 0..3 {
            a.put(
                "activity",
                &json!({"id": id, "summary": text(80), "place": text(2)}),
            );
        }
    }
    a.sync();
    server.kill();
    let backup = backup_sqlite(&file);
    let mut server = Server::start(&db);
    a.ok(&["set-server", &server.url], None);
    for i in 0..10 {
        a.put("activity", &lecture(&format!("备份后{i}")));
    }
    a.sync();
    server.kill();
    restore_sqlite(&backup, &file);
    let server = Server::start(&db);
    a.ok(&["set-server", &server.url], None);
    let s = a.sync();
    println!("after the restore: {s}");
    assert_eq!(s["server_restored"], true, "{s}");
    assert_eq!(
        (s["pending"].as_u64(), s["rejected"].as_u64()),
        (Some(0), Some(0)),
        "{s}"
    );
    let v: Value = serde_json::from_str(&server_export(&db)).unwrap();
    let on_server = v["records"].as_array().unwrap();
    let n = on_server.iter().filter(|r| r["kind"] == "activity").count();
    assert_eq!(n, 310, "every record is on the server again");
}
