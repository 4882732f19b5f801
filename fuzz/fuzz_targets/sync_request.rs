//! Arbitrary bytes through the decoders the server runs on request bodies: the sync and
//! doc-sync codec (zstd + CBOR, size-capped) and the enrolment JSON. The first byte picks the
//! message; when its high bit is set the rest is compressed first, so mutations reach the CBOR
//! parser instead of dying on zstd's frame checks. Whatever decodes must encode and decode
//! back to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use zhucun_protocol::{
    decode, encode, CodecError, DocSyncRequest, DocSyncResponse, EnrollRequest, SyncRequest,
    SyncResponse, Versioned,
};

/// Smaller than the server's 64 MiB so a bomb costs milliseconds, not seconds; the cap's code
/// path is the same.
const MAX_DECODED: usize = 1 << 20;

fn check<T>(body: &[u8])
where
    T: DeserializeOwned + Serialize + Versioned + PartialEq + std::fmt::Debug,
{
    match decode::<T>(body, MAX_DECODED) {
        Ok(msg) => {
            let again = encode(&msg).expect("a decoded message encodes");
            let back: T = decode(&again, usize::MAX).expect("an encoded message decodes");
            assert_eq!(back, msg, "round trip changed the message");
        }
        Err(CodecError::Encode(e)) => panic!("decode reported an encoding error: {e}"),
        Err(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let compressed;
    let body = if sel & 0x80 != 0 {
        compressed = zstd::bulk::compress(rest, 1).expect("zstd compresses anything");
        &compressed[..]
    } else {
        rest
    };
    match sel & 0x7f {
        0 => check::<SyncRequest>(body),
        1 => check::<DocSyncRequest>(body),
        // Responses: what a device decodes from a (possibly hostile) server.
        2 => check::<SyncResponse>(body),
        3 => check::<DocSyncResponse>(body),
        _ => {
            // `POST /v1/enroll` is JSON.
            if let Ok(req) = serde_json::from_slice::<EnrollRequest>(rest) {
                let again = serde_json::to_vec(&req).expect("encodes");
                let back: EnrollRequest = serde_json::from_slice(&again).expect("decodes");
                assert_eq!(back, req);
            }
        }
    }
});
