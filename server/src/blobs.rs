//! Attachments on the server: content-addressed files in the blob directory, received in
//! fixed-size chunks so a cut upload resumes at the first missing chunk. A blob counts as
//! present only once every chunk is here and the whole matches its SHA-256; until then its
//! chunks wait under `partial/<device>/<hash>/`. Each device uploads into its own partial
//! directory, so no device can spoil (or learn of) another's unfinished upload, and a
//! device's unfinished uploads are bounded ([`BlobDir::max_partial`] bytes declared, at most
//! [`MAX_PARTIALS`] blobs; ones untouched for [`PARTIAL_TTL`] are dropped). Names are checked
//! hashes and server-made device ids, so nothing escapes the directory.
//!
//! A device's room for attachments no record refers to yet is bounded too
//! ([`BlobDir::max_unreferenced`]): each blob a device's own upload completed leaves a marker
//! `uploads/<hash>/<device>` (its size) until a record that refers to it lands
//! ([`BlobDir::referenced`]). Complete blobs no record refers to are collected once older
//! than [`BLOB_GRACE`] ([`BlobDir::collect`]; `zhucun-server admin collect-blobs`, and the
//! serving process every few hours).
//!
//! What a device learns about a blob is scoped: a blob that no record in its scope refers to
//! looks unknown to it until it proves it holds the content by uploading every chunk (each
//! compared with the stored bytes; nothing stored is ever overwritten). The proofs are empty
//! files `holders/<hash>/<device>.<chunk>`.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Bytes per chunk (the replica uses the same).
pub const CHUNK_SIZE: u64 = 256 * 1024;

/// Unfinished uploads one device may have at once.
pub const MAX_PARTIALS: usize = 16;

/// An unfinished upload nobody added a chunk to for this long is dropped (the device
/// starts it again if it still has the attachment).
pub const PARTIAL_TTL: std::time::Duration = std::time::Duration::from_secs(14 * 24 * 3600);

/// A complete attachment no record refers to is kept this long (a device uploads attachments
/// before the records that name them), then collected; so are the markers of a device's
/// uploads no record has named by then.
pub const BLOB_GRACE: std::time::Duration = std::time::Duration::from_secs(14 * 24 * 3600);

/// The owner of uploads not made by a device ([`BlobDir::put_chunk`]); device ids are
/// `dev-<hex>`, so it cannot be one.
const NO_DEVICE: &str = "-";

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("`{0}` is not a SHA-256 hash (64 lower-case hex characters)")]
    BadHash(String),
    #[error("blob size {size} is over the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "chunk {idx} does not fit a blob of {size} bytes (expected {expected} bytes, got {got})"
    )]
    BadChunk {
        idx: u64,
        size: u64,
        expected: u64,
        got: u64,
    },
    #[error("blob size {given} differs from the size {known} given before")]
    SizeChanged { given: u64, known: u64 },
    #[error("the chunks received do not hash to {0}: they were discarded, upload again")]
    HashMismatch(String),
    #[error("blob {0} is not complete on the server")]
    Missing(String),
    #[error(
        "this device's unfinished uploads are full ({blobs} blobs, {used} of {limit} bytes): \
         finish or abandon them first"
    )]
    PartialsFull { blobs: usize, used: u64, limit: u64 },
    #[error(
        "this device's attachments that no record refers to yet fill its room ({used} of \
         {limit} bytes): sync the records that refer to them first"
    )]
    UploadsFull { used: u64, limit: u64 },
    #[error("this server stores no attachments")]
    Disabled,
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct BlobStatus {
    pub hash: String,
    pub size: Option<u64>,
    pub complete: bool,
    /// Chunk indexes still to upload (empty when complete or unknown).
    pub missing: Vec<u64>,
    /// The largest attachment this server takes, so a device does not send a larger one.
    pub max_size: u64,
}

pub struct BlobDir {
    root: PathBuf,
    pub max_size: u64,
    /// Bytes (as declared by their sizes) one device's unfinished uploads may hold.
    pub max_partial: u64,
    /// Bytes one device's uploads that no record refers to yet may hold, unfinished ones
    /// included.
    pub max_unreferenced: u64,
}

/// What [`BlobDir::copy_complete_into`] copied, and what it found damaged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Copied {
    pub blobs: u64,
    pub bytes: u64,
    /// Hashes whose stored bytes no longer match them.
    pub damaged: Vec<String>,
}

