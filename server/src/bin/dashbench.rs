//! The dashboard benchmark: a city of 500 villages and 1,000,000 activities (plus members,
//! reports, projects, village profiles, tasks and a device per village) written straight into
//! the server's tables with bulk SQL, then the overview (and, for information, the other
//! dashboard answers) timed in-process on SQLite and on PostgreSQL. Target: the overview in
//! ≤ 300 ms server time. `scripts/dashbench` runs it; see BENCHMARKS.md.
//!
//! The rows are what the server's projection writer would produce for such records (same
//! columns and JSON detail); documents themselves are not generated, since the dashboard never
//! reads them.

use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{Datelike, Local};
use zhucun_server::dashboard::{self, Month, View};
use zhucun_server::store::Store;

struct Size {
    townships: u32,
    villages_per: u32,
    activities: u32,
    members_per: u32,
}

/// Statements that fill an empty, migrated database. `{kinds}` and friends are the same on
/// both backends; the series generator differs.
fn fill_sql(s: &Size, pg: bool) -> Vec<String> {
    let villages = s.townships * s.villages_per;
    let series = |n: u32| {
        if pg {
            format!("SELECT g AS n FROM generate_series(0::bigint, {}) g", n - 1)
        } else {
            format!(
                "WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n < {}) SELECT n FROM c",
                n - 1
            )
        }
    };
    let pad = |e: &str, w: u32| {
        if pg {
            format!("lpad(({e})::text, {w}, '0')")
        } else {
            format!("printf('%0{w}d', {e})")
        }
    };
    let day = |days: &str| {
        if pg {
            format!("to_char(current_date - ({days})::int, 'YYYY-MM-DD')")
        } else {
            format!("date('now', 'localtime', '-' || ({days}) || ' days')")
        }
    };
    let month_of = |back: &str| {
        if pg {
            format!("to_char(date_trunc('month', current_date) - (({back}) || ' months')::interval, 'YYYY-MM')")
        } else {
            format!("strftime('%Y-%m', date('now', 'localtime', 'start of month', '-' || ({back}) || ' months'))")
        }
    };
    let now = zhucun_server::identity::now();
    let year = Local::now().year();
    let v = |e: &str| format!("'v' || {}", pad(e, 3));
    let t = |e: &str| format!("'t' || {}", pad(e, 2));
    vec![
        "INSERT INTO org_units (id, name, kind, parent, path) VALUES ('city', '示范市', 'city', NULL, '/city/')".into(),
        format!(
            "INSERT INTO org_units (id, name, kind, parent, path) SELECT {tid}, '第' || (n + 1) || '镇', 'township', 'city', '/city/' || {tid} || '/' FROM ({s}) x",
            tid = t("n"),
            s = series(s.townships)
        ),
        format!(
            "INSERT INTO org_units (id, name, kind, parent, path) SELECT {vid}, '第' || (n + 1) || '村', 'village', {tid}, '/city/' || {tid} || '/' || {vid} || '/' FROM ({s}) x",
            vid = v("n"),
            tid = t(&format!("n / {}", s.villages_per)),
            s = series(villages)
        ),
        format!(
            "INSERT INTO people (id, name, role) SELECT 'p-' || {vid}, '书记' || n, 'first_secretary' FROM ({s}) x",
            vid = v("n"),
            s = series(villages)
        ),
        format!(
            "INSERT INTO person_units (person_id, unit_id) SELECT 'p-' || {vid}, {vid} FROM ({s}) x",
            vid = v("n"),
            s = series(villages)
        ),
        format!(
            "INSERT INTO devices (id, person_id, name, token_hash, created_at, last_seen) SELECT 'd-' || {vid}, 'p-' || {vid}, 'phone', 'h' || n, {now}, {now} - (n * 7919 % 864000) FROM ({s}) x",
            vid = v("n"),
            s = series(villages)
        ),
        // A million activities over three years, every village and kind.
        format!(
            "INSERT INTO projections (id, kind, village, title, date, sub_kind, status, detail)
             SELECT 'a' || n, 'activity', {vid}, '活动 ' || n, {d}, k.name, NULL, '{{\"attendees\":12}}'
             FROM ({s}) x JOIN bench_kinds k ON k.i = n % {nk}",
            vid = v(&format!("n % {villages}")),
            d = day("n * 7919 % 1095"),
            nk = zhucun_model::kinds::ActivityKind::ALL.len(),
            s = series(s.activities)
        ),
        // Every activity reaches its village (the sync path writes these for every record).
        format!(
            "INSERT INTO record_units (record_id, path) SELECT p.id, u.path FROM projections p
             JOIN org_units u ON u.id = p.village WHERE p.kind = 'activity'"
        ),
        format!(
            "INSERT INTO projections (id, kind, village, title, date, sub_kind, status, detail)
             SELECT 'm' || n, 'member', {vid}, '党员' || n, NULL, 'resident',
                    CASE WHEN n % 10 = 0 THEN 'activist' WHEN n % 10 = 1 THEN 'probationary' ELSE 'full' END,
                    '{{\"gender\":\"' || CASE WHEN n % 3 = 0 THEN 'female' ELSE 'male' END ||
                    '\",\"category\":\"resident\",\"stage\":\"' ||
                    CASE WHEN n % 10 = 0 THEN 'activist' WHEN n % 10 = 1 THEN 'probationary' ELSE 'full' END ||
                    '\",\"birth_date\":\"19' || (50 + n % 45) || '-03-01\",\"probationary_on\":' ||
                    CASE WHEN n % 10 = 1 THEN '\"{year}-0' || (1 + n % 9) || '-10\"' WHEN n % 10 = 0 THEN 'null' ELSE '\"2001-07-01\"' END ||
                    ',\"full_on\":null}}'
             FROM ({s}) x",
            vid = v(&format!("n % {villages}")),
            s = series(villages * s.members_per)
        ),
        format!(
            "INSERT INTO projections (id, kind, village, title, date, sub_kind, status, detail)
             SELECT 'r' || n, 'report', {vid}, 'report', {m} || '-01', {m},
                    CASE n % 5 WHEN 0 THEN 'draft' WHEN 1 THEN 'submitted' WHEN 2 THEN 'returned' ELSE 'accepted' END,
                    '{{}}'
             FROM ({s}) x WHERE n % 7 <> 3",
            vid = v(&format!("n % {villages}")),
            m = month_of(&format!("n / {villages}")),
            s = series(villages * 24)
        ),
        format!(
            "INSERT INTO projections (id, kind, village, title, date, sub_kind, status, detail)
             SELECT 'p' || n, 'project', {vid}, '活动场所', NULL, 'activity_venue', 'in_progress',
                    '{{\"project_kind\":\"activity_venue\",\"name\":\"活动场所\",\"status\":\"in_progress\",\"progress\":' || (n * 37 % 101) ||
                    ',\"funds_planned\":300000,\"funds_allocated\":0,\"funds_raised\":0,\"funds_spent\":1000,\"annual_income\":0,\"milestones\":0,\"milestones_done\":0,\"due_on\":null}}'
             FROM ({s}) x",
            vid = v("n"),
            s = series(villages)
        ),
        format!(
            "INSERT INTO projections (id, kind, village, title, date, sub_kind, status, detail)
             SELECT 'vp' || n, 'village', {vid}, '村', NULL, 'village', NULL, '{{\"development_target\":' || (3 + n % 3) || '}}'
             FROM ({s}) x",
            vid = v("n"),
            s = series(villages)
        ),
        // 100 township tasks, each reaching 10 villages; half are overdue.
        format!(
            "INSERT INTO docs (id, kind, village, heads, bytes) SELECT 'task' || n, 'task', {tid}, '[]', {empty} FROM ({s}) x",
            tid = t(&format!("n % {}", s.townships)),
            empty = if pg { "''::bytea" } else { "x''" },
            s = series(100)
        ),
        format!(
            "INSERT INTO projections (id, kind, village, title, date, sub_kind, status, detail)
             SELECT 'task' || n, 'task', {tid}, '任务', {d}, NULL, CASE WHEN n % 4 = 0 THEN 'done' ELSE 'open' END, '{{}}'
             FROM ({s}) x",
            tid = t(&format!("n % {}", s.townships)),
            d = day("(n % 2) * 20 - 10"),
            s = series(100)
        ),
        format!(
            "INSERT INTO record_units (record_id, path) SELECT 'task' || (n / 10), u.path FROM ({s}) x
             JOIN org_units u ON u.id = {vid}",
            vid = v(&format!("(n * 13) % {villages}")),
            s = series(1000)
        ),
    ]
}

