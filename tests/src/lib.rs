//! Harness for the end-to-end suites: start the real `zhucun-server` on a loopback port
//! (SQLite file or a fresh PostgreSQL database), drive real `zhucun` clients in their own
//! data directories, and put a fault-injecting TCP proxy between them.
//!
//! The binaries are the workspace's own, built by `cargo test --workspace` next to this test
//! binary (`target/debug`).

pub mod proxy;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// A built binary of the workspace.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} is not built: run `cargo build --workspace` first",
        p.display()
    );
    p
}

/// Whether this run is CI (parts that are missing must fail, not skip).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A fresh PostgreSQL database on 127.0.0.1:5432, dropped when this is dropped.
pub struct PgDb {
    pub url: String,
    name: String,
}

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn pg_admin(sql: String) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let (client, conn) = tokio_postgres::connect(PG_ADMIN, tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        let h = tokio::spawn(conn);
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| e.to_string())?;
        drop(client);
        let _ = h.await;
        Ok(())
    })
}

impl PgDb {
    /// `None` when PostgreSQL is not reachable outside CI; in CI that panics.
    pub fn create() -> Option<PgDb> {
        let name = format!("zhucun_test_{:016x}", rand::random::<u64>());
        match pg_admin(format!("CREATE DATABASE {name}")) {
            Ok(()) => Some(PgDb {
                url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
                name,
            }),
            Err(e) if !in_ci() => {
                eprintln!(
                    "PostgreSQL not reachable ({e}): skipping the PostgreSQL half outside CI"
                );
                None
            }
            Err(e) => panic!("PostgreSQL is required in CI: {e}"),
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = pg_admin(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// The backends every suite runs on: SQLite always, PostgreSQL when reachable (always in CI).
pub enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(PgDb),
}

impl Backend {
    pub fn all() -> Vec<Backend> {
        let mut v = vec![Backend::Sqlite(tempfile::tempdir().expect("tempdir"))];
        if let Some(pg) = PgDb::create() {
            v.push(Backend::Postgres(pg));
        }
        v
    }

    pub fn url(&self) -> String {
        match self {
            Backend::Sqlite(d) => format!("sqlite://{}", d.path().join("server.db").display()),
            Backend::Postgres(p) => p.url.clone(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// Run `zhucun-server` with `args` against `db` and return its output.
pub fn server_cmd(db: &str, args: &[&str]) -> Output {
    Command::new(bin("zhucun-server"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("ZHUCUN_LOG", "warn")
        .output()
        .expect("run zhucun-server")
}

/// Seed the demo organisation; returns person id → enrolment code.
pub fn demo(db: &str) -> std::collections::HashMap<String, String> {
    let o = server_cmd(db, &["demo", "--json"]);
    assert!(
        o.status.success(),
        "demo: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).expect("demo json");
    v["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| {
            (
                c["person"].as_str().unwrap_or_default().to_string(),
                c["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Issue a fresh enrolment code for `person`.
pub fn issue_code(db: &str, person: &str) -> String {
    let o = server_cmd(db, &["admin", "issue-code", "--person", person]);
    assert!(
        o.status.success(),
        "issue-code: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The server's records as `zhucun export` prints them (`zhucun-server admin export`).
pub fn server_export(db: &str) -> String {
    let o = server_cmd(db, &["admin", "export"]);
    assert!(
        o.status.success(),
        "admin export: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8")
}

/// Copy the directory `from` into `to` (made if absent), files and folders below it: a
/// device's data directory or a blob directory, copied while nothing writes to it.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("make the copy's directory");
    for e in std::fs::read_dir(from).expect("read the directory to copy") {
        let e = e.expect("a directory entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("its type").is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).expect("copy a file");
        }
    }
}

/// A seed from `ZHUCUN_SEED`, else a random one; printed so a failure can be replayed.
pub fn seed(what: &str) -> u64 {
    let seed = std::env::var("ZHUCUN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("{what} seed = {seed} (replay with ZHUCUN_SEED={seed})");
    seed
}

/// A count from the environment variable `var`, else `default`.
pub fn env_count(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A running server process, stopped on drop.
pub struct Server {
    pub url: String,
    pub addr: String,
    child: Option<Child>,
    db: String,
    blobs: tempfile::TempDir,
    log: PathBuf,
    log_level: String,
    extra: Vec<String>,
    /// Times the process was started (restarts included).
    pub starts: u32,
}

impl Server {
    /// Start a server on `db` with attachments in a fresh directory of its own, logging at
    /// debug level.
    pub fn start(db: &str) -> Server {
        Server::start_with(db, "debug", &[])
    }

    /// Start a server on `db` logging at `log_level` (`ZHUCUN_LOG`), with `extra` arguments
    /// after `serve`.
    pub fn start_with(db: &str, log_level: &str, extra: &[&str]) -> Server {
        let mut s = Server::unstarted(db, log_level, extra);
        s.spawn();
        s
    }

    /// A server on `db` not started yet (see [`Server::spawn`]): its blob directory can be
    /// filled first, as a restore does.
    pub fn unstarted(db: &str, log_level: &str, extra: &[&str]) -> Server {
        let blobs = tempfile::tempdir().expect("blob dir");
        let log = blobs.path().join("server.log");
        Server {
            url: String::new(),
            addr: "127.0.0.1:0".into(),
            child: None,
            db: db.to_string(),
            blobs,
            log,
            log_level: log_level.to_string(),
            extra: extra.iter().map(|x| x.to_string()).collect(),
            starts: 0,
        }
    }

    /// Start the process (again, after [`Server::kill`]) on `self.addr` (port 0 at first);
    /// retried while the port is not free yet after a kill.
    pub fn spawn(&mut self) {
        let blob_dir = self.blobs.path().join("blobs");
        for attempt in 0..50 {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .expect("server log");
            let mut child = Command::new(bin("zhucun-server"))
                .args([
                    "--db",
                    &self.db,
                    "serve",
                    "--listen",
                    &self.addr,
                    "--blob-dir",
                ])
                .arg(&blob_dir)
                .args(&self.extra)
                .env("ZHUCUN_LOG", &self.log_level)
                .stdout(Stdio::piped())
                .stderr(log)
                .spawn()
                .expect("start zhucun-server");
            let out = child.stdout.take().expect("stdout");
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let Some(url) = line
                .trim()
                .rsplit(' ')
                .next()
                .filter(|u| u.starts_with("http://"))
            else {
                let _ = child.kill();
                let _ = child.wait();
                assert!(attempt < 49, "zhucun-server did not start: {}", self.logs());
                std::thread::sleep(std::time::Duration::from_millis(100));
                continue;
            };
            self.url = url.to_string();
            self.addr = url.trim_start_matches("http://").to_string();
            self.child = Some(child);
            self.starts += 1;
            return;
        }
    }

    /// Everything the server has logged so far (at debug level).
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The file the server logs to (stderr, all runs of this server appended).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The directory the server keeps attachments in.
    pub fn blob_dir(&self) -> PathBuf {
        self.blobs.path().join("blobs")
    }

    /// Stop the process (SIGKILL) and wait for it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGKILL the process and start it again on the same address, database and blobs.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `zhucun` client with its own data directory.
pub struct Client {
    pub dir: tempfile::TempDir,
    /// Extra environment for every `zhucun` run.
    pub env: Vec<(String, String)>,
}

pub const CLIENT_KEY: &str = "e2e-key";

impl Client {
    pub fn new() -> Client {
        Client {
            dir: tempfile::tempdir().expect("tempdir"),
            env: Vec::new(),
        }
    }

    /// Run `zhucun` with `args` and `stdin`.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write;
        let mut child = Command::new(bin("zhucun"))
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .env("ZHUCUN_KEY", CLIENT_KEY)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run zhucun");
        if let Some(mut si) = child.stdin.take() {
            if let Some(s) = stdin {
                let _ = si.write_all(s.as_bytes());
            }
        }
        child.wait_with_output().expect("zhucun output")
    }

    /// Run and require success; returns stdout.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let o = self.run(args, stdin);
        assert!(
            o.status.success(),
            "zhucun {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).expect("utf-8")
    }

    pub fn json(&self, args: &[&str], stdin: Option<&str>) -> Value {
        let out = self.ok(args, stdin);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    pub fn enroll(&self, url: &str, code: &str) -> Value {
        self.json(&["enroll", "--server", url, "--code", code, "--json"], None)
    }

    /// This device's token, read from its replica (for tests that speak HTTP as the device).
    pub fn token(&self) -> String {
        let key = zhucun_replica::Key::Passphrase(CLIENT_KEY.into());
        zhucun_replica::Replica::open(self.dir.path(), &key)
            .expect("open the client's replica")
            .server()
            .expect("read the server link")
            .expect("enrolled")
            .token
    }

    pub fn put(&self, kind: &str, record: &Value) -> String {
        self.ok(&["put", kind], Some(&record.to_string()))
            .trim()
            .to_string()
    }

    pub fn sync(&self) -> Value {
        self.json(&["sync", "--json"], None)
    }

    /// A sync that may fail (the server is down, the link is cut): its stats when it ran to
    /// the end.
    pub fn try_sync(&self) -> Option<Value> {
        let o = self.run(&["sync", "--json"], None);
        if !o.status.success() {
            return None;
        }
        serde_json::from_slice(&o.stdout).ok()
    }

    pub fn export(&self) -> String {
        self.ok(&["export"], None)
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}
