//! The few places where SQLite and PostgreSQL differ. Every statement is written once in a
//! form both accept (`$n` parameters, `ON CONFLICT`, `RETURNING`); what cannot be is here.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::{Result, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Unavailable(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://..."
            )))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The column type of keys: PostgreSQL must compare bytes, as SQLite does, so that key
    /// order and prefix ranges agree on both.
    pub fn key_type(self) -> &'static str {
        match self {
            Backend::Sqlite => "TEXT",
            Backend::Postgres => "TEXT COLLATE \"C\"",
        }
    }

    pub fn options(self, url: &str) -> Result<AnyConnectOptions> {
        sqlx::any::install_default_drivers();
        AnyConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad database URL: {e}")))
    }

    /// How a read that must see one snapshot begins. SQLite's deferred transaction (in WAL
    /// mode) sees the database as of its first read; PostgreSQL needs REPEATABLE READ for
    /// its reads to share one snapshot.
    pub fn begin_snapshot(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }
    }

    pub async fn connect(self, url: &str) -> Result<AnyPool> {
        let options = self.options(url)?;
        let pool = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(5));
        let pool = match self {
            // WAL lets readers run beside the one writer; FULL makes every commit durable
            // before it is acknowledged; the busy timeout covers a second process (the CLI).
            Backend::Sqlite => pool.max_connections(4).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            // A large value (an import's change record) is compressed with lz4 where the
            // server has it: pglz, the default, takes seconds over a few hundred megabytes.
            Backend::Postgres => pool.max_connections(16).after_connect(|conn, _| {
                Box::pin(async move {
                    let lz4 = conn.execute("SET default_toast_compression = 'lz4'").await;
                    if let Err(error) = lz4 {
                        tracing::debug!(%error, "large values stay compressed with pglz");
                    }
                    Ok(())
                })
            }),
        };
        Ok(pool.connect_with(options).await?)
    }
}

/// Serialises writers where the database cannot. PostgreSQL writers queue on the tenant
/// row's lock instead; SQLite has one writer per file, so this process keeps a queue and
/// never meets SQLITE_BUSY between its own transactions.
#[derive(Clone)]
pub struct WriterGate(Option<Arc<Mutex<()>>>);

impl WriterGate {
    pub fn for_backend(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => WriterGate(Some(Arc::new(Mutex::new(())))),
            Backend::Postgres => WriterGate(None),
        }
    }

    pub async fn enter(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.0 {
            Some(mutex) => Some(mutex.clone().lock_owned().await),
            None => None,
        }
    }
}
