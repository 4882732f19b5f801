//! One conformance suite for `zhucun_server::store::Store`, run against both backends:
//! SQLite (a temp file) and PostgreSQL (a fresh `zhucun_test_<hex>` database on
//! 127.0.0.1:5432, dropped at the end). Every check is written once, in `conformance`.
//!
//! PostgreSQL unreachable: with `CI=true` the Postgres test fails, otherwise it prints a
//! notice and skips.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use zhucun_server::open_store as open;
use zhucun_server::store::{
    ChangeReceipt, DeviceInfo, LogEntry, NewDevice, NewPerson, OrgUnit, Own, Person, ProjectionRow,
    RecordWrite, Store, StoreError,
};

/// The server clock of the test (seconds).
const NOW: i64 = 1_750_000_000;
/// A page size larger than everything the suite writes.
const BIG: usize = 64 * 1024 * 1024;
/// Size of every log entry in the scope checks, so pages of `max_bytes` are predictable.
const ENTRY_LEN: usize = 100;

const PG_HOST_URL: &str = "postgres://postgres@127.0.0.1:5432";

/// `Err(pattern)` or a panic naming what came back instead.
macro_rules! assert_err {
    ($res:expr, $pat:pat if $cond:expr) => {
        match $res {
            Err($pat) if $cond => {}
            other => panic!(
                "{}: expected Err({} if {}), got {:?}",
                stringify!($res),
                stringify!($pat),
                stringify!($cond),
                other
            ),
        }
    };
    ($res:expr, $pat:pat) => {
        match $res {
            Err($pat) => {}
            other => panic!(
                "{}: expected Err({}), got {:?}",
                stringify!($res),
                stringify!($pat),
                other
            ),
        }
    };
}

// ---------------------------------------------------------------------------------------
// Entry points

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("server.db").display());
    let store = open(&url).await.expect("open sqlite store");
    conformance(Arc::clone(&store)).await;
    let max = store.max_seq().await.expect("max_seq");
    drop(store);

    // The same file opened again (a restart): migrate is a no-op and everything is there.
    let again = open(&url).await.expect("reopen sqlite store");
    reopened(&*again, max).await;
    drop(again);

    // The check finds what a torn or hand-edited database would show.
    let file = dir.path().join("server.db");
    {
        let c = rusqlite::Connection::open(&file).expect("open the file");
        c.execute(
            "DELETE FROM projections WHERE id = (SELECT min(id) FROM docs)",
            [],
        )
        .expect("delete a projection row");
        c.execute(
            "INSERT INTO changes(record_id, origin, bytes) VALUES ('no-such-record', 'd', x'00')",
            [],
        )
        .expect("log an entry for nothing");
    }
    let broken = open(&url).await.expect("reopen sqlite store");
    assert_eq!(
        broken.check().await.expect("check"),
        [
            "1 change log entries name no stored record",
            "1 records have no projection row"
        ]
    );

    assert!(
        matches!(
            open("mysql://localhost/x").await,
            Err(StoreError::BadUrl(_))
        ),
        "an unknown URL scheme is BadUrl"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_store_conforms() {
    let admin_url = format!("{PG_HOST_URL}/postgres?connect_timeout=5");
    let admin = match tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    eprintln!("admin connection: {e}");
                }
            });
            client
        }
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL is unreachable at {admin_url} and CI=true: {e}");
            }
            eprintln!(
                "NOTICE: PostgreSQL is unreachable at {admin_url} ({e}); \
                 skipping the PostgreSQL half of the store conformance suite"
            );
            return;
        }
    };

    let db = format!("zhucun_test_{:016x}", rand::random::<u64>());
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .expect("create test database");
    let url = format!("{PG_HOST_URL}/{db}");

    // Run the checks in their own task so the database is dropped even when one fails.
    let run = {
        let url = url.clone();
        tokio::spawn(async move {
            let store = open(&url).await.expect("open postgres store");
            conformance(Arc::clone(&store)).await;
            let max = store.max_seq().await.expect("max_seq");
            // A second server process on the same database.
            let other = open(&url).await.expect("open a second postgres store");
            reopened(&*other, max).await;
            // Both pools are dropped here, before the database is.
        })
        .await
    };

    let dropped = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await;
    if let Err(e) = run {
        if let Err(d) = &dropped {
            eprintln!("could not drop test database {db}: {d}");
        }
        std::panic::resume_unwind(e.into_panic());
    }
    dropped.expect("drop test database");
}

// ---------------------------------------------------------------------------------------
// The suite

async fn conformance(store: Arc<dyn Store>) {
    let s = &*store;
    s.migrate().await.expect("first migrate");
    s.migrate().await.expect("second migrate (idempotent)");
    s.ping().await.expect("ping");
    assert_eq!(
        s.max_seq().await.expect("max_seq"),
        0,
        "a fresh log is empty"
    );
    assert!(s.units().await.expect("units").is_empty());

    org_units(s).await;
    people(s).await;
    enrolment_codes(s).await;
    devices(s).await;
    records_and_log(s).await;
    pull_and_scope(s).await;
    concurrency(&store).await;
    login_failures_at_once(&store).await;
    // Everything written through the trait keeps the rules the check looks for.
    assert_eq!(s.check().await.expect("check"), Vec::<String>::new());
}

/// A store opened again on the same database: migrate changes nothing, the data is there.
async fn reopened(s: &dyn Store, max_seq: u64) {
    s.migrate().await.expect("migrate a migrated database");
    assert_eq!(s.max_seq().await.expect("max_seq"), max_seq);
    assert_eq!(s.units().await.expect("units"), expected_units());
    assert!(s.person("p-sec").await.expect("person").is_some());
}

fn unit(id: &str, name: &str, kind: &str, parent: Option<&str>, path: &str) -> OrgUnit {
    OrgUnit {
        id: id.into(),
        name: name.into(),
        kind: kind.into(),
        parent: parent.map(str::to_string),
        path: path.into(),
    }
}

