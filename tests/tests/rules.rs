//! Who may do what, end to end: the real server on SQLite and PostgreSQL refuses a change the
//! role of the person behind the device may not make (`forbidden`, the rest of the batch
//! landing), the replica refuses it before saving, and a refused user keeps their words.

use serde_json::{json, Value};
use zhucun_e2e::*;

/// A record as a client holds it (its fields).
fn record(c: &Client, id: &str) -> Value {
    c.json(&["get", id, "--json"], None)["record"].clone()
}

/// Change one field of a record outside the app and bring it back in, as a client that does
/// not keep the rules (an old or hostile one) would: the replica imports documents as they are.
fn forge(c: &Client, id: &str, field: &str, value: &str) {
    let file = c.dir.path().join(format!("{id}.automerge"));
    c.ok(&["doc", "export", id, "-o", file.to_str().unwrap()], None);
    let mut doc =
        zhucun_model::automerge::AutoCommit::load(&std::fs::read(&file).unwrap()).unwrap();
    {
        use zhucun_model::automerge::transaction::Transactable;
        doc.put(zhucun_model::automerge::ROOT, field, value)
            .unwrap();
        doc.commit();
    }
    std::fs::write(&file, doc.save()).unwrap();
    c.ok(&["doc", "import", file.to_str().unwrap()], None);
}

fn rejected(c: &Client) -> Vec<Value> {
    c.json(&["rejected", "--json"], None)
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_village_cannot_accept_its_own_report_or_close_the_townships_task() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let (village, town) = (Client::new(), Client::new());
        village.enroll(&server.url, &codes["li-ming"]);
        town.enroll(&server.url, &codes["wang-qiang"]);
        let name = b.name();

        // The replica keeps the rules: the township issues tasks, the village files reports.
        let e = village.run(
            &["put", "task"],
            Some(
                &json!({"title": "自拟任务", "issuer": "chengguan",
                        "assigned_villages": ["dongfeng"], "deadline": "2026-06-30"})
                .to_string(),
            ),
        );
        assert!(!e.status.success());
        let said = String::from_utf8_lossy(&e.stderr);
        assert!(said.contains("may not create a task"), "{name}: {said}");

        let report = village.put(
            "report",
            &json!({"month": "2026-05", "narrative": "本月开展党课两次，走访农户十二户。"}),
        );
        village.put("report", &json!({"id": report, "state": "submitted"}));
        let task = town.put(
            "task",
            &json!({"title": "报送融合发展工作方案", "issuer": "chengguan", "village": "chengguan",
                    "assigned_villages": ["dongfeng"], "deadline": "2026-06-30"}),
        );
        town.sync();
        village.sync();

        // Through the app or the CLI the village cannot accept its report or close the task.
        let e = village.run(
            &["put", "report"],
            Some(&json!({"id": report, "state": "accepted"}).to_string()),
        );
        let said = String::from_utf8_lossy(&e.stderr);
        assert!(
            said.contains(
                "first_secretary may not change a report's state from submitted to accepted"
            ),
            "{name}: {said}"
        );
        let e = village.run(
            &["put", "task"],
            Some(&json!({"id": task, "status": "done"}).to_string()),
        );
        assert!(!e.status.success(), "{name}");

        // A client that does not keep the rules pushes both moves, with a good edit beside
        // them: the server refuses the two with a reason, and the good one lands.
        forge(&village, &report, "state", "accepted");
        forge(&village, &task, "status", "done");
        let visit = village.put(
            "activity",
            &json!({"activity_kind": "theme_party_day", "date": "2026-05-12", "topic": "走访困难党员"}),
        );
        let s = village.sync();
        assert_eq!(
            (s["acked"].as_u64(), s["rejected"].as_u64()),
            (Some(1), Some(2)),
            "{name}: {s}"
        );
        let refused = rejected(&village);
        assert_eq!(refused.len(), 2, "{name}: {refused:?}");
        for r in &refused {
            assert_eq!(r["code"], "forbidden", "{name}: {r}");
        }
        let why = |id: &str| {
            refused.iter().find(|r| r["id"] == id).unwrap()["message"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert!(
            why(&report).contains("from submitted to accepted"),
            "{name}"
        );
        assert!(why(&task).contains("from open to done"), "{name}");

        // The township sees the report still submitted, the task still open, the visit.
        town.sync();
        assert_eq!(record(&town, &report)["state"], "submitted", "{name}");
        assert_eq!(record(&town, &task)["status"], "open", "{name}");
        assert_eq!(record(&town, &visit)["topic"], "走访困难党员", "{name}");

        // The township's own accept lands, and the village's device gets it.
        town.put(
            "report",
            &json!({"id": report, "state": "accepted", "review_comment": "同意", "reviewed_by": "wang-qiang"}),
        );
        let s = town.sync();
        assert_eq!(
            (s["acked"].as_u64(), s["rejected"].as_u64()),
            (Some(1), Some(0)),
            "{name}: {s}"
        );
        town.put("task", &json!({"id": task, "status": "done"}));
        assert_eq!(town.sync()["rejected"], 0, "{name}");
        let other = Client::new();
        other.enroll(&server.url, &issue_code(&db, "li-ming"));
        other.sync();
        assert_eq!(record(&other, &report)["state"], "accepted", "{name}");
        assert_eq!(record(&other, &report)["review_comment"], "同意", "{name}");
        assert_eq!(record(&other, &task)["status"], "done", "{name}");
    }
}

#[test]
fn words_an_accepted_report_refused_are_kept_as_a_note_on_it() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let name = b.name();
        // The first secretary's phone and laptop, and the township.
        let (phone, laptop, town) = (Client::new(), Client::new(), Client::new());
        phone.enroll(&server.url, &codes["li-ming"]);
        laptop.enroll(&server.url, &issue_code(&db, "li-ming"));
        town.enroll(&server.url, &codes["wang-qiang"]);

        let report = phone.put(
            "report",
            &json!({"month": "2026-05", "narrative": "本月开展党课两次。"}),
        );
        phone.sync();
        laptop.sync();
        // The phone submits and the township accepts, while the laptop, offline, goes on
        // writing the draft it holds.
        phone.put("report", &json!({"id": report, "state": "submitted"}));
        phone.sync();
        town.sync();
        town.put("report", &json!({"id": report, "state": "accepted"}));
        town.sync();
        let words = "本月开展党课两次，另组织党员志愿服务一次，帮扶困难户三户。";
        laptop.put("report", &json!({"id": report, "narrative": words}));

        // At the next sync the server refuses the edit: the report is accepted.
        let s = laptop.sync();
        assert!(s["rejected"].as_u64().unwrap() >= 1, "{name}: {s}");
        let refused = rejected(&laptop);
        assert_eq!(refused[0]["code"], "forbidden", "{name}");
        assert!(
            refused[0]["message"]
                .as_str()
                .unwrap()
                .contains("narrative of a report that is accepted"),
            "{name}: {refused:?}"
        );
        // The laptop still holds the words; nothing of them reached the township.
        let held = record(&laptop, &report);
        assert_eq!(held["narrative"], words, "{name}");
        town.sync();
        assert_eq!(
            record(&town, &report)["narrative"],
            "本月开展党课两次。",
            "{name}"
        );

        // One action keeps them: the report is the accepted one again, with the words as a
        // note attached to it, and that reaches the township.
        let out = laptop.run(&["keep-words", &report], None);
        assert!(out.status.success(), "{name}: {out:?}");
        let kept = record(&laptop, &report);
        assert_eq!(kept["state"], "accepted", "{name}");
        assert_eq!(kept["narrative"], "本月开展党课两次。", "{name}");
        assert_eq!(kept["addenda"][0]["text"], words, "{name}");
        assert_eq!(kept["addenda"][0]["by"], "li-ming", "{name}");
        let s = laptop.sync();
        assert_eq!(
            (s["acked"].as_u64(), s["rejected"].as_u64()),
            (Some(1), Some(0)),
            "{name}: {s}"
        );
        assert!(rejected(&laptop).is_empty(), "{name}");
        town.sync();
        let r = record(&town, &report);
        assert_eq!(
            (r["state"].as_str(), r["addenda"][0]["text"].as_str()),
            (Some("accepted"), Some(words)),
            "{name}"
        );
        // Nothing is left to keep, and saying so changes nothing.
        let again = laptop.run(&["keep-words", &report], None);
        assert!(!again.status.success(), "{name}");
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("was not refused"),
            "{name}"
        );
    }
}

