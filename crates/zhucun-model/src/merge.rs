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
//!
//! Who made each change is judged here too ([`PushedEdit::receipts`]): a change a device made
//! names that device and its person, and the record's maker is the person its first change
//! names. A change naming another device is one the pushing device passes on (a server
//! restored from a backup gets back what it lost from whichever device holds it): it is
//! taken, and the server's receipt says it was relayed, since nothing can vouch for it.

use automerge::ChangeHash;

use crate::doc::{MadeChange, RecordDoc};
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
    /// The changes the edit brought, in causal order.
    pub made: Vec<MadeChange>,
}

/// What the receiving side vouches for of one change it took: the device that delivered it,
/// and whether that device says it made it (`relayed`: the change names another device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub hash: ChangeHash,
    pub relayed: bool,
}

/// Why a pushed change's authorship is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorRefused {
    #[error("change {hash} names no author: every change says which person and device made it")]
    Unnamed { hash: String },
    #[error("change {hash} names `{named}` as its maker on this device, which is `{person}`'s")]
    NotThisPerson {
        hash: String,
        named: String,
        person: String,
    },
    #[error(
        "the record names `{created_by}` as its maker, but the change that made it names `{maker}`"
    )]
    NotTheMaker { created_by: String, maker: String },
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
        let made = doc.made_since(known);
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
            made,
        })
    }

    /// The receipts for the edit's changes as `device` of `person` delivers them, the record
    /// naming `created_by` as its maker; refused when a change names no author, names this
    /// device with another person, or made the record under another name than `created_by`.
    pub fn receipts(
        &self,
        device: &str,
        person: &str,
        created_by: &str,
    ) -> Result<Vec<Receipt>, AuthorRefused> {
        self.made
            .iter()
            .map(|c| {
                let hash = c.hash.to_string();
                let Some(author) = &c.author else {
                    return Err(AuthorRefused::Unnamed { hash });
                };
                let relayed = author.device != device;
                if !relayed && author.person != person {
                    return Err(AuthorRefused::NotThisPerson {
                        hash,
                        named: author.person.clone(),
                        person: person.to_string(),
                    });
                }
                if c.made_record && author.person != created_by {
                    return Err(AuthorRefused::NotTheMaker {
                        created_by: created_by.to_string(),
                        maker: author.person.clone(),
                    });
                }
                Ok(Receipt {
                    hash: c.hash,
                    relayed,
                })
            })
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{new_actor, Author, Header};
    use crate::kinds::{Activity, ActivityKind, Kind};

    fn by(person: &str, device: &str) -> Author {
        Author {
            person: person.into(),
            device: device.into(),
        }
    }

    fn activity(topic: &str) -> AnyRecord {
        AnyRecord::Activity(Activity {
            activity_kind: ActivityKind::PartyLecture,
            date: chrono::NaiveDate::from_ymd_opt(2026, 5, 1),
            topic: topic.into(),
            lecturer: "张书记".into(),
            ..Default::default()
        })
    }

    /// A record made by `maker` naming `created_by`, then edited by `editor`: the edit of
    /// both changes as a server that held nothing sees it.
    fn made(created_by: &str, maker: Option<&Author>, editor: &Author) -> PushedEdit {
        let header = Header {
            kind: Kind::Activity,
            schema: Kind::Activity.schema_version(),
            id: crate::new_id(),
            village: "v1".into(),
            created_by: created_by.into(),
        };
        let mut d = RecordDoc::create(new_actor(), &header, &activity("党课")).unwrap();
        match maker {
            Some(a) => d.commit(a, 0),
            None => d.automerge().commit(),
        };
        d.update(&activity("党课 第二讲")).unwrap();
        d.commit(editor, 1);
        PushedEdit::of(&mut d, &[], None).unwrap()
    }

    #[test]
    fn a_devices_own_changes_name_its_person_and_others_are_relayed() {
        let li = by("p-li", "d-li");
        // Made and edited on the pushing device: taken, not relayed.
        let e = made("p-li", Some(&li), &li);
        let r = e.receipts("d-li", "p-li", "p-li").unwrap();
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|r| !r.relayed));
        // The same changes passed on by another device: taken as relayed.
        let r = e.receipts("d-wang", "p-wang", "p-li").unwrap();
        assert!(r.iter().all(|r| r.relayed));
        // A change naming the pushing device with another person is refused.
        let forged = made("p-li", Some(&li), &by("p-zhao", "d-li"));
        assert!(matches!(
            forged.receipts("d-li", "p-li", "p-li"),
            Err(AuthorRefused::NotThisPerson { named, person, .. })
                if named == "p-zhao" && person == "p-li"
        ));
        // A record naming a maker its first change does not.
        let e = made("p-zhao", Some(&li), &li);
        assert!(matches!(
            e.receipts("d-li", "p-li", "p-zhao"),
            Err(AuthorRefused::NotTheMaker { created_by, maker })
                if created_by == "p-zhao" && maker == "p-li"
        ));
        // A change naming no author.
        let e = made("p-li", None, &li);
        assert!(matches!(
            e.receipts("d-li", "p-li", "p-li"),
            Err(AuthorRefused::Unnamed { .. })
        ));
    }
}
