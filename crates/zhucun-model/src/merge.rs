//! How a replica's changes are judged where they meet the copy another holds (the server's,
//! when a device pushes): which edit the rules see, so that concurrent edits that were each
//! valid where they were made all land, and the merge they make is settled the same way on
//! every replica ([`crate::RecordDoc::to_json`]).
//!
//! The edit is the one the pushing replica made, from the state its changes build on to the
//! state they lead to ([`RecordDoc::edit_span`]):
//! - two moves of the record's workflow made concurrently (one office accepts a report while
//!   another returns it) are each judged where they were made, and merge by the model's rank;
//! - anything else is permitted or not as it lands on the copy at hand: words written into a
//!   report that was accepted meanwhile are refused, and the device keeps them
//!   ([`AnyRecord::keep_words`]);
//! - validation is of the edit where it was made, as the replica validated it before saving;
//! - what the record reached where the edit was made decides whether the replica could make
//!   it (a village's note on a task moved away from it meanwhile still lands).

use automerge::ChangeHash;

use crate::doc::RecordDoc;
use crate::error::{InvalidField, ModelError};
use crate::kinds::AnyRecord;
use crate::rules::{Forbidden, Role};

/// A replica's changes applied onto another copy of the record, seen both ways.
#[derive(Debug, Clone)]
pub struct PushedEdit {
    /// The record as it now stands, the changes merged (settled).
    pub merged: AnyRecord,
    /// The record as the pushing replica had it before its changes (`None`: they made it).
    pub seen_before: Option<AnyRecord>,
    /// The record as the pushing replica had it after its changes alone.
    pub seen_after: AnyRecord,
    /// Whether the edit's permission is judged where it was made (concurrent moves) rather
    /// than as it lands on the copy at hand.
    pub judged_where_made: bool,
}

/// Why the rules refuse a pushed edit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditRefused {
    #[error("{0}")]
    Invalid(InvalidField),
    #[error("{0}")]
    Forbidden(Forbidden),
}

fn sorted(heads: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut h = heads.to_vec();
    h.sort();
    h
}

impl PushedEdit {
    /// The edit of the changes `doc` gained since `known` (its heads before they were
    /// applied, when it held `stored`). Only when the pushing replica worked concurrently
    /// with others is any earlier state of the document rebuilt.
    pub fn of(
        doc: &mut RecordDoc,
        known: &[ChangeHash],
        stored: Option<&AnyRecord>,
    ) -> Result<PushedEdit, ModelError> {
        let merged = doc.record()?;
        let span = doc.edit_span(known);
        let seen_before = if span.base == sorted(known) {
            stored.cloned()
        } else {
            doc.record_at(&span.base)?
        };
        let seen_after = if span.made.is_empty() || span.made == sorted(&doc.heads()) {
            merged.clone()
        } else {
            doc.record_at(&span.made)?.unwrap_or_else(|| merged.clone())
        };
        let state = |r: Option<&AnyRecord>| r.and_then(AnyRecord::workflow_state);
        let moved = state(seen_before.as_ref()) != state(Some(&seen_after));
        let judged_where_made = moved && state(seen_before.as_ref()) != state(stored);
        Ok(PushedEdit {
            merged,
            seen_before,
            seen_after,
            judged_where_made,
        })
    }

    /// Validate the edit where it was made (what the pushing replica checked before it saved:
    /// a rule relating two fields may still be broken by two edits that each kept it, and
    /// the next edit of the record must mend it), and ask whether a person of `role` may
    /// make it: where it was made for concurrent moves, as it lands on `stored` otherwise.
    pub fn check(&self, stored: Option<&AnyRecord>, role: Role) -> Result<(), EditRefused> {
        self.seen_after
            .validate(self.seen_before.as_ref())
            .map_err(EditRefused::Invalid)?;
        // What no edit may change stays as it was, whatever the edit claims to build on.
        if let Some(s) = stored {
            self.merged.unchanged(s).map_err(EditRefused::Invalid)?;
        }
        if self.judged_where_made {
            self.seen_after.permit(self.seen_before.as_ref(), role)
        } else {
            self.merged.permit(stored, role)
        }
        .map_err(EditRefused::Forbidden)
    }
}
