//! The SQL store: one implementation for SQLite and PostgreSQL over sqlx's `Any` driver.
//!
//! Every statement is written once, in SQL both databases accept, so the two backends cannot
//! drift apart; `dialect` holds the few differences (connection set-up, key collation, how
//! writers are serialised). The conformance suite runs every behaviour against both.

mod audit;
mod backup;
mod behind;
mod cluster;
mod dialect;
mod group;
mod health;
mod migrations;
mod owned_tx;
mod rows;
mod tx;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use sqlx::{AnyPool, Row};

use crate::{
    Announcement, AuditFilter, AuditRecord, ChangeRecord, ListQuery, ReadTx, RefHolder, Result,
    ScanPosition, Store, StoreError, StoredObject, TenantHead, TokenRecord, WriteTx,
};
pub use backup::{check_backup, BackupSummary};
pub use dialect::Backend;
use dialect::WriterGate;
use group::{Group, Lanes};
use health::Health;
use owned_tx::OwnedTx;
use rows::TOKEN_COLUMNS;
use tx::{SqlRead, SqlTx, Turn};

pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A statement being bound.
type Statement<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// `($1, $2, ...), (...)`: `rows` rows of `columns` parameters, numbered after `first`.
/// On SQLite, whose driver finds each numbered parameter by a search through all of them,
/// plain `?`s bound in order: a statement of hundreds of parameters then binds in linear
/// time (there `first` must be 0 and each parameter bound once).
fn placeholders(backend: Backend, first: usize, rows: usize, columns: usize) -> String {
    // Written into one string: an import's statements hold thousands of places each.
    let mut places = String::with_capacity(rows * columns * 7);
    for row in 0..rows {
        places.push_str(if row == 0 { "(" } else { ", (" });
        for column in 1..=columns {
            if column > 1 {
                places.push_str(", ");
            }
            match backend {
                Backend::Sqlite => places.push('?'),
                Backend::Postgres => {
                    places.push('$');
                    places.push_str(&(first + row * columns + column).to_string());
                }
            }
        }
        places.push(')');
    }
    places
}

/// A LIKE pattern (with `\\` as its escape) matching any text that contains `text`, ASCII
/// case ignored (compared with the column's LOWER).
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c.to_ascii_lowercase());
    }
    pattern.push('%');
    pattern
}

/// Records how long a store operation took, for `/metrics`.
fn observe(op: &'static str, started: Instant) {
    metrics::histogram!("grantd_store_seconds", "op" => op).record(started.elapsed().as_secs_f64());
}

pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    gate: WriterGate,
    /// Kept to open PostgreSQL's notification listener, which needs its own connection.
    url: String,
    /// Open while a networked database does not answer: operations are refused at once.
    health: Arc<Health>,
    /// Each tenant's queue of writers and its open group.
    lanes: Lanes,
}

impl SqlStore {
    /// Connects to `url` (`sqlite://PATH` or `postgres://...`) and applies the migrations.
    pub async fn open(url: &str) -> Result<SqlStore> {
        let backend = Backend::from_url(url)?;
        let pool = backend.connect(url).await?;
        migrations::run(&pool, backend).await?;
        let health = Arc::new(Health::default());
        if backend == Backend::Postgres {
            Health::monitor(&health, backend.options(url)?);
        }
        Ok(SqlStore {
            pool,
            backend,
            gate: WriterGate::for_backend(backend),
            url: url.to_string(),
            health,
            lanes: Lanes::default(),
        })
    }

