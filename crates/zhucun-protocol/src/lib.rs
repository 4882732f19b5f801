//! zhucun-protocol: what a device and the server say to each other, and how it is encoded.
//!
//! Bodies are CBOR (RFC 8949, binary-safe: Automerge changes travel as byte strings)
//! compressed with zstd. Every body starts with the protocol version, so an unknown version
//! is refused with a clear error instead of being misread. Errors travel as JSON
//! `{code, message}`. The wire format is documented in `docs/protocol.md`.
//!
//! This crate knows no HTTP client or server and no storage.

use std::io::Read;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;

/// Content type of sync bodies (before compression).
pub const CONTENT_TYPE: &str = "application/vnd.zhucun.sync+cbor";

/// Where a device sends a sync round ([`SyncRequest`] → [`SyncResponse`]).
pub const SYNC_PATH: &str = "/v1/sync";

/// Where a device sends a one-record sync ([`DocSyncRequest`] → [`DocSyncResponse`]).
pub const DOC_SYNC_PATH: &str = "/v1/sync/doc";

/// The default largest compressed body the server accepts.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

/// The default largest decompressed body (a guard against compression bombs).
pub const DEFAULT_MAX_DECODED: usize = 64 * 1024 * 1024;

/// What the OpenAPI document says of types serde writes its own way.
#[cfg(feature = "openapi")]
pub mod schema {
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    use utoipa::openapi::RefOr;

    /// A CBOR byte string (major type 2): Automerge changes, change hashes, sync messages.
    pub struct ByteString;

    impl utoipa::PartialSchema for ByteString {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .content_encoding("binary")
                .description(Some("A CBOR byte string (major type 2)."))
                .into()
        }
    }

    impl utoipa::ToSchema for ByteString {}
}

/// An Automerge change hash (32 bytes), hex on the wire in JSON, bytes in CBOR.
pub type Hash = serde_bytes::ByteBuf;

/// One record's changes a device pushes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRecord {
    /// The record id (UUID text).
    pub id: String,
    /// Unused by the server: devices send none (it was the heads last acknowledged). Kept,
    /// optional, so bodies that carry it still decode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<schema::ByteString>))]
    pub base_heads: Vec<Hash>,
    /// Raw Automerge changes since `base_heads`, in causal order.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<schema::ByteString>))]
    pub changes: Vec<serde_bytes::ByteBuf>,
    /// The device's heads after these changes; omitted when they are the tips of `changes`
    /// (the server then has them once it applies the changes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<schema::ByteString>))]
    pub heads: Vec<Hash>,
}

/// `POST /v1/sync` request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncRequest {
    pub version: u32,
    /// The last server sequence this device has committed locally (0: nothing yet).
    pub cursor: u64,
    /// The server's fingerprint of the log entry at `cursor`, as last received: a server
    /// restored from a backup has a different entry there (or none) and resets the cursor.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<schema::ByteString>))]
    pub cursor_check: Option<serde_bytes::ByteBuf>,
    /// Dirty records.
    pub push: Vec<PushRecord>,
    /// How many bytes of pulled changes the device wants in this response at most.
    pub page_bytes: u32,
}

/// The server has a pushed record's changes: these are now its heads on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ack {
    pub id: String,
    /// Empty: the server has the heads the device sent for this record (the device knows
    /// them; echoing 32 bytes a head per record was most of a first upload's download).
    /// Non-empty: the heads the server acknowledges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<schema::ByteString>))]
    pub heads: Vec<Hash>,
}

/// Why a pushed record was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RejectCode {
    /// The record's village is outside the device's scope.
    OutOfScope,
    /// The record fails validation (the message names the field).
    Invalid,
    /// Written by a newer schema than the server knows.
    SchemaTooNew,
    /// The bytes are not valid Automerge changes, or not a zhucun record.
    Malformed,
    /// The envelope (kind, village, id) differs from the stored record.
    EnvelopeChanged,
    /// The role of the person behind the device may not make this change (a village
    /// accepting its own report, closing a task the township closes): the message says which.
    Forbidden,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reject {
    pub id: String,
    pub code: RejectCode,
    pub message: String,
}