/// What [`BlobDir::collect`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Collected {
    pub blobs: u64,
    pub bytes: u64,
}

pub fn check_hash(h: &str) -> Result<(), BlobError> {
    zhucun_model::check_hash("hash", h)
        .map_err(|_| BlobError::BadHash(h.chars().take(80).collect()))
}

fn chunks(size: u64) -> u64 {
    size.div_ceil(CHUNK_SIZE).max(1)
}

impl BlobDir {
    pub fn new(root: &Path, max_size: u64) -> Result<BlobDir, BlobError> {
        let partial = root.join("partial");
        std::fs::create_dir_all(&partial)?;
        // Unfinished uploads of the layout before `partial/<device>/` (one shared directory
        // per hash): dropped, the devices send them again.
        for e in std::fs::read_dir(&partial)? {
            let e = e?;
            if e.file_name()
                .to_str()
                .is_some_and(|n| check_hash(n).is_ok())
            {
                std::fs::remove_dir_all(e.path())?;
            }
        }
        Ok(BlobDir {
            root: root.to_path_buf(),
            max_size,
            max_partial: max_size.saturating_mul(4),
            max_unreferenced: max_size.saturating_mul(16),
        })
    }

    fn complete_path(&self, h: &str) -> PathBuf {
        self.root.join(&h[..2]).join(h)
    }

    fn owner_dir(&self, owner: &str) -> PathBuf {
        self.root.join("partial").join(owner)
    }

    fn partial_dir(&self, owner: &str, h: &str) -> PathBuf {
        self.owner_dir(owner).join(h)
    }

    fn proof_path(&self, h: &str, device: &str, idx: u64) -> Option<PathBuf> {
        safe_device(device).then(|| {
            self.root
                .join("holders")
                .join(h)
                .join(format!("{device}.{idx}"))
        })
    }