/// Two offices each add the same village to a task, and one accepts a report while the other
/// returns it: every edit lands, nothing is refused or left pending, and every device ends
/// with the same records (the village listed once; the report returned, a return beating an
/// acceptance).
#[test]
fn concurrent_valid_edits_all_land_and_every_device_agrees() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let name = b.name();
        let (village, town, city) = (Client::new(), Client::new(), Client::new());
        village.enroll(&server.url, &codes["li-ming"]);
        town.enroll(&server.url, &codes["wang-qiang"]);
        city.enroll(&server.url, &codes["zhao-min"]);

        let task = town.put(
            "task",
            &json!({"title": "报送融合发展工作方案", "issuer": "chengguan", "village": "chengguan",
                    "assigned_villages": ["dongfeng"], "deadline": "2026-06-30"}),
        );
        let report = village.put(
            "report",
            &json!({"month": "2026-05", "narrative": "本月开展党课两次，走访农户十二户。"}),
        );
        village.put("report", &json!({"id": report, "state": "submitted"}));
        for c in [&town, &village, &town, &city] {
            c.sync();
        }

        // Offline, each office adds 新河村 to the task; the township accepts the report and
        // the city returns it.
        for c in [&town, &city] {
            c.put(
                "task",
                &json!({"id": task, "assigned_villages": ["dongfeng", "xinhe"]}),
            );
        }
        town.put("report", &json!({"id": report, "state": "accepted"}));
        city.put(
            "report",
            &json!({"id": report, "state": "returned", "review_comment": "请补充走访记录。"}),
        );
        for c in [&town, &city] {
            let s = c.sync();
            assert_eq!(s["rejected"], 0, "{name}: {s}");
        }
        for c in [&town, &city, &village, &town] {
            c.sync();
            assert!(rejected_count(c) == 0, "{name}: nothing refused");
        }
        let late = Client::new();
        late.enroll(&server.url, &issue_code(&db, "zhao-min"));
        late.sync();
        let want = city.export();
        assert_eq!(town.export(), want, "{name}: the two offices agree");
        assert_eq!(late.export(), want, "{name}: a new device gets the same");
        let t = record(&late, &task);
        assert_eq!(
            t["assigned_villages"],
            json!(["dongfeng", "xinhe"]),
            "{name}: the village once"
        );
        let r = record(&village, &report);
        assert_eq!(
            (r["state"].as_str(), r["review_comment"].as_str()),
            (Some("returned"), Some("请补充走访记录。")),
            "{name}: the village sees the return and its comment"
        );
        // The village revises and resubmits: the report goes on.
        village.put(
            "report",
            &json!({"id": report, "narrative": "本月开展党课两次，走访农户十二户，附走访记录。",
                    "state": "submitted"}),
        );
        assert_eq!(village.sync()["rejected"], 0, "{name}");
        town.sync();
        assert_eq!(record(&town, &report)["state"], "submitted", "{name}");
    }
}

