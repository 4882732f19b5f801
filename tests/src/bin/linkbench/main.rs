//! `linkbench`: zhucun's sync over a simulated village link (64 kbit/s each way, 300 ms one
//! way), side by side with Automerge's own sync protocol run per record, and against the
//! limit of the link; then the server under 200 and 1,000 devices syncing at once, on SQLite
//! and PostgreSQL. Writes `bench-results/link.md` and `bench-results/link.json`.
//! Run with `scripts/linkbench` (BENCHMARKS.md says what each figure means).
//!
//! Scenarios: (a) first upload of 1,000 new activities; (b) 20 edited in a 1,000-record
//! replica; (c) nothing changed in a 10,000-record replica (and in a 1,000-record one, to show
//! it is flat); (d) a new device pulls a 2,000-record village; (e) (d) with the connection
//! cut three times at random.
//!
//! zhucun's side is the real thing: the `zhucun-server` release binary (SQLite) and the
//! `zhucun-sync` engine over HTTP with an SQLCipher replica, as the `zhucun` CLI runs them.
//! Each scenario has its own server, link and client; the set-up (records, enrolment, earlier
//! syncs) goes over loopback and is not measured. Bytes and round trips are counted at the
//! link proxy; server CPU from `/proc`.

mod baseline;
mod corpus;
mod load;
mod procs;
mod report;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};
use zhucun_e2e::proxy::{Link, Proxy};
use zhucun_model::automerge::AutoCommit;
use zhucun_model::{AnyRecord, Author, Kind, RecordDoc};
use zhucun_replica::{Key, Replica};
use zhucun_sync::{HttpTransport, SyncOptions, SyncStats};

use baseline::{AmClient, AmStats};
use procs::Proc;
use report::Row;

const KEY: Key = Key::Raw([7u8; 32]);

/// Sizes of the scenarios (the issue's, or smaller with `--quick`).
#[derive(Debug, Clone)]
pub struct Sizes {
    pub upload: usize,
    pub daily: usize,
    pub edits: usize,
    pub idle: usize,
    pub idle_small: usize,
    pub baseline_idle: usize,
    pub pull: usize,
    pub baseline_pull: usize,
    pub cuts: usize,
    pub load_devices: Vec<usize>,
    pub load_records: usize,
}

struct Args {
    out: PathBuf,
    seed: u64,
    sizes: Sizes,
    load: bool,
    /// Only the server-load runs (`--load-only`), without the link scenarios.
    load_only: bool,
    postgres: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        out: PathBuf::from("bench-results"),
        seed: 20_261_124,
        sizes: Sizes {
            upload: 1000,
            daily: 1000,
            edits: 20,
            idle: 10_000,
            idle_small: 1000,
            baseline_idle: 10_000,
            pull: 2000,
            baseline_pull: 1000,
            cuts: 3,
            load_devices: vec![200, 1000],
            load_records: 20,
        },
        load: true,
        load_only: false,
        postgres: true,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    let val = |i: usize| -> String {
        argv.get(i + 1)
            .cloned()
            .unwrap_or_else(|| panic!("{} needs a value", argv[i]))
    };
    let num = |i: usize| -> usize {
        val(i)
            .parse()
            .unwrap_or_else(|_| panic!("{} needs a number", argv[i]))
    };
    while i < argv.len() {
        match argv[i].as_str() {
            "--out" => {
                a.out = PathBuf::from(val(i));
                i += 1;
            }
            "--seed" => {
                a.seed = num(i) as u64;
                i += 1;
            }
            "--baseline-idle" => {
                a.sizes.baseline_idle = num(i);
                i += 1;
            }
            "--baseline-pull" => {
                a.sizes.baseline_pull = num(i);
                i += 1;
            }
            "--quick" => {
                a.sizes = Sizes {
                    upload: 100,
                    daily: 200,
                    edits: 20,
                    idle: 1000,
                    idle_small: 200,
                    baseline_idle: 1000,
                    pull: 300,
                    baseline_pull: 150,
                    cuts: 3,
                    load_devices: vec![20, 100],
                    load_records: 20,
                };
            }
            "--no-load" => a.load = false,
            "--load-only" => a.load_only = true,
            "--no-postgres" => a.postgres = false,
            "-h" | "--help" => {
                println!(
                    "linkbench [--out DIR] [--seed N] [--baseline-idle N] [--baseline-pull N] [--quick] [--no-load | --load-only] [--no-postgres]\n\
                     linkbench peer --listen ADDR   (the baseline peer; started by linkbench itself)"
                );
                std::process::exit(0);
            }
            other => panic!("unknown argument `{other}` (see --help)"),
        }
        i += 1;
    }
    a
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("peer") {
        let listen = argv
            .iter()
            .position(|a| a == "--listen")
            .and_then(|i| argv.get(i + 1))
            .cloned()
            .unwrap_or_else(|| "127.0.0.1:0".into());
        baseline::serve(&listen);
        return;
    }
    if argv.get(1).map(String::as_str) == Some("load-setup") {
        load::setup_main(&argv[2..]);
        return;
    }
    let args = parse_args();
    let started = Instant::now();
    let (rows, setup) = if args.load_only {
        let setup = load::start(&args.sizes, args.seed, args.postgres);
        (Vec::new(), Some(setup))
    } else {
        run(&args)
    };
    let load_rows = match setup {
        Some(s) => load::finish(s, &args.sizes),
        None => Vec::new(),
    };
    let total = started.elapsed();
    std::fs::create_dir_all(&args.out).expect("output directory");
    let md = report::markdown(&rows, &load_rows, &args.sizes, total);
    let json = report::json(&rows, &load_rows);
    std::fs::write(args.out.join("link.md"), &md).expect("write link.md");
    std::fs::write(args.out.join("link.json"), json).expect("write link.json");
    println!("{md}");
    eprintln!(
        "linkbench: {:.0} s; wrote {} and {}",
        total.as_secs_f64(),
        args.out.join("link.md").display(),
        args.out.join("link.json").display()
    );
}

