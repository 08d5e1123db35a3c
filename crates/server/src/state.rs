//! What every request handler shares: one allocation, so that handing it to a request
//! costs one reference count.

use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::{watch, Semaphore};

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
    /// Exports and imports this node runs at once.
    pub transfers: Transfers,
    /// Seals the console's session cookies: the server's secret key (so that every node
    /// opens them), else a key of this process's own.
    pub console_key: crate::service::sealing::Sealer,
}

/// How many exports (each holding a store connection and a snapshot) and imports (each
/// holding its tenant's write lock) a node runs at once; more are refused, to retry.
pub struct Transfers {
    pub exports: Arc<Semaphore>,
    pub imports: Arc<Semaphore>,
}

impl Default for Transfers {
    fn default() -> Self {
        Transfers {
            exports: Arc::new(Semaphore::new(2)),
            imports: Arc::new(Semaphore::new(1)),
        }
    }
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
