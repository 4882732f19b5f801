//! Sync in the background, for the app: periodically, soon after a change, and again and
//! again (with growing pauses) while the server does not answer, so a sync happens shortly
//! after the network comes back.
//!
//! It runs on a thread of its own with its own replica connection, so typing never waits for
//! the network: the app's connection and this one share the file, and every write takes the
//! write lock for one short transaction (see `zhucun-replica`). What it is doing is published
//! as a [`Status`] to a callback (the app turns it into an event for the UI).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Notify;
use zhucun_replica::{Replica, ReplicaError};

use crate::engine::{self, Progress, SyncError, SyncOptions, SyncStats};
use crate::transport::HttpTransport;

/// What the background sync is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for the next sync; the last one succeeded (or none ran yet).
    #[default]
    Idle,
    Syncing,
    /// The server did not answer; retrying with growing pauses.
    Offline,
    /// The server answered with a refusal (for example a revoked device).
    Refused,
    /// This device has no server to sync with.
    NotEnrolled,
}

/// Progress of the running sync: records and bytes so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Running {
    pub round: u32,
    pub pushed: usize,
    pub pulled: usize,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// More pages are waiting on the server.
    pub more: bool,
}

/// The background sync's state, as the UI shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    pub state: State,
    /// Unix seconds of the last sync that completed.
    pub last_success: Option<i64>,
    /// Unix seconds of the last attempt.
    pub last_attempt: Option<i64>,
    /// The error of the last attempt, as one line; `None` after a success.
    pub error: Option<String>,
    /// The server's error code when it refused (`token_revoked`, ...).
    pub error_code: Option<String>,
    pub running: Option<Running>,
    /// What the last completed sync did.
    pub last: Option<SyncStats>,
}

/// Timing of the background sync.
#[derive(Debug, Clone)]
pub struct Config {
    /// Between syncs when nothing happens.
    pub interval: Duration,
    /// After a change, wait this long for more typing before syncing.
    pub after_change: Duration,
    /// First pause after the server did not answer; doubles up to `offline_max`.
    pub offline_min: Duration,
    pub offline_max: Duration,
    pub options: SyncOptions,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            interval: Duration::from_secs(300),
            after_change: Duration::from_secs(3),
            offline_min: Duration::from_secs(10),
            offline_max: Duration::from_secs(120),
            options: SyncOptions {
                // The background loop is the retry: a request fails fast and is tried again
                // at the next pause.
                attempts: 2,
                ..SyncOptions::default()
            },
        }
    }
}

/// Opens the replica for the sync thread (the app keeps the key).
pub type Opener = Box<dyn Fn() -> Result<Replica, ReplicaError> + Send>;
/// Told every time the status changes.
pub type Listener = Box<dyn Fn(&Status) + Send + Sync>;

struct Shared {
    wake: Notify,
    urgent: AtomicBool,
    stop: AtomicBool,
    status: Mutex<Status>,
    listener: Listener,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut Status)) {
        let snapshot = {
            let mut s = match self.status.lock() {
                Ok(s) => s,
                Err(poisoned) => poisoned.into_inner(),
            };
            f(&mut s);
            s.clone()
        };
        (self.listener)(&snapshot);
    }
}

/// A running background sync; stops when dropped.
pub struct Background {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Background {
    /// Start syncing now and then as `config` says.
    pub fn start(open: Opener, config: Config, listener: Listener) -> std::io::Result<Background> {
        let shared = Arc::new(Shared {
            wake: Notify::new(),
            urgent: AtomicBool::new(true),
            stop: AtomicBool::new(false),
            status: Mutex::new(Status::default()),
            listener,
        });
        let s2 = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("zhucun-sync".into())
            .spawn(move || run(s2, open, config))?;
        Ok(Background {
            shared,
            thread: Some(thread),
        })
    }

    /// Something changed: sync after a short pause for more typing.
    pub fn changed(&self) {
        self.shared.wake.notify_one();
    }

    /// Sync now.
    pub fn sync_now(&self) {
        self.shared.urgent.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }

    pub fn status(&self) -> Status {
        match self.shared.status.lock() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Stop after the running request (if any) and wait for the thread.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.halt();
    }
}

fn run(shared: Arc<Shared>, open: Opener, config: Config) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            shared.update(|s| {
                s.state = State::Refused;
                s.error = Some(format!("cannot start the sync thread: {e}"));
            });
            return;
        }
    };
    rt.block_on(async {
        let mut pause = Duration::ZERO;
        let mut offline_pause = config.offline_min;
        loop {
            // Wait for the pause to end, or to be woken.
            let woken = tokio::select! {
                _ = tokio::time::sleep(pause) => false,
                _ = shared.wake.notified() => true,
            };
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
            if woken && !shared.urgent.swap(false, Ordering::SeqCst) {
                // A change: let the typing settle (further changes in this pause are folded in).
                tokio::time::sleep(config.after_change).await;
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
            }
            shared.urgent.store(false, Ordering::SeqCst);
            match once(&shared, &open, &config.options).await {
                Outcome::Done | Outcome::Refused => {
                    offline_pause = config.offline_min;
                    pause = config.interval;
                }
                Outcome::Offline => {
                    pause = offline_pause;
                    offline_pause = (offline_pause * 2).min(config.offline_max);
                }
            }
        }
    });
}

