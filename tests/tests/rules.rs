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
