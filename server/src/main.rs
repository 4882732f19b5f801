//! `zhucun-server`: serve, administer, seed the demo organisation.
//!
//! Settings are layered: built-in defaults, then a TOML file (`--config` or
//! `ZHUCUN_SERVER_CONFIG`), then environment variables, then flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use clap::{Parser, Subcommand};
use serde::Deserialize;
use zhucun_server::{admin, http as api, store};

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_DB: &str = "sqlite://zhucun-server.db";
const DEFAULT_MAX_BLOB: u64 = 64 * 1024 * 1024;

/// An example settings file; `zhucun-server example-config` prints it.
const EXAMPLE_CONFIG: &str = r#"# zhucun-server settings. Environment variables and flags override these.
listen = "127.0.0.1:8080"          # ZHUCUN_LISTEN
db = "sqlite://zhucun-server.db"   # ZHUCUN_DB; or postgres://user@host/dbname
blob_dir = "blobs"                 # ZHUCUN_BLOB_DIR
dashboard_dir = "ui/dist-dashboard" # ZHUCUN_DASHBOARD_DIR; the built office dashboard, served at /
secure_cookies = false             # ZHUCUN_SECURE_COOKIES; true behind HTTPS (also set per request by X-Forwarded-Proto: https)
max_body = 16777216                # ZHUCUN_MAX_BODY: largest request body in bytes
max_blob = 67108864                # ZHUCUN_MAX_BLOB: largest attachment in bytes; a larger one is refused
                                   # (413 too_large) and its record waits on the device, which says so
# Failed token or enrolment-code attempts one client address may make per minute before it is
# answered 429 (ZHUCUN_MAX_AUTH_FAILURES).
max_auth_failures = 10
# Reverse proxies whose X-Forwarded-For names the client (ZHUCUN_TRUST_PROXY, comma-separated).
# Behind a proxy not listed here every client shares the proxy's address and its limit.
trust_proxy = []
"#;

#[derive(Parser)]
#[command(name = "zhucun-server", version, about = "驻村 zhucun sync server")]
struct Cli {
    /// Settings file (TOML).
    #[arg(long, global = true, env = "ZHUCUN_SERVER_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH (default) or postgres://...
    #[arg(long, global = true, env = "ZHUCUN_DB")]
    db: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server.
    Serve {
        /// Address to listen on (port 0 picks a free port; the address is printed).
        #[arg(long, env = "ZHUCUN_LISTEN")]
        listen: Option<String>,
        #[arg(long, env = "ZHUCUN_MAX_BODY")]
        max_body: Option<usize>,
        #[arg(long, env = "ZHUCUN_BLOB_DIR")]
        blob_dir: Option<PathBuf>,
        /// Largest attachment in bytes (default 64 MiB).
        #[arg(long, env = "ZHUCUN_MAX_BLOB")]
        max_blob: Option<u64>,
        /// The built office dashboard (default ui/dist-dashboard when it exists).
        #[arg(long, env = "ZHUCUN_DASHBOARD_DIR")]
        dashboard_dir: Option<PathBuf>,
        /// Mark the dashboard's session cookie Secure on every response.
        #[arg(long, env = "ZHUCUN_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Failed token or enrolment-code attempts per client address and minute before 429.
        #[arg(long, env = "ZHUCUN_MAX_AUTH_FAILURES")]
        max_auth_failures: Option<u32>,
        /// A reverse proxy whose X-Forwarded-For header names the client (repeat, or commas).
        #[arg(long, env = "ZHUCUN_TRUST_PROXY", value_delimiter = ',')]
        trust_proxy: Vec<std::net::IpAddr>,
    },
    /// Seed the demo organisation into an empty database and print its codes.
    Demo {
        #[arg(long)]
        json: bool,
    },
    /// Administration: organisation, people, enrolment codes, devices.
    Admin {
        #[command(subcommand)]
        cmd: AdminCmd,
    },
    /// Print an example settings file.
    ExampleConfig,
    /// Print the OpenAPI document the server serves at /api/openapi.json.
    Openapi,
}

