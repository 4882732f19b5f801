//! Server load: 200 and 1,000 simulated devices doing the daily sync at the same moment,
//! against `zhucun-server` (release build) on SQLite and on a fresh PostgreSQL database.
//!
//! Each simulated device is a person with a village of its own and 20 activities on the
//! server. Set-up (`linkbench load-setup`, a process of its own under `nice`, started while
//! the link scenarios run so it only takes CPU they leave idle) makes the records with the
//! model crate as a replica does (a document per record, one change per save), then, through
//! the server's own functions in-process, issues codes (the admin CLI's `issue_code`),
//! enrols the devices (`redeem_code`) and stores the uploads (`sync::sync`). The measured part
//! is real HTTP against the `zhucun-server` process: every device's daily sync (its 20 edits,
//! one `POST /v1/sync` with the cursor its upload left it) sent at the same moment. Requests
//! are encoded before the clock starts, so the clients' cost is HTTP only. Each burst runs on
//! a freshly started server process, so its peak RSS (VmHWM) is the burst's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_bytes::ByteBuf;
use zhucun_model::{new_actor, AnyRecord, Author, Header, Kind, RecordDoc};
use zhucun_protocol::{PushRecord, SyncRequest, SyncResponse, VERSION};

use crate::report::LoadRow;
use crate::{corpus, log, procs, Sizes};

/// One simulated device's records: what it uploads first, and its daily edits.
struct Device {
    village: String,
    person: String,
    upload: Vec<PushRecord>,
    daily: Vec<PushRecord>,
}

fn wire(h: &[zhucun_model::automerge::ChangeHash]) -> Vec<zhucun_protocol::Hash> {
    h.iter().map(|x| zhucun_protocol::hash(&x.0)).collect()
}

fn make_device(seed: u64, i: usize, records: usize) -> Device {
    let village = format!("lv{i:04}");
    let person = format!("lp{i:04}");
    let author = Author {
        person: person.clone(),
        device: format!("dev{i:04}"),
    };
    let mut upload = Vec::with_capacity(records);
    let mut daily = Vec::with_capacity(records);
    for k in 0..records {
        let input = corpus::activity(seed + 100 + i as u64, k);
        let rec = AnyRecord::apply_input(Kind::Activity, None, &input).expect("activity input");
        rec.validate(None).expect("valid activity");
        let header = Header {
            kind: Kind::Activity,
            schema: Kind::Activity.schema_version(),
            id: zhucun_model::new_id(),
            village: village.clone(),
            created_by: person.clone(),
        };
        let id = header.id.to_string();
        let mut doc = RecordDoc::create(new_actor(), &header, &rec).expect("create doc");
        doc.commit(&author, 0);
        let heads0 = doc.heads();
        let first = doc.changes_since(&[]);
        let summary = match &rec {
            AnyRecord::Activity(a) => a.summary.clone(),
            _ => String::new(),
        };
        let mut edit = corpus::edit(seed, k, &id, &summary);
        edit.remove("id");
        let rec2 = AnyRecord::apply_input(Kind::Activity, Some(&rec), &edit).expect("edit input");
        doc.update(&rec2).expect("edit doc");
        doc.commit(&author, 1);
        let heads1 = doc.heads();
        let edits = doc.changes_since(&heads0);
        upload.push(PushRecord {
            id: id.clone(),
            base_heads: Vec::new(),
            changes: first.into_iter().map(ByteBuf::from).collect(),
            heads: wire(&heads0),
        });
        daily.push(PushRecord {
            id,
            base_heads: wire(&heads0),
            changes: edits.into_iter().map(ByteBuf::from).collect(),
            heads: wire(&heads1),
        });
    }
    Device {
        village,
        person,
        upload,
        daily,
    }
}

/// Every device's records, made on two threads.
fn make_devices(seed: u64, n: usize, records: usize) -> Vec<Device> {
    let half = n / 2;
    std::thread::scope(|sc| {
        let a = sc.spawn(|| {
            (0..half)
                .map(|i| make_device(seed, i, records))
                .collect::<Vec<_>>()
        });
        let b = sc.spawn(|| {
            (half..n)
                .map(|i| make_device(seed, i, records))
                .collect::<Vec<_>>()
        });
        let mut v = a.join().expect("devices");
        v.extend(b.join().expect("devices"));
        v
    })
}