/// Every unit the suite adds, in path order.
fn expected_units() -> Vec<OrgUnit> {
    vec![
        unit("city", "Test City", "city", None, "/city/"),
        unit("town", "Test Town", "township", Some("city"), "/city/town/"),
        unit(
            "v1",
            "Village One",
            "village",
            Some("town"),
            "/city/town/v1/",
        ),
        unit(
            "v1x",
            "Village One X",
            "village",
            Some("town"),
            "/city/town/v1x/",
        ),
        unit(
            "v2",
            "Village Two",
            "village",
            Some("town"),
            "/city/town/v2/",
        ),
        unit(
            "vc",
            "Busy Village",
            "village",
            Some("town"),
            "/city/town/vc/",
        ),
        unit(
            "town2",
            "Other Town",
            "township",
            Some("city"),
            "/city/town2/",
        ),
        unit(
            "v3",
            "Village Three",
            "village",
            Some("town2"),
            "/city/town2/v3/",
        ),
    ]
}

// 1. Organisation units -----------------------------------------------------------------

async fn org_units(s: &dyn Store) {
    let want = expected_units();
    let by_id = |id: &str| want.iter().find(|u| u.id == id).unwrap().clone();

    // Added parents first; `add_unit` returns the unit with its path.
    for id in ["city", "town", "v1", "v2", "v1x", "vc", "town2", "v3"] {
        let u = by_id(id);
        let got = s
            .add_unit(&u.id, &u.name, &u.kind, u.parent.as_deref())
            .await
            .unwrap_or_else(|e| panic!("add unit {id}: {e}"));
        assert_eq!(got, u, "add_unit({id}) returns the unit with its path");
    }
    assert_eq!(by_id("city").path, "/city/");
    assert_eq!(by_id("town").path, "/city/town/");
    assert_eq!(by_id("v1").path, "/city/town/v1/");

    // A duplicate id, under the same parent, another parent or the root.
    assert_err!(
        s.add_unit("v1", "Again", "village", Some("town")).await,
        StoreError::Duplicate(_)
    );
    assert_err!(
        s.add_unit("v1", "Elsewhere", "village", Some("town2"))
            .await,
        StoreError::Duplicate(_)
    );
    assert_err!(
        s.add_unit("town", "Root town", "township", None).await,
        StoreError::Duplicate(_)
    );
    // An unknown parent.
    assert_err!(
        s.add_unit("v9", "Nine", "village", Some("nowhere")).await,
        StoreError::NotFound(_)
    );

    // Listed in path order; the failed adds changed nothing.
    let units = s.units().await.expect("units");
    let mut by_path = want.clone();
    by_path.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(want, by_path, "the expected list is itself in path order");
    assert_eq!(units, want);
}

// 2. People -----------------------------------------------------------------------------

fn new_person(id: &str, name: &str, role: &str, units: &[&str]) -> NewPerson {
    NewPerson {
        id: id.into(),
        name: name.into(),
        role: role.into(),
        units: units.iter().map(|u| u.to_string()).collect(),
        password_hash: None,
    }
}

/// A person as read back, units sorted (the trait promises no order).
async fn person_sorted(s: &dyn Store, id: &str) -> Option<Person> {
    s.person(id).await.expect("person").map(|mut p| {
        p.units.sort();
        p
    })
}

fn person(id: &str, name: &str, role: &str, units: &[&str]) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
        role: role.into(),
        units: units.iter().map(|u| u.to_string()).collect(),
    }
}

async fn people(s: &dyn Store) {
    let add = |p: NewPerson| async move {
        s.add_person(&p)
            .await
            .unwrap_or_else(|e| panic!("add person {}: {e}", p.id))
    };
    add(new_person("p-sec", "李书记", "first_secretary", &["v1"])).await;
    add(new_person(
        "p-ins",
        "Instructor Wang",
        "instructor",
        &["v2", "v1"],
    ))
    .await;
    add(new_person(
        "p-town",
        "Officer Zhao",
        "township_officer",
        &["town"],
    ))
    .await;
    add(new_person(
        "p-city",
        "Officer Qian",
        "city_officer",
        &["city"],
    ))
    .await;
    add(NewPerson {
        password_hash: Some("$argon2id$not-a-real-hash".into()),
        ..new_person("p-admin", "Admin", "admin", &[])
    })
    .await;

    assert_eq!(
        person_sorted(s, "p-sec").await,
        Some(person("p-sec", "李书记", "first_secretary", &["v1"]))
    );
    assert_eq!(
        person_sorted(s, "p-ins").await,
        Some(person(
            "p-ins",
            "Instructor Wang",
            "instructor",
            &["v1", "v2"]
        ))
    );
    assert_eq!(
        person_sorted(s, "p-admin").await,
        Some(person("p-admin", "Admin", "admin", &[]))
    );
    assert_eq!(person_sorted(s, "nobody").await, None);

    // A duplicate id changes nothing: not the name, not the units.
    assert_err!(
        s.add_person(&new_person("p-sec", "Impostor", "admin", &["v2"]))
            .await,
        StoreError::Duplicate(_)
    );
    assert_eq!(
        person_sorted(s, "p-sec").await,
        Some(person("p-sec", "李书记", "first_secretary", &["v1"]))
    );

    // An unknown unit (after a known one): nothing of the person is kept.
    assert_err!(
        s.add_person(&new_person(
            "p-ghost",
            "Ghost",
            "instructor",
            &["v1", "nowhere"]
        ))
        .await,
        StoreError::NotFound(_)
    );
    assert_eq!(person_sorted(s, "p-ghost").await, None);
    // ... so the same id can be added properly afterwards (no half-written rows left).
    add(new_person("p-ghost", "Ghost", "instructor", &["v1"])).await;
    assert_eq!(
        person_sorted(s, "p-ghost").await,
        Some(person("p-ghost", "Ghost", "instructor", &["v1"]))
    );
}