#[derive(Subcommand)]
enum AdminCmd {
    /// Create or update the database schema.
    Init,
    /// Add an organisation unit.
    AddUnit {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// city, township, street, village, community or school
        #[arg(long)]
        kind: String,
        #[arg(long)]
        parent: Option<String>,
    },
    /// List organisation units.
    Units,
    /// Add a person.
    AddPerson {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// first_secretary, instructor, township_officer, city_officer or admin
        #[arg(long)]
        role: String,
        /// Unit(s) the person covers (repeat).
        #[arg(long = "unit", required = true)]
        units: Vec<String>,
        /// Office login password (read from ZHUCUN_PASSWORD so it stays out of shell history).
        #[arg(long, env = "ZHUCUN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Issue a one-time enrolment code for a person.
    IssueCode {
        #[arg(long)]
        person: String,
        /// Hours the code stays valid.
        #[arg(long, default_value_t = 72)]
        hours: u32,
    },
    /// List devices.
    Devices {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a device: its next sync is refused.
    Revoke { device: String },
    /// Print every record as canonical JSON (the same form as `zhucun export`).
    Export,
    /// Check the stored data (SQLite's integrity_check, then the rules every commit keeps):
    /// prints `ok`, or each problem and exits non-zero.
    Check,
    /// Copy the data while the server serves: the SQLite database into FILE (one consistent
    /// snapshot) and the attachments into FILE.blobs beside it. For PostgreSQL, pg_dump the
    /// database first, then copy the attachments with --attachments-only (README).
    Backup {
        file: PathBuf,
        /// The attachment directory (default: as `serve` finds it).
        #[arg(long, env = "ZHUCUN_BLOB_DIR")]
        blob_dir: Option<PathBuf>,
        /// Copy only the attachments (beside a pg_dump of a PostgreSQL database).
        #[arg(long)]
        attachments_only: bool,
    },
    /// Put a backup back into an empty data directory: FILE as the SQLite database named by
    /// --db (which must not exist) and FILE.blobs into the attachment directory (empty or
    /// absent). For PostgreSQL, pg_restore the database, then --attachments-only.
    Restore {
        file: PathBuf,
        /// The attachment directory (default: as `serve` finds it).
        #[arg(long, env = "ZHUCUN_BLOB_DIR")]
        blob_dir: Option<PathBuf>,
        /// Put back only the attachments.
        #[arg(long)]
        attachments_only: bool,
    },
    /// Remove the attachments no record refers to that are older than the grace period
    /// (14 days; the serving process also does this every 6 hours). Prints what it removed.
    CollectBlobs {
        /// The attachment directory (default: as `serve` finds it).
        #[arg(long, env = "ZHUCUN_BLOB_DIR")]
        blob_dir: Option<PathBuf>,
        /// Days an attachment no record names is kept (at least 1).
        #[arg(long, default_value_t = 14)]
        older_than_days: u64,
    },
}

/// The attachment directory: the one given (command line, else settings), else one beside
/// an SQLite database, else ./blobs.
fn blob_dir_of(given: Option<PathBuf>, db: &str) -> PathBuf {
    given.unwrap_or_else(|| match db.strip_prefix("sqlite://") {
        Some(p) => PathBuf::from(format!("{p}.blobs")),
        None => PathBuf::from("blobs"),
    })
}

/// How often the serving process collects attachments no record refers to.
const COLLECT_EVERY: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    db: Option<String>,
    blob_dir: Option<PathBuf>,
    max_body: Option<usize>,
    max_blob: Option<u64>,
    dashboard_dir: Option<PathBuf>,
    secure_cookies: Option<bool>,
    max_auth_failures: Option<u32>,
    trust_proxy: Option<Vec<std::net::IpAddr>>,
}

fn file_settings(path: &Option<PathBuf>) -> Result<FileSettings> {
    match path {
        None => Ok(FileSettings::default()),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("settings file {}", p.display()))
        }
    }
}

use zhucun_server::identity::now;

