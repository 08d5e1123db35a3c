//! `grantd backup` and `grantd restore`: a copy of the embedded store, taken while the
//! server runs, checked, and put back as the data folder of a server to start. Both act on
//! the store's file directly.

use std::path::PathBuf;

use clap::Args;
use grantd_store::{check_backup, BackupSummary};

use crate::settings::Settings;

#[derive(Args)]
pub struct BackupArgs {
    /// The file to write (it must not exist).
    #[arg(long, short)]
    pub output: PathBuf,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A file `grantd backup` wrote.
    pub file: PathBuf,
    /// The data folder to restore into: it must hold no store yet (start grantd on it
    /// afterwards).
    #[arg(long)]
    pub data_dir: PathBuf,
}

fn summary(summary: &BackupSummary) -> String {
    format!(
        "{} tenants, {} objects, {} audit events",
        summary.tenants, summary.objects, summary.audit_events
    )
}

/// Copies the configured embedded store into `output`, beside a running server.
pub async fn backup(args: BackupArgs) -> Result<(), String> {
    let config = args.settings.resolve()?;
    if config.database_url.is_some() {
        return Err(
            "grantd backup copies the embedded SQLite store; back PostgreSQL up with pg_dump"
                .into(),
        );
    }
    // An existing store only: a mistyped folder must not back up a new, empty one.
    let file = config.data_dir.join("grantd.db");
    if !file.exists() {
        return Err(format!(
            "there is no store in {}",
            config.data_dir.display()
        ));
    }
    let store = grantd_server::app::open_store(&config)
        .await
        .map_err(|e| e.to_string())?;
    let written = store.backup_to(&args.output).await.map_err(|e| match e {
        grantd_store::StoreError::AlreadyExists => {
            format!("{} exists already; give a new file", args.output.display())
        }
        other => other.to_string(),
    });
    store.close().await;
    let written = written?;
    println!(
        "backed up to {}: {} (checked)",
        args.output.display(),
        summary(&written)
    );
    Ok(())
}

/// Checks a backup and makes it the store of an empty data folder: copied beside, flushed
/// to disk, then renamed in place, so that the folder holds the whole store or none.
pub async fn restore(args: RestoreArgs) -> Result<(), String> {
    let checked = check_backup(&args.file)
        .await
        .map_err(|e| format!("{} is not a usable backup: {e}", args.file.display()))?;
    let occupied = std::fs::read_dir(&args.data_dir)
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    if occupied {
        return Err(format!(
            "{} holds a store already (or other files); restore into a new, empty data folder",
            args.data_dir.display()
        ));
    }
    std::fs::create_dir_all(&args.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", args.data_dir.display()))?;
    let target = args.data_dir.join("grantd.db");
    let partial = args.data_dir.join("grantd.db.partial");
    let written = (|| -> std::io::Result<()> {
        std::fs::copy(&args.file, &partial)?;
        std::fs::File::open(&partial)?.sync_all()?;
        std::fs::rename(&partial, &target)?;
        std::fs::File::open(&args.data_dir)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(format!("cannot write {}: {e}", target.display()));
    }
    println!(
        "restored into {}: {}; start grantd with --data-dir {}",
        args.data_dir.display(),
        summary(&checked),
        args.data_dir.display()
    );
    Ok(())
}
