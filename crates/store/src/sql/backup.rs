//! Backups of the embedded store: a copy of the SQLite file taken while the server runs
//! (`VACUUM INTO`, which reads one snapshot and writes a compact file), and the check that
//! a copy is whole before it is used.

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};

use super::{Backend, SqlStore};
use crate::{Result, StoreError};

/// What a backup file holds, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub tenants: i64,
    pub objects: i64,
    pub audit_events: i64,
}

impl SqlStore {
    /// Writes a copy of the embedded store to `path` (which must not exist) while it
    /// serves, then checks the copy. PostgreSQL has its own tools (`pg_dump`).
    pub async fn backup_to(&self, path: &Path) -> Result<BackupSummary> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Unavailable(
                "grantd backup copies the embedded SQLite store; back PostgreSQL up with pg_dump"
                    .into(),
            ));
        }
        // Made empty first, readable by its owner only (it holds access keys' signing keys),
        // and never over an existing file; VACUUM INTO fills an empty one.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::AlreadyExists)
            }
            Err(e) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot create {}: {e}",
                    path.display()
                )))
            }
        }
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Internal(format!("{} is not UTF-8", path.display())))?;
        let copied = sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(self.pool()?)
            .await;
        if let Err(e) = copied {
            let _ = std::fs::remove_file(path);
            return Err(e.into());
        }
        check_backup(path).await
    }
}

/// Opens a backup file read-only and checks it: SQLite's own integrity check, and grantd's
/// tables present. Returns what it holds.
pub async fn check_backup(path: &Path) -> Result<BackupSummary> {
    // The file by name, not in a URL: a path holding `?` or `#` is still this file.
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let verdict: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    if verdict != "ok" {
        return Err(StoreError::Internal(format!(
            "{} fails SQLite's integrity check: {verdict}",
            path.display()
        )));
    }
    let count = |table: &'static str| format!("SELECT COUNT(*) AS n FROM {table}");
    let mut counts = Vec::new();
    for table in ["tenants", "objects", "audit_events"] {
        let n: i64 = sqlx::query(&count(table))
            .fetch_one(&mut conn)
            .await?
            .try_get("n")?;
        counts.push(n);
    }
    conn.close().await?;
    Ok(BackupSummary {
        tenants: counts[0],
        objects: counts[1],
        audit_events: counts[2],
    })
}