async fn open_store(url: &str) -> Result<std::sync::Arc<dyn store::Store>> {
    let s = zhucun_server::open_store(url).await?;
    s.migrate().await?;
    Ok(s)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn run(cli: Cli) -> Result<()> {
    let file = file_settings(&cli.config)?;
    let db = cli.db.or(file.db).unwrap_or_else(|| DEFAULT_DB.to_string());
    match cli.cmd {
        Cmd::ExampleConfig => {
            print!("{EXAMPLE_CONFIG}");
            Ok(())
        }
        Cmd::Openapi => {
            println!("{}", api::openapi_json());
            Ok(())
        }
        Cmd::Serve {
            listen,
            max_body,
            blob_dir,
            max_blob,
            dashboard_dir,
            secure_cookies,
            max_auth_failures,
            trust_proxy,
        } => {
            let listen = listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
            let addr: SocketAddr = listen
                .parse()
                .map_err(|_| anyhow!("listen address `{listen}` is not HOST:PORT"))?;
            let blob_dir = blob_dir_of(blob_dir.or(file.blob_dir), &db);
            let max_blob = max_blob.or(file.max_blob).unwrap_or(DEFAULT_MAX_BLOB);
            if max_blob == 0 {
                return Err(anyhow!("max_blob must be at least 1 byte"));
            }
            let blobs = zhucun_server::blobs::BlobDir::new(&blob_dir, max_blob)
                .with_context(|| format!("blob directory {}", blob_dir.display()))?;
            let limits = api::Limits {
                max_body: max_body
                    .or(file.max_body)
                    .unwrap_or(zhucun_protocol::DEFAULT_MAX_BODY),
                ..Default::default()
            };
            let store = open_store(&db).await?;
            store.claim_server().await?;
            let dashboard_dir = dashboard_dir
                .or(file.dashboard_dir)
                .or_else(|| Some(PathBuf::from("ui/dist-dashboard")))
                .filter(|d| d.join("index.html").is_file());
            match &dashboard_dir {
                Some(d) => tracing::info!(dir = %d.display(), "serving the office dashboard"),
                None => tracing::warn!(
                    "no built dashboard (ui/dist-dashboard/index.html): serving the API only"
                ),
            }
            let web = zhucun_server::http::WebConfig {
                dashboard_dir,
                secure_cookies: secure_cookies || file.secure_cookies.unwrap_or(false),
            };
            let mut rate = zhucun_server::http::ratelimit::RateLimits::default();
            if let Some(n) = max_auth_failures.or(file.max_auth_failures) {
                rate.max_failures = n;
            }
            rate.trusted_proxies = if trust_proxy.is_empty() {
                file.trust_proxy.unwrap_or_default()
            } else {
                trust_proxy
            };
            let state = api::AppState::build(store, limits, Some(blobs), web, rate);
            if let Some(dir) = state.blobs.clone() {
                let store = state.store.clone();
                tokio::spawn(async move {
                    let mut every = tokio::time::interval(COLLECT_EVERY);
                    loop {
                        every.tick().await;
                        let grace = zhucun_server::blobs::BLOB_GRACE;
                        match admin::collect_blobs(store.as_ref(), dir.clone(), grace).await {
                            Ok(c) if c.blobs > 0 => tracing::info!(
                                blobs = c.blobs,
                                bytes = c.bytes,
                                "collected attachments no record refers to"
                            ),
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "collecting attachments"),
                        }
                    }
                });
            }
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr}"))?;
            let local = listener.local_addr()?;
            // Tests and scripts read this line to find the port.
            println!("zhucun-server listening on http://{local}");
            tracing::info!(%local, backend = db.split(':').next().unwrap_or(""), "serving");
            // With each connection's peer address: the guessing limits are per client.
            let app = api::router(state).into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown_signal())
                .await?;
            tracing::info!("stopped");
            Ok(())
        }
        Cmd::Demo { json } => {
            let store = open_store(&db).await?;
            let seed = admin::demo(store.as_ref(), now()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&seed)?);
            } else {
                println!("Demo organisation 示范市 seeded. Enrolment codes (valid 30 days):");
                for c in &seed.codes {
                    println!(
                        "  {}  {} {} ({}) scope {}",
                        c.code,
                        c.person,
                        c.name,
                        c.role,
                        c.scope.join(",")
                    );
                }
                println!(
                    "Office logins (password {}): {}",
                    admin::DEMO_PASSWORD,
                    seed.logins
                        .iter()
                        .map(|l| l.user.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(())
        }
        Cmd::Admin {
            cmd:
                AdminCmd::Restore {
                    file: from,
                    blob_dir,
                    attachments_only,
                },
        } => {
            // Before anything opens the database: a restore writes only into a new one.
            let dir = blob_dir_of(blob_dir.or(file.blob_dir), &db);
            let sqlite = db.strip_prefix("sqlite://").map(PathBuf::from);
            if sqlite.is_none() && !attachments_only {
                return Err(anyhow!(
                    "a PostgreSQL database is restored with pg_restore (README); \
                     then put the attachments back with --attachments-only"
                ));
            }
            let w =
                zhucun_server::backup::restore(&from, sqlite.as_deref(), &dir, attachments_only)?;
            if let Some(p) = &sqlite {
                // Migrated now, so the check below reads the schema this version serves.
                let store = open_store(&db).await?;
                let problems = store.check().await?;
                if !problems.is_empty() {
                    return Err(anyhow!(
                        "restored {}, but it fails its check: {}",
                        p.display(),
                        problems.join("; ")
                    ));
                }
            }
            print_written(&w, &dir)
        }
        Cmd::Admin { cmd } => {
            let store = open_store(&db).await?;
            let s = store.as_ref();
            match cmd {
                AdminCmd::Init => println!("database ready"),
                AdminCmd::AddUnit {
                    id,
                    name,
                    kind,
                    parent,
                } => {
                    admin::add_unit(s, &id, &name, &kind, parent.as_deref()).await?;
                    println!("{id}");
                }
                AdminCmd::CollectBlobs {
                    blob_dir,
                    older_than_days,
                } => {
                    if older_than_days == 0 {
                        return Err(anyhow!("--older-than-days must be at least 1"));
                    }
                    let dir = blob_dir_of(blob_dir.or(file.blob_dir), &db);
                    let blobs = zhucun_server::blobs::BlobDir::new(&dir, DEFAULT_MAX_BLOB)
                        .with_context(|| format!("blob directory {}", dir.display()))?;
                    let age = std::time::Duration::from_secs(older_than_days * 24 * 3600);
                    let c = admin::collect_blobs(s, std::sync::Arc::new(blobs), age).await?;
                    println!("removed {} attachments, {} bytes", c.blobs, c.bytes);
                }
                AdminCmd::Backup {
                    file: out,
                    blob_dir,
                    attachments_only,
                } => {
                    let dir = blob_dir_of(blob_dir.or(file.blob_dir), &db);
                    let blobs = zhucun_server::blobs::BlobDir::new(&dir, DEFAULT_MAX_BLOB)
                        .with_context(|| format!("blob directory {}", dir.display()))?;
                    let w =
                        zhucun_server::backup::backup(s, &blobs, &out, attachments_only).await?;
                    print_written(&w, &zhucun_server::backup::blobs_beside(&out))?;
                }
                AdminCmd::Restore { .. } => {
                    return Err(anyhow!("restore is answered before the database is opened"))
                }
                AdminCmd::Units => {
                    for u in s.units().await? {
                        println!("{}  {}  {}  {}", u.path, u.id, u.kind, u.name);
                    }
                }
                AdminCmd::AddPerson {
                    id,
                    name,
                    role,
                    units,
                    password,
                } => {
                    admin::add_person(s, &id, &name, &role, &units, password.as_deref()).await?;
                    println!("{id}");
                }
                AdminCmd::IssueCode { person, hours } => {
                    println!("{}", admin::issue_code(s, &person, hours, now()).await?);
                }
                AdminCmd::Devices { json } => {
                    let d = s.devices().await?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&d)?);
                    } else {
                        for x in d {
                            println!(
                                "{}  {}  {}{}",
                                x.id,
                                x.person_id,
                                x.name,
                                if x.revoked_at.is_some() {
                                    "  revoked"
                                } else {
                                    ""
                                }
                            );
                        }
                    }
                }
                AdminCmd::Export => {
                    let ids = s.doc_ids().await?;
                    let stdout = std::io::stdout();
                    let mut out = std::io::BufWriter::new(stdout.lock());
                    let mut w = zhucun_model::ExportWriter::begin(&mut out)?;
                    for chunk in ids.chunks(200) {
                        let mut docs = s.load_docs(chunk).await?;
                        docs.sort_by(|a, b| a.id.cmp(&b.id));
                        for d in docs {
                            let doc =
                                zhucun_model::RecordDoc::load(&d.bytes, zhucun_model::new_actor())?;
                            w.record(&doc.to_json())?;
                        }
                    }
                    w.end()?;
                    std::io::Write::flush(&mut out)?;
                }
                AdminCmd::Check => {
                    let problems = s.check().await?;
                    if !problems.is_empty() {
                        return Err(anyhow!(
                            "the database fails its check: {}",
                            problems.join("; ")
                        ));
                    }
                    println!("ok");
                }
                AdminCmd::Revoke { device } => {
                    if !s.revoke_device(&device, now()).await? {
                        return Err(anyhow!("no active device `{device}`"));
                    }
                    println!("revoked {device}");
                }
            }
            Ok(())
        }
    }
}

/// What a backup or restore wrote, in a line each; damaged attachments make it fail.
fn print_written(w: &zhucun_server::backup::Written, blobs: &std::path::Path) -> Result<()> {
    if w.database_bytes > 0 {
        println!("database: {} bytes", w.database_bytes);
    }
    println!(
        "attachments: {} ({} bytes) in {}",
        w.attachments.blobs,
        w.attachments.bytes,
        blobs.display()
    );
    if !w.attachments.damaged.is_empty() {
        return Err(anyhow!(
            "{} attachments no longer match their hash and were left out: {}",
            w.attachments.damaged.len(),
            w.attachments.damaged.join(", ")
        ));
    }
    Ok(())
}

/// The log filter: `ZHUCUN_LOG` (default `info`), except that the database driver never logs
/// below `warn`, whatever is asked: at debug it prints query parameters, and those hold
/// people's names and ID numbers.
fn log_filter() -> tracing_subscriber::EnvFilter {
    let asked = std::env::var("ZHUCUN_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::EnvFilter::try_new(format!("{asked},tokio_postgres=warn"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tokio_postgres=warn"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(log_filter())
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zhucun-server: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zhucun-server: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