// 3. Enrolment codes --------------------------------------------------------------------

fn device(id: &str, name: &str, token: &str) -> NewDevice {
    NewDevice {
        id: id.into(),
        name: name.into(),
        token_hash: token.into(),
        created_at: NOW,
    }
}

async fn device_ids(s: &dyn Store) -> BTreeSet<String> {
    s.devices()
        .await
        .expect("devices")
        .into_iter()
        .map(|d| d.id)
        .collect()
}

async fn enrolment_codes(s: &dyn Store) {
    s.add_code("code-sec", "p-sec", NOW + 3600)
        .await
        .expect("add code");
    s.add_code("code-ins", "p-ins", NOW + 3600)
        .await
        .expect("add code");
    s.add_code("code-town", "p-town", NOW + 3600)
        .await
        .expect("add code");
    s.add_code("code-old", "p-city", NOW - 1)
        .await
        .expect("add code");

    // Redeeming registers the device and says whose it is.
    let p = s
        .redeem_code("code-sec", NOW, &device("d-sec", "Li's phone", "tok-sec"))
        .await
        .expect("redeem code-sec");
    assert_eq!(p, person("p-sec", "李书记", "first_secretary", &["v1"]));
    let mut p = s
        .redeem_code(
            "code-ins",
            NOW,
            &device("d-ins", "Wang's tablet", "tok-ins"),
        )
        .await
        .expect("redeem code-ins");
    p.units.sort();
    assert_eq!(
        p,
        person("p-ins", "Instructor Wang", "instructor", &["v1", "v2"])
    );
    s.redeem_code(
        "code-town",
        NOW,
        &device("d-town", "Zhao's phone", "tok-town"),
    )
    .await
    .expect("redeem code-town");

    // A code works once.
    assert_err!(
        s.redeem_code("code-sec", NOW + 1, &device("d-sec2", "second", "tok-sec2"))
            .await,
        StoreError::CodeUsed
    );
    // An unknown code.
    assert_err!(
        s.redeem_code("code-none", NOW, &device("d-none", "none", "tok-none"))
            .await,
        StoreError::CodeInvalid
    );
    // An expired code, twice: still expired (not used up by the failed attempt).
    for _ in 0..2 {
        assert_err!(
            s.redeem_code("code-old", NOW, &device("d-old", "old", "tok-old"))
                .await,
            StoreError::CodeExpired
        );
    }

    // No device came from a failed redemption.
    let want: BTreeSet<String> = ["d-ins", "d-sec", "d-town"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(device_ids(s).await, want);
    for tok in ["tok-sec2", "tok-none", "tok-old"] {
        assert!(
            s.device_by_token(tok)
                .await
                .expect("device_by_token")
                .is_none(),
            "no device for {tok}"
        );
    }
}

// 4. Devices ----------------------------------------------------------------------------

async fn device_info(s: &dyn Store, id: &str) -> DeviceInfo {
    s.devices()
        .await
        .expect("devices")
        .into_iter()
        .find(|d| d.id == id)
        .unwrap_or_else(|| panic!("device {id} listed"))
}

async fn devices(s: &dyn Store) {
    let auth = s
        .device_by_token("tok-sec")
        .await
        .expect("device_by_token")
        .expect("tok-sec is a device");
    assert_eq!(auth.device_id, "d-sec");
    assert_eq!(auth.person_id, "p-sec");
    assert_eq!(auth.role, "first_secretary");
    assert!(!auth.revoked);
    assert_eq!(auth.scope_paths, ["/city/town/v1/"]);

    let mut auth = s
        .device_by_token("tok-ins")
        .await
        .expect("device_by_token")
        .expect("tok-ins is a device");
    auth.scope_paths.sort();
    assert_eq!(
        (auth.device_id.as_str(), auth.role.as_str()),
        ("d-ins", "instructor")
    );
    assert_eq!(auth.scope_paths, ["/city/town/v1/", "/city/town/v2/"]);

    let auth = s
        .device_by_token("tok-town")
        .await
        .expect("device_by_token")
        .expect("tok-town is a device");
    assert_eq!(auth.scope_paths, ["/city/town/"]);

    assert!(s
        .device_by_token("tok-nope")
        .await
        .expect("device_by_token")
        .is_none());

    assert_eq!(
        device_info(s, "d-sec").await,
        DeviceInfo {
            id: "d-sec".into(),
            name: "Li's phone".into(),
            person_id: "p-sec".into(),
            created_at: NOW,
            last_seen: None,
            revoked_at: None,
        }
    );

    // touch_device sets last_seen and the cursor last answered, of that device only.
    let synced_to = |tok: &'static str| async move {
        s.device_by_token(tok)
            .await
            .expect("device_by_token")
            .expect("device")
            .synced_to
    };
    assert_eq!(
        synced_to("tok-sec").await,
        0,
        "a new device was answered nothing"
    );
    s.touch_device("d-sec", NOW + 10, 41).await.expect("touch");
    assert_eq!(device_info(s, "d-sec").await.last_seen, Some(NOW + 10));
    assert_eq!(synced_to("tok-sec").await, 41);
    s.touch_device("d-sec", NOW + 15, 0).await.expect("touch");
    assert_eq!(device_info(s, "d-sec").await.last_seen, Some(NOW + 15));
    assert_eq!(
        synced_to("tok-sec").await,
        0,
        "a reset cursor is kept as well"
    );
    assert_eq!(device_info(s, "d-ins").await.last_seen, None);
    assert_eq!(synced_to("tok-ins").await, 0);

    // Revoking: once true, then false; the first time is kept.
    assert!(s.revoke_device("d-ins", NOW + 20).await.expect("revoke"));
    assert!(!s
        .revoke_device("d-ins", NOW + 30)
        .await
        .expect("revoke again"));
    assert!(!s
        .revoke_device("d-nope", NOW + 30)
        .await
        .expect("revoke unknown"));
    let auth = s
        .device_by_token("tok-ins")
        .await
        .expect("device_by_token")
        .expect("a revoked device is still found");
    assert!(auth.revoked, "device_by_token shows the revocation");
    assert_eq!(device_info(s, "d-ins").await.revoked_at, Some(NOW + 20));
    // Other devices are untouched.
    assert!(
        !s.device_by_token("tok-sec")
            .await
            .expect("device_by_token")
            .expect("d-sec")
            .revoked
    );
    assert_eq!(device_info(s, "d-sec").await.revoked_at, None);
}

