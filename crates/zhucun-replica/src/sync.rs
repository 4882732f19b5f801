//! The replica's side of sync: which records have changes the server has not acknowledged,
//! what the server acknowledged or refused, and applying what the server sends, one page per
//! transaction together with the cursor. No network here: `zhucun-sync` carries the bytes.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use zhucun_model::automerge::{ActorId, ChangeHash};
use zhucun_model::RecordDoc;

use crate::{heads_json, write_doc, Replica, ReplicaError, Result};

/// A record with changes the server has not acknowledged.
#[derive(Debug, Clone)]
pub struct DirtyRecord {
    pub id: String,
    pub base_heads: Vec<ChangeHash>,
    pub changes: Vec<Vec<u8>>,
    pub heads: Vec<ChangeHash>,
}

/// Where this device syncs, as stored at enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerLink {
    pub url: String,
    pub device_id: String,
    #[serde(skip)]
    pub token: String,
}

/// What applying a pulled page did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullApplied {
    pub records: usize,
    pub created: usize,
    /// Records whose changes could not be applied (malformed), by id.
    pub skipped: Vec<String>,
}

/// A record the server sent that this device could not apply yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnappliedPull {
    pub id: String,
    /// Why it could not be applied, in English (for logs and `zhucun status`).
    pub reason: String,
    /// Fetches through Automerge's sync protocol that did not land it.
    pub attempts: u32,
}

fn note_unapplied(tx: &rusqlite::Transaction<'_>, id: &str, reason: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO pull_unapplied(id, reason) VALUES (?1, ?2)
         ON CONFLICT(id) DO UPDATE SET reason = excluded.reason",
        params![id, reason],
    )?;
    Ok(())
}

pub(crate) fn parse_heads(s: &str) -> Vec<ChangeHash> {
    serde_json::from_str::<Vec<String>>(s)
        .unwrap_or_default()
        .iter()
        .filter_map(|h| h.parse().ok())
        .collect()
}

impl Replica {
    /// Remember the server this device enrolled with (the token stays in the encrypted file).
    pub fn set_server(&mut self, link: &ServerLink) -> Result<()> {
        self.put_meta(&[
            ("server_url", &link.url),
            ("server_device", &link.device_id),
            ("server_token", &link.token),
        ])
    }

    pub fn server(&self) -> Result<Option<ServerLink>> {
        let get = |k: &str| -> Result<Option<String>> {
            Ok(self
                .conn()
                .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()?)
        };
        Ok(
            match (
                get("server_url")?,
                get("server_device")?,
                get("server_token")?,
            ) {
                (Some(url), Some(device_id), Some(token)) => Some(ServerLink {
                    url,
                    device_id,
                    token,
                }),
                _ => None,
            },
        )
    }

    /// The last server sequence committed locally.
    pub fn cursor(&self) -> Result<u64> {
        let v: Option<String> = self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = 'cursor'", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(v.and_then(|s| s.parse().ok()).unwrap_or(0))
    }

