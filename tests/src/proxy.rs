//! A fault-injecting TCP proxy on loopback: delay, a bandwidth cap, and connections reset
//! mid-body at random. The kernel here has no netem; this stands in for a village link.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
    /// Probability that a connection is cut after a random number of bytes.
    pub reset_probability: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            delay: Duration::ZERO,
            bytes_per_sec: 0,
            reset_probability: 0.0,
        }
    }
}

/// A running proxy; `addr` is where clients connect.
pub struct Proxy {
    pub addr: String,
    pub resets: Arc<AtomicU64>,
    pub connections: Arc<AtomicU64>,
    _rt: tokio::runtime::Runtime,
}

impl Proxy {
    /// Forward 127.0.0.1:random to `upstream` with `faults`. Runs on its own threads.
    pub fn start(upstream: &str, faults: Faults) -> Proxy {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr").to_string();
        let resets = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let (r2, c2, up) = (
            Arc::clone(&resets),
            Arc::clone(&connections),
            upstream.to_string(),
        );
        rt.spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                c2.fetch_add(1, Ordering::Relaxed);
                let (f, up, r) = (faults.clone(), up.clone(), Arc::clone(&r2));
                tokio::spawn(async move {
                    if let Ok(outbound) = TcpStream::connect(&up).await {
                        let cut_after =
                            if rand::rng().random_bool(f.reset_probability.clamp(0.0, 1.0)) {
                                Some(rand::rng().random_range(1..4000u64))
                            } else {
                                None
                            };
                        if pump(inbound, outbound, &f, cut_after).await {
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
            _rt: rt,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Copy both ways with the faults; returns whether the connection was cut on purpose.
async fn pump(a: TcpStream, b: TcpStream, f: &Faults, cut_after: Option<u64>) -> bool {
    let (ar, aw) = a.into_split();
    let (br, bw) = b.into_split();
    let budget = Arc::new(AtomicU64::new(cut_after.unwrap_or(u64::MAX)));
    let up = tokio::spawn(copy(ar, bw, f.clone(), Arc::clone(&budget)));
    let down = tokio::spawn(copy(br, aw, f.clone(), Arc::clone(&budget)));
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
) -> bool {
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
            let _ = to.write_all(&buf[..left as usize]).await;
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
    }
}