/// A task moved from one village to another: the old village's devices learn it moved (the
/// change that took the village off reaches them), and a progress note the old village wrote
/// before it knew still lands.
#[test]
fn a_task_moved_away_reaches_the_village_it_left() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let name = b.name();
        let (village, town) = (Client::new(), Client::new());
        village.enroll(&server.url, &codes["li-ming"]);
        town.enroll(&server.url, &codes["wang-qiang"]);
        let task = town.put(
            "task",
            &json!({"title": "报送融合发展工作方案", "issuer": "chengguan", "village": "chengguan",
                    "assigned_villages": ["dongfeng"], "deadline": "2026-06-30"}),
        );
        town.sync();
        village.sync();
        assert_eq!(
            record(&village, &task)["assigned_villages"],
            json!(["dongfeng"])
        );

        town.put("task", &json!({"id": task, "assigned_villages": ["xinhe"]}));
        town.sync();
        // Meanwhile the village, offline, wrote a progress note.
        village.put(
            "task",
            &json!({"id": task, "status": "in_progress",
                    "notes": [{"by": "li-ming", "village": "dongfeng", "on": "2026-06-01",
                               "text": "已起草方案初稿。"}]}),
        );
        let s = village.sync();
        assert_eq!(s["rejected"], 0, "{name}: the note lands: {s}");
        let held = record(&village, &task);
        assert_eq!(
            held["assigned_villages"],
            json!(["xinhe"]),
            "{name}: the village holds the task as moved away"
        );
        town.sync();
        let t = record(&town, &task);
        assert_eq!(t["notes"][0]["text"], "已起草方案初稿。", "{name}");
        assert_eq!(t["assigned_villages"], json!(["xinhe"]), "{name}");

        // After the move the old village gets nothing more of it, and may not edit it.
        town.put(
            "task",
            &json!({"id": task, "description": "请新河村于月底前报送。"}),
        );
        town.sync();
        village.sync();
        assert_eq!(record(&village, &task)["description"], "", "{name}");
        let e = village.run(
            &["put", "task"],
            Some(&json!({"id": task, "description": "再补一句。"}).to_string()),
        );
        assert!(!e.status.success(), "{name}");
        let said = String::from_utf8_lossy(&e.stderr);
        assert!(
            said.contains("outside this device's scope"),
            "{name}: {said}"
        );
    }
}

fn rejected_count(c: &Client) -> usize {
    rejected(c).len()
}