fn kinds_table(pg: bool) -> Vec<String> {
    let mut v = vec![format!(
        "CREATE TEMP TABLE bench_kinds (i INTEGER PRIMARY KEY, name TEXT NOT NULL){}",
        if pg { " ON COMMIT DROP" } else { "" }
    )];
    for (i, k) in zhucun_model::kinds::ActivityKind::ALL.iter().enumerate() {
        let k = zhucun_model::kinds::enum_name(k);
        v.push(format!("INSERT INTO bench_kinds VALUES ({i}, '{k}')"));
    }
    v
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn time<F, Fut>(runs: usize, mut f: F) -> Result<(f64, f64, f64)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    for _ in 0..2 {
        f().await?;
    }
    let mut ms = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        f().await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    Ok((pct(&ms, 0.5), pct(&ms, 0.95), ms[ms.len() - 1]))
}

async fn measure(backend: &str, store: &dyn Store, out: &mut Vec<serde_json::Value>) -> Result<()> {
    let units = store.units().await?;
    let city = View::new(units.clone(), vec!["/city/".into()]);
    let town = View::new(units, vec!["/city/t01/".into()]);
    let today = Local::now().date_naive();
    let month = Month::of(today);
    let now = zhucun_server::identity::now();
    let rows = dashboard::overview(store, &city, month, today, now)
        .await?
        .villages;
    anyhow::ensure!(rows.len() == 500, "{} villages in the overview", rows.len());
    let acts: u32 = rows.iter().map(|r| r.activities_total).sum();
    println!(
        "{backend}: overview has {} villages, {acts} activities this month",
        rows.len()
    );
    let mut row = |what: &str, (p50, p95, max): (f64, f64, f64)| {
        println!("| {backend} | {what} | {p50:.1} | {p95:.1} | {max:.1} |");
        out.push(serde_json::json!({"backend": backend, "answer": what, "p50_ms": p50, "p95_ms": p95, "max_ms": max}));
    };
    let runs = 20;
    row(
        "overview, city (500 villages)",
        time(runs, || async {
            dashboard::overview(store, &city, month, today, now).await?;
            Ok(())
        })
        .await?,
    );
    row(
        "overview, one township (20 villages)",
        time(runs, || async {
            dashboard::overview(store, &town, month, today, now).await?;
            Ok(())
        })
        .await?,
    );
    row(
        "village page",
        time(runs, || async {
            dashboard::village_page(store, &city, "v042", month, today, now).await?;
            Ok(())
        })
        .await?,
    );
    row(
        "charts, city (12 months)",
        time(5, || async {
            dashboard::charts(store, &city, month, today, now).await?;
            Ok(())
        })
        .await?,
    );
    row(
        "supervision, city",
        time(runs, || async {
            dashboard::supervision(store, &city, month).await?;
            Ok(())
        })
        .await?,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let no_pg = args.iter().any(|a| a == "--no-postgres");
    let size = Size {
        townships: 25,
        villages_per: 20,
        activities: if quick { 100_000 } else { 1_000_000 },
        members_per: 40,
    };
    let mut out = Vec::new();
    println!("| backend | answer | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|");

    // SQLite: a fresh file.
    let dir = tempfile::Builder::new()
        .prefix("zhucun-dashbench-")
        .tempdir_in(std::env::var("TMPDIR").unwrap_or_else(|_| "/var/tmp".into()))?;
    let path = dir.path().join("server.db");
    if std::env::var_os("ZHUCUN_DASHBENCH_KEEP").is_some() {
        eprintln!("keeping {}", path.display());
    }
    let url = format!("sqlite://{}", path.display());
    {
        let store = zhucun_server::open_store(&url).await?;
        store.migrate().await?;
    }
    let t = Instant::now();
    {
        let c = rusqlite::Connection::open(&path)?;
        c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; BEGIN")?;
        for s in kinds_table(false)
            .iter()
            .chain(fill_sql(&size, false).iter())
        {
            c.execute_batch(s).with_context(|| s.clone())?;
        }
        c.execute_batch("COMMIT; ANALYZE")?;
    }
    eprintln!("sqlite filled in {:.1} s", t.elapsed().as_secs_f64());
    let store = zhucun_server::open_store(&url).await?;
    measure("SQLite", store.as_ref(), &mut out).await?;
    drop(store);

    if !no_pg {
        let host = "postgres://postgres@127.0.0.1:5432";
        let (admin, conn) =
            tokio_postgres::connect(&format!("{host}/postgres"), tokio_postgres::NoTls)
                .await
                .context("PostgreSQL at 127.0.0.1:5432")?;
        tokio::spawn(conn);
        let db = format!("zhucun_dashbench_{:08x}", rand::random::<u32>());
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await?;
        let url = format!("{host}/{db}");
        let res = async {
            {
                let store = zhucun_server::open_store(&url).await?;
                store.migrate().await?;
            }
            let t = Instant::now();
            let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            c.batch_execute("BEGIN").await?;
            for s in kinds_table(true).iter().chain(fill_sql(&size, true).iter()) {
                c.batch_execute(s).await.with_context(|| s.clone())?;
            }
            c.batch_execute("COMMIT").await?;
            c.batch_execute("VACUUM ANALYZE").await?;
            eprintln!("postgres filled in {:.1} s", t.elapsed().as_secs_f64());
            let store = zhucun_server::open_store(&url).await?;
            measure("PostgreSQL", store.as_ref(), &mut out).await
        }
        .await;
        let _ = admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .await;
        res?;
    }
    if std::env::var_os("ZHUCUN_DASHBENCH_KEEP").is_some() {
        let _ = dir.keep();
    }
    std::fs::create_dir_all("bench-results")?;
    std::fs::write(
        "bench-results/dashboard.json",
        serde_json::to_string_pretty(&serde_json::json!({
            "villages": size.townships * size.villages_per,
            "activities": size.activities,
            "members": size.townships * size.villages_per * size.members_per,
            "rows": out,
        }))?,
    )?;
    Ok(())
}
