//! Soak: four devices of one township save and sync for a while through a faulty link
//! (delay on every chunk, a bandwidth cap, connections reset in the middle of bodies), editing
//! the same records too, with the server SIGKILLed and restarted half way. Afterwards, with a
//! clean link: not one acknowledged save is lost and every device and the server hold the same.
//!
//! `ZHUCUN_SOAK_SECS` (default 10 per backend) sets the duration, `ZHUCUN_SEED` replays the
//! choice of operations (timing is real, so a replay is close, not identical).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use zhucun_e2e::proxy::{Faults, Proxy};
use zhucun_e2e::{demo, env_count, issue_code, seed, server_export, Backend, Client, Server};

/// Operations per device at most, whatever the duration (the soak is bounded in requests too).
const MAX_OPS: u64 = 20_000;
const DEVICES: usize = 4;

#[derive(Default)]
struct Tally {
    /// id → topic of records created (acknowledged by `zhucun put`).
    created: HashMap<String, String>,
    /// (shared record, token) appended to its summary.
    appended: Vec<(String, String)>,
    /// id → last place this device set on a record of its own (nobody else sets it).
    places: HashMap<String, String>,
    ops: u64,
    syncs_ok: u64,
    syncs_failed: u64,
}

fn device_loop(
    c: &Client,
    i: usize,
    shared: &[String],
    seed: u64,
    deadline: Instant,
    stop: &AtomicBool,
) -> Tally {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(31).wrapping_add(i as u64));
    let mut t = Tally::default();
    let mut own: Vec<String> = Vec::new();
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) && t.ops < MAX_OPS {
        t.ops += 1;
        let k = t.ops;
        match rng.random_range(0..20) {
            0..=5 => {
                let topic = format!("浸泡 设备{i} 第{k}条");
                let id = c.put(
                    "activity",
                    &json!({"village": if k % 2 == 0 {"dongfeng"} else {"xinhe"},
                        "activity_kind": "theme_party_day", "date": "2026-06-01",
                        "topic": topic, "summary": "记录".repeat(rng.random_range(0..800))}),
                );
                own.push(id.clone());
                t.created.insert(id, topic);
            }
            6..=11 => {
                let id = &shared[rng.random_range(0..shared.len())];
                let cur = c.json(&["get", id, "--json"], None);
                let text = cur["record"]["summary"].as_str().unwrap_or("").to_string();
                let token = format!("<{i}.{k}>");
                c.ok(
                    &["put", "activity"],
                    Some(&json!({"id": id, "summary": format!("{text}{token}")}).to_string()),
                );
                t.appended.push((id.clone(), token));
            }
            12..=14 if !own.is_empty() => {
                let id = own[rng.random_range(0..own.len())].clone();
                let place = format!("地点{i}.{k}");
                c.ok(
                    &["put", "activity"],
                    Some(&json!({"id": id, "place": place}).to_string()),
                );
                t.places.insert(id, place);
            }
            _ => match c.try_sync() {
                Some(_) => t.syncs_ok += 1,
                None => t.syncs_failed += 1,
            },
        }
    }
    t
}

