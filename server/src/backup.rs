//! A consistent copy of a server's data while it serves, and putting one back into an empty
//! data directory (`zhucun-server admin backup` / `admin restore`).
//!
//! A backup is two things side by side: the database (`FILE`, an SQLite file made by
//! [`Store::backup_into`]) and the attachments (`FILE.blobs/`, laid out as a blob directory).
//! The database is copied first: every attachment a record of that copy names was written
//! before its record, so it is in the attachments copied after. A PostgreSQL database is
//! dumped with `pg_dump` instead, then the attachments copied with `attachments_only`.
//! What the server lost since the backup comes back from the devices on their next sync
//! (docs/protocol.md, "A server restored from a backup"). No HTTP and no clap here.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::blobs::{BlobDir, BlobError, Copied};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("{0} already exists: a backup or restore never writes over anything")]
    Exists(PathBuf),
    #[error("{0} holds no backup (no such file)")]
    NoBackup(PathBuf),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// What a backup or restore wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Written {
    /// The database file's bytes (none for `attachments_only`).
    pub database_bytes: u64,
    pub attachments: Copied,
}

/// The attachments' folder beside a backup `file`.
pub fn blobs_beside(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".blobs");
    PathBuf::from(p)
}

fn must_be_new(p: &Path) -> Result<(), BackupError> {
    if p.exists() {
        return Err(BackupError::Exists(p.to_path_buf()));
    }
    Ok(())
}

/// Back up the database served by `store` (unless `attachments_only`) into `file` and the
/// attachments of `blobs` into the folder beside it. Neither may exist yet.
pub async fn backup(
    store: &dyn Store,
    blobs: &BlobDir,
    file: &Path,
    attachments_only: bool,
) -> Result<Written, BackupError> {
    let beside = blobs_beside(file);
    must_be_new(&beside)?;
    let mut out = Written::default();
    if !attachments_only {
        must_be_new(file)?;
        store.backup_into(file).await?;
        out.database_bytes = std::fs::metadata(file)
            .map_err(|e| BackupError::Io(file.to_path_buf(), e))?
            .len();
    }
    std::fs::create_dir_all(&beside).map_err(|e| BackupError::Io(beside.clone(), e))?;
    out.attachments = blobs.copy_complete_into(&beside)?;
    Ok(out)
}

/// Put the backup `file` back as the SQLite database `db_file` (unless `attachments_only`)
/// and its attachments into the blob directory `blob_dir`, which must be empty or absent:
/// a restore goes into an empty data directory, never over a server's data. The database is
/// written under a temporary name and renamed once complete, so a cut restore leaves no
/// database a server would start on.
pub fn restore(
    file: &Path,
    db_file: Option<&Path>,
    blob_dir: &Path,
    attachments_only: bool,
) -> Result<Written, BackupError> {
    let beside = blobs_beside(file);
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| BackupError::Io(p, e)
    };
    if blob_dir.exists()
        && std::fs::read_dir(blob_dir)
            .map_err(io(blob_dir))?
            .next()
            .is_some()
    {
        return Err(BackupError::Exists(blob_dir.to_path_buf()));
    }
    let mut out = Written::default();
    if let (false, Some(db)) = (attachments_only, db_file) {
        if !file.is_file() {
            return Err(BackupError::NoBackup(file.to_path_buf()));
        }
        for ext in ["", "-wal", "-shm"] {
            let mut p = db.as_os_str().to_owned();
            p.push(ext);
            must_be_new(Path::new(&p))?;
        }
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let mut tmp = db.as_os_str().to_owned();
        tmp.push(".restoring");
        let tmp = PathBuf::from(tmp);
        out.database_bytes = std::fs::copy(file, &tmp).map_err(io(&tmp))?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io(&tmp))?;
        std::fs::rename(&tmp, db).map_err(io(db))?;
    }
    if beside.is_dir() {
        let from = BlobDir::new(&beside, u64::MAX)?;
        std::fs::create_dir_all(blob_dir).map_err(io(blob_dir))?;
        out.attachments = from.copy_complete_into(blob_dir)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob_dir(root: &Path) -> BlobDir {
        BlobDir::new(root, 1 << 20).unwrap()
    }

    #[test]
    fn attachments_copy_whole_and_checked_and_a_restore_writes_over_nothing() {
        let d = tempfile::tempdir().unwrap();
        let served = blob_dir(&d.path().join("served"));
        let good = served
            .put_whole_for(b"a photo of the meeting", "dev-1")
            .unwrap();
        let bad = served
            .put_whole_for(b"a photo the disk damaged", "dev-1")
            .unwrap();
        let bad_path = d.path().join("served").join(&bad[..2]).join(&bad);
        std::fs::write(&bad_path, b"something else").unwrap();

        // The backup's attachments: the good one, checked; the damaged one named, not copied.
        let file = d.path().join("zhucun.backup");
        std::fs::write(&file, b"database").unwrap();
        let beside = blobs_beside(&file);
        std::fs::create_dir_all(&beside).unwrap();
        let copied = served.copy_complete_into(&beside).unwrap();
        assert_eq!((copied.blobs, copied.bytes), (1, 22));
        assert_eq!(copied.damaged, std::slice::from_ref(&bad));
        assert!(!beside.join(&bad[..2]).join(&bad).exists());

        // Restored into an empty place: the database under its name, the attachment readable.
        let db = d.path().join("new").join("server.db");
        let into = d.path().join("new").join("blobs");
        let w = restore(&file, Some(&db), &into, false).unwrap();
        assert_eq!(w.database_bytes, 8);
        assert_eq!(std::fs::read(&db).unwrap(), b"database");
        assert_eq!(
            blob_dir(&into).read_whole(&good).unwrap(),
            b"a photo of the meeting"
        );
        assert!(!d.path().join("new").join("server.db.restoring").exists());

        // Never over data: an existing database (or its WAL), a blob directory with files.
        let e = restore(&file, Some(&db), &d.path().join("empty"), false).unwrap_err();
        assert!(matches!(&e, BackupError::Exists(p) if p == &db), "{e}");
        std::fs::remove_file(&db).unwrap();
        let wal = d.path().join("new").join("server.db-wal");
        std::fs::write(&wal, b"").unwrap();
        let e = restore(&file, Some(&db), &d.path().join("empty"), false).unwrap_err();
        assert!(matches!(&e, BackupError::Exists(p) if p == &wal), "{e}");
        let e = restore(&file, None, &into, true).unwrap_err();
        assert!(matches!(&e, BackupError::Exists(p) if p == &into), "{e}");
        // No backup where it is named: said so, nothing written.
        let other = d.path().join("other.db");
        let missing = d.path().join("no.backup");
        let e = restore(&missing, Some(&other), &d.path().join("b2"), false).unwrap_err();
        assert!(matches!(e, BackupError::NoBackup(_)), "{e}");
        assert!(!other.exists());
    }
}
