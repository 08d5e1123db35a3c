//! `grantd tenant create ID`: creates a tenant straight in the store.

use clap::Subcommand;
use grantd_core::model::Tenant;

use super::{cli_actor, service};
use crate::settings::Settings;

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        settings: Settings,
    },
}

pub async fn run(command: TenantCommand) -> Result<(), String> {
    match command {
        TenantCommand::Create { id, name, settings } => {
            let service = service(settings).await?;
            let tenant = Tenant {
                id: id.clone(),
                name,
                description: None,
            };
            service
                .create_tenant(&cli_actor(), tenant)
                .await
                .map_err(|e| e.to_string())?;
            println!("{id}");
            Ok(())
        }
    }
}
