//! The replica as a caller meets it: real encrypted files in a temporary directory.

use serde_json::{json, Map, Value};
use zhucun_model::{Kind, ModelError};
use zhucun_replica::{Filter, Key, Replica, ReplicaError};

fn key() -> Key {
    Key::Raw([7u8; 32])
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn open(dir: &std::path::Path) -> Replica {
    let mut r = Replica::open(dir, &key()).unwrap();
    r.set_profile(None, "李书记", "first_secretary", &["v-east".into()])
        .unwrap();
    r
}

fn lecture(topic: &str, date: &str) -> Map<String, Value> {
    obj(
        json!({"activity_kind": "party_lecture", "date": date, "topic": topic,
               "lecturer": "王老师", "summary": "学习党章，讨论村集体经济发展"}),
    )
}

#[test]
fn wrong_key_is_a_clear_error_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut r = open(dir.path());
        r.put(Kind::Activity, &lecture("党课", "2026-05-01"))
            .unwrap();
    }
    let file = dir.path().join(zhucun_replica::FILE_NAME);
    let before = std::fs::read(&file).unwrap();
    let err = Replica::open(dir.path(), &Key::Raw([8u8; 32]))
        .err()
        .unwrap();
    assert!(matches!(err, ReplicaError::WrongKey { .. }), "{err}");
    assert!(err.to_string().contains("wrong key"));
    let err = Replica::open(dir.path(), &Key::Passphrase("guess".into()))
        .err()
        .unwrap();
    assert!(matches!(err, ReplicaError::WrongKey { .. }));
    assert_eq!(std::fs::read(&file).unwrap(), before);
    // The right key still opens it, with the record and the same device actor.
    let actor = open(dir.path()).profile().actor.clone();
    let r = Replica::open(dir.path(), &key()).unwrap();
    assert_eq!(r.list(&Filter::default()).unwrap().len(), 1);
    assert_eq!(
        r.profile().actor,
        actor,
        "one persisted actor id per device"
    );
}

#[test]
fn personal_data_is_not_in_plaintext_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let canary_name = "甄卡纳瑞";
    let canary_id = "11010519491231002X";
    {
        let mut r = open(dir.path());
        r.put(
            Kind::Member,
            &obj(json!({"name": canary_name, "id_number": canary_id, "phone": "13912345678"})),
        )
        .unwrap();
    }
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let hay = String::from_utf8_lossy(&bytes);
        assert!(!hay.contains(canary_id));
        assert!(!hay.contains(canary_name));
        assert!(!hay.contains("13912345678"));
    }
}

#[test]
fn create_edit_get_and_the_device_village() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(dir.path());
    let out = r
        .put(Kind::Activity, &lecture("党课：学习党章", "2026-05-01"))
        .unwrap();
    assert!(out.created && out.changed);
    let got = r.get(&out.id).unwrap();
    assert_eq!(got.village, "v-east");
    assert_eq!(got.record["topic"], "党课：学习党章");
    assert_eq!(got.record["created_by"], "李书记");
    assert!(!got.synced);

    let mut edit = Map::new();
    edit.insert("id".into(), json!(out.id));
    edit.insert("place".into(), json!("村委会会议室"));
    let e = r.put(Kind::Activity, &edit).unwrap();
    assert!(!e.created && e.changed);
    let got = r.get(&out.id).unwrap();
    assert_eq!(got.record["place"], "村委会会议室");
    assert_eq!(
        got.record["topic"], "党课：学习党章",
        "fields not given stay"
    );
    // Saving the same again changes nothing.
    assert!(!r.put(Kind::Activity, &edit).unwrap().changed);
    // The wrong kind for an id is refused.
    assert!(matches!(
        r.put(Kind::Member, &edit),
        Err(ReplicaError::KindMismatch { .. })
    ));
}

