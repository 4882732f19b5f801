//! Inputs on which a fuzz target (`fuzz/`, see RELIABILITY.md) once crashed, kept as the
//! files libFuzzer wrote, in `tests/fuzz-crashers/`. Each file is named after its target and
//! is fed here the way that target feeds it; every one must now be refused with an error.

use std::path::Path;

use zhucun_model::automerge::sync::State;
use zhucun_model::automerge::ActorId;
use zhucun_model::RecordDoc;

/// The record `apply_changes` applies its input to.
const BASE: &[u8] = include_bytes!("../../../fuzz/fixtures/activity.automerge");

/// `apply_changes`: first byte odd: `[state length, state, sync message]`; even: changes.
fn apply_changes(data: &[u8]) -> Result<(), String> {
    let mut doc = RecordDoc::load(BASE, ActorId::random()).unwrap();
    let (&sel, rest) = data.split_first().ok_or("empty")?;
    if sel & 1 == 0 {
        doc.apply_change_bytes(&[rest]).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let (&n, rest) = rest.split_first().ok_or("no state length")?;
    let n = usize::from(n).min(rest.len());
    let mut state = State::decode(&rest[..n]).unwrap_or_else(|_| State::new());
    let r = doc.receive_sync_message(&mut state, &rest[n..]);
    // Answering is where Automerge panicked: it must not, whatever was received.
    let _ = doc.generate_sync_message(&mut state);
    r.map_err(|e| e.to_string())
}

#[test]
fn fuzz_crashers_are_refused() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-crashers");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let result = match name.split_once('-').map(|(t, _)| t) {
            Some("apply_changes") => apply_changes(&data),
            _ => panic!("{name}: name it <target>-<what>"),
        };
        assert!(result.is_err(), "{name} was accepted");
        n += 1;
    }
    assert!(n > 0, "no crashers in {}", dir.display());
}
