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
        let tx = self.conn_mut().transaction()?;
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
    fn known_hash() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