#[test]
fn invalid_input_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(dir.path());
    let mut bad = lecture("", "2026-05-01");
    let e = r.put(Kind::Activity, &bad).unwrap_err();
    assert_eq!(e.to_string(), "invalid field: topic is required");
    bad = lecture("t", "2026-05-01");
    bad.insert(
        "attendees".into(),
        json!(["0190f0a0-0000-7000-8000-000000000000"]),
    );
    let e = r.put(Kind::Activity, &bad).unwrap_err();
    assert!(e.to_string().contains("attendees[0]"), "{e}");
    let e = r
        .put(
            Kind::Member,
            &obj(json!({"name": "x", "stage": "activist",
            "applied_on": "2026-03-01", "activist_on": "2026-01-01"})),
        )
        .unwrap_err();
    assert!(e.to_string().contains("activist_on"), "{e}");
    let e = r
        .put(Kind::Project, &obj(json!({"name": "x", "funds_spent": -5})))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid field: funds_spent must not be negative"
    );
    let e = r
        .put(
            Kind::Activity,
            &obj(json!({"village": "v-west", "topic": "t"})),
        )
        .unwrap_err();
    assert!(matches!(e, ReplicaError::OutOfScope { .. }));
    assert!(r.list(&Filter::default()).unwrap().is_empty());
    assert_eq!(r.integrity_check().unwrap(), ["ok"]);
}

#[test]
fn attendees_come_from_the_roster() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(dir.path());
    let m = r
        .put(Kind::Member, &obj(json!({"name": "王芳", "gender": "女"})))
        .unwrap();
    let mut a = lecture("党课", "2026-05-02");
    a.insert("attendees".into(), json!([m.id]));
    let out = r.put(Kind::Activity, &a).unwrap();
    assert_eq!(r.get(&out.id).unwrap().record["attendees"][0], json!(m.id));
}

