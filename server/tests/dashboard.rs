//! The office dashboard's API over real HTTP, on SQLite and on PostgreSQL: office logins
//! (cookie flags, CSRF, lockout), the overview and a village page computed from records that
//! devices pushed through the real sync endpoint, a township officer kept to their township,
//! exports, and an enrolment code issued and a device revoked from the administration API.
//!
//! PostgreSQL unreachable: with `CI=true` the PostgreSQL test fails, otherwise it skips.

use chrono::{Datelike, Duration, Local};
use serde_json::{json, Value};
use zhucun_model::automerge::ActorId;
use zhucun_model::{AnyRecord, Author, Header, Kind, RecordDoc};
use zhucun_protocol::{EnrollRequest, EnrollResponse, PushRecord, SyncRequest, SyncResponse};
use zhucun_server::admin::{self, DemoSeed, DEMO_PASSWORD};
use zhucun_server::http::{self as api, AppState, Limits};
use zhucun_server::store::Store;

const PG_HOST_URL: &str = "postgres://postgres@127.0.0.1:5432";

fn now() -> i64 {
    zhucun_server::identity::now()
}

struct Server {
    base: String,
    seed: DemoSeed,
    store: std::sync::Arc<dyn Store>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(url: &str) -> Server {
    let store = zhucun_server::open_store(url).await.unwrap();
    store.migrate().await.unwrap();
    let seed = admin::demo(store.as_ref(), now()).await.unwrap();
    let state = AppState::new(store.clone(), Limits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = api::router(state);
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server {
        base: format!("http://{addr}"),
        seed,
        store,
        task,
    }
}

impl Server {
    fn code(&self, person: &str) -> String {
        self.seed
            .codes
            .iter()
            .find(|c| c.person == person)
            .unwrap()
            .code
            .clone()
    }
}

async fn enrol(base: &str, code: &str) -> EnrollResponse {
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/enroll"))
        .header("content-type", "application/json")
        .body(
            serde_json::to_vec(&EnrollRequest {
                code: code.into(),
                device_name: "dashboard test".into(),
            })
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "enrol");
    serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap()
}

/// A new record's changes, as a device would push them.
fn record(kind: Kind, village: &str, by: &str, fields: Value) -> PushRecord {
    let Value::Object(m) = fields else { panic!() };
    let rec = AnyRecord::apply_input(kind, None, &m).unwrap();
    rec.validate(None)
        .unwrap_or_else(|e| panic!("{kind:?} {m:?}: {e}"));
    let id = zhucun_model::new_id();
    let header = Header {
        kind,
        schema: kind.schema_version(),
        id,
        village: village.into(),
        created_by: by.into(),
    };
    let mut doc = RecordDoc::create(ActorId::random(), &header, &rec).unwrap();
    doc.commit(
        &Author {
            person: by.into(),
            device: "test".into(),
        },
        now(),
    );
    PushRecord {
        id: id.to_string(),
        base_heads: vec![],
        changes: doc
            .changes_since(&[])
            .into_iter()
            .map(serde_bytes::ByteBuf::from)
            .collect(),
        heads: vec![],
    }
}

async fn sync(base: &str, token: &str, push: Vec<PushRecord>) -> reqwest::Response {
    let req = SyncRequest {
        version: 1,
        cursor: 0,
        cursor_check: None,
        push,
        page_bytes: 1 << 20,
    };
    reqwest::Client::new()
        .post(format!("{base}/v1/sync"))
        .header("content-type", zhucun_protocol::CONTENT_TYPE)
        .header("content-encoding", "zstd")
        .bearer_auth(token)
        .body(zhucun_protocol::encode(&req).unwrap())
        .send()
        .await
        .unwrap()
}

async fn push(base: &str, token: &str, recs: Vec<PushRecord>) {
    let n = recs.len();
    let resp = sync(base, token, recs).await;
    assert_eq!(resp.status(), 200);
    let answer: SyncResponse = zhucun_protocol::decode(
        &resp.bytes().await.unwrap(),
        zhucun_protocol::DEFAULT_MAX_DECODED,
    )
    .unwrap();
    assert!(answer.rejects.is_empty(), "{:?}", answer.rejects);
    assert_eq!(answer.acks.len(), n);
}

/// A browser session: the cookie and the CSRF token.
struct Office {
    base: String,
    cookie: String,
    csrf: String,
    http: reqwest::Client,
}

async fn login_raw(base: &str, user: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .json(&json!({"user": user, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn login(base: &str, user: &str) -> Office {
    let resp = login_raw(base, user, DEMO_PASSWORD).await;
    assert_eq!(resp.status(), 200, "login {user}");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    Office {
        base: base.into(),
        cookie: cookie.split(';').next().unwrap().to_string(),
        csrf: body["csrf"].as_str().unwrap().to_string(),
        http: reqwest::Client::new(),
    }
}

impl Office {
    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn bytes(&self, path: &str) -> (u16, String, Vec<u8>) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (r.status().as_u16(), ct, r.bytes().await.unwrap().to_vec())
    }

    async fn post(&self, path: &str, body: Value, csrf: Option<&str>) -> (u16, Value) {
        let mut r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .json(&body);
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        let r = r.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn office_logins_use_safe_cookies_csrf_and_lock_after_failures() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(&format!("sqlite://{}", dir.path().join("s.db").display())).await;

    // Wrong password; a field role without a password; an unknown user: all the same answer.
    for (u, p) in [
        ("zhao-min", "wrong password"),
        ("li-ming", DEMO_PASSWORD),
        ("nobody", DEMO_PASSWORD),
    ] {
        let r = login_raw(&s.base, u, p).await;
        assert_eq!(r.status(), 401, "{u}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["code"], "bad_login");
    }

    let r = login_raw(&s.base, "admin", DEMO_PASSWORD).await;
    assert_eq!(r.status(), 200);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set.starts_with("zhucun_session="), "{set}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(flag), "{set} lacks {flag}");
    }
    assert!(!set.contains("Secure"), "plain HTTP on loopback: {set}");
    let token = set
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("zhucun_session=")
        .to_string();
    assert!(token.len() >= 40, "a 256-bit token");
    // Only the token's hash is stored.
    assert!(s.store.session(&token).await.unwrap().is_none());
    assert!(s
        .store
        .session(&zhucun_server::identity::hash_token(&token))
        .await
        .unwrap()
        .is_some());
    // Behind an HTTPS proxy the cookie is Secure.
    let r = reqwest::Client::new()
        .post(format!("{}/api/login", s.base))
        .header("x-forwarded-proto", "https")
        .json(&json!({"user": "admin", "password": DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("; Secure"));

    let admin = login(&s.base, "admin").await;
    let (st, who) = admin.get("/api/session").await;
    assert_eq!(st, 200);
    assert_eq!(who["user"]["role"], "admin");
    assert_eq!(who["csrf"], admin.csrf.as_str());
    let (st, body) = reqwest::Client::new()
        .get(format!("{}/api/session", s.base))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(st, 401);
    assert_eq!(body.json::<Value>().await.unwrap()["code"], "no_session");

    // A state change without the CSRF token, or with another, is refused and changes nothing.
    let code = json!({"person": "li-ming", "hours": 24});
    let (st, b) = admin.post("/api/admin/codes", code.clone(), None).await;
    assert_eq!((st, b["code"].as_str()), (403, Some("csrf")));
    let (st, _) = admin
        .post("/api/admin/codes", code.clone(), Some("forged"))
        .await;
    assert_eq!(st, 403);
    let (st, b) = admin
        .post("/api/admin/codes", code.clone(), Some(&admin.csrf))
        .await;
    assert_eq!(st, 201, "{b}");
    assert!(b["qr_svg"].as_str().unwrap().starts_with("<?xml"));

    // Log out: the cookie no longer works.
    let (st, _) = admin
        .post("/api/logout", json!({}), Some(&admin.csrf))
        .await;
    assert_eq!(st, 204);
    assert_eq!(admin.get("/api/session").await.0, 401);

    // Five failures in a row lock the login, even for the right password.
    let mut last = 0;
    for _ in 0..5 {
        last = login_raw(&s.base, "zhao-min", "guess")
            .await
            .status()
            .as_u16();
    }
    assert_eq!(last, 429);
    let r = login_raw(&s.base, "zhao-min", DEMO_PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["code"], "locked");
    assert!(b["wait_secs"].as_i64().unwrap() > 800);
    // Another person is not affected.
    assert_eq!(
        login_raw(&s.base, "wang-qiang", DEMO_PASSWORD)
            .await
            .status(),
        200
    );
}

/// Guesses for one login sent at once (from many addresses, so no per-address limit helps)
/// still lock it after five: each failure is counted once, not read and written back.
#[tokio::test]
async fn guesses_at_once_lock_the_login_after_five() {
    use zhucun_server::office::{login, OfficeError};
    let dir = tempfile::tempdir().unwrap();
    let s = start(&format!("sqlite://{}", dir.path().join("s.db").display())).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = s.store.clone();
            tokio::spawn(async move {
                login(store.as_ref(), "zhao-min", &format!("guess {i}"), now()).await
            })
        })
        .collect();
    let (mut bad, mut locked) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Err(OfficeError::BadLogin) => bad += 1,
            Err(OfficeError::Locked { .. }) => locked += 1,
            other => panic!("a guess was answered {:?}", other.map(|(_, o)| o.person.id)),
        }
    }
    assert_eq!((bad, locked), (4, 4), "four wrong answers, then locked");
    assert!(matches!(
        login(s.store.as_ref(), "zhao-min", DEMO_PASSWORD, now()).await,
        Err(OfficeError::Locked { .. })
    ));
}

fn day(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A member's ID number (a valid one) and phone: neither may leave the server by the dashboard.
const ID_NUMBER: &str = "11010519491231002X";
const PHONE: &str = "13800138000";

/// A CSV export read back: its headers and rows (the byte-order mark dropped).
fn csv_table(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::str::from_utf8(bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (headers, rows)
}

/// A column of a CSV export, by header.
fn column(t: &(Vec<String>, Vec<Vec<String>>), header: &str) -> Vec<String> {
    let i =
        t.0.iter()
            .position(|h| h == header)
            .unwrap_or_else(|| panic!("no column {header} in {:?}", t.0));
    t.1.iter().map(|r| r[i].clone()).collect()
}

/// One cell of a CSV export: the row whose `key_header` is `key`, the column `header`.
fn cell(t: &(Vec<String>, Vec<Vec<String>>), key_header: &str, key: &str, header: &str) -> String {
    let row = column(t, key_header)
        .iter()
        .position(|k| k == key)
        .unwrap_or_else(|| panic!("no row {key}"));
    column(t, header)[row].clone()
}

/// The whole dashboard against one backend.
async fn dashboard_answers(url: &str) {
    let s = start(url).await;
    let today = Local::now().date_naive();
    let month = format!("{:04}-{:02}", today.year(), today.month());
    let first = today.with_day(1).unwrap();
    let q0 =
        chrono::NaiveDate::from_ymd_opt(today.year(), (today.month() - 1) / 3 * 3 + 1, 1).unwrap();

    // 东风村's first secretary pushes a month of work.
    let li = enrol(&s.base, &s.code("li-ming")).await;
    let act = |kind: &str, date: chrono::NaiveDate, topic: &str| {
        let mut f = json!({"activity_kind": kind, "date": day(date), "topic": topic,
                           "place": "党群服务中心"});
        if kind == "party_lecture" {
            f["lecturer"] = json!("李明");
        }
        if kind == "household_visit" {
            f["household"] = json!("王大爷家");
        }
        record(Kind::Activity, "dongfeng", "li-ming", f)
    };
    let year = today.year();
    let mut recs = vec![
        act("branch_committee_meeting", first, "支委会"),
        act("party_group_meeting", first, "党小组会"),
        act("party_lecture", q0, "党课"),
        act("branch_member_meeting", q0, "支部党员大会"),
        act("household_visit", first, "走访"),
        // Last year: counts nowhere this month.
        act("household_visit", first - Duration::days(400), "去年的走访"),
    ];
    for (name, g, stage, prob) in [
        (
            "赵丽",
            "female",
            "probationary",
            Some(format!("{year}-01-15")),
        ),
        (
            "钱军",
            "male",
            "probationary",
            Some(format!("{year}-01-20")),
        ),
        ("孙强", "male", "activist", None),
        ("王建国", "male", "full", Some("2001-07-01".to_string())),
    ] {
        let mut f = json!({"name": name, "gender": g, "stage": stage, "birth_date": "1990-03-01"});
        if name == "赵丽" {
            // Personal data on a member whose name the dashboard does show (the pipeline).
            f["id_number"] = json!(ID_NUMBER);
            f["phone"] = json!(PHONE);
        }
        if let Some(p) = prob {
            f["applied_on"] = json!("2000-01-01");
            f["activist_on"] = json!("2000-02-01");
            f["target_on"] = json!("2000-03-01");
            f["probationary_on"] = json!(p);
            if stage == "full" {
                f["full_on"] = json!("2002-07-01");
            }
        } else {
            f["applied_on"] = json!(format!("{year}-01-01"));
            f["activist_on"] = json!(format!("{year}-01-02"));
        }
        recs.push(record(Kind::Member, "dongfeng", "li-ming", f));
    }
    recs.push(record(
        Kind::Project,
        "dongfeng",
        "li-ming",
        json!({"name": "党群服务中心改造", "project_kind": "activity_venue",
               "status": "in_progress", "progress": 60}),
    ));
    recs.push(record(
        Kind::Report,
        "dongfeng",
        "li-ming",
        json!({"month": month, "state": "submitted", "narrative": "本月完成三会一课"}),
    ));
    push(&s.base, &li.token, recs).await;

    // 红旗社区's report for the month is still a draft: not submitted.
    let chen = enrol(&s.base, &s.code("chen-jing")).await;
    push(
        &s.base,
        &chen.token,
        vec![record(
            Kind::Report,
            "hongqi",
            "chen-jing",
            json!({"month": month, "state": "draft", "narrative": "还在写"}),
        )],
    )
    .await;

    // The township issues a task to both its villages, already past its deadline.
    let wq = enrol(&s.base, &s.code("wang-qiang")).await;
    push(
        &s.base,
        &wq.token,
        vec![record(
            Kind::Task,
            "chengguan",
            "wang-qiang",
            json!({"title": "报送融合发展工作方案", "issuer": "城关镇",
                   "assigned_villages": ["dongfeng", "xinhe"],
                   "deadline": day(today - Duration::days(2))}),
        )],
    )
    .await;

    // The city sees every village.
    let city = login(&s.base, "zhao-min").await;
    let (st, ov) = city.get(&format!("/api/overview?month={month}")).await;
    assert_eq!(st, 200, "{ov}");
    let rows = ov["villages"].as_array().unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    for v in ["dongfeng", "xinhe", "liuzhuang", "hongqi"] {
        assert!(ids.contains(&v), "{v} in {ids:?}");
    }
    let row = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap().clone();
    let df = row("dongfeng");
    assert_eq!(df["name"], "东风村");
    assert_eq!(df["township_name"], "城关镇");
    assert_eq!(df["last_sync_days"], 0);
    assert_eq!(df["stale"], false);
    let in_month = 3 + usize::from(q0 == first) * 2;
    assert_eq!(df["activities_total"], in_month, "{df}");
    assert_eq!(df["activities"]["household_visit"], 1);
    assert_eq!(df["tmol"]["complete"], true, "{df}");
    assert_eq!(df["report"], "submitted");
    assert_eq!(df["developed"], 2);
    assert_eq!(df["women_percent"], 50);
    assert_eq!(df["target"], 3);
    assert_eq!(df["met_minimum"], false);
    assert_eq!(df["in_pipeline"], 1);
    assert_eq!(df["venue_progress"], 60);
    assert_eq!(df["overdue_tasks"], 1);
    let xh = row("xinhe");
    assert_eq!(xh["stale"], true, "never synced");
    assert_eq!(xh["report"], "missing");
    assert_eq!(xh["activities_total"], 0);
    assert_eq!(xh["tmol"]["complete"], false);
    assert_eq!(xh["overdue_tasks"], 1);
    assert_eq!(xh["venue_progress"], Value::Null);
    assert_eq!(row("liuzhuang")["overdue_tasks"], 0);
    assert_eq!(row("hongqi")["report"], "draft");

    // The village page.
    let (st, page) = city
        .get(&format!("/api/villages/dongfeng?month={month}"))
        .await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["timeline"].as_array().unwrap().len(), 6);
    assert_eq!(page["roster"]["total"], 3, "{}", page["roster"]);
    assert_eq!(page["roster"]["by_gender"]["female"], 1);
    assert_eq!(page["roster"]["by_stage"]["activist"], 1);
    assert_eq!(page["roster"]["by_age_band"]["35_45"], 3);
    assert_eq!(page["pipeline"].as_array().unwrap().len(), 3);
    assert_eq!(page["projects"][0]["progress"], 60);
    assert_eq!(page["tasks"][0]["overdue"], true);
    assert_eq!(page["reports"][0]["month"], month.as_str());
    assert_eq!(page["reports"][0]["status"], "submitted");
    assert_eq!(page["development"]["developed"], 2);
    // The member with an ID number and a phone is on the page, by name only (all answers are
    // checked at the end).
    assert!(page["pipeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "赵丽"));

    // Charts and supervision.
    let (st, ch) = city.get(&format!("/api/charts?month={month}")).await;
    assert_eq!(st, 200);
    assert_eq!(ch["months"].as_array().unwrap().len(), 12);
    let cg = ch["townships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "chengguan")
        .unwrap();
    assert_eq!(cg["activities"][11], in_month);
    let last = &ch["reports"][11];
    assert_eq!(
        (
            last["submitted"].as_u64(),
            last["draft"].as_u64(),
            last["missing"].as_u64()
        ),
        (Some(1), Some(1), Some(2))
    );
    let (st, sup) = city.get(&format!("/api/supervision?month={month}")).await;
    assert_eq!(st, 200);
    let m = sup["villages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "dongfeng")
        .unwrap();
    assert_eq!(m["states"][11], "submitted");
    assert_eq!(m["states"][10], "missing");
    let hq = sup["villages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "hongqi")
        .unwrap();
    assert_eq!(hq["states"][11], "draft");

    // Exports with Chinese headers.
    let (st, ct, csv) = city
        .bytes(&format!("/api/export/overview.csv?month={month}"))
        .await;
    assert_eq!(st, 200);
    assert!(ct.starts_with("text/csv"));
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv.contains("村（社区）") && csv.contains("三会一课完成"));
    assert!(csv.contains("东风村") && csv.contains("已提交"));
    // Everything the overview shows of a village: its activities by kind and the women
    // developed, with Chinese headers; a draft reads as not submitted.
    let t = csv_table(csv.as_bytes());
    assert_eq!(column(&t, "村（社区）").len(), 4);
    let df = |h: &str| cell(&t, "村（社区）", "东风村", h);
    assert_eq!(df("本月活动：走访"), "1");
    assert_eq!(df("本月活动：支委会"), "1");
    assert_eq!(df("本月活动：党小组会"), "1");
    assert_eq!(df("本月活动：主题党日"), "0");
    assert_eq!(df("本年发展女党员"), "1");
    assert_eq!(df("女性占比（%）"), "50");
    assert_eq!(df("月报状态"), "已提交");
    assert_eq!(
        cell(&t, "村（社区）", "红旗社区", "月报状态"),
        "草稿（未提交）"
    );
    let (st, _, en) = city
        .bytes(&format!("/api/export/overview.csv?month={month}&lang=en"))
        .await;
    assert_eq!(st, 200);
    let en = csv_table(&en);
    assert_eq!(
        cell(
            &en,
            "Village",
            "东风村",
            "Activities this month: household visit"
        ),
        "1"
    );
    assert_eq!(
        cell(&en, "Village", "东风村", "Women developed this year"),
        "1"
    );

    // The overview's township filter narrows the exports as it narrows the overview.
    let (st, _, csv) = city
        .bytes(&format!(
            "/api/export/overview.csv?month={month}&township=chengguan"
        ))
        .await;
    assert_eq!(st, 200);
    let t = csv_table(&csv);
    assert_eq!(column(&t, "村（社区）"), ["东风村", "新河村"]);
    assert_eq!(cell(&t, "村（社区）", "东风村", "本月活动：走访"), "1");
    let (st, _, csv) = city
        .bytes(&format!(
            "/api/export/reports.csv?month={month}&township=dongcheng"
        ))
        .await;
    assert_eq!(st, 200);
    let mut villages = column(&csv_table(&csv), "村（社区）");
    villages.sort();
    assert_eq!(villages, ["柳庄村", "红旗社区"]);
    // An empty filter is every township; a filter that is no township is refused.
    let (st, _, csv) = city.bytes("/api/export/overview.csv?township=").await;
    assert_eq!(st, 200);
    assert_eq!(column(&csv_table(&csv), "村（社区）").len(), 4);
    assert_eq!(
        city.bytes("/api/export/overview.csv?township=dongfeng")
            .await
            .0,
        422
    );
    assert_eq!(
        city.bytes("/api/export/overview.csv?township=nowhere")
            .await
            .0,
        404
    );
    let (st, ct, xlsx) = city.bytes("/api/export/reports.xlsx").await;
    assert_eq!(st, 200);
    assert!(ct.contains("spreadsheetml"));
    assert!(xlsx.starts_with(b"PK"));
    let (st, _, csv) = city
        .bytes("/api/export/members.csv?village=dongfeng&lang=en")
        .await;
    assert_eq!(st, 200);
    assert!(String::from_utf8(csv).unwrap().contains("Item,Group,Count"));
    assert_eq!(city.bytes("/api/export/nothing.csv").await.0, 404);
    // A month is `YYYY-MM` from 1900-01 to 2200-12 and nothing around it, as the OpenAPI
    // document's pattern says; empty is this month, like absent.
    for bad in [
        "2026-13",
        "2263-01",
        "1899-12",
        "2026-5",
        "%202026-05",
        "null",
    ] {
        let (st, v) = city.get(&format!("/api/overview?month={bad}")).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (422, Some("invalid")),
            "{bad}: {v}"
        );
    }
    let (st, ov) = city.get("/api/overview?month=").await;
    assert_eq!(st, 200);
    assert_eq!(ov["month"], city.get("/api/overview").await.1["month"]);
    assert_eq!(city.get("/api/overview?month=2200-12").await.0, 200);
    // A query parameter given twice is answered like every other error.
    let (st, v) = city.get("/api/villages/dongfeng?month=x&month=y").await;
    assert_eq!(
        (st, v["code"].as_str()),
        (400, Some("malformed_query")),
        "{v}"
    );
    // The city officer is not an administrator.
    assert_eq!(city.get("/api/admin/devices").await.0, 403);
    assert_eq!(city.bytes("/api/export/devices.csv").await.0, 403);

    // A township officer sees only their township, through every door.
    let town = login(&s.base, "wang-qiang").await;
    let (st, ov) = town.get("/api/overview").await;
    assert_eq!(st, 200, "{ov}");
    let ids: Vec<&str> = ov["villages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["dongfeng", "xinhe"]);
    let (st, b) = town.get("/api/villages/liuzhuang").await;
    assert_eq!((st, b["code"].as_str()), (403, Some("out_of_scope")));
    assert_eq!(town.get("/api/villages/no-such-village").await.0, 404);
    assert_eq!(
        town.bytes("/api/export/activities.xlsx?village=hongqi")
            .await
            .0,
        403
    );
    let (st, _, csv) = town.bytes("/api/export/overview.csv").await;
    assert_eq!(st, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains("东风村") && !csv.contains("柳庄村") && !csv.contains("红旗社区"));
    // Their own township as the filter is what they see; another township widens nothing.
    let (st, _, csv) = town
        .bytes("/api/export/overview.csv?township=chengguan")
        .await;
    assert_eq!(st, 200);
    assert_eq!(column(&csv_table(&csv), "村（社区）"), ["东风村", "新河村"]);
    for table in ["overview", "reports", "inspections"] {
        let (st, _, body) = town
            .bytes(&format!("/api/export/{table}.csv?township=dongcheng"))
            .await;
        let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(
            (st, b["code"].as_str()),
            (403, Some("out_of_scope")),
            "{table}"
        );
    }
    assert_eq!(
        town.bytes("/api/export/overview.csv?township=city").await.0,
        422
    );
    let (st, sup) = town.get("/api/supervision").await;
    assert_eq!(st, 200, "{sup}");
    assert_eq!(sup["villages"].as_array().unwrap().len(), 2);
    let (st, units) = town.get("/api/units").await;
    assert_eq!(st, 200, "{units}");
    let units = units.as_array().unwrap();
    assert!(units.iter().any(|u| u["id"] == "dongfeng"), "{units:?}");
    assert!(units
        .iter()
        .all(|u| u["path"].as_str().unwrap().starts_with("/city/chengguan/")));

    // Administration: a code issued in the dashboard enrols a device; revoked, it is refused.
    let admin = login(&s.base, "admin").await;
    let (st, code) = admin
        .post(
            "/api/admin/codes",
            json!({"person": "chen-jing", "hours": 24}),
            Some(&admin.csrf),
        )
        .await;
    assert_eq!(st, 201);
    let dev = enrol(&s.base, code["code"].as_str().unwrap()).await;
    // A sync the server could not answer does not count as the device's last sync.
    let bad = reqwest::Client::new()
        .post(format!("{}/v1/sync", s.base))
        .bearer_auth(&dev.token)
        .body(b"not a sync request".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let (_, devices) = admin.get("/api/admin/devices").await;
    let seen = |devices: &Value| {
        devices
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == dev.device_id.as_str())
            .unwrap()["last_seen"]
            .clone()
    };
    assert_eq!(seen(&devices), Value::Null);
    assert_eq!(sync(&s.base, &dev.token, vec![]).await.status(), 200);
    let (st, devices) = admin.get("/api/admin/devices").await;
    assert_eq!(st, 200, "{devices}");
    let d = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == dev.device_id.as_str())
        .unwrap();
    assert_eq!(d["person_name"], "陈静");
    assert!(d["last_seen"].as_i64().is_some());
    let (st, _) = admin
        .post(
            &format!("/api/admin/devices/{}/revoke", dev.device_id),
            json!({}),
            Some(&admin.csrf),
        )
        .await;
    assert_eq!(st, 204);
    let r = sync(&s.base, &dev.token, vec![]).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "device_revoked");
    // Add a unit and a person; ids and injected text are stored literally.
    let (st, b) = admin
        .post(
            "/api/admin/units",
            json!({"id": "nanshan", "name": "南山村'); DROP TABLE docs;--", "kind": "village", "parent": "chengguan"}),
            Some(&admin.csrf),
        )
        .await;
    assert_eq!(st, 201, "{b}");
    let (st, _) = admin
        .post(
            "/api/admin/people",
            json!({"id": "sun-li", "name": "孙丽", "role": "first_secretary", "units": ["nanshan"]}),
            Some(&admin.csrf),
        )
        .await;
    assert_eq!(st, 201);
    let (st, ov) = town.get("/api/overview").await;
    assert_eq!(st, 200, "{ov}");
    assert!(ov["villages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "南山村'); DROP TABLE docs;--"));
    let (st, people) = admin.get("/api/admin/people").await;
    assert_eq!(st, 200, "{people}");
    assert!(people
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == "sun-li"));
    // A township officer cannot administer.
    let (st, _) = town
        .post(
            "/api/admin/codes",
            json!({"person": "li-ming"}),
            Some(&town.csrf),
        )
        .await;
    assert_eq!(st, 403);

    // An administrator of one township acts only for people wholly inside it: someone who
    // also covers a village of the street is listed but gets no code and keeps their device.
    for (id, role, units) in [
        ("town-admin", "admin", json!(["chengguan"])),
        ("liu-yang", "instructor", json!(["xinhe", "liuzhuang"])),
    ] {
        let mut body = json!({"id": id, "name": id, "role": role, "units": units});
        if role == "admin" {
            body["password"] = json!(DEMO_PASSWORD);
        }
        let (st, b) = admin
            .post("/api/admin/people", body, Some(&admin.csrf))
            .await;
        assert_eq!(st, 201, "{b}");
    }
    let (st, code) = admin
        .post(
            "/api/admin/codes",
            json!({"person": "liu-yang", "hours": 24}),
            Some(&admin.csrf),
        )
        .await;
    assert_eq!(st, 201, "the city's administrator manages everyone");
    let liu = enrol(&s.base, code["code"].as_str().unwrap()).await;
    let town_admin = login(&s.base, "town-admin").await;
    let (st, people) = town_admin.get("/api/admin/people").await;
    assert_eq!(st, 200);
    assert!(people
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == "liu-yang"));
    let (st, b) = town_admin
        .post(
            "/api/admin/codes",
            json!({"person": "liu-yang", "hours": 24}),
            Some(&town_admin.csrf),
        )
        .await;
    assert_eq!((st, b["code"].as_str()), (404, Some("not_found")), "{b}");
    let (st, _) = town_admin
        .post(
            &format!("/api/admin/devices/{}/revoke", liu.device_id),
            json!({}),
            Some(&town_admin.csrf),
        )
        .await;
    assert_eq!(st, 404);
    assert_eq!(sync(&s.base, &liu.token, vec![]).await.status(), 200);
    let (st, _) = town_admin
        .post(
            "/api/admin/codes",
            json!({"person": "li-ming", "hours": 24}),
            Some(&town_admin.csrf),
        )
        .await;
    assert_eq!(
        st, 201,
        "a first secretary of the township is theirs to manage"
    );

    // No ID number or phone leaves the server through any dashboard answer or export.
    let mut answers: Vec<(String, String)> = Vec::new();
    for path in [
        format!("/api/overview?month={month}"),
        format!("/api/villages/dongfeng?month={month}"),
        format!("/api/charts?month={month}"),
        format!("/api/supervision?month={month}"),
        "/api/units".to_string(),
        "/api/session".to_string(),
        "/api/admin/units".to_string(),
        "/api/admin/people".to_string(),
        "/api/admin/devices".to_string(),
    ] {
        let (st, body) = admin.get(&path).await;
        assert_eq!(st, 200, "{path}: {body}");
        answers.push((path, body.to_string()));
    }
    for table in [
        "overview.csv",
        "reports.csv",
        "inspections.csv",
        "activities.csv?village=dongfeng",
        "members.csv?village=dongfeng",
        "members.csv?village=dongfeng&lang=en",
        "devices.csv",
        "people.csv",
    ] {
        let path = format!("/api/export/{table}");
        let (st, _, body) = admin.bytes(&path).await;
        assert_eq!(st, 200, "{path}");
        answers.push((path, String::from_utf8(body).unwrap()));
    }
    assert!(answers
        .iter()
        .any(|(p, a)| p.starts_with("/api/villages/") && a.contains("赵丽")));
    for (path, a) in &answers {
        for secret in [ID_NUMBER, PHONE, "id_number", "phone"] {
            assert!(!a.contains(secret), "{path} tells {secret}");
        }
    }
}

#[tokio::test]
async fn dashboard_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    dashboard_answers(&format!("sqlite://{}", dir.path().join("s.db").display())).await;
}

#[tokio::test]
async fn dashboard_on_postgres() {
    let admin_url = format!("{PG_HOST_URL}/postgres?connect_timeout=5");
    let admin = match tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(conn);
            client
        }
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL is unreachable at {admin_url} and CI=true: {e}");
            }
            eprintln!("NOTICE: PostgreSQL unreachable ({e}); skipping");
            return;
        }
    };
    let db = format!("zhucun_dash_{:016x}", rand::random::<u64>());
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let url = format!("{PG_HOST_URL}/{db}");
    let run = tokio::spawn(async move { dashboard_answers(&url).await }).await;
    let _ = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await;
    if let Err(e) = run {
        std::panic::resume_unwind(e.into_panic());
    }
}
