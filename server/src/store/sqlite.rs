//! The embedded SQLite backend: one file, created on first start, nothing to install.
//! One connection behind a mutex (SQLite has one writer anyway), used from blocking tasks.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::*;

/// A shared statement (`super::sql`) in SQLite's placeholders: `$n` becomes `?n`, bound by the
/// same index.
fn lite(sql: &'static str) -> std::borrow::Cow<'static, str> {
    if sql.contains('$') {
        sql.replace('$', "?").into()
    } else {
        sql.into()
    }
}

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_blobs.sql"),
    include_str!("../../migrations/sqlite/0003_office.sql"),
    include_str!("../../migrations/sqlite/0004_synced_to.sql"),
    include_str!("../../migrations/sqlite/0005_change_reach.sql"),
    include_str!("../../migrations/sqlite/0006_change_receipts.sql"),
];

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: std::path::PathBuf,
    /// The lock file held while this store serves (`claim_server`).
    served: std::sync::OnceLock<std::fs::File>,
}

fn be(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    pub fn open(path: &str) -> StoreResult<SqliteStore> {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(e.to_string()))?;
            }
        }
        let conn = Connection::open(path).map_err(be)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(be)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(be)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(be)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(be)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path: path.into(),
            served: std::sync::OnceLock::new(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut c = conn
                .lock()
                .map_err(|_| StoreError::Backend("connection lock poisoned".into()))?;
            f(&mut c)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }
}

fn person_units(c: &Connection, id: &str) -> StoreResult<Vec<String>> {
    let mut st = c.prepare_cached(&lite(sql::PERSON_UNIT_IDS)).map_err(be)?;
    let rows = st.query_map([id], |r| r.get(0)).map_err(be)?;
    rows.collect::<Result<_, _>>().map_err(be)
}

