//! Opening the encrypted file and bringing its schema up to date.
//!
//! Migrations are SQL files applied in order and recorded in `PRAGMA user_version`; a shipped
//! migration is never edited, a change is a new file appended to [`MIGRATIONS`].

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::{Key, ReplicaError, Result};

/// Every migration ever shipped, in order. Append only.
pub const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_sync.sql"),
    include_str!("migrations/0003_unapplied.sql"),
];

fn apply_key(conn: &Connection, key: &Key) -> rusqlite::Result<()> {
    match key {
        Key::Passphrase(p) => conn.pragma_update(None, "key", p),
        Key::Raw(k) => {
            // `x'..'` tells SQLCipher to use the 256-bit key as is, without its KDF.
            let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
            conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))
        }
    }
}

/// SQLCipher sets up its crypto provider on a connection's first key; two threads doing so at
/// once can fail with "An error occurred with PRAGMA key". The app opens connections from
/// several threads (commands, background sync), so keying is one at a time per process.
static KEYING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Open (or create) the replica file, check the key, migrate.
pub fn open(path: &Path, key: &Key) -> Result<Connection> {
    let keying = KEYING.lock().unwrap_or_else(|p| p.into_inner());
    let conn = open_keyed(path, key);
    drop(keying);
    let mut conn = conn?;
    // Two connections share the file in the app (the UI's and the background sync's). SQLite's
    // own busy wait backs off to 100 ms polls, and a writer committing chunk after chunk can
    // starve it; polling every millisecond gets a waiting save in at the next gap.
    conn.busy_handler(Some(poll_when_busy))?;
    migrate(&conn, path)?;
    Ok(conn)
}

fn open_keyed(path: &Path, key: &Key) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // SQLCipher would print decryption failures on stderr; the caller gets WrongKey instead.
    let _ = conn.pragma_update(None, "cipher_log_level", "NONE");
    apply_key(&conn, key)?;
    // The first read decides whether the key is right; nothing has been written yet.
    let check: rusqlite::Result<i64> =
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0));
    if let Err(e) = check {
        drop(conn);
        return Err(match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => ReplicaError::WrongKey {
                path: path.to_path_buf(),
            },
            _ => e.into(),
        });
    }
    // WAL: readers never block the writer; FULL: a commit survives a power cut, which is what
    // a phone in a village meets. Temp data stays in memory so nothing plain lands on disk.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(ReplicaError::ReplicaTooNew {
            path: path.to_path_buf(),
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Wait for the write lock by polling every millisecond, for up to 10 seconds.
fn poll_when_busy(attempt: i32) -> bool {
    if attempt >= 10_000 {
        return false;
    }
    std::thread::sleep(std::time::Duration::from_millis(1));
    true
}
