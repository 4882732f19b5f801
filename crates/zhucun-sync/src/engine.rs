//! The sync engine: enrolment, and rounds until nothing is left to push or pull.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rand::Rng;
use serde::Serialize;
use zhucun_model::automerge::ChangeHash;
use zhucun_protocol::{
    DocSyncRequest, DocSyncResponse, EnrollRequest, EnrollResponse, ErrorBody, PushRecord,
    SyncRequest, SyncResponse, VERSION,
};
use zhucun_replica::{Replica, ReplicaError, ServerLink};

use crate::transport::{Method, Reply, Transport, TransportError};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("this device is not enrolled: run `zhucun enroll --server URL --code CODE`")]
    NotEnrolled,
    #[error("{0}")]
    Transport(#[from] TransportError),
    #[error("the server refused the request ({status} {code}): {message}")]
    Server {
        status: u16,
        code: String,
        message: String,
    },
    #[error("the server's answer is not valid: {0}")]
    BadReply(String),
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: String },
    #[error(transparent)]
    Replica(#[from] ReplicaError),
}

/// Tuning of a sync run.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Pulled bytes per page (the most a cut link can lose).
    pub page_bytes: u32,
    /// Pushed change bytes per request.
    pub push_bytes: usize,
    /// Attempts per request before giving up.
    pub attempts: u32,
    /// First retry delay; doubles each time, with jitter, up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            page_bytes: 512 * 1024,
            push_bytes: 2 * 1024 * 1024,
            attempts: 8,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// What a sync run did (`zhucun sync --json`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SyncStats {
    pub pushed: usize,
    pub acked: usize,
    pub rejected: usize,
    pub pulled: usize,
    pub created: usize,
    pub resynced: usize,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub round_trips: u32,
    pub retries: u32,
    pub duration_ms: u64,
    pub cursor: u64,
    /// Attachments uploaded.
    pub blobs_up: usize,
    /// Records still waiting for the server (refused ones included in `rejected`).
    pub pending: u64,
    /// Records the server sent that this device could not apply, fetched again whole
    /// through Automerge's sync protocol in this sync and now in place.
    pub recovered: usize,
    /// Records the server sent that are still not applied (fetched again next sync).
    pub unapplied: usize,
    /// Records held back in this sync because the server refused one of their attachments
    /// (the other records went on; these are tried again next sync).
    pub held: usize,
    /// Which records were held back and why, one entry per refused attachment.
    pub held_back: Vec<HeldBack>,
    /// The server had lost what it acknowledged (restored from a backup): every record this
    /// device holds was offered again in this sync (what the server lacked of it sent).
    pub server_restored: bool,
}

/// A record held back because the server refused one of its attachments.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HeldBack {
    /// The record's id.
    pub record: String,
    /// The refused attachment's SHA-256.
    pub hash: String,
    /// The server's answer: HTTP status and code (`too_large`, `partials_full`, ...).
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// Whether an error from an attachment upload is the server refusing that attachment (the
/// record waits, the sync goes on) rather than something the whole sync must stop for: no
/// link, a revoked device, a server that is failing.
fn refuses_attachment(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 401 | 403 | 429) || status == 507
}

/// Progress reported after every round.
#[derive(Debug, Clone)]
pub struct Progress {
    pub round: u32,
    pub stats: SyncStats,
    pub more: bool,
}

fn server_error(reply: &Reply) -> SyncError {
    match serde_json::from_slice::<ErrorBody>(&reply.body) {
        Ok(e) => SyncError::Server {
            status: reply.status,
            code: e.code,
            message: e.message,
        },
        Err(_) => SyncError::Server {
            status: reply.status,
            code: "http".into(),
            message: String::from_utf8_lossy(&reply.body)
                .chars()
                .take(200)
                .collect(),
        },
    }
}

