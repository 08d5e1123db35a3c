//! Scratch databases for tests (feature `testing`).
//!
//! PostgreSQL tests take the server from `GRANTD_TEST_DATABASE_URL` and create their own
//! uniquely named database in it, so they never touch another run's data. Without that
//! variable they say so and return; under `CI=true` a missing or unreachable PostgreSQL
//! fails the run instead, so CI can never pass by skipping them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{Connection, Row};
use tokio::sync::OnceCell;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!(
        "{now}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A new, empty folder under the system's temporary directory.
pub fn scratch_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("grantd-test-{label}-{}", unique()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The URL of a new SQLite file in a scratch folder.
pub fn scratch_sqlite_url(label: &str) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        scratch_dir(label).join("grantd.db").display()
    )
}

/// A unique string to name tenants and objects in shared databases.
pub fn unique_name(label: &str) -> String {
    format!("{label}-{}", unique())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

static POSTGRES_DB: OnceCell<Option<String>> = OnceCell::const_new();

/// The URL of this test process's own PostgreSQL database, created on first use; `None`
/// (after saying why) when no server is configured outside CI.
pub async fn postgres_url() -> Option<String> {
    POSTGRES_DB.get_or_init(create_postgres_db).await.clone()
}

/// A new PostgreSQL database of its own (for a test whose nodes must not meet those of
/// other tests); `None` (after saying why) when no server is configured outside CI.
pub async fn fresh_postgres_url() -> Option<String> {
    create_postgres_db().await
}

async fn create_postgres_db() -> Option<String> {
    let Ok(base) = std::env::var("GRANTD_TEST_DATABASE_URL") else {
        assert!(
            !in_ci(),
            "CI=true but GRANTD_TEST_DATABASE_URL is not set: PostgreSQL tests must run in CI"
        );
        eprintln!("PostgreSQL tests not run: set GRANTD_TEST_DATABASE_URL to run them");
        return None;
    };
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("GRANTD_TEST_DATABASE_URL={base} is unreachable: {e}"));
    drop_stale(&mut admin).await;
    let name = format!("grantd_test_{}", unique());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let _ = admin.close().await;
    let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
    Some(format!("{prefix}/{name}"))
}

/// Drops test databases left by runs that started over an hour ago.
async fn drop_stale(admin: &mut sqlx::PgConnection) {
    let cutoff = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs().saturating_sub(3600))
        .unwrap_or_default();
    let Ok(rows) =
        sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE 'grantd_test_%'")
            .fetch_all(&mut *admin)
            .await
    else {
        return;
    };
    for row in rows {
        let name: String = row.get("datname");
        let started = name
            .trim_start_matches("grantd_test_")
            .split('_')
            .next()
            .and_then(|s| s.parse::<u64>().ok());
        if started.is_some_and(|s| s < cutoff) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut *admin)
                .await;
        }
    }
}
