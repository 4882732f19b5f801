//! A fault-injecting TCP proxy on loopback: delay, a bandwidth cap, and connections reset
//! mid-body at random. The kernel here has no netem; this stands in for a village link.
//!
//! Two modes. [`Proxy::start`] (the suites' faulty link) sleeps per chunk and resets
//! connections at random. [`Proxy::start_link`] (the link benchmark) models a real slow link:
//! each direction is paced at its rate and shared by every connection, bytes are pipelined
//! (one-way delay added once per packet, not summed per chunk), a new connection pays the TCP
//! handshake (one round trip) before its first byte goes up, and connections can be cut on
//! demand or when the bytes delivered downstream reach chosen totals. Both modes count the
//! bytes delivered each way; the link mode also counts request/response exchanges.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the link misbehaves.
#[derive(Debug, Clone)]
pub struct Faults {
    /// One-way delay added to every chunk.
    pub delay: Duration,
    /// Bytes per second each way (0: unlimited).
    pub bytes_per_sec: u64,
    /// Probability that a connection is cut after a random number of bytes. When it is above
    /// zero, every connection is cut until one cut has landed, so a short run whose dice all
    /// fell the other way still walks a reset.
    pub reset_probability: f64,
    /// A cut connection is cut after 1 to this many bytes (both ways together), so a cut
    /// lands in a request's or a response's body, not only in the headers.
    pub reset_within: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            delay: Duration::ZERO,
            bytes_per_sec: 0,
            reset_probability: 0.0,
            reset_within: 4000,
        }
    }
}

/// A simulated link for [`Proxy::start_link`].
#[derive(Debug, Clone)]
pub struct Link {
    /// One-way propagation delay (a round trip is twice this).
    pub delay: Duration,
    /// Bytes per second each way, shared by all connections (0: unlimited).
    pub bytes_per_sec: u64,
    /// Whether a new connection waits one round trip (the TCP handshake) before sending.
    pub handshake: bool,
}

impl Link {
    /// A village link: 64 kbit/s each way, 300 ms one way (600 ms round trip).
    pub fn village() -> Link {
        Link {
            delay: Duration::from_millis(300),
            bytes_per_sec: 8000,
            handshake: true,
        }
    }
}

/// What crossed the proxy so far (bytes as delivered to the other side).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Request/response exchanges: a burst downstream after a burst upstream on a connection
    /// (link mode only).
    pub round_trips: u64,
    pub connections: u64,
    /// Connections cut by [`Proxy::cut`] or a scheduled cut (link mode only).
    pub cuts: u64,
}

impl Counts {
    /// What happened between `before` and `self`.
    pub fn since(&self, before: &Counts) -> Counts {
        Counts {
            bytes_up: self.bytes_up - before.bytes_up,
            bytes_down: self.bytes_down - before.bytes_down,
            round_trips: self.round_trips - before.round_trips,
            connections: self.connections - before.connections,
            cuts: self.cuts - before.cuts,
        }
    }
}

/// State shared by the proxy's connections.
struct Shared {
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    round_trips: AtomicU64,
    cuts: AtomicU64,
    cut: broadcast::Sender<()>,
    /// Totals of `bytes_down` at which to cut every connection, ascending.
    cut_at: Mutex<VecDeque<u64>>,
    /// Bytes downstream per finished exchange, in order.
    exchanges: Mutex<Vec<u64>>,
    /// When each direction's wire is free again: [up, down].
    wire_free: [Mutex<Instant>; 2],
}

impl Shared {
    fn new() -> Arc<Shared> {
        let (cut, _) = broadcast::channel(16);
        Arc::new(Shared {
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
            round_trips: AtomicU64::new(0),
            cuts: AtomicU64::new(0),
            cut,
            cut_at: Mutex::new(VecDeque::new()),
            exchanges: Mutex::new(Vec::new()),
            wire_free: [Mutex::new(Instant::now()), Mutex::new(Instant::now())],
        })
    }

    /// Cut every connection: what they had queued on the link is lost, so the wire is free.
    fn cut_all(&self) {
        self.cuts.fetch_add(1, Ordering::Relaxed);
        let _ = self.cut.send(());
        for w in &self.wire_free {
            if let Ok(mut free) = w.lock() {
                *free = Instant::now();
            }
        }
    }
}

/// A running proxy; `addr` is where clients connect.
pub struct Proxy {
    pub addr: String,
    pub resets: Arc<AtomicU64>,
    pub connections: Arc<AtomicU64>,
    shared: Arc<Shared>,
    _rt: tokio::runtime::Runtime,
}

/// The proxy's own runtime and a listener on a free loopback port.
fn bind() -> (tokio::runtime::Runtime, TcpListener, String) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("proxy runtime");
    let listener = rt
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("proxy bind");
    let addr = listener.local_addr().expect("proxy addr").to_string();
    (rt, listener, addr)
}

