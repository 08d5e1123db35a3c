//! This node among the others sharing its database. It heartbeats into the store with the
//! revision each tenant's index has applied (every `heartbeat_ms`, and soon after its
//! index applies changes); a node silent for `node_timeout_ms` is no longer live. A write
//! that asks for every region waits until every live node has applied it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grantd_store::{NodeRecord, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::index::Indexes;
use crate::service::{now_millis, ServiceError, ServiceResult};

/// The shortest gap between two heartbeats, however often indexes apply changes.
const MIN_GAP: Duration = Duration::from_millis(20);
/// How often a wait for every node reads their heartbeats.
const WAIT_POLL: Duration = Duration::from_millis(20);

pub struct Cluster {
    store: Arc<dyn Store>,
    indexes: Arc<Indexes>,
    pub id: String,
    address: String,
    started_at: i64,
    heartbeat: Duration,
    timeout: Duration,
    /// The heartbeat task, stopped by `leave` before it removes this node: a beat after
    /// that would put the node back among the live ones, and one during the store's close
    /// would fail.
    beating: Mutex<Option<JoinHandle<()>>>,
}

/// A node as `GET /v1/cluster` shows it.
#[derive(Debug, Clone)]
pub struct NodeStatus {
    pub record: NodeRecord,
    pub live: bool,
    /// Committed revision minus applied, per tenant the node has an index of.
    pub lag: BTreeMap<String, i64>,
}

impl Cluster {
    /// Joins the cluster: heartbeats now, then keeps heartbeating until `stopping`. A clean
    /// stop then calls `leave` and drops out at once; a crash drops out after `timeout`.
    pub async fn join(
        store: Arc<dyn Store>,
        indexes: Arc<Indexes>,
        id: String,
        address: String,
        heartbeat: Duration,
        timeout: Duration,
        mut stopping: watch::Receiver<bool>,
    ) -> ServiceResult<Arc<Cluster>> {
        let cluster = Arc::new(Cluster {
            store,
            indexes,
            id,
            address,
            started_at: now_millis(),
            heartbeat,
            timeout,
            beating: Mutex::new(None),
        });
        cluster.beat().await?;
        // The task holds a weak reference: the cluster owns the task, not the other way.
        let node = Arc::downgrade(&cluster);
        let (heartbeat, published) = (cluster.heartbeat, cluster.indexes.clone());
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(heartbeat) => {}
                    _ = published.published() => tokio::time::sleep(MIN_GAP).await,
                    changed = stopping.changed() => {
                        if changed.is_err() || *stopping.borrow() {
                            return;
                        }
                    }
                }
                let Some(node) = node.upgrade() else { return };
                if let Err(error) = node.beat().await {
                    tracing::warn!(%error, "heartbeat failed; will retry");
                }
            }
        });
        *cluster
            .beating
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task);
        Ok(cluster)
    }

    /// Drops out of the live set at once (a clean stop), before the store closes: stops
    /// heartbeating first, so that no later beat brings the node back.
    pub async fn leave(&self) {
        let task = self
            .beating
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        if let Err(error) = self.store.remove_node(&self.id).await {
            tracing::warn!(%error, "could not leave the cluster cleanly");
        }
    }

    async fn beat(&self) -> ServiceResult<()> {
        let record = NodeRecord {
            id: self.id.clone(),
            address: self.address.clone(),
            started_at: self.started_at,
            heartbeat_at: now_millis(),
            applied: self.indexes.applied_revisions(),
        };
        Ok(self.store.heartbeat(&record).await?)
    }

    fn is_live(&self, node: &NodeRecord, now: i64) -> bool {
        node.id == self.id || now - node.heartbeat_at <= self.timeout.as_millis() as i64
    }

    /// The live nodes: this one, and those heard from within the timeout.
    pub async fn live(&self) -> ServiceResult<Vec<NodeRecord>> {
        let now = now_millis();
        Ok(self
            .store
            .list_nodes()
            .await?
            .into_iter()
            .filter(|n| self.is_live(n, now))
            .collect())
    }

    /// Every node the store knows, live or not, with its lag behind the committed revisions.
    pub async fn status(&self) -> ServiceResult<Vec<NodeStatus>> {
        let committed: BTreeMap<String, i64> = self
            .store
            .tenant_heads()
            .await?
            .into_iter()
            .map(|(tenant, head)| (tenant, head.revision))
            .collect();
        let now = now_millis();
        Ok(self
            .store
            .list_nodes()
            .await?
            .into_iter()
            .map(|record| {
                let lag = record
                    .applied
                    .iter()
                    .map(|(tenant, applied)| {
                        let head = committed.get(tenant).copied().unwrap_or(*applied);
                        (tenant.clone(), (head - applied).max(0))
                    })
                    .collect();
                NodeStatus {
                    live: self.is_live(&record, now),
                    record,
                    lag,
                }
            })
            .collect())
    }

    /// Waits until every live node's index has applied `revision` of `tenant` (nodes that
    /// stop heartbeating stop being waited for); `Stale` past `timeout`.
    pub async fn all_applied(
        &self,
        tenant: &str,
        revision: i64,
        timeout: Duration,
    ) -> ServiceResult<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let behind: Vec<String> = self
                .live()
                .await?
                .into_iter()
                .filter(|n| n.id != self.id)
                .filter(|n| n.applied.get(tenant).copied().unwrap_or(0) < revision)
                .map(|n| n.id)
                .collect();
            if behind.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ServiceError::Stale(format!(
                    "node(s) {} had not applied revision {revision} after {timeout:?}",
                    behind.join(", ")
                )));
            }
            tokio::time::sleep(WAIT_POLL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use grantd_store::{testing, SqlStore};

    use super::*;
    use crate::index::spawn_follower;

    #[tokio::test]
    async fn a_node_that_left_stays_gone() {
        let url = testing::scratch_sqlite_url("cluster-leave");
        let store: Arc<dyn Store> = Arc::new(SqlStore::open(&url).await.expect("store"));
        let indexes = spawn_follower(store.clone()).await.expect("indexes");
        let (_stop, stopping) = watch::channel(false);
        let cluster = Cluster::join(
            store.clone(),
            indexes,
            "n1".into(),
            "127.0.0.1:1".into(),
            Duration::from_millis(2),
            Duration::from_secs(1),
            stopping,
        )
        .await
        .expect("join");
        let listed = |nodes: Vec<NodeRecord>| nodes.iter().any(|n| n.id == "n1");
        assert!(listed(store.list_nodes().await.expect("nodes")));
        cluster.leave().await;
        // Heartbeats were due every 2 ms: none may come after the node left.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!listed(store.list_nodes().await.expect("nodes")));
    }
}
