//! The PIN that opens the replica on a phone or a laptop.
//!
//! The replica's SQLCipher key is derived from the PIN with Argon2id and a random salt; the
//! key is never stored. `lock.json` beside the replica holds only the salt, the Argon2id
//! parameters and the count of wrong PINs, so the app can ask for the PIN, slow down guessing
//! on the device and say how long to wait. A wrong PIN is recognised by SQLCipher refusing
//! the key; nothing is written to the replica then.
//!
//! Someone who copies the file can still guess PINs offline at Argon2id's cost per guess
//! (about a quarter of a second each with the defaults): a longer PIN is the only defence
//! there, which is why the minimum is six characters. A forgotten PIN cannot be recovered:
//! the device enrols again and gets everything that reached the server; the old file is kept
//! aside, never deleted, in case the PIN comes back to mind.

use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{Key, Replica, ReplicaError, FILE_NAME};

/// The file beside the replica that describes how its key is derived.
pub const LOCK_FILE: &str = "lock.json";
/// The shortest PIN accepted.
pub const MIN_PIN_LEN: usize = 6;
/// Wrong PINs allowed before each further attempt has to wait.
pub const FREE_ATTEMPTS: u32 = 5;
/// The longest wait imposed after wrong PINs.
pub const MAX_WAIT_SECS: i64 = 3600;

#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("the PIN must have at least {MIN_PIN_LEN} characters")]
    TooShort,
    #[error("wrong PIN ({failures} wrong in a row)")]
    Wrong { failures: u32, wait_secs: u64 },
    #[error("too many wrong PINs: try again in {0} seconds")]
    LockedOut(u64),
    #[error("this device has no replica yet: enrol it first")]
    NotSet,
    #[error("a replica already exists in {0}")]
    AlreadySet(PathBuf),
    #[error("{file} is damaged: {reason}")]
    Damaged { file: PathBuf, reason: String },
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Argon2id cost. The defaults take about a quarter of a second on a laptop core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams {
            m_kib: 64 * 1024,
            t: 3,
            p: 1,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LockFile {
    version: u32,
    kdf: String,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
    #[serde(default)]
    failures: u32,
    #[serde(default)]
    locked_until: i64,
}

/// A key derived from a PIN: 256 bits, wiped from memory when dropped.
pub struct DerivedKey(zeroize::Zeroizing<[u8; 32]>);

impl DerivedKey {
    pub fn key(&self) -> Key {
        Key::Raw(*self.0)
    }
}

impl std::fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DerivedKey(..)")
    }
}

/// Derive the replica key from a PIN.
pub fn derive_key(pin: &str, salt: &[u8], p: KdfParams) -> Result<DerivedKey, PinError> {
    let params = Params::new(p.m_kib, p.t, p.p, Some(32)).map_err(|e| PinError::Damaged {
        file: LOCK_FILE.into(),
        reason: format!("Argon2id parameters: {e}"),
    })?;
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pin.as_bytes(), salt, out.as_mut())
        .map_err(|e| PinError::Damaged {
            file: LOCK_FILE.into(),
            reason: format!("salt: {e}"),
        })?;
    Ok(DerivedKey(out))
}