#[test]
fn lists_filter_from_projections() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(dir.path());
    r.put(Kind::Activity, &lecture("五月党课", "2026-05-10"))
        .unwrap();
    r.put(Kind::Activity, &lecture("六月党课", "2026-06-10"))
        .unwrap();
    r.put(
        Kind::Activity,
        &obj(
            json!({"activity_kind": "household_visit", "date": "2026-05-12",
                    "topic": "走访困难户", "household": "张家"}),
        ),
    )
    .unwrap();
    let may = r
        .list(&Filter {
            kind: Some(Kind::Activity),
            from: Some("2026-05-01".into()),
            to: Some("2026-05-31".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(may.len(), 2);
    assert_eq!(may[0].title, "走访困难户", "newest first");
    let visits = r
        .list(&Filter {
            sub_kind: Some("household_visit".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(
        r.list(&Filter {
            limit: Some(1),
            ..Default::default()
        })
        .unwrap()
        .len(),
        1
    );
    // The count of a filtered list ignores its page.
    let may_filter = Filter {
        kind: Some(Kind::Activity),
        from: Some("2026-05-01".into()),
        to: Some("2026-05-31".into()),
        limit: Some(1),
        offset: 1,
        ..Default::default()
    };
    assert_eq!(r.count(&may_filter).unwrap(), 2);
    assert_eq!(r.count(&Filter::default()).unwrap(), 3);
}

#[test]
fn one_records_line_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(dir.path());
    let out = r
        .put(Kind::Activity, &lecture("五月党课", "2026-05-10"))
        .unwrap();
    let row = r.row(&out.id).unwrap().expect("the record's line");
    assert_eq!(
        (
            row.id.as_str(),
            row.kind.as_str(),
            row.title.as_str(),
            row.synced
        ),
        (out.id.as_str(), "activity", "五月党课", false)
    );
    assert_eq!(r.row("00000000-0000-4000-8000-000000000000").unwrap(), None);
    assert!(r.row("not an id").is_err());
}

/// The app's background sync holds a second connection to the same file. An edit typed on
/// the first while the second runs a sync-protocol round on the same record must survive the
/// round's save, and both edits must end up in the record.
#[test]
fn an_edit_made_while_sync_holds_the_record_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut ui = open(dir.path());
    let mut sync = open(dir.path());
    let id = ui
        .put(Kind::Activity, &lecture("十一月党课", "2026-11-10"))
        .unwrap()
        .id;
    // Sync starts a round on the record, with a copy from before the next edit...
    let mut copy = sync.doc_for_sync(&id).unwrap();
    // ...the secretary goes on typing...
    let mut edit = obj(json!({"summary": "学习党章，讨论村集体经济发展。补充：会后走访三户。"}));
    edit.insert("id".into(), Value::String(id.clone()));
    ui.put(Kind::Activity, &edit).unwrap();
    // ...and the round ends with the server having the copy's heads.
    sync.save_synced_doc(&mut copy, true).unwrap();
    let now = ui.get(&id).unwrap();
    assert_eq!(
        now.record["summary"],
        "学习党章，讨论村集体经济发展。补充：会后走访三户。"
    );
    assert!(!now.synced, "the later edit has not reached the server");
    assert_eq!(
        ui.list(&Filter {
            unsynced_only: true,
            ..Default::default()
        })
        .unwrap()
        .len(),
        1
    );
}

#[test]
fn an_edit_saved_while_a_refused_push_was_on_the_way_is_pushed_next() {
    let dir = tempfile::tempdir().unwrap();
    let mut ui = open(dir.path());
    let mut sync = open(dir.path());
    let id = ui
        .put(Kind::Activity, &lecture("十一月党课", "2026-11-10"))
        .unwrap()
        .id;
    // A round sends the record as it is...
    let sent = sync.dirty_records(1 << 20).unwrap();
    assert_eq!(sent.len(), 1);
    // ...the secretary edits it meanwhile...
    let mut edit = obj(json!({"summary": "会后走访三户。"}));
    edit.insert("id".into(), Value::String(id.clone()));
    ui.put(Kind::Activity, &edit).unwrap();
    // ...and the server refuses what was sent.
    sync.mark_rejected(&[(
        id.clone(),
        sent[0].heads.clone(),
        "invalid".into(),
        "refused".into(),
    )])
    .unwrap();
    // The newer edit is not held back by the refusal of the older one: it is pushed next,
    // and the refusal is not shown for words the server has not seen.
    assert_eq!(sync.dirty_ids().unwrap(), vec![id.clone()]);
    assert!(sync.rejected().unwrap().is_empty());
    // Refused at the heads it has now, it waits for the user (and says why).
    let again = sync.dirty_records(1 << 20).unwrap();
    sync.mark_rejected(&[(
        id.clone(),
        again[0].heads.clone(),
        "invalid".into(),
        "refused".into(),
    )])
    .unwrap();
    assert!(sync.dirty_ids().unwrap().is_empty());
    assert_eq!(sync.rejected().unwrap().len(), 1);
}

#[test]
fn search_finds_two_character_chinese_words_phrases_and_latin() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(dir.path());
    let a = r
        .put(Kind::Activity, &lecture("学习新党章", "2026-05-01"))
        .unwrap();
    let b = r
        .put(
            Kind::Activity,
            &obj(
                json!({"activity_kind": "household_visit", "date": "2026-05-02",
                        "topic": "Visit to the Zhang household", "household": "张家",
                        "summary": "了解务工情况"}),
            ),
        )
        .unwrap();
    let ids = |q: &str| -> Vec<String> {
        r.search(q, None, 20)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect()
    };
    assert_eq!(ids("党章"), vec![a.id.clone()]);
    assert_eq!(ids("集体经济"), vec![a.id.clone()]);
    assert_eq!(ids("务工"), vec![b.id.clone()]);
    assert_eq!(ids("visit"), vec![b.id.clone()], "case-insensitive word");
    assert_eq!(ids("househ"), vec![b.id.clone()], "prefix");
    assert!(
        ids("党课学习").is_empty(),
        "characters not adjacent do not match"
    );
    assert!(ids("章党").is_empty());
    assert_eq!(ids("张").len(), 1);
    assert!(
        ids("\"').*").is_empty(),
        "query syntax is not passed through"
    );
}

#[test]
fn history_says_who_changed_what() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(dir.path());
    let out = r
        .put(Kind::Activity, &lecture("党课", "2026-05-01"))
        .unwrap();
    let mut edit = Map::new();
    edit.insert("id".into(), json!(out.id));
    edit.insert("summary".into(), json!("改过的摘要"));
    r.put(Kind::Activity, &edit).unwrap();
    let h = r.history(&out.id).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].fields, ["summary"]);
    assert_eq!(h[1].person.as_deref(), Some("李书记"));
    assert_eq!(h[1].actor, r.edit_actor());
    assert_eq!(h[1].device.as_deref(), Some(r.profile().device.as_str()));
}

