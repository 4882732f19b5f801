//! Attachments on the server: content-addressed files in the blob directory, received in
//! fixed-size chunks so a cut upload resumes at the first missing chunk. A blob counts as
//! present only once every chunk is here and the whole matches its SHA-256; until then its
//! chunks wait under `partial/`. Names are checked hashes, so nothing escapes the directory.
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
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlobStatus {
    pub hash: String,
    pub size: Option<u64>,
    pub complete: bool,
    /// Chunk indexes still to upload (empty when complete or unknown).
    pub missing: Vec<u64>,
}

pub struct BlobDir {
    root: PathBuf,
    pub max_size: u64,
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
        std::fs::create_dir_all(root.join("partial"))?;
        Ok(BlobDir {
            root: root.to_path_buf(),
            max_size,
        })
    }

    fn complete_path(&self, h: &str) -> PathBuf {
        self.root.join(&h[..2]).join(h)
    }

    fn partial_dir(&self, h: &str) -> PathBuf {
        self.root.join("partial").join(h)
    }

    fn proof_path(&self, h: &str, device: &str, idx: u64) -> Option<PathBuf> {
        // Device ids are the server's own (`dev-<hex>`); anything else never becomes a name.
        let safe = !device.is_empty()
            && device
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        safe.then(|| {
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
        let st = self.status(h)?;
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
        let st = self.put_chunk(h, size, idx, bytes)?;
        if st.complete && !visible {
            self.prove(h, device, idx)?;
        }
        self.status_for(h, device, visible)
    }

    fn known_size(&self, h: &str) -> Result<Option<u64>, BlobError> {
        match std::fs::read_to_string(self.partial_dir(h).join("size")) {
            Ok(s) => Ok(s.trim().parse().ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn status(&self, h: &str) -> Result<BlobStatus, BlobError> {
        check_hash(h)?;
        let done = self.complete_path(h);
        if let Ok(m) = std::fs::metadata(&done) {
            return Ok(BlobStatus {
                hash: h.into(),
                size: Some(m.len()),
                complete: true,
                missing: Vec::new(),
            });
        }
        let Some(size) = self.known_size(h)? else {
            return Ok(BlobStatus {
                hash: h.into(),
                size: None,
                complete: false,
                missing: Vec::new(),
            });
        };
        let dir = self.partial_dir(h);
        let missing = (0..chunks(size))
            .filter(|i| !dir.join(format!("{i:08}")).exists())
            .collect();
        Ok(BlobStatus {
            hash: h.into(),
            size: Some(size),
            complete: false,
            missing,
        })
    }

    /// Store chunk `idx` of blob `h` of `size` bytes; completes the blob when it was the last.
    pub fn put_chunk(
        &self,
        h: &str,
        size: u64,
        idx: u64,
        bytes: &[u8],
    ) -> Result<BlobStatus, BlobError> {
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
            return self.status(h);
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
        let dir = self.partial_dir(h);
        std::fs::create_dir_all(&dir)?;
        match self.known_size(h)? {
            Some(k) if k != size => {
                return Err(BlobError::SizeChanged {
                    given: size,
                    known: k,
                })
            }
            Some(_) => {}
            None => write_atomic(&dir.join("size"), size.to_string().as_bytes())?,
        }
        write_atomic(&dir.join(format!("{idx:08}")), bytes)?;
        let st = self.status(h)?;
        if st.missing.is_empty() {
            self.assemble(h, size)?;
            return self.status(h);
        }
        Ok(st)
    }

    fn assemble(&self, h: &str, size: u64) -> Result<(), BlobError> {
        let dir = self.partial_dir(h);
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
        if let Some(p) = done.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::rename(&tmp, &done)?;
        // Another assembly of the same blob may have removed it already.
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
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

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{:016x}", rand::random::<u64>()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
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
}
