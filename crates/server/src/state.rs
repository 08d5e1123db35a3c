//! What every request handler shares: one allocation, so that handing it to a request
//! costs one reference count.

use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::watch;

use crate::auth::Authenticator;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::ratelimit::{AddressLimiter, RateLimiter};
use crate::service::Service;

pub struct Shared {
    pub service: Service,
    pub auth: Authenticator,
    pub config: Config,
    /// Rate-limit windows: this node's, or the cluster's.
    pub limits: RateLimiter,
    /// Failed authentications per client address, in this node's memory.
    pub strangers: AddressLimiter,
    /// This node among those sharing its database.
    pub cluster: Arc<Cluster>,
    /// Becomes true when the server starts shutting down, so that endless responses
    /// (change streams) end and the graceful shutdown can finish.
    pub stopping: watch::Receiver<bool>,
}

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
