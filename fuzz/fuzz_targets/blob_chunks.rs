//! The server's attachment store (`server/src/blobs.rs`) under an arbitrary sequence of chunk
//! uploads, status calls and reads, in a fresh directory per input: right and wrong chunks,
//! sizes that change, indexes past the end, names that are not hashes, blobs whose content
//! does not hash to their name, uploads by devices into their own partial directories with
//! and without sight of the record that refers to the blob. Checked after every step: no
//! panic, no I/O error, a complete blob's bytes hash to its name and are what was uploaded, a
//! status call tells a device nothing of a blob it neither may see nor has sent (upload
//! answers are not held to that: see RELIABILITY.md), and nothing is written
//! outside the blob directory's layout.
#![no_main]

use std::collections::HashSet;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use zhucun_server::blobs::{BlobDir, BlobError, CHUNK_SIZE};

/// A blob's content, kept small in the input: a pattern repeated to a length of up to three
/// chunks (so first, middle and short last chunks all occur).
#[derive(Arbitrary, Debug)]
struct Content {
    pattern: Vec<u8>,
    len: u32,
}

impl Content {
    fn bytes(&self) -> Vec<u8> {
        let len = (self.len as u64 % (3 * CHUNK_SIZE + 1)) as usize;
        if self.pattern.is_empty() {
            return vec![0; len];
        }
        self.pattern.iter().copied().cycle().take(len).collect()
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Upload chunk `idx` of blob `blob` as it should be.
    Put {
        blob: u8,
        idx: u8,
    },
    /// Upload chunk `idx` with its bytes changed (same length).
    PutCorrupt {
        blob: u8,
        idx: u8,
        flip: u8,
    },
    /// Upload chunk `idx` declaring another total size, cut to `cut` bytes.
    PutOdd {
        blob: u8,
        idx: u64,
        size: u64,
        cut: u32,
    },
    /// Anything at all under any name.
    PutRaw {
        name: String,
        size: u64,
        idx: u64,
        bytes: Vec<u8>,
    },
    /// Upload chunk `idx` as device `device`, which may or may not see a record referring
    /// to the blob.
    PutAs {
        device: u8,
        blob: u8,
        idx: u8,
        corrupt: bool,
        visible: bool,
    },
    StatusAs {
        device: u8,
        blob: u8,
        visible: bool,
    },
    Status {
        blob: u8,
    },
    StatusRaw {
        name: String,
    },
    Read {
        blob: u8,
        idx: u64,
    },
    ReadRaw {
        name: String,
        idx: u64,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Blobs uploaded under their own hash; a decoy is uploaded under the first one's name.
    blobs: Vec<Content>,
    max_size_chunks: u8,
    ops: Vec<Op>,
}

fn tmp_root() -> tempfile::TempDir {
    // tmpfs where there is one: every chunk is fsynced.
    tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap())
}

fn no_io(r: &Result<impl std::fmt::Debug, BlobError>) {
    if let Err(BlobError::Io(e)) = r {
        panic!("blob store I/O error on hostile input: {e}");
    }
}

/// The devices of the inputs (ids as the server makes them).
const DEVICES: [&str; 3] = ["dev-0a", "dev-1b", "dev-2c"];

fn is_owner(name: &str) -> bool {
    name == "-" || DEVICES.contains(&name)
}

/// Every path under `dir` is a blob directory entry this store makes:
/// `<2 hex>/<hash>`, `partial/<owner>/<hash>/…`, `holders/<hash>/<device>.<chunk>` and
/// `uploads/<hash>/<device>`.
fn check_tree(outer: &std::path::Path) {
    let entries: Vec<_> = std::fs::read_dir(outer).unwrap().collect();
    assert_eq!(
        entries.len(),
        1,
        "something was written beside the blob directory"
    );
    let root = outer.join("blobs");
    for e in std::fs::read_dir(&root).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if name == "partial" {
            for o in std::fs::read_dir(e.path()).unwrap() {
                let o = o.unwrap();
                let owner = o.file_name().into_string().unwrap();
                assert!(is_owner(&owner), "partial/{owner}");
                for p in std::fs::read_dir(o.path()).unwrap() {
                    let p = p.unwrap().file_name().into_string().unwrap();
                    zhucun_server::blobs::check_hash(&p).expect("partial/<owner>/<hash>");
                }
            }
            continue;
        }
        if name == "uploads" {
            for h in std::fs::read_dir(e.path()).unwrap() {
                let h = h.unwrap();
                let hash = h.file_name().into_string().unwrap();
                zhucun_server::blobs::check_hash(&hash).expect("uploads/<hash>");
                for p in std::fs::read_dir(h.path()).unwrap() {
                    let p = p.unwrap().file_name().into_string().unwrap();
                    assert!(DEVICES.contains(&p.as_str()), "uploads/{hash}/{p}");
                }
            }
            continue;
        }
        if name == "holders" {
            for h in std::fs::read_dir(e.path()).unwrap() {
                let h = h.unwrap();
                let hash = h.file_name().into_string().unwrap();
                zhucun_server::blobs::check_hash(&hash).expect("holders/<hash>");
                for p in std::fs::read_dir(h.path()).unwrap() {
                    let p = p.unwrap().file_name().into_string().unwrap();
                    let (device, idx) = p.rsplit_once('.').expect("<device>.<chunk>");
                    assert!(DEVICES.contains(&device), "holders/{hash}/{p}");
                    assert!(idx.parse::<u64>().is_ok(), "holders/{hash}/{p}");
                }
            }
            continue;
        }
        assert!(
            name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}"
        );
        for f in std::fs::read_dir(e.path()).unwrap() {
            let f = f.unwrap();
            let h = f.file_name().into_string().unwrap();
            zhucun_server::blobs::check_hash(&h).expect("a complete blob is named by its hash");
            assert!(h.starts_with(&name));
            let bytes = std::fs::read(f.path()).unwrap();
            assert_eq!(
                hex::encode(Sha256::digest(&bytes)),
                h,
                "complete blob with wrong bytes"
            );
        }
    }
}

