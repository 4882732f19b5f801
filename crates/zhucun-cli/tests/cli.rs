//! The `zhucun` binary as scripts and the township office use it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const KEY: &str = "测试-key-1";

fn zhucun(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zhucun"));
    c.arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("ZHUCUN_KEY", KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        let mut si = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            // A command refused on its arguments exits without reading stdin.
            let _ = si.write_all(s.as_bytes());
        }
    }
    child.wait_with_output().unwrap()
}

fn ok(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let o = zhucun(dir, args, stdin);
    assert!(
        o.status.success(),
        "zhucun {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn fails(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let o = zhucun(dir, args, stdin);
    assert!(!o.status.success(), "zhucun {args:?} should fail");
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line on stderr: {err}"
    );
    assert!(err.starts_with("zhucun: error: "), "{err}");
    err
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

fn init(dir: &Path) {
    ok(
        dir,
        &["init", "--person", "李书记", "--village", "v-east"],
        None,
    );
}

#[test]
fn put_get_list_search_history() {
    let d = tempfile::tempdir().unwrap();
    init(d.path());
    let id = ok(
        d.path(),
        &["put", "activity"],
        Some(r#"{"activity_kind":"党课","date":"2026/5/8","topic":"学习党章","lecturer":"王老师","summary":"讨论村务公开"}"#),
    )
    .trim()
    .to_string();
    let got = json(&ok(d.path(), &["get", &id, "--json"], None));
    assert_eq!(got["record"]["activity_kind"], "party_lecture");
    assert_eq!(got["record"]["date"], "2026-05-08");
    assert_eq!(got["village"], "v-east");
    assert_eq!(got["synced"], false);

    let edit = format!(r#"{{"id":"{id}","place":"村委会"}}"#);
    let out = json(&ok(d.path(), &["put", "activity", "--json"], Some(&edit)));
    assert_eq!(out["changed"], true);

    let list = json(&ok(
        d.path(),
        &["list", "activity", "--month", "2026-05", "--json"],
        None,
    ));
    assert_eq!(list.as_array().unwrap().len(), 1);
    let none = json(&ok(
        d.path(),
        &["list", "activity", "--month", "2026-06", "--json"],
        None,
    ));
    assert!(none.as_array().unwrap().is_empty());
    let hits = json(&ok(d.path(), &["search", "党章", "--json"], None));
    assert_eq!(hits[0]["id"], Value::String(id.clone()));
    let hits = json(&ok(d.path(), &["search", "村务", "--json"], None));
    assert_eq!(hits.as_array().unwrap().len(), 1);
    let h = json(&ok(d.path(), &["history", &id, "--json"], None));
    assert_eq!(h.as_array().unwrap().len(), 2);
    assert_eq!(h[1]["fields"], serde_json::json!(["place"]));
    assert_eq!(h[1]["person"], "李书记");
    // Human output says what is not synced yet.
    assert!(ok(d.path(), &["list"], None).contains("未同步"));
}

#[test]
fn errors_are_one_line_and_nonzero() {
    let d = tempfile::tempdir().unwrap();
    init(d.path());
    let e = fails(
        d.path(),
        &["put", "activity"],
        Some(r#"{"activity_kind":"picnic"}"#),
    );
    assert!(e.contains("activity_kind") && e.contains("picnic"), "{e}");
    let e = fails(d.path(), &["put", "activity"], Some(r#"{"topic": "#));
    assert!(e.contains("not valid JSON"), "{e}");
    let e = fails(
        d.path(),
        &["put", "member"],
        Some(r#"{"name":"x","phone":"call me"}"#),
    );
    assert!(e.contains("phone"), "{e}");
    let e = fails(d.path(), &["put", "party"], Some("{}"));
    assert!(e.contains("party"), "{e}");
    let e = fails(d.path(), &["get", "nope"], None);
    assert!(e.contains("not a record id"), "{e}");
    let e = fails(
        d.path(),
        &["get", "0190f0a0-0000-7000-8000-000000000000"],
        None,
    );
    assert!(e.contains("no record"), "{e}");
    let e = fails(d.path(), &["list", "--month", "2026-13"], None);
    assert!(e.contains("--month"), "{e}");
    // Nothing was written by any of that.
    assert_eq!(ok(d.path(), &["list", "--json"], None).trim(), "[]");
    // A wrong key is refused with a clear line.
    let o = Command::new(env!("CARGO_BIN_EXE_zhucun"))
        .arg("--data-dir")
        .arg(d.path())
        .args(["list"])
        .env("ZHUCUN_KEY", "wrong")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("wrong key"), "{err}");
    // No key at all, no terminal: told what to do.
    let o = Command::new(env!("CARGO_BIN_EXE_zhucun"))
        .arg("--data-dir")
        .arg(d.path())
        .args(["list"])
        .env_remove("ZHUCUN_KEY")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("ZHUCUN_KEY"));
}

#[test]
fn export_is_canonical_and_docs_move_between_replicas() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    // The township issues the task; the village answers it.
    ok(
        a.path(),
        &[
            "init",
            "--person",
            "乡镇",
            "--role",
            "township_officer",
            "--village",
            "v-east",
        ],
        None,
    );
    init(b.path());
    let id = ok(
        a.path(),
        &["put", "task"],
        Some(r#"{"title":"报送工作方案","issuer":"town-1","assigned_villages":["v-east"],"deadline":"2026-05-20"}"#),
    )
    .trim()
    .to_string();
    let file = a.path().join("task.automerge");
    ok(
        a.path(),
        &["doc", "export", &id, "-o", file.to_str().unwrap()],
        None,
    );
    // The bytes are a plain Automerge document.
    let raw = std::fs::read(&file).unwrap();
    let doc = automerge::AutoCommit::load(&raw).unwrap();
    use automerge::ReadDoc;
    let (v, _) = doc.get(automerge::ROOT, "title").unwrap().unwrap();
    assert_eq!(v.as_str(), Some("报送工作方案"));
    let imported = json(&ok(
        b.path(),
        &["doc", "import", file.to_str().unwrap()],
        None,
    ));
    assert_eq!(imported["created"], true);
    // Concurrent edits on both, exchanged both ways.
    ok(
        a.path(),
        &["put", "task"],
        Some(&format!(r#"{{"id":"{id}","status":"in_progress"}}"#)),
    );
    ok(
        b.path(),
        &["put", "task"],
        Some(&format!(
            r#"{{"id":"{id}","notes":[{{"by":"乡镇","text":"请按时报送"}}]}}"#
        )),
    );
    let fa = a.path().join("a.am");
    let fb = b.path().join("b.am");
    ok(
        a.path(),
        &["doc", "export", &id, "-o", fa.to_str().unwrap()],
        None,
    );
    ok(
        b.path(),
        &["doc", "export", &id, "-o", fb.to_str().unwrap()],
        None,
    );
    ok(a.path(), &["doc", "import", fb.to_str().unwrap()], None);
    ok(b.path(), &["doc", "import", fa.to_str().unwrap()], None);
    let ea = ok(a.path(), &["export"], None);
    let eb = ok(b.path(), &["export"], None);
    assert_eq!(ea, eb);
    let v = json(&ea);
    assert_eq!(v["records"][0]["status"], "in_progress");
    assert_eq!(v["records"][0]["notes"][0]["text"], "请按时报送");
    // Garbage is refused.
    let junk = a.path().join("junk");
    std::fs::write(&junk, b"\x85\x6f\x4a\x83garbage").unwrap();
    fails(a.path(), &["doc", "import", junk.to_str().unwrap()], None);
}

#[test]
fn roster_spreadsheet_in_and_out() {
    let d = tempfile::tempdir().unwrap();
    init(d.path());
    // A village's own roster, Chinese headers, Excel dates and a numeric phone column.
    let xlsx = d.path().join("花名册.xlsx");
    {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        for (c, h) in [
            "姓名",
            "性别",
            "联系电话",
            "党员类别",
            "发展阶段",
            "转为正式党员日期",
            "重点群体",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "王秀英").unwrap();
        ws.write_string(1, 1, "女").unwrap();
        ws.write_number(1, 2, 13800138000.0).unwrap();
        ws.write_string(1, 3, "在村党员").unwrap();
        ws.write_string(1, 4, "正式党员").unwrap();
        ws.write_datetime_with_format(1, 5, ExcelDateTime::from_ymd(1995, 7, 1).unwrap(), &date)
            .unwrap();
        ws.write_string(2, 0, "赵强").unwrap();
        ws.write_string(2, 1, "男").unwrap();
        ws.write_string(2, 3, "流动党员").unwrap();
        ws.write_string(2, 4, "正式党员").unwrap();
        ws.write_string(2, 6, "退役军人、返乡青年").unwrap();
        wb.save(&xlsx).unwrap();
    }
    let out = ok(
        d.path(),
        &["table", "import", "member", xlsx.to_str().unwrap()],
        None,
    );
    assert!(out.contains("2 created"), "{out}");
    let rows = json(&ok(d.path(), &["list", "member", "--json"], None));
    assert_eq!(rows.as_array().unwrap().len(), 2);
    let migrants = json(&ok(
        d.path(),
        &["list", "member", "--sub-kind", "migrant", "--json"],
        None,
    ));
    assert_eq!(migrants[0]["title"], "赵强");
    let wang = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == "王秀英")
        .unwrap();
    let rec = json(&ok(
        d.path(),
        &["get", wang["id"].as_str().unwrap(), "--json"],
        None,
    ));
    assert_eq!(rec["record"]["phone"], "13800138000");
    assert_eq!(rec["record"]["full_on"], "1995-07-01");
    assert_eq!(rec["record"]["gender"], "female");

    // Export as XLSX and CSV, read back by the importer: an update, not a duplicate.
    let out_x = d.path().join("out.xlsx");
    ok(
        d.path(),
        &[
            "table",
            "export",
            "member",
            "--format",
            "xlsx",
            "-o",
            out_x.to_str().unwrap(),
        ],
        None,
    );
    let again = ok(
        d.path(),
        &["table", "import", "member", out_x.to_str().unwrap()],
        None,
    );
    assert!(
        again.contains("0 created, 0 updated, 2 unchanged"),
        "{again}"
    );
    let out_c = d.path().join("out.csv");
    ok(
        d.path(),
        &[
            "table",
            "export",
            "member",
            "--format",
            "csv",
            "-o",
            out_c.to_str().unwrap(),
        ],
        None,
    );
    let csv = std::fs::read_to_string(&out_c).unwrap();
    assert!(csv.starts_with("编号,村,姓名,性别"), "{csv}");
    assert!(csv.contains("王秀英"));

    // A bad row refuses the whole file, naming the row.
    let bad = d.path().join("bad.csv");
    std::fs::write(
        &bad,
        "姓名,性别,申请入党日期,发展阶段\n刘一,男,2026-01-01,applicant\n,女,2026-01-01,applicant\n",
    )
    .unwrap();
    let e = fails(
        d.path(),
        &["table", "import", "member", bad.to_str().unwrap()],
        None,
    );
    assert!(e.contains("row 2") && e.contains("name"), "{e}");
    let unknown = d.path().join("unknown.csv");
    std::fs::write(&unknown, "姓名,鞋码\n刘一,42\n").unwrap();
    let e = fails(
        d.path(),
        &["table", "import", "member", unknown.to_str().unwrap()],
        None,
    );
    assert!(e.contains("鞋码"), "{e}");
    assert_eq!(
        json(&ok(d.path(), &["list", "member", "--json"], None))
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn attachments_by_hash() {
    let d = tempfile::tempdir().unwrap();
    init(d.path());
    let photo = d.path().join("合影.jpg");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&photo, &bytes).unwrap();
    let hash = ok(
        d.path(),
        &[
            "blob",
            "add",
            photo.to_str().unwrap(),
            "--mime",
            "image/jpeg",
        ],
        None,
    )
    .trim()
    .to_string();
    assert_eq!(hash.len(), 64);
    let rec = format!(
        r#"{{"activity_kind":"theme_party_day","date":"2026-05-28","topic":"主题党日","attachments":[{{"hash":"{hash}","name":"合影.jpg","mime":"image/jpeg","size":{}}}]}}"#,
        bytes.len()
    );
    ok(d.path(), &["put", "activity"], Some(&rec));
    let back = d.path().join("back.jpg");
    ok(
        d.path(),
        &["blob", "get", &hash, "-o", back.to_str().unwrap()],
        None,
    );
    assert_eq!(std::fs::read(&back).unwrap(), bytes);
}

#[test]
fn the_walkthrough_runs() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(d.path(), &["walkthrough"], None);
    assert!(out.contains("党课：学习新修订的党章"), "{out}");
    let figures = json(&ok(
        d.path(),
        &["figures", "--month", "2026-05", "--village", "dongfeng"],
        None,
    ));
    assert_eq!(figures["activities_total"], 3);
    assert_eq!(figures["development"]["developed"], 1);
}

/// Reminders and the party-life calendar come from the device's records alone: this replica
/// was never enrolled and has no server to reach.
#[test]
fn reminders_and_the_calendar_work_with_no_network() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let put = |kind: &str, rec: &str| ok(dir, &["put", kind], Some(rec)).trim().to_string();
    // The township's task, as it would arrive; then the device is the village's.
    ok(
        dir,
        &[
            "init",
            "--person",
            "王强",
            "--role",
            "township_officer",
            "--village",
            "town",
            "--village",
            "v-east",
        ],
        None,
    );
    let task = put(
        "task",
        r#"{"title": "报送台账", "issuer": "town", "village": "town",
            "assigned_villages": ["v-east"], "deadline": "2026-12-30"}"#,
    );
    init(dir);
    let member = put(
        "member",
        r#"{"name": "赵丽", "gender": "female", "stage": "probationary", "birth_date": "1996-08-08",
            "applied_on": "2024-03-01", "activist_on": "2024-04-01", "target_on": "2025-06-01",
            "probationary_on": "2026-01-15"}"#,
    );
    put(
        "activity",
        r#"{"activity_kind": "branch_committee_meeting", "date": "2026-12-03", "topic": "支委会"}"#,
    );
    let r = json(&ok(dir, &["reminders", "--on", "2026-12-28"], None));
    let seen: Vec<(String, Option<String>)> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_string(),
                m["record"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert!(seen.contains(&("task_due".into(), Some(task))), "{r}");
    assert!(
        seen.contains(&("probation_ends".into(), Some(member))),
        "{r}"
    );
    // The committee met this month: not reminded; the party group has not.
    let meetings: Vec<&str> = r
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "meeting_due")
        .map(|m| m["title"].as_str().unwrap())
        .collect();
    assert!(meetings.contains(&"party_group_meeting"), "{r}");
    assert!(!meetings.contains(&"branch_committee_meeting"), "{r}");
    let cal = json(&ok(dir, &["calendar", "--on", "2026-12-28"], None));
    let committee = cal
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["activity_kind"] == "branch_committee_meeting")
        .unwrap();
    assert_eq!(
        (committee["held"].as_u64(), committee["due"].as_bool()),
        (Some(1), Some(false))
    );
    assert!(fails(dir, &["reminders", "--on", "明天"], None).contains("--on"));
}