// 5. Records and the log ----------------------------------------------------------------

/// A log entry (or document) of exactly `ENTRY_LEN` bytes that reads as `label`.
fn blob(label: &str) -> Vec<u8> {
    let mut b = label.as_bytes().to_vec();
    assert!(b.len() < ENTRY_LEN);
    b.push(0);
    b.resize(ENTRY_LEN, 0xA5);
    b
}

fn label(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn labels(entries: &[LogEntry]) -> Vec<String> {
    entries.iter().map(|e| label(&e.bytes)).collect()
}

fn record(
    id: &str,
    expected_heads: Option<&str>,
    heads: &str,
    log: &[&str],
    unit_paths: &[&str],
) -> RecordWrite {
    RecordWrite {
        id: id.into(),
        kind: "activity".into(),
        village: "v1".into(),
        expected_heads: expected_heads.map(str::to_string),
        heads: heads.into(),
        bytes: format!("document {id} at {heads}").into_bytes(),
        log: log.iter().map(|l| blob(l)).collect(),
        projection: ProjectionRow {
            title: format!("title of {id}"),
            date: Some("2025-06-01".into()),
            sub_kind: None,
            status: Some("done".into()),
            detail: "{}".into(),
        },
        unit_paths: unit_paths.iter().map(|p| p.to_string()).collect(),
        left_paths: Vec::new(),
        blobs: Vec::new(),
        receipts: Vec::new(),
    }
}

/// A receipt as a write carries it (the store fills in the device that delivered it).
fn receipt(hash: &str, person: &str, at: i64, relayed: bool) -> ChangeReceipt {
    ChangeReceipt {
        hash: hash.into(),
        device_id: String::new(),
        person_id: person.into(),
        device_name: None,
        person_name: None,
        received_at: at,
        relayed,
    }
}

/// A record's receipts as (hash, device, person, at, relayed), by hash.
async fn receipts_of(s: &dyn Store, id: &str) -> Vec<(String, String, String, i64, bool)> {
    let mut r: Vec<_> = s
        .receipts(id)
        .await
        .expect("receipts")
        .into_iter()
        .map(|r| (r.hash, r.device_id, r.person_id, r.received_at, r.relayed))
        .collect();
    r.sort();
    r
}

async fn load_one(s: &dyn Store, id: &str) -> Option<zhucun_server::store::StoredDoc> {
    let mut docs = s.load_docs(&[id.to_string()]).await.expect("load_docs");
    assert!(docs.len() <= 1);
    docs.pop()
}

/// The asking device `device`, answered nothing yet: none of its own entries come back.
fn own(device: &str) -> Own<'_> {
    Own {
        device,
        synced_to: 0,
    }
}

/// Every page from `after` until `more` is false, checking the cursor rules on each page.
async fn pull_all(
    s: &dyn Store,
    scope: &[&str],
    after: u64,
    exclude: &str,
    max_bytes: usize,
) -> (Vec<LogEntry>, u64, usize) {
    let scope: Vec<String> = scope.iter().map(|p| p.to_string()).collect();
    let (mut cursor, mut out, mut pages) = (after, Vec::new(), 0usize);
    loop {
        let page = s
            .pull(&scope, cursor, own(exclude), max_bytes)
            .await
            .expect("pull");
        pages += 1;
        assert!(page.cursor >= cursor, "the cursor never goes back");
        for e in &page.entries {
            assert!(
                e.seq > cursor && e.seq <= page.cursor,
                "entry {} lies in ({cursor}, {}]",
                e.seq,
                page.cursor
            );
        }
        if page.more {
            assert!(page.cursor > cursor, "a page with more=true makes progress");
        }
        cursor = page.cursor;
        out.extend(page.entries);
        if !page.more {
            break;
        }
        assert!(pages < 100_000, "pull never ends");
    }
    (out, cursor, pages)
}

fn assert_increasing(entries: &[LogEntry]) {
    for w in entries.windows(2) {
        assert!(
            w[0].seq < w[1].seq,
            "seqs strictly increase: {} then {}",
            w[0].seq,
            w[1].seq
        );
    }
}