enum Outcome {
    Done,
    Offline,
    Refused,
}

async fn once(shared: &Shared, open: &Opener, opts: &SyncOptions) -> Outcome {
    let started = now();
    let mut replica = match open() {
        Ok(r) => r,
        Err(e) => {
            shared.update(|s| {
                s.state = State::Refused;
                s.last_attempt = Some(started);
                s.error = Some(e.to_string());
                s.error_code = Some("replica".into());
            });
            return Outcome::Refused;
        }
    };
    let link = match replica.server() {
        Ok(Some(l)) => l,
        Ok(None) => {
            let _ = replica.checkpoint();
            shared.update(|s| s.state = State::NotEnrolled);
            return Outcome::Refused;
        }
        Err(e) => {
            shared.update(|s| {
                s.state = State::Refused;
                s.error = Some(e.to_string());
            });
            return Outcome::Refused;
        }
    };
    let transport = match HttpTransport::new(&link.url) {
        Ok(t) => t,
        Err(e) => {
            shared.update(|s| {
                s.state = State::Refused;
                s.error = Some(e.to_string());
                s.error_code = Some("bad_url".into());
            });
            return Outcome::Refused;
        }
    };
    shared.update(|s| {
        s.state = State::Syncing;
        s.last_attempt = Some(started);
        s.running = Some(Running::default());
    });
    let mut on_progress = |p: &Progress| {
        shared.update(|s| {
            s.running = Some(Running {
                round: p.round,
                pushed: p.stats.pushed,
                pulled: p.stats.pulled,
                bytes_up: p.stats.bytes_up,
                bytes_down: p.stats.bytes_down,
                more: p.more,
            })
        });
    };
    let result = engine::sync(&mut replica, &transport, opts, Some(&mut on_progress)).await;
    // The app's UI connection leaves checkpoints to this one (see `zhucun-replica`).
    let _ = replica.checkpoint();
    match result {
        Ok(stats) => {
            shared.update(|s| {
                s.state = State::Idle;
                s.last_success = Some(now());
                s.error = None;
                s.error_code = None;
                s.running = None;
                s.last = Some(stats);
            });
            Outcome::Done
        }
        Err(e) => {
            let offline = matches!(e, SyncError::Transport(_) | SyncError::GaveUp { .. });
            let code = match &e {
                SyncError::Server { code, .. } => Some(code.clone()),
                SyncError::Transport(_) | SyncError::GaveUp { .. } => Some("offline".into()),
                _ => None,
            };
            shared.update(|s| {
                s.state = if offline {
                    State::Offline
                } else {
                    State::Refused
                };
                s.error = Some(e.to_string());
                s.error_code = code;
                s.running = None;
            });
            if offline {
                Outcome::Offline
            } else {
                Outcome::Refused
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use zhucun_replica::{Key, ServerLink};

    /// A device whose server does not answer (nothing listens on the port) goes offline,
    /// keeps trying with growing pauses, and stops promptly when asked.
    #[test]
    fn an_unreachable_server_means_offline_and_retries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let key = Key::Raw([3u8; 32]);
        {
            let mut r = Replica::open(&path, &key).unwrap();
            // A port nothing listens on: bind, read the port, close.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            r.set_server(&ServerLink {
                url: format!("http://127.0.0.1:{port}"),
                device_id: "d1".into(),
                token: "t".into(),
            })
            .unwrap();
        }
        let (tx, rx) = mpsc::channel::<Status>();
        let tx = Mutex::new(tx);
        let bg = Background::start(
            Box::new(move || Replica::open(&path, &key)),
            Config {
                interval: Duration::from_secs(3600),
                after_change: Duration::from_millis(10),
                offline_min: Duration::from_millis(50),
                offline_max: Duration::from_millis(200),
                options: SyncOptions {
                    attempts: 1,
                    ..SyncOptions::default()
                },
            },
            Box::new(move |s| {
                let _ = tx.lock().unwrap().send(s.clone());
            }),
        )
        .unwrap();
        let mut attempts = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while attempts < 3 && std::time::Instant::now() < deadline {
            if let Ok(s) = rx.recv_timeout(Duration::from_secs(5)) {
                if s.state == State::Offline {
                    attempts += 1;
                    assert_eq!(s.error_code.as_deref(), Some("offline"));
                    assert!(s.error.is_some());
                    assert_eq!(s.last_success, None);
                }
            }
        }
        assert_eq!(attempts, 3, "retried while offline");
        let t = std::time::Instant::now();
        bg.stop();
        assert!(t.elapsed() < Duration::from_secs(5), "stops promptly");
    }

    #[test]
    fn a_device_without_a_server_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let key = Key::Raw([4u8; 32]);
        drop(Replica::open(&path, &key).unwrap());
        let (tx, rx) = mpsc::channel::<Status>();
        let tx = Mutex::new(tx);
        let bg = Background::start(
            Box::new(move || Replica::open(&path, &key)),
            Config::default(),
            Box::new(move |s| {
                let _ = tx.lock().unwrap().send(s.clone());
            }),
        )
        .unwrap();
        let s = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(s.state, State::NotEnrolled);
        assert_eq!(bg.status().state, State::NotEnrolled);
    }
}