/// Units, people and codes for every device, through the admin functions.
async fn organise(url: &str, devices: &[Device]) -> Vec<String> {
    use zhucun_server::admin;
    let store = zhucun_server::open_store(url).await.expect("open store");
    store.migrate().await.expect("migrate");
    admin::add_unit(store.as_ref(), "lc", "负载市", "city", None)
        .await
        .expect("city");
    admin::add_unit(store.as_ref(), "lt", "负载镇", "township", Some("lc"))
        .await
        .expect("township");
    let now = zhucun_server::identity::now();
    let mut codes = Vec::with_capacity(devices.len());
    for (i, d) in devices.iter().enumerate() {
        admin::add_unit(
            store.as_ref(),
            &d.village,
            &format!("负载村{i}"),
            "village",
            Some("lt"),
        )
        .await
        .expect("village");
        admin::add_person(
            store.as_ref(),
            &d.person,
            &format!("书记{i}"),
            "first_secretary",
            std::slice::from_ref(&d.village),
            None,
        )
        .await
        .expect("person");
        codes.push(
            admin::issue_code(store.as_ref(), &d.person, 24, now)
                .await
                .expect("code"),
        );
    }
    codes
}

async fn post_sync(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<(u16, Option<u64>, Vec<u8>), String> {
    let r = http
        .post(format!("{url}/v1/sync"))
        .header("content-type", zhucun_protocol::CONTENT_TYPE)
        .header("content-encoding", "zstd")
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = r.bytes().await.map_err(|e| e.to_string())?.to_vec();
    Ok((status, retry_after, body))
}

fn request(cursor: u64, check: Option<ByteBuf>, push: &[PushRecord]) -> Vec<u8> {
    zhucun_protocol::encode(&SyncRequest {
        version: VERSION,
        cursor,
        cursor_check: check,
        push: push.to_vec(),
        page_bytes: 512 * 1024,
    })
    .expect("encode")
}

/// Enrol every device and store its records, in-process, through the server's own code:
/// `redeem_code` as `POST /v1/enroll` does it, and `sync::sync` (the `POST /v1/sync` handler's
/// body) for the upload. The upload is sent with a cursor the log does not have, which makes
/// the server skip the pull (it answers `cursor_reset`): the set-up needs the push only, and a
/// pull from 0 would scan the whole log for every device. Each device then holds the cursor an
/// upload's answer gives, its own last log entry, with that entry's fingerprint.
async fn seed_backend(url: &str, devices: &[Device]) -> Vec<(String, u64, Option<ByteBuf>)> {
    use zhucun_server::identity;
    let codes = organise(url, devices).await;
    let store = zhucun_server::open_store(url).await.expect("open store");
    let units: zhucun_server::sync::UnitPaths = store
        .units()
        .await
        .expect("units")
        .into_iter()
        .map(|u| (u.id, u.path))
        .collect();
    let now = identity::now();
    let mut out = Vec::with_capacity(devices.len());
    for (d, code) in devices.iter().zip(&codes) {
        let token = identity::new_token();
        let nd = zhucun_server::store::NewDevice {
            id: identity::new_device_id(),
            name: "load".into(),
            token_hash: identity::hash_token(&token),
            created_at: now,
        };
        store
            .redeem_code(&identity::hash_code(code), now, &nd)
            .await
            .expect("redeem code");
        let dev = store
            .device_by_token(&nd.token_hash)
            .await
            .expect("device")
            .expect("device enrolled");
        let resp = zhucun_server::sync::sync(
            store.as_ref(),
            &units,
            &dev,
            SyncRequest {
                version: VERSION,
                cursor: u64::MAX,
                cursor_check: None,
                push: d.upload.clone(),
                page_bytes: 512 * 1024,
            },
        )
        .await
        .expect("upload");
        assert_eq!(resp.acks.len(), d.upload.len(), "upload acknowledged");
        let seq = store.max_seq().await.expect("max seq");
        let check = store
            .entry(seq)
            .await
            .expect("entry")
            .map(|b| ByteBuf::from(zhucun_server::sync::entry_check(&b)));
        out.push((token, seq, check));
    }
    out
}

fn put_u32(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u32).to_le_bytes());
}