async fn records_and_log(s: &dyn Store) {
    let base = s.max_seq().await.expect("max_seq");
    assert!(load_one(s, "r-1").await.is_none());

    // Create.
    let w = RecordWrite {
        bytes: vec![0, 1, 2, 255, 0, 7],
        receipts: vec![receipt("aa01", "p-sec", NOW, false)],
        ..record(
            "r-1",
            None,
            r#"["aa01"]"#,
            &["r1 c1", "r1 c2"],
            &["/city/town/v1/"],
        )
    };
    s.commit("d-sec", std::slice::from_ref(&w))
        .await
        .expect("create r-1");
    let doc = load_one(s, "r-1").await.expect("r-1 stored");
    assert_eq!(doc.id, "r-1");
    assert_eq!(doc.kind, "activity");
    assert_eq!(doc.village, "v1");
    assert_eq!(doc.heads, r#"["aa01"]"#);
    assert_eq!(doc.bytes, vec![0, 1, 2, 255, 0, 7]);

    let after_create = s.max_seq().await.expect("max_seq");
    let (got, cursor, _) = pull_all(s, &["/city/"], base, "", BIG).await;
    assert_eq!(labels(&got), ["r1 c1", "r1 c2"], "both entries, in order");
    assert!(got.iter().all(|e| e.record_id == "r-1"));
    assert_eq!(
        got[0].bytes,
        blob("r1 c1"),
        "entries are stored byte for byte"
    );
    assert_increasing(&got);
    assert!(got[0].seq > base);
    assert_eq!(after_create, got[1].seq, "max_seq is the last entry's seq");
    assert_eq!(cursor, after_create);

    // Creating it again, or writing with the wrong heads: Conflict, nothing written.
    let again = RecordWrite {
        receipts: vec![receipt("cc03", "p-sec", NOW, false)],
        ..record("r-1", None, r#"["cc03"]"#, &["r1 bad"], &["/city/town/v2/"])
    };
    assert_err!(
        s.commit("d-sec", std::slice::from_ref(&again)).await,
        StoreError::Conflict(id) if id == "r-1"
    );
    let wrong = record(
        "r-1",
        Some(r#"["ffff"]"#),
        r#"["cc03"]"#,
        &["r1 bad"],
        &["/city/town/v2/"],
    );
    assert_err!(
        s.commit("d-sec", std::slice::from_ref(&wrong)).await,
        StoreError::Conflict(_)
    );
    // A push whose second record conflicts writes none of its records.
    let fresh = record("r-2", None, r#"["dd04"]"#, &["r2 c1"], &["/city/town/v1/"]);
    assert_err!(
        s.commit("d-sec", &[fresh, wrong]).await,
        StoreError::Conflict(id) if id == "r-1"
    );
    assert_eq!(s.max_seq().await.expect("max_seq"), after_create);
    assert!(load_one(s, "r-2").await.is_none(), "r-2 was rolled back");
    let doc = load_one(s, "r-1").await.expect("r-1 stored");
    assert_eq!(doc.heads, r#"["aa01"]"#);
    assert_eq!(doc.bytes, vec![0, 1, 2, 255, 0, 7]);
    let (got, _, _) = pull_all(s, &["/"], base, "", BIG).await;
    assert_eq!(labels(&got), ["r1 c1", "r1 c2"], "no entry from a conflict");
    let (got, _, _) = pull_all(s, &["/city/town/v2/"], 0, "", BIG).await;
    assert!(
        got.is_empty(),
        "a conflict did not change the record's reach"
    );

    // The right heads: updated.
    let update = RecordWrite {
        bytes: vec![9; 3000],
        // A change the server already took keeps its first receipt.
        receipts: vec![
            receipt("aa01", "p-ins", NOW + 9, true),
            receipt("bb02", "p-ins", NOW + 10, true),
        ],
        ..record(
            "r-1",
            Some(r#"["aa01"]"#),
            r#"["bb02"]"#,
            &["r1 c3"],
            &["/city/town/v1/"],
        )
    };
    s.commit("d-ins", &[update]).await.expect("update r-1");
    let doc = load_one(s, "r-1").await.expect("r-1 stored");
    assert_eq!(doc.heads, r#"["bb02"]"#);
    assert_eq!(doc.bytes, vec![9; 3000]);
    assert_eq!(
        (doc.kind.as_str(), doc.village.as_str()),
        ("activity", "v1")
    );
    // Receipts name the device that delivered each change and its person, at the server's
    // time; a conflicting write left none.
    assert_eq!(
        receipts_of(s, "r-1").await,
        [
            ("aa01".into(), "d-sec".into(), "p-sec".into(), NOW, false),
            (
                "bb02".into(),
                "d-ins".into(),
                "p-ins".into(),
                NOW + 10,
                true
            ),
        ]
    );
    assert!(receipts_of(s, "r-2").await.is_empty());
    let after_update = s.max_seq().await.expect("max_seq");
    assert!(after_update > after_create);
    let (got, _, _) = pull_all(s, &["/city/"], after_create, "", BIG).await;
    assert_eq!(labels(&got), ["r1 c3"]);
    assert_eq!(got[0].seq, after_update);

    // Several records in one push, each with its entries in order.
    let a = record(
        "r-2",
        None,
        r#"["r2"]"#,
        &["r2 c1", "r2 c2"],
        &["/city/town/v1/"],
    );
    let b = record("r-3", None, r#"["r3"]"#, &["r3 c1"], &["/city/town/v1/"]);
    s.commit("d-sec", &[a, b])
        .await
        .expect("push of two records");
    let (got, _, _) = pull_all(s, &["/city/"], after_update, "", BIG).await;
    assert_eq!(labels(&got), ["r2 c1", "r2 c2", "r3 c1"]);
    assert_increasing(&got);
    assert_eq!(
        got.iter().map(|e| e.record_id.as_str()).collect::<Vec<_>>(),
        ["r-2", "r-2", "r-3"]
    );
    assert_eq!(s.max_seq().await.expect("max_seq"), got[2].seq);

    // A record moved from v1 to v2: the entries of the move reach v1 as well, later ones
    // only v2 (v1 learns that it lost the record, and nothing after).
    let before_move = s.max_seq().await.expect("max_seq");
    let moved = RecordWrite {
        left_paths: vec!["/city/town/v1/".into()],
        ..record(
            "r-3",
            Some(r#"["r3"]"#),
            r#"["r3b"]"#,
            &["r3 moved"],
            &["/city/town/v2/"],
        )
    };
    s.commit("d-office", &[moved]).await.expect("move r-3");
    let later = record(
        "r-3",
        Some(r#"["r3b"]"#),
        r#"["r3c"]"#,
        &["r3 later"],
        &["/city/town/v2/"],
    );
    s.commit("d-office", &[later])
        .await
        .expect("edit r-3 in v2");
    let (got, _, _) = pull_all(s, &["/city/town/v1/"], before_move, "", BIG).await;
    assert_eq!(
        labels(&got),
        ["r3 moved"],
        "the old village gets the move only"
    );
    let (got, _, _) = pull_all(s, &["/city/town/v2/"], before_move, "", BIG).await;
    assert_eq!(labels(&got), ["r3 moved", "r3 later"]);
    let (got, _, _) = pull_all(s, &["/city/"], before_move, "", BIG).await;
    assert_eq!(labels(&got), ["r3 moved", "r3 later"], "each entry once");

    // Which attachments some record refers to (what collecting them asks).
    let (named, other) = ("a".repeat(64), "b".repeat(64));
    let with_photo = RecordWrite {
        blobs: vec![named.clone()],
        ..record(
            "r-3",
            Some(r#"["r3c"]"#),
            r#"["r3d"]"#,
            &["r3 photo"],
            &["/city/town/v2/"],
        )
    };
    s.commit("d-office", &[with_photo]).await.expect("photo");
    let got = s
        .referenced_blobs(&[named.clone(), other.clone()])
        .await
        .expect("referenced_blobs");
    assert_eq!(got, HashSet::from([named.clone()]));
    assert!(s.referenced_blobs(&[]).await.expect("none").is_empty());

    // load_docs: several ids, unknown ones skipped, none at all.
    let ids: Vec<String> = ["r-3", "nope", "r-1", "r-2"].map(String::from).to_vec();
    let mut docs: Vec<String> = s
        .load_docs(&ids)
        .await
        .expect("load_docs")
        .into_iter()
        .map(|d| d.id)
        .collect();
    docs.sort();
    assert_eq!(docs, ["r-1", "r-2", "r-3"]);
    assert!(s.load_docs(&[]).await.expect("load_docs").is_empty());
}

// 6. Pull and scope ---------------------------------------------------------------------

/// One-page pulls from `base`, checked against the whole log's seqs and record ids.
struct Scoped<'a> {
    s: &'a dyn Store,
    base: u64,
    seq: &'a HashMap<String, u64>,
    ids: &'a HashMap<String, String>,
}

impl Scoped<'_> {
    /// Pull `scope` from `base` excluding `exclude`: the entries are `want`; the cursor.
    async fn check(&self, scope: &[&str], exclude: &str, want: &[&str]) -> u64 {
        let paths: Vec<String> = scope.iter().map(|p| p.to_string()).collect();
        let page = self
            .s
            .pull(&paths, self.base, own(exclude), BIG)
            .await
            .expect("pull");
        assert!(!page.more, "{scope:?}: everything fits in one page");
        assert_eq!(
            labels(&page.entries),
            want,
            "scope {scope:?}, exclude {exclude}"
        );
        assert_increasing(&page.entries);
        for e in &page.entries {
            assert_eq!(e.seq, self.seq[&label(&e.bytes)]);
            assert_eq!(e.record_id, self.ids[&label(&e.bytes)]);
        }
        page.cursor
    }
}

async fn pull_and_scope(s: &dyn Store) {
    const V1: &str = "/city/town/v1/";
    const V1X: &str = "/city/town/v1x/";
    const V2: &str = "/city/town/v2/";
    const TOWN: &str = "/city/town/";
    const CITY: &str = "/city/";
    let base = s.max_seq().await.expect("max_seq");

    // One push each, so the log order is the order below.
    let pushes: [(&str, RecordWrite); 6] = [
        ("dev-A", record("a-v1", None, "[1]", &["A1", "A2"], &[V1])),
        ("dev-B", record("b-v2", None, "[1]", &["B1"], &[V2])),
        // A task reaching two villages.
        ("dev-B", record("c-v1v2", None, "[1]", &["C1"], &[V1, V2])),
        // Prefix traps: v1x is not under v1, town2 is not under town.
        ("dev-A", record("d-v1x", None, "[1]", &["D1"], &[V1X])),
        (
            "dev-A",
            record("e-town2", None, "[1]", &["E1"], &["/city/town2/v3/"]),
        ),
        ("dev-B", record("a-v1", Some("[1]"), "[2]", &["A3"], &[V1])),
    ];
    for (origin, w) in &pushes {
        s.commit(origin, std::slice::from_ref(w))
            .await
            .unwrap_or_else(|e| panic!("commit {}: {e}", w.id));
    }
    let all = ["A1", "A2", "B1", "C1", "D1", "E1", "A3"];

    // The whole log since `base`, to know each entry's seq.
    let (log, end, _) = pull_all(s, &["/"], base, "", BIG).await;
    assert_eq!(labels(&log), all);
    assert_increasing(&log);
    assert_eq!(s.max_seq().await.expect("max_seq"), end);
    let seq: HashMap<String, u64> = log.iter().map(|e| (label(&e.bytes), e.seq)).collect();
    let ids: HashMap<String, String> = log
        .iter()
        .map(|e| (label(&e.bytes), e.record_id.clone()))
        .collect();
    assert_eq!(ids["C1"], "c-v1v2");

    let scoped = Scoped {
        s,
        base,
        seq: &seq,
        ids: &ids,
    };

    // A village sees its records (a task once, though it reaches two scoped villages),
    // never its prefix-sibling v1x.
    scoped
        .check(&[V1], "other-device", &["A1", "A2", "C1", "A3"])
        .await;
    scoped.check(&[V2], "other-device", &["B1", "C1"]).await;
    scoped
        .check(&[V1, V2], "other-device", &["A1", "A2", "B1", "C1", "A3"])
        .await;
    scoped.check(&[V1X], "other-device", &["D1"]).await;
    // A township sees its villages, not the other township's (town vs town2).
    scoped
        .check(
            &[TOWN],
            "other-device",
            &["A1", "A2", "B1", "C1", "D1", "A3"],
        )
        .await;
    scoped.check(&[CITY], "other-device", &all).await;
    // Overlapping scope paths: still each entry once.
    scoped.check(&[CITY, TOWN, V1], "other-device", &all).await;
    // A scope path is a literal prefix: `_` and `%` are no wildcards.
    scoped
        .check(&["/city/town/v_/", "/city/%"], "other-device", &[])
        .await;

    // From 0, a village sees this section's and earlier records reaching it, nothing else.
    let (from0, _, _) = pull_all(s, &[V1], 0, "other-device", BIG).await;
    assert_increasing(&from0);
    for e in &from0 {
        assert!(
            ["r-1", "r-2", "r-3", "a-v1", "c-v1v2"].contains(&e.record_id.as_str()),
            "{} is not in v1",
            e.record_id
        );
    }
    assert_eq!(
        labels(&from0[from0.len() - 4..]),
        ["A1", "A2", "C1", "A3"],
        "this section's v1 entries end the v1 log"
    );

    // An empty scope sees nothing and keeps the cursor.
    let page = s
        .pull(&[], base, own("other-device"), BIG)
        .await
        .expect("pull");
    assert!(page.entries.is_empty() && !page.more);
    assert_eq!(page.cursor, base);

    // Excluding the origin drops its entries, but the cursor passes them.
    let cur = scoped.check(&[CITY], "dev-A", &["B1", "C1", "A3"]).await;
    assert_eq!(cur, end);
    let cur = scoped
        .check(&[CITY], "dev-B", &["A1", "A2", "D1", "E1"])
        .await;
    assert_eq!(cur, end, "the cursor passes the excluded last entry A3");
    let cur = scoped.check(&[V1X], "dev-A", &[]).await;
    assert_eq!(
        cur,
        s.max_seq().await.expect("max_seq"),
        "nothing more in scope: the cursor passes the whole log, other villages' entries too"
    );
    assert!(cur > seq["D1"]);
    let cur = scoped.check(&[TOWN], "dev-B", &["A1", "A2", "D1"]).await;
    assert_eq!(cur, end);
    // A device last answered with a cursor past its own entries, asking from before them
    // (restored from a copy of its data), gets them back; those it pushed after that answer
    // it has, and they stay out.
    let page = s
        .pull(
            &[CITY.to_string()],
            base,
            Own {
                device: "dev-A",
                synced_to: seq["D1"],
            },
            BIG,
        )
        .await
        .expect("pull");
    assert_eq!(labels(&page.entries), ["A1", "A2", "B1", "C1", "D1", "A3"]);
    assert_eq!(page.cursor, end);

    // Nothing new after the cursor.
    let page = s
        .pull(&[CITY.to_string()], end, own("other-device"), BIG)
        .await
        .expect("pull");
    assert!(page.entries.is_empty() && !page.more);
    assert_eq!(page.cursor, end);

    // Small pages: `more` until the end, then the rest, nothing lost or repeated.
    let first = s
        .pull(
            &[CITY.to_string()],
            base,
            own("other-device"),
            ENTRY_LEN + 50,
        )
        .await
        .expect("pull");
    assert!(first.more, "a small page says there is more");
    assert_eq!(labels(&first.entries), ["A1"]);
    assert_eq!(first.cursor, seq["A1"]);
    for (max_bytes, max_pages) in [(ENTRY_LEN + 50, 8), (2 * ENTRY_LEN + 50, 5), (1, 8)] {
        let (got, cur, pages) = pull_all(s, &[CITY], base, "other-device", max_bytes).await;
        assert_eq!(labels(&got), all, "pages of {max_bytes} bytes");
        assert_eq!(cur, end);
        assert!(
            pages > 1 && pages <= max_pages,
            "{pages} pages of {max_bytes} bytes"
        );
        // Continuing from a page's cursor: the concatenation equals one big pull.
        let seqs: Vec<u64> = got.iter().map(|e| e.seq).collect();
        let want: Vec<u64> = log.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, want);
    }
    // Small pages while excluding: the excluded entries are passed, never returned.
    let (got, cur, _) = pull_all(s, &[CITY], base, "dev-B", ENTRY_LEN + 50).await;
    assert_eq!(labels(&got), ["A1", "A2", "D1", "E1"]);
    assert_eq!(cur, end);
    let (got, cur, _) = pull_all(s, &[V1], base, "other-device", ENTRY_LEN + 50).await;
    assert_eq!(labels(&got), ["A1", "A2", "C1", "A3"]);
    assert_eq!(cur, seq["A3"]);
}

// 7. Concurrency ------------------------------------------------------------------------

const WRITERS: usize = 8;
const PER_WRITER: usize = 20;
const VC: &str = "/city/town/vc/";

/// Failed logins arriving at once (a password sprayed from many addresses) each get their
/// own count: of 20, exactly every fifth locks, and the lock holds until cleared.
async fn login_failures_at_once(store: &Arc<dyn Store>) {
    let lock_until = NOW + 900;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                store
                    .add_login_failure("zhao-min", 5, lock_until)
                    .await
                    .expect("add_login_failure")
            })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        let f = t.await.unwrap();
        // Once locked, the lock stays through later failures.
        if f.failures == 0 {
            assert_eq!(f.locked_until, Some(lock_until));
        }
        counts.push(f.failures);
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4],
        "each failure counted once"
    );
    let now = store.login_failures("zhao-min").await.unwrap();
    assert_eq!((now.failures, now.locked_until), (0, Some(lock_until)));
    // Another user is untouched; clearing forgets them all.
    assert_eq!(
        store.login_failures("wang-qiang").await.unwrap(),
        Default::default()
    );
    store.clear_login_failures("zhao-min").await.unwrap();
    assert_eq!(
        store.login_failures("zhao-min").await.unwrap(),
        Default::default()
    );
}

async fn concurrency(store: &Arc<dyn Store>) {
    let base = s_max(store).await;

    // A reader pulling all the while, as a device syncing during other devices' pushes.
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, done) = (Arc::clone(store), Arc::clone(&done));
        tokio::spawn(async move {
            let scope = vec![VC.to_string()];
            let (mut cursor, mut seen) = (0u64, Vec::new());
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = store
                    .pull(&scope, cursor, own("reader"), 64)
                    .await
                    .expect("concurrent pull");
                assert!(page.cursor >= cursor);
                cursor = page.cursor;
                seen.extend(page.entries);
                if finished && !page.more {
                    break;
                }
                if !page.more {
                    tokio::task::yield_now().await;
                }
            }
            seen
        })
    };

    let writers: Vec<_> = (0..WRITERS)
        .map(|t| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                for i in 0..PER_WRITER {
                    let id = format!("conc-{t}-{i}");
                    let w = RecordWrite {
                        bytes: id.clone().into_bytes(),
                        log: vec![id.clone().into_bytes()],
                        ..record(&id, None, r#"["c"]"#, &[], &[VC])
                    };
                    store
                        .commit(&format!("conc-dev-{t}"), &[w])
                        .await
                        .unwrap_or_else(|e| panic!("commit {id}: {e}"));
                }
            })
        })
        .collect();
    for w in writers {
        w.await.expect("writer task");
    }
    done.store(true, Ordering::SeqCst);
    let during = reader.await.expect("reader task");

    let total = WRITERS * PER_WRITER;
    let max = s_max(store).await;
    assert!(
        max >= base + total as u64,
        "max_seq {max} after {total} entries"
    );

    // One pull from 0, paged by `more`.
    let (all, cursor, _) = pull_all(&**store, &[VC], 0, "reader", BIG).await;
    assert_eq!(all.len(), total, "every concurrent entry, once");
    assert_increasing(&all);
    assert!(all[0].seq > base);
    assert_eq!(all[total - 1].seq, max, "the last entry is max_seq");
    assert_eq!(cursor, max);
    let mut ids = BTreeSet::new();
    for e in &all {
        assert_eq!(
            e.bytes,
            e.record_id.as_bytes(),
            "entry bytes belong to its record"
        );
        assert!(ids.insert(e.record_id.clone()), "{} twice", e.record_id);
    }
    // Each writer's records are in its own commit order.
    for t in 0..WRITERS {
        let mine: Vec<String> = all
            .iter()
            .filter(|e| e.record_id.starts_with(&format!("conc-{t}-")))
            .map(|e| e.record_id.clone())
            .collect();
        let want: Vec<String> = (0..PER_WRITER).map(|i| format!("conc-{t}-{i}")).collect();
        assert_eq!(mine, want);
    }
    let (small, _, _) = pull_all(&**store, &[VC], 0, "reader", 100).await;
    assert_eq!(
        small.iter().map(|e| e.seq).collect::<Vec<_>>(),
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        "small pages give the same entries"
    );
    let (not0, _, _) = pull_all(&**store, &[VC], 0, "conc-dev-0", BIG).await;
    assert_eq!(not0.len(), total - PER_WRITER);

    // A device that pulled while others pushed missed nothing and saw nothing twice:
    // log order is commit order.
    let seen: Vec<u64> = during.iter().map(|e| e.seq).collect();
    let want: Vec<u64> = all.iter().map(|e| e.seq).collect();
    let seen_set: BTreeSet<u64> = seen.iter().copied().collect();
    let missed: Vec<u64> = want
        .iter()
        .copied()
        .filter(|q| !seen_set.contains(q))
        .collect();
    assert!(
        missed.is_empty(),
        "a device pulling during concurrent pushes missed {} of {total} entries \
         (seqs {missed:?}): an entry was committed with a seq below a cursor already handed out",
        missed.len()
    );
    assert_eq!(seen, want, "a concurrent reader sees exactly the log, once");

    // Eight devices creating the same record at once: one wins, the rest conflict.
    let before = s_max(store).await;
    let racers: Vec<_> = (0..WRITERS)
        .map(|t| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                let entry = format!("hot {t}");
                let w = record("hot", None, &format!("[{t}]"), &[entry.as_str()], &[VC]);
                store.commit(&format!("racer-{t}"), &[w]).await
            })
        })
        .collect();
    let mut wins = 0;
    for r in racers {
        match r.await.expect("racer task") {
            Ok(()) => wins += 1,
            Err(StoreError::Conflict(id)) => assert_eq!(id, "hot"),
            Err(e) => panic!("racing creation: expected Ok or Conflict, got {e:?}"),
        }
    }
    assert_eq!(wins, 1, "exactly one creation of `hot` wins");
    let (hot, _, _) = pull_all(&**store, &[VC], before, "", BIG).await;
    assert_eq!(hot.len(), 1, "only the winner's entry is in the log");
    let doc = load_one(&**store, "hot").await.expect("hot stored");
    assert_eq!(
        format!("hot {}", &doc.heads[1..doc.heads.len() - 1]),
        label(&hot[0].bytes),
        "the stored document is the winner's"
    );

    // Eight devices redeeming one code at once: one device is registered.
    store
        .add_code("code-race", "p-town", NOW + 3600)
        .await
        .expect("add code");
    let racers: Vec<_> = (0..WRITERS)
        .map(|t| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                let d = device(&format!("d-race-{t}"), "racer", &format!("tok-race-{t}"));
                store.redeem_code("code-race", NOW, &d).await
            })
        })
        .collect();
    let mut wins = 0;
    for r in racers {
        match r.await.expect("racer task") {
            Ok(p) => {
                assert_eq!(p.id, "p-town");
                wins += 1;
            }
            Err(StoreError::CodeUsed) => {}
            Err(e) => panic!("racing redemption: expected Ok or CodeUsed, got {e:?}"),
        }
    }
    assert_eq!(wins, 1, "a code registers one device");
    let raced = device_ids(&**store)
        .await
        .into_iter()
        .filter(|d| d.starts_with("d-race-"))
        .count();
    assert_eq!(raced, 1);
}

async fn s_max(store: &Arc<dyn Store>) -> u64 {
    store.max_seq().await.expect("max_seq")
}
