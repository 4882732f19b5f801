//! The processes the benchmark drives: the real `zhucun-server` (release build, next to this
//! binary), the benchmark's own baseline peer (`linkbench peer`), and what `/proc` says about
//! them (CPU time, peak RSS).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// A binary next to this one (`target/release`).
pub fn sibling(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    let p = exe.parent().expect("bin dir").join(name);
    assert!(
        p.exists(),
        "{} is not built: run `cargo build --release -p zhucun-server -p zhucun-cli -p zhucun-e2e`",
        p.display()
    );
    p
}

/// A child process serving HTTP on loopback, killed on drop.
pub struct Proc {
    pub url: String,
    pub addr: String,
    child: Child,
    _dir: Option<tempfile::TempDir>,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU seconds the process has used.
    pub fn cpu_secs(&self) -> f64 {
        cpu_secs(self.pid())
    }

    /// Peak resident set (VmHWM) in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    }

    /// Stop with SIGTERM (a graceful shutdown: SQLite checkpoints and closes) and wait.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clk_tck() -> f64 {
    static T: OnceLock<f64> = OnceLock::new();
    *T.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

pub fn cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at state (field 3).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime is field 14, stime 15; `f[0]` is field 3.
    (ticks(11) + ticks(12)) / clk_tck()
}

fn read_banner(child: &mut Child) -> String {
    let out = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .expect("banner line");
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(url.starts_with("http://"), "unexpected banner: {line}");
    url
}

/// Start `zhucun-server` on `db` (release build), logging warnings only.
pub fn server(db: &str) -> Proc {
    let dir = tempfile::tempdir().expect("blob dir");
    let mut child = Command::new(sibling("zhucun-server"))
        .args(["--db", db, "serve", "--listen", "127.0.0.1:0", "--blob-dir"])
        .arg(dir.path())
        .env("ZHUCUN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start zhucun-server");
    let url = read_banner(&mut child);
    Proc {
        addr: url.trim_start_matches("http://").to_string(),
        url,
        child,
        _dir: Some(dir),
    }
}

/// Start the baseline peer (this binary, `peer` mode).
pub fn peer() -> Proc {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .args(["peer", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the baseline peer");
    let url = read_banner(&mut child);
    Proc {
        addr: url.trim_start_matches("http://").to_string(),
        url,
        child,
        _dir: None,
    }
}

/// Run `zhucun-server --db DB ARGS` and return its standard output.
pub fn server_cmd(db: &str, args: &[&str]) -> String {
    let o = Command::new(sibling("zhucun-server"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("ZHUCUN_LOG", "warn")
        .output()
        .expect("run zhucun-server");
    assert!(
        o.status.success(),
        "zhucun-server {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8")
}

/// Seed the demo organisation (李明 `li-ming` is the secretary of 东风村).
pub fn demo(db: &str) {
    server_cmd(db, &["demo", "--json"]);
}

/// A fresh enrolment code for `person`, from the admin CLI.
pub fn issue_code(db: &str, person: &str) -> String {
    server_cmd(db, &["admin", "issue-code", "--person", person])
        .trim()
        .to_string()
}

/// Copy an SQLite database (the server stopped) to `to`.
pub fn copy_sqlite(from: &Path, to: &Path) {
    std::fs::copy(from, to).expect("copy database");
    for ext in ["-wal", "-shm"] {
        let f = PathBuf::from(format!("{}{ext}", from.display()));
        if f.exists() {
            std::fs::copy(&f, format!("{}{ext}", to.display())).expect("copy database wal");
        }
    }
}
