//! Statements both backends run, written once, in PostgreSQL's numbered placeholders. The
//! SQLite backend reads each through `sqlite::lite`, which writes `$n` as `?n`: SQLite's
//! numbered placeholder, bound by the same index. A statement that needs what only one
//! database has (PostgreSQL's arrays, SQLite's `json_each`, locks) stays in its backend.

pub const PERSON_UNIT_IDS: &str =
    "SELECT unit_id FROM person_units WHERE person_id = $1 ORDER BY unit_id";

pub const PING: &str = "SELECT 1";

pub const UNIT_PATH: &str = "SELECT path FROM org_units WHERE id = $1";

pub const UNIT_EXISTS: &str = "SELECT 1 FROM org_units WHERE id = $1";

pub const ADD_PERSON_UNIT: &str = "INSERT INTO person_units(person_id, unit_id) VALUES ($1, $2)";

pub const PERSON_NAME_ROLE: &str = "SELECT name, role FROM people WHERE id = $1";

pub const ADD_CODE: &str = "INSERT INTO enrolment_codes(code_hash, person_id, expires_at)
     VALUES ($1, $2, $3)";

pub const USE_CODE: &str = "UPDATE enrolment_codes SET used_at = $2 WHERE code_hash = $1";

pub const ADD_DEVICE: &str = "INSERT INTO devices(id, person_id, name, token_hash, created_at)
     VALUES ($1, $2, $3, $4, $5)";

pub const DEVICE_BY_TOKEN: &str = "SELECT d.id, d.person_id, p.role, d.revoked_at, d.synced_to
     FROM devices d
     JOIN people p ON p.id = d.person_id
     WHERE d.token_hash = $1";

pub const PERSON_UNIT_PATHS: &str = "SELECT u.path
     FROM person_units pu
     JOIN org_units u ON u.id = pu.unit_id
     WHERE pu.person_id = $1";

pub const TOUCH_DEVICE: &str = "UPDATE devices SET last_seen = $2, synced_to = $3 WHERE id = $1";

pub const DEVICES: &str = "SELECT id, name, person_id, created_at, last_seen, revoked_at
     FROM devices
     ORDER BY created_at, id";

pub const REVOKE_DEVICE: &str =
    "UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";

pub const DOC_HEADS: &str = "SELECT heads FROM docs WHERE id = $1";

pub const ADD_CHANGE: &str = "INSERT INTO changes(record_id, origin, bytes) VALUES ($1, $2, $3)";

/// The same, giving the entry's sequence (for its `change_reach` rows).
pub const ADD_CHANGE_SEQ: &str =
    "INSERT INTO changes(record_id, origin, bytes) VALUES ($1, $2, $3) RETURNING seq";

pub const ADD_CHANGE_REACH: &str =
    "INSERT INTO change_reach(seq, path) VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// A change's receipt; a change the server already took keeps its first.
pub const ADD_RECEIPT: &str =
    "INSERT INTO change_receipts(hash, record_id, device_id, person_id, received_at, relayed)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";

/// A record's receipts, with the device's and the person's names.
pub const RECEIPTS: &str =
    "SELECT r.hash, r.device_id, r.person_id, r.received_at, r.relayed, d.name, p.name
     FROM change_receipts r LEFT JOIN devices d ON d.id = r.device_id
     LEFT JOIN people p ON p.id = r.person_id
     WHERE r.record_id = $1";

pub const CLEAR_RECORD_UNITS: &str = "DELETE FROM record_units WHERE record_id = $1";

pub const BLOB_REFERENCED: &str = "SELECT 1 FROM record_blobs WHERE hash = $1 LIMIT 1";

pub const CLEAR_RECORD_BLOBS: &str = "DELETE FROM record_blobs WHERE record_id = $1";

pub const LOG_END: &str = "SELECT max(seq) FROM changes";

pub const BLOB_REACH: &str = "SELECT ru.path
     FROM record_blobs rb
     JOIN record_units ru ON ru.record_id = rb.record_id
     WHERE rb.hash = $1";

pub const LOG_ENTRY: &str = "SELECT bytes FROM changes WHERE seq = $1";

pub const PASSWORD_HASH: &str = "SELECT password_hash FROM people WHERE id = $1";

pub const LOGIN_FAILURES: &str =
    "SELECT failures, locked_until FROM login_failures WHERE user_id = $1";

pub const CLEAR_LOGIN_FAILURES: &str = "DELETE FROM login_failures WHERE user_id = $1";

pub const ADD_SESSION: &str =
    "INSERT INTO office_sessions (token_hash, person_id, csrf, created_at, last_used)
     VALUES ($1, $2, $3, $4, $5)";

pub const SESSION: &str = "SELECT token_hash, person_id, csrf, created_at, last_used
     FROM office_sessions
     WHERE token_hash = $1";

pub const TOUCH_SESSION: &str = "UPDATE office_sessions SET last_used = $2 WHERE token_hash = $1";

pub const DELETE_SESSION: &str = "DELETE FROM office_sessions WHERE token_hash = $1";

pub const PRUNE_SESSIONS: &str = "DELETE FROM office_sessions WHERE last_used < $1";

pub const PUT_DOC: &str = "INSERT INTO docs(id, kind, village, heads, bytes)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT(id)
     DO UPDATE
     SET heads = excluded.heads, bytes = excluded.bytes";

pub const PUT_PROJECTION: &str = "INSERT INTO projections(id, kind, village, title, date, sub_kind, status, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT(id)
     DO UPDATE
     SET title = excluded.title, date = excluded.date, sub_kind = excluded.sub_kind, status = excluded.status, detail = excluded.detail";

pub const PROJECTIONS: &str = "SELECT id, village, title, date, sub_kind, status, detail
     FROM projections
     WHERE kind = $1";

/// Every statement here (for the test that checks their placeholders).
pub const ALL: &[&str] = &[
    PERSON_UNIT_IDS,
    PING,
    UNIT_PATH,
    UNIT_EXISTS,
    ADD_PERSON_UNIT,
    PERSON_NAME_ROLE,
    ADD_CODE,
    USE_CODE,
    ADD_DEVICE,
    DEVICE_BY_TOKEN,
    PERSON_UNIT_PATHS,
    TOUCH_DEVICE,
    DEVICES,
    REVOKE_DEVICE,
    DOC_HEADS,
    ADD_CHANGE,
    ADD_CHANGE_SEQ,
    ADD_CHANGE_REACH,
    CLEAR_RECORD_UNITS,
    CLEAR_RECORD_BLOBS,
    BLOB_REFERENCED,
    LOG_END,
    BLOB_REACH,
    LOG_ENTRY,
    PASSWORD_HASH,
    LOGIN_FAILURES,
    CLEAR_LOGIN_FAILURES,
    ADD_SESSION,
    SESSION,
    TOUCH_SESSION,
    DELETE_SESSION,
    PRUNE_SESSIONS,
    PUT_DOC,
    PUT_PROJECTION,
    PROJECTIONS,
];

#[cfg(test)]
mod tests {
    /// `$` appears only as a placeholder, so writing it as `?` for SQLite changes nothing else.
    #[test]
    fn a_dollar_is_only_ever_a_placeholder() {
        for sql in super::ALL {
            let b = sql.as_bytes();
            for (i, c) in b.iter().enumerate() {
                if *c == b'$' {
                    assert!(b.get(i + 1).is_some_and(u8::is_ascii_digit), "{sql}");
                }
            }
        }
    }
}