#[test]
fn import_merges_and_export_is_canonical() {
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let mut a = open(d1.path());
    let mut b = open(d2.path());
    assert_ne!(a.profile().actor, b.profile().actor, "one actor per device");
    let out = a
        .put(Kind::Activity, &lecture("党课", "2026-05-01"))
        .unwrap();
    b.import_doc(&a.doc_bytes(&out.id).unwrap()).unwrap();
    let mut ea = Map::new();
    ea.insert("id".into(), json!(out.id));
    ea.insert("place".into(), json!("村委会"));
    a.put(Kind::Activity, &ea).unwrap();
    let mut eb = Map::new();
    eb.insert("id".into(), json!(out.id));
    eb.insert("lecturer".into(), json!("刘老师"));
    b.put(Kind::Activity, &eb).unwrap();
    let r1 = a.import_doc(&b.doc_bytes(&out.id).unwrap()).unwrap();
    assert!(r1.changed && !r1.created);
    b.import_doc(&a.doc_bytes(&out.id).unwrap()).unwrap();
    // Importing the same again is a no-op.
    assert!(
        !b.import_doc(&a.doc_bytes(&out.id).unwrap())
            .unwrap()
            .changed
    );
    let (mut xa, mut xb) = (Vec::new(), Vec::new());
    a.export_canonical(&mut xa).unwrap();
    b.export_canonical(&mut xb).unwrap();
    assert_eq!(
        String::from_utf8(xa.clone()).unwrap(),
        String::from_utf8(xb).unwrap()
    );
    let v: Value = serde_json::from_slice(&xa).unwrap();
    assert_eq!(v["records"][0]["place"], "村委会");
    assert_eq!(v["records"][0]["lecturer"], "刘老师");
    // The search index follows merged content.
    assert_eq!(b.search("村委会", None, 5).unwrap().len(), 1);
    // Garbage is refused without harm.
    assert!(a.import_doc(b"not automerge").is_err());
    assert_eq!(a.integrity_check().unwrap(), ["ok"]);
}

#[test]
fn monthly_report_figures_come_from_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(dir.path());
    // The target is the township's: set on a township officer's replica, it arrives here.
    let tdir = tempfile::tempdir().unwrap();
    let mut town = Replica::open(tdir.path(), &key()).unwrap();
    town.set_profile(None, "王委员", "township_officer", &["v-east".into()])
        .unwrap();
    let profile = town
        .put(
            Kind::Village,
            &obj(json!({"name": "东村", "village": "v-east", "development_target": 4})),
        )
        .unwrap();
    r.import_doc(&town.doc_bytes(&profile.id).unwrap()).unwrap();
    // The village may not set it itself.
    let refused = r.put(
        Kind::Village,
        &obj(json!({"id": profile.id, "development_target": 5})),
    );
    assert!(
        matches!(refused, Err(ReplicaError::Model(ModelError::Forbidden(_)))),
        "{refused:?}"
    );
    r.put(Kind::Activity, &lecture("党课", "2026-05-01"))
        .unwrap();
    r.put(
        Kind::Activity,
        &obj(json!({"activity_kind": "branch_committee_meeting", "date": "2026-05-03", "topic": "支委会"})),
    )
    .unwrap();
    r.put(
        Kind::Member,
        &obj(
            json!({"name": "赵丽", "gender": "female", "stage": "probationary",
                    "applied_on": "2025-01-01", "activist_on": "2025-03-01",
                    "target_on": "2025-10-01", "probationary_on": "2026-04-01"}),
        ),
    )
    .unwrap();
    let out = r
        .put(
            Kind::Report,
            &obj(json!({"month": "2026-05", "narrative": "本月工作"})),
        )
        .unwrap();
    let rep = r.get(&out.id).unwrap().record;
    let f = &rep["figures"];
    assert_eq!(f["activities_by_kind"]["party_lecture"], 1);
    assert_eq!(f["activities_total"], 2);
    assert_eq!(f["development"]["developed"], 1);
    assert_eq!(f["development"]["women_percent"], 100);
    assert_eq!(f["development"]["target"], 4);
    // A second report for the same month is refused.
    let e = r
        .put(Kind::Report, &obj(json!({"month": "2026-05"})))
        .unwrap_err();
    assert!(matches!(e, ReplicaError::DuplicateReport { .. }));
    // Submitted figures are frozen.
    let mut sub = Map::new();
    sub.insert("id".into(), json!(out.id));
    sub.insert("state".into(), json!("submitted"));
    r.put(Kind::Report, &sub).unwrap();
    r.put(Kind::Activity, &lecture("又一次党课", "2026-05-20"))
        .unwrap();
    let mut touch = Map::new();
    touch.insert("id".into(), json!(out.id));
    // Once submitted its words are the township's to review (the rules refuse a change to
    // them); a note may still be attached, and the figures stay as submitted.
    let mut words = touch.clone();
    words.insert("narrative".into(), json!("本月工作（补充）"));
    assert!(r.put(Kind::Report, &words).is_err());
    touch.insert(
        "addenda".into(),
        json!([{"by": "李书记", "on": "2026-05-21", "text": "本月工作（补充）"}]),
    );
    r.put(Kind::Report, &touch).unwrap();
    assert_eq!(
        r.get(&out.id).unwrap().record["figures"]["activities_total"],
        2
    );
    assert_eq!(
        r.monthly_figures("v-east", 2026, 5)
            .unwrap()
            .activities_total,
        3
    );
}