fn log(msg: impl AsRef<str>) {
    use std::sync::OnceLock;
    static T0: OnceLock<Instant> = OnceLock::new();
    let t0 = T0.get_or_init(Instant::now);
    eprintln!("[{:6.1} s] {}", t0.elapsed().as_secs_f64(), msg.as_ref());
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A zhucun device: an SQLCipher replica in a directory of its own.
struct Dev {
    _dir: tempfile::TempDir,
    r: Replica,
}

fn enroll(url: &str, code: &str) -> Dev {
    let dir = tempfile::tempdir().expect("device dir");
    let mut r = Replica::open(dir.path(), &KEY).expect("open replica");
    let t = HttpTransport::new(url).expect("transport");
    runtime()
        .block_on(zhucun_sync::enroll(&mut r, &t, url, code, "linkbench"))
        .expect("enrol");
    Dev { _dir: dir, r }
}

/// Save `count` corpus activities; returns their ids in order.
fn put_corpus(r: &mut Replica, seed: u64, count: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    let all: Vec<Map<String, Value>> = (0..count).map(|n| corpus::activity(seed, n)).collect();
    for chunk in all.chunks(500) {
        for o in r.put_many(Kind::Activity, chunk).expect("save activities") {
            ids.push(o.id);
        }
    }
    ids
}

fn sync_opts() -> SyncOptions {
    SyncOptions::default()
}

/// One sync (all rounds) of the zhucun engine against `url`.
fn our_sync(r: &mut Replica, url: &str) -> SyncStats {
    let t = HttpTransport::new(url).expect("transport");
    runtime()
        .block_on(zhucun_sync::sync(r, &t, &sync_opts(), None))
        .expect("sync")
}

/// zstd (level 3, the protocol's) of the concatenated chunks.
fn zstd_len(chunks: &[Vec<u8>]) -> u64 {
    let all: Vec<u8> = chunks.concat();
    zstd::bulk::compress(&all, 3).expect("zstd").len() as u64
}

/// Where a push's bytes go: the zstd-3 size of the request body as the engine builds it for
/// `dirty`, without the `base_heads` the server never reads, without the `heads` as well, and
/// of the answer's acknowledgements (each echoes the record's id and heads).
fn body_breakdown(dirty: &[zhucun_replica::DirtyRecord]) -> String {
    use zhucun_protocol::{Ack, PushRecord, SyncRequest, SyncResponse, VERSION};
    let wire = |h: &[zhucun_model::automerge::ChangeHash]| -> Vec<zhucun_protocol::Hash> {
        h.iter().map(|x| zhucun_protocol::hash(&x.0)).collect()
    };
    let body = |base: bool, heads: bool| -> usize {
        let req = SyncRequest {
            version: VERSION,
            cursor: 1,
            cursor_check: Some(serde_bytes::ByteBuf::from(vec![0u8; 8])),
            push: dirty
                .iter()
                .map(|d| PushRecord {
                    id: d.id.clone(),
                    base_heads: if base {
                        wire(&d.base_heads)
                    } else {
                        Vec::new()
                    },
                    changes: d
                        .changes
                        .iter()
                        .cloned()
                        .map(serde_bytes::ByteBuf::from)
                        .collect(),
                    heads: if heads { wire(&d.heads) } else { Vec::new() },
                })
                .collect(),
            page_bytes: 512 * 1024,
        };
        zhucun_protocol::encode(&req).map(|b| b.len()).unwrap_or(0)
    };
    let answer = |acks: bool| -> usize {
        let resp = SyncResponse {
            version: VERSION,
            acks: if acks {
                dirty
                    .iter()
                    .map(|d| Ack {
                        id: d.id.clone(),
                        heads: wire(&d.heads),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            rejects: Vec::new(),
            resync: Vec::new(),
            pull: Vec::new(),
            cursor: 1,
            cursor_check: Some(serde_bytes::ByteBuf::from(vec![0u8; 8])),
            more: false,
            cursor_reset: false,
        };
        zhucun_protocol::encode(&resp).map(|b| b.len()).unwrap_or(0)
    };
    format!(
        "request body {} B; without base_heads {} B; without base_heads and heads {} B; answer {} B, {} B without the acks' ids and heads",
        body(true, true),
        body(false, true),
        body(false, false),
        answer(true),
        answer(false)
    )
}

/// What a measured run used.
#[derive(Debug, Clone, Default)]
struct Measured {
    secs: f64,
    up: u64,
    down: u64,
    round_trips: u64,
    connections: u64,
    cuts: u64,
    cpu: f64,
}

fn measure<T>(proxy: &Proxy, peer: &Proc, f: impl FnOnce() -> T) -> (Measured, T) {
    let c0 = proxy.counts();
    let cpu0 = peer.cpu_secs();
    let t = Instant::now();
    let out = f();
    let secs = t.elapsed().as_secs_f64();
    // Let the process account the CPU of the last answer.
    std::thread::sleep(Duration::from_millis(50));
    let c = proxy.counts().since(&c0);
    (
        Measured {
            secs,
            up: c.bytes_up,
            down: c.bytes_down,
            round_trips: c.round_trips,
            connections: c.connections,
            cuts: c.cuts,
            cpu: peer.cpu_secs() - cpu0,
        },
        out,
    )
}

fn row(scenario: &str, method: &str, records: usize, m: &Measured, note: String) -> Row {
    Row {
        scenario: scenario.into(),
        method: method.into(),
        seconds: m.secs,
        bytes_up: m.up,
        bytes_down: m.down,
        round_trips: m.round_trips,
        connections: Some(m.connections),
        server_cpu_s: Some(m.cpu),
        records,
        cuts: Some(m.cuts).filter(|&c| c > 0),
        largest_answer_bytes: None,
        note,
    }
}

/// The limit: connection set-up (1 RTT) + one round trip + the zstd size of the new changes
/// at link rate.
fn limit_row(scenario: &str, records: usize, up: u64, down: u64) -> Row {
    let link = Link::village();
    let rtt = link.delay.as_secs_f64() * 2.0;
    Row {
        scenario: scenario.into(),
        method: "limit".into(),
        seconds: 2.0 * rtt + (up + down) as f64 / link.bytes_per_sec as f64,
        bytes_up: up,
        bytes_down: down,
        round_trips: 1,
        connections: Some(1),
        server_cpu_s: None,
        records,
        cuts: None,
        largest_answer_bytes: None,
        note: "computed: set-up + 1 RTT + zstd-3 size of the new changes at 8,000 B/s".into(),
    }
}

/// The saved documents of `ids`, for the baseline.
fn saved_docs(r: &Replica, ids: &[String]) -> Vec<(baseline::Id, Vec<u8>)> {
    ids.iter()
        .map(|id| (baseline::id_of(id), r.doc_bytes(id).expect("doc bytes")))
        .collect()
}

fn am_client(docs: &[(baseline::Id, Vec<u8>)]) -> AmClient {
    let mut c = AmClient::default();
    for (id, bytes) in docs {
        c.add(*id, AutoCommit::load(bytes).expect("load doc"));
    }
    c
}

/// The baseline's sync through `url` (sessions until one completes).
fn am_sync(c: &mut AmClient, url: &str, new_device: bool) -> AmStats {
    let mut stats = AmStats::default();
    runtime()
        .block_on(c.sync(url, new_device, &mut stats))
        .unwrap_or_else(|e| panic!("baseline sync: {e}"));
    stats
}

/// The input of the daily edit of record `n` (`id`), from its current summary.
fn edit_input(r: &Replica, seed: u64, n: usize, id: &str) -> Map<String, Value> {
    let summary = match r.get_typed(id).expect("record") {
        AnyRecord::Activity(a) => a.summary,
        _ => String::new(),
    };
    corpus::edit(seed, n, id, &summary)
}

/// Apply an edit input (without its id) to a baseline document, as the replica would.
fn edit_doc(doc: &AutoCommit, input: &Map<String, Value>) -> AutoCommit {
    let mut rd = RecordDoc::from_autocommit(doc.clone());
    let rec = rd.record().expect("record");
    let mut fields = input.clone();
    fields.remove("id");
    let new = AnyRecord::apply_input(Kind::Activity, Some(&rec), &fields).expect("edit");
    rd.update(&new).expect("update");
    rd.commit(
        &Author {
            person: "li-ming".into(),
            device: "baseline".into(),
        },
        0,
    );
    rd.automerge().clone()
}

fn fractions(rng: &mut StdRng, n: usize) -> Vec<f64> {
    let mut f: Vec<f64> = (0..n).map(|_| rng.random_range(0.05..0.9)).collect();
    f.sort_by(f64::total_cmp);
    f
}

fn sqlite_url(dir: &Path, name: &str) -> (String, PathBuf) {
    let p = dir.join(name);
    (format!("sqlite://{}", p.display()), p)
}

fn kb(b: u64) -> String {
    format!("{:.1} KB", b as f64 / 1000.0)
}

/// The link scenarios; returns their rows and the server-load set-up, started in the
/// background when the long phase begins.
fn run(args: &Args) -> (Vec<Row>, Option<load::Setup>) {
    let s = &args.sizes;
    let seed = args.seed;
    let work = tempfile::tempdir().expect("work dir");
    let mut rows: Vec<Row> = Vec::new();
    let rt = runtime();

    // ---- set-up (loopback, not measured) -------------------------------------------------
    log("set-up (a): a device with new records");
    let (db_a, _) = sqlite_url(work.path(), "a.db");
    procs::demo(&db_a);
    let srv_a = procs::server(&db_a);
    let mut dev_a = enroll(&srv_a.url, &procs::issue_code(&db_a, "li-ming"));
    let ids_a = put_corpus(&mut dev_a.r, seed + 1, s.upload);
    let dirty_a = dev_a.r.dirty_records(usize::MAX).expect("dirty");
    let breakdown_a = body_breakdown(&dirty_a);
    let changes_a: Vec<Vec<u8>> = dirty_a.into_iter().flat_map(|d| d.changes).collect();
    let limit_a = zstd_len(&changes_a);
    let raw_a: u64 = changes_a.iter().map(|c| c.len() as u64).sum();
    let docs_a = saved_docs(&dev_a.r, &ids_a);
    let mut am_a = am_client(&docs_a);
    let peer_a = procs::peer();

    log("set-up (b): a 1,000-record replica in sync, then 20 edits");
    let (db_b, _) = sqlite_url(work.path(), "b.db");
    procs::demo(&db_b);
    let srv_b = procs::server(&db_b);
    let mut dev_b = enroll(&srv_b.url, &procs::issue_code(&db_b, "li-ming"));
    let ids_b = put_corpus(&mut dev_b.r, seed + 2, s.daily);
    our_sync(&mut dev_b.r, &srv_b.url);
    let docs_b = saved_docs(&dev_b.r, &ids_b);
    let peer_b = procs::peer();
    rt.block_on(baseline::load_peer(&peer_b.url, &docs_b));
    let mut am_b = am_client(&docs_b);
    am_sync(&mut am_b, &peer_b.url, false);
    am_b.persist_all();
    let step = (s.daily / s.edits).max(1);
    for k in 0..s.edits {
        let n = k * step;
        let id = &ids_b[n];
        let input = edit_input(&dev_b.r, seed + 2, n, id);
        dev_b.r.put(Kind::Activity, &input).expect("edit");
        let bid = baseline::id_of(id);
        let doc = am_b.get_mut(&bid).expect("baseline doc");
        *doc = edit_doc(doc, &input);
    }
    let dirty_b = dev_b.r.dirty_records(usize::MAX).expect("dirty");
    let breakdown_b = body_breakdown(&dirty_b);
    let changes_b: Vec<Vec<u8>> = dirty_b.into_iter().flat_map(|d| d.changes).collect();
    let limit_b = zstd_len(&changes_b);

    log(format!("set-up (c): a {}-record replica in sync", s.idle));
    let (db_c, _) = sqlite_url(work.path(), "c.db");
    procs::demo(&db_c);
    let srv_c = procs::server(&db_c);
    let mut dev_c = enroll(&srv_c.url, &procs::issue_code(&db_c, "li-ming"));
    let ids_c = put_corpus(&mut dev_c.r, seed + 3, s.idle);
    our_sync(&mut dev_c.r, &srv_c.url);
    let docs_c = saved_docs(&dev_c.r, &ids_c[..s.baseline_idle.min(s.idle)]);
    let peer_c = procs::peer();
    rt.block_on(baseline::load_peer(&peer_c.url, &docs_c));
    let mut am_c = am_client(&docs_c);
    am_sync(&mut am_c, &peer_c.url, false);
    am_c.persist_all();
    drop(docs_c);

    log(format!("set-up (d, e): a {}-record village", s.pull));
    let (db_d, path_d) = sqlite_url(work.path(), "d.db");
    let (db_e, path_e) = sqlite_url(work.path(), "e.db");
    procs::demo(&db_d);
    let srv_seed = procs::server(&db_d);
    let mut dev_seed = enroll(&srv_seed.url, &procs::issue_code(&db_d, "li-ming"));
    let ids_d = put_corpus(&mut dev_seed.r, seed + 4, s.pull);
    our_sync(&mut dev_seed.r, &srv_seed.url);
    let code_d = procs::issue_code(&db_d, "li-ming");
    let code_e = procs::issue_code(&db_d, "li-ming");
    srv_seed.stop();
    procs::copy_sqlite(&path_d, &path_e);
    let srv_d = procs::server(&db_d);
    let srv_e = procs::server(&db_e);
    let mut dev_d = enroll(&srv_d.url, &code_d);
    let mut dev_e = enroll(&srv_e.url, &code_e);
    let docs_d = saved_docs(&dev_seed.r, &ids_d);
    let changes_d: Vec<Vec<u8>> = docs_d
        .iter()
        .flat_map(|(_, b)| {
            RecordDoc::load(b, zhucun_model::new_actor())
                .expect("load")
                .changes_since(&[])
        })
        .collect();
    let limit_d = zstd_len(&changes_d);
    let n_base_pull = s.baseline_pull.min(s.pull);
    let base_docs_d = &docs_d[..n_base_pull];
    let saves_d: u64 = base_docs_d.iter().map(|(_, b)| b.len() as u64).sum();
    let peer_d = procs::peer();
    let peer_e = procs::peer();
    rt.block_on(baseline::load_peer(&peer_d.url, base_docs_d));
    rt.block_on(baseline::load_peer(&peer_e.url, base_docs_d));
    drop(docs_d);
    let mut am_d = AmClient::default();
    let mut am_e = AmClient::default();
    let mut rng = StdRng::seed_from_u64(seed ^ 0xc075);
    let cut_fracs = fractions(&mut rng, s.cuts);
    drop(dev_seed);

    // ---- quiet phase: the short scenarios alone on the machine ---------------------------
    log("(b) daily sync over the link");
    let proxy_b = Proxy::start_link(&srv_b.addr, Link::village());
    let (m, st) = measure(&proxy_b, &srv_b, || our_sync(&mut dev_b.r, &proxy_b.url()));
    assert_eq!(st.acked, s.edits, "(b) every edit acknowledged");
    rows.push(row(
        "b",
        "zhucun",
        s.daily,
        &m,
        format!(
            "{} pushed, {} round(s) by the client; {breakdown_b}",
            st.pushed, st.round_trips
        ),
    ));
    rows.push(limit_row("b", s.daily, limit_b, 0));

    log("(c) idle sync over the link, small and large replica");
    let (m, _) = measure(&proxy_b, &srv_b, || our_sync(&mut dev_b.r, &proxy_b.url()));
    rows.push(row(
        "c@1000",
        "zhucun",
        s.daily,
        &m,
        "flatness check: the idle sync of the (b) replica".into(),
    ));
    let proxy_c = Proxy::start_link(&srv_c.addr, Link::village());
    let (m, st) = measure(&proxy_c, &srv_c, || our_sync(&mut dev_c.r, &proxy_c.url()));
    rows.push(row(
        "c",
        "zhucun",
        s.idle,
        &m,
        format!(
            "{} pushed, {} pulled; server CPU {:.3} s",
            st.pushed, st.pulled, m.cpu
        ),
    ));
    rows.push(limit_row("c", s.idle, 0, 0));

    // ---- long phase: every link-bound run at once, each on its own link --------------------
    log("long phase: (a), (d), (e) and every baseline, each on its own link, at once");
    let setup = args
        .load
        .then(|| load::start(&args.sizes, args.seed, args.postgres));
    let cut_at = |total: u64| -> Vec<u64> {
        cut_fracs
            .iter()
            .map(|f| (f * total as f64) as u64)
            .collect()
    };
    let cuts_ours = cut_at(limit_d);
    let cuts_base = cut_at(saves_d);
    let mut long: Vec<Row> = Vec::new();
    std::thread::scope(|sc| {
        let a = sc.spawn(|| {
            let p = Proxy::start_link(&srv_a.addr, Link::village());
            let (m, st) = measure(&p, &srv_a, || our_sync(&mut dev_a.r, &p.url()));
            assert_eq!(st.acked, s.upload, "(a) every record acknowledged");
            log(format!("(a) zhucun done in {:.1} s", m.secs));
            vec![
                row(
                    "a",
                    "zhucun",
                    s.upload,
                    &m,
                    format!(
                        "{} requests; raw changes {}; in one body: {breakdown_a}",
                        st.round_trips,
                        kb(raw_a)
                    ),
                ),
                limit_row("a", s.upload, limit_a, 0),
            ]
        });
        let d = sc.spawn(|| {
            let p = Proxy::start_link(&srv_d.addr, Link::village());
            let (m, st) = measure(&p, &srv_d, || our_sync(&mut dev_d.r, &p.url()));
            assert_eq!(st.pulled, s.pull, "(d) every record pulled");
            let page = p.exchanges_down().into_iter().max().unwrap_or(0);
            log(format!("(d) zhucun done in {:.1} s", m.secs));
            let mut r = row(
                "d",
                "zhucun",
                s.pull,
                &m,
                format!(
                    "{} pages; largest answer on the wire {}",
                    st.round_trips,
                    kb(page)
                ),
            );
            r.largest_answer_bytes = Some(page);
            (r, page)
        });
        let e = sc.spawn(|| {
            let p = Proxy::start_link(&srv_e.addr, Link::village());
            p.cut_at_bytes_down(&cuts_ours);
            let (m, st) = measure(&p, &srv_e, || our_sync(&mut dev_e.r, &p.url()));
            assert_eq!(st.pulled, s.pull, "(e) every record pulled");
            log(format!("(e) zhucun done in {:.1} s", m.secs));
            (m, st)
        });
        let ba = sc.spawn(|| {
            let p = Proxy::start_link(&peer_a.addr, Link::village());
            let (m, st) = measure(&p, &peer_a, || am_sync(&mut am_a, &p.url(), false));
            log(format!("(a) baseline done in {:.1} s", m.secs));
            row("a", "automerge-per-record", s.upload, &m, am_note(&st))
        });
        let bb = sc.spawn(|| {
            let p = Proxy::start_link(&peer_b.addr, Link::village());
            let (m, st) = measure(&p, &peer_b, || am_sync(&mut am_b, &p.url(), false));
            log(format!("(b) baseline done in {:.1} s", m.secs));
            row("b", "automerge-per-record", s.daily, &m, am_note(&st))
        });
        let bc = sc.spawn(|| {
            let p = Proxy::start_link(&peer_c.addr, Link::village());
            let (m, st) = measure(&p, &peer_c, || am_sync(&mut am_c, &p.url(), false));
            log(format!("(c) baseline done in {:.1} s", m.secs));
            let n = s.baseline_idle.min(s.idle);
            let mut note = am_note(&st);
            if n != s.idle {
                note.push_str(&format!(
                    "; run at {n} records, not {}: ours / baseline compares seconds per record",
                    s.idle
                ));
            }
            row("c", "automerge-per-record", n, &m, note)
        });
        let bd = sc.spawn(|| {
            let p = Proxy::start_link(&peer_d.addr, Link::village());
            let (m, st) = measure(&p, &peer_d, || am_sync(&mut am_d, &p.url(), true));
            assert_eq!(
                am_d.docs.len(),
                n_base_pull,
                "(d) baseline has every record"
            );
            log(format!("(d) baseline done in {:.1} s", m.secs));
            row(
                "d",
                "automerge-per-record",
                n_base_pull,
                &m,
                pull_note(&st, n_base_pull, s.pull),
            )
        });
        let be = sc.spawn(|| {
            let p = Proxy::start_link(&peer_e.addr, Link::village());
            p.cut_at_bytes_down(&cuts_base);
            let (m, st) = measure(&p, &peer_e, || am_sync(&mut am_e, &p.url(), true));
            log(format!("(e) baseline done in {:.1} s", m.secs));
            (m, st)
        });
        long.extend(a.join().expect("(a)"));
        let (row_d, page) = d.join().expect("(d)");
        let (me, ste) = e.join().expect("(e)");
        let row_ba = ba.join().expect("(a) baseline");
        let row_bb = bb.join().expect("(b) baseline");
        let row_bc = bc.join().expect("(c) baseline");
        let row_bd = bd.join().expect("(d) baseline");
        let (mbe, stbe) = be.join().expect("(e) baseline");
        let resent = me.down.saturating_sub(row_d.bytes_down);
        let resent_base = mbe.down.saturating_sub(row_bd.bytes_down);
        let e_row = row(
            "e",
            "zhucun",
            s.pull,
            &me,
            format!(
                "{} cuts; {} retries; re-sent {} down in all = {} per cut (largest page on the wire {})",
                me.cuts,
                ste.retries,
                kb(resent),
                kb(resent / me.cuts.max(1)),
                kb(page)
            ),
        );
        let e_base = row(
            "e",
            "automerge-per-record",
            n_base_pull,
            &mbe,
            format!(
                "{}; {} cuts; re-sent {} down in all",
                pull_note(&stbe, n_base_pull, s.pull),
                mbe.cuts,
                kb(resent_base)
            ),
        );
        long.push(row_ba);
        long.push(row_bb);
        long.push(row_bc);
        long.push(row_d);
        long.push(row_bd);
        long.push(limit_row("d", s.pull, 0, limit_d));
        long.push(e_row);
        long.push(e_base);
        long.push(limit_row("e", s.pull, 0, limit_d));
    });
    rows.extend(long);
    let order = |r: &Row| {
        let m = match r.method.as_str() {
            "zhucun" => 0,
            "automerge-per-record" => 1,
            _ => 2,
        };
        (r.scenario.clone(), m)
    };
    rows.sort_by_key(order);
    (rows, setup)
}

fn pull_note(st: &AmStats, n: usize, of: usize) -> String {
    let mut note = am_note(st);
    if n != of {
        note.push_str(&format!(
            "; run at {n} records, not {of}, to keep the run within ten minutes: \
             ours / baseline compares seconds per record"
        ));
    }
    note
}

fn am_note(st: &AmStats) -> String {
    format!(
        "{} session(s), {} round(s), {} messages up, {} down",
        st.sessions, st.rounds, st.messages_up, st.messages_down
    )
}
