//! The PostgreSQL backend, for several server processes on one database. The change log's
//! `seq` comes from a sequence; every push takes a transaction-scoped advisory lock before
//! writing, so sequence order equals commit order and a device that pulled up to `seq` can
//! never miss a change committed later with a smaller number.

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::*;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_blobs.sql"),
    include_str!("../../migrations/postgres/0003_office.sql"),
    include_str!("../../migrations/postgres/0004_synced_to.sql"),
    include_str!("../../migrations/postgres/0005_change_reach.sql"),
    include_str!("../../migrations/postgres/0006_change_receipts.sql"),
];
/// Advisory lock keys.
const LOCK_LOG: i64 = 0x007a_6875_6375_6e01;
const LOCK_MIGRATE: i64 = 0x007a_6875_6375_6e02;

pub struct PgStore {
    pool: Pool,
}

fn be<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl PgStore {
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        let cfg: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::BadUrl(format!("{url}: {e}")))?;
        let mgr = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr).max_size(16).build().map_err(be)?;
        Ok(PgStore { pool })
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(be)
    }
}

async fn person_units(
    c: &impl deadpool_postgres::GenericClient,
    id: &str,
) -> StoreResult<Vec<String>> {
    let rows = c.query(sql::PERSON_UNIT_IDS, &[&id]).await.map_err(be)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

#[async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(be)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_MIGRATE])
            .await
            .map_err(be)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)",
        )
        .await
        .map_err(be)?;
        let v: Option<i32> = tx
            .query_one("SELECT max(version) FROM schema_migrations", &[])
            .await
            .map_err(be)?
            .get(0);
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(v.unwrap_or(0) as usize) {
            tx.batch_execute(sql).await.map_err(be)?;
            tx.execute(
                "INSERT INTO schema_migrations(version) VALUES ($1)",
                &[&((i + 1) as i32)],
            )
            .await
            .map_err(be)?;
        }
        tx.commit().await.map_err(be)
    }

    async fn ping(&self) -> StoreResult<()> {
        self.client()
            .await?
            .query_one(sql::PING, &[])
            .await
            .map_err(be)?;
        Ok(())
    }

    async fn add_unit(
        &self,
        id: &str,
        name: &str,
        kind: &str,
        parent: Option<&str>,
    ) -> StoreResult<OrgUnit> {
        let c = self.client().await?;
        let ppath: Option<String> = match parent {
            None => None,
            Some(p) => Some(
                c.query_opt(sql::UNIT_PATH, &[&p])
                    .await
                    .map_err(be)?
                    .ok_or_else(|| StoreError::NotFound(format!("unit {p}")))?
                    .get(0),
            ),
        };
        let path = child_path(ppath.as_deref(), id);
        let n = c
            .execute(
                "INSERT INTO org_units(id, name, kind, parent, path) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
                &[&id, &name, &kind, &parent, &path],
            )
            .await
            .map_err(be)?;
        if n == 0 {
            return Err(StoreError::Duplicate(format!("unit {id}")));
        }
        Ok(OrgUnit {
            id: id.into(),
            name: name.into(),
            kind: kind.into(),
            parent: parent.map(str::to_string),
            path,
        })
    }

    async fn units(&self) -> StoreResult<Vec<OrgUnit>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, name, kind, parent, path FROM org_units ORDER BY path COLLATE \"C\"",
                &[],
            )
            .await
            .map_err(be)?;
        Ok(rows
            .iter()
            .map(|r| OrgUnit {
                id: r.get(0),
                name: r.get(1),
                kind: r.get(2),
                parent: r.get(3),
                path: r.get(4),
            })
            .collect())
    }

    async fn add_person(&self, p: &NewPerson) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(be)?;
        let n = tx
            .execute(
                "INSERT INTO people(id, name, role, password_hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&p.id, &p.name, &p.role, &p.password_hash],
            )
            .await
            .map_err(be)?;
        if n == 0 {
            return Err(StoreError::Duplicate(format!("person {}", p.id)));
        }
        for u in &p.units {
            if tx
                .query_opt(sql::UNIT_EXISTS, &[u])
                .await
                .map_err(be)?
                .is_none()
            {
                return Err(StoreError::NotFound(format!("unit {u}")));
            }
            tx.execute(sql::ADD_PERSON_UNIT, &[&p.id, u])
                .await
                .map_err(be)?;
        }
        tx.commit().await.map_err(be)
    }

    async fn person(&self, id: &str) -> StoreResult<Option<Person>> {
        let c = self.client().await?;
        let Some(r) = c
            .query_opt(sql::PERSON_NAME_ROLE, &[&id])
            .await
            .map_err(be)?
        else {
            return Ok(None);
        };
        Ok(Some(Person {
            id: id.into(),
            name: r.get(0),
            role: r.get(1),
            units: person_units(&c, id).await?,
        }))
    }

    async fn add_code(&self, code_hash: &str, person_id: &str, expires_at: i64) -> StoreResult<()> {
        self.client()
            .await?
            .execute(sql::ADD_CODE, &[&code_hash, &person_id, &expires_at])
            .await
            .map_err(be)?;
        Ok(())
    }

    async fn redeem_code(&self, code_hash: &str, now: i64, d: &NewDevice) -> StoreResult<Person> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(be)?;
        let row = tx
            .query_opt(
                "SELECT person_id, expires_at, used_at FROM enrolment_codes WHERE code_hash = $1 FOR UPDATE",
                &[&code_hash],
            )
            .await
            .map_err(be)?
            .ok_or(StoreError::CodeInvalid)?;
        let (person_id, expires, used): (String, i64, Option<i64>) =
            (row.get(0), row.get(1), row.get(2));
        if used.is_some() {
            return Err(StoreError::CodeUsed);
        }
        if expires < now {
            return Err(StoreError::CodeExpired);
        }
        tx.execute(sql::USE_CODE, &[&code_hash, &now])
            .await
            .map_err(be)?;
        tx.execute(
            sql::ADD_DEVICE,
            &[&d.id, &person_id, &d.name, &d.token_hash, &d.created_at],
        )
        .await
        .map_err(be)?;
        let p = tx
            .query_one(sql::PERSON_NAME_ROLE, &[&person_id])
            .await
            .map_err(be)?;
        let units = person_units(&tx, &person_id).await?;
        tx.commit().await.map_err(be)?;
        Ok(Person {
            id: person_id,
            name: p.get(0),
            role: p.get(1),
            units,
        })
    }

    async fn device_by_token(&self, token_hash: &str) -> StoreResult<Option<DeviceAuth>> {
        let c = self.client().await?;
        let Some(r) = c
            .query_opt(sql::DEVICE_BY_TOKEN, &[&token_hash])
            .await
            .map_err(be)?
        else {
            return Ok(None);
        };
        let person_id: String = r.get(1);
        let paths = c
            .query(sql::PERSON_UNIT_PATHS, &[&person_id])
            .await
            .map_err(be)?;
        Ok(Some(DeviceAuth {
            device_id: r.get(0),
            person_id,
            role: r.get(2),
            revoked: r.get::<_, Option<i64>>(3).is_some(),
            scope_paths: paths.iter().map(|p| p.get(0)).collect(),
            synced_to: r.get::<_, i64>(4).max(0) as u64,
        }))
    }

    async fn touch_device(&self, device_id: &str, now: i64, synced_to: u64) -> StoreResult<()> {
        let synced_to = synced_to.min(i64::MAX as u64) as i64;
        self.client()
            .await?
            .execute(sql::TOUCH_DEVICE, &[&device_id, &now, &synced_to])
            .await
            .map_err(be)?;
        Ok(())
    }

    async fn devices(&self) -> StoreResult<Vec<DeviceInfo>> {
        let rows = self
            .client()
            .await?
            .query(sql::DEVICES, &[])
            .await
            .map_err(be)?;
        Ok(rows
            .iter()
            .map(|r| DeviceInfo {
                id: r.get(0),
                name: r.get(1),
                person_id: r.get(2),
                created_at: r.get(3),
                last_seen: r.get(4),
                revoked_at: r.get(5),
            })
            .collect())
    }

    async fn revoke_device(&self, id: &str, now: i64) -> StoreResult<bool> {
        let n = self
            .client()
            .await?
            .execute(sql::REVOKE_DEVICE, &[&id, &now])
            .await
            .map_err(be)?;
        Ok(n > 0)
    }

    async fn load_docs(&self, ids: &[String]) -> StoreResult<Vec<StoredDoc>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, kind, village, heads, bytes FROM docs WHERE id = ANY($1)",
                &[&ids],
            )
            .await
            .map_err(be)?;
        Ok(rows
            .iter()
            .map(|r| StoredDoc {
                id: r.get(0),
                kind: r.get(1),
                village: r.get(2),
                heads: r.get(3),
                bytes: r.get(4),
            })
            .collect())
    }

    async fn commit(&self, origin: &str, writes: &[RecordWrite]) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(be)?;
        // One writer of the log at a time across every server process: see the module doc.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_LOG])
            .await
            .map_err(be)?;
        for w in writes {
            let cur: Option<String> = tx
                .query_opt(sql::DOC_HEADS, &[&w.id])
                .await
                .map_err(be)?
                .map(|r| r.get(0));
            if cur != w.expected_heads {
                return Err(StoreError::Conflict(w.id.clone()));
            }
            tx.execute(
                sql::PUT_DOC,
                &[&w.id, &w.kind, &w.village, &w.heads, &w.bytes],
            )
            .await
            .map_err(be)?;
            for entry in &w.log {
                if w.left_paths.is_empty() {
                    tx.execute(sql::ADD_CHANGE, &[&w.id, &origin, entry])
                        .await
                        .map_err(be)?;
                    continue;
                }
                let seq: i64 = tx
                    .query_one(sql::ADD_CHANGE_SEQ, &[&w.id, &origin, entry])
                    .await
                    .map_err(be)?
                    .get(0);
                for p in &w.left_paths {
                    tx.execute(sql::ADD_CHANGE_REACH, &[&seq, p])
                        .await
                        .map_err(be)?;
                }
            }
            for r in &w.receipts {
                tx.execute(
                    sql::ADD_RECEIPT,
                    &[
                        &r.hash,
                        &w.id,
                        &origin,
                        &r.person_id,
                        &r.received_at,
                        &r.relayed,
                    ],
                )
                .await
                .map_err(be)?;
            }
            tx.execute(sql::CLEAR_RECORD_UNITS, &[&w.id])
                .await
                .map_err(be)?;
            for p in &w.unit_paths {
                tx.execute(
                    "INSERT INTO record_units(record_id, path) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&w.id, p],
                )
                .await
                .map_err(be)?;
            }
            tx.execute(sql::CLEAR_RECORD_BLOBS, &[&w.id])
                .await
                .map_err(be)?;
            for h in &w.blobs {
                tx.execute(
                    "INSERT INTO record_blobs(record_id, hash) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[&w.id, h],
                )
                .await
                .map_err(be)?;
            }
            let pr = &w.projection;
            tx.execute(
                sql::PUT_PROJECTION,
                &[
                    &w.id,
                    &w.kind,
                    &w.village,
                    &pr.title,
                    &pr.date,
                    &pr.sub_kind,
                    &pr.status,
                    &pr.detail,
                ],
            )
            .await
            .map_err(be)?;
        }
        tx.commit().await.map_err(be)
    }

    async fn receipts(&self, record_id: &str) -> StoreResult<Vec<ChangeReceipt>> {
        let c = self.client().await?;
        Ok(c.query(sql::RECEIPTS, &[&record_id])
            .await
            .map_err(be)?
            .iter()
            .map(|r| ChangeReceipt {
                hash: r.get(0),
                device_id: r.get(1),
                person_id: r.get(2),
                received_at: r.get(3),
                relayed: r.get(4),
                device_name: r.get(5),
                person_name: r.get(6),
            })
            .collect())
    }

    async fn pull(
        &self,
        scope_paths: &[String],
        after: u64,
        own: Own<'_>,
        max_bytes: usize,
    ) -> StoreResult<PullPage> {
        if scope_paths.is_empty() {
            return Ok(PullPage {
                entries: Vec::new(),
                cursor: after,
                more: false,
            });
        }
        let after_i = after as i64;
        let rows = self
            .client()
            .await?
            .query(
                // One statement, one snapshot: the log's last sequence comes with the page (a
                // row with NULLs when nothing is in scope). Sequence order is commit order
                // (the advisory lock in `commit`), so the snapshot holds a prefix of the log.
                "WITH top AS (SELECT coalesce(max(seq), 0)::bigint AS m FROM changes)
                 SELECT c.seq, c.record_id, c.bytes, c.origin, top.m FROM top
                 LEFT JOIN LATERAL (
                   SELECT c.seq, c.record_id, c.bytes, c.origin FROM changes c
                   WHERE c.seq > $1 AND (EXISTS (SELECT 1 FROM record_units ru, unnest($2::text[]) AS s(p)
                     WHERE ru.record_id = c.record_id AND starts_with(ru.path, s.p))
                   OR EXISTS (SELECT 1 FROM change_reach cr, unnest($2::text[]) AS s(p)
                     WHERE cr.seq = c.seq AND starts_with(cr.path, s.p)))
                   ORDER BY c.seq LIMIT $3) c ON true
                 ORDER BY c.seq",
                &[&after_i, &scope_paths, &(paging::PULL_ROWS as i64)],
            )
            .await
            .map_err(be)?;
        let top: i64 = rows.first().map(|r| r.get(4)).unwrap_or(0);
        let mut pager = paging::Pager::new(after, own, max_bytes);
        for r in &rows {
            let Some(seq) = r.get::<_, Option<i64>>(0) else {
                continue;
            };
            let origin: String = r.get(3);
            if !pager.offer(seq as u64, r.get(1), r.get(2), &origin) {
                break;
            }
        }
        pager.finish(|| Ok(top.max(0) as u64))
    }

    async fn max_seq(&self) -> StoreResult<u64> {
        let r = self
            .client()
            .await?
            .query_one(sql::LOG_END, &[])
            .await
            .map_err(be)?;
        Ok(r.get::<_, Option<i64>>(0).unwrap_or(0) as u64)
    }

    async fn doc_ids(&self) -> StoreResult<Vec<String>> {
        let rows = self
            .client()
            .await?
            .query("SELECT id FROM docs ORDER BY id COLLATE \"C\"", &[])
            .await
            .map_err(be)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn backup_into(&self, _dest: &std::path::Path) -> StoreResult<()> {
        Err(StoreError::Unsupported(
            "a PostgreSQL database is backed up with its own tools: \
             pg_dump --format=custom --file=FILE DBNAME (restore: createdb NEW && \
             pg_restore --dbname=NEW FILE); the attachment directory is copied beside it \
             with `zhucun-server admin backup --attachments-only FILE` after the dump"
                .into(),
        ))
    }

    async fn check(&self) -> StoreResult<Vec<String>> {
        // PostgreSQL checksums and WAL-replays its own pages; the rules of our commits are
        // checked here in one snapshot.
        let mut c = self.client().await?;
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(be)?;
        let mut problems = Vec::new();
        for (sql, what) in crate::store::CONSISTENCY_CHECKS {
            let n: i64 = tx.query_one(*sql, &[]).await.map_err(be)?.get(0);
            if n > 0 {
                problems.push(format!("{n} {what}"));
            }
        }
        tx.commit().await.map_err(be)?;
        Ok(problems)
    }

    async fn blob_visible(&self, hash: &str, scope_paths: &[String]) -> StoreResult<bool> {
        let rows = self
            .client()
            .await?
            .query(sql::BLOB_REACH, &[&hash])
            .await
            .map_err(be)?;
        Ok(rows
            .iter()
            .any(|r| in_scope(&r.get::<_, String>(0), scope_paths)))
    }

    async fn referenced_blobs(&self, hashes: &[String]) -> StoreResult<HashSet<String>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT DISTINCT hash FROM record_blobs WHERE hash = ANY($1)",
                &[&hashes],
            )
            .await
            .map_err(be)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn entry(&self, seq: u64) -> StoreResult<Option<Vec<u8>>> {
        let seq = seq as i64;
        Ok(self
            .client()
            .await?
            .query_opt(sql::LOG_ENTRY, &[&seq])
            .await
            .map_err(be)?
            .map(|r| r.get(0)))
    }

    async fn people(&self) -> StoreResult<Vec<PersonInfo>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT p.id, p.name, p.role, p.password_hash IS NOT NULL,
                        coalesce(array_agg(pu.unit_id ORDER BY pu.unit_id) FILTER (WHERE pu.unit_id IS NOT NULL), '{}')
                 FROM people p LEFT JOIN person_units pu ON pu.person_id = p.id
                 GROUP BY p.id ORDER BY p.id",
                &[],
            )
            .await
            .map_err(be)?;
        Ok(rows
            .iter()
            .map(|r| PersonInfo {
                id: r.get(0),
                name: r.get(1),
                role: r.get(2),
                has_login: r.get(3),
                units: r.get(4),
            })
            .collect())
    }

    async fn password_hash(&self, person_id: &str) -> StoreResult<Option<String>> {
        let row = self
            .client()
            .await?
            .query_opt(sql::PASSWORD_HASH, &[&person_id])
            .await
            .map_err(be)?;
        Ok(row.and_then(|r| r.get(0)))
    }

    async fn login_failures(&self, user: &str) -> StoreResult<LoginFailures> {
        let row = self
            .client()
            .await?
            .query_opt(sql::LOGIN_FAILURES, &[&user])
            .await
            .map_err(be)?;
        Ok(row
            .map(|r| LoginFailures {
                failures: r.get::<_, i32>(0).max(0) as u32,
                locked_until: r.get(1),
            })
            .unwrap_or_default())
    }

    async fn add_login_failure(
        &self,
        user: &str,
        max: u32,
        lock_until: i64,
    ) -> StoreResult<LoginFailures> {
        let max = i32::try_from(max).unwrap_or(i32::MAX);
        let row = self
            .client()
            .await?
            .query_one(
                "INSERT INTO login_failures AS f (user_id, failures, locked_until) VALUES ($1, 1, NULL)
                 ON CONFLICT (user_id) DO UPDATE SET
                   failures = CASE WHEN f.failures + 1 >= $2 THEN 0 ELSE f.failures + 1 END,
                   locked_until = CASE WHEN f.failures + 1 >= $2 THEN $3 ELSE f.locked_until END
                 RETURNING failures, locked_until",
                &[&user, &max, &lock_until],
            )
            .await
            .map_err(be)?;
        Ok(LoginFailures {
            failures: row.get::<_, i32>(0).max(0) as u32,
            locked_until: row.get(1),
        })
    }

    async fn clear_login_failures(&self, user: &str) -> StoreResult<()> {
        self.client()
            .await?
            .execute(sql::CLEAR_LOGIN_FAILURES, &[&user])
            .await
            .map_err(be)?;
        Ok(())
    }

    async fn add_session(&self, s: &OfficeSession) -> StoreResult<()> {
        self.client()
            .await?
            .execute(
                sql::ADD_SESSION,
                &[
                    &s.token_hash,
                    &s.person_id,
                    &s.csrf,
                    &s.created_at,
                    &s.last_used,
                ],
            )
            .await
            .map_err(be)?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<OfficeSession>> {
        let row = self
            .client()
            .await?
            .query_opt(sql::SESSION, &[&token_hash])
            .await
            .map_err(be)?;
        Ok(row.map(|r| OfficeSession {
            token_hash: r.get(0),
            person_id: r.get(1),
            csrf: r.get(2),
            created_at: r.get(3),
            last_used: r.get(4),
        }))
    }

    async fn touch_session(&self, token_hash: &str, now: i64) -> StoreResult<()> {
        self.client()
            .await?
            .execute(sql::TOUCH_SESSION, &[&token_hash, &now])
            .await
            .map_err(be)?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        self.client()
            .await?
            .execute(sql::DELETE_SESSION, &[&token_hash])
            .await
            .map_err(be)?;
        Ok(())
    }

    async fn prune_sessions(&self, before: i64) -> StoreResult<()> {
        self.client()
            .await?
            .execute(sql::PRUNE_SESSIONS, &[&before])
            .await
            .map_err(be)?;
        Ok(())
    }

    async fn projections(&self, q: &ProjQuery) -> StoreResult<Vec<ProjRow>> {
        let mut sql = String::from(sql::PROJECTIONS);
        let mut args: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&q.kind];
        for (cond, v) in [
            ("village = $", &q.village),
            ("date >= $", &q.from),
            ("date < $", &q.to),
        ] {
            if let Some(v) = v {
                args.push(v);
                sql.push_str(&format!(" AND {cond}{}", args.len()));
            }
        }
        if let Some(v) = &q.villages {
            args.push(v);
            sql.push_str(&format!(" AND village = ANY(${})", args.len()));
        }
        if let Some(n) = q.limit {
            sql.push_str(&format!(
                " ORDER BY date DESC NULLS LAST, id DESC LIMIT {n}"
            ));
        }
        let rows = self.client().await?.query(&sql, &args).await.map_err(be)?;
        Ok(rows
            .iter()
            .map(|r| ProjRow {
                id: r.get(0),
                village: r.get(1),
                title: r.get(2),
                date: r.get(3),
                sub_kind: r.get(4),
                status: r.get(5),
                detail: r.get(6),
            })
            .collect())
    }

    async fn activity_counts(
        &self,
        villages: &[String],
        from: &str,
        to: &str,
        by_kind: bool,
    ) -> StoreResult<Vec<ActivityCount>> {
        let sql = if by_kind {
            "SELECT village, substr(date, 1, 7), sub_kind, count(*) FROM projections
             WHERE kind = 'activity' AND date >= $1 AND date < $2 AND village = ANY($3)
             GROUP BY 1, 2, 3"
        } else {
            "SELECT village, substr(date, 1, 7), NULL::text, count(*) FROM projections
             WHERE kind = 'activity' AND date >= $1 AND date < $2 AND village = ANY($3)
             GROUP BY 1, 2"
        };
        let rows = self
            .client()
            .await?
            .query(sql, &[&from, &to, &villages])
            .await
            .map_err(be)?;
        Ok(rows
            .iter()
            .map(|r| ActivityCount {
                village: r.get(0),
                month: r.get(1),
                sub_kind: r.get(2),
                n: r.get::<_, i64>(3).max(0) as u64,
            })
            .collect())
    }

    async fn record_reach(
        &self,
        kind: &str,
        scope_paths: &[String],
    ) -> StoreResult<Vec<(String, String)>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT ru.record_id, ru.path FROM projections p
                 JOIN record_units ru ON ru.record_id = p.id WHERE p.kind = $1
                 AND EXISTS (SELECT 1 FROM unnest($2::text[]) AS s(p) WHERE starts_with(ru.path, s.p))",
                &[&kind, &scope_paths],
            )
            .await
            .map_err(be)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