fn get<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let n = u32::from_le_bytes(buf.get(*pos..*pos + 4)?.try_into().ok()?) as usize;
    let v = buf.get(*pos + 4..*pos + 4 + n)?;
    *pos += 4 + n;
    Some(v)
}

/// `linkbench load-setup`: make the devices, seed every backend named on the command line
/// (`--db NAME=URL`), and write, per backend, each device's token and daily request to
/// `--state DIR/NAME.state`. Started under `nice` while the link runs, so it only uses CPU
/// the link scenarios leave idle.
pub fn setup_main(argv: &[String]) {
    let arg = |name: &str| -> Option<String> {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .cloned()
    };
    let num = |name: &str| -> usize {
        arg(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("load-setup needs {name} N"))
    };
    let (devices, records, seed) = (num("--devices"), num("--records"), num("--seed") as u64);
    let state = PathBuf::from(arg("--state").expect("load-setup needs --state DIR"));
    let t = Instant::now();
    let made = make_devices(seed, devices, records);
    log(format!(
        "load: made {devices} devices' records in {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for (i, a) in argv.iter().enumerate() {
        if a != "--db" {
            continue;
        }
        let Some((name, url)) = argv.get(i + 1).and_then(|v| v.split_once('=')) else {
            panic!("--db needs NAME=URL");
        };
        let t = Instant::now();
        let creds = rt.block_on(seed_backend(url, &made));
        let mut out = Vec::new();
        for ((token, cursor, check), d) in creds.iter().zip(&made) {
            put_u32(&mut out, token.len());
            out.extend_from_slice(token.as_bytes());
            let body = request(*cursor, check.clone(), &d.daily);
            put_u32(&mut out, body.len());
            out.extend_from_slice(&body);
        }
        std::fs::write(state.join(format!("{name}.state")), out).expect("write state");
        log(format!(
            "load {name}: enrolled {devices} devices and stored {} records in {:.1} s",
            devices * records,
            t.elapsed().as_secs_f64()
        ));
    }
}

/// Read a backend's state: each device's token and daily request.
fn read_state(path: &Path) -> Vec<(String, Vec<u8>)> {
    let buf = std::fs::read(path).expect("read load state");
    let mut pos = 0usize;
    let mut out = Vec::new();
    while pos < buf.len() {
        let token = get(&buf, &mut pos).expect("token");
        let body = get(&buf, &mut pos).expect("body");
        out.push((String::from_utf8_lossy(token).into_owned(), body.to_vec()));
    }
    out
}

struct Burst {
    wall: Duration,
    latencies: Vec<Duration>,
    retries: u64,
    errors: u64,
}

/// Every device's daily sync at once.
async fn burst(url: &str, reqs: Vec<(String, Vec<u8>, usize)>) -> Burst {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .expect("http client");
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (token, body, edits) in reqs {
        let (http, url) = (http.clone(), url.to_string());
        set.spawn(async move {
            let t = Instant::now();
            let mut retries = 0u64;
            loop {
                match post_sync(&http, &url, &token, body.clone()).await {
                    Ok((200, _, b)) => {
                        let ok = zhucun_protocol::decode::<SyncResponse>(
                            &b,
                            zhucun_protocol::DEFAULT_MAX_DECODED,
                        )
                        .map(|r| r.acks.len() == edits && r.rejects.is_empty())
                        .unwrap_or(false);
                        return (t.elapsed(), retries, !ok);
                    }
                    Ok((429 | 503, after, _)) if retries < 20 => {
                        retries += 1;
                        let wait = after.map(Duration::from_secs).unwrap_or_else(|| {
                            Duration::from_millis(250).mul_f64(0.5 + 0.5 * rand::random::<f64>())
                        });
                        tokio::time::sleep(wait).await;
                    }
                    Err(_) if retries < 20 => {
                        retries += 1;
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                    _ => return (t.elapsed(), retries, true),
                }
            }
        });
    }
    let results = set.join_all().await;
    let wall = start.elapsed();
    Burst {
        wall,
        latencies: results.iter().map(|r| r.0).collect(),
        retries: results.iter().map(|r| r.1).sum(),
        errors: results.iter().filter(|r| r.2).count() as u64,
    }
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)].as_secs_f64() * 1000.0
}