/// An office's browser session on the real server: the cookie and CSRF token of a login.
struct Office {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Office {
    fn login(base: &str, user: &str) -> Office {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let http = reqwest::Client::new();
        let (cookie, csrf) = rt.block_on(async {
            let r = http
                .post(format!("{base}/api/login"))
                .json(&json!({"user": user, "password": "zhucun-demo"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "login {user}");
            let cookie = r
                .headers()
                .get("set-cookie")
                .unwrap()
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_string();
            let body: Value = r.json().await.unwrap();
            (cookie, body["csrf"].as_str().unwrap().to_string())
        });
        Office {
            rt,
            http,
            base: base.to_string(),
            cookie,
            csrf,
        }
    }

    /// `(status, body)` of a GET, or of a POST with a JSON body.
    fn call(&self, path: &str, body: Option<Value>) -> (u16, Value) {
        self.rt.block_on(async {
            let url = format!("{}{path}", self.base);
            let r = match body {
                Some(b) => self
                    .http
                    .post(url)
                    .header("x-csrf-token", &self.csrf)
                    .json(&b),
                None => self.http.get(url),
            }
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        })
    }

    /// `(status, body)` of a file sent as the dashboard sends one (`POST /api/blobs`).
    fn upload(&self, name: &str, mime: &str, bytes: &[u8]) -> (u16, Value) {
        self.rt.block_on(async {
            let r = self
                .http
                .post(format!("{}/api/blobs", self.base))
                .query(&[("name", name)])
                .header("x-csrf-token", &self.csrf)
                .header("cookie", &self.cookie)
                .header("content-type", mime)
                .body(bytes.to_vec())
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        })
    }

    /// `(status, bytes)` of a file as the dashboard fetches one.
    fn download(&self, hash: &str) -> (u16, Vec<u8>) {
        self.rt.block_on(async {
            let r = self
                .http
                .get(format!("{}/api/blobs/{hash}", self.base))
                .header("cookie", &self.cookie)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
        })
    }
}

#[test]
fn the_dashboards_review_is_judged_by_the_models_rules() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let name = b.name();
        let (village, street) = (Client::new(), Client::new());
        village.enroll(&server.url, &codes["li-ming"]);
        street.enroll(&server.url, &codes["chen-jing"]);
        let report = village.put(
            "report",
            &json!({"month": "2026-05", "narrative": "本月开展党课两次。", "state": "submitted"}),
        );
        let draft = village.put("report", &json!({"month": "2026-06", "narrative": "草稿"}));
        village.sync();
        let theirs = street.put(
            "report",
            &json!({"month": "2026-05", "narrative": "社区月报。", "state": "submitted"}),
        );
        street.sync();

        // The township's queue: its villages' submitted reports only.
        let town = Office::login(&server.url, "wang-qiang");
        let (st, q) = town.call("/api/reviews", None);
        assert_eq!(st, 200, "{name}: {q}");
        let ids: Vec<&str> = q["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [report.as_str()], "{name}: {q}");
        assert_eq!(q["reports"][0]["village_name"], "东风村", "{name}");
        assert!(q["reports"][0]["waiting_since"].is_i64(), "{name}: {q}");
        let review = |o: &Office, id: &str, decision: &str, comment: &str| {
            o.call(
                &format!("/api/reports/{id}/review"),
                Some(json!({"decision": decision, "comment": comment})),
            )
        };

        // A return needs a comment; a draft cannot be decided on; another street's report is
        // not in the township's view.
        let (st, e) = review(&town, &report, "return", "  ");
        assert_eq!(
            (st, e["code"].as_str()),
            (422, Some("invalid")),
            "{name}: {e}"
        );
        assert!(
            e["message"].as_str().unwrap().contains("review_comment"),
            "{name}: {e}"
        );
        let (st, e) = review(&town, &draft, "accept", "");
        assert_eq!(
            (st, e["code"].as_str()),
            (422, Some("invalid")),
            "{name}: {e}"
        );
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("from draft to accepted"),
            "{name}: {e}"
        );
        let (st, e) = review(&town, &theirs, "accept", "");
        assert_eq!(
            (st, e["code"].as_str()),
            (404, Some("not_found")),
            "{name}: {e}"
        );
        assert!(!e.to_string().contains("社区月报"), "{name}: {e}");
        let (_, r) = town.call(&format!("/api/reports/{report}"), None);
        assert_eq!(
            r["state"], "submitted",
            "{name}: nothing refused was written"
        );
        assert_eq!(r["may_decide"], true, "{name}");

        // Returned with a comment: the village's device gets it on its next sync.
        let (st, r) = review(&town, &report, "return", "请补充走访情况");
        assert_eq!(st, 200, "{name}: {r}");
        assert_eq!(r["state"], "returned", "{name}");
        assert_eq!(r["may_decide"], false, "{name}");
        village.sync();
        let got = record(&village, &report);
        assert_eq!(got["state"], "returned", "{name}");
        assert_eq!(got["review_comment"], "请补充走访情况", "{name}");
        assert_eq!(got["reviewed_by"], "wang-qiang", "{name}");
        // Deciding again on a returned report is refused.
        let (st, e) = review(&town, &report, "accept", "");
        assert_eq!(
            (st, e["code"].as_str()),
            (422, Some("invalid")),
            "{name}: {e}"
        );
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("from returned to accepted"),
            "{name}: {e}"
        );