/// One record's changes the device does not have yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullRecord {
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<schema::ByteString>))]
    pub changes: Vec<serde_bytes::ByteBuf>,
}

/// `POST /v1/sync` response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncResponse {
    pub version: u32,
    pub acks: Vec<Ack>,
    pub rejects: Vec<Reject>,
    /// Records whose heads disagree with the server's (the server lacks dependencies):
    /// the device runs Automerge's sync protocol for each (`POST /v1/sync/doc`).
    pub resync: Vec<String>,
    /// Changes in scope after the request's cursor that this device did not send.
    pub pull: Vec<PullRecord>,
    /// The cursor to commit together with `pull`.
    pub cursor: u64,
    /// Fingerprint of the log entry at `cursor`, to send back with it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<schema::ByteString>))]
    pub cursor_check: Option<serde_bytes::ByteBuf>,
    /// More changes wait after `cursor`: ask again.
    pub more: bool,
    /// The server's log does not hold what the device's cursor names (restored from a
    /// backup): the device sets its cursor to 0 and pulls again; replays are harmless.
    pub cursor_reset: bool,
}

/// `POST /v1/sync/doc`: one round of Automerge's sync protocol for one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocSyncRequest {
    pub version: u32,
    pub id: String,
    /// An encoded `automerge::sync::Message`, if the device has one to send.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<schema::ByteString>))]
    pub message: Option<serde_bytes::ByteBuf>,
    /// The server's sync state from its last answer (opaque to the device).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<schema::ByteString>))]
    pub server_state: Option<serde_bytes::ByteBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocSyncResponse {
    pub version: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<schema::ByteString>))]
    pub message: Option<serde_bytes::ByteBuf>,
    #[cfg_attr(feature = "openapi", schema(value_type = schema::ByteString))]
    pub server_state: serde_bytes::ByteBuf,
    /// Set when the record was rejected (scope, validation): the round ends.
    pub reject: Option<Reject>,
}

/// `POST /v1/enroll` (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollRequest {
    pub code: String,
    /// A name for the device people recognise in the device list.
    pub device_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgUnitInfo {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub parent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollResponse {
    pub device_id: String,
    /// The device's bearer token: shown once, stored only hashed on the server.
    pub token: String,
    pub person_id: String,
    pub person_name: String,
    pub role: String,
    /// Every organisation unit the device reads and writes.
    pub scope: Vec<OrgUnitInfo>,
}

/// The JSON error body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("body is not valid zstd: {0}")]
    Compression(String),
    #[error("body is larger than {limit} bytes once decompressed")]
    TooLarge { limit: usize },
    #[error("body is not a valid message: {0}")]
    Decode(String),
    #[error("protocol version {found} is not supported (this side speaks {supported})")]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("cannot encode message: {0}")]
    Encode(String),
}

/// Messages that carry a version.
pub trait Versioned {
    fn version(&self) -> u32;
}

macro_rules! versioned {
    ($($t:ty),*) => {$(impl Versioned for $t { fn version(&self) -> u32 { self.version } })*};
}
versioned!(SyncRequest, SyncResponse, DocSyncRequest, DocSyncResponse);

/// CBOR-encode and zstd-compress a message.
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, CodecError> {
    let mut cbor = Vec::new();
    ciborium::into_writer(msg, &mut cbor).map_err(|e| CodecError::Encode(e.to_string()))?;
    zstd::bulk::compress(&cbor, 3).map_err(|e| CodecError::Encode(e.to_string()))
}