/// POST with retries: transport failures, 429, 502, 503 and 504 are retried with exponential
/// backoff and jitter (`Retry-After` honoured); other answers are returned.
/// One request to send (and maybe send again).
struct Request<'a> {
    method: Method,
    path: &'a str,
    token: Option<&'a str>,
    content_type: &'a str,
    encoding: Option<&'a str>,
    body: Vec<u8>,
}

impl<'a> Request<'a> {
    /// A sync-protocol body (CBOR, zstd) with the device token.
    fn sync(path: &'a str, token: &'a str, body: Vec<u8>) -> Self {
        Request {
            method: Method::Post,
            path,
            token: Some(token),
            content_type: zhucun_protocol::CONTENT_TYPE,
            encoding: Some("zstd"),
            body,
        }
    }
}

async fn post_retrying(
    t: &dyn Transport,
    req: Request<'_>,
    opts: &SyncOptions,
    stats: &mut SyncStats,
) -> Result<Reply, SyncError> {
    let Request {
        method,
        path,
        token,
        content_type,
        encoding,
        body,
    } = req;
    let mut last = String::new();
    for attempt in 0..opts.attempts.max(1) {
        if attempt > 0 {
            stats.retries += 1;
        }
        stats.bytes_up += body.len() as u64;
        stats.round_trips += 1;
        let wait = match t
            .send(method, path, token, content_type, encoding, body.clone())
            .await
        {
            Ok(r) if matches!(r.status, 429 | 502 | 503 | 504) => {
                stats.bytes_down += r.body.len() as u64;
                last = format!("server answered {}", r.status);
                r.retry_after
            }
            Ok(r) => {
                stats.bytes_down += r.body.len() as u64;
                return Ok(r);
            }
            Err(TransportError::Unreachable(e)) => {
                last = e;
                None
            }
            Err(e) => return Err(e.into()),
        };
        if attempt + 1 == opts.attempts.max(1) {
            break;
        }
        let backoff = opts
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(opts.max_delay);
        let jitter = rand::rng().random_range(0.5..1.0);
        let delay = wait
            .unwrap_or(backoff.mul_f64(jitter))
            .min(opts.max_delay.max(Duration::from_secs(1)) * 4);
        tokio::time::sleep(delay).await;
    }
    Err(SyncError::GaveUp {
        attempts: opts.attempts.max(1),
        last,
    })
}

/// Send one sync-protocol message and read the answer (retrying as `post_retrying` does).
async fn exchange<Q, A>(
    transport: &dyn Transport,
    path: &str,
    token: &str,
    msg: &Q,
    opts: &SyncOptions,
    stats: &mut SyncStats,
) -> Result<A, SyncError>
where
    Q: Serialize,
    A: serde::de::DeserializeOwned + zhucun_protocol::Versioned,
{
    let body = zhucun_protocol::encode(msg).map_err(|e| SyncError::BadReply(e.to_string()))?;
    let reply = post_retrying(transport, Request::sync(path, token, body), opts, stats).await?;
    if reply.status != 200 {
        return Err(server_error(&reply));
    }
    zhucun_protocol::decode(&reply.body, zhucun_protocol::DEFAULT_MAX_DECODED)
        .map_err(|e| SyncError::BadReply(e.to_string()))
}