        // Resubmitted and accepted by the city; the history names each move's maker as the
        // server received it: the village's device, then the dashboard for the offices.
        village.put(
            "report",
            &json!({"id": report, "state": "submitted", "narrative": "本月开展党课两次，走访八户。"}),
        );
        village.sync();
        let city = Office::login(&server.url, "zhao-min");
        let (st, r) = review(&city, &report, "accept", "");
        assert_eq!(st, 200, "{name}: {r}");
        assert_eq!(r["state"], "accepted", "{name}");
        let moves: Vec<(String, String)> = r["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["fields"].as_array().unwrap().contains(&json!("state")))
            .map(|c| {
                (
                    c["receipt"]["person"].as_str().unwrap().to_string(),
                    c["receipt"]["device"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let device = |who: &str| -> (String, String) {
            let d = if who == "li-ming" {
                village.json(&["whoami", "--json"], None)["device"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            } else {
                "dashboard".into()
            };
            (who.to_string(), d)
        };
        assert_eq!(
            moves,
            [
                device("li-ming"),
                device("wang-qiang"),
                device("li-ming"),
                device("zhao-min")
            ],
            "{name}: {r}"
        );
        village.sync();
        assert_eq!(record(&village, &report)["state"], "accepted", "{name}");
    }
}

#[test]
fn the_party_life_calendar_is_the_same_on_the_device_and_the_dashboard() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let name = b.name();
        let village = Client::new();
        village.enroll(&server.url, &codes["li-ming"]);
        for (kind, date) in [
            ("branch_committee_meeting", "2026-05-04"),
            ("party_group_meeting", "2026-04-28"),
            ("party_lecture", "2026-04-10"),
            ("branch_member_meeting", "2026-03-30"),
            ("organisational_life_meeting", "2026-01-15"),
            ("theme_party_day", "2026-06-02"),
            ("household_visit", "2026-05-02"),
        ] {
            let mut a = json!({"activity_kind": kind, "date": date, "topic": format!("{kind} {date}"),
                "lecturer": "李明"});
            if kind == "household_visit" {
                a["household"] = json!("王大爷家");
            }
            village.put("activity", &a);
        }
        village.sync();

        // The device, offline, on the last day of May.
        let device = village.json(&["calendar", "--on", "2026-05-31"], None);
        // The dashboard's village page for May (the server's today is later).
        let office = Office::login(&server.url, "zhao-min");
        let (st, page) = office.call("/api/villages/dongfeng?month=2026-05", None);
        assert_eq!(st, 200, "{name}: {page}");
        assert_eq!(
            page["party_life"], device,
            "{name}: the device and the dashboard differ"
        );
        let of = |kind: &str| -> (u64, bool) {
            let i = device
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["activity_kind"] == kind)
                .unwrap_or_else(|| panic!("{name}: no {kind} in {device}"));
            (i["held"].as_u64().unwrap(), i["due"].as_bool().unwrap())
        };
        assert_eq!(of("branch_committee_meeting"), (1, false), "{name}");
        assert_eq!(
            of("party_group_meeting"),
            (0, true),
            "{name}: April's is not May's"
        );
        assert_eq!(
            of("theme_party_day"),
            (0, true),
            "{name}: June's is not May's"
        );
        assert_eq!(of("party_lecture"), (1, false), "{name}: the quarter's");
        assert_eq!(
            of("branch_member_meeting"),
            (0, true),
            "{name}: March is another quarter"
        );
        assert_eq!(
            of("organisational_life_meeting"),
            (1, false),
            "{name}: the year's"
        );
        assert_eq!(of("democratic_appraisal"), (0, true), "{name}");
    }
}

#[test]
fn a_township_issues_a_task_from_the_dashboard_and_follows_each_village() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let name = b.name();
        let village = Client::new();
        village.enroll(&server.url, &codes["li-ming"]);
        let town = Office::login(&server.url, "wang-qiang");
        let issue = |body: Value| town.call("/api/tasks", Some(body));

        // Refused with the reason, nothing written: no title; a village of another street;
        // a unit that does not exist.
        let (st, e) =
            issue(json!({"title": " ", "deadline": "2026-12-20", "villages": ["dongfeng"]}));
        assert_eq!(
            (st, e["code"].as_str()),
            (422, Some("invalid")),
            "{name}: {e}"
        );
        assert!(
            e["message"].as_str().unwrap().contains("title"),
            "{name}: {e}"
        );
        let (st, e) = issue(json!({"title": "越界任务", "deadline": "2026-12-20",
            "villages": ["dongfeng", "liuzhuang"]}));
        assert_eq!(
            (st, e["code"].as_str()),
            (403, Some("out_of_scope")),
            "{name}: {e}"
        );
        let (st, e) =
            issue(json!({"title": "无此村", "deadline": "2026-12-20", "villages": ["nowhere"]}));
        assert_eq!(
            (st, e["code"].as_str()),
            (422, Some("invalid")),
            "{name}: {e}"
        );
        let (_, board) = town.call("/api/tasks", None);
        assert_eq!(
            board["tasks"],
            json!([]),
            "{name}: nothing refused was written"
        );

        // A file to go with it: sent from the dashboard, stored by its hash.
        let form: Vec<u8> = "冬季帮扶台账（样表）\n户主,人口,帮扶措施\n"
            .repeat(20_000)
            .into_bytes();
        let (st, file) = town.upload("帮扶台账样表.csv", "text/csv", &form);
        assert_eq!(st, 201, "{name}: {file}");
        let hash = file["hash"].as_str().unwrap().to_string();
        assert_eq!(file["size"], form.len(), "{name}");
        assert_eq!(town.download(&hash), (200, form.clone()), "{name}");
        // A file needs a name and bytes: refused, naming which.
        let (st, e) = town.upload(" ", "text/csv", &form);
        assert_eq!(
            (st, e["code"].as_str()),
            (422, Some("invalid")),
            "{name}: {e}"
        );
        assert!(
            e["message"].as_str().unwrap().contains("name"),
            "{name}: {e}"
        );
        let (st, e) = town.upload("空文件.csv", "text/csv", b"");
        assert_eq!(
            (st, e["code"].as_str()),
            (422, Some("invalid")),
            "{name}: {e}"
        );
        assert!(
            e["message"].as_str().unwrap().contains("file"),
            "{name}: {e}"
        );
        // Naming a file the township neither sent nor sees is refused: another street's
        // photo whose hash it learnt.
        let other = Client::new();
        other.enroll(&server.url, &codes["chen-jing"]);
        let photo = b"\xff\xd8\xff a photo of hongqi's meeting".to_vec();
        let photo_path =
            std::env::temp_dir().join(format!("zhucun-hongqi-{}.jpg", std::process::id()));
        std::fs::write(&photo_path, &photo).unwrap();
        let photo_hash = other
            .ok(
                &[
                    "blob",
                    "add",
                    photo_path.to_str().unwrap(),
                    "--mime",
                    "image/jpeg",
                ],
                None,
            )
            .trim()
            .to_string();
        other.put(
            "activity",
            &json!({"activity_kind": "theme_party_day", "date": "2026-11-10", "topic": "主题党日",
                "attachments": [{"hash": photo_hash, "name": "会场.jpg", "mime": "image/jpeg", "size": photo.len()}]}),
        );
        other.sync();
        assert_eq!(
            town.download(&photo_hash).0,
            404,
            "{name}: another street's photo"
        );
        let (st, e) = issue(json!({"title": "借用附件", "deadline": "2026-12-20",
            "villages": ["dongfeng"], "attachments": [
                {"hash": photo_hash, "name": "x.jpg", "mime": "image/jpeg", "size": 1}]}));
        assert_eq!(
            (st, e["code"].as_str()),
            (404, Some("blob_missing")),
            "{name}: {e}"
        );

        // Issued to two villages: the village's device gets it on its next sync.
        let (st, r) = issue(
            json!({"title": "报送冬季帮扶台账", "deadline": "2026-12-20",
            "description": "各村于截止日前报送。", "villages": ["dongfeng", "xinhe"],
            "attachments": [file]}),
        );
        assert_eq!(st, 201, "{name}: {r}");
        let id = r["id"].as_str().unwrap().to_string();
        village.sync();
        let got = record(&village, &id);
        assert_eq!(got["attachments"][0]["name"], "帮扶台账样表.csv", "{name}");
        assert_eq!(got["attachments"][0]["hash"], json!(hash), "{name}");
        // The village fetches the file (it is its task's) and gets the same bytes; the other
        // street's device may not.
        village.ok(&["blob", "fetch", &hash], None);
        let out = std::env::temp_dir().join(format!("zhucun-task-file-{}.csv", std::process::id()));
        village.ok(
            &["blob", "get", &hash, "--output", out.to_str().unwrap()],
            None,
        );
        assert_eq!(std::fs::read(&out).unwrap(), form, "{name}");
        let _ = std::fs::remove_file(&out);
        let refused = other.run(&["blob", "fetch", &hash], None);
        assert!(
            !refused.status.success(),
            "{name}: another street fetched the task's file"
        );
        let _ = std::fs::remove_file(&photo_path);
        assert_eq!(got["title"], "报送冬季帮扶台账", "{name}");
        assert_eq!(got["issuer"], "chengguan", "{name}");
        assert_eq!(
            got["assigned_villages"],
            json!(["dongfeng", "xinhe"]),
            "{name}"
        );

        // The village answers offline; the township follows it per village.
        village.put(
            "task",
            &json!({"id": id, "status": "in_progress", "notes": [
                {"by": "li-ming", "village": "dongfeng", "on": "2026-12-05", "text": "已召开支委会研究"}]}),
        );
        village.sync();
        let (_, board) = town.call("/api/tasks", None);
        let t = &board["tasks"][0];
        assert_eq!(t["id"], json!(id), "{name}: {board}");
        assert_eq!(t["status"], "in_progress", "{name}");
        assert_eq!(t["issuer_name"], "城关镇", "{name}");
        let villages = t["villages"].as_array().unwrap();
        assert_eq!(villages.len(), 2, "{name}");
        assert_eq!(villages[0]["name"], "东风村", "{name}");
        assert_eq!(villages[0]["last_note"], "已召开支委会研究", "{name}");
        assert_eq!(villages[1]["notes"], 0, "{name}");
        // Overdue by the model's rule, on the server's today: not before the deadline passes.
        let today = chrono::Local::now().date_naive();
        let deadline = chrono::NaiveDate::from_ymd_opt(2026, 12, 20).unwrap();
        let overdue = zhucun_model::due(true, Some(deadline), today) == zhucun_model::Due::Overdue;
        assert_eq!(t["overdue"], overdue, "{name}");
    }
}

#[test]
fn the_development_pipeline_is_judged_by_the_partys_rules_and_the_township_approves() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let name = b.name();
        let village = Client::new();
        village.enroll(&server.url, &codes["li-ming"]);
        let full = |n: &str| {
            village.put(
                "member",
                &json!({"name": n, "stage": "full", "full_on": "2010-07-01"}),
            )
        };
        let (wang, li) = (full("王老党员"), full("李老党员"));
        let applicant = village.put(
            "member",
            &json!({"name": "赵申请", "stage": "applicant", "applied_on": "2026-11-10"}),
        );
        // An introducer must be a full member: an applicant is refused, with the rule named.
        let out = village.run(
            &["put", "member"],
            Some(
                &json!({"name": "错介绍", "stage": "development_target", "applied_on": "2024-03-01",
                    "activist_on": "2024-05-01", "target_on": "2025-06-01",
                    "introducers": [wang, applicant]})
                .to_string(),
            ),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("two introducers who are full members"),
            "{name}: {err}"
        );
        // A development target the village has prepared: introducers, review, training.
        let target = village.put(
            "member",
            &json!({"name": "刘芳", "gender": "female", "stage": "development_target",
                "applied_on": "2024-03-01", "talked_on": "2024-03-20", "activist_on": "2024-05-01",
                "target_on": "2025-06-01", "introducers": [wang, li],
                "political_review_on": "2026-03-01", "training_days": 3}),
        );
        // The applicant cannot become an activist before the talk: refused, the rule named.
        let out = village.run(
            &["put", "member"],
            Some(
                &json!({"id": applicant, "stage": "activist", "activist_on": "2026-11-30"})
                    .to_string(),
            ),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("the branch talks with an applicant"),
            "{name}: {err}"
        );
        let next = village.json(&["next-step", &applicant], None);
        assert_eq!(next["missing"], json!(["talk"]), "{name}: {next}");
        assert_eq!(next["latest"], "2026-12-10", "{name}: {next}");
        // The village may not give the township's pre-review, on the device...
        let out = village.run(
            &["put", "member"],
            Some(&json!({"id": target, "prereview_on": "2026-05-20"}).to_string()),
        );
        assert!(!out.status.success(), "{name}: the replica let it through");
        village.sync();
        // ...nor by a forged change the server receives (from a second device of the village,
        // which keeps the refused record to itself).
        let forger = Client::new();
        forger.enroll(&server.url, &issue_code(&db, "li-ming"));
        forger.sync();
        forge(&forger, &target, "prereview_on", "2026-05-20");
        let s = forger.sync();
        assert_eq!(s["rejected"], 1, "{name}: {s}");
        assert_eq!(
            rejected(&forger)[0]["code"],
            "forbidden",
            "{name}: {:?}",
            rejected(&forger)
        );

