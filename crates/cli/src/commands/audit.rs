//! `grantd audit verify --tenant T` checks a tenant's audit hash chain, straight in the
//! store; `grantd audit export --tenant T` writes its events as JSON lines, hashes included.

use clap::Subcommand;
use grantd_server::http::time::timestamp;
use serde_json::json;

use super::service;
use crate::settings::Settings;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check that no audit event was changed, removed or reordered (exit 1 if one was).
    Verify {
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        settings: Settings,
    },
    /// Write the tenant's audit events to stdout, one JSON object per line.
    Export {
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        settings: Settings,
    },
}

pub async fn run(command: AuditCommand) -> Result<(), String> {
    match command {
        AuditCommand::Verify { tenant, settings } => {
            let service = service(settings).await?;
            match service
                .verify_audit(&tenant)
                .await
                .map_err(|e| e.to_string())?
            {
                Ok(report) => {
                    println!(
                        "ok: {} events, revisions {} to {}, head {}",
                        report.events, report.first, report.last, report.head
                    );
                    Ok(())
                }
                Err(broken) => Err(broken.to_string()),
            }
        }
        AuditCommand::Export { tenant, settings } => {
            let service = service(settings).await?;
            let walked = service
                .audit_chain(&tenant, |e| {
                    let line = json!({
                        "revision": e.revision,
                        "time": timestamp(e.at),
                        "actor": e.entry.actor,
                        "action": e.entry.action,
                        "target": e.entry.target,
                        "request_id": e.entry.request_id,
                        "client_addr": e.entry.client_addr,
                        "detail": e.entry.detail,
                        "prev_hash": e.prev_hash,
                        "hash": e.hash,
                    });
                    println!("{line}");
                    Ok(())
                })
                .await
                .map_err(|e| e.to_string())?;
            walked.map_err(|e| e.to_string())
        }
    }
}