#[async_trait]
impl Store for SqliteStore {
    async fn claim_server(&self) -> StoreResult<()> {
        let mut lock_path = self.path.clone().into_os_string();
        lock_path.push(".server-lock");
        let lock_path = std::path::PathBuf::from(lock_path);
        let io = |e: std::io::Error| {
            StoreError::Backend(format!("lock file {}: {e}", lock_path.display()))
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Backend(format!(
                    "{} is served by another zhucun-server process already (it holds {}): \
                     one server per SQLite database",
                    self.path.display(),
                    lock_path.display()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        // Claimed twice by one process: the first lock is kept, the second file closed.
        let _ = self.served.set(file);
        Ok(())
    }

    async fn migrate(&self) -> StoreResult<()> {
        self.run(|c| {
            let v: i64 = c
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(be)?;
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(v.max(0) as usize) {
                let tx = c.transaction().map_err(be)?;
                tx.execute_batch(sql).map_err(be)?;
                tx.pragma_update(None, "user_version", (i + 1) as i64)
                    .map_err(be)?;
                tx.commit().map_err(be)?;
            }
            Ok(())
        })
        .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.run(|c| {
            c.query_row(&lite(sql::PING), [], |r| r.get::<_, i64>(0))
                .map_err(be)?;
            Ok(())
        })
        .await
    }

    async fn add_unit(
        &self,
        id: &str,
        name: &str,
        kind: &str,
        parent: Option<&str>,
    ) -> StoreResult<OrgUnit> {
        let (id, name, kind, parent) = (
            id.to_string(),
            name.to_string(),
            kind.to_string(),
            parent.map(str::to_string),
        );
        self.run(move |c| {
            let ppath: Option<String> = match &parent {
                None => None,
                Some(p) => Some(
                    c.query_row(&lite(sql::UNIT_PATH), [p], |r| r.get(0))
                        .optional()
                        .map_err(be)?
                        .ok_or_else(|| StoreError::NotFound(format!("unit {p}")))?,
                ),
            };
            let path = child_path(ppath.as_deref(), &id);
            let n = c
                .execute(
                    "INSERT OR IGNORE INTO org_units(id, name, kind, parent, path) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, name, kind, parent, path],
                )
                .map_err(be)?;
            if n == 0 {
                return Err(StoreError::Duplicate(format!("unit {id}")));
            }
            Ok(OrgUnit { id, name, kind, parent, path })
        })
        .await
    }

    async fn units(&self) -> StoreResult<Vec<OrgUnit>> {
        self.run(|c| {
            let mut st = c
                .prepare("SELECT id, name, kind, parent, path FROM org_units ORDER BY path")
                .map_err(be)?;
            let rows = st
                .query_map([], |r| {
                    Ok(OrgUnit {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        kind: r.get(2)?,
                        parent: r.get(3)?,
                        path: r.get(4)?,
                    })
                })
                .map_err(be)?;
            rows.collect::<Result<_, _>>().map_err(be)
        })
        .await
    }

    async fn add_person(&self, p: &NewPerson) -> StoreResult<()> {
        let p = p.clone();
        self.run(move |c| {
            let tx = c.transaction().map_err(be)?;
            let n = tx
                .execute(
                    "INSERT OR IGNORE INTO people(id, name, role, password_hash) VALUES (?1, ?2, ?3, ?4)",
                    params![p.id, p.name, p.role, p.password_hash],
                )
                .map_err(be)?;
            if n == 0 {
                return Err(StoreError::Duplicate(format!("person {}", p.id)));
            }
            for u in &p.units {
                let ok: Option<i64> = tx
                    .query_row(&lite(sql::UNIT_EXISTS), [u], |r| r.get(0))
                    .optional()
                    .map_err(be)?;
                if ok.is_none() {
                    return Err(StoreError::NotFound(format!("unit {u}")));
                }
                tx.execute(
                    &lite(sql::ADD_PERSON_UNIT),
                    params![p.id, u],
                )
                .map_err(be)?;
            }
            tx.commit().map_err(be)
        })
        .await
    }

    async fn person(&self, id: &str) -> StoreResult<Option<Person>> {
        let id = id.to_string();
        self.run(move |c| {
            let row: Option<(String, String)> = c
                .query_row(&lite(sql::PERSON_NAME_ROLE), [&id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(be)?;
            match row {
                None => Ok(None),
                Some((name, role)) => Ok(Some(Person {
                    units: person_units(c, &id)?,
                    id,
                    name,
                    role,
                })),
            }
        })
        .await
    }

    async fn add_code(&self, code_hash: &str, person_id: &str, expires_at: i64) -> StoreResult<()> {
        let (h, p) = (code_hash.to_string(), person_id.to_string());
        self.run(move |c| {
            c.execute(&lite(sql::ADD_CODE), params![h, p, expires_at])
                .map_err(be)?;
            Ok(())
        })
        .await
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        now: i64,
        device: &NewDevice,
    ) -> StoreResult<Person> {
        let (h, d) = (code_hash.to_string(), device.clone());
        self.run(move |c| {
            let tx = c.transaction().map_err(be)?;
            let row: Option<(String, i64, Option<i64>)> = tx
                .query_row(
                    "SELECT person_id, expires_at, used_at FROM enrolment_codes WHERE code_hash = ?1",
                    [&h],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(be)?;
            let (person_id, expires, used) = row.ok_or(StoreError::CodeInvalid)?;
            if used.is_some() {
                return Err(StoreError::CodeUsed);
            }
            if expires < now {
                return Err(StoreError::CodeExpired);
            }
            tx.execute(&lite(sql::USE_CODE), params![h, now])
                .map_err(be)?;
            tx.execute(
                &lite(sql::ADD_DEVICE),
                params![d.id, person_id, d.name, d.token_hash, d.created_at],
            )
            .map_err(be)?;
            let (name, role): (String, String) = tx
                .query_row(&lite(sql::PERSON_NAME_ROLE), [&person_id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(be)?;
            let units = person_units(&tx, &person_id)?;
            tx.commit().map_err(be)?;
            Ok(Person { id: person_id, name, role, units })
        })
        .await
    }

    async fn device_by_token(&self, token_hash: &str) -> StoreResult<Option<DeviceAuth>> {
        let h = token_hash.to_string();
        self.run(move |c| {
            type Row = (String, String, String, Option<i64>, i64);
            let row: Option<Row> = c
                .query_row(&lite(sql::DEVICE_BY_TOKEN), [&h], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()
                .map_err(be)?;
            let Some((device_id, person_id, role, revoked, synced_to)) = row else {
                return Ok(None);
            };
            let mut st = c
                .prepare_cached(&lite(sql::PERSON_UNIT_PATHS))
                .map_err(be)?;
            let scope_paths = st
                .query_map([&person_id], |r| r.get(0))
                .map_err(be)?
                .collect::<Result<_, _>>()
                .map_err(be)?;
            Ok(Some(DeviceAuth {
                device_id,
                person_id,
                role,
                revoked: revoked.is_some(),
                scope_paths,
                synced_to: synced_to.max(0) as u64,
            }))
        })
        .await
    }

    async fn touch_device(&self, device_id: &str, now: i64, synced_to: u64) -> StoreResult<()> {
        let id = device_id.to_string();
        let synced_to = synced_to.min(i64::MAX as u64) as i64;
        self.run(move |c| {
            c.execute(&lite(sql::TOUCH_DEVICE), params![id, now, synced_to])
                .map_err(be)?;
            Ok(())
        })
        .await
    }

    async fn devices(&self) -> StoreResult<Vec<DeviceInfo>> {
        self.run(|c| {
            let mut st = c.prepare(&lite(sql::DEVICES)).map_err(be)?;
            let rows = st
                .query_map([], |r| {
                    Ok(DeviceInfo {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        person_id: r.get(2)?,
                        created_at: r.get(3)?,
                        last_seen: r.get(4)?,
                        revoked_at: r.get(5)?,
                    })
                })
                .map_err(be)?;
            rows.collect::<Result<_, _>>().map_err(be)
        })
        .await
    }

    async fn revoke_device(&self, id: &str, now: i64) -> StoreResult<bool> {
        let id = id.to_string();
        self.run(move |c| {
            let n = c
                .execute(&lite(sql::REVOKE_DEVICE), params![id, now])
                .map_err(be)?;
            Ok(n > 0)
        })
        .await
    }

    async fn load_docs(&self, ids: &[String]) -> StoreResult<Vec<StoredDoc>> {
        let ids = ids.to_vec();
        self.run(move |c| {
            let mut st = c
                .prepare_cached("SELECT id, kind, village, heads, bytes FROM docs WHERE id = ?1")
                .map_err(be)?;
            let mut out = Vec::new();
            for id in &ids {
                if let Some(d) = st
                    .query_row([id], |r| {
                        Ok(StoredDoc {
                            id: r.get(0)?,
                            kind: r.get(1)?,
                            village: r.get(2)?,
                            heads: r.get(3)?,
                            bytes: r.get(4)?,
                        })
                    })
                    .optional()
                    .map_err(be)?
                {
                    out.push(d);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn commit(&self, origin: &str, writes: &[RecordWrite]) -> StoreResult<()> {
        let (origin, writes) = (origin.to_string(), writes.to_vec());
        self.run(move |c| {
            let tx = c.transaction().map_err(be)?;
            for w in &writes {
                let cur: Option<String> = tx
                    .query_row(&lite(sql::DOC_HEADS), [&w.id], |r| r.get(0))
                    .optional()
                    .map_err(be)?;
                if cur != w.expected_heads {
                    return Err(StoreError::Conflict(w.id.clone()));
                }
                tx.execute(
                    &lite(sql::PUT_DOC),
                    params![w.id, w.kind, w.village, w.heads, w.bytes],
                )
                .map_err(be)?;
                for entry in &w.log {
                    tx.execute(&lite(sql::ADD_CHANGE), params![w.id, origin, entry])
                        .map_err(be)?;
                    let seq = tx.last_insert_rowid();
                    for p in &w.left_paths {
                        tx.execute(&lite(sql::ADD_CHANGE_REACH), params![seq, p])
                            .map_err(be)?;
                    }
                }
                for r in &w.receipts {
                    tx.execute(
                        &lite(sql::ADD_RECEIPT),
                        params![r.hash, w.id, origin, r.person_id, r.received_at, r.relayed],
                    )
                    .map_err(be)?;
                }
                tx.execute(&lite(sql::CLEAR_RECORD_UNITS), [&w.id])
                    .map_err(be)?;
                for p in &w.unit_paths {
                    tx.execute(
                        "INSERT OR IGNORE INTO record_units(record_id, path) VALUES (?1, ?2)",
                        params![w.id, p],
                    )
                    .map_err(be)?;
                }
                tx.execute(&lite(sql::CLEAR_RECORD_BLOBS), [&w.id])
                    .map_err(be)?;
                for h in &w.blobs {
                    tx.execute(
                        "INSERT OR IGNORE INTO record_blobs(record_id, hash) VALUES (?1, ?2)",
                        params![w.id, h],
                    )
                    .map_err(be)?;
                }
                let pr = &w.projection;
                tx.execute(
                    &lite(sql::PUT_PROJECTION),
                    params![
                        w.id,
                        w.kind,
                        w.village,
                        pr.title,
                        pr.date,
                        pr.sub_kind,
                        pr.status,
                        pr.detail
                    ],
                )
                .map_err(be)?;
            }
            tx.commit().map_err(be)
        })
        .await
    }

    async fn receipts(&self, record_id: &str) -> StoreResult<Vec<ChangeReceipt>> {
        let id = record_id.to_string();
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&lite(sql::RECEIPTS)).map_err(be)?;
            let rows = stmt
                .query_map([&id], |r| {
                    Ok(ChangeReceipt {
                        hash: r.get(0)?,
                        device_id: r.get(1)?,
                        person_id: r.get(2)?,
                        received_at: r.get(3)?,
                        relayed: r.get(4)?,
                        device_name: r.get(5)?,
                        person_name: r.get(6)?,
                    })
                })
                .map_err(be)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(be)
        })
        .await
    }

    async fn pull(
        &self,
        scope_paths: &[String],
        after: u64,
        own: Own<'_>,
        max_bytes: usize,
    ) -> StoreResult<PullPage> {
        let (scope, device, synced_to) =
            (scope_paths.to_vec(), own.device.to_string(), own.synced_to);
        self.run(move |c| {
            if scope.is_empty() {
                return Ok(PullPage {
                    entries: Vec::new(),
                    cursor: after,
                    more: false,
                });
            }
            let likes = |t: &str| {
                (0..scope.len())
                    .map(|i| format!("substr({t}.path, 1, length(?{n})) = ?{n}", n = i + 3))
                    .collect::<Vec<String>>()
                    .join(" OR ")
            };
            let sql = format!(
                "SELECT c.seq, c.record_id, c.bytes, c.origin FROM changes c
                 WHERE c.seq > ?1 AND (EXISTS (SELECT 1 FROM record_units ru
                   WHERE ru.record_id = c.record_id AND ({}))
                 OR EXISTS (SELECT 1 FROM change_reach cr WHERE cr.seq = c.seq AND ({})))
                 ORDER BY c.seq LIMIT ?2",
                likes("ru"),
                likes("cr")
            );
            // One read transaction, one snapshot: the log's end is read from the same state as
            // the page, though another process (an administration command) may write between.
            let tx = c.transaction().map_err(be)?;
            let mut st = tx.prepare_cached(&sql).map_err(be)?;
            let mut args: Vec<rusqlite::types::Value> =
                vec![(after as i64).into(), (paging::PULL_ROWS as i64).into()];
            args.extend(
                scope
                    .iter()
                    .map(|s| rusqlite::types::Value::from(s.clone())),
            );
            let mut rows = st.query(rusqlite::params_from_iter(args)).map_err(be)?;
            let own = Own {
                device: &device,
                synced_to,
            };
            let mut pager = paging::Pager::new(after, own, max_bytes);
            while let Some(r) = rows.next().map_err(be)? {
                let seq: i64 = r.get(0).map_err(be)?;
                let origin: String = r.get(3).map_err(be)?;
                if !pager.offer(
                    seq as u64,
                    r.get(1).map_err(be)?,
                    r.get(2).map_err(be)?,
                    &origin,
                ) {
                    break;
                }
            }
            drop(rows);
            drop(st);
            let page = pager.finish(|| {
                let top: Option<i64> = tx
                    .query_row(&lite(sql::LOG_END), [], |r| r.get(0))
                    .map_err(be)?;
                Ok(top.unwrap_or(0).max(0) as u64)
            })?;
            tx.commit().map_err(be)?;
            Ok(page)
        })
        .await
    }

    async fn max_seq(&self) -> StoreResult<u64> {
        self.run(|c| {
            let v: Option<i64> = c
                .query_row(&lite(sql::LOG_END), [], |r| r.get(0))
                .map_err(be)?;
            Ok(v.unwrap_or(0) as u64)
        })
        .await
    }

    async fn doc_ids(&self) -> StoreResult<Vec<String>> {
        self.run(|c| {
            let mut st = c.prepare("SELECT id FROM docs ORDER BY id").map_err(be)?;
            let rows = st.query_map([], |r| r.get(0)).map_err(be)?;
            rows.collect::<Result<_, _>>().map_err(be)
        })
        .await
    }

    async fn check(&self) -> StoreResult<Vec<String>> {
        self.run(|c| {
            let mut problems = Vec::new();
            let mut st = c.prepare("PRAGMA integrity_check").map_err(be)?;
            let rows: Vec<String> = st
                .query_map([], |r| r.get(0))
                .map_err(be)?
                .collect::<Result<_, _>>()
                .map_err(be)?;
            if rows != ["ok"] {
                problems.extend(rows.into_iter().map(|r| format!("integrity_check: {r}")));
            }
            for (sql, what) in crate::store::CONSISTENCY_CHECKS {
                let n: i64 = c.query_row(sql, [], |r| r.get(0)).map_err(be)?;
                if n > 0 {
                    problems.push(format!("{n} {what}"));
                }
            }
            Ok(problems)
        })
        .await
    }

    async fn backup_into(&self, dest: &std::path::Path) -> StoreResult<()> {
        let dest = dest
            .to_str()
            .ok_or_else(|| StoreError::Backend(format!("{} is not UTF-8", dest.display())))?
            .to_string();
        // Not the online-backup API: under a busy server its page-by-page copy starts again
        // at every commit it sees and may never finish. VACUUM INTO reads one snapshot.
        self.run(move |c| {
            c.execute("VACUUM INTO ?1", [&dest]).map_err(be)?;
            Ok(())
        })
        .await
    }

    async fn blob_visible(&self, hash: &str, scope_paths: &[String]) -> StoreResult<bool> {
        let (hash, scope) = (hash.to_string(), scope_paths.to_vec());
        self.run(move |c| {
            let mut st = c.prepare_cached(&lite(sql::BLOB_REACH)).map_err(be)?;
            let paths: Vec<String> = st
                .query_map([&hash], |r| r.get(0))
                .map_err(be)?
                .collect::<Result<_, _>>()
                .map_err(be)?;
            Ok(paths.iter().any(|p| in_scope(p, &scope)))
        })
        .await
    }

    async fn referenced_blobs(&self, hashes: &[String]) -> StoreResult<HashSet<String>> {
        let hashes = hashes.to_vec();
        self.run(move |c| {
            let mut st = c.prepare_cached(&lite(sql::BLOB_REFERENCED)).map_err(be)?;
            let mut out = HashSet::new();
            for h in hashes {
                if st.exists([&h]).map_err(be)? {
                    out.insert(h);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn entry(&self, seq: u64) -> StoreResult<Option<Vec<u8>>> {
        self.run(move |c| {
            c.query_row(&lite(sql::LOG_ENTRY), [seq as i64], |r| r.get(0))
                .optional()
                .map_err(be)
        })
        .await
    }

    async fn people(&self) -> StoreResult<Vec<PersonInfo>> {
        self.run(|c| {
            let mut st = c
                .prepare(
                    "SELECT p.id, p.name, p.role, p.password_hash IS NOT NULL, pu.unit_id
                     FROM people p LEFT JOIN person_units pu ON pu.person_id = p.id
                     ORDER BY p.id, pu.unit_id",
                )
                .map_err(be)?;
            let mut rows = st.query([]).map_err(be)?;
            let mut out: Vec<PersonInfo> = Vec::new();
            while let Some(r) = rows.next().map_err(be)? {
                let id: String = r.get(0).map_err(be)?;
                let unit: Option<String> = r.get(4).map_err(be)?;
                if out.last().is_none_or(|p| p.id != id) {
                    out.push(PersonInfo {
                        id,
                        name: r.get(1).map_err(be)?,
                        role: r.get(2).map_err(be)?,
                        has_login: r.get(3).map_err(be)?,
                        units: Vec::new(),
                    });
                }
                if let (Some(u), Some(p)) = (unit, out.last_mut()) {
                    p.units.push(u);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn password_hash(&self, person_id: &str) -> StoreResult<Option<String>> {
        let id = person_id.to_string();
        self.run(move |c| {
            let h: Option<Option<String>> = c
                .query_row(&lite(sql::PASSWORD_HASH), [&id], |r| r.get(0))
                .optional()
                .map_err(be)?;
            Ok(h.flatten())
        })
        .await
    }

    async fn login_failures(&self, user: &str) -> StoreResult<LoginFailures> {
        let user = user.to_string();
        self.run(move |c| {
            let f = c
                .query_row(&lite(sql::LOGIN_FAILURES), [&user], |r| {
                    Ok(LoginFailures {
                        failures: r.get(0)?,
                        locked_until: r.get(1)?,
                    })
                })
                .optional()
                .map_err(be)?;
            Ok(f.unwrap_or_default())
        })
        .await
    }

    async fn add_login_failure(
        &self,
        user: &str,
        max: u32,
        lock_until: i64,
    ) -> StoreResult<LoginFailures> {
        let user = user.to_string();
        self.run(move |c| {
            c.query_row(
                "INSERT INTO login_failures (user_id, failures, locked_until) VALUES (?1, 1, NULL)
                 ON CONFLICT (user_id) DO UPDATE SET
                   failures = CASE WHEN failures + 1 >= ?2 THEN 0 ELSE failures + 1 END,
                   locked_until = CASE WHEN failures + 1 >= ?2 THEN ?3 ELSE locked_until END
                 RETURNING failures, locked_until",
                params![user, max, lock_until],
                |r| {
                    Ok(LoginFailures {
                        failures: r.get(0)?,
                        locked_until: r.get(1)?,
                    })
                },
            )
            .map_err(be)
        })
        .await
    }

    async fn clear_login_failures(&self, user: &str) -> StoreResult<()> {
        let user = user.to_string();
        self.run(move |c| {
            c.execute(&lite(sql::CLEAR_LOGIN_FAILURES), [&user])
                .map_err(be)?;
            Ok(())
        })
        .await
    }

    async fn add_session(&self, s: &OfficeSession) -> StoreResult<()> {
        let s = s.clone();
        self.run(move |c| {
            c.execute(
                &lite(sql::ADD_SESSION),
                params![s.token_hash, s.person_id, s.csrf, s.created_at, s.last_used],
            )
            .map_err(be)?;
            Ok(())
        })
        .await
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<OfficeSession>> {
        let h = token_hash.to_string();
        self.run(move |c| {
            c.query_row(&lite(sql::SESSION), [&h], |r| {
                Ok(OfficeSession {
                    token_hash: r.get(0)?,
                    person_id: r.get(1)?,
                    csrf: r.get(2)?,
                    created_at: r.get(3)?,
                    last_used: r.get(4)?,
                })
            })
            .optional()
            .map_err(be)
        })
        .await
    }

    async fn touch_session(&self, token_hash: &str, now: i64) -> StoreResult<()> {
        let h = token_hash.to_string();
        self.run(move |c| {
            c.execute(&lite(sql::TOUCH_SESSION), params![h, now])
                .map_err(be)?;
            Ok(())
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        let h = token_hash.to_string();
        self.run(move |c| {
            c.execute(&lite(sql::DELETE_SESSION), [&h]).map_err(be)?;
            Ok(())
        })
        .await
    }

    async fn prune_sessions(&self, before: i64) -> StoreResult<()> {
        self.run(move |c| {
            c.execute(&lite(sql::PRUNE_SESSIONS), [before])
                .map_err(be)?;
            Ok(())
        })
        .await
    }

    async fn projections(&self, q: &ProjQuery) -> StoreResult<Vec<ProjRow>> {
        let q = q.clone();
        self.run(move |c| {
            let mut sql = lite(sql::PROJECTIONS).into_owned();
            let mut args: Vec<String> = vec![q.kind.clone()];
            let villages = q
                .villages
                .as_ref()
                .map(|v| serde_json::json!(v).to_string());
            for (cond, v) in [
                ("village = ?", &q.village),
                ("village IN (SELECT value FROM json_each(?", &villages),
                ("date >= ?", &q.from),
                ("date < ?", &q.to),
            ] {
                if let Some(v) = v {
                    args.push(v.clone());
                    let close = if cond.ends_with("json_each(?") {
                        "))"
                    } else {
                        ""
                    };
                    sql.push_str(&format!(" AND {cond}{}{close}", args.len()));
                }
            }
            if let Some(n) = q.limit {
                sql.push_str(&format!(" ORDER BY date DESC, id DESC LIMIT {n}"));
            }
            let mut st = c.prepare_cached(&sql).map_err(be)?;
            let rows = st
                .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                    Ok(ProjRow {
                        id: r.get(0)?,
                        village: r.get(1)?,
                        title: r.get(2)?,
                        date: r.get(3)?,
                        sub_kind: r.get(4)?,
                        status: r.get(5)?,
                        detail: r.get(6)?,
                    })
                })
                .map_err(be)?;
            rows.collect::<Result<_, _>>().map_err(be)
        })
        .await
    }

    async fn activity_counts(
        &self,
        villages: &[String],
        from: &str,
        to: &str,
        by_kind: bool,
    ) -> StoreResult<Vec<ActivityCount>> {
        let (from, to) = (from.to_string(), to.to_string());
        let villages = serde_json::json!(villages).to_string();
        self.run(move |c| {
            let sql = if by_kind {
                "SELECT village, substr(date, 1, 7), sub_kind, count(*) FROM projections
                 WHERE kind = 'activity' AND date >= ?1 AND date < ?2
                   AND village IN (SELECT value FROM json_each(?3)) GROUP BY 1, 2, 3"
            } else {
                "SELECT village, substr(date, 1, 7), NULL, count(*) FROM projections
                 WHERE kind = 'activity' AND date >= ?1 AND date < ?2
                   AND village IN (SELECT value FROM json_each(?3)) GROUP BY 1, 2"
            };
            let mut st = c.prepare_cached(sql).map_err(be)?;
            let rows = st
                .query_map([&from, &to, &villages], |r| {
                    Ok(ActivityCount {
                        village: r.get(0)?,
                        month: r.get(1)?,
                        sub_kind: r.get(2)?,
                        n: r.get::<_, i64>(3)?.max(0) as u64,
                    })
                })
                .map_err(be)?;
            rows.collect::<Result<_, _>>().map_err(be)
        })
        .await
    }

    async fn record_reach(
        &self,
        kind: &str,
        scope_paths: &[String],
    ) -> StoreResult<Vec<(String, String)>> {
        // CROSS JOIN keeps SQLite from scanning record_units (a row per record and unit).
        let kind = kind.to_string();
        let scope = serde_json::json!(scope_paths).to_string();
        self.run(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT ru.record_id, ru.path FROM projections p
                     CROSS JOIN record_units ru ON ru.record_id = p.id WHERE p.kind = ?1
                     AND EXISTS (SELECT 1 FROM json_each(?2) s
                       WHERE substr(ru.path, 1, length(s.value)) = s.value)",
                )
                .map_err(be)?;
            let rows = st
                .query_map([&kind, &scope], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(be)?;
            rows.collect::<Result<_, _>>().map_err(be)
        })
        .await
    }
}
