//! A push arriving at the server: arbitrary bytes applied as Automerge changes on top of a
//! valid record, exactly as `server/src/sync.rs` does (parse every chunk first, then apply,
//! check missing dependencies and heads), then the record hydrated, validated and its facts
//! computed. A second mode feeds the bytes as a message of Automerge's sync protocol
//! (`/v1/sync/doc`), with an arbitrary encoded sync state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zhucun_model::automerge::sync::State;
use zhucun_model::automerge::ActorId;
use zhucun_model::RecordDoc;

/// The base record: a valid activity in the demo's village, saved (written with the seeds by
/// `server/tests/fuzz_seeds.rs`, so seeds that edit it apply).
fn base() -> &'static [u8] {
    include_bytes!("../fixtures/activity.automerge")
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let actor = ActorId::from(&b"zhucun-server"[..]);
    let mut doc = RecordDoc::load(base(), actor).expect("the base loads");
    let before = doc.heads();
    if sel & 1 == 0 {
        // Chunks separated by the byte 0xfe 0xfd, like a push's `changes` list.
        let chunks: Vec<&[u8]> = split(rest);
        if doc.apply_change_bytes(&chunks).is_err() {
            assert_eq!(doc.heads(), before, "a refused push changed the document");
            return;
        }
        if !doc.missing_deps().is_empty() {
            return;
        }
        let _ = doc.changes_since(&before);
    } else {
        let (state_len, rest) = match rest.split_first() {
            Some((&n, r)) => (usize::from(n).min(r.len()), r),
            None => return,
        };
        let mut state = State::decode(&rest[..state_len]).unwrap_or_else(|_| State::new());
        if doc
            .receive_sync_message(&mut state, &rest[state_len..])
            .is_err()
        {
            return;
        }
        let _ = doc.generate_sync_message(&mut state);
        let _ = state.encode();
    }
    let previous = {
        RecordDoc::load(base(), ActorId::random())
            .unwrap()
            .record()
            .unwrap()
    };
    if let Some(rec) = zhucun_fuzz::hydrate(&mut doc) {
        let _ = rec.validate(Some(&previous));
    }
    let _ = doc.save();
});

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < data.len() {
        if data[i] == 0xfe && data[i + 1] == 0xfd {
            out.push(&data[start..i]);
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    out.push(&data[start..]);
    out
}
