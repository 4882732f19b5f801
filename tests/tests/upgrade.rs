//! Upgrades: data written by an earlier version, committed under `tests/fixtures/upgrade/`,
//! opened by this one. For each backend a fixture holds a server's database (an SQLite file;
//! a plain `pg_dump` for PostgreSQL), its attachments, a village device's data directory
//! (enrolled, synced, a photo attached) and both exports as that version printed them. The
//! test migrates the database with today's code and checks that every record reads as it did,
//! that the device's token and sync cursor still work, that its office login still logs in,
//! and that a device enrolled now gets everything. Fixtures are never rewritten: a new one is
//! added beside them (`write_upgrade_fixture`, ignored) when the stored form changes.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use zhucun_e2e::{copy_dir, demo, issue_code, server_cmd, server_export, Backend, Client, Server};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/upgrade")
}

fn run(cmd: &mut Command) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Log in to the dashboard as `user` with the demo password; the status of the answer.
fn login(base: &str, user: &str) -> u16 {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            reqwest::Client::new()
                .post(format!("{base}/api/login"))
                .json(&json!({"user": user, "password": "zhucun-demo"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
}

/// Every value the earlier version printed is printed the same now (`what` says where): a later
/// version may add fields with their defaults, never change or drop one. Records pair by id.
fn keeps(old: &Value, new: &Value, what: &str) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, v) in o {
                let there = n
                    .get(k)
                    .unwrap_or_else(|| panic!("{what}.{k} is gone: {new}"));
                keeps(v, there, &format!("{what}.{k}"));
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            assert_eq!(o.len(), n.len(), "{what}: {old} became {new}");
            for (i, v) in o.iter().enumerate() {
                let there = match v.get("id") {
                    Some(id) => n
                        .iter()
                        .find(|x| x.get("id") == Some(id))
                        .unwrap_or_else(|| panic!("{what}: record {id} is gone")),
                    None => &n[i],
                };
                keeps(v, there, &format!("{what}[{i}]"));
            }
        }
        _ => assert_eq!(old, new, "{what}"),
    }
}

fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

/// Every migration a fixture's version had is still there, byte for byte: migrations are
/// appended, never edited (a database migrated by an edited one would differ from a new one).
#[test]
fn migrations_are_append_only() {
    let list = std::fs::read_to_string(fixtures().join("migrations.sha256")).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for line in list.lines().filter(|l| !l.trim().is_empty()) {
        let (hash, file) = line.split_once("  ").expect("`hash  path` lines");
        let bytes = std::fs::read(root.join(file))
            .unwrap_or_else(|e| panic!("{file}, a migration released before, is gone: {e}"));
        use sha2::Digest;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&bytes)),
            hash,
            "{file} was released and must not change: add a new migration instead"
        );
    }
}

#[test]
fn data_of_earlier_versions_opens_and_syncs() {
    let mut seen = 0;
    for version in std::fs::read_dir(fixtures()).unwrap() {
        let version = version.unwrap().path();
        if !version.is_dir() {
            continue;
        }
        for b in Backend::all() {
            let fx = version.join(b.name());
            if !fx.is_dir() {
                continue;
            }
            seen += 1;
            let what = format!("{} {}", version.display(), b.name());
            let db = b.url();
            match &b {
                Backend::Sqlite(_) => {
                    std::fs::copy(fx.join("server.db"), db.trim_start_matches("sqlite://"))
                        .unwrap();
                }
                Backend::Postgres(_) => run(Command::new("psql")
                    .args(["-q", "-v", "ON_ERROR_STOP=1", "--dbname", &db, "--file"])
                    .arg(fx.join("server.sql"))),
            }
            // Migrated as the server opens it; the stored data keeps its rules.
            let check = server_cmd(&db, &["admin", "check"]);
            assert!(
                check.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&check.stdout)
            );
            let expected = |f: &str| parse(&std::fs::read_to_string(fx.join(f)).unwrap());
            // Every record reads as it did.
            keeps(
                &expected("server-export.json"),
                &parse(&server_export(&db)),
                &format!("{what}: server"),
            );
            let mut server = Server::unstarted(&db, "debug", &[]);
            copy_dir(&fx.join("blobs"), &server.blob_dir());
            server.spawn();

            // The device of that version: its token is taken, its cursor is the server's.
            let device = Client::new();
            copy_dir(&fx.join("device"), device.dir.path());
            keeps(
                &expected("device-export.json"),
                &parse(&device.export()),
                &format!("{what}: device"),
            );
            device.ok(&["set-server", &server.url], None);
            let s = device.sync();
            assert_eq!(s["server_restored"], false, "{what}: the cursor holds: {s}");
            assert_eq!(
                (s["pulled"].as_u64(), s["rejected"].as_u64()),
                (Some(0), Some(0))
            );
            let id = device.put(
                "activity",
                &json!({"activity_kind": "party_lecture", "date": "2026-12-07",
                    "topic": "升级以后", "lecturer": "李明"}),
            );
            let s = device.sync();
            assert_eq!(
                (s["pushed"].as_u64(), s["rejected"].as_u64()),
                (Some(1), Some(0))
            );
            assert!(server_export(&db).contains(&id), "{what}");
            assert_eq!(
                login(&server.url, "wang-qiang"),
                200,
                "{what}: office login"
            );

            // A device enrolled now gets every record and the photo.
            let fresh = Client::new();
            fresh.enroll(&server.url, &issue_code(&db, "li-ming"));
            fresh.sync();
            assert_eq!(fresh.export(), device.export(), "{what}");
            let photo = std::fs::read_to_string(fx.join("photo.sha256")).unwrap();
            fresh.ok(&["blob", "fetch", photo.trim()], None);
        }
    }
    assert!(
        seen > 0,
        "no upgrade fixture under {}",
        fixtures().display()
    );
}

