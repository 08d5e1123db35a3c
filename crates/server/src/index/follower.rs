//! The follower: the one task that changes indexes. It catches a tenant up when woken for
//! it (a write on this node, or another node's commit announced by the database), and each
//! second compares every tenant's committed revision with its index's in one read,
//! catching up those behind (a missed notification, the CLI). A tenant too far behind is
//! rebuilt from a snapshot. Changes are applied in revision order to a copy of the snapshot, and the
//! copy is published.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use grantd_store::{ListQuery, Store, StoreError};
use tokio::sync::mpsc;

use super::load::{build, ops_of};
use super::{Indexes, TenantIndex};

const POLL: Duration = Duration::from_secs(1);
const BATCH: u32 = 1000;
/// An index further behind than this many revisions is rebuilt from a snapshot of the
/// store rather than replayed change by change.
const REBUILD_GAP: i64 = 50_000;
/// What the database announces after a lost connection: catch up with everything.
const EVERYTHING: &str = "*";

/// Builds every tenant's index from the store, then starts the follower. Returns once the
/// indexes are built, so the server never answers from an empty index.
pub async fn spawn_follower(store: Arc<dyn Store>) -> Result<Arc<Indexes>, StoreError> {
    let (wake, mut woken) = mpsc::unbounded_channel::<String>();
    let indexes = Arc::new(Indexes {
        tenants: ArcSwap::from_pointee(HashMap::default()),
        wake: wake.clone(),
        store: store.clone(),
        published: tokio::sync::Notify::new(),
    });
    let mut tenants = HashMap::default();
    let mut after = None;
    loop {
        let page = store
            .list_tenants(&ListQuery {
                prefix: None,
                after: after.clone(),
                limit: 1000,
            })
            .await?;
        for tenant in &page {
            if let Some(snapshot) = build(store.clone(), &tenant.key).await? {
                tenants.insert(tenant.key.clone(), Arc::new(TenantIndex::new(snapshot)));
            }
        }
        match page.last() {
            Some(last) if page.len() == 1000 => after = Some(last.key.clone()),
            _ => break,
        }
    }
    tracing::info!(tenants = tenants.len(), "decision indexes built");
    indexes.tenants.store(Arc::new(tenants));

    // Commits of other nodes, as the database announces them, wake the follower too.
    if let Some(mut commits) = store.commit_notifications().await? {
        tokio::spawn(async move {
            while let Some(tenant) = commits.recv().await {
                if wake.send(tenant).is_err() {
                    return;
                }
            }
        });
    }

    let weak = Arc::downgrade(&indexes);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        loop {
            let woken_for = tokio::select! {
                Some(tenant) = woken.recv() => {
                    let mut due = BTreeSet::from([tenant]);
                    while let Ok(more) = woken.try_recv() {
                        due.insert(more);
                    }
                    Some(due)
                }
                _ = tick.tick() => None,
            };
            let Some(indexes) = weak.upgrade() else {
                return;
            };
            let outcome = match woken_for {
                Some(due) if !due.contains(EVERYTHING) => catch_up_all(&indexes, due).await,
                _ => poll(&indexes).await,
            };
            if let Err(error) = outcome {
                tracing::warn!(%error, "index follower could not read the store; will retry");
            }
        }
    });
    Ok(indexes)
}

async fn catch_up_all(indexes: &Indexes, tenants: BTreeSet<String>) -> Result<(), StoreError> {
    for tenant in tenants {
        catch_up(indexes, &tenant).await?;
    }
    Ok(())
}

/// Catches up every tenant whose committed revision is ahead of its index, builds new
/// tenants' indexes and drops deleted ones'.
async fn poll(indexes: &Indexes) -> Result<(), StoreError> {
    let committed = indexes.store.tenant_revisions().await?;
    let known = indexes.tenants.load_full();
    let behind: BTreeSet<String> = committed
        .iter()
        .filter(|(tenant, revision)| {
            known
                .get(tenant)
                .is_none_or(|i| i.snapshot().revision() < *revision)
        })
        .map(|(tenant, _)| tenant.clone())
        .collect();
    let live: BTreeSet<&String> = committed.iter().map(|(t, _)| t).collect();
    let gone: Vec<String> = known
        .keys()
        .filter(|t| !live.contains(t))
        .cloned()
        .collect();
    if !gone.is_empty() {
        indexes.replace_tenants(|t| gone.iter().for_each(|g| drop(t.remove(g))));
    }
    catch_up_all(indexes, behind).await
}

/// Applies the tenant's changes after its applied revision; builds the index of a new
/// tenant and drops that of a deleted one.
async fn catch_up(indexes: &Indexes, tenant: &str) -> Result<(), StoreError> {
    let store = indexes.store.clone();
    let Some(committed) = store.tenant_revision(tenant).await? else {
        indexes.replace_tenants(|t| drop(t.remove(tenant)));
        return Ok(());
    };
    let rebuild = indexes
        .tenant(tenant)
        .is_none_or(|i| committed - i.snapshot().revision() > REBUILD_GAP);
    if rebuild {
        // New here, or too far behind to replay: a consistent snapshot of the store.
        if let Some(snapshot) = build(store, tenant).await? {
            let index = Arc::new(TenantIndex::new(snapshot));
            indexes.replace_tenants(|t| drop(t.insert(tenant.to_string(), index)));
            indexes.published.notify_waiters();
        }
        return Ok(());
    }
    let Some(index) = indexes.tenant(tenant) else {
        return Ok(());
    };
    let mut snapshot = (*index.snapshot()).clone();
    while snapshot.revision() < committed {
        let changes = store
            .list_changes(tenant, snapshot.revision(), BATCH)
            .await?;
        if changes.is_empty() {
            break;
        }
        for change in &changes {
            snapshot.apply(change.revision, &ops_of(change));
        }
    }
    if snapshot.revision() > index.snapshot().revision() {
        index.publish(snapshot);
        indexes.published.notify_waiters();
    }
    Ok(())
}
