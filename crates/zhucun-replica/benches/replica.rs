//! Divan benchmarks of the replica at 10,000 activities: save, search, list, open.
//! Run with `scripts/bench` (or `cargo bench -p zhucun-replica --bench replica`).

mod common;

use std::sync::{Mutex, OnceLock};

use rand::rngs::StdRng;
use rand::SeedableRng;
use zhucun_model::Kind;
use zhucun_replica::{Filter, Replica};

struct Fixture {
    dir: tempfile::TempDir,
    replica: Mutex<Replica>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let replica = common::build(dir.path());
        Fixture {
            dir,
            replica: Mutex::new(replica),
        }
    })
}

fn main() {
    fixture();
    divan::main();
}

#[divan::bench(sample_count = 300)]
fn save_new_activity(b: divan::Bencher) {
    let mut rng = StdRng::seed_from_u64(1);
    let f = fixture();
    b.with_inputs(|| common::activity(&mut rng, 99))
        .bench_local_values(|input| {
            f.replica
                .lock()
                .expect("lock")
                .put(Kind::Activity, &input)
                .expect("put")
        });
}

#[divan::bench(args = ["党课", "集体经济", "乡村振兴基层", "合作社 茶叶"])]
fn search(b: divan::Bencher, q: &str) {
    let f = fixture();
    let r = f.replica.lock().expect("lock");
    b.bench_local(|| r.search(q, None, 50).expect("search"));
}

#[divan::bench]
fn list_month(b: divan::Bencher) {
    let f = fixture();
    let r = f.replica.lock().expect("lock");
    let filter = Filter {
        kind: Some(Kind::Activity),
        from: Some("2025-05-01".into()),
        to: Some("2025-05-31".into()),
        ..Default::default()
    };
    b.bench_local(|| r.list(&filter).expect("list"));
}

#[divan::bench]
fn list_first_page(b: divan::Bencher) {
    let f = fixture();
    let r = f.replica.lock().expect("lock");
    let filter = Filter {
        kind: Some(Kind::Activity),
        limit: Some(50),
        ..Default::default()
    };
    b.bench_local(|| r.list(&filter).expect("list"));
}

#[divan::bench]
fn monthly_figures(b: divan::Bencher) {
    let f = fixture();
    let r = f.replica.lock().expect("lock");
    b.bench_local(|| r.monthly_figures("v1", 2025, 5).expect("figures"));
}

#[divan::bench(sample_count = 30)]
fn open(b: divan::Bencher) {
    let f = fixture();
    b.bench_local(|| Replica::open(f.dir.path(), &common::KEY).expect("open"));
}
