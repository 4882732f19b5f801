//! Arbitrary bytes as a record: loaded as an Automerge document (a file imported with
//! `zhucun doc import`, a stored document, a whole-document log entry) and hydrated into the
//! typed record, validated, its facts and figures computed. With the first byte's low bit
//! set the rest is instead a record's JSON as stored or typed by a user (`from_stored`,
//! `apply_input`), which reaches validation far more often than mutated Automerge bytes do;
//! a valid record must survive being written into a new document and read back unchanged,
//! and any record that parses must read back as what a document settles it to (a merge's
//! leftovers the model clears, such as a household on a meeting) and stay that way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhucun_model::automerge::ActorId;
use zhucun_model::{AnyRecord, Header, Kind, RecordDoc};

const KINDS: [Kind; 7] = [
    Kind::Village,
    Kind::Member,
    Kind::Activity,
    Kind::Project,
    Kind::Task,
    Kind::Report,
    Kind::Inspection,
];

fn actor() -> ActorId {
    ActorId::from(&b"fuzz"[..])
}

fn round_trip(rec: &AnyRecord) {
    let header = Header {
        kind: rec.kind(),
        schema: rec.kind().schema_version(),
        id: zhucun_model::Uuid::from_u128(0x0190_f0a0_0000_7000_8000_0000_0000_0001),
        village: "dongfeng".into(),
        created_by: "li-ming".into(),
    };
    let mut doc = RecordDoc::create(actor(), &header, rec).expect("a parsed record is written");
    doc.commit(&Default::default(), 0);
    let back = doc.record().expect("a written record reads back");
    if rec.validate(None).is_ok() {
        assert_eq!(&back, rec, "record changed on its way through a document");
    }
    let bytes = doc.save();
    let mut again = RecordDoc::load(&bytes, actor()).expect("a saved document loads");
    let settled = zhucun_fuzz::hydrate(&mut again).expect("a saved record hydrates");
    assert_eq!(settled, back, "a settled record settles again differently");
    // An edit onto itself changes nothing.
    again.update(&back).expect("update");
    assert!(
        again.commit(&Default::default(), 0).is_none(),
        "no-op edit made a change"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    if sel & 1 == 0 {
        let Ok(mut doc) = RecordDoc::load(rest, actor()) else {
            return;
        };
        if let Some(rec) = zhucun_fuzz::hydrate(&mut doc) {
            let bytes = doc.save();
            let mut again = RecordDoc::load(&bytes, actor()).expect("a saved document loads");
            let back = zhucun_fuzz::hydrate(&mut again).expect("a saved record hydrates again");
            assert_eq!(back, rec);
        }
        return;
    }
    let kind = KINDS[usize::from(sel >> 1) % KINDS.len()];
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    if let Ok(rec) = AnyRecord::from_stored(kind, json.clone()) {
        zhucun_fuzz::check_record(&rec);
        round_trip(&rec);
    }
    if let serde_json::Value::Object(input) = &json {
        if let Ok(rec) = AnyRecord::apply_input(kind, None, input) {
            zhucun_fuzz::check_record(&rec);
            if rec.validate(None).is_ok() {
                round_trip(&rec);
            }
        }
    }
});
