//! Convergence: random concurrent edits on three replicas, exchanged in random orders, end in
//! identical canonical exports. Seeded: the seed is printed, and `ZHUCUN_SEED=n` replays it;
//! `ZHUCUN_CONVERGENCE_SEEDS=n` runs more seeds.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use zhucun_model::Kind;
use zhucun_replica::{Filter, Key, Replica};

const WORDS: &[&str] = &[
    "党课",
    "走访",
    "学习",
    "茶叶",
    "合作社",
    "支委会",
    "村委会",
    "集体经济",
    "示范",
    "返乡",
    "meeting",
    "visit",
    "plan",
];

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn word(rng: &mut StdRng) -> String {
    WORDS.choose(rng).unwrap().to_string()
}

fn export(r: &Replica) -> String {
    let mut out = Vec::new();
    r.export_canonical(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn ids(r: &Replica, kind: Kind) -> Vec<String> {
    r.list(&Filter {
        kind: Some(kind),
        ..Default::default()
    })
    .unwrap()
    .into_iter()
    .map(|x| x.id)
    .collect()
}

/// Send every record `from` holds to `to` (documents in random order).
fn exchange(from: &Replica, to: &mut Replica, rng: &mut StdRng) {
    let mut all = ids(from, Kind::Activity);
    all.extend(ids(from, Kind::Member));
    all.extend(ids(from, Kind::Task));
    // Members first would be the kind order; shuffle to show order does not matter.
    for i in (1..all.len()).rev() {
        let j = rng.random_range(0..=i);
        all.swap(i, j);
    }
    for id in all {
        to.import_doc(&from.doc_bytes(&id).unwrap()).unwrap();
    }
}

/// Replica `from` to read and replica `to` to write (`from != to`).
fn pair_mut(reps: &mut [Replica], from: usize, to: usize) -> (&Replica, &mut Replica) {
    if from < to {
        let (l, r) = reps.split_at_mut(to);
        (&l[from], &mut r[0])
    } else {
        let (l, r) = reps.split_at_mut(from);
        (&r[0], &mut l[to])
    }
}

fn random_edit(r: &mut Replica, rng: &mut StdRng, step: usize) {
    let acts = ids(r, Kind::Activity);
    let members = ids(r, Kind::Member);
    let tasks = ids(r, Kind::Task);
    match rng.random_range(0..10) {
        0 => {
            r.put(
                Kind::Activity,
                &obj(
                    json!({"activity_kind": "theme_party_day", "date": "2026-05-01",
                            "topic": format!("{} {step}", word(rng)), "summary": word(rng)}),
                ),
            )
            .unwrap();
        }
        1 => {
            r.put(
                Kind::Member,
                &obj(json!({"name": format!("成员{step}"), "gender": "female"})),
            )
            .unwrap();
        }
        2..=7 if !acts.is_empty() => {
            let id = acts.choose(rng).unwrap().clone();
            let cur = r.get(&id).unwrap().record;
            let mut e = Map::new();
            e.insert("id".into(), json!(id));
            match rng.random_range(0..6) {
                0 => {
                    e.insert("topic".into(), json!(format!("{} {step}", word(rng))));
                }
                1 => {
                    // A character-level edit of the summary (Automerge Text).
                    let mut chars: Vec<char> =
                        cur["summary"].as_str().unwrap_or("").chars().collect();
                    let at = rng.random_range(0..=chars.len());
                    if rng.random_bool(0.3) && at < chars.len() {
                        let n = rng.random_range(1..=(chars.len() - at).min(3));
                        chars.drain(at..at + n);
                    } else {
                        for (k, c) in word(rng).chars().enumerate() {
                            chars.insert(at + k, c);
                        }
                    }
                    e.insert(
                        "summary".into(),
                        json!(chars.into_iter().collect::<String>()),
                    );
                }
                2 => {
                    let mut f = cur["follow_ups"].as_array().cloned().unwrap_or_default();
                    if f.is_empty() || rng.random_bool(0.6) {
                        f.push(json!({"text": format!("{} {step}", word(rng)), "done": false}));
                    } else {
                        let i = rng.random_range(0..f.len());
                        if rng.random_bool(0.5) {
                            f.remove(i);
                        } else {
                            let done = f[i]["done"].as_bool().unwrap_or(false);
                            f[i]["done"] = json!(!done);
                        }
                    }
                    e.insert("follow_ups".into(), json!(f));
                }
                3 if !members.is_empty() => {
                    let mut a: Vec<Value> =
                        cur["attendees"].as_array().cloned().unwrap_or_default();
                    let m = json!(members.choose(rng).unwrap());
                    if let Some(pos) = a.iter().position(|x| *x == m) {
                        a.remove(pos);
                    } else {
                        a.push(m);
                    }
                    e.insert("attendees".into(), json!(a));
                }
                4 => {
                    e.insert("place".into(), json!(word(rng)));
                }
                _ => {
                    e.insert("other_attendees".into(), json!(rng.random_range(0..30)));
                }
            }
            // A merged record settles what concurrent edits left (the same attendee added on
            // two devices is there once), so every edit of it is accepted.
            r.put(Kind::Activity, &e).unwrap();
        }
        _ if !tasks.is_empty() => {
            let id = tasks.choose(rng).unwrap().clone();
            let cur = r.get(&id).unwrap().record;
            let mut notes = cur["notes"].as_array().cloned().unwrap_or_default();
            notes.push(json!({"by": "p", "text": format!("{} {step}", word(rng))}));
            let status = ["open", "in_progress", "done"].choose(rng).unwrap();
            // The township (replica 0) moves a task anywhere; a village only between open and
            // in progress, so its other moves are refused before saving (the model's rule)
            // and leave nothing behind.
            let out = r.put(
                Kind::Task,
                &obj(json!({"id": id, "notes": notes, "status": status})),
            );
            if r.profile().role == "township_officer" {
                out.unwrap();
            } else if let Err(e) = out {
                assert!(e.to_string().contains("may not change"), "{e}");
            }
        }
        _ => {}
    }
}

fn run_seed(seed: u64, steps: usize) {
    println!("convergence seed = {seed} (replay with ZHUCUN_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut reps: Vec<Replica> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut r = Replica::open(d.path(), &Key::Raw([i as u8 + 1; 32])).unwrap();
            let role = if i == 0 {
                "township_officer"
            } else {
                "first_secretary"
            };
            r.set_profile(None, &format!("p{i}"), role, &["v1".into()])
                .unwrap();
            r
        })
        .collect();
    reps[0]
        .put(
            Kind::Task,
            &obj(
                json!({"title": "报送方案", "issuer": "town", "assigned_villages": ["v1"],
                        "deadline": "2026-05-20"}),
            ),
        )
        .unwrap();
    reps[0]
        .put(
            Kind::Activity,
            &obj(
                json!({"activity_kind": "theme_party_day", "date": "2026-05-01",
                        "topic": "主题党日", "summary": "学习党章"}),
            ),
        )
        .unwrap();
    for step in 0..steps {
        if rng.random_bool(0.2) {
            let from = rng.random_range(0..3);
            let to = (from + rng.random_range(1..3)) % 3;
            let (a, b) = pair_mut(&mut reps, from, to);
            exchange(a, b, &mut rng);
        } else {
            let i = rng.random_range(0..3);
            random_edit(&mut reps[i], &mut rng, step);
        }
    }
    // Everyone meets everyone, in a random order, twice.
    for _ in 0..2 {
        let mut pairs: Vec<(usize, usize)> = (0..3)
            .flat_map(|a| (0..3).filter(move |b| *b != a).map(move |b| (a, b)))
            .collect();
        for i in (1..pairs.len()).rev() {
            let j = rng.random_range(0..=i);
            pairs.swap(i, j);
        }
        for (from, to) in pairs {
            let (a, b) = pair_mut(&mut reps, from, to);
            exchange(a, b, &mut rng);
        }
    }
    let e0 = export(&reps[0]);
    assert_eq!(e0, export(&reps[1]), "seed {seed}: replicas 0 and 1 differ");
    assert_eq!(e0, export(&reps[2]), "seed {seed}: replicas 0 and 2 differ");
    // Projections followed the merges too.
    for r in &reps {
        assert_eq!(r.integrity_check().unwrap(), ["ok"]);
        assert_eq!(
            ids(r, Kind::Activity).len(),
            ids(&reps[0], Kind::Activity).len()
        );
    }
}

#[test]
fn random_concurrent_edits_converge() {
    let seeds: Vec<u64> = match std::env::var("ZHUCUN_SEED") {
        Ok(s) => vec![s.parse().expect("ZHUCUN_SEED must be a number")],
        Err(_) => {
            let n: usize = std::env::var("ZHUCUN_CONVERGENCE_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(3);
            (0..n).map(|_| rand::rng().random()).collect()
        }
    };
    for seed in seeds {
        run_seed(seed, 150);
    }
}
