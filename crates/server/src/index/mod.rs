//! The decision index of every tenant on this node: built from the store at start, then
//! kept current by applying the change records in revision order.
//!
//! Readers take the tenant's current `Arc<Snapshot>` with no lock (arc-swap) and never touch
//! the database. The follower applies changes, each tenant in its own task so that one
//! tenant's backlog never delays another's: it is woken when this node commits a write,
//! when the database announces a commit or a tenant's deletion by another node
//! (PostgreSQL's LISTEN/NOTIFY), and polls every second besides, so that a lost
//! notification or a reconnect never loses a change. A write committed on this node hands
//! its change records to the follower (`committed_here`), which applies them without
//! reading them back; the revision a wake-up names lets the follower skip a tenant whose
//! index has already applied it (its own commit, announced back by the database). Each
//! tenant publishes the revision its index has applied on a watch channel, which
//! `at_least_as_fresh` and `fully_consistent` reads wait on, and the change records it
//! applied on a broadcast channel, which watch streams read (the store is read once per
//! change, not once per stream).
//!
//! An index belongs to one incarnation of its tenant: a tenant deleted and created again
//! under the same id repeats the old one's revisions, so revisions alone cannot tell them
//! apart. An index whose incarnation is not the store's is never served by `latest`, never
//! caught up, and is replaced; its watch streams end, and `revocations` tells the token
//! cache to forget the tenant's tokens.

mod follower;
mod handover;
mod load;
mod start;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use foldhash::fast::RandomState;
use grantd_core::decision::Snapshot;
use grantd_store::{Announcement, ChangeRecord, Committed, Store};
use tokio::sync::{broadcast, mpsc, watch, Notify};

use handover::HandedOver;

pub use follower::spawn_follower;
pub use load::build as build_snapshot;

/// How many applied change records a watch stream may fall behind before it reads the
/// store instead.
const FEED_CAPACITY: usize = 256;

/// One tenant's published snapshot, applied revision and applied changes, for one
/// incarnation of the tenant.
pub struct TenantIndex {
    snapshot: ArcSwap<Snapshot>,
    applied: watch::Sender<i64>,
    incarnation: i64,
    /// Made by the first stream that follows the tenant: most tenants have none, and the
    /// channel's buffer is allocated whole.
    changes: OnceLock<broadcast::Sender<Arc<ChangeRecord>>>,
}

