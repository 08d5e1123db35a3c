//! The decision index of every tenant on this node: built from the store at start, then
//! kept current by applying the change records in revision order.
//!
//! Readers take the tenant's current `Arc<Snapshot>` with no lock (arc-swap) and never touch
//! the database. One follower task applies changes: it is woken when this node commits a
//! write, when the database announces a commit of another node (PostgreSQL's
//! LISTEN/NOTIFY), and polls every second besides, so that a lost notification or a
//! reconnect never loses a change. Each
//! tenant publishes the revision its index has applied on a watch channel, which
//! `at_least_as_fresh` and `fully_consistent` reads wait on.

mod follower;
mod load;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use foldhash::fast::RandomState;
use grantd_core::decision::Snapshot;
use grantd_store::Store;
use tokio::sync::{mpsc, watch, Notify};

pub use follower::spawn_follower;
pub use load::build as build_snapshot;

/// One tenant's published snapshot and applied revision.
pub struct TenantIndex {
    snapshot: ArcSwap<Snapshot>,
    applied: watch::Sender<i64>,
}

impl TenantIndex {
    fn new(snapshot: Snapshot) -> TenantIndex {
        let (applied, _) = watch::channel(snapshot.revision());
        TenantIndex {
            snapshot: ArcSwap::from_pointee(snapshot),
            applied,
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    fn publish(&self, snapshot: Snapshot) {
        let revision = snapshot.revision();
        self.snapshot.store(Arc::new(snapshot));
        self.applied.send_replace(revision);
    }

    /// A receiver of the applied revision, to wait for a later one.
    pub fn applied(&self) -> watch::Receiver<i64> {
        self.applied.subscribe()
    }
}

/// Why a read could not be as fresh as asked.
#[derive(Debug, thiserror::Error)]
pub enum FreshnessError {
    #[error(
        "this node's index had not applied revision {wanted} after {waited:?} (it is at {applied})"
    )]
    Timeout {
        wanted: i64,
        applied: i64,
        waited: Duration,
    },
    #[error("tenant {0} has no index on this node")]
    NoTenant(String),
    #[error("revision {wanted} has not been written: the tenant is at revision {committed}")]
    Future { wanted: i64, committed: i64 },
}

/// Every tenant's index, and the channel that wakes the follower.
pub struct Indexes {
    /// Hashed with foldhash: its keys are tenants the operator created, not a caller's.
    tenants: ArcSwap<HashMap<String, Arc<TenantIndex>, RandomState>>,
    wake: mpsc::UnboundedSender<String>,
    store: Arc<dyn Store>,
    /// Signalled whenever an index applies changes, for the heartbeat to report them.
    published: Notify,
}

impl Indexes {
    /// The tenant's index, if it has one on this node.
    pub fn tenant(&self, tenant: &str) -> Option<Arc<TenantIndex>> {
        self.tenants.load().get(tenant).cloned()
    }

    /// The revision each tenant's index has applied.
    pub fn applied_revisions(&self) -> BTreeMap<String, i64> {
        self.tenants
            .load()
            .iter()
            .map(|(tenant, index)| (tenant.clone(), index.snapshot().revision()))
            .collect()
    }

    /// Waits until some index applies changes.
    pub async fn published(&self) {
        self.published.notified().await;
    }

    /// Asks the follower to catch up with `tenant` now (after a write on this node).
    pub fn changed(&self, tenant: &str) {
        let _ = self.wake.send(tenant.to_string());
    }

    /// A snapshot that has applied at least `revision`, waiting up to `timeout` for it.
    pub async fn at_least(
        &self,
        tenant: &str,
        revision: i64,
        timeout: Duration,
    ) -> Result<Arc<Snapshot>, FreshnessError> {
        let index = match self.tenant(tenant) {
            Some(index) => index,
            None => self.appearing(tenant, timeout).await?,
        };
        let current = index.snapshot();
        if current.revision() >= revision {
            return Ok(current);
        }
        match self.store.tenant_revision(tenant).await {
            Ok(Some(committed)) if committed < revision => {
                return Err(FreshnessError::Future {
                    wanted: revision,
                    committed,
                });
            }
            Ok(None) => return Err(FreshnessError::NoTenant(tenant.to_string())),
            _ => {}
        }
        self.changed(tenant);
        let mut applied = index.applied();
        let reached = tokio::time::timeout(timeout, applied.wait_for(|r| *r >= revision)).await;
        match reached {
            Ok(Ok(_)) => Ok(index.snapshot()),
            _ => Err(FreshnessError::Timeout {
                wanted: revision,
                applied: index.snapshot().revision(),
                waited: timeout,
            }),
        }
    }

    /// Waits for a tenant's first index: one created on this or another node a moment ago.
    async fn appearing(
        &self,
        tenant: &str,
        timeout: Duration,
    ) -> Result<Arc<TenantIndex>, FreshnessError> {
        self.changed(tenant);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(index) = self.tenant(tenant) {
                return Ok(index);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(FreshnessError::NoTenant(tenant.to_string()));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// A snapshot that has applied every write committed before this call.
    pub async fn latest(
        &self,
        tenant: &str,
        timeout: Duration,
    ) -> Result<Arc<Snapshot>, FreshnessError> {
        let committed = match self.store.tenant_revision(tenant).await {
            Ok(Some(revision)) => revision,
            _ => return Err(FreshnessError::NoTenant(tenant.to_string())),
        };
        self.at_least(tenant, committed, timeout).await
    }

    fn replace_tenants(
        &self,
        change: impl FnOnce(&mut HashMap<String, Arc<TenantIndex>, RandomState>),
    ) {
        let mut tenants = HashMap::clone(&self.tenants.load());
        change(&mut tenants);
        self.tenants.store(Arc::new(tenants));
    }
}
