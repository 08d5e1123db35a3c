//! The schema, applied at start on both databases. Each migration runs once, in order, in a
//! transaction; on PostgreSQL an advisory lock keeps nodes that start together from racing.

use sqlx::{AnyPool, Row};

use super::dialect::Backend;
use crate::Result;

/// Migrations in order. `{key}` stands for the key column type of the backend.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE tenants (
    id {key} PRIMARY KEY,
    revision BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE objects (
    tenant {key} NOT NULL,
    kind TEXT NOT NULL,
    key {key} NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, kind, key)
);
CREATE TABLE object_refs (
    tenant {key} NOT NULL,
    target {key} NOT NULL,
    kind TEXT NOT NULL,
    key {key} NOT NULL,
    field TEXT NOT NULL,
    cascade_delete BIGINT NOT NULL,
    PRIMARY KEY (tenant, target, kind, key, field)
);
CREATE INDEX object_refs_holder ON object_refs (tenant, kind, key);
CREATE TABLE changes (
    tenant {key} NOT NULL,
    revision BIGINT NOT NULL,
    at BIGINT NOT NULL,
    ops TEXT NOT NULL,
    PRIMARY KEY (tenant, revision)
);
CREATE TABLE audit_events (
    tenant {key} NOT NULL,
    revision BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    request_id TEXT NOT NULL,
    client_addr TEXT,
    detail TEXT,
    PRIMARY KEY (tenant, revision)
);
CREATE INDEX audit_events_at ON audit_events (tenant, at);
CREATE INDEX audit_events_actor ON audit_events (tenant, actor, revision);
CREATE INDEX audit_events_target ON audit_events (tenant, target, revision);
CREATE TABLE tokens (
    id {key} PRIMARY KEY,
    tenant {key} NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    name TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX tokens_tenant ON tokens (tenant, id);
"#,
    r#"
ALTER TABLE tokens ADD COLUMN signing_key TEXT;
"#,
    r#"
CREATE TABLE nodes (
    id {key} PRIMARY KEY,
    address TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    applied TEXT NOT NULL
);
CREATE TABLE rate_windows (
    key {key} PRIMARY KEY,
    started_at BIGINT NOT NULL,
    count BIGINT NOT NULL
);
"#,
    r#"
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
ALTER TABLE tenants ADD COLUMN audit_floor BIGINT NOT NULL DEFAULT 1;
"#,
    // A tenant deleted and created again is another incarnation of its id: nodes compare
    // it so that an index of the deleted one is never taken for the new one's.
    r#"
ALTER TABLE tenants ADD COLUMN incarnation BIGINT NOT NULL DEFAULT 0;
"#,
    // Work one node does at a time (a data source's sync passes), held until it expires.
    r#"
CREATE TABLE leases (
    name {key} PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
"#,
    // The tenant's last audit event (its revision and hash), kept with the revision so that
    // a write learns the hash it chains to from the statement that locks the tenant. A
    // writer that does not keep it (an older node) leaves it behind the revision, and it is
    // then read from the events instead.
    r#"
ALTER TABLE tenants ADD COLUMN audit_head_revision BIGINT;
ALTER TABLE tenants ADD COLUMN audit_head_hash TEXT;
"#,
];

pub async fn run(pool: &AnyPool, backend: Backend) -> Result<()> {
    let mut tx = pool.begin().await?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(727271)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .execute(&mut *tx)
        .await?;
    let applied: i64 = sqlx::query("SELECT COUNT(*) AS n FROM schema_version")
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    for (index, migration) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= applied {
            continue;
        }
        let sql = migration.replace("{key}", backend.key_type());
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tracing::info!(version, backend = backend.name(), "applied migration");
    }
    tx.commit().await?;
    Ok(())
}