impl Proxy {
    /// Forward 127.0.0.1:random to `upstream` with `faults`. Runs on its own threads.
    pub fn start(upstream: &str, faults: Faults) -> Proxy {
        let (rt, listener, addr) = bind();
        let resets = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let shared = Shared::new();
        let (r2, c2, up, sh) = (
            Arc::clone(&resets),
            Arc::clone(&connections),
            upstream.to_string(),
            Arc::clone(&shared),
        );
        rt.spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                c2.fetch_add(1, Ordering::Relaxed);
                let (f, up, r, sh) = (faults.clone(), up.clone(), Arc::clone(&r2), Arc::clone(&sh));
                tokio::spawn(async move {
                    if let Ok(outbound) = TcpStream::connect(&up).await {
                        let p = f.reset_probability.clamp(0.0, 1.0);
                        let none_yet = p > 0.0 && r.load(Ordering::Relaxed) == 0;
                        let cut_after = if none_yet || rand::rng().random_bool(p) {
                            Some(rand::rng().random_range(1..f.reset_within.max(2)))
                        } else {
                            None
                        };
                        if pump(inbound, outbound, &f, cut_after, &sh).await {
                            r.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        Proxy {
            addr,
            resets,
            connections,
            shared,
            _rt: rt,
        }
    }

    /// Forward 127.0.0.1:random to `upstream` over a simulated `link` (see the module doc).
    pub fn start_link(upstream: &str, link: Link) -> Proxy {
        let (rt, listener, addr) = bind();
        let resets = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let shared = Shared::new();
        let (c2, up, sh) = (
            Arc::clone(&connections),
            upstream.to_string(),
            Arc::clone(&shared),
        );
        rt.spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                c2.fetch_add(1, Ordering::Relaxed);
                let accepted = Instant::now();
                let (link, up, sh) = (link.clone(), up.clone(), Arc::clone(&sh));
                let mut cut = sh.cut.subscribe();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(&up).await else {
                        return;
                    };
                    tokio::select! {
                        _ = link_pump(inbound, outbound, &link, &sh, accepted) => {}
                        _ = cut.recv() => {}
                    }
                });
            }
        });
        Proxy {
            addr,
            resets,
            connections,
            shared,
            _rt: rt,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What crossed the proxy since it started.
    pub fn counts(&self) -> Counts {
        let s = &self.shared;
        Counts {
            bytes_up: s.bytes_up.load(Ordering::Relaxed),
            bytes_down: s.bytes_down.load(Ordering::Relaxed),
            round_trips: s.round_trips.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
            cuts: s.cuts.load(Ordering::Relaxed),
        }
    }

    /// Cut every open connection now (link mode): bytes in flight are lost.
    pub fn cut(&self) {
        self.shared.cut_all();
    }

    /// Cut every open connection when the bytes delivered downstream reach each of these
    /// totals (of [`Counts::bytes_down`]); link mode.
    pub fn cut_at_bytes_down(&self, totals: &[u64]) {
        let mut v: Vec<u64> = totals.to_vec();
        v.sort_unstable();
        if let Ok(mut q) = self.shared.cut_at.lock() {
            q.extend(v);
        }
    }

    /// Bytes downstream of each finished request/response exchange so far (link mode).
    pub fn exchanges_down(&self) -> Vec<u64> {
        self.shared
            .exchanges
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }
}

const UP: usize = 0;
const DOWN: usize = 1;
/// Packet-sized reads: pacing is store-and-forward per packet, as on a real link.
const PACKET: usize = 1460;

enum Packet {
    Data { at: Instant, bytes: Vec<u8> },
    Eof { at: Instant },
}

/// One connection over the simulated link: both directions until both have ended.
async fn link_pump(a: TcpStream, b: TcpStream, link: &Link, sh: &Arc<Shared>, accepted: Instant) {
    let _ = a.set_nodelay(true);
    let _ = b.set_nodelay(true);
    let (ar, aw) = a.into_split();
    let (br, bw) = b.into_split();
    // Which way the last bytes went on this connection, and the downstream bytes of the
    // exchange in progress.
    let last = Arc::new(AtomicU8::new(UP as u8));
    let exchange = Arc::new(AtomicU64::new(0));
    let first_up = if link.handshake {
        accepted + link.delay * 2
    } else {
        accepted
    };
    let (utx, urx) = mpsc::unbounded_channel();
    let (dtx, drx) = mpsc::unbounded_channel();
    tokio::join!(
        link_read(ar, utx, UP, link, sh, first_up),
        link_write(urx, bw, UP, sh, &last, &exchange),
        link_read(br, dtx, DOWN, link, sh, accepted),
        link_write(drx, aw, DOWN, sh, &last, &exchange),
    );
    let left = exchange.swap(0, Ordering::Relaxed);
    if left > 0 {
        if let Ok(mut v) = sh.exchanges.lock() {
            v.push(left);
        }
    }
}

/// Read packets as they come and schedule them: each leaves when the direction's wire is free
/// and arrives `delay` after its last byte left. The socket is read eagerly (the link's queue
/// is the proxy's memory): a socket read only at the link's rate sits at a zero window for
/// long stretches, and Linux then times a long upload out (ETIMEDOUT) on loopback.
async fn link_read(
    mut from: tokio::net::tcp::OwnedReadHalf,
    tx: mpsc::UnboundedSender<Packet>,
    dir: usize,
    link: &Link,
    sh: &Shared,
    not_before: Instant,
) {
    let mut buf = vec![0u8; PACKET];
    let mut last = not_before;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let at = Instant::now().max(last) + link.delay;
                let _ = tx.send(Packet::Eof { at });
                return;
            }
            Ok(n) => n,
        };
        let now = Instant::now();
        let sent = {
            let Ok(mut free) = sh.wire_free[dir].lock() else {
                return;
            };
            let start = now.max(*free).max(not_before);
            let done = if link.bytes_per_sec > 0 {
                start + Duration::from_secs_f64(n as f64 / link.bytes_per_sec as f64)
            } else {
                start
            };
            *free = done;
            done
        };
        last = sent;
        if tx
            .send(Packet::Data {
                at: sent + link.delay,
                bytes: buf[..n].to_vec(),
            })
            .is_err()
        {
            return;
        }
    }
}

