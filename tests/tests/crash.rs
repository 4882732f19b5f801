//! Crashes around sync, with the real binaries:
//!
//! - a `zhucun sync` process is SIGKILLed at random moments while it pushes and pulls; after
//!   every kill its replica passes `integrity_check` and holds every save `zhucun put`
//!   acknowledged; after a clean sync it, another device and the server hold the same;
//! - the `zhucun-server` process is SIGKILLed and restarted again and again (SQLite and
//!   PostgreSQL) while several clients save and sync; every edit a client saw the server
//!   acknowledge is on the server before anyone syncs again, and all converge afterwards.
//!
//! `ZHUCUN_SYNC_KILLS` (default 40) and `ZHUCUN_SERVER_KILLS` (default 20) set the kills,
//! `ZHUCUN_SEED` replays a run. (`crates/zhucun-cli/tests/crash.rs` kills saves.)

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use zhucun_e2e::{
    bin, demo, env_count, issue_code, seed, server_cmd, server_export, Backend, Client, Server,
    CLIENT_KEY,
};
use zhucun_replica::{Filter, Key, Replica};

/// Records of an export by id.
fn by_id(export: &str) -> HashMap<String, Value> {
    let v: Value = serde_json::from_str(export).expect("export is JSON");
    v["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| (r["id"].as_str().unwrap_or("").to_string(), r.clone()))
        .collect()
}

/// Save `lines` (one JSON object each) with `zhucun put activity --lines --json`; returns the
/// ids acknowledged, in order.
fn put_lines(c: &Client, lines: &[Value]) -> Vec<String> {
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = c.ok(&["put", "activity", "--lines", "--json"], Some(&input));
    out.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v["id"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Counts the sync rounds a server logged since the last look.
struct RoundWatch {
    path: std::path::PathBuf,
    offset: u64,
}

impl RoundWatch {
    fn new(server: &Server) -> RoundWatch {
        let path = server.log_path().to_path_buf();
        let offset = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        RoundWatch { path, offset }
    }

    fn new_rounds(&mut self) -> usize {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return 0;
        };
        let mut buf = Vec::new();
        if f.seek(SeekFrom::Start(self.offset)).is_err() || f.read_to_end(&mut buf).is_err() {
            return 0;
        }
        // Only whole lines: a line being written is read next time.
        let whole = buf.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        self.offset += whole as u64;
        String::from_utf8_lossy(&buf[..whole])
            .matches("sync round")
            .count()
    }
}

#[test]
fn sigkill_during_client_sync_loses_nothing() {
    let kills = env_count("ZHUCUN_SYNC_KILLS", 40);
    let seed = seed("client sync crash");
    let mut rng = StdRng::seed_from_u64(seed);
    let b = Backend::Sqlite(tempfile::tempdir().unwrap());
    let db = b.url();
    let codes = demo(&db);
    let server = Server::start(&db);
    let (a, other) = (Client::new(), Client::new());
    a.enroll(&server.url, &codes["li-ming"]);
    other.enroll(&server.url, &issue_code(&db, "li-ming"));

    // What `a` saved and had acknowledged by `put`: id → (topic, last place).
    let mut saved: HashMap<String, (String, Option<String>)> = HashMap::new();
    let mut other_saved: Vec<String> = Vec::new();
    // Kills land uniformly in [0, window); the window follows the syncs' length, so about a
    // quarter of the syncs finish first and the rest are killed at any point of theirs.
    let mut window = Duration::from_millis(1000);
    let (mut landed, mut mid_round, mut finished, mut rounds) = (0u64, 0u64, 0u64, 0u64);
    let started = Instant::now();
    while landed < kills {
        rounds += 1;
        assert!(
            rounds < kills * 5 + 20,
            "seed {seed}: syncs keep finishing before the kill"
        );
        // New records and edits for `a` to push.
        let known: Vec<String> = saved.keys().cloned().collect();
        let mut lines = Vec::new();
        for k in 0..rng.random_range(1..=15) {
            if !known.is_empty() && rng.random_bool(0.3) {
                let id = &known[rng.random_range(0..known.len())];
                lines.push(json!({"id": id, "place": format!("地点 {rounds}-{k}")}));
            } else {
                lines.push(
                    json!({"activity_kind": "theme_party_day", "date": "2026-05-01",
                    "topic": format!("同步中断 {rounds}-{k}"),
                    "summary": "摘要".repeat(rng.random_range(0..1500))}),
                );
            }
        }
        for (line, id) in lines.iter().zip(put_lines(&a, &lines)) {
            match line.get("topic") {
                Some(t) => {
                    saved.insert(id, (t.as_str().unwrap_or("").to_string(), None));
                }
                None => {
                    if let Some(s) = saved.get_mut(&id) {
                        s.1 = line["place"].as_str().map(str::to_string);
                    }
                }
            }
        }
        // Another device of the same village gives `a` something to pull.
        if rounds % 5 == 0 {
            let lines: Vec<Value> = (0..rng.random_range(5..30))
                .map(|k| {
                    json!({"activity_kind": "party_lecture", "date": "2026-05-02",
                    "topic": format!("另一台 {rounds}-{k}"), "lecturer": "李明",
                    "summary": "内容".repeat(rng.random_range(0..1000))})
                })
                .collect();
            other_saved.extend(put_lines(&other, &lines));
            other.sync();
        }
        let mut watch = RoundWatch::new(&server);
        let mut child = Command::new(bin("zhucun"))
            .arg("--data-dir")
            .arg(a.dir.path())
            .args(["sync", "--json"])
            .env("ZHUCUN_KEY", CLIENT_KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn zhucun sync");
        // Half the kills at any moment of the sync; half within 40 ms of the server answering
        // one of its rounds (acks being marked, a pulled page being applied, the next round).
        let aim_mid_round = rng.random_bool(0.5);
        let mut answered = 0;
        if aim_mid_round {
            let begun = Instant::now();
            while answered == 0
                && begun.elapsed() < Duration::from_secs(20)
                && matches!(child.try_wait(), Ok(None))
            {
                std::thread::sleep(Duration::from_millis(1));
                answered += watch.new_rounds();
            }
            std::thread::sleep(Duration::from_micros(rng.random_range(0..40_000)));
        } else {
            std::thread::sleep(window.mul_f64(rng.random_range(0.0..1.0)));
        }
        match child.try_wait() {
            Ok(Some(_)) => {
                // Finished before the kill: aim earlier.
                finished += 1;
                if !aim_mid_round {
                    window = window.mul_f64(0.7).max(Duration::from_millis(30));
                }
            }
            _ => {
                child.kill().expect("SIGKILL");
                let _ = child.wait();
                landed += 1;
                if !aim_mid_round {
                    window = window.mul_f64(1.15).min(Duration::from_secs(10));
                }
                if answered + watch.new_rounds() > 0 {
                    mid_round += 1;
                }
            }
        }
        // The replica as the next start finds it.
        let r = Replica::open(a.dir.path(), &Key::Passphrase(CLIENT_KEY.into()))
            .unwrap_or_else(|e| panic!("round {rounds} (seed {seed}): replica does not open: {e}"));
        assert_eq!(
            r.integrity_check().unwrap(),
            ["ok"],
            "round {rounds} (seed {seed})"
        );
        let titles: HashMap<String, String> = r
            .list(&Filter::default())
            .unwrap()
            .into_iter()
            .map(|row| (row.id, row.title))
            .collect();
        for (id, (topic, _)) in &saved {
            assert_eq!(
                titles.get(id),
                Some(topic),
                "round {rounds} (seed {seed}): acknowledged save {id} lost"
            );
        }
        // Edited records hold their last acknowledged place (nobody else edits them).
        for id in lines.iter().filter_map(|l| l["id"].as_str()) {
            let rec = r.get(id).unwrap();
            assert_eq!(
                rec.record["place"].as_str(),
                saved[id].1.as_deref(),
                "round {rounds} (seed {seed}): {id}"
            );
        }
    }
    // A clean sync everywhere: the killed device, the other one and the server agree.
    let s = a.sync();
    assert_eq!(s["pending"], 0, "seed {seed}: {s}");
    other.sync();
    a.sync();
    let ea = a.export();
    assert_eq!(other.export(), ea, "seed {seed}: devices differ");
    assert_eq!(server_export(&db), ea, "seed {seed}: server differs");
    let records = by_id(&ea);
    for (id, (topic, place)) in &saved {
        let r = &records[id];
        assert_eq!(r["topic"].as_str(), Some(topic.as_str()), "seed {seed}");
        assert_eq!(
            r["place"].as_str().unwrap_or(""),
            place.as_deref().unwrap_or(""),
            "seed {seed}"
        );
    }
    for id in &other_saved {
        assert!(records.contains_key(id), "seed {seed}: {id} lost");
    }
    println!(
        "client sync kills: {landed} SIGKILLs of `zhucun sync` ({mid_round} after the server had \
         answered a round of that sync; {finished} syncs finished before their kill), {} saves \
         acknowledged on the killed device, {} from another device, {} records converged, {:.0} s",
        saved.len(),
        other_saved.len(),
        records.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        mid_round * 4 >= landed,
        "seed {seed}: too few kills landed inside a sync ({mid_round} of {landed})"
    );
}

/// One thing a client saved: a new record, or a token appended to the shared record.
#[derive(Clone, Debug)]
enum Saved {
    Create { id: String, topic: String },
    Append { token: String },
}

/// What one client did while the server was being killed.
#[derive(Default)]
struct Work {
    saved: Vec<Saved>,
    /// How many of `saved` a sync that ran to the end with nothing pending had covered.
    server_acked: usize,
    syncs_ok: u64,
    syncs_failed: u64,
}

fn client_loop(
    c: &Client,
    i: usize,
    shared: &str,
    seed: u64,
    stop: &AtomicBool,
    syncing: &AtomicU64,
) -> Work {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(i as u64));
    let mut w = Work::default();
    let mut k = 0;
    while !stop.load(Ordering::Relaxed) {
        k += 1;
        // Half of the time syncing, so most kills find a sync in progress.
        match rng.random_range(0..4) {
            0 => {
                let topic = format!("设备{i} 记录{k}");
                let id = c.put(
                    "activity",
                    &json!({"village": if k % 2 == 0 {"dongfeng"} else {"xinhe"},
                        "activity_kind": "household_visit", "date": "2026-05-03",
                        "topic": topic, "household": "张家"}),
                );
                w.saved.push(Saved::Create { id, topic });
            }
            1 => {
                // Everyone appends to the same record's summary (Automerge Text: concurrent
                // appends all survive).
                let cur = c.json(&["get", shared, "--json"], None);
                let text = cur["record"]["summary"].as_str().unwrap_or("").to_string();
                let token = format!("[{i}-{k}]");
                c.ok(
                    &["put", "activity"],
                    Some(&json!({"id": shared, "summary": format!("{text}{token}")}).to_string()),
                );
                w.saved.push(Saved::Append { token });
            }
            _ => {
                let before = w.saved.len();
                syncing.fetch_add(1, Ordering::SeqCst);
                let done = c.try_sync();
                syncing.fetch_sub(1, Ordering::SeqCst);
                match done {
                    Some(s) if s["pending"] == 0 && s["rejected"] == 0 => {
                        w.server_acked = before;
                        w.syncs_ok += 1;
                    }
                    _ => w.syncs_failed += 1,
                }
            }
        }
    }
    w
}

fn server_kills(b: &Backend, kills: u64, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let db = b.url();
    demo(&db);
    let mut server = Server::start_with(&db, "info", &[]);
    let clients: Vec<Client> = (0..3).map(|_| Client::new()).collect();
    for c in &clients {
        c.enroll(&server.url, &issue_code(&db, "wang-qiang"));
    }
    let shared = clients[0].put(
        "activity",
        &json!({"village": "dongfeng", "activity_kind": "theme_party_day",
            "date": "2026-05-01", "topic": "共同编辑", "summary": "开始"}),
    );
    clients[0].sync();
    for c in &clients[1..] {
        c.sync();
    }
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let downtime = AtomicU64::new(0);
    // Clients inside `zhucun sync` right now, and kills that found one there.
    let syncing = AtomicU64::new(0);
    let mut during_sync = 0u64;
    let works: Vec<Work> = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (shared, stop, syncing) = (&shared, &stop, &syncing);
                s.spawn(move || client_loop(c, i, shared, seed, stop, syncing))
            })
            .collect();
        for _ in 0..kills {
            std::thread::sleep(Duration::from_millis(rng.random_range(100..600)));
            if syncing.load(Ordering::SeqCst) > 0 {
                during_sync += 1;
            }
            server.kill();
            let down = Duration::from_millis(rng.random_range(0..200));
            std::thread::sleep(down);
            downtime.fetch_add(down.as_millis() as u64, Ordering::Relaxed);
            server.spawn();
        }
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    let name = b.name();
    // The database the server was killed over passes its check (SQLite's integrity_check;
    // on both, every log entry names a record, every record has its projection and units).
    let check = server_cmd(&db, &["admin", "check"]);
    assert!(
        check.status.success(),
        "{name} (seed {seed}): {}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Before anyone syncs again: everything a client saw acknowledged is on the server.
    let on_server = by_id(&server_export(&db));
    let shared_text = on_server[&shared]["summary"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let mut acked = 0;
    for w in &works {
        for s in &w.saved[..w.server_acked] {
            acked += 1;
            match s {
                Saved::Create { id, topic } => assert_eq!(
                    on_server.get(id).and_then(|r| r["topic"].as_str()),
                    Some(topic.as_str()),
                    "{name} (seed {seed}): acknowledged record {id} not on the server"
                ),
                Saved::Append { token } => assert!(
                    shared_text.contains(token.as_str()),
                    "{name} (seed {seed}): acknowledged edit {token} not on the server"
                ),
            }
        }
    }
    // A clean sync round everywhere; all converge and nothing saved is missing.
    for _ in 0..2 {
        for c in &clients {
            let s = c.sync();
            assert_eq!(s["rejected"], 0, "{name} (seed {seed}): {s}");
        }
    }
    let e0 = clients[0].export();
    for c in &clients[1..] {
        assert_eq!(c.export(), e0, "{name} (seed {seed}): devices differ");
    }
    assert_eq!(
        server_export(&db),
        e0,
        "{name} (seed {seed}): server differs"
    );
    let all = by_id(&e0);
    let text = all[&shared]["summary"].as_str().unwrap_or("").to_string();
    let mut saved = 0;
    for w in &works {
        for s in &w.saved {
            saved += 1;
            match s {
                Saved::Create { id, topic } => {
                    assert_eq!(
                        all.get(id).and_then(|r| r["topic"].as_str()),
                        Some(topic.as_str()),
                        "{name} (seed {seed}): {id} lost"
                    )
                }
                Saved::Append { token } => assert!(
                    text.contains(token.as_str()),
                    "{name} (seed {seed}): edit {token} lost"
                ),
            }
        }
    }
    let ok: u64 = works.iter().map(|w| w.syncs_ok).sum();
    let failed: u64 = works.iter().map(|w| w.syncs_failed).sum();
    println!(
        "{name}: {kills} server SIGKILLs + restarts ({during_sync} while a client was inside \
         `zhucun sync`) in {:.0} s ({} ms down in all), 3 clients: \
         {saved} saves ({acked} seen acknowledged by the server, all there before the clean \
         sync), {ok} syncs completed, {failed} cut short; {} records converged",
        started.elapsed().as_secs_f64(),
        downtime.load(Ordering::Relaxed),
        all.len()
    );
    assert!(
        ok > 0 && acked > 0,
        "{name} (seed {seed}): no sync ever completed"
    );
    assert!(
        during_sync * 4 >= kills,
        "{name} (seed {seed}): only {during_sync} of {kills} kills found a client syncing"
    );
}

#[test]
fn sigkill_of_the_server_during_sync_loses_no_acknowledged_edit() {
    let kills = env_count("ZHUCUN_SERVER_KILLS", 20);
    let seed = seed("server crash");
    for b in Backend::all() {
        server_kills(&b, kills, seed);
    }
}