#[test]
fn blobs_are_content_addressed_and_attachments_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(dir.path());
    let photo: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let h = r.put_blob(&photo, "image/jpeg").unwrap();
    assert_eq!(r.put_blob(&photo, "image/jpeg").unwrap(), h);
    assert_eq!(r.get_blob(&h).unwrap(), photo);
    let mut a = lecture("党课", "2026-05-01");
    a.insert(
        "attachments".into(),
        json!([{"hash": h, "name": "合影.jpg", "mime": "image/jpeg", "size": photo.len()}]),
    );
    let out = r.put(Kind::Activity, &a).unwrap();
    assert_eq!(
        r.attachment_name(&out.id, &h).unwrap().as_deref(),
        Some("合影.jpg")
    );
    assert_eq!(r.attachment_name(&out.id, &"1".repeat(64)).unwrap(), None);
    assert_eq!(
        r.attachment_name("00000000-0000-4000-8000-000000000000", &h)
            .unwrap(),
        None
    );
    let missing = "0".repeat(64);
    a.insert(
        "attachments".into(),
        json!([{"hash": missing, "name": "x.jpg"}]),
    );
    let e = r.put(Kind::Activity, &a).unwrap_err();
    assert!(e.to_string().contains("attachments[0].hash"), "{e}");
}

#[test]
fn newer_fields_survive_an_edit_through_the_replica() {
    let d1 = tempfile::tempdir().unwrap();
    let mut r = open(d1.path());
    let out = r
        .put(Kind::Activity, &lecture("党课", "2026-05-01"))
        .unwrap();
    // A newer app version on another device adds a field and bumps the schema.
    let mut doc =
        zhucun_model::automerge::AutoCommit::load(&r.doc_bytes(&out.id).unwrap()).unwrap();
    use zhucun_model::automerge::transaction::Transactable;
    doc.put(zhucun_model::automerge::ROOT, "weather", "小雨")
        .unwrap();
    doc.put(zhucun_model::automerge::ROOT, "schema", 2i64)
        .unwrap();
    doc.commit();
    r.import_doc(&doc.save()).unwrap();
    let mut edit = Map::new();
    edit.insert("id".into(), json!(out.id));
    edit.insert("place".into(), json!("文化广场"));
    r.put(Kind::Activity, &edit).unwrap();
    let got = r.get(&out.id).unwrap().record;
    assert_eq!(got["weather"], "小雨");
    assert_eq!(got["schema"], 2);
    assert_eq!(got["place"], "文化广场");
}