/// The set-up running in the background (`linkbench load-setup` under `nice`).
pub struct Setup {
    child: std::process::Child,
    dir: tempfile::TempDir,
    backends: Vec<(String, String)>,
    _pg: Option<zhucun_e2e::PgDb>,
    devices: usize,
    records: usize,
}

/// Start the set-up of the server-load runs in the background.
pub fn start(sizes: &Sizes, seed: u64, postgres: bool) -> Setup {
    let dir = tempfile::tempdir().expect("load dir");
    let mut backends = vec![(
        "sqlite".to_string(),
        format!("sqlite://{}", dir.path().join("load.db").display()),
    )];
    let pg = if postgres {
        let pg = zhucun_e2e::PgDb::create();
        match &pg {
            Some(p) => backends.push(("postgres".into(), p.url.clone())),
            None => log("load: PostgreSQL not reachable; its rows are missing"),
        }
        pg
    } else {
        None
    };
    let devices: usize = sizes.load_devices.iter().sum();
    let exe = std::env::current_exe().expect("own path");
    let mut args: Vec<String> = vec![
        "load-setup".into(),
        "--devices".into(),
        devices.to_string(),
        "--records".into(),
        sizes.load_records.to_string(),
        "--seed".into(),
        seed.to_string(),
        "--state".into(),
        dir.path().display().to_string(),
    ];
    for (name, url) in &backends {
        args.push("--db".into());
        args.push(format!("{name}={url}"));
    }
    let nice = Command::new("nice").arg("--version").output().is_ok();
    let mut cmd = if nice {
        let mut c = Command::new("nice");
        c.args(["-n", "19"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    let child = cmd
        .args(&args)
        .env("ZHUCUN_LOG", "warn")
        .spawn()
        .expect("start the load set-up");
    Setup {
        child,
        dir,
        backends,
        _pg: pg,
        devices,
        records: sizes.load_records,
    }
}

/// Wait for the set-up, then run every burst on every backend, each on a fresh server.
pub fn finish(mut setup: Setup, sizes: &Sizes) -> Vec<LoadRow> {
    let t = Instant::now();
    let status = setup.child.wait().expect("load set-up");
    assert!(status.success(), "the load set-up failed");
    log(format!(
        "load: waited {:.1} s for the set-up",
        t.elapsed().as_secs_f64()
    ));
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    let mut rows = Vec::new();
    for (name, url) in &setup.backends {
        let state = read_state(&setup.dir.path().join(format!("{name}.state")));
        assert_eq!(state.len(), setup.devices, "state of every device");
        let mut offset = 0usize;
        let mut entries = (setup.devices * setup.records) as u64;
        for &n in &sizes.load_devices {
            let reqs: Vec<(String, Vec<u8>, usize)> = state[offset..offset + n]
                .iter()
                .map(|(t, b)| (t.clone(), b.clone(), setup.records))
                .collect();
            offset += n;
            let srv = procs::server(url);
            let cpu0 = srv.cpu_secs();
            let b = client.block_on(burst(&srv.url, reqs));
            std::thread::sleep(Duration::from_millis(50));
            let cpu = srv.cpu_secs() - cpu0;
            let rss = srv.peak_rss_kib() as f64 / 1024.0;
            srv.stop();
            let mut lat = b.latencies;
            let row = LoadRow {
                scenario: "server-load".into(),
                backend: name.clone(),
                devices: n,
                edited_per_device: setup.records,
                seconds: b.wall.as_secs_f64(),
                syncs_per_sec: n as f64 / b.wall.as_secs_f64(),
                p50_ms: pct(&mut lat, 0.5),
                p99_ms: pct(&mut lat, 0.99),
                max_ms: pct(&mut lat, 1.0),
                server_rss_mib: rss,
                server_cpu_s: cpu,
                retries: b.retries,
                errors: b.errors,
                log_entries: entries,
            };
            entries += (n * setup.records) as u64;
            log(format!(
                "load {name} {n} devices: {:.0} syncs/s, p50 {:.0} ms, p99 {:.0} ms, RSS {:.0} MiB, {} errors",
                row.syncs_per_sec, row.p50_ms, row.p99_ms, row.server_rss_mib, row.errors
            ));
            rows.push(row);
        }
    }
    rows
}
