//! Shared by the fuzz targets: what the server and the replica do with a record once its
//! bytes are in a document, so every target drives the same code paths as production.

use chrono::Datelike;
use zhucun_model::figures::{self, ActivityFacts, MemberFacts, ProjectFacts};
use zhucun_model::{AnyRecord, Kind, RecordDoc};

/// Read everything a server or replica reads of a document: envelope, typed record,
/// validation (alone and against itself as the previous version), projection facts, report
/// figures from those facts, references, canonical JSON and history. Returns the record when
/// the document is one. Nothing here may panic, whatever the document holds.
pub fn hydrate(doc: &mut RecordDoc) -> Option<AnyRecord> {
    let header = doc.header().ok();
    let json = doc.to_json();
    let mut out = Vec::new();
    zhucun_model::write_canonical(&json, &mut out).expect("writing to a Vec cannot fail");
    let _ = doc.history();
    let heads = doc.heads();
    let _ = zhucun_model::heads_to_json(&heads);
    let rec = doc.record().ok()?;
    let header = header.expect("a document with a record has a header");
    assert_eq!(header.kind, rec.kind());
    check_record(&rec);
    Some(rec)
}

/// Validation, facts and figures of a typed record.
pub fn check_record(rec: &AnyRecord) {
    let _ = rec.validate(None);
    let _ = rec.validate(Some(rec));
    let _ = rec.member_refs();
    let _ = rec.blob_refs();
    let _ = rec.field_names();
    let facts = rec.facts();
    let (year, month) = facts
        .date
        .map(|d| (d.year(), d.month()))
        .unwrap_or((2026, 5));
    let mut activities = Vec::new();
    let mut members = Vec::new();
    let mut projects = Vec::new();
    match rec.kind() {
        Kind::Activity => {
            let f: ActivityFacts =
                serde_json::from_value(facts.detail.clone()).expect("activity facts read back");
            activities.push(f);
        }
        Kind::Member => {
            let f: MemberFacts =
                serde_json::from_value(facts.detail.clone()).expect("member facts read back");
            members.push(f);
        }
        Kind::Project => {
            let f: ProjectFacts =
                serde_json::from_value(facts.detail.clone()).expect("project facts read back");
            projects.push(("p".to_string(), f));
        }
        _ => {}
    }
    let _ = figures::monthly_figures(year, month, &activities, &members, &projects, 5);
}
