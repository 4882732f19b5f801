//! The reference the benchmark compares with: Automerge's own sync protocol run per record, as
//! automerge-repo does, with every message of a round pipelined into one HTTP request and its
//! answer.
//!
//! - The peer ([`serve`], run as `linkbench peer` in a process of its own so its CPU time can
//!   be read like the real server's) holds one Automerge document and one `sync::State` per
//!   record, in memory.
//! - The client ([`AmClient`]) holds the same documents. A sync is a session: every record's
//!   sync state starts from what was persisted after the last session (Automerge persists the
//!   shared heads, as automerge-repo stores sync states per peer), then rounds run until the
//!   client has nothing to say (the peer only ever answers). Each round is one `POST /sync`
//!   whose body holds the client's messages and whose answer holds the peer's.
//! - Framing, kinder than automerge-repo's CBOR envelope (`type`, `documentId` as a base58
//!   string, `senderId`, `targetId`): a LEB128 length, the record's 16-byte UUID, the message
//!   bytes. No compression, as automerge-repo sends its messages (its Automerge 2 messages
//!   carry compressed document saves when most of a document is new, so first syncs are not
//!   raw anyway).
//! - Answers are read as a stream and each message applied as it arrives, as WebSocket frames
//!   would be: a cut connection keeps what arrived before the cut, and the next session
//!   starts from the persisted states.
//! - A new device learns which records exist from `GET /ids` (16 bytes per record), standing
//!   in for automerge-repo's index document.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use zhucun_model::automerge::sync::{Message, State, SyncDoc};
use zhucun_model::automerge::AutoCommit;
use zhucun_model::Uuid;

/// A record id on the wire.
pub type Id = [u8; 16];

pub fn id_of(s: &str) -> Id {
    *Uuid::parse_str(s).expect("record id is a UUID").as_bytes()
}

fn put_leb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Append one frame: length, id, message.
pub fn frame(out: &mut Vec<u8>, id: &Id, msg: &[u8]) {
    put_leb(out, (16 + msg.len()) as u64);
    out.extend_from_slice(id);
    out.extend_from_slice(msg);
}

/// Take the complete frames at the front of `buf`; returns them and how many bytes they used.
pub fn take_frames(buf: &[u8]) -> (Vec<(Id, &[u8])>, usize) {
    let mut out = Vec::new();
    let mut pos = 0usize;
    loop {
        let mut len = 0u64;
        let mut shift = 0;
        let mut p = pos;
        let mut complete = false;
        while p < buf.len() && shift < 64 {
            let b = buf[p];
            p += 1;
            len |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                complete = true;
                break;
            }
        }
        if !complete || len < 16 || (buf.len() - p) < len as usize {
            return (out, pos);
        }
        let end = p + len as usize;
        let mut id = [0u8; 16];
        id.copy_from_slice(&buf[p..p + 16]);
        out.push((id, &buf[p + 16..end]));
        pos = end;
    }
}

// ---------------------------------------------------------------------------------------------
// The peer.

struct PeerDoc {
    doc: AutoCommit,
    state: State,
}

#[derive(Default)]
struct Peer {
    docs: HashMap<Id, PeerDoc>,
    order: Vec<Id>,
}

type Shared = Arc<Mutex<Peer>>;

/// Serve the peer on `listen` until killed; prints `listening on http://ADDR` first.
pub fn serve(listen: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("peer runtime");
    rt.block_on(async move {
        let peer: Shared = Arc::new(Mutex::new(Peer::default()));
        let app = Router::new()
            .route("/load", post(load))
            .route("/ids", get(ids))
            .route("/sync", post(sync))
            .layer(axum::extract::DefaultBodyLimit::max(512 * 1024 * 1024))
            .with_state(peer);
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .expect("peer bind");
        println!(
            "listening on http://{}",
            listener.local_addr().expect("peer addr")
        );
        axum::serve(listener, app).await.expect("peer serve");
    });
}