/// Deliver packets when they arrive; count them; cut when a scheduled total is reached.
async fn link_write(
    mut rx: mpsc::UnboundedReceiver<Packet>,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    dir: usize,
    sh: &Shared,
    last: &AtomicU8,
    exchange: &AtomicU64,
) {
    while let Some(p) = rx.recv().await {
        match p {
            Packet::Eof { at } => {
                tokio::time::sleep_until(at).await;
                let _ = to.shutdown().await;
                return;
            }
            Packet::Data { at, mut bytes } => {
                tokio::time::sleep_until(at).await;
                let mut cut_now = false;
                if dir == DOWN {
                    if let Ok(mut q) = sh.cut_at.lock() {
                        let total = sh.bytes_down.load(Ordering::Relaxed);
                        if let Some(&t) = q.front() {
                            if total + bytes.len() as u64 >= t {
                                q.pop_front();
                                bytes.truncate(t.saturating_sub(total) as usize);
                                cut_now = true;
                            }
                        }
                    }
                }
                let n = bytes.len() as u64;
                if to.write_all(&bytes).await.is_err() {
                    return;
                }
                if dir == DOWN {
                    sh.bytes_down.fetch_add(n, Ordering::Relaxed);
                    if last.swap(DOWN as u8, Ordering::Relaxed) != DOWN as u8 {
                        sh.round_trips.fetch_add(1, Ordering::Relaxed);
                    }
                    exchange.fetch_add(n, Ordering::Relaxed);
                } else {
                    sh.bytes_up.fetch_add(n, Ordering::Relaxed);
                    if last.swap(UP as u8, Ordering::Relaxed) == DOWN as u8 {
                        let done = exchange.swap(0, Ordering::Relaxed);
                        if let Ok(mut v) = sh.exchanges.lock() {
                            v.push(done);
                        }
                    }
                }
                if cut_now {
                    sh.cut_all();
                    return;
                }
            }
        }
    }
}

/// Copy both ways with the faults; returns whether the connection was cut on purpose.
async fn pump(
    a: TcpStream,
    b: TcpStream,
    f: &Faults,
    cut_after: Option<u64>,
    sh: &Arc<Shared>,
) -> bool {
    let (ar, aw) = a.into_split();
    let (br, bw) = b.into_split();
    let budget = Arc::new(AtomicU64::new(cut_after.unwrap_or(u64::MAX)));
    let (su, sd) = (Arc::clone(sh), Arc::clone(sh));
    let up = tokio::spawn(copy(ar, bw, f.clone(), Arc::clone(&budget), su, UP));
    let down = tokio::spawn(copy(br, aw, f.clone(), Arc::clone(&budget), sd, DOWN));
    // Whichever direction ends (EOF, error or a cut) ends the connection.
    let first = tokio::select! {
        r = up => r.unwrap_or(false),
        r = down => r.unwrap_or(false),
    };
    first
}

/// Returns true when the byte budget ran out (a deliberate cut).
async fn copy(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    f: Faults,
    budget: Arc<AtomicU64>,
    sh: Arc<Shared>,
    dir: usize,
) -> bool {
    let counter = if dir == UP {
        &sh.bytes_up
    } else {
        &sh.bytes_down
    };
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return false;
            }
            Ok(n) => n,
        };
        let left = budget.load(Ordering::Relaxed);
        if (n as u64) >= left {
            // Forward part of the chunk, then drop both halves: a reset mid-body.
            if to.write_all(&buf[..left as usize]).await.is_ok() {
                counter.fetch_add(left, Ordering::Relaxed);
            }
            budget.store(0, Ordering::Relaxed);
            return true;
        }
        if left != u64::MAX {
            budget.fetch_sub(n as u64, Ordering::Relaxed);
        }
        if !f.delay.is_zero() {
            tokio::time::sleep(f.delay).await;
        }
        if f.bytes_per_sec > 0 {
            tokio::time::sleep(Duration::from_secs_f64(n as f64 / f.bytes_per_sec as f64)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return false;
        }
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}