        // The township's queue: the prepared target waits on its pre-review.
        let town = Office::login(&server.url, "wang-qiang");
        let (st, q) = town.call("/api/approvals", None);
        assert_eq!(st, 200, "{name}: {q}");
        let items = q["members"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{name}: {q}");
        assert_eq!(
            (items[0]["id"].as_str(), items[0]["step"].as_str()),
            (Some(target.as_str()), Some("pre_review")),
            "{name}: {q}"
        );
        let approve = |o: &Office, id: &str, step: &str, on: &str| {
            o.call(
                &format!("/api/members/{id}/approve"),
                Some(json!({"step": step, "on": on})),
            )
        };
        // A pre-review before the person became a development target breaks the rule.
        let (st, e) = approve(&town, &target, "pre_review", "2025-05-01");
        assert_eq!(
            (st, e["code"].as_str()),
            (422, Some("invalid")),
            "{name}: {e}"
        );
        assert!(
            e["message"].as_str().unwrap().contains("pre-reviews"),
            "{name}: {e}"
        );
        let (st, e) = approve(&town, &target, "political_review", "2026-05-20");
        assert_eq!(st, 422, "{name}: not a township step: {e}");
        // The city may not give a township's approval.
        let city = Office::login(&server.url, "zhao-min");
        let (st, e) = approve(&city, &target, "pre_review", "2026-05-20");
        assert_eq!(
            (st, e["code"].as_str()),
            (403, Some("forbidden")),
            "{name}: {e}"
        );
        let (st, q) = approve(&town, &target, "pre_review", "2026-05-20");
        assert_eq!(st, 200, "{name}: {q}");
        assert_eq!(q["members"], json!([]), "{name}: {q}");

        // The device gets the pre-review; the branch meeting without a public notice is
        // refused, with a notice and a majority it is taken.
        village.ok(&["sync"], None);
        assert_eq!(record(&village, &target)["prereview_on"], "2026-05-20");
        let next = village.json(&["next-step", &target], None);
        assert_eq!(
            next["missing"],
            json!(["public_notice", "branch_vote"]),
            "{name}: {next}"
        );
        let meeting = json!({"id": target, "stage": "probationary",
            "probationary_on": "2026-06-20", "votes_for": 12, "voters": 20});
        let out = village.run(&["put", "member"], Some(&meeting.to_string()));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("publicly noticed"),
            "{name}: {err}"
        );
        let mut with_notice = meeting.clone();
        with_notice["notice_on"] = json!("2026-06-01");
        with_notice["votes_for"] = json!(10);
        let out = village.run(&["put", "member"], Some(&with_notice.to_string()));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("votes for must exceed half"),
            "{name}: {err}"
        );
        with_notice["votes_for"] = json!(11);
        village.ok(&["put", "member"], Some(&with_notice.to_string()));
        village.sync();

        // The township approves the probationary member within three months, not after.
        let (_, q) = town.call("/api/approvals", None);
        assert_eq!(q["members"][0]["step"], "approval", "{name}: {q}");
        assert_eq!(q["members"][0]["latest"], "2026-09-20", "{name}: {q}");
        let (st, e) = approve(&town, &target, "approval", "2026-09-21");
        assert_eq!(st, 422, "{name}: {e}");
        let (st, _) = approve(&town, &target, "approval", "2026-08-01");
        assert_eq!(st, 200, "{name}");
        village.ok(&["sync"], None);
        // Full membership only after a year of probation.
        let out = village.run(
            &["put", "member"],
            Some(&json!({"id": target, "stage": "full", "full_on": "2027-06-19"}).to_string()),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("probation lasts one year"),
            "{name}: {err}"
        );
        village.ok(
            &["put", "member"],
            Some(&json!({"id": target, "stage": "full", "full_on": "2027-06-20"}).to_string()),
        );
        village.sync();
        let (_, q) = town.call("/api/approvals", None);
        assert_eq!(q["members"][0]["step"], "full_approval", "{name}: {q}");
        let (st, q) = approve(&town, &target, "full_approval", "2027-07-01");
        assert_eq!((st, q["members"].clone()), (200, json!([])), "{name}: {q}");
        village.ok(&["sync"], None);
        assert_eq!(
            village.json(&["next-step", &target], None),
            Value::Null,
            "{name}: nothing left to do"
        );
    }
}