/// Set-up only (loopback, not through the link): frames of (id, saved document).
async fn load(AxState(peer): AxState<Shared>, body: Bytes) -> &'static str {
    let (frames, _) = take_frames(&body);
    let mut p = peer.lock().expect("peer lock");
    for (id, bytes) in frames {
        let Ok(doc) = AutoCommit::load(bytes) else {
            continue;
        };
        if !p.docs.contains_key(&id) {
            p.order.push(id);
        }
        p.docs.insert(
            id,
            PeerDoc {
                doc,
                state: State::new(),
            },
        );
    }
    "ok"
}

async fn ids(AxState(peer): AxState<Shared>) -> Vec<u8> {
    let p = peer.lock().expect("peer lock");
    p.order.iter().flat_map(|i| i.iter().copied()).collect()
}

async fn sync(AxState(peer): AxState<Shared>, headers: HeaderMap, body: Bytes) -> Vec<u8> {
    let new_session = headers.contains_key("x-new-session");
    let mut guard = peer.lock().expect("peer lock");
    let p = &mut *guard;
    if new_session {
        // A new connection: each record's sync state is what was persisted (shared heads).
        for d in p.docs.values_mut() {
            d.state = State::decode(&d.state.encode()).unwrap_or_default();
        }
    }
    let (frames, _) = take_frames(&body);
    let mut touched = Vec::with_capacity(frames.len());
    for (id, msg) in frames {
        let Ok(m) = Message::decode(msg) else {
            continue;
        };
        if !p.docs.contains_key(&id) {
            p.order.push(id);
            p.docs.insert(
                id,
                PeerDoc {
                    doc: AutoCommit::new(),
                    state: State::new(),
                },
            );
        }
        let Some(d) = p.docs.get_mut(&id) else {
            continue;
        };
        let PeerDoc { doc, state } = d;
        if doc.sync().receive_sync_message(state, m).is_ok() {
            touched.push(id);
        }
    }
    let mut out = Vec::new();
    for id in touched {
        if let Some(PeerDoc { doc, state }) = p.docs.get_mut(&id) {
            if let Some(m) = doc.sync().generate_sync_message(state) {
                frame(&mut out, &id, &m.encode());
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The client.

/// One record on the client: its document and the sync state persisted after the last message.
pub struct ClientDoc {
    pub id: Id,
    pub doc: AutoCommit,
    persisted: Option<Vec<u8>>,
    state: State,
}

/// The device side of the reference method.
#[derive(Default)]
pub struct AmClient {
    pub docs: Vec<ClientDoc>,
    index: HashMap<Id, usize>,
}

/// What a sync did, as the client saw it (the link's own counts are the proxy's).
#[derive(Debug, Default, Clone)]
pub struct AmStats {
    pub rounds: u32,
    pub sessions: u32,
    pub messages_up: u64,
    pub messages_down: u64,
}

#[derive(Debug)]
pub enum AmError {
    /// The connection broke: start a new session.
    Cut(String),
    /// Anything else (a bug or a refused request).
    Other(String),
}

/// An error with its causes, for the log.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl std::fmt::Display for AmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AmError::Cut(e) => write!(f, "connection broke: {e}"),
            AmError::Other(e) => f.write_str(e),
        }
    }
}

impl AmClient {
    pub fn add(&mut self, id: Id, doc: AutoCommit) {
        let i = self.docs.len();
        self.index.insert(id, i);
        self.docs.push(ClientDoc {
            id,
            doc,
            persisted: None,
            state: State::new(),
        });
    }

    pub fn get_mut(&mut self, id: &Id) -> Option<&mut AutoCommit> {
        let i = *self.index.get(id)?;
        Some(&mut self.docs[i].doc)
    }

    /// One session: rounds until the client has nothing to say. `known` is false for a new
    /// device, which first asks which records exist.
    pub async fn session(
        &mut self,
        http: &reqwest::Client,
        base: &str,
        stats: &mut AmStats,
    ) -> Result<(), AmError> {
        stats.sessions += 1;
        for d in &mut self.docs {
            d.state = d
                .persisted
                .as_deref()
                .and_then(|b| State::decode(b).ok())
                .unwrap_or_default();
        }
        let mut first = true;
        loop {
            let mut body = Vec::new();
            let mut n = 0u64;
            for d in &mut self.docs {
                if let Some(m) = d.doc.sync().generate_sync_message(&mut d.state) {
                    frame(&mut body, &d.id, &m.encode());
                    n += 1;
                }
            }
            if n == 0 {
                return Ok(());
            }
            stats.rounds += 1;
            stats.messages_up += n;
            let mut req = http.post(format!("{base}/sync")).body(body);
            if first {
                req = req.header("x-new-session", "1");
            }
            first = false;
            let mut resp = req.send().await.map_err(|e| AmError::Cut(chain(&e)))?;
            if !resp.status().is_success() {
                return Err(AmError::Other(format!("peer answered {}", resp.status())));
            }
            let mut buf: Vec<u8> = Vec::new();
            loop {
                let chunk = resp.chunk().await.map_err(|e| AmError::Cut(chain(&e)))?;
                let done = chunk.is_none();
                if let Some(c) = chunk {
                    buf.extend_from_slice(&c);
                }
                let (frames, used) = take_frames(&buf);
                for (id, msg) in frames {
                    let m = Message::decode(msg).map_err(|e| AmError::Other(e.to_string()))?;
                    let Some(&i) = self.index.get(&id) else {
                        continue;
                    };
                    let d = &mut self.docs[i];
                    d.doc
                        .sync()
                        .receive_sync_message(&mut d.state, m)
                        .map_err(|e| AmError::Other(e.to_string()))?;
                    d.persisted = Some(d.state.encode());
                    stats.messages_down += 1;
                }
                buf.drain(..used);
                if done {
                    break;
                }
            }
        }
    }

    /// Sessions until one completes; a cut waits as the real client's backoff does (a
    /// quarter second with jitter) and starts a new session on a new connection.
    pub async fn sync(
        &mut self,
        base: &str,
        new_device: bool,
        stats: &mut AmStats,
    ) -> Result<(), AmError> {
        for attempt in 0..20u32 {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(1800))
                .build()
                .map_err(|e| AmError::Other(e.to_string()))?;
            let step = async {
                if new_device && self.docs.is_empty() {
                    let ids = http
                        .get(format!("{base}/ids"))
                        .send()
                        .await
                        .map_err(|e| AmError::Cut(chain(&e)))?
                        .bytes()
                        .await
                        .map_err(|e| AmError::Cut(chain(&e)))?;
                    stats.rounds += 1;
                    for c in ids.chunks_exact(16) {
                        let mut id = [0u8; 16];
                        id.copy_from_slice(c);
                        self.add(id, AutoCommit::new());
                    }
                }
                self.session(&http, base, stats).await
            };
            match step.await {
                Ok(()) => return Ok(()),
                Err(e @ AmError::Cut(_)) if attempt < 19 => {
                    crate::log(format!("baseline: {e}; new session"));
                    let jitter = 0.5 + 0.5 * rand::random::<f64>();
                    tokio::time::sleep(Duration::from_millis(250).mul_f64(jitter)).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(AmError::Other("gave up".into()))
    }

    /// Persist every record's state as it is now (after a set-up sync on loopback).
    pub fn persist_all(&mut self) {
        for d in &mut self.docs {
            d.persisted = Some(d.state.encode());
        }
    }
}

/// Load saved documents into the peer at `base` (set-up, loopback).
pub async fn load_peer(base: &str, docs: &[(Id, Vec<u8>)]) {
    let http = reqwest::Client::new();
    for chunk in docs.chunks(2000) {
        let mut body = Vec::new();
        for (id, bytes) in chunk {
            frame(&mut body, id, bytes);
        }
        let r = http
            .post(format!("{base}/load"))
            .body(body)
            .send()
            .await
            .expect("load the peer");
        assert!(r.status().is_success(), "peer load: {}", r.status());
    }
}