/// A reject code as the replica keeps it (`out_of_scope`, ...).
fn reject_code(c: zhucun_protocol::RejectCode) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Enrol this device with a one-time code; stores token, person, role and scope.
pub async fn enroll(
    replica: &mut Replica,
    transport: &dyn Transport,
    server_url: &str,
    code: &str,
    device_name: &str,
) -> Result<EnrollResponse, SyncError> {
    let body = serde_json::to_vec(&EnrollRequest {
        code: code.to_string(),
        device_name: device_name.to_string(),
    })
    .map_err(|e| SyncError::BadReply(e.to_string()))?;
    let mut stats = SyncStats::default();
    let reply = post_retrying(
        transport,
        Request {
            method: Method::Post,
            path: "/v1/enroll",
            token: None,
            content_type: "application/json",
            encoding: None,
            body,
        },
        &SyncOptions {
            attempts: 3,
            ..Default::default()
        },
        &mut stats,
    )
    .await?;
    if reply.status != 200 {
        return Err(server_error(&reply));
    }
    let resp: EnrollResponse =
        serde_json::from_slice(&reply.body).map_err(|e| SyncError::BadReply(e.to_string()))?;
    let scope: Vec<String> = resp.scope.iter().map(|u| u.id.clone()).collect();
    replica.set_profile(Some(&resp.device_id), &resp.person_id, &resp.role, &scope)?;
    let names: Vec<(String, String)> = resp
        .scope
        .iter()
        .map(|u| (u.id.clone(), u.name.clone()))
        .collect();
    replica.set_names(&resp.person_name, &names)?;
    replica.set_server(&ServerLink {
        url: server_url.trim_end_matches('/').to_string(),
        device_id: resp.device_id.clone(),
        token: resp.token.clone(),
    })?;
    Ok(resp)
}

fn wire(h: &[ChangeHash]) -> Vec<zhucun_protocol::Hash> {
    h.iter().map(|x| zhucun_protocol::hash(&x.0)).collect()
}

/// Whether `heads` are exactly the tips of `changes`: then the heads need not be sent.
fn tips_are(changes: &[Vec<u8>], heads: &[ChangeHash]) -> bool {
    let mut h = heads.to_vec();
    h.sort();
    zhucun_model::change_tips(changes).is_some_and(|t| !t.is_empty() && t == h)
}

fn unwire(h: &[zhucun_protocol::Hash]) -> Vec<ChangeHash> {
    h.iter()
        .filter_map(|b| ChangeHash::try_from(b.as_slice()).ok())
        .collect()
}

