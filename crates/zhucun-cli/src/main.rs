//! `zhucun`: the headless client. Everything the field app does with records, from a shell:
//! scripts, office laptops, tests. It is a thin layer over `zhucun-replica`; arguments are
//! checked here, once, and every error reaches the user as one line on stderr.

mod table;
mod walkthrough;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};
use zhucun_model::Kind;
use zhucun_replica::{Filter, Key, ListRow, Replica};

#[derive(Parser)]
#[command(
    name = "zhucun",
    version,
    about = "驻村 zhucun: village records, offline first"
)]
struct Cli {
    /// Directory holding the replica (created if absent).
    #[arg(long, global = true, env = "ZHUCUN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Set who uses this device and the villages it covers (enrolment does this later).
    Init {
        #[arg(long)]
        person: String,
        #[arg(long, default_value = "first_secretary")]
        role: String,
        /// A village code in this device's scope (repeat for several).
        #[arg(long = "village")]
        villages: Vec<String>,
    },
    /// Show this device's actor id, person, role and scope.
    Whoami {
        #[arg(long)]
        json: bool,
    },
    /// Create or edit a record: reads one JSON object on stdin (with "id" to edit).
    Put {
        kind: KindArg,
        #[arg(long)]
        json: bool,
        /// Read one JSON object per line and save each as it arrives, printing its id once
        /// it is committed (for scripts feeding many records).
        #[arg(long)]
        lines: bool,
    },
    /// Show one record.
    Get {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// List records, newest first.
    List {
        kind: Option<KindArg>,
        #[arg(long)]
        village: Option<String>,
        /// From this date (YYYY-MM-DD), inclusive.
        #[arg(long)]
        from: Option<String>,
        /// To this date (YYYY-MM-DD), inclusive.
        #[arg(long)]
        to: Option<String>,
        /// A month (YYYY-MM): shorthand for --from and --to.
        #[arg(long)]
        month: Option<String>,
        /// Activity kind, project kind, member category...
        #[arg(long)]
        sub_kind: Option<String>,
        /// Member stage, task, report or project state.
        #[arg(long)]
        status: Option<String>,
        /// Only records whose latest change the server has not acknowledged.
        #[arg(long)]
        unsynced: bool,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long, default_value_t = 0)]
        offset: u32,
        #[arg(long)]
        json: bool,
    },
    /// Full-text search (finds two-character Chinese words such as 党课).
    Search {
        text: String,
        #[arg(long)]
        kind: Option<KindArg>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Who changed which fields of a record, and when (by the author's device clock).
    History {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Print the whole replica as canonical JSON.
    Export,
    /// Raw Automerge documents, one record at a time.
    Doc {
        #[command(subcommand)]
        cmd: DocCmd,
    },
    /// Attachments (photos, scans).
    Blob {
        #[command(subcommand)]
        cmd: BlobCmd,
    },
    /// A kind of record as a spreadsheet (CSV or XLSX).
    Table {
        #[command(subcommand)]
        cmd: TableCmd,
    },
    /// The figures of a village's monthly report, computed from its records.
    Figures {
        /// YYYY-MM
        #[arg(long)]
        month: String,
        #[arg(long)]
        village: Option<String>,
    },
    /// The party-life calendar (三会一课, theme party day, organisational life meeting,
    /// democratic appraisal): what is held and what is due in each meeting's period, as JSON.
    Calendar {
        /// The day to judge (YYYY-MM-DD); today by this device's clock if not given.
        #[arg(long)]
        on: Option<String>,
        #[arg(long)]
        village: Option<String>,
    },
    /// What to remind of today, from this device's records alone (tasks due or overdue,
    /// meetings of the party-life calendar still due, probation years ending, 政治生日), as JSON.
    Reminders {
        /// The day to judge (YYYY-MM-DD); today by this device's clock if not given.
        #[arg(long)]
        on: Option<String>,
    },
    /// A member's next step in the development pipeline, by the Party's rules: where it
    /// leads, its earliest and latest day, what it still lacks (as JSON; `null`: none).
    NextStep { id: String },
    /// List the record kinds and their fields.
    Kinds {
        #[arg(long)]
        json: bool,
    },
    /// Check the replica file (PRAGMA integrity_check).
    Check,
    /// Enrol this device with the server, using a one-time code from the township.
    Enroll {
        /// The server, e.g. http://192.168.1.10:8080
        #[arg(long, env = "ZHUCUN_SERVER")]
        server: String,
        #[arg(long)]
        code: String,
        /// A name for this device in the office's device list.
        #[arg(long, default_value = "zhucun CLI")]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Exchange changes with the server until nothing is left.
    Sync {
        #[arg(long)]
        json: bool,
    },
    /// Point this enrolled device at another address of its server (the token stays).
    SetServer { url: String },
    /// Records the server refused, with its reasons.
    Rejected {
        #[arg(long)]
        json: bool,
    },
    /// Keep the words of a refused edit: the record goes back to what the server holds and
    /// the refused words become notes on it (a report's 补充说明, a task's progress notes).
    KeepWords { id: String },
    /// A guided tour on a demo replica: creates records, searches, shows history.
    Walkthrough,
}

#[derive(Subcommand)]
enum DocCmd {
    /// Write a record's Automerge bytes to stdout (or --output).
    Export {
        id: String,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Merge a record's Automerge bytes from a file (or - for stdin).
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum BlobCmd {
    /// Store a file; prints its hash for a record's attachments.
    Add {
        file: PathBuf,
        #[arg(long, default_value = "application/octet-stream")]
        mime: String,
    },
    /// Download an attachment from the server (resumes a cut download).
    Fetch { hash: String },
    /// Write a stored attachment to --output (or stdout).
    Get {
        hash: String,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Xlsx,
}

#[derive(Subcommand)]
enum TableCmd {
    /// Write every record of a kind as a spreadsheet with Chinese headers.
    Export {
        kind: KindArg,
        #[arg(long, value_enum)]
        format: Format,
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Bring in records from a spreadsheet (headers in Chinese or field names); all rows or none.
    Import {
        kind: KindArg,
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// A record kind on the command line (English name or Chinese label).
#[derive(Clone, Copy)]
struct KindArg(Kind);

impl std::str::FromStr for KindArg {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        s.parse::<Kind>().map(KindArg).map_err(|e| e.to_string())
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn default_data_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("zhucun"));
    }
    let home = std::env::var_os("HOME")
        .ok_or_else(|| anyhow!("no --data-dir given and HOME is not set"))?;
    Ok(PathBuf::from(home).join(".local/share/zhucun"))
}

fn key_from_env_or_prompt() -> Result<Key> {
    if let Ok(k) = std::env::var("ZHUCUN_KEY") {
        if k.is_empty() {
            bail!("ZHUCUN_KEY is empty");
        }
        return Ok(Key::Passphrase(k));
    }
    if std::io::stderr().is_terminal() {
        let k = rpassword::prompt_password("replica key: ").context("reading the key")?;
        if k.is_empty() {
            bail!("the key is empty");
        }
        return Ok(Key::Passphrase(k));
    }
    bail!("no key: set ZHUCUN_KEY or run zhucun on a terminal to be asked for it")
}

fn open(data_dir: &Option<PathBuf>) -> Result<Replica> {
    let dir = match data_dir {
        Some(d) => d.clone(),
        None => default_data_dir()?,
    };
    let key = key_from_env_or_prompt()?;
    Ok(Replica::open(&dir, &key)?)
}

/// The day given with `--on`, or today by this device's clock.
fn day_or_today(on: Option<String>) -> Result<chrono::NaiveDate> {
    match on {
        Some(d) => zhucun_model::parse_date(&d)
            .ok_or_else(|| anyhow!("--on `{d}` is not a date written YYYY-MM-DD")),
        None => Ok(chrono::Local::now().date_naive()),
    }
}

/// The village a command is about: the one given, or the device's only one.
fn one_village(r: &zhucun_replica::Replica, village: Option<String>) -> Result<String> {
    match village {
        Some(v) => Ok(v),
        None if r.profile().scope.len() == 1 => Ok(r.profile().scope[0].clone()),
        None => bail!(
            "--village is required: this device's scope has {} villages",
            r.profile().scope.len()
        ),
    }
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn print_rows(rows: &[ListRow]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for r in rows {
        let kind = r.kind.parse::<Kind>().map(|k| k.label_zh()).unwrap_or("?");
        writeln!(
            out,
            "{}  {:<6} {}  {}  {}{}",
            r.date.as_deref().unwrap_or("          "),
            kind,
            r.title,
            r.village,
            r.id,
            if r.synced {
                ""
            } else {
                "  (未同步 not synced)"
            }
        )?;
    }
    Ok(())
}

fn month_range(m: &str) -> Result<(String, String)> {
    let (y, mo) =
        zhucun_model::parse_month(m).ok_or_else(|| anyhow!("--month `{m}` is not YYYY-MM"))?;
    let last = (28..=31)
        .rev()
        .find(|d| chrono::NaiveDate::from_ymd_opt(y, mo, *d).is_some())
        .unwrap_or(28);
    Ok((
        format!("{y:04}-{mo:02}-01"),
        format!("{y:04}-{mo:02}-{last:02}"),
    ))
}

fn check_date(flag: &str, d: &Option<String>) -> Result<Option<String>> {
    match d {
        None => Ok(None),
        Some(s) => zhucun_model::parse_date(s)
            .map(|d| Some(d.format("%Y-%m-%d").to_string()))
            .ok_or_else(|| anyhow!("{flag} `{s}` is not a date (YYYY-MM-DD)")),
    }
}

fn read_stdin_object() -> Result<Map<String, Value>> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading stdin")?;
    match serde_json::from_str::<Value>(&s) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => bail!("stdin must hold one JSON object of the record's fields"),
        Err(e) => bail!("stdin is not valid JSON: {e}"),
    }
}

fn write_output(output: &Option<PathBuf>, bytes: &[u8]) -> Result<()> {
    match output {
        Some(p) => std::fs::write(p, bytes).with_context(|| format!("writing {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            Ok(out.flush()?)
        }
    }
}

fn read_input_file(p: &Path) -> Result<Vec<u8>> {
    if p == Path::new("-") {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b)?;
        Ok(b)
    } else {
        std::fs::read(p).with_context(|| format!("reading {}", p.display()))
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Walkthrough => walkthrough::run(cli.data_dir),
        Cmd::Kinds { json } => {
            let kinds: Vec<Value> = Kind::ALL
                .iter()
                .map(|k| {
                    let fields: Vec<Value> = k
                        .fields()
                        .iter()
                        .map(|f| json!({"field": f, "label": zhucun_model::AnyRecord::label_zh(*k, f)}))
                        .collect();
                    json!({"kind": k.as_str(), "label": k.label_zh(), "fields": fields})
                })
                .collect();
            if json {
                print_json(&kinds)
            } else {
                for k in Kind::ALL {
                    println!(
                        "{} ({}): {}",
                        k.as_str(),
                        k.label_zh(),
                        k.fields().join(", ")
                    );
                }
                Ok(())
            }
        }
        Cmd::Init {
            person,
            role,
            villages,
        } => {
            let role: zhucun_model::Role = role.parse()?;
            let mut r = open(&cli.data_dir)?;
            r.set_profile(None, &person, role.as_str(), &villages)?;
            print_json(r.profile())
        }
        Cmd::Whoami { json } => {
            let r = open(&cli.data_dir)?;
            let p = r.profile();
            if json {
                print_json(p)
            } else {
                println!(
                    "person: {}\nrole: {}\nscope: {}\ndevice: {}\nactor: {}",
                    p.person,
                    p.role,
                    p.scope.join(", "),
                    p.device,
                    p.actor
                );
                Ok(())
            }
        }
        Cmd::Put {
            kind,
            json,
            lines: true,
        } => {
            let mut r = open(&cli.data_dir)?;
            let stdin = std::io::stdin().lock();
            let mut out = std::io::stdout().lock();
            for (i, line) in std::io::BufRead::lines(stdin).enumerate() {
                let line = line.context("reading stdin")?;
                if line.trim().is_empty() {
                    continue;
                }
                let input = match serde_json::from_str::<Value>(&line) {
                    Ok(Value::Object(m)) => m,
                    _ => bail!("line {}: not a JSON object", i + 1),
                };
                let o = r
                    .put(kind.0, &input)
                    .with_context(|| format!("line {}", i + 1))?;
                if json {
                    serde_json::to_writer(&mut out, &o)?;
                    out.write_all(b"\n")?;
                } else {
                    writeln!(out, "{}", o.id)?;
                }
                out.flush()?;
            }
            Ok(())
        }
        Cmd::Put { kind, json, .. } => {
            let input = read_stdin_object()?;
            let mut r = open(&cli.data_dir)?;
            let out = r.put(kind.0, &input)?;
            if json {
                print_json(&out)
            } else {
                println!("{}", out.id);
                Ok(())
            }
        }
        Cmd::Get { id, json } => {
            let r = open(&cli.data_dir)?;
            let rec = r.get(&id)?;
            if json {
                print_json(&rec)
            } else {
                println!(
                    "{} {} ({})  village {}{}",
                    rec.kind.label_zh(),
                    rec.id,
                    rec.kind,
                    rec.village,
                    if rec.synced {
                        ""
                    } else {
                        "  (未同步 not synced)"
                    }
                );
                if let Value::Object(m) = &rec.record {
                    for (k, v) in m {
                        if zhucun_model::HEADER_KEYS.contains(&k.as_str()) {
                            continue;
                        }
                        let label = zhucun_model::AnyRecord::label_zh(rec.kind, k).unwrap_or(k);
                        let v = match v {
                            Value::String(s) => s.clone(),
                            v => v.to_string(),
                        };
                        println!("  {label}: {v}");
                    }
                }
                Ok(())
            }
        }
        Cmd::List {
            kind,
            village,
            from,
            to,
            month,
            sub_kind,
            status,
            unsynced,
            limit,
            offset,
            json,
        } => {
            let (mut from, mut to) = (check_date("--from", &from)?, check_date("--to", &to)?);
            if let Some(m) = month {
                let (f, t) = month_range(&m)?;
                from = Some(f);
                to = Some(t);
            }
            let r = open(&cli.data_dir)?;
            let rows = r.list(&Filter {
                kind: kind.map(|k| k.0),
                village,
                from,
                to,
                sub_kind,
                status,
                unsynced_only: unsynced,
                limit,
                offset,
            })?;
            if json {
                print_json(&rows)
            } else {
                print_rows(&rows)
            }
        }
        Cmd::Search {
            text,
            kind,
            limit,
            json,
        } => {
            let r = open(&cli.data_dir)?;
            let rows = r.search(&text, kind.map(|k| k.0), limit)?;
            if json {
                print_json(&rows)
            } else {
                print_rows(&rows)
            }
        }
        Cmd::History { id, json } => {
            let r = open(&cli.data_dir)?;
            let h = r.history(&id)?;
            if json {
                print_json(&h)
            } else {
                for e in h {
                    let when = chrono::DateTime::from_timestamp(e.device_time, 0)
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default();
                    println!(
                        "{when}  {} ({})  {}",
                        e.person.as_deref().unwrap_or("?"),
                        e.device.as_deref().unwrap_or(&e.actor),
                        e.fields.join(", ")
                    );
                }
                Ok(())
            }
        }
        Cmd::Export => {
            let r = open(&cli.data_dir)?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            r.export_canonical(&mut out)?;
            out.flush()?;
            Ok(())
        }
        Cmd::Doc { cmd } => match cmd {
            DocCmd::Export { id, output } => {
                let r = open(&cli.data_dir)?;
                let bytes = r.doc_bytes(&id)?;
                write_output(&output, &bytes)
            }
            DocCmd::Import { file } => {
                let bytes = read_input_file(&file)?;
                let mut r = open(&cli.data_dir)?;
                let out = r.import_doc(&bytes)?;
                print_json(&out)
            }
        },
        Cmd::Blob { cmd } => match cmd {
            BlobCmd::Add { file, mime } => {
                let bytes = read_input_file(&file)?;
                let mut r = open(&cli.data_dir)?;
                let h = r.put_blob(&bytes, &mime)?;
                println!("{h}");
                Ok(())
            }
            BlobCmd::Fetch { hash } => {
                zhucun_model::check_hash("hash", &hash)?;
                let mut r = open(&cli.data_dir)?;
                let link = r
                    .server()?
                    .ok_or_else(|| anyhow!("this device is not enrolled"))?;
                let t = zhucun_sync::HttpTransport::new(&link.url)?;
                runtime()?.block_on(zhucun_sync::fetch_blob(
                    &mut r,
                    &t,
                    &hash,
                    &zhucun_sync::SyncOptions::default(),
                ))?;
                println!("{hash}");
                Ok(())
            }
            BlobCmd::Get { hash, output } => {
                let r = open(&cli.data_dir)?;
                let bytes = r.get_blob(&hash)?;
                write_output(&output, &bytes)
            }
        },
        Cmd::Table { cmd } => match cmd {
            TableCmd::Export {
                kind,
                format,
                output,
            } => {
                let r = open(&cli.data_dir)?;
                let n = match format {
                    Format::Csv => table::export_csv(&r, kind.0, &output)?,
                    Format::Xlsx => table::export_xlsx(&r, kind.0, &output)?,
                };
                eprintln!("{n} records written to {}", output.display());
                Ok(())
            }
            TableCmd::Import { kind, file, json } => {
                let rows = table::read_rows(kind.0, &file)?;
                let mut r = open(&cli.data_dir)?;
                let outs = r.put_many(kind.0, &rows)?;
                if json {
                    print_json(&outs)
                } else {
                    let created = outs.iter().filter(|o| o.created).count();
                    let changed = outs.iter().filter(|o| !o.created && o.changed).count();
                    println!(
                        "{created} created, {changed} updated, {} unchanged",
                        outs.len() - created - changed
                    );
                    Ok(())
                }
            }
        },
        Cmd::Figures { month, village } => {
            let (y, m) = zhucun_model::parse_month(&month)
                .ok_or_else(|| anyhow!("--month `{month}` is not YYYY-MM"))?;
            let r = open(&cli.data_dir)?;
            let village = one_village(&r, village)?;
            print_json(&r.monthly_figures(&village, y, m)?)
        }
        Cmd::Calendar { on, village } => {
            let on = day_or_today(on)?;
            let r = open(&cli.data_dir)?;
            let village = one_village(&r, village)?;
            print_json(&r.party_life(&village, on)?)
        }
        Cmd::NextStep { id } => {
            let r = open(&cli.data_dir)?;
            print_json(&r.next_step(&id)?)
        }
        Cmd::Reminders { on } => {
            let on = day_or_today(on)?;
            let r = open(&cli.data_dir)?;
            // The calendar of the villages a field device covers; an office device has none.
            let p = r.profile();
            let field = p
                .role
                .parse::<zhucun_model::Role>()
                .is_ok_and(|role| role.is_field());
            let villages = if field { p.scope.clone() } else { Vec::new() };
            print_json(&r.reminders(on, &villages)?)
        }
        Cmd::Enroll {
            server,
            code,
            name,
            json,
        } => {
            let mut r = open(&cli.data_dir)?;
            let t = zhucun_sync::HttpTransport::new(&server)?;
            let resp =
                runtime()?.block_on(zhucun_sync::enroll(&mut r, &t, &server, &code, &name))?;
            if json {
                print_json(&json!({
                    "device": resp.device_id,
                    "person": resp.person_id,
                    "name": resp.person_name,
                    "role": resp.role,
                    "scope": resp.scope.iter().map(|u| u.id.clone()).collect::<Vec<_>>(),
                }))
            } else {
                println!(
                    "enrolled as {} ({}, {}); scope: {}",
                    resp.person_name,
                    resp.person_id,
                    resp.role,
                    resp.scope
                        .iter()
                        .map(|u| format!("{} {}", u.id, u.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                Ok(())
            }
        }
        Cmd::Sync { json } => {
            let mut r = open(&cli.data_dir)?;
            let link = r.server()?.ok_or_else(|| {
                anyhow!("this device is not enrolled: run `zhucun enroll --server URL --code CODE`")
            })?;
            let t = zhucun_sync::HttpTransport::new(&link.url)?;
            let tty = std::io::stderr().is_terminal() && !json;
            let mut report = |p: &zhucun_sync::Progress| {
                if tty {
                    eprint!(
                        "\r同步 sync: round {}  pushed {}  pulled {}  {} KB up  {} KB down{}",
                        p.round,
                        p.stats.pushed,
                        p.stats.pulled,
                        p.stats.bytes_up / 1024,
                        p.stats.bytes_down / 1024,
                        if p.more { " …" } else { "   " }
                    );
                }
            };
            let stats = runtime()?.block_on(zhucun_sync::sync(
                &mut r,
                &t,
                &zhucun_sync::SyncOptions::default(),
                Some(&mut report),
            ))?;
            if tty {
                eprintln!();
            }
            if json {
                print_json(&stats)
            } else {
                println!(
                    "pushed {} (acknowledged {}, refused {}), pulled {}, {} B up, {} B down, {} round trips, {} ms",
                    stats.pushed, stats.acked, stats.rejected, stats.pulled, stats.bytes_up, stats.bytes_down,
                    stats.round_trips, stats.duration_ms
                );
                if stats.rejected > 0 {
                    println!("see `zhucun rejected` for the server's reasons");
                }
                if stats.recovered > 0 {
                    println!(
                        "{} records the server had sent were fetched whole and are now in place",
                        stats.recovered
                    );
                }
                if stats.unapplied > 0 {
                    println!(
                        "{} records the server sent could not be applied yet; the next sync fetches them again",
                        stats.unapplied
                    );
                }
                if stats.held > 0 {
                    println!(
                        "{} records wait: the server refused an attachment of theirs (the next sync tries again)",
                        stats.held
                    );
                    for h in &stats.held_back {
                        println!(
                            "  record {}: attachment {} refused ({} {}): {}",
                            h.record, h.hash, h.status, h.code, h.message
                        );
                    }
                }
                Ok(())
            }
        }
        Cmd::SetServer { url } => {
            let mut r = open(&cli.data_dir)?;
            let mut link = r.server()?.ok_or_else(|| {
                anyhow!("this device is not enrolled: run `zhucun enroll --server URL --code CODE`")
            })?;
            zhucun_sync::HttpTransport::new(&url)?;
            link.url = url.trim_end_matches('/').to_string();
            r.set_server(&link)?;
            println!("{}", link.url);
            Ok(())
        }
        Cmd::KeepWords { id } => {
            let mut r = open(&cli.data_dir)?;
            let out = r.keep_refused_words(&id)?;
            println!("{}", out.id);
            Ok(())
        }
        Cmd::Rejected { json } => {
            let r = open(&cli.data_dir)?;
            let rows: Vec<Value> = r
                .rejected()?
                .into_iter()
                .map(|(id, code, message)| json!({"id": id, "code": code, "message": message}))
                .collect();
            if json {
                print_json(&rows)
            } else {
                for x in rows {
                    println!(
                        "{}  {}  {}",
                        x["id"].as_str().unwrap_or(""),
                        x["code"].as_str().unwrap_or(""),
                        x["message"].as_str().unwrap_or("")
                    );
                }
                Ok(())
            }
        }
        Cmd::Check => {
            let r = open(&cli.data_dir)?;
            let lines = r.integrity_check()?;
            if lines != ["ok"] {
                bail!("integrity check failed: {}", lines.join("; "));
            }
            println!("ok");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader goes away (`zhucun list | head`).
    #[cfg(unix)]
    // SAFETY: setting a signal disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // Usage errors too are one line; `--help` has the rest.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!(
                "zhucun: error: {} (see zhucun --help)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the causes joined, skipping a cause its parent already quoted.
            let mut line = String::new();
            for c in e.chain() {
                let s = c.to_string();
                if !line.contains(&s) {
                    if !line.is_empty() {
                        line.push_str(": ");
                    }
                    line.push_str(&s);
                }
            }
            eprintln!("zhucun: error: {}", line.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