impl TenantIndex {
    fn new(snapshot: Snapshot, incarnation: i64) -> TenantIndex {
        let (applied, _) = watch::channel(snapshot.revision());
        TenantIndex {
            snapshot: ArcSwap::from_pointee(snapshot),
            applied,
            incarnation,
            changes: OnceLock::new(),
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Which incarnation of the tenant this index is of.
    pub fn incarnation(&self) -> i64 {
        self.incarnation
    }

    fn publish(&self, snapshot: Snapshot, changes: Vec<Arc<ChangeRecord>>) {
        let revision = snapshot.revision();
        self.snapshot.store(Arc::new(snapshot));
        self.applied.send_replace(revision);
        if let Some(feed) = self.changes.get().filter(|f| f.receiver_count() > 0) {
            for change in changes {
                let _ = feed.send(change);
            }
        }
    }

    /// A receiver of the applied revision, to wait for a later one. It closes when this
    /// index is dropped: its tenant was deleted, or replaced by another incarnation.
    pub fn applied(&self) -> watch::Receiver<i64> {
        self.applied.subscribe()
    }

    /// The change records applied from now on, in revision order. A receiver that falls
    /// more than `FEED_CAPACITY` behind is told it lagged; it closes with the index.
    pub fn changes(&self) -> broadcast::Receiver<Arc<ChangeRecord>> {
        self.changes
            .get_or_init(|| broadcast::channel(FEED_CAPACITY).0)
            .subscribe()
    }
}

/// Access taken away, as this node learns it from the change records it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// The tenant was deleted (or deleted and created again): every token of it is gone.
    Tenant(Arc<str>),
    /// The tenant's token or access key `id` was revoked.
    Token { tenant: Arc<str>, id: Arc<str> },
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
    /// What wakes the follower: a commit here or elsewhere, or a tenant to catch up with
    /// (an announcement without a revision: whatever the store has).
    wake: mpsc::UnboundedSender<Announcement>,
    store: Arc<dyn Store>,
    /// Change records committed on this node, until applied.
    handed_over: HandedOver,
    /// Signalled whenever an index applies changes, for the heartbeat to report them.
    published: Notify,
    revocations: broadcast::Sender<Revocation>,
    /// Held while the map of tenants is replaced.
    replacing: std::sync::Mutex<()>,
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

    /// Revocations as this node applies them. A receiver that lags must assume anything
    /// may have been revoked.
    pub fn revocations(&self) -> broadcast::Receiver<Revocation> {
        self.revocations.subscribe()
    }

    fn revoke(&self, revocation: Revocation) {
        let _ = self.revocations.send(revocation);
    }

    /// Waits until some index applies changes.
    pub async fn published(&self) {
        self.published.notified().await;
    }

    /// Asks the follower to catch up with `tenant` now, with whatever the store holds.
    pub fn changed(&self, tenant: &str) {
        let _ = self.wake.send(Announcement {
            tenant: tenant.to_string(),
            revision: None,
        });
    }

    /// Hands a write committed on this node, with the change records committed with it, to
    /// the follower, which applies them without reading them back.
    pub fn committed_here(&self, tenant: &str, committed: &Committed) {
        self.handed_over.hold(tenant, committed);
        let _ = self.wake.send(Announcement {
            tenant: tenant.to_string(),
            revision: Some(committed.revision),
        });
    }

    /// A snapshot that has applied at least `revision`, waiting up to `timeout` for it.
    pub async fn at_least(
        &self,
        tenant: &str,
        revision: i64,
        timeout: Duration,
    ) -> Result<Arc<Snapshot>, FreshnessError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut asked = false;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let index = match self.tenant(tenant) {
                Some(index) => index,
                None => self.appearing(tenant, left).await?,
            };
            let current = index.snapshot();
            if current.revision() >= revision {
                return Ok(current);
            }
            if !asked {
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
                asked = true;
            }
            // Only the receiver is held while waiting, not the index: one replaced (another
            // incarnation, a rebuild) or dropped is let go, its streams end, and the wait
            // goes on with the tenant's index as it is then.
            let mut applied = index.applied();
            drop(index);
            let reached =
                tokio::time::timeout_at(deadline, applied.wait_for(|r| *r >= revision)).await;
            if reached.is_err() {
                return Err(FreshnessError::Timeout {
                    wanted: revision,
                    applied: self.tenant(tenant).map_or(0, |i| i.snapshot().revision()),
                    waited: timeout,
                });
            }
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

    /// A snapshot of the store's incarnation of the tenant that has applied every write
    /// committed before this call.
    pub async fn latest(
        &self,
        tenant: &str,
        timeout: Duration,
    ) -> Result<Arc<Snapshot>, FreshnessError> {
        let head = match self.store.tenant_head(tenant).await {
            Ok(Some(head)) => head,
            _ => return Err(FreshnessError::NoTenant(tenant.to_string())),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        // An index of an incarnation that was deleted is being replaced: wait for it.
        let mut asked = false;
        while self
            .tenant(tenant)
            .is_some_and(|index| index.incarnation != head.incarnation)
        {
            if tokio::time::Instant::now() >= deadline {
                return Err(FreshnessError::Timeout {
                    wanted: head.revision,
                    applied: 0,
                    waited: timeout,
                });
            }
            if !asked {
                self.changed(tenant);
                asked = true;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let snapshot = self.at_least(tenant, head.revision, left).await?;
        match self.tenant(tenant) {
            Some(index) if index.incarnation == head.incarnation => Ok(snapshot),
            // Deleted (and perhaps created again) meanwhile: what was asked is gone.
            _ => Err(FreshnessError::NoTenant(tenant.to_string())),
        }
    }

    fn replace_tenants(
        &self,
        change: impl FnOnce(&mut HashMap<String, Arc<TenantIndex>, RandomState>),
    ) {
        // Tenants catch up in tasks of their own: one change of the map at a time, or two
        // would each start from the same map and one would undo the other.
        let _one_at_a_time = self.replacing.lock();
        let mut tenants = HashMap::clone(&self.tenants.load());
        change(&mut tenants);
        self.tenants.store(Arc::new(tenants));
    }
}