#[test]
fn a_villages_yearly_targets_are_the_townships_to_set() {
    for b in Backend::all() {
        let db = b.url();
        let codes = demo(&db);
        let server = Server::start(&db);
        let name = b.name();
        let village = Client::new();
        village.enroll(&server.url, &codes["li-ming"]);
        // The village keeps its profile, but its targets are not the village's to set.
        let out = village.run(
            &["put", "village"],
            Some(&json!({"name": "东风村", "development_target": 5}).to_string()),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("development_target"),
            "{name}: {err}"
        );
        let profile = village.put("village", &json!({"name": "东风村", "population": 1150}));
        village.sync();

        let town = Office::login(&server.url, "wang-qiang");
        let set = |o: &Office, v: &str, n: u32, women: u32| {
            o.call(
                &format!("/api/villages/{v}/targets"),
                Some(json!({"development_target": n, "women_target_percent": women})),
            )
        };
        // Outside the rules' 3 to 5, or by the city, or for a village outside the view: refused.
        let (st, e) = set(&town, "dongfeng", 6, 30);
        assert_eq!(
            (st, e["code"].as_str()),
            (422, Some("invalid")),
            "{name}: {e}"
        );
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("development_target"),
            "{name}: {e}"
        );
        let city = Office::login(&server.url, "zhao-min");
        let (st, e) = set(&city, "dongfeng", 4, 30);
        assert_eq!(
            (st, e["code"].as_str()),
            (403, Some("forbidden")),
            "{name}: {e}"
        );
        let (st, e) = set(&town, "hongqi", 4, 30);
        assert_eq!(st, 404, "{name}: {e}");
        // The township sets them: on the profile the village made, and on a new one for a
        // village that has none.
        let (st, e) = set(&town, "dongfeng", 4, 30);
        assert_eq!(st, 200, "{name}: {e}");
        let (st, e) = set(&town, "xinhe", 5, 50);
        assert_eq!(st, 200, "{name}: {e}");
        let (_, o) = town.call("/api/overview?month=2026-06", None);
        let row = |v: &str| {
            o["villages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == v)
                .cloned()
                .unwrap()
        };
        assert_eq!(
            (
                row("dongfeng")["target"].as_u64(),
                row("dongfeng")["women_target_percent"].as_u64()
            ),
            (Some(4), Some(30)),
            "{name}: {o}"
        );
        assert_eq!(row("xinhe")["target"], 5, "{name}: {o}");
        assert_eq!(
            (
                o["previous_month"].as_str(),
                o["same_month_last_year"].as_str()
            ),
            (Some("2026-05"), Some("2025-06")),
            "{name}: {o}"
        );
        // The village's device gets them; its own edit of the profile keeps them.
        village.sync();
        let r = record(&village, &profile);
        assert_eq!(
            (
                r["development_target"].as_u64(),
                r["women_target_percent"].as_u64()
            ),
            (Some(4), Some(30)),
            "{name}: {r}"
        );
        village.ok(
            &["put", "village"],
            Some(&json!({"id": profile, "feature": "有机茶叶"}).to_string()),
        );
        assert_eq!(village.sync()["rejected"], 0, "{name}");
    }
}