fuzz_target!(|input: Input| {
    if input.blobs.is_empty() || input.blobs.len() > 4 || input.ops.len() > 64 {
        return;
    }
    let outer = tmp_root();
    let root = outer.path().join("blobs");
    let max = (u64::from(input.max_size_chunks % 4) + 1) * CHUNK_SIZE;
    let dir = BlobDir::new(&root, max).unwrap();
    let blobs: Vec<(String, Vec<u8>)> = input
        .blobs
        .iter()
        .map(|c| {
            let b = c.bytes();
            (hex::encode(Sha256::digest(&b)), b)
        })
        .collect();
    let pick = |i: u8| &blobs[usize::from(i) % blobs.len()];
    let chunk = |b: &[u8], idx: u64| -> Vec<u8> {
        let start = (idx * CHUNK_SIZE).min(b.len() as u64) as usize;
        let end = ((idx + 1) * CHUNK_SIZE).min(b.len() as u64) as usize;
        b[start..end].to_vec()
    };
    // (device, hash) pairs where the device has had a chunk accepted.
    let mut sent: HashSet<(&str, &str)> = HashSet::new();
    for op in &input.ops {
        match op {
            Op::PutAs {
                device,
                blob,
                idx,
                corrupt,
                visible,
            } => {
                let device = DEVICES[usize::from(*device) % DEVICES.len()];
                let (h, b) = pick(*blob);
                let n = (b.len() as u64).div_ceil(CHUNK_SIZE).max(1);
                let idx = u64::from(*idx) % n;
                let mut c = chunk(b, idx);
                if *corrupt {
                    if let Some(x) = c.first_mut() {
                        *x ^= 0x5a;
                    }
                }
                let r = dir.put_chunk_for(h, b.len() as u64, idx, &c, device, *visible);
                no_io(&r);
                if b.len() as u64 > max {
                    assert!(matches!(r, Err(BlobError::TooLarge { .. })), "{r:?}");
                }
                if r.is_ok() {
                    sent.insert((device, h.as_str()));
                }
            }
            Op::StatusAs {
                device,
                blob,
                visible,
            } => {
                let device = DEVICES[usize::from(*device) % DEVICES.len()];
                let (h, b) = pick(*blob);
                let st = dir
                    .status_for(h, device, *visible)
                    .expect("status of a hash");
                if st.complete {
                    assert_eq!(st.size, Some(b.len() as u64));
                    assert!(st.missing.is_empty());
                }
                if !*visible && !sent.contains(&(device, h.as_str())) {
                    assert!(
                        st.size.is_none() && !st.complete && st.missing.is_empty(),
                        "{device} learnt of {h} without sending or seeing it: {st:?}"
                    );
                }
            }
            Op::Put { blob, idx } => {
                let (h, b) = pick(*blob);
                let n = (b.len() as u64).div_ceil(CHUNK_SIZE).max(1);
                let idx = u64::from(*idx) % n;
                let r = dir.put_chunk(h, b.len() as u64, idx, &chunk(b, idx));
                no_io(&r);
                if b.len() as u64 > max {
                    assert!(matches!(r, Err(BlobError::TooLarge { .. })), "{r:?}");
                }
            }
            Op::PutCorrupt { blob, idx, flip } => {
                let (h, b) = pick(*blob);
                let n = (b.len() as u64).div_ceil(CHUNK_SIZE).max(1);
                let idx = u64::from(*idx) % n;
                let mut c = chunk(b, idx);
                let at = usize::from(*flip) % c.len().max(1);
                if let Some(x) = c.get_mut(at) {
                    *x ^= 0x5a;
                }
                no_io(&dir.put_chunk(h, b.len() as u64, idx, &c));
            }
            Op::PutOdd {
                blob,
                idx,
                size,
                cut,
            } => {
                let (h, b) = pick(*blob);
                let mut c = chunk(b, *idx % 4);
                c.truncate(*cut as usize);
                no_io(&dir.put_chunk(h, *size % (5 * CHUNK_SIZE), *idx, &c));
            }
            Op::PutRaw {
                name,
                size,
                idx,
                bytes,
            } => {
                let r = dir.put_chunk(name, *size, *idx, bytes);
                no_io(&r);
                if zhucun_server::blobs::check_hash(name).is_err() {
                    assert!(matches!(r, Err(BlobError::BadHash(_))), "{r:?}");
                }
            }
            Op::Status { blob } => {
                let (h, b) = pick(*blob);
                let st = dir.status(h).expect("status of a hash");
                if st.complete {
                    assert_eq!(st.size, Some(b.len() as u64));
                    assert!(st.missing.is_empty());
                }
            }
            Op::StatusRaw { name } => no_io(&dir.status(name)),
            Op::Read { blob, idx } => {
                let (h, b) = pick(*blob);
                let r = dir.read_chunk(h, *idx);
                no_io(&r);
                if let Ok(bytes) = r {
                    assert_eq!(bytes, chunk(b, *idx), "chunk {idx} of a complete blob");
                }
            }
            Op::ReadRaw { name, idx } => no_io(&dir.read_chunk(name, *idx)),
        }
        check_tree(outer.path());
    }
    // Whatever completed is exactly what was uploaded.
    for (h, b) in &blobs {
        if dir.status(h).unwrap().complete {
            let n = (b.len() as u64).div_ceil(CHUNK_SIZE).max(1);
            let whole: Vec<u8> = (0..n).flat_map(|i| dir.read_chunk(h, i).unwrap()).collect();
            assert_eq!(&whole, b);
        }
    }
});