    /// The server's fingerprint of the entry at the cursor (see the protocol).
    pub fn cursor_check(&self) -> Result<Option<Vec<u8>>> {
        let v: Option<String> = self
            .conn()
            .query_row(
                "SELECT value FROM meta WHERE key = 'cursor_check'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.and_then(|h| hex::decode(h).ok()))
    }

    /// Set the cursor (0 after the server reset it); forgets the fingerprint.
    pub fn set_cursor(&mut self, cursor: u64) -> Result<()> {
        let tx = self.write_tx()?;
        write_cursor(&tx, cursor, None)?;
        tx.commit()?;
        Ok(())
    }

    /// The server lost what it acknowledged (restored from a backup: it answered
    /// `cursor_reset`). In one transaction, so a crash cannot leave half of it: the cursor goes
    /// back to 0 and every record this device holds is to be pushed again, whoever made it,
    /// from the heads the server once acknowledged: a record the server still holds at those
    /// heads costs its id and heads and is acknowledged at once; one whose acknowledged heads
    /// the server lost is answered `resync`, and the sync pushes it whole in its next round
    /// ([`Replica::push_whole`]). Attachments go first, as for any push. Earlier refusals
    /// are forgotten: the server that gave them is not the one answering now.
    pub fn server_lost_acks(&mut self) -> Result<()> {
        let tx = self.write_tx()?;
        write_cursor(&tx, 0, None)?;
        tx.execute(
            "UPDATE sync_state SET dirty = 1, reject_heads = NULL, reject_code = NULL,
               reject_message = NULL",
            [],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Push these records whole in the next round (the server lost what it acknowledged of
    /// them; see [`Replica::server_lost_acks`]).
    pub fn push_whole(&mut self, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let tx = self.write_tx()?;
        {
            let mut st = tx.prepare_cached(
                "UPDATE sync_state SET acked_heads = '[]', dirty = 1
                 WHERE n = (SELECT n FROM docs WHERE id = ?1)",
            )?;
            for id in ids {
                st.execute([id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// How many records wait for the server to acknowledge them (refused ones excluded).
    pub fn pending_count(&self) -> Result<u64> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM sync_state WHERE dirty = 1 AND (reject_heads IS NULL OR reject_heads != heads)",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Dirty records with their changes since the acknowledged heads, documents loaded one at
    /// a time, until `max_bytes` of changes (at least one record). Records the server refused
    /// are left out until they change again.
    /// The ids of the records [`Replica::dirty_records`] would send, in the same order,
    /// without loading them.
    pub fn dirty_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT d.id FROM sync_state s JOIN docs d ON d.n = s.n
             WHERE s.dirty = 1 AND (s.reject_heads IS NULL OR s.reject_heads != s.heads)
             ORDER BY s.n",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn dirty_records(&self, max_bytes: usize) -> Result<Vec<DirtyRecord>> {
        let mut stmt = self.conn().prepare(
            "SELECT d.id, s.acked_heads FROM sync_state s JOIN docs d ON d.n = s.n
             WHERE s.dirty = 1 AND (s.reject_heads IS NULL OR s.reject_heads != s.heads)
             ORDER BY s.n",
        )?;
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<std::result::Result<_, _>>()?;
        let mut out = Vec::new();
        let mut total = 0usize;
        for (id, acked) in rows {
            let Some((_, mut doc)) = self.load_doc(&id)? else {
                continue;
            };
            let mut base = parse_heads(&acked);
            if !doc.has_all(&base) {
                // Acknowledged heads unknown here cannot happen through this code; send all.
                base.clear();
            }
            let changes = doc.changes_since(&base);
            let size: usize = changes.iter().map(Vec::len).sum();
            if !out.is_empty() && total + size > max_bytes {
                break;
            }
            total += size;
            out.push(DirtyRecord {
                id,
                base_heads: base,
                heads: doc.heads(),
                changes,
            });
        }
        Ok(out)
    }

    /// The server has these records' changes up to `heads` (what the device sent).
    pub fn mark_acked(&mut self, acks: &[(String, Vec<ChangeHash>)]) -> Result<()> {
        let tx = self.write_tx()?;
        for (id, heads) in acks {
            tx.execute(
                "UPDATE sync_state SET acked_heads = ?2, reject_heads = NULL, reject_code = NULL,
                   reject_message = NULL
                 WHERE n = (SELECT n FROM docs WHERE id = ?1)",
                params![id, heads_json(heads)],
            )?;
            tx.execute(
                "UPDATE sync_state SET dirty = (acked_heads != heads)
                 WHERE n = (SELECT n FROM docs WHERE id = ?1)",
                [id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The server refused these records at the heads that were sent (id, heads, code,
    /// message): keep the reason for people to see. A record edited again since it was sent
    /// has other heads, so the newer edit is pushed at the next round rather than held back.
    pub fn mark_rejected(
        &mut self,
        rejects: &[(String, Vec<ChangeHash>, String, String)],
    ) -> Result<()> {
        let tx = self.write_tx()?;
        for (id, heads, code, message) in rejects {
            tx.execute(
                "UPDATE sync_state SET reject_heads = ?2, reject_code = ?3, reject_message = ?4
                 WHERE n = (SELECT n FROM docs WHERE id = ?1)",
                params![id, heads_json(heads), code, message],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records the server refused, with its reasons: (id, code, message).
    pub fn rejected(&self) -> Result<Vec<(String, String, String)>> {
        let mut stmt = self.conn().prepare(
            "SELECT d.id, s.reject_code, s.reject_message FROM sync_state s JOIN docs d ON d.n = s.n
             WHERE s.reject_heads IS NOT NULL AND s.reject_heads = s.heads ORDER BY d.id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Keep the words of an edit the server refused (a report the township accepted meanwhile,
    /// a move the user's role may not make) in one action: the record goes back to what the
    /// server holds, and the refused words come back as notes the rules let the user add (see
    /// `AnyRecord::keep_words`); that is pushed at the next sync. The refused changes leave
    /// this device, their words do not.
    pub fn keep_refused_words(&mut self, id: &str) -> Result<crate::SaveOutcome> {
        let id = crate::parse_id(id)?.to_string();
        let tx = self.write_tx()?;
        let state: Option<(String, bool)> = tx
            .query_row(
                "SELECT s.acked_heads, s.reject_heads IS NOT NULL AND s.reject_heads = s.heads
                 FROM sync_state s JOIN docs d ON d.n = s.n WHERE d.id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (acked, refused) = state.ok_or_else(|| ReplicaError::NotFound(id.clone()))?;
        if !refused {
            return Err(ReplicaError::NotRefused(id));
        }
        let (_, mut doc) = self
            .load_doc(&id)?
            .ok_or_else(|| ReplicaError::NotFound(id.clone()))?;
        let header = doc.header()?;
        let mine = doc.record()?;
        let actors: Vec<ActorId> = {
            let mut stmt = tx.prepare("SELECT actor FROM actors")?;
            let hexes = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            hexes
                .iter()
                .filter_map(|h| hex::decode(h).ok())
                .map(|b| ActorId::from(b.as_slice()))
                .collect()
        };
        let mut server = doc.without_changes_of(&parse_heads(&acked), &actors)?;
        let theirs = server
            .record()
            .map_err(|_| ReplicaError::NothingToKeep(id.clone()))?;
        let today = chrono::Local::now().date_naive();
        let kept = theirs
            .keep_words(&mine, &self.profile.person, today)
            .ok_or_else(|| ReplicaError::NothingToKeep(id.clone()))?;
        kept.validate(Some(&theirs))?;
        if !self.profile.role.is_empty() {
            let role: zhucun_model::Role = self
                .profile
                .role
                .parse()
                .map_err(zhucun_model::ModelError::from)?;
            kept.permit(Some(&theirs), role)
                .map_err(zhucun_model::ModelError::from)?;
        }
        server.update(&kept)?;
        server.commit(&self.author(), crate::now_secs());
        write_doc(&tx, &header, Some(&kept), &mut server, None)?;
        tx.commit()?;
        Ok(crate::SaveOutcome {
            id,
            kind: header.kind,
            created: false,
            changed: true,
        })
    }

    /// Apply one pulled page and advance the cursor. The records are written a few dozen to a
    /// transaction, so a save typed meanwhile on the app's other connection waits for one short
    /// chunk, never for a whole page; the cursor moves only with the last chunk. A cut or a
    /// crash mid-page therefore pulls the page again, and applying changes twice changes
    /// nothing, so at most the page in flight is lost.
    pub fn apply_pull(
        &mut self,
        records: &[(String, Vec<Vec<u8>>)],
        cursor: u64,
        cursor_check: Option<&[u8]>,
    ) -> Result<PullApplied> {
        let mut out = PullApplied::default();
        let chunks: Vec<&[PulledRecord]> = if records.is_empty() {
            vec![&[]]
        } else {
            records.chunks(PULL_CHUNK).collect()
        };
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let tx = self.write_tx()?;
            self.apply_chunk(&tx, chunk, &mut out)?;
            if i == last {
                write_cursor(&tx, cursor, cursor_check)?;
            } else {
                tx.commit()?;
                // A gap for a save waiting on the other connection (it polls every ms).
                std::thread::sleep(std::time::Duration::from_millis(2));
                continue;
            }
            tx.commit()?;
        }
        Ok(out)
    }

    fn apply_chunk(
        &self,
        tx: &rusqlite::Transaction<'_>,
        records: &[(String, Vec<Vec<u8>>)],
        out: &mut PullApplied,
    ) -> Result<()> {
        for (id, changes) in records {
            let existing = self.load_doc(id)?;
            let was_clean: bool = tx
                .query_row(
                    "SELECT s.dirty = 0 FROM sync_state s JOIN docs d ON d.n = s.n WHERE d.id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(true);
            let created = existing.is_none();
            let mut doc = match existing {
                Some((_, d)) => d,
                None => RecordDoc::from_autocommit(
                    zhucun_model::automerge::AutoCommit::new().with_actor(self.actor_id()),
                ),
            };
            // What cannot be applied is remembered, so the engine fetches the record again
            // through Automerge's sync protocol: the cursor moves on past it regardless.
            let changed = match doc.apply_change_bytes(changes) {
                Ok(c) => c,
                Err(e) => {
                    note_unapplied(tx, id, &format!("the changes could not be read: {e}"))?;
                    out.skipped.push(id.clone());
                    continue;
                }
            };
            // Changes whose dependencies this device lacks wait in memory only (they are not
            // saved): a device restored from a backup misses its own later changes, and the
            // server does not send a device what it pushed itself.
            let waiting = !doc.missing_deps().is_empty();
            if waiting {
                note_unapplied(tx, id, "waits for changes this device does not have")?;
                out.skipped.push(id.clone());
            }
            if !changed {
                continue;
            }
            let header = match doc.header() {
                Ok(h) if h.id.to_string() == *id => h,
                _ => {
                    if !waiting {
                        note_unapplied(tx, id, "the changes do not make this record")?;
                        out.skipped.push(id.clone());
                    }
                    continue;
                }
            };
            if !waiting {
                tx.execute("DELETE FROM pull_unapplied WHERE id = ?1", [id])?;
            }
            let record = doc.record().ok();
            // When the device had nothing unsent, it now holds exactly what the server has.
            let heads = doc.heads();
            let acked = if was_clean {
                Some(heads.as_slice())
            } else {
                None
            };
            write_doc(tx, &header, record.as_ref(), &mut doc, acked)?;
            out.records += 1;
            if created {
                out.created += 1;
            }
        }
        Ok(())
    }

    /// Load a record's document for a round of Automerge's sync protocol with the server.
    pub fn doc_for_sync(&self, id: &str) -> Result<RecordDoc> {
        self.load_doc(id)?
            .map(|(_, d)| d)
            .ok_or_else(|| ReplicaError::NotFound(id.to_string()))
    }

    /// The document to fetch a record the device could not apply into: what is stored of
    /// it, or an empty document when nothing is.
    pub fn doc_for_fetch(&self, id: &str) -> Result<RecordDoc> {
        Ok(match self.load_doc(id)? {
            Some((_, d)) => d,
            None => RecordDoc::from_autocommit(
                zhucun_model::automerge::AutoCommit::new().with_actor(self.actor_id()),
            ),
        })
    }

    /// Records the server sent that this device could not apply yet, oldest first.
    pub fn unapplied_pulls(&self) -> Result<Vec<UnappliedPull>> {
        let mut st = self
            .conn()
            .prepare("SELECT id, reason, attempts FROM pull_unapplied ORDER BY rowid")?;
        let rows = st.query_map([], |r| {
            Ok(UnappliedPull {
                id: r.get(0)?,
                reason: r.get(1)?,
                attempts: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A fetch of an unapplied record did not land it: count the attempt, keep the reason.
    pub fn note_fetch_failed(&mut self, id: &str, reason: &str) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute(
            "UPDATE pull_unapplied SET attempts = attempts + 1, reason = ?2 WHERE id = ?1",
            params![id, reason],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The server refused to send the record (no longer in this device's scope): stop asking.
    pub fn forget_unapplied(&mut self, id: &str) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute("DELETE FROM pull_unapplied WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    /// Store a record after a sync-protocol round; the server now has its heads.
    pub fn save_synced_doc(&mut self, doc: &mut RecordDoc, server_has_all: bool) -> Result<()> {
        let header = doc.header()?;
        let synced_heads = doc.heads();
        let tx = self.write_tx()?;
        // The document may have been edited on this device while the sync protocol ran:
        // merge into what is stored now rather than write back the copy the round started
        // from. The server has `synced_heads`, not necessarily the merged heads.
        let id = header.id.to_string();
        let mut merged = match self.load_doc(&id)? {
            Some((_, mut stored)) => {
                stored.merge(doc)?;
                stored
            }
            None => doc.clone(),
        };
        let record = merged.record().ok();
        if merged.missing_deps().is_empty() {
            tx.execute("DELETE FROM pull_unapplied WHERE id = ?1", [&id])?;
        }
        write_doc(
            &tx,
            &header,
            record.as_ref(),
            &mut merged,
            if server_has_all {
                Some(synced_heads.as_slice())
            } else {
                None
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn actor_id(&self) -> ActorId {
        self.actor.clone()
    }
}

/// One pulled record: its id and the changes to apply.
type PulledRecord = (String, Vec<Vec<u8>>);

/// Records written per transaction when applying a pulled page (about 0.5 ms each in a
/// release build: a save on the other connection waits at most a few tens of milliseconds).
const PULL_CHUNK: usize = 48;

fn write_cursor(
    tx: &rusqlite::Transaction<'_>,
    cursor: u64,
    cursor_check: Option<&[u8]>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO meta(key, value) VALUES ('cursor', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [cursor.to_string()],
    )?;
    match cursor_check {
        Some(c) => tx.execute(
            "INSERT INTO meta(key, value) VALUES ('cursor_check', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [hex::encode(c)],
        )?,
        None => tx.execute("DELETE FROM meta WHERE key = 'cursor_check'", [])?,
    };
    Ok(())
}
