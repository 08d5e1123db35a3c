//! One module per subcommand.

pub mod audit;
pub mod backup;
pub mod check;
pub mod client;
pub mod objects;
pub mod profiles;
pub mod serve;
pub mod sync;
pub mod tenant;
pub mod token;
pub mod transfer;

use grantd_server::service::{Actor, Ctx, Service};
use grantd_store::Store;
use std::sync::Arc;

use crate::settings::Settings;

/// The service over the configured store, for commands that act on the store directly.
pub async fn service(settings: Settings) -> Result<Service, String> {
    let config = settings.resolve()?;
    let store = grantd_server::app::open_store(&config)
        .await
        .map_err(|e| e.to_string())?;
    let store: Arc<dyn Store> = Arc::new(store);
    Ok(Service::new(store))
}

/// The command line as an actor in the audit trail.
pub fn cli_actor() -> Actor {
    Actor {
        name: "operator:cli".into(),
        request_id: format!("cli-{}", std::process::id()),
        client_addr: None,
    }
}

pub fn cli_ctx(tenant: &str) -> Ctx {
    Ctx {
        tenant: tenant.to_string(),
        actor: cli_actor(),
    }
}