/// Decompress (at most `max_decoded` bytes) and decode a message, checking its version.
pub fn decode<T: DeserializeOwned + Versioned>(
    body: &[u8],
    max_decoded: usize,
) -> Result<T, CodecError> {
    let mut dec = zstd::stream::read::Decoder::new(body)
        .map_err(|e| CodecError::Compression(e.to_string()))?;
    // An 8 MiB window at most: a tiny frame must not make the reader allocate 128 MiB.
    dec.window_log_max(23)
        .map_err(|e| CodecError::Compression(e.to_string()))?;
    let mut cbor = Vec::new();
    (&mut dec)
        .take((max_decoded as u64).saturating_add(1))
        .read_to_end(&mut cbor)
        .map_err(|e| CodecError::Compression(e.to_string()))?;
    if cbor.len() > max_decoded {
        return Err(CodecError::TooLarge { limit: max_decoded });
    }
    // Read the version first, so a newer message with a different shape is reported as a
    // version problem rather than a decoding one.
    #[derive(Deserialize)]
    struct V {
        version: u32,
    }
    let v: V =
        ciborium::from_reader(cbor.as_slice()).map_err(|e| CodecError::Decode(e.to_string()))?;
    if v.version != VERSION {
        return Err(CodecError::UnsupportedVersion {
            found: v.version,
            supported: VERSION,
        });
    }
    let msg: T =
        ciborium::from_reader(cbor.as_slice()).map_err(|e| CodecError::Decode(e.to_string()))?;
    debug_assert_eq!(msg.version(), VERSION);
    Ok(msg)
}

/// Encode a change hash for the wire.
pub fn hash(bytes: &[u8]) -> Hash {
    serde_bytes::ByteBuf::from(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> SyncRequest {
        SyncRequest {
            version: VERSION,
            cursor: 42,
            cursor_check: Some(serde_bytes::ByteBuf::from(vec![9; 8])),
            push: vec![PushRecord {
                id: "0190f0a0-0000-7000-8000-000000000000".into(),
                base_heads: vec![hash(&[1; 32])],
                changes: vec![serde_bytes::ByteBuf::from(vec![
                    0x85, 0x6f, 0x4a, 0x83, 0, 255,
                ])],
                heads: vec![hash(&[2; 32])],
            }],
            page_bytes: 1 << 20,
        }
    }

    #[test]
    fn round_trip_is_binary_safe() {
        let r = req();
        let bytes = encode(&r).unwrap();
        assert_eq!(
            decode::<SyncRequest>(&bytes, DEFAULT_MAX_DECODED).unwrap(),
            r
        );
        // No limit at all is a limit too (the reader's cap must not overflow to zero).
        assert_eq!(decode::<SyncRequest>(&bytes, usize::MAX).unwrap(), r);
    }

    #[test]
    fn unknown_version_is_named() {
        let mut r = req();
        r.version = 99;
        let bytes = encode(&r).unwrap();
        let e = decode::<SyncRequest>(&bytes, DEFAULT_MAX_DECODED).unwrap_err();
        assert_eq!(
            e.to_string(),
            "protocol version 99 is not supported (this side speaks 1)"
        );
    }

    #[test]
    fn truncated_garbage_and_bombs_are_errors() {
        let bytes = encode(&req()).unwrap();
        assert!(decode::<SyncRequest>(&bytes[..bytes.len() / 2], DEFAULT_MAX_DECODED).is_err());
        assert!(decode::<SyncRequest>(b"hello", DEFAULT_MAX_DECODED).is_err());
        assert!(decode::<SyncRequest>(&[], DEFAULT_MAX_DECODED).is_err());
        let zeros = zstd::bulk::compress(&vec![0u8; 10_000_000], 3).unwrap();
        assert!(matches!(
            decode::<SyncRequest>(&zeros, 1_000_000),
            Err(CodecError::TooLarge { .. })
        ));
        // Valid zstd, not our message.
        let other = zstd::bulk::compress(b"\xa1\x61x\x01", 3).unwrap();
        assert!(matches!(
            decode::<SyncRequest>(&other, DEFAULT_MAX_DECODED),
            Err(CodecError::Decode(_))
        ));
    }
}
