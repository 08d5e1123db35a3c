//! What every request handler shares.

use std::sync::Arc;

use tokio::sync::watch;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::service::Service;

#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub auth: Arc<Authenticator>,
    pub config: Arc<Config>,
    /// Becomes true when the server starts shutting down, so that endless responses
    /// (change streams) end and the graceful shutdown can finish.
    pub stopping: watch::Receiver<bool>,
}