/// Write a fixture of this version for each backend into `tests/fixtures/upgrade/NAME`
/// (`ZHUCUN_FIXTURE=NAME`, e.g. the date): run when the stored form changes, and commit it
/// beside the earlier ones, with the migrations it knows appended to `migrations.sha256`.
#[test]
#[ignore]
fn write_upgrade_fixture() {
    let name = std::env::var("ZHUCUN_FIXTURE").expect("ZHUCUN_FIXTURE=NAME");
    for b in Backend::all() {
        let fx = fixtures().join(&name).join(b.name());
        assert!(
            !fx.exists(),
            "{} exists: fixtures are never rewritten",
            fx.display()
        );
        std::fs::create_dir_all(&fx).unwrap();
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let (a, town) = (Client::new(), Client::new());
        a.enroll(&server.url, &codes["li-ming"]);
        town.enroll(&server.url, &codes["wang-qiang"]);
        for (i, kind) in ["party_lecture", "branch_committee_meeting"]
            .iter()
            .enumerate()
        {
            a.put(
                "activity",
                &json!({"activity_kind": kind, "date": format!("2026-11-0{}", i + 2),
                    "topic": format!("升级前{i}"), "lecturer": "李明"}),
            );
        }
        let file = a.dir.path().join("合影.jpg");
        std::fs::write(
            &file,
            (0..20_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
        )
        .unwrap();
        let hash = a
            .ok(&["blob", "add", file.to_str().unwrap()], None)
            .trim()
            .to_string();
        std::fs::remove_file(&file).unwrap();
        a.put(
            "activity",
            &json!({"activity_kind": "theme_party_day", "date": "2026-11-05", "topic": "合影",
                "attachments": [{"hash": hash, "name": "合影.jpg", "mime": "image/jpeg",
                    "size": 20_000}]}),
        );
        a.sync();
        town.sync();
        a.sync();
        std::fs::write(fx.join("photo.sha256"), format!("{hash}\n")).unwrap();
        std::fs::write(fx.join("server-export.json"), server_export(&db)).unwrap();
        std::fs::write(fx.join("device-export.json"), a.export()).unwrap();
        copy_dir(a.dir.path(), &fx.join("device"));
        // The attachments as `admin backup` copies them, beside the database.
        let blob_dir = server.blob_dir();
        let (file, mut args) = match &b {
            Backend::Sqlite(_) => (fx.join("server.db"), vec![]),
            Backend::Postgres(_) => {
                run(Command::new("pg_dump")
                    .args(["--format=plain", "--no-owner", "--no-privileges", "--file"])
                    .arg(fx.join("server.sql"))
                    .arg(&db));
                (fx.join("server.sql"), vec!["--attachments-only"])
            }
        };
        let (file_s, blob_s) = (file.to_str().unwrap(), blob_dir.to_str().unwrap());
        args.extend(["--blob-dir", blob_s]);
        let o = server_cmd(&db, &[&["admin", "backup", file_s][..], &args].concat());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::rename(
            fx.join(format!(
                "{}.blobs",
                file.file_name().unwrap().to_str().unwrap()
            )),
            fx.join("blobs"),
        )
        .unwrap();
    }
}
