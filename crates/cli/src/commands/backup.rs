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

/// Checks a backup and makes it the store of an empty data folder.
pub async fn restore(args: RestoreArgs) -> Result<(), String> {
    let checked = check_backup(&args.file)
        .await
        .map_err(|e| format!("{} is not a usable backup: {e}", args.file.display()))?;
    let target = args.data_dir.join("grantd.db");
    if target.exists() {
        return Err(format!(
            "{} holds a store already; restore into a new data folder",
            args.data_dir.display()
        ));
    }
    std::fs::create_dir_all(&args.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", args.data_dir.display()))?;
    std::fs::copy(&args.file, &target)
        .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    println!(
        "restored into {}: {}; start grantd with --data-dir {}",
        args.data_dir.display(),
        summary(&checked),
        args.data_dir.display()
    );
    Ok(())
}