/// A replica written by the first released schema (made with `zhucun` at schema 1, key
/// `fixture-v1`): every later version must open it, migrate it and find its records.
#[test]
fn a_replica_from_schema_1_opens_and_migrates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/replica-v1.db"),
        dir.path().join(zhucun_replica::FILE_NAME),
    )
    .unwrap();
    let mut r = Replica::open(dir.path(), &Key::Passphrase("fixture-v1".into())).unwrap();
    assert_eq!(r.integrity_check().unwrap(), ["ok"]);
    assert_eq!(r.profile().person, "固定样本");
    let acts = r.search("党章", Some(Kind::Activity), 10).unwrap();
    assert_eq!(acts.len(), 1);
    let act = r.get(&acts[0].id).unwrap().record;
    let member = r.get(act["attendees"][0].as_str().unwrap()).unwrap().record;
    assert_eq!(member["name"], "王芳");
    assert_eq!(member["id_number"], "11010519491231002X");
    let reports = r
        .list(&Filter {
            kind: Some(Kind::Report),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(reports[0].status.as_deref(), Some("draft"));
    // And it takes new writes.
    r.put(Kind::Activity, &lecture("新的党课", "2026-06-01"))
        .unwrap();
    assert_eq!(r.search("新的", None, 5).unwrap().len(), 1);
}

#[test]
fn pulled_changes_that_cannot_be_applied_are_kept_for_a_fetch() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = open(da.path());
    let mut b = open(db.path());
    let id = a
        .put(Kind::Activity, &lecture("十二月党课", "2026-12-01"))
        .unwrap()
        .id;
    let first = a.dirty_records(1 << 20).unwrap();
    a.mark_acked(&[(id.clone(), first[0].heads.clone())])
        .unwrap();
    let mut edit = obj(json!({"place": "村委会"}));
    edit.insert("id".into(), Value::String(id.clone()));
    a.put(Kind::Activity, &edit).unwrap();
    let second = a.dirty_records(1 << 20).unwrap();

    // The edit arrives without the change it builds on, beside bytes that are no change.
    let junk = "0190e0a0-0000-7000-8000-000000000001".to_string();
    let page = vec![
        (id.clone(), second[0].changes.clone()),
        (junk.clone(), vec![b"not an automerge change".to_vec()]),
    ];
    let applied = b.apply_pull(&page, 7, None).unwrap();
    assert_eq!(applied.records, 0);
    assert_eq!(b.cursor().unwrap(), 7, "the cursor moves on past the page");
    let waiting = b.unapplied_pulls().unwrap();
    let ids: Vec<&str> = waiting.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, [id.as_str(), junk.as_str()]);
    assert!(waiting[0].reason.contains("waits"), "{waiting:?}");
    assert!(
        waiting[1].reason.contains("could not be read"),
        "{waiting:?}"
    );
    assert!(matches!(b.get(&id), Err(ReplicaError::NotFound(_))));

    // Kept across a restart, and a failed fetch is counted.
    drop(b);
    let mut b = open(db.path());
    b.note_fetch_failed(&junk, "no such record").unwrap();
    let waiting = b.unapplied_pulls().unwrap();
    assert_eq!(waiting.len(), 2);
    assert_eq!(
        (waiting[1].attempts, waiting[1].reason.as_str()),
        (1, "no such record")
    );

    // The record fetched whole (what the sync protocol brings) lands and leaves the list.
    let mut fetched = b.doc_for_fetch(&id).unwrap();
    let mut full = a.doc_for_sync(&id).unwrap();
    fetched.merge(&mut full).unwrap();
    b.save_synced_doc(&mut fetched, true).unwrap();
    let got = b.get(&id).unwrap();
    assert_eq!(got.record["place"], "村委会");
    assert!(got.synced);
    b.forget_unapplied(&junk).unwrap();
    assert!(b.unapplied_pulls().unwrap().is_empty());

    // A page that brings the whole history clears an entry as well.
    let dc = tempfile::tempdir().unwrap();
    let mut c = open(dc.path());
    c.apply_pull(&[(id.clone(), second[0].changes.clone())], 1, None)
        .unwrap();
    assert_eq!(c.unapplied_pulls().unwrap().len(), 1);
    let mut all = first[0].changes.clone();
    all.extend(second[0].changes.clone());
    let applied = c.apply_pull(&[(id.clone(), all)], 2, None).unwrap();
    assert_eq!(applied.records, 1);
    assert!(c.unapplied_pulls().unwrap().is_empty());
    assert_eq!(c.get(&id).unwrap().record["place"], "村委会");
}

#[test]
fn a_replica_restored_from_a_copy_edits_under_a_new_actor() {
    // Last night's copy of the data directory, a day of edits on the original, then the
    // copy comes back and is edited before it ever syncs. Its edit must merge with the
    // lost day (which the server holds): same actor and sequence number would be refused.
    let live = tempfile::tempdir().unwrap();
    let copy = tempfile::tempdir().unwrap();
    let id = {
        let mut r = open(live.path());
        r.put(Kind::Activity, &lecture("党课", "2026-05-01"))
            .unwrap()
            .id
    };
    for f in std::fs::read_dir(live.path()).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), copy.path().join(f.file_name())).unwrap();
    }
    let edit = |field: &str, value: &str| {
        let mut m = Map::new();
        m.insert("id".into(), json!(id));
        m.insert(field.into(), json!(value));
        m
    };
    let mut original = open(live.path());
    original
        .put(Kind::Activity, &edit("place", "村委会"))
        .unwrap();
    let mut restored = open(copy.path());
    assert_eq!(restored.profile().actor, original.profile().actor);
    assert_ne!(restored.edit_actor(), original.edit_actor());
    restored
        .put(Kind::Activity, &edit("topic", "学习党章"))
        .unwrap();
    let out = restored
        .import_doc(&original.doc_bytes(&id).unwrap())
        .unwrap();
    assert!(out.changed);
    let got = restored.get(&id).unwrap();
    assert_eq!(
        (&got.record["place"], &got.record["topic"]),
        (&json!("村委会"), &json!("学习党章")),
        "{got:?}"
    );
}
