//! What every request handler shares.

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::service::Service;

#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub auth: Arc<Authenticator>,
    pub config: Arc<Config>,
}