fn soak(b: &Backend, secs: u64, seed: u64) {
    let name = b.name();
    let db = b.url();
    demo(&db);
    let mut server = Server::start_with(&db, "info", &[]);
    let proxy = Proxy::start(
        &server.addr,
        Faults {
            delay: Duration::from_millis(3),
            bytes_per_sec: 400_000,
            // A sync exchange here is a few KB each way: cuts land in headers and bodies.
            reset_probability: 0.35,
            reset_within: 2000,
        },
    );
    let devices: Vec<Client> = (0..DEVICES).map(|_| Client::new()).collect();
    for c in &devices {
        c.enroll(&server.url, &issue_code(&db, "wang-qiang"));
    }
    let shared: Vec<String> = (0..3)
        .map(|n| {
            devices[0].put(
                "activity",
                &json!({"village": "dongfeng", "activity_kind": "party_lecture",
                    "date": "2026-06-01", "topic": format!("共同记录{n}"), "lecturer": "王强",
                    "summary": ""}),
            )
        })
        .collect();
    devices[0].sync();
    for c in &devices {
        c.sync();
        c.ok(&["set-server", &proxy.url()], None);
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let stop = AtomicBool::new(false);
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = devices
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (shared, stop) = (&shared, &stop);
                s.spawn(move || device_loop(c, i, shared, seed, deadline, stop))
            })
            .collect();
        // The server dies half way and comes back on the same address.
        std::thread::sleep(Duration::from_secs(secs) / 2);
        server.kill();
        std::thread::sleep(Duration::from_millis(800));
        server.spawn();
        handles
            .into_iter()
            .map(|h| h.join().expect("device thread"))
            .collect()
    });
    let soaked = started.elapsed();
    let counts = proxy.counts();
    let resets = proxy.resets.load(Ordering::Relaxed);
    // The link recovers: clean syncs until quiet.
    for c in &devices {
        c.ok(&["set-server", &server.url], None);
    }
    for _ in 0..2 {
        for c in &devices {
            let s = c.sync();
            assert_eq!(s["rejected"], 0, "{name} (seed {seed}): {s}");
        }
    }
    let e0 = devices[0].export();
    for (i, c) in devices.iter().enumerate().skip(1) {
        assert_eq!(c.export(), e0, "{name} (seed {seed}): device {i} diverged");
    }
    assert_eq!(
        server_export(&db),
        e0,
        "{name} (seed {seed}): server diverged"
    );
    let v: Value = serde_json::from_str(&e0).unwrap();
    let all: HashMap<String, Value> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r.clone()))
        .collect();
    let mut lost = Vec::new();
    for t in &tallies {
        for (id, topic) in &t.created {
            if all.get(id).and_then(|r| r["topic"].as_str()) != Some(topic.as_str()) {
                lost.push(format!("record {id} ({topic})"));
            }
        }
        for (id, token) in &t.appended {
            let text = all[id]["summary"].as_str().unwrap_or("");
            if !text.contains(token.as_str()) {
                lost.push(format!("edit {token} of {id}"));
            }
        }
        for (id, place) in &t.places {
            if all[id]["place"].as_str() != Some(place.as_str()) {
                lost.push(format!("place {place} of {id}"));
            }
        }
    }
    assert!(
        lost.is_empty(),
        "{name} (seed {seed}): {} acknowledged edits lost: {lost:?}",
        lost.len()
    );
    let ops: u64 = tallies.iter().map(|t| t.ops).sum();
    let saves: usize = tallies
        .iter()
        .map(|t| t.created.len() + t.appended.len() + t.places.len())
        .sum();
    let ok: u64 = tallies.iter().map(|t| t.syncs_ok).sum();
    let failed: u64 = tallies.iter().map(|t| t.syncs_failed).sum();
    println!(
        "{name} soak: {:.0} s, {DEVICES} devices, {ops} operations ({saves} saves, {} of them \
         to 3 shared records; {ok} syncs completed, {failed} gave up on the link), 1 server \
         SIGKILL + restart; proxy: {} connections, {resets} reset mid-body, {} KB up, {} KB \
         down; {} records, 0 lost, 0 diverged",
        soaked.as_secs_f64(),
        tallies.iter().map(|t| t.appended.len()).sum::<usize>(),
        counts.connections,
        counts.bytes_up / 1024,
        counts.bytes_down / 1024,
        all.len()
    );
    assert!(ok > 0, "{name} (seed {seed}): no sync got through the link");
    assert!(
        resets > 0,
        "{name} (seed {seed}): the link never misbehaved"
    );
}

#[test]
fn soak_through_a_faulty_link_with_a_server_restart() {
    let secs = env_count("ZHUCUN_SOAK_SECS", 10);
    let seed = seed("soak");
    for b in Backend::all() {
        soak(&b, secs, seed);
    }
}
