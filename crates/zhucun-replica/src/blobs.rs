//! Attachments (photos, scans): content-addressed by SHA-256 and stored in chunks inside the
//! encrypted file, so they are encrypted at rest like everything else and a transfer can
//! resume at the first missing chunk.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Replica, ReplicaError, Result};

/// Bytes per stored chunk.
pub const CHUNK_SIZE: usize = 256 * 1024;
/// The largest attachment accepted (a phone photo is 2–8 MB; a scanned document may be more).
pub const MAX_BLOB_SIZE: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobInfo {
    pub hash: String,
    pub size: u64,
    pub mime: String,
    pub complete: bool,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Replica {
    /// Store `bytes` and return their hash. Storing the same bytes twice is a no-op.
    pub fn put_blob(&mut self, bytes: &[u8], mime: &str) -> Result<String> {
        if bytes.len() as u64 > MAX_BLOB_SIZE {
            return Err(ReplicaError::BlobTooLarge {
                limit: MAX_BLOB_SIZE,
            });
        }
        let hash = sha256_hex(bytes);
        if self.has_blob(&hash)? {
            return Ok(hash);
        }
        let tx = self.write_tx()?;
        tx.execute("DELETE FROM blob_chunks WHERE hash = ?1", [&hash])?;
        for (i, chunk) in bytes.chunks(CHUNK_SIZE).enumerate() {
            tx.execute(
                "INSERT INTO blob_chunks(hash, idx, bytes) VALUES (?1, ?2, ?3)",
                params![hash, i as i64, chunk],
            )?;
        }
        tx.execute(
            "INSERT INTO blobs(hash, size, mime, complete) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT(hash) DO UPDATE SET size = excluded.size, mime = excluded.mime, complete = 1",
            params![hash, bytes.len() as i64, mime],
        )?;
        tx.commit()?;
        Ok(hash)
    }

    /// Start receiving a blob of `size` bytes in chunks (idempotent: a resumed transfer keeps
    /// the chunks it has).
    pub fn begin_blob(&mut self, hash: &str, size: u64, mime: &str) -> Result<()> {
        zhucun_model::check_hash("hash", hash)?;
        if size > MAX_BLOB_SIZE {
            return Err(ReplicaError::BlobTooLarge {
                limit: MAX_BLOB_SIZE,
            });
        }
        self.conn().execute(
            "INSERT INTO blobs(hash, size, mime, complete) VALUES (?1, ?2, ?3, 0)
             ON CONFLICT(hash) DO NOTHING",
            params![hash, size as i64, mime],
        )?;
        Ok(())
    }

    /// Chunk indexes of a blob not received yet.
    pub fn missing_chunks(&self, hash: &str) -> Result<Vec<u64>> {
        let Some(info) = self.blob_info(hash)? else {
            return Err(ReplicaError::BlobMissing(hash.into()));
        };
        let n = info.size.div_ceil(CHUNK_SIZE as u64);
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT idx FROM blob_chunks WHERE hash = ?1")?;
        let have: std::collections::HashSet<u64> = stmt
            .query_map([hash], |r| r.get::<_, i64>(0))?
            .filter_map(|r| r.ok())
            .map(|i| i as u64)
            .collect();
        Ok((0..n).filter(|i| !have.contains(i)).collect())
    }

    /// Store one received chunk (each chunk in its own transaction: a cut resumes here).
    pub fn put_blob_chunk(&mut self, hash: &str, idx: u64, bytes: &[u8]) -> Result<()> {
        let Some(info) = self.blob_info(hash)? else {
            return Err(ReplicaError::BlobMissing(hash.into()));
        };
        let n = info.size.div_ceil(CHUNK_SIZE as u64);
        let expect = if idx + 1 == n {
            info.size - idx * CHUNK_SIZE as u64
        } else {
            CHUNK_SIZE as u64
        };
        if idx >= n.max(1) || bytes.len() as u64 != expect {
            return Err(ReplicaError::BlobChunk {
                hash: hash.into(),
                idx,
            });
        }
        self.conn().execute(
            "INSERT OR REPLACE INTO blob_chunks(hash, idx, bytes) VALUES (?1, ?2, ?3)",
            params![hash, idx as i64, bytes],
        )?;
        Ok(())
    }

    /// Mark a blob complete once every chunk is here and the content matches its hash.
    pub fn finish_blob(&mut self, hash: &str) -> Result<()> {
        if !self.missing_chunks(hash)?.is_empty() {
            return Err(ReplicaError::BlobMissing(hash.into()));
        }
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT bytes FROM blob_chunks WHERE hash = ?1 ORDER BY idx")?;
        let mut hasher = Sha256::new();
        let mut rows = stmt.query([hash])?;
        while let Some(r) = rows.next()? {
            let chunk: Vec<u8> = r.get(0)?;
            hasher.update(&chunk);
        }
        drop(rows);
        if hex::encode(hasher.finalize()) != hash {
            self.conn()
                .execute("DELETE FROM blob_chunks WHERE hash = ?1", [hash])?;
            return Err(ReplicaError::BlobHashMismatch(hash.into()));
        }
        self.conn()
            .execute("UPDATE blobs SET complete = 1 WHERE hash = ?1", [hash])?;
        Ok(())
    }

    /// One stored chunk of a complete blob.
    pub fn blob_chunk(&self, hash: &str, idx: u64) -> Result<Vec<u8>> {
        self.conn()
            .query_row(
                "SELECT bytes FROM blob_chunks WHERE hash = ?1 AND idx = ?2",
                params![hash, idx as i64],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| ReplicaError::BlobMissing(hash.into()))
    }

    /// Attachment hashes a record refers to (empty for a record this version cannot read).
    pub fn record_blobs(&self, id: &str) -> Result<Vec<String>> {
        Ok(match self.get_typed(id) {
            Ok(r) => r.blob_refs().into_iter().map(|(_, h)| h).collect(),
            Err(ReplicaError::Model(_)) => Vec::new(),
            Err(e) => return Err(e),
        })
    }

    /// The file name record `id` gives attachment `hash` (`None` when the record does not
    /// name it, or is not on this device).
    pub fn attachment_name(&self, id: &str, hash: &str) -> Result<Option<String>> {
        let rec = match self.get(id) {
            Ok(r) => r.record,
            Err(ReplicaError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(rec["attachments"].as_array().and_then(|a| {
            a.iter()
                .find(|x| x["hash"] == hash)
                .and_then(|x| x["name"].as_str())
                .map(str::to_string)
        }))
    }

    pub fn has_blob(&self, hash: &str) -> Result<bool> {
        Ok(self
            .conn()
            .query_row("SELECT complete FROM blobs WHERE hash = ?1", [hash], |r| {
                r.get::<_, bool>(0)
            })
            .optional()?
            .unwrap_or(false))
    }

    pub fn blob_info(&self, hash: &str) -> Result<Option<BlobInfo>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT hash, size, mime, complete FROM blobs WHERE hash = ?1",
                [hash],
                |r| {
                    Ok(BlobInfo {
                        hash: r.get(0)?,
                        size: r.get::<_, i64>(1)? as u64,
                        mime: r.get(2)?,
                        complete: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// The whole content of a complete blob, checked against its hash.
    pub fn get_blob(&self, hash: &str) -> Result<Vec<u8>> {
        if !self.has_blob(hash)? {
            return Err(ReplicaError::BlobMissing(hash.into()));
        }
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT bytes FROM blob_chunks WHERE hash = ?1 ORDER BY idx")?;
        let mut out = Vec::new();
        let mut rows = stmt.query([hash])?;
        while let Some(r) = rows.next()? {
            let chunk: Vec<u8> = r.get(0)?;
            out.extend_from_slice(&chunk);
        }
        if sha256_hex(&out) != hash {
            return Err(ReplicaError::BlobHashMismatch(hash.into()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_transfer_resumes_at_the_missing_chunk() {
        let d = tempfile::tempdir().unwrap();
        let mut src = crate::Replica::open(d.path(), &crate::Key::Raw([1; 32])).unwrap();
        let data: Vec<u8> = (0..(CHUNK_SIZE * 2 + 100))
            .map(|i| (i % 253) as u8)
            .collect();
        let hash = src.put_blob(&data, "image/jpeg").unwrap();
        let d2 = tempfile::tempdir().unwrap();
        let mut dst = crate::Replica::open(d2.path(), &crate::Key::Raw([2; 32])).unwrap();
        dst.begin_blob(&hash, data.len() as u64, "image/jpeg")
            .unwrap();
        assert_eq!(dst.missing_chunks(&hash).unwrap(), [0, 1, 2]);
        dst.put_blob_chunk(&hash, 0, &src.blob_chunk(&hash, 0).unwrap())
            .unwrap();
        // The link is cut here; a new transfer asks what is missing.
        dst.begin_blob(&hash, data.len() as u64, "image/jpeg")
            .unwrap();
        assert_eq!(dst.missing_chunks(&hash).unwrap(), [1, 2]);
        assert!(!dst.has_blob(&hash).unwrap());
        assert!(
            dst.put_blob_chunk(&hash, 2, &[0u8; 5]).is_err(),
            "wrong chunk length"
        );
        for i in [1, 2] {
            dst.put_blob_chunk(&hash, i, &src.blob_chunk(&hash, i).unwrap())
                .unwrap();
        }
        dst.finish_blob(&hash).unwrap();
        assert_eq!(dst.get_blob(&hash).unwrap(), data);
        // A corrupted transfer is refused and its chunks dropped.
        let other = sha256_hex(b"other");
        dst.begin_blob(&other, 3, "").unwrap();
        dst.put_blob_chunk(&other, 0, b"xyz").unwrap();
        assert!(matches!(
            dst.finish_blob(&other),
            Err(ReplicaError::BlobHashMismatch(_))
        ));
        assert_eq!(dst.missing_chunks(&other).unwrap(), [0]);
    }

    #[test]
    fn known_hash() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