    /// The pool, unless the database is known to be unreachable.
    fn pool(&self) -> Result<&AnyPool> {
        self.health.check()?;
        Ok(&self.pool)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a write on the tenant: joins the tenant's open group if there is one that
    /// takes joiners, else begins a transaction and leads a new group (`group`), which no
    /// one joins if `alone`.
    async fn start(&self, tenant: &str, create: bool, alone: bool) -> Result<Box<dyn WriteTx>> {
        let started = Instant::now();
        let lane = self.lanes.of(tenant);
        let mut guard = loop {
            let guard = lane.clone().lock_owned().await;
            let closed = match guard.as_ref() {
                Some(_) if create => return Err(StoreError::AlreadyExists),
                Some(group) if alone || !group.open_to_joiners() => Some(group.outcome()),
                _ => None,
            };
            match closed {
                // Holding the lane, no writer of the group is at work: its commit waits
                // for the lane. Wait for its end (its writers learn how it went).
                Some(outcome) => {
                    drop(guard);
                    let _ = group::committed(outcome).await;
                }
                None => break guard,
            }
        };
        let now = now_millis();
        if let Some(group) = guard.as_mut() {
            group.open_savepoint().await?;
            let revision = group.next_revision();
            observe("begin", started);
            return Ok(Box::new(SqlTx {
                turn: Turn {
                    lane,
                    guard: Some(guard),
                    leader: false,
                    away: None,
                },
                tenant: tenant.to_string(),
                revision,
                ops: Default::default(),
                now,
                behind: Default::default(),
            }));
        }
        let gate = self.gate.enter().await;
        // Taking the next revision locks the tenant row until commit: writers of one
        // tenant commit one after another, in revision order. The row as locked holds the
        // hash the first event chains to, if the last writer kept it.
        const NEXT_REVISION: &str = "UPDATE tenants SET revision = revision + 1 WHERE id = $1 \
             RETURNING revision, incarnation, audit_head_revision, audit_head_hash";
        let (mut tx, next) = if create || self.backend == Backend::Postgres {
            (OwnedTx::begin(self.pool()?, gate).await?, None)
        } else {
            // On SQLite, `BEGIN` and the revision in one round trip.
            let sql = format!("BEGIN; {NEXT_REVISION}");
            let statement = sqlx::query(&sql).bind(tenant);
            let (tx, rows) = OwnedTx::begin_fetching(self.pool()?, gate, statement).await?;
            (tx, Some(rows.into_iter().next()))
        };
        // The hash the group's first audit event chains to, when known without a read.
        let mut last_hash = None;
        let (revision, incarnation) = if create {
            let incarnation = rand::random::<i64>() & i64::MAX;
            let created = sqlx::query(
                "INSERT INTO tenants (id, revision, created_at, incarnation) \
                 VALUES ($1, 1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(tenant)
            .bind(now)
            .bind(incarnation)
            .execute(&mut *tx)
            .await?;
            if created.rows_affected() == 0 {
                return Err(StoreError::AlreadyExists);
            }
            last_hash = Some(String::new());
            (1, incarnation)
        } else {
            let row = match next {
                Some(row) => row,
                None => {
                    sqlx::query(NEXT_REVISION)
                        .bind(tenant)
                        .fetch_optional(&mut *tx)
                        .await?
                }
            }
            .ok_or(StoreError::NotFound)?;
            let revision: i64 = row.try_get("revision")?;
            let head: Option<i64> = row.try_get("audit_head_revision")?;
            if head == Some(revision - 1) {
                last_hash = row.try_get("audit_head_hash")?;
            }
            (revision, row.try_get("incarnation")?)
        };
        *guard = Some(Group::new(
            tx,
            tenant,
            incarnation,
            revision,
            last_hash,
            self.backend,
            alone,
        ));
        observe("begin", started);
        Ok(Box::new(SqlTx {
            turn: Turn {
                lane,
                guard: Some(guard),
                leader: true,
                away: None,
            },
            tenant: tenant.to_string(),
            revision,
            ops: Default::default(),
            now,
            behind: Default::default(),
        }))
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.backend.name()
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(self.pool()?).await?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn begin_new_tenant(&self, tenant: &str) -> Result<Box<dyn WriteTx>> {
        self.start(tenant, true, true).await
    }

    #[tracing::instrument(skip(self))]
    async fn begin(&self, tenant: &str) -> Result<Box<dyn WriteTx>> {
        self.start(tenant, false, false).await
    }

    #[tracing::instrument(skip(self))]
    async fn begin_alone(&self, tenant: &str) -> Result<Box<dyn WriteTx>> {
        self.start(tenant, false, true).await
    }

    #[tracing::instrument(skip(self))]
    async fn delete_tenant(&self, tenant: &str) -> Result<()> {
        let mut tx = OwnedTx::begin(self.pool()?, self.gate.enter().await).await?;
        let deleted = sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(tenant)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        for table in [
            "objects",
            "object_refs",
            "changes",
            "audit_events",
            "tokens",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE tenant = $1"))
                .bind(tenant)
                .execute(&mut *tx)
                .await?;
        }
        if self.backend == Backend::Postgres {
            // Other nodes drop the tenant's index and every token of it at once.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(cluster::CHANNEL)
                .bind(cluster::announcement(tenant, None))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn tenant_head(&self, tenant: &str) -> Result<Option<TenantHead>> {
        let row = sqlx::query("SELECT revision, incarnation FROM tenants WHERE id = $1")
            .bind(tenant)
            .fetch_optional(self.pool()?)
            .await?;
        Ok(row.map(|r| rows::tenant_head(&r)).transpose()?)
    }

    async fn tenant_heads(&self) -> Result<Vec<(String, TenantHead)>> {
        let found = sqlx::query("SELECT id, revision, incarnation FROM tenants ORDER BY id")
            .fetch_all(self.pool()?)
            .await?;
        found
            .iter()
            .map(|r| Ok((r.try_get("id")?, rows::tenant_head(r)?)))
            .collect()
    }

    async fn list_tenants(&self, query: &ListQuery) -> Result<Vec<StoredObject>> {
        rows::list_objects(self.pool()?, None, "tenant", query).await
    }

    async fn get(&self, tenant: &str, kind: &str, key: &str) -> Result<Option<StoredObject>> {
        let started = Instant::now();
        let found = rows::get_object(self.pool()?, tenant, kind, key).await;
        observe("get", started);
        found
    }

    async fn begin_read(&self, tenant: &str) -> Result<Box<dyn ReadTx>> {
        let mut tx = OwnedTx::begin_with(self.pool()?, None, self.backend.begin_snapshot()).await?;
        // The first read fixes the snapshot: the revision and every list after it agree.
        let revision: i64 = sqlx::query("SELECT revision FROM tenants WHERE id = $1")
            .bind(tenant)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get("revision")?;
        Ok(Box::new(SqlRead {
            tx,
            tenant: tenant.to_string(),
            revision,
        }))
    }

    async fn list(&self, tenant: &str, kind: &str, query: &ListQuery) -> Result<Vec<StoredObject>> {
        let started = Instant::now();
        let found = rows::list_objects(self.pool()?, Some(tenant), kind, query).await;
        observe("list", started);
        found
    }

    async fn scan_objects(
        &self,
        kinds: &[&str],
        after: Option<&ScanPosition>,
        next_tenant: bool,
        limit: u32,
    ) -> Result<Vec<(String, StoredObject)>> {
        let started = Instant::now();
        let (position, bound): (&str, Vec<&str>) = match (after, next_tenant) {
            (None, _) => ("1 = 1", vec![]),
            (Some(at), true) => ("tenant > $1", vec![&at.tenant]),
            (Some(at), false) => (
                "(tenant, kind, key) > ($1, $2, $3)",
                vec![&at.tenant, &at.kind, &at.key],
            ),
        };
        // The kinds are the caller's constants, bound as parameters all the same.
        let places: Vec<String> = (0..kinds.len())
            .map(|i| format!("${}", bound.len() + i + 1))
            .collect();
        let sql = format!(
            "SELECT tenant, {} FROM objects WHERE {position} AND kind IN ({}) \
             ORDER BY tenant, kind, key LIMIT {}",
            rows::OBJECT_COLUMNS,
            places.join(", "),
            limit
        );
        let mut statement = sqlx::query(&sql);
        for value in bound.into_iter().chain(kinds.iter().copied()) {
            statement = statement.bind(value);
        }
        let found = statement.fetch_all(self.pool()?).await?;
        observe("scan_objects", started);
        found
            .iter()
            .map(|row| Ok((row.try_get("tenant")?, rows::object(row)?)))
            .collect()
    }

    async fn counts(&self, tenant: &str) -> Result<Vec<(String, u64)>> {
        let found = sqlx::query(
            "SELECT kind, COUNT(*) AS n FROM objects WHERE tenant = $1 GROUP BY kind ORDER BY kind",
        )
        .bind(tenant)
        .fetch_all(self.pool()?)
        .await?;
        found
            .iter()
            .map(|row| {
                let n: i64 = row.try_get("n")?;
                Ok((row.try_get("kind")?, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }

    async fn referencing(&self, tenant: &str, target: &str) -> Result<Vec<RefHolder>> {
        rows::referencing(self.pool()?, tenant, target).await
    }

    async fn largest_change(&self, tenant: &str, after: i64, upto: i64) -> Result<u64> {
        // `octet_length` reads a value's size, not the value (PostgreSQL's TOAST header,
        // SQLite's record header).
        let largest: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(octet_length(ops)), 0) FROM changes \
             WHERE tenant = $1 AND revision > $2 AND revision <= $3",
        )
        .bind(tenant)
        .bind(after)
        .bind(upto)
        .fetch_one(self.pool()?)
        .await?;
        Ok(u64::try_from(largest).unwrap_or_default())
    }

    async fn list_changes(
        &self,
        tenant: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChangeRecord>> {
        let started = Instant::now();
        let found = sqlx::query(
            "SELECT revision, at, ops FROM changes WHERE tenant = $1 AND revision > $2 \
             ORDER BY revision LIMIT $3",
        )
        .bind(tenant)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.pool()?)
        .await?;
        observe("list_changes", started);
        found
            .iter()
            .map(|row| {
                let ops: String = row.try_get("ops")?;
                Ok(ChangeRecord {
                    revision: row.try_get("revision")?,
                    at: row.try_get("at")?,
                    ops: serde_json::from_str(&ops)?,
                })
            })
            .collect()
    }

    async fn list_audit(&self, tenant: &str, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        self.audit_page(tenant, filter).await
    }

    async fn audit_floor(&self, tenant: &str) -> Result<Option<i64>> {
        self.floor_of_audit(tenant).await
    }

    async fn prune_audit(&self, tenant: &str, before: i64) -> Result<u64> {
        self.prune_audit_before(tenant, before).await
    }

    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let started = Instant::now();
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1");
        let row = sqlx::query(&sql)
            .bind(hash)
            .fetch_optional(self.pool()?)
            .await?;
        observe("find_token", started);
        row.as_ref().map(rows::token).transpose()
    }

    async fn access_keys_without(&self, prefix: &str) -> Result<Vec<TokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens \
             WHERE signing_key IS NOT NULL AND signing_key NOT LIKE $1"
        );
        // The prefixes asked for hold no LIKE wildcard.
        let rows = sqlx::query(&sql)
            .bind(format!("{prefix}%"))
            .fetch_all(self.pool()?)
            .await?;
        rows.iter().map(rows::token).collect()
    }

    async fn replace_signing_key(&self, id: &str, from: &str, to: &str) -> Result<bool> {
        let done =
            sqlx::query("UPDATE tokens SET signing_key = $1 WHERE id = $2 AND signing_key = $3")
                .bind(to)
                .bind(id)
                .bind(from)
                .execute(self.pool()?)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn find_access_key(&self, tenant: &str, id: &str) -> Result<Option<TokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens \
             WHERE tenant = $1 AND id = $2 AND signing_key IS NOT NULL"
        );
        let row = sqlx::query(&sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(self.pool()?)
            .await?;
        row.as_ref().map(rows::token).transpose()
    }

    async fn list_tokens(&self, tenant: &str, query: &ListQuery) -> Result<Vec<TokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens \
             WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        let found = sqlx::query(&sql)
            .bind(tenant)
            .bind(query.after.clone().unwrap_or_default())
            .bind(i64::from(query.limit))
            .fetch_all(self.pool()?)
            .await?;
        found.iter().map(rows::token).collect()
    }

    async fn heartbeat(&self, node: &crate::NodeRecord) -> Result<()> {
        cluster::heartbeat(self.pool()?, node).await
    }

    async fn list_nodes(&self) -> Result<Vec<crate::NodeRecord>> {
        cluster::list_nodes(self.pool()?).await
    }

    async fn remove_node(&self, id: &str) -> Result<()> {
        cluster::remove_node(self.pool()?, id).await
    }

    async fn rate_hit(&self, key: &str, window_ms: i64, now: i64) -> Result<crate::RateWindow> {
        cluster::rate_hit(self.pool()?, key, window_ms, now).await
    }

    async fn take_lease(&self, name: &str, holder: &str, ttl_ms: i64, now: i64) -> Result<bool> {
        cluster::take_lease(self.pool()?, name, holder, ttl_ms, now).await
    }

    async fn commit_notifications(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<Announcement>>> {
        match self.backend {
            Backend::Postgres => cluster::listen(&self.url).await.map(Some),
            Backend::Sqlite => Ok(None),
        }
    }

    async fn get_setting(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool()?)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    async fn put_setting(&self, name: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(self.pool()?)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_each_row_after_the_first_parameter() {
        assert_eq!(
            placeholders(Backend::Postgres, 3, 2, 2),
            "($4, $5), ($6, $7)"
        );
        assert_eq!(placeholders(Backend::Sqlite, 3, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(placeholders(Backend::Postgres, 0, 1, 1), "($1)");
        assert_eq!(placeholders(Backend::Postgres, 0, 0, 3), "");
    }
}