/// Run sync rounds until nothing is left to push or pull.
pub async fn sync(
    replica: &mut Replica,
    transport: &dyn Transport,
    opts: &SyncOptions,
    mut progress: Option<&mut dyn FnMut(&Progress)>,
) -> Result<SyncStats, SyncError> {
    let link = replica.server()?.ok_or(SyncError::NotEnrolled)?;
    let token = link.token.clone();
    let started = Instant::now();
    let mut stats = SyncStats::default();
    let mut resynced: Vec<String> = Vec::new();
    // After the server was found restored from a backup: the records it answered `resync`
    // (it lost their acknowledged heads) are pushed whole in the next round, all in one
    // request, rather than each through rounds of Automerge's sync protocol.
    let mut restoring = false;
    let mut whole: HashSet<String> = HashSet::new();
    // Records whose attachment the server refused: left out of this sync's pushes.
    let mut held: Vec<String> = Vec::new();
    let mut round = 0u32;
    loop {
        round += 1;
        let mut dirty: Vec<_> = replica
            .dirty_records(opts.push_bytes)?
            .into_iter()
            .filter(|d| !resynced.contains(&d.id) && !held.contains(&d.id))
            .collect();
        // Attachments first, so a record never reaches the server before its photos do. A
        // refused attachment holds back its record only; the others go on.
        let mut refused: Vec<String> = Vec::new();
        for d in &dirty {
            for hash in replica.record_blobs(&d.id)? {
                if !replica.has_blob(&hash)? {
                    continue;
                }
                match upload_blob(replica, transport, &token, &hash, opts, &mut stats).await {
                    Ok(()) => {}
                    Err(SyncError::Server {
                        status,
                        code,
                        message,
                    }) if refuses_attachment(status) => {
                        stats.held_back.push(HeldBack {
                            record: d.id.clone(),
                            hash: hash.clone(),
                            status,
                            code,
                            message,
                        });
                        refused.push(d.id.clone());
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        if !refused.is_empty() {
            dirty.retain(|d| !refused.contains(&d.id));
            stats.held += refused.len();
            held.extend(refused);
        }
        let req = SyncRequest {
            version: VERSION,
            cursor: replica.cursor()?,
            cursor_check: replica.cursor_check()?.map(serde_bytes::ByteBuf::from),
            push: dirty
                .iter()
                .map(|d| PushRecord {
                    id: d.id.clone(),
                    base_heads: Vec::new(),
                    changes: d
                        .changes
                        .iter()
                        .cloned()
                        .map(serde_bytes::ByteBuf::from)
                        .collect(),
                    heads: if tips_are(&d.changes, &d.heads) {
                        Vec::new()
                    } else {
                        wire(&d.heads)
                    },
                })
                .collect(),
            page_bytes: opts.page_bytes,
        };
        let resp: SyncResponse = exchange(
            transport,
            zhucun_protocol::SYNC_PATH,
            &token,
            &req,
            opts,
            &mut stats,
        )
        .await?;
        stats.pushed += dirty.len();
        stats.acked += resp.acks.len();
        stats.rejected += resp.rejects.len();
        // An ack without heads acknowledges the heads this device sent for the record.
        let sent: std::collections::HashMap<&str, &Vec<ChangeHash>> =
            dirty.iter().map(|d| (d.id.as_str(), &d.heads)).collect();
        let acks: Vec<(String, Vec<ChangeHash>)> = resp
            .acks
            .iter()
            .filter_map(|a| {
                if a.heads.is_empty() {
                    sent.get(a.id.as_str())
                        .map(|h| (a.id.clone(), (*h).clone()))
                } else {
                    Some((a.id.clone(), unwire(&a.heads)))
                }
            })
            .collect();
        replica.mark_acked(&acks)?;
        // Refused at the heads sent: an edit saved meanwhile is pushed next round.
        let rejects: Vec<(String, Vec<ChangeHash>, String, String)> = resp
            .rejects
            .iter()
            .map(|r| {
                let heads = sent
                    .get(r.id.as_str())
                    .map(|h| (*h).clone())
                    .unwrap_or_default();
                (r.id.clone(), heads, reject_code(r.code), r.message.clone())
            })
            .collect();
        replica.mark_rejected(&rejects)?;
        let (again, one_by_one): (Vec<String>, Vec<String>) = resp
            .resync
            .iter()
            .cloned()
            .partition(|id| restoring && !whole.contains(id));
        replica.push_whole(&again)?;
        whole.extend(again);
        for id in &one_by_one {
            resync_record(replica, transport, &token, id, opts, &mut stats).await?;
            resynced.push(id.clone());
            stats.resynced += 1;
        }
        if resp.cursor_reset {
            // The server was restored from a backup: it may lack anything it acknowledged.
            replica.server_lost_acks()?;
            stats.server_restored = true;
            restoring = true;
            // Records already run through Automerge's sync protocol this sync are pushed
            // again too (the server acknowledges them at once): nothing is left pending.
            resynced.clear();
        } else {
            let page: Vec<(String, Vec<Vec<u8>>)> = resp
                .pull
                .into_iter()
                .map(|p| (p.id, p.changes.into_iter().map(|b| b.into_vec()).collect()))
                .collect();
            let applied = replica.apply_pull(
                &page,
                resp.cursor,
                resp.cursor_check.as_deref().map(|b| b.as_slice()),
            )?;
            stats.pulled += applied.records;
            stats.created += applied.created;
        }
        stats.cursor = replica.cursor()?;
        let more = resp.more || resp.cursor_reset;
        if let Some(p) = progress.as_deref_mut() {
            p(&Progress {
                round,
                stats: stats.clone(),
                more,
            });
        }
        let left = replica
            .dirty_ids()?
            .into_iter()
            .any(|id| !resynced.contains(&id) && !held.contains(&id));
        if !more && (!left || dirty.is_empty()) {
            break;
        }
        if round > 100_000 {
            return Err(SyncError::BadReply(
                "the server never finished paging".into(),
            ));
        }
    }
    // What the server sent that could not be applied (changes waiting for changes this
    // device lacks, unreadable bytes): fetch each record whole through Automerge's sync
    // protocol, which finds what is missing on both sides. Stays listed until it lands.
    for u in replica.unapplied_pulls()? {
        match fetch_unapplied(replica, transport, &token, &u.id, opts, &mut stats).await {
            Ok(true) => stats.recovered += 1,
            Ok(false) => {}
            Err(SyncError::BadReply(why)) => replica.note_fetch_failed(&u.id, &why)?,
            Err(e) => return Err(e),
        }
    }
    stats.unapplied = replica.unapplied_pulls()?.len();
    stats.pending = replica.pending_count()?;
    stats.duration_ms = started.elapsed().as_millis() as u64;
    Ok(stats)
}

/// Automerge's sync protocol for a record the device could not apply from a pulled page,
/// starting from what the device holds of it (possibly nothing). True when it landed.
async fn fetch_unapplied(
    replica: &mut Replica,
    transport: &dyn Transport,
    token: &str,
    id: &str,
    opts: &SyncOptions,
    stats: &mut SyncStats,
) -> Result<bool, SyncError> {
    let mut doc = replica.doc_for_fetch(id)?;
    match doc_sync_rounds(transport, token, id, &mut doc, opts, stats).await? {
        DocSync::Refused(_) => {
            // Out of this device's scope now, or gone: nothing more will come for it.
            replica.forget_unapplied(id)?;
            Ok(false)
        }
        DocSync::Done { converged } => {
            if !doc.missing_deps().is_empty() {
                replica.note_fetch_failed(id, "the server's copy still lacks changes it needs")?;
                return Ok(false);
            }
            match doc.header() {
                Ok(h) if h.id.to_string() == id => {}
                _ => {
                    replica.note_fetch_failed(id, "the server's copy is not this record")?;
                    return Ok(false);
                }
            }
            replica.save_synced_doc(&mut doc, converged)?;
            Ok(true)
        }
    }
}

enum DocSync {
    Done { converged: bool },
    Refused(zhucun_protocol::Reject),
}

/// Rounds of Automerge's sync protocol with the server for one record's document.
async fn doc_sync_rounds(
    transport: &dyn Transport,
    token: &str,
    id: &str,
    doc: &mut zhucun_model::RecordDoc,
    opts: &SyncOptions,
    stats: &mut SyncStats,
) -> Result<DocSync, SyncError> {
    use zhucun_model::automerge::{sync::State, ChangeHash};
    let mut state = State::new();
    let mut server_state: Option<serde_bytes::ByteBuf> = None;
    // The server keeps no sync state between requests (the device carries what Automerge
    // encodes of it, not what was sent), so it answers every message with one: the round is
    // done when the device has nothing more to say and the server's last answer showed the
    // device's heads.
    let mut server_heads: Option<Vec<ChangeHash>> = None;
    let same =
        |a: &[ChangeHash], b: &[ChangeHash]| a.len() == b.len() && a.iter().all(|h| b.contains(h));
    for _ in 0..32 {
        let message = doc.generate_sync_message(&mut state);
        if message.is_none() {
            if let Some(h) = &server_heads {
                return Ok(DocSync::Done {
                    converged: same(h, &doc.heads()),
                });
            }
        }
        let req = DocSyncRequest {
            version: VERSION,
            id: id.to_string(),
            message: message.clone().map(serde_bytes::ByteBuf::from),
            server_state: server_state.clone(),
        };
        let resp: DocSyncResponse = exchange(
            transport,
            zhucun_protocol::DOC_SYNC_PATH,
            token,
            &req,
            opts,
            stats,
        )
        .await?;
        if let Some(r) = resp.reject {
            return Ok(DocSync::Refused(r));
        }
        server_state = Some(resp.server_state);
        match &resp.message {
            Some(m) => {
                let heads = zhucun_model::RecordDoc::sync_message_heads(m)
                    .map_err(|e| SyncError::BadReply(e.to_string()))?;
                doc.receive_sync_message(&mut state, m)
                    .map_err(|e| SyncError::BadReply(e.to_string()))?;
                server_heads = Some(heads);
            }
            None if message.is_none() => return Ok(DocSync::Done { converged: false }),
            None => {}
        }
    }
    Ok(DocSync::Done { converged: false })
}

/// Automerge's sync protocol for one record whose heads disagree with the server's.
async fn resync_record(
    replica: &mut Replica,
    transport: &dyn Transport,
    token: &str,
    id: &str,
    opts: &SyncOptions,
    stats: &mut SyncStats,
) -> Result<(), SyncError> {
    let mut doc = replica.doc_for_sync(id)?;
    let sent = doc.heads();
    match doc_sync_rounds(transport, token, id, &mut doc, opts, stats).await? {
        DocSync::Refused(r) => {
            replica.mark_rejected(&[(r.id, sent, reject_code(r.code), r.message)])?;
            stats.rejected += 1;
        }
        DocSync::Done { converged } => replica.save_synced_doc(&mut doc, converged)?,
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct BlobStatus {
    size: Option<u64>,
    complete: bool,
    missing: Vec<u64>,
    /// The server's largest attachment (absent from servers before it was sent).
    #[serde(default)]
    max_size: Option<u64>,
}

async fn blob_status(
    transport: &dyn Transport,
    token: &str,
    hash: &str,
    opts: &SyncOptions,
    stats: &mut SyncStats,
) -> Result<BlobStatus, SyncError> {
    let path = format!("/v1/blobs/{hash}");
    let reply = post_retrying(
        transport,
        Request {
            method: Method::Get,
            path: &path,
            token: Some(token),
            content_type: "application/json",
            encoding: None,
            body: Vec::new(),
        },
        opts,
        stats,
    )
    .await?;
    if reply.status != 200 {
        return Err(server_error(&reply));
    }
    serde_json::from_slice(&reply.body).map_err(|e| SyncError::BadReply(e.to_string()))
}

/// Upload the chunks of a local blob the server is missing (a cut upload resumes).
async fn upload_blob(
    replica: &Replica,
    transport: &dyn Transport,
    token: &str,
    hash: &str,
    opts: &SyncOptions,
    stats: &mut SyncStats,
) -> Result<(), SyncError> {
    let Some(info) = replica.blob_info(hash)? else {
        return Ok(());
    };
    let st = blob_status(transport, token, hash, opts, stats).await?;
    if st.complete {
        return Ok(());
    }
    // Refused before a byte is sent: otherwise every sync would send its first chunk again
    // only to hear `413 too_large`.
    if let Some(max) = st.max_size.filter(|m| info.size > *m) {
        return Err(SyncError::Server {
            status: 413,
            code: "too_large".into(),
            message: format!(
                "the attachment is {} bytes; the server takes at most {max}",
                info.size
            ),
        });
    }
    let all: Vec<u64> = (0..info.size.div_ceil(zhucun_replica::CHUNK_SIZE as u64).max(1)).collect();
    let todo = if st.size == Some(info.size) {
        st.missing
    } else {
        all
    };
    for idx in todo {
        let bytes = replica.blob_chunk(hash, idx)?;
        let path = format!("/v1/blobs/{hash}/{idx}?size={}", info.size);
        let reply = post_retrying(
            transport,
            Request {
                method: Method::Put,
                path: &path,
                token: Some(token),
                content_type: "application/octet-stream",
                encoding: None,
                body: bytes,
            },
            opts,
            stats,
        )
        .await?;
        if reply.status != 200 {
            return Err(server_error(&reply));
        }
    }
    stats.blobs_up += 1;
    Ok(())
}

/// Download an attachment from the server into the replica, resuming a cut download.
pub async fn fetch_blob(
    replica: &mut Replica,
    transport: &dyn Transport,
    hash: &str,
    opts: &SyncOptions,
) -> Result<SyncStats, SyncError> {
    let link = replica.server()?.ok_or(SyncError::NotEnrolled)?;
    let mut stats = SyncStats::default();
    if replica.has_blob(hash)? {
        return Ok(stats);
    }
    let st = blob_status(transport, &link.token, hash, opts, &mut stats).await?;
    let (true, Some(size)) = (st.complete, st.size) else {
        return Err(SyncError::Server {
            status: 404,
            code: "blob_missing".into(),
            message: format!("attachment {hash} is not complete on the server yet"),
        });
    };
    replica.begin_blob(hash, size, "")?;
    for idx in replica.missing_chunks(hash)? {
        let path = format!("/v1/blobs/{hash}/{idx}");
        let reply = post_retrying(
            transport,
            Request {
                method: Method::Get,
                path: &path,
                token: Some(&link.token),
                content_type: "application/octet-stream",
                encoding: None,
                body: Vec::new(),
            },
            opts,
            &mut stats,
        )
        .await?;
        if reply.status != 200 {
            return Err(server_error(&reply));
        }
        replica.put_blob_chunk(hash, idx, &reply.body)?;
    }
    replica.finish_blob(hash)?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;

    /// A link that answers from a script, recording when each request came.
    struct Scripted {
        answers: Mutex<Vec<Result<Reply, TransportError>>>,
        at: Mutex<Vec<tokio::time::Instant>>,
    }

    #[async_trait]
    impl Transport for Scripted {
        async fn send(
            &self,
            _: Method,
            _: &str,
            _: Option<&str>,
            _: &str,
            _: Option<&str>,
            _: Vec<u8>,
        ) -> Result<Reply, TransportError> {
            self.at.lock().unwrap().push(tokio::time::Instant::now());
            self.answers.lock().unwrap().remove(0)
        }
    }

    fn reply(status: u16, retry_after: Option<u64>) -> Result<Reply, TransportError> {
        Ok(Reply {
            status,
            retry_after: retry_after.map(Duration::from_secs),
            body: b"{}".to_vec(),
        })
    }

    fn opts() -> SyncOptions {
        SyncOptions {
            attempts: 4,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            ..Default::default()
        }
    }

    fn req() -> Request<'static> {
        Request::sync("/v1/sync", "t", vec![1, 2, 3])
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn retries_back_off_and_honour_retry_after() {
        let t = Scripted {
            answers: Mutex::new(vec![
                Err(TransportError::Unreachable("reset".into())),
                reply(503, Some(3)),
                reply(429, None),
                reply(200, None),
            ]),
            at: Mutex::new(Vec::new()),
        };
        let mut stats = SyncStats::default();
        let r = post_retrying(&t, req(), &opts(), &mut stats).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!((stats.round_trips, stats.retries), (4, 3));
        let at = t.at.lock().unwrap();
        let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
        // First retry: 20 ms with jitter (10-20 ms); then the server's Retry-After of 3 s.
        assert!(
            gaps[0] >= Duration::from_millis(10) && gaps[0] <= Duration::from_millis(20),
            "{gaps:?}"
        );
        assert_eq!(gaps[1], Duration::from_secs(3));
        // Third: 80 ms base with jitter.
        assert!(
            gaps[2] >= Duration::from_millis(40) && gaps[2] <= Duration::from_millis(80),
            "{gaps:?}"
        );
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn refusals_are_not_retried_and_failures_give_up() {
        let t = Scripted {
            answers: Mutex::new(vec![reply(401, None)]),
            at: Mutex::new(Vec::new()),
        };
        let mut stats = SyncStats::default();
        assert_eq!(
            post_retrying(&t, req(), &opts(), &mut stats)
                .await
                .unwrap()
                .status,
            401
        );
        assert_eq!(stats.round_trips, 1);
        let t = Scripted {
            answers: Mutex::new((0..4).map(|_| reply(503, None)).collect()),
            at: Mutex::new(Vec::new()),
        };
        let e = post_retrying(&t, req(), &opts(), &mut stats)
            .await
            .unwrap_err();
        assert!(matches!(e, SyncError::GaveUp { attempts: 4, .. }), "{e}");
    }
}