    fn prove(&self, h: &str, device: &str, idx: u64) -> Result<(), BlobError> {
        if let Some(p) = self.proof_path(h, device, idx) {
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d)?;
            }
            std::fs::write(p, b"")?;
        }
        Ok(())
    }

    /// The status of blob `h` as `device` may see it: the real one when a record in its scope
    /// refers to the blob (`visible`), else only what the device proved it holds.
    pub fn status_for(
        &self,
        h: &str,
        device: &str,
        visible: bool,
    ) -> Result<BlobStatus, BlobError> {
        let owner = owner_of(device)?;
        let st = self.status_of(owner, h)?;
        if visible || !st.complete {
            return Ok(st);
        }
        let size = st.size.unwrap_or(0);
        let missing: Vec<u64> = (0..chunks(size))
            .filter(|i| !self.proof_path(h, device, *i).is_some_and(|p| p.exists()))
            .collect();
        let proved = (missing.len() as u64) < chunks(size);
        Ok(BlobStatus {
            hash: h.into(),
            size: proved.then_some(size),
            complete: missing.is_empty(),
            missing: if proved { missing } else { Vec::new() },
            max_size: self.max_size,
        })
    }

    /// [`BlobDir::put_chunk`] by `device`, answered with [`BlobDir::status_for`]: a chunk of
    /// a blob already complete must equal the stored bytes, and counts as that device's proof.
    pub fn put_chunk_for(
        &self,
        h: &str,
        size: u64,
        idx: u64,
        bytes: &[u8],
        device: &str,
        visible: bool,
    ) -> Result<BlobStatus, BlobError> {
        let (st, assembled) = self.put_chunk_of(owner_of(device)?, h, size, idx, bytes)?;
        if st.complete && !visible {
            if assembled {
                // Every chunk of it came from this device's own upload.
                for i in 0..chunks(size) {
                    self.prove(h, device, i)?;
                }
            } else {
                self.prove(h, device, idx)?;
            }
        }
        self.status_for(h, device, visible)
    }

    fn known_size(&self, owner: &str, h: &str) -> Result<Option<u64>, BlobError> {
        read_size(&self.partial_dir(owner, h))
    }

    /// Room for a new unfinished upload of `size` bytes by `owner`: drops the owner's
    /// uploads untouched for [`PARTIAL_TTL`], then counts the rest.
    fn make_room(&self, owner: &str, size: u64) -> Result<(), BlobError> {
        let dir = self.owner_dir(owner);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let (mut blobs, mut used) = (0usize, 0u64);
        for e in entries {
            let e = e?;
            let path = e.path();
            let stale = e
                .metadata()?
                .modified()?
                .elapsed()
                .is_ok_and(|age| age > PARTIAL_TTL);
            if stale {
                std::fs::remove_dir_all(&path)?;
                continue;
            }
            blobs += 1;
            used = used.saturating_add(read_size(&path)?.unwrap_or(0));
        }
        if blobs >= MAX_PARTIALS || used.saturating_add(size) > self.max_partial {
            return Err(BlobError::PartialsFull {
                blobs,
                used,
                limit: self.max_partial,
            });
        }
        let unreferenced = self.unreferenced_of(owner)?.saturating_add(used);
        if unreferenced.saturating_add(size) > self.max_unreferenced {
            return Err(BlobError::UploadsFull {
                used: unreferenced,
                limit: self.max_unreferenced,
            });
        }
        Ok(())
    }

    fn uploads_dir(&self, h: &str) -> PathBuf {
        self.root.join("uploads").join(h)
    }

    /// Bytes of complete blobs `owner`'s uploads made that no record has referred to since
    /// (markers older than [`BLOB_GRACE`] no longer count; [`BlobDir::collect`] removes them).
    fn unreferenced_of(&self, owner: &str) -> Result<u64, BlobError> {
        let dirs = match std::fs::read_dir(self.root.join("uploads")) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut used = 0u64;
        for d in dirs {
            let marker = d?.path().join(owner);
            let Ok(m) = std::fs::metadata(&marker) else {
                continue;
            };
            if m.modified()?.elapsed().is_ok_and(|age| age > BLOB_GRACE) {
                continue;
            }
            let size: u64 = std::fs::read_to_string(&marker)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            used = used.saturating_add(size);
        }
        Ok(used)
    }

    /// Records that refer to `hashes` landed: the uploads of them no longer count against
    /// any device's room.
    pub fn referenced(&self, hashes: &[String]) -> Result<(), BlobError> {
        for h in hashes {
            check_hash(h)?;
            remove_dir_if_there(&self.uploads_dir(h))?;
        }
        Ok(())
    }

    /// Complete blobs last written longer than `older_than` ago: the candidates of a
    /// collection, to be checked against the records.
    pub fn older_than(&self, older_than: std::time::Duration) -> Result<Vec<String>, BlobError> {
        self.complete_hashes(Some(older_than))
    }

    /// Complete blobs, all of them or those last written longer than `older_than` ago.
    fn complete_hashes(
        &self,
        older_than: Option<std::time::Duration>,
    ) -> Result<Vec<String>, BlobError> {
        let mut out = Vec::new();
        for d in std::fs::read_dir(&self.root)? {
            let d = d?;
            let name = d.file_name();
            let Some(n) = name.to_str() else { continue };
            if n.len() != 2 || !n.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            for f in std::fs::read_dir(d.path())? {
                let f = f?;
                let Some(h) = f.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                if check_hash(&h).is_err() {
                    continue;
                }
                let old_enough = |limit| -> std::io::Result<bool> {
                    Ok(f.metadata()?
                        .modified()?
                        .elapsed()
                        .is_ok_and(|age| age > limit))
                };
                if older_than.map_or(Ok(true), old_enough)? {
                    out.push(h);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Copy every complete blob into `dest`, the root of another blob directory (a backup's,
    /// or an empty one being restored), each checked against its hash as it is read and made
    /// durable before it counts: unfinished uploads, proofs and markers stay behind (a device
    /// uploads or proves again what it needs). A blob removed meanwhile (collected) is
    /// skipped; one whose bytes no longer match its name is left out and named in
    /// [`Copied::damaged`], so one bad file does not cost the rest their copy.
    pub fn copy_complete_into(&self, dest: &Path) -> Result<Copied, BlobError> {
        let mut done = Copied::default();
        for h in self.complete_hashes(None)? {
            let bytes = match std::fs::read(self.complete_path(&h)) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            if hex::encode(Sha256::digest(&bytes)) != h {
                done.damaged.push(h);
                continue;
            }
            let dir = dest.join(&h[..2]);
            std::fs::create_dir_all(&dir)?;
            write_atomic(&dir.join(&h), &bytes)?;
            done.blobs += 1;
            done.bytes += bytes.len() as u64;
        }
        sync_dir(dest)?;
        Ok(done)
    }

    /// Remove the complete blobs `unreferenced` (no record refers to them) still older than
    /// `older_than`, with their proofs and upload markers; the markers of blobs records
    /// refer to (`referenced`) go too.
    pub fn collect(
        &self,
        unreferenced: &[String],
        referenced: &[String],
        older_than: std::time::Duration,
    ) -> Result<Collected, BlobError> {
        self.referenced(referenced)?;
        let mut done = Collected::default();
        for h in unreferenced {
            check_hash(h)?;
            let path = self.complete_path(h);
            let Ok(m) = std::fs::metadata(&path) else {
                continue;
            };
            if !m.modified()?.elapsed().is_ok_and(|age| age > older_than) {
                continue;
            }
            std::fs::remove_file(&path)?;
            remove_dir_if_there(&self.root.join("holders").join(h))?;
            remove_dir_if_there(&self.uploads_dir(h))?;
            done.blobs += 1;
            done.bytes += m.len();
        }
        Ok(done)
    }

    /// The status of blob `h`: complete, or the unfinished upload not made by a device.
    pub fn status(&self, h: &str) -> Result<BlobStatus, BlobError> {
        self.status_of(NO_DEVICE, h)
    }

    fn status_of(&self, owner: &str, h: &str) -> Result<BlobStatus, BlobError> {
        check_hash(h)?;
        let done = self.complete_path(h);
        if let Ok(m) = std::fs::metadata(&done) {
            return Ok(BlobStatus {
                hash: h.into(),
                size: Some(m.len()),
                complete: true,
                missing: Vec::new(),
                max_size: self.max_size,
            });
        }
        let Some(size) = self.known_size(owner, h)? else {
            return Ok(BlobStatus {
                hash: h.into(),
                size: None,
                complete: false,
                missing: Vec::new(),
                max_size: self.max_size,
            });
        };
        let dir = self.partial_dir(owner, h);
        let missing = (0..chunks(size))
            .filter(|i| !dir.join(format!("{i:08}")).exists())
            .collect();
        Ok(BlobStatus {
            hash: h.into(),
            size: Some(size),
            complete: false,
            missing,
            max_size: self.max_size,
        })
    }

    /// Store chunk `idx` of blob `h` of `size` bytes, uploaded by no device in particular;
    /// completes the blob when it was the last.
    pub fn put_chunk(
        &self,
        h: &str,
        size: u64,
        idx: u64,
        bytes: &[u8],
    ) -> Result<BlobStatus, BlobError> {
        Ok(self.put_chunk_of(NO_DEVICE, h, size, idx, bytes)?.0)
    }

    /// Also says whether this chunk completed the owner's own upload (every chunk of the
    /// blob then came from `owner`).
    fn put_chunk_of(
        &self,
        owner: &str,
        h: &str,
        size: u64,
        idx: u64,
        bytes: &[u8],
    ) -> Result<(BlobStatus, bool), BlobError> {
        check_hash(h)?;
        if size > self.max_size {
            return Err(BlobError::TooLarge {
                size,
                limit: self.max_size,
            });
        }
        if let Ok(m) = std::fs::metadata(self.complete_path(h)) {
            // Already here: the chunk must be the stored one (it is never overwritten).
            if m.len() != size || self.read_chunk(h, idx).ok().as_deref() != Some(bytes) {
                return Err(BlobError::HashMismatch(h.into()));
            }
            // What this owner had begun of it is no longer needed.
            let _ = std::fs::remove_dir_all(self.partial_dir(owner, h));
            return Ok((self.status_of(owner, h)?, false));
        }
        let n = chunks(size);
        if idx >= n {
            return Err(BlobError::BadChunk {
                idx,
                size,
                expected: 0,
                got: bytes.len() as u64,
            });
        }
        let expected = if idx + 1 == n {
            size - idx * CHUNK_SIZE
        } else {
            CHUNK_SIZE
        };
        if idx >= n || bytes.len() as u64 != expected {
            return Err(BlobError::BadChunk {
                idx,
                size,
                expected,
                got: bytes.len() as u64,
            });
        }
        let dir = self.partial_dir(owner, h);
        match self.known_size(owner, h)? {
            Some(k) if k != size => {
                return Err(BlobError::SizeChanged {
                    given: size,
                    known: k,
                })
            }
            Some(_) => {}
            None => {
                self.make_room(owner, size)?;
                std::fs::create_dir_all(&dir)?;
                write_atomic(&dir.join("size"), size.to_string().as_bytes())?;
            }
        }
        write_atomic(&dir.join(format!("{idx:08}")), bytes)?;
        let st = self.status_of(owner, h)?;
        if st.missing.is_empty() {
            self.assemble(owner, h, size)?;
            return Ok((self.status_of(owner, h)?, true));
        }
        Ok((st, false))
    }

    fn assemble(&self, owner: &str, h: &str, size: u64) -> Result<(), BlobError> {
        let dir = self.partial_dir(owner, h);
        // A name of its own: two uploads of the last chunk may assemble at the same time.
        let tmp = dir.join(format!("assembled-{:016x}", rand::random::<u64>()));
        let mut out = std::fs::File::create(&tmp)?;
        let mut hasher = Sha256::new();
        for i in 0..chunks(size) {
            let b = std::fs::read(dir.join(format!("{i:08}")))?;
            hasher.update(&b);
            out.write_all(&b)?;
        }
        out.sync_all()?;
        if hex::encode(hasher.finalize()) != h {
            std::fs::remove_dir_all(&dir)?;
            return Err(BlobError::HashMismatch(h.into()));
        }
        let done = self.complete_path(h);
        let parent = done.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&parent)?;
        // The device's room counts the blob until a record refers to it (the marker first:
        // a blob is never complete without its uploader's marker).
        if owner != NO_DEVICE {
            let marks = self.uploads_dir(h);
            std::fs::create_dir_all(&marks)?;
            write_atomic(&marks.join(owner), size.to_string().as_bytes())?;
        }
        std::fs::rename(&tmp, &done)?;
        // The rename is durable only once its directory is: a power loss must not drop a
        // photo the device was told is complete (it would never upload it again).
        sync_dir(&parent)?;
        // Another assembly of the same blob may have removed it already.
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    /// Store a whole file sent at once by `owner` (an office person's uploads from the
    /// dashboard, which has no hash of its own to give): hashed here, then written as the
    /// chunks of `owner`'s own upload, so it counts against `owner`'s room like a device's
    /// and is `owner`'s proof of holding it. Returns its hash.
    pub fn put_whole_for(&self, bytes: &[u8], owner: &str) -> Result<String, BlobError> {
        let size = bytes.len() as u64;
        if size > self.max_size {
            return Err(BlobError::TooLarge {
                size,
                limit: self.max_size,
            });
        }
        let h = hex::encode(Sha256::digest(bytes));
        if self.status_for(&h, owner, false)?.complete {
            return Ok(h);
        }
        for (idx, chunk) in bytes.chunks(CHUNK_SIZE as usize).enumerate() {
            self.put_chunk_for(&h, size, idx as u64, chunk, owner, false)?;
        }
        if bytes.is_empty() {
            self.put_chunk_for(&h, 0, 0, &[], owner, false)?;
        }
        Ok(h)
    }

    /// A complete blob's bytes.
    pub fn read_whole(&self, h: &str) -> Result<Vec<u8>, BlobError> {
        check_hash(h)?;
        std::fs::read(self.complete_path(h)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => BlobError::Missing(h.into()),
            _ => e.into(),
        })
    }

    /// Chunk `idx` of a complete blob.
    pub fn read_chunk(&self, h: &str, idx: u64) -> Result<Vec<u8>, BlobError> {
        check_hash(h)?;
        let path = self.complete_path(h);
        let mut f = std::fs::File::open(&path).map_err(|_| BlobError::Missing(h.into()))?;
        let size = f.metadata()?.len();
        if idx >= chunks(size) {
            return Err(BlobError::BadChunk {
                idx,
                size,
                expected: 0,
                got: 0,
            });
        }
        f.seek(SeekFrom::Start(idx * CHUNK_SIZE))?;
        let mut buf = Vec::new();
        f.take(CHUNK_SIZE).read_to_end(&mut buf)?;
        Ok(buf)
    }
}

/// The owner of an office person's uploads from the dashboard: a name no device id has,
/// safe as a directory name whatever the person's id holds.
pub fn office_owner(person: &str) -> String {
    format!("office-{}", hex::encode(person))
}

/// Device ids are the server's own (`dev-<hex>`); anything else never becomes a name.
fn safe_device(device: &str) -> bool {
    !device.is_empty()
        && device
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The partial directory's owner name for `device`.
fn owner_of(device: &str) -> Result<&str, BlobError> {
    if safe_device(device) && device != NO_DEVICE {
        Ok(device)
    } else {
        Err(BlobError::Io(std::io::Error::other(
            "a device id that cannot name a directory",
        )))
    }
}

/// The declared size of the unfinished upload in `dir`, if one was begun.
fn read_size(dir: &Path) -> Result<Option<u64>, BlobError> {
    match std::fs::read_to_string(dir.join("size")) {
        Ok(s) => Ok(s.trim().parse().ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Remove a directory and what it holds; one already gone is fine.
fn remove_dir_if_there(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{:016x}", rand::random::<u64>()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)?;
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Make the entries of `dir` (a rename into it) durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_resume_and_complete_only_when_whole_and_right() {
        let d = tempfile::tempdir().unwrap();
        let b = BlobDir::new(d.path(), 10 * CHUNK_SIZE).unwrap();
        let data: Vec<u8> = (0..(CHUNK_SIZE as usize * 2 + 7))
            .map(|i| (i % 251) as u8)
            .collect();
        let h = hex::encode(Sha256::digest(&data));
        let size = data.len() as u64;
        assert_eq!(b.status(&h).unwrap().size, None);
        let st = b
            .put_chunk(
                &h,
                size,
                1,
                &data[CHUNK_SIZE as usize..2 * CHUNK_SIZE as usize],
            )
            .unwrap();
        assert_eq!(st.missing, [0, 2]);
        assert!(!st.complete);
        assert!(
            b.read_chunk(&h, 0).is_err(),
            "incomplete blobs are not served"
        );
        assert!(
            b.put_chunk(&h, size, 2, &data[..3]).is_err(),
            "short last chunk"
        );
        assert!(matches!(
            b.put_chunk(&h, size + 1, 0, &data[..CHUNK_SIZE as usize]),
            Err(BlobError::SizeChanged { .. })
        ));
        b.put_chunk(&h, size, 0, &data[..CHUNK_SIZE as usize])
            .unwrap();
        let st = b
            .put_chunk(&h, size, 2, &data[2 * CHUNK_SIZE as usize..])
            .unwrap();
        assert!(st.complete);
        let mut back = Vec::new();
        for i in 0..3 {
            back.extend(b.read_chunk(&h, i).unwrap());
        }
        assert_eq!(back, data);
        // Wrong content under a hash is discarded.
        let fake = hex::encode(Sha256::digest(b"something else"));
        assert!(matches!(
            b.put_chunk(&fake, 3, 0, b"abc"),
            Err(BlobError::HashMismatch(_))
        ));
        assert!(!b.status(&fake).unwrap().complete);
        // Names cannot escape the directory.
        assert!(matches!(
            b.status("../../etc/passwd"),
            Err(BlobError::BadHash(_))
        ));
        assert!(b.put_chunk(&"A".repeat(64), 1, 0, b"x").is_err());
        assert!(matches!(
            b.put_chunk(&h, 11 * CHUNK_SIZE, 0, b"x"),
            Err(BlobError::TooLarge { .. })
        ));
    }

    fn blob(n: usize, seed: u8) -> (String, Vec<u8>) {
        let data: Vec<u8> = (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
        (hex::encode(Sha256::digest(&data)), data)
    }

    fn chunk(data: &[u8], idx: u64) -> &[u8] {
        let start = (idx * CHUNK_SIZE) as usize;
        &data[start..(start + CHUNK_SIZE as usize).min(data.len())]
    }

    #[test]
    fn a_device_cannot_spoil_or_see_another_devices_upload() {
        let d = tempfile::tempdir().unwrap();
        let b = BlobDir::new(d.path(), 10 * CHUNK_SIZE).unwrap();
        let (h, data) = blob(CHUNK_SIZE as usize * 2 + 5, 1);
        let size = data.len() as u64;
        // dev-bad knows the hash (it is in a record they share) and sends junk for chunk 0
        // and a wrong size for the next attempt.
        let junk = vec![0u8; CHUNK_SIZE as usize];
        b.put_chunk_for(&h, size, 0, &junk, "dev-bad", true)
            .unwrap();
        // dev-good sees nothing begun and uploads every chunk; the blob completes.
        let st = b.status_for(&h, "dev-good", true).unwrap();
        assert_eq!((st.size, st.complete), (None, false), "{st:?}");
        for idx in 0..3 {
            b.put_chunk_for(&h, size, idx, chunk(&data, idx), "dev-good", true)
                .unwrap();
        }
        assert!(b.status_for(&h, "dev-good", true).unwrap().complete);
        let mut back = Vec::new();
        for i in 0..3 {
            back.extend(b.read_chunk(&h, i).unwrap());
        }
        assert_eq!(back, data);
        // The junk never became part of it and is refused against the stored bytes.
        assert!(matches!(
            b.put_chunk_for(&h, size, 0, &junk, "dev-bad", true),
            Err(BlobError::HashMismatch(_))
        ));
        // A device id that is not a plain name never becomes a directory.
        assert!(b.status_for(&h, "../x", true).is_err());
    }

    #[test]
    fn a_device_that_sent_a_whole_blob_holds_it_and_another_learns_nothing() {
        let d = tempfile::tempdir().unwrap();
        let b = BlobDir::new(d.path(), 10 * CHUNK_SIZE).unwrap();
        let (h, data) = blob(CHUNK_SIZE as usize * 2 + 5, 2);
        let size = data.len() as u64;
        // No record in dev-a's scope refers to the blob yet (it is pushed after its photo).
        let mut last = None;
        for idx in 0..3 {
            last = Some(
                b.put_chunk_for(&h, size, idx, chunk(&data, idx), "dev-a", false)
                    .unwrap(),
            );
        }
        let last = last.unwrap();
        assert!(last.complete && last.missing.is_empty(), "{last:?}");
        let st = b.status_for(&h, "dev-a", false).unwrap();
        assert_eq!((st.size, st.complete), (Some(size), true), "{st:?}");
        // Another device that neither sees a record of it nor sent it learns nothing.
        let other = b.status_for(&h, "dev-b", false).unwrap();
        assert_eq!((other.size, other.complete), (None, false), "{other:?}");
        assert!(other.missing.is_empty());
        // Every answer says how large an attachment may be.
        assert_eq!(other.max_size, 10 * CHUNK_SIZE);
        // dev-b sending one right chunk proves that chunk only.
        let st = b
            .put_chunk_for(&h, size, 0, chunk(&data, 0), "dev-b", false)
            .unwrap();
        assert_eq!(
            (st.complete, st.missing.clone()),
            (false, vec![1, 2]),
            "{st:?}"
        );
    }

    #[test]
    fn a_devices_unfinished_uploads_are_bounded_and_expire() {
        let d = tempfile::tempdir().unwrap();
        let b = BlobDir::new(d.path(), 10 * CHUNK_SIZE).unwrap();
        assert_eq!(b.max_partial, 40 * CHUNK_SIZE);
        // Four blobs of ten chunks begun: the declared bytes are at the bound.
        let big: Vec<(String, Vec<u8>)> =
            (0..5).map(|i| blob(10 * CHUNK_SIZE as usize, i)).collect();
        for (h, data) in &big[..4] {
            b.put_chunk_for(h, data.len() as u64, 0, chunk(data, 0), "dev-a", true)
                .unwrap();
        }
        let (h5, d5) = &big[4];
        let full = b.put_chunk_for(h5, d5.len() as u64, 0, chunk(d5, 0), "dev-a", true);
        assert!(
            matches!(full, Err(BlobError::PartialsFull { blobs: 4, .. })),
            "{full:?}"
        );
        // Chunks of uploads already begun still arrive; another device is not affected.
        let (h1, d1) = &big[0];
        b.put_chunk_for(h1, d1.len() as u64, 1, chunk(d1, 1), "dev-a", true)
            .unwrap();
        b.put_chunk_for(h5, d5.len() as u64, 0, chunk(d5, 0), "dev-b", true)
            .unwrap();
        // Finishing one makes room.
        for idx in 2..10 {
            b.put_chunk_for(h1, d1.len() as u64, idx, chunk(d1, idx), "dev-a", true)
                .unwrap();
        }
        assert!(b.status(h1).unwrap().complete);
        b.put_chunk_for(h5, d5.len() as u64, 0, chunk(d5, 0), "dev-a", true)
            .unwrap();
        // At most MAX_PARTIALS blobs, however small.
        let c = tempfile::tempdir().unwrap();
        let b = BlobDir::new(c.path(), 10 * CHUNK_SIZE).unwrap();
        let small: Vec<(String, Vec<u8>)> = (0..=MAX_PARTIALS as u8)
            .map(|i| blob(CHUNK_SIZE as usize + 1, i))
            .collect();
        for (i, (h, data)) in small.iter().enumerate() {
            let r = b.put_chunk_for(h, data.len() as u64, 0, chunk(data, 0), "dev-a", true);
            assert_eq!(r.is_ok(), i < MAX_PARTIALS, "blob {i}: {r:?}");
        }
        // An upload nobody touched for longer than PARTIAL_TTL is dropped to make room.
        let old = std::time::SystemTime::now() - PARTIAL_TTL - std::time::Duration::from_secs(60);
        let first = b.partial_dir("dev-a", &small[0].0);
        std::fs::File::open(&first)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let (h, data) = &small[MAX_PARTIALS];
        b.put_chunk_for(h, data.len() as u64, 0, chunk(data, 0), "dev-a", true)
            .unwrap();
        assert!(!first.exists());
        assert_eq!(b.status_for(&small[0].0, "dev-a", true).unwrap().size, None);
    }

    fn upload(b: &BlobDir, (h, data): &(String, Vec<u8>), device: &str) -> Result<(), BlobError> {
        for idx in 0..chunks(data.len() as u64) {
            b.put_chunk_for(h, data.len() as u64, idx, chunk(data, idx), device, false)?;
        }
        Ok(())
    }

    #[test]
    fn a_devices_attachments_no_record_names_are_bounded() {
        let d = tempfile::tempdir().unwrap();
        let mut b = BlobDir::new(d.path(), 4 * CHUNK_SIZE).unwrap();
        b.max_unreferenced = 5 * CHUNK_SIZE;
        let (one, two, three) = (
            blob(2 * CHUNK_SIZE as usize, 1),
            blob(2 * CHUNK_SIZE as usize, 2),
            blob(2 * CHUNK_SIZE as usize, 3),
        );
        upload(&b, &one, "dev-a").unwrap();
        upload(&b, &two, "dev-a").unwrap();
        // Four chunks no record names: a fifth and sixth would pass the room.
        let e = upload(&b, &three, "dev-a").unwrap_err();
        assert!(
            matches!(e, BlobError::UploadsFull { used, limit }
                if used == 4 * CHUNK_SIZE && limit == 5 * CHUNK_SIZE),
            "{e}"
        );
        // Another device has its own room.
        upload(&b, &three, "dev-b").unwrap();
        // Once a record names the first two, the device has room again.
        b.referenced(&[one.0.clone(), two.0.clone()]).unwrap();
        upload(&b, &blob(2 * CHUNK_SIZE as usize, 4), "dev-a").unwrap();
        // Uploading a blob that is already here adds nothing to the room it uses.
        upload(&b, &three, "dev-a").unwrap();
        assert_eq!(b.unreferenced_of("dev-a").unwrap(), 2 * CHUNK_SIZE);
    }

    #[test]
    fn attachments_no_record_names_are_collected_once_old() {
        let d = tempfile::tempdir().unwrap();
        let b = BlobDir::new(d.path(), 4 * CHUNK_SIZE).unwrap();
        let (named, orphan, young) = (
            blob(CHUNK_SIZE as usize, 1),
            blob(2 * CHUNK_SIZE as usize, 2),
            blob(CHUNK_SIZE as usize, 3),
        );
        for x in [&named, &orphan, &young] {
            upload(&b, x, "dev-a").unwrap();
        }
        let old = std::time::SystemTime::now() - BLOB_GRACE - std::time::Duration::from_secs(60);
        for x in [&named, &orphan] {
            std::fs::File::open(b.complete_path(&x.0))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        let mut candidates = vec![named.0.clone(), orphan.0.clone()];
        candidates.sort();
        assert_eq!(b.older_than(BLOB_GRACE).unwrap(), candidates);
        let c = b
            .collect(
                std::slice::from_ref(&orphan.0),
                std::slice::from_ref(&named.0),
                BLOB_GRACE,
            )
            .unwrap();
        assert_eq!(
            c,
            Collected {
                blobs: 1,
                bytes: 2 * CHUNK_SIZE
            }
        );
        assert!(!b.status(&orphan.0).unwrap().complete, "the orphan is gone");
        assert!(!d.path().join("holders").join(&orphan.0).exists());
        assert!(!b.uploads_dir(&orphan.0).exists());
        assert!(b.status(&named.0).unwrap().complete, "a named blob stays");
        assert!(!b.uploads_dir(&named.0).exists(), "and no longer counts");
        assert!(b.status(&young.0).unwrap().complete, "a young one stays");
        assert_eq!(b.unreferenced_of("dev-a").unwrap(), CHUNK_SIZE);
        // A blob named as unreferenced but no longer old (touched again) is kept.
        let c = b
            .collect(std::slice::from_ref(&young.0), &[], BLOB_GRACE)
            .unwrap();
        assert_eq!(c, Collected::default());
    }
}
