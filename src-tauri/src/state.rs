//! The app's state: the data directory, and while unlocked the replica (the UI's connection),
//! the key and the background sync. Locking drops all three.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zhucun_replica::pin::DerivedKey;
use zhucun_replica::{Key, Replica};
use zhucun_sync::background::{self, Background};

use crate::error::{AppError, AppResult, ErrorKind};

/// Open state: only while the PIN has been given.
pub struct Open {
    pub replica: Replica,
    pub key: DerivedKey,
    pub sync: Option<Background>,
}

pub struct AppState {
    pub data_dir: PathBuf,
    open: Mutex<Option<Open>>,
}

impl AppState {
    pub fn new(data_dir: PathBuf) -> AppState {
        AppState {
            data_dir,
            open: Mutex::new(None),
        }
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, Option<Open>> {
        // A panic in another command must not lock the user out: take the state as it is.
        match self.open.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn is_open(&self) -> bool {
        self.guard().is_some()
    }

    /// Run `f` on the open state; `Locked` when the PIN has not been given.
    pub fn with<R>(&self, f: impl FnOnce(&mut Open) -> AppResult<R>) -> AppResult<R> {
        match self.guard().as_mut() {
            Some(o) => f(o),
            None => Err(AppError::new(ErrorKind::Locked, "the app is locked")),
        }
    }

    pub fn set_open(&self, open: Open) {
        // A previous state (a second unlock) is closed first.
        let old = self.guard().replace(open);
        close(old);
    }

    pub fn close(&self) {
        let old = self.guard().take();
        close(old);
    }

    /// A second connection to the replica, for work that waits on the network.
    pub fn second_connection(&self) -> AppResult<Replica> {
        let key = self.with(|o| Ok(o.key.key()))?;
        Ok(Replica::open(&self.data_dir, &key)?)
    }
}

fn close(open: Option<Open>) {
    if let Some(mut o) = open {
        if let Some(bg) = o.sync.take() {
            // Stopping waits for a request in flight; do not make the lock screen wait.
            std::thread::spawn(move || bg.stop());
        }
    }
}

/// Start the background sync with its own connection to the replica.
pub fn start_sync(
    dir: &Path,
    key: Key,
    listener: background::Listener,
) -> std::io::Result<Background> {
    let dir = dir.to_path_buf();
    Background::start(
        Box::new(move || Replica::open(&dir, &key)),
        background::Config::default(),
        listener,
    )
}