/// The files that make up a PIN-locked replica in its data directory.
fn replica_files() -> [String; 4] {
    [
        FILE_NAME.to_string(),
        format!("{FILE_NAME}-wal"),
        format!("{FILE_NAME}-shm"),
        LOCK_FILE.to_string(),
    ]
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The PIN lock of one data directory.
#[derive(Debug)]
pub struct PinLock {
    dir: PathBuf,
    file: LockFile,
}

impl PinLock {
    /// Whether `dir` holds a replica locked by a PIN.
    pub fn is_set(dir: &Path) -> bool {
        dir.join(LOCK_FILE).is_file() && dir.join(FILE_NAME).is_file()
    }

    /// Create the replica in `dir`, keyed by `pin`. Fails if one exists already.
    pub fn create(
        dir: &Path,
        pin: &str,
        params: KdfParams,
    ) -> Result<(Replica, DerivedKey), PinError> {
        if pin.chars().count() < MIN_PIN_LEN {
            return Err(PinError::TooShort);
        }
        if dir.join(FILE_NAME).exists() {
            return Err(PinError::AlreadySet(dir.to_path_buf()));
        }
        std::fs::create_dir_all(dir)?;
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let key = derive_key(pin, &salt, params)?;
        let replica = Replica::open(dir, &key.key())?;
        let lock = PinLock {
            dir: dir.to_path_buf(),
            file: LockFile {
                version: 1,
                kdf: "argon2id".into(),
                params,
                salt: hex::encode(salt),
                failures: 0,
                locked_until: 0,
            },
        };
        lock.save()?;
        Ok((replica, key))
    }

    /// Read the lock of `dir`.
    pub fn load(dir: &Path) -> Result<PinLock, PinError> {
        let path = dir.join(LOCK_FILE);
        if !Self::is_set(dir) {
            return Err(PinError::NotSet);
        }
        let damaged = |reason: String| PinError::Damaged {
            file: path.clone(),
            reason,
        };
        let text = std::fs::read_to_string(&path)?;
        let file: LockFile = serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?;
        if file.version != 1 || file.kdf != "argon2id" {
            return Err(damaged(format!(
                "unknown version {} / key derivation {}",
                file.version, file.kdf
            )));
        }
        hex::decode(&file.salt).map_err(|_| damaged("salt is not hex".into()))?;
        Ok(PinLock {
            dir: dir.to_path_buf(),
            file,
        })
    }

    /// Seconds to wait before the next attempt (0: may try now).
    pub fn wait_secs(&self) -> u64 {
        (self.file.locked_until - now()).max(0) as u64
    }

    /// Wrong PINs in a row so far.
    pub fn failures(&self) -> u32 {
        self.file.failures
    }

    /// Open the replica with `pin`. A wrong PIN is counted; after [`FREE_ATTEMPTS`] each
    /// further wrong PIN doubles the wait, from 30 seconds up to an hour.
    pub fn unlock(&mut self, pin: &str) -> Result<(Replica, DerivedKey), PinError> {
        let wait = self.wait_secs();
        if wait > 0 {
            return Err(PinError::LockedOut(wait));
        }
        let salt = hex::decode(&self.file.salt).unwrap_or_default();
        let key = derive_key(pin, &salt, self.file.params)?;
        match Replica::open(&self.dir, &key.key()) {
            Ok(r) => {
                if self.file.failures != 0 || self.file.locked_until != 0 {
                    self.file.failures = 0;
                    self.file.locked_until = 0;
                    self.save()?;
                }
                Ok((r, key))
            }
            Err(ReplicaError::WrongKey { .. }) => {
                self.file.failures = self.file.failures.saturating_add(1);
                if self.file.failures >= FREE_ATTEMPTS {
                    let doublings = (self.file.failures - FREE_ATTEMPTS).min(12);
                    let wait = (30i64 << doublings).min(MAX_WAIT_SECS);
                    self.file.locked_until = now() + wait;
                }
                self.save()?;
                Err(PinError::Wrong {
                    failures: self.file.failures,
                    wait_secs: self.wait_secs(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Set the replica (and its lock) aside after a forgotten PIN, so the device can enrol
    /// again. Nothing is deleted: the files move to `forgotten-<time>/` in the data directory.
    pub fn set_aside(dir: &Path) -> Result<PathBuf, PinError> {
        let aside = dir.join(format!("forgotten-{}", now()));
        std::fs::create_dir_all(&aside)?;
        for name in replica_files() {
            let from = dir.join(&name);
            if from.exists() {
                std::fs::rename(&from, aside.join(&name))?;
            }
        }
        Ok(aside)
    }

    /// Remove what an enrolment that did not finish left behind (a new, empty replica and its
    /// lock), so the next attempt starts clean. Only for a replica that was never enrolled.
    pub fn discard_unfinished(dir: &Path) -> Result<(), PinError> {
        for name in replica_files() {
            let p = dir.join(name);
            if p.exists() {
                std::fs::remove_file(p)?;
            }
        }
        Ok(())
    }

    /// Write the lock file atomically: a temporary file, synced, renamed over the old one.
    fn save(&self) -> Result<(), PinError> {
        use std::io::Write;
        let path = self.dir.join(LOCK_FILE);
        let tmp = self.dir.join(format!("{LOCK_FILE}.tmp"));
        let text = serde_json::to_string_pretty(&self.file).map_err(|e| PinError::Damaged {
            file: path.clone(),
            reason: e.to_string(),
        })?;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters: these tests are about the lock's behaviour, not Argon2id's cost.
    const FAST: KdfParams = KdfParams {
        m_kib: 256,
        t: 1,
        p: 1,
    };

    #[test]
    fn the_right_pin_opens_what_it_created_and_a_wrong_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let (mut r, _) = PinLock::create(dir.path(), "246810", FAST).unwrap();
        let mut input = serde_json::Map::new();
        input.insert("topic".into(), "学习党章".into());
        input.insert("date".into(), "2026-11-01".into());
        input.insert("lecturer".into(), "李明".into());
        input.insert("village".into(), "dongfeng".into());
        let saved = r.put(zhucun_model::Kind::Activity, &input).unwrap();
        drop(r);
        let before = std::fs::read(dir.path().join(FILE_NAME)).unwrap();

        let mut lock = PinLock::load(dir.path()).unwrap();
        match lock.unlock("135790") {
            Err(PinError::Wrong { failures: 1, .. }) => {}
            other => panic!("expected a wrong PIN, got {other:?}"),
        }
        assert_eq!(
            std::fs::read(dir.path().join(FILE_NAME)).unwrap(),
            before,
            "a wrong PIN must not touch the replica"
        );
        let (r, _) = lock.unlock("246810").unwrap();
        assert_eq!(r.get(&saved.id).unwrap().record["topic"], "学习党章");
        assert_eq!(PinLock::load(dir.path()).unwrap().failures(), 0);
    }

    #[test]
    fn short_pins_are_refused_and_nothing_is_created() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            PinLock::create(dir.path(), "12345", FAST),
            Err(PinError::TooShort)
        ));
        assert!(!PinLock::is_set(dir.path()));
    }

    #[test]
    fn repeated_wrong_pins_make_the_next_attempt_wait_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        drop(PinLock::create(dir.path(), "246810", FAST).unwrap());
        let mut lock = PinLock::load(dir.path()).unwrap();
        for i in 1..FREE_ATTEMPTS {
            assert!(matches!(
                lock.unlock("000000"),
                Err(PinError::Wrong { wait_secs: 0, failures }) if failures == i
            ));
        }
        assert!(matches!(
            lock.unlock("000000"),
            Err(PinError::Wrong { wait_secs: 30, .. } | PinError::Wrong { wait_secs: 29, .. })
        ));
        // A restart reads the count back: even the right PIN waits.
        let mut again = PinLock::load(dir.path()).unwrap();
        assert!(matches!(again.unlock("246810"), Err(PinError::LockedOut(s)) if s >= 29));
    }

    #[test]
    fn a_forgotten_pin_sets_the_replica_aside_without_deleting_it() {
        let dir = tempfile::tempdir().unwrap();
        drop(PinLock::create(dir.path(), "246810", FAST).unwrap());
        let aside = PinLock::set_aside(dir.path()).unwrap();
        assert!(!PinLock::is_set(dir.path()));
        assert!(aside.join(FILE_NAME).is_file());
        assert!(aside.join(LOCK_FILE).is_file());
        // A new replica can be made in the same place.
        drop(PinLock::create(dir.path(), "975310", FAST).unwrap());
        assert!(PinLock::is_set(dir.path()));
    }

    #[test]
    fn a_damaged_lock_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        drop(PinLock::create(dir.path(), "246810", FAST).unwrap());
        std::fs::write(dir.path().join(LOCK_FILE), "{not json").unwrap();
        let e = PinLock::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains(LOCK_FILE), "{e}");
    }
}
