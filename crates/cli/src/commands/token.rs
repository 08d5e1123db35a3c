//! `grantd token create --tenant T --scope S`: issues a tenant token straight into the
//! store, for bootstrapping without the HTTP API. Prints the secret once.

use clap::Subcommand;

use super::{cli_ctx, service};
use crate::settings::Settings;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a tenant and print its secret.
    Create {
        #[arg(long)]
        tenant: String,
        /// admin, write, read or check; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        settings: Settings,
    },
}

pub async fn run(command: TokenCommand) -> Result<(), String> {
    match command {
        TokenCommand::Create {
            tenant,
            scopes,
            name,
            settings,
        } => {
            let service = service(settings).await?;
            let issued = service
                .create_token(&cli_ctx(&tenant), &scopes, name)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "token {} for tenant {tenant} with scopes {} (the secret is shown once):",
                issued.view.id,
                issued.view.scopes.join(",")
            );
            println!("{}", issued.secret);
            Ok(())
        }
    }
}
