//! The follower: what changes indexes. A dispatcher task takes the wake-ups (a write on
//! this node, another node's commit or tenant deletion announced by the database) and, each
//! second, compares every tenant's committed revision and incarnation with its index's in
//! one read. A wake-up that names a revision the index has applied is done with. Each
//! tenant that is behind is caught up by a task of its own, so that one tenant's backlog
//! never delays another's; at most `CONCURRENT` tenants catch up at once, and one tenant
//! is never caught up by two tasks.
//!
//! Catching up first applies the change records this node's writes handed over, without a
//! read, when they lead on from the index's revision of its incarnation; if the wake-up's
//! revision is then applied, that is all. Otherwise it reads the store.
//!
//! Catching up applies change records in revision order to a copy of the snapshot, on the
//! blocking pool (applying is CPU work that must not hold an async worker that answers
//! checks and health probes), and publishes the copy after each step of at most `STEP`
//! changes or `STEP_TIME` of work: a long backlog becomes visible as it is applied. A
//! tenant whose incarnation changed, that is too far behind, or that would replay a change
//! too large to read whole (an import's) is rebuilt from a snapshot of the store; one
//! deleted is dropped. Token revocations and tenant deletions seen on
//! the way are announced (`Indexes::revocations`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use grantd_core::decision::Snapshot;
use grantd_store::{Announcement, ChangeOp, ChangeRecord, Store, StoreError};
use tokio::sync::{broadcast, mpsc, Semaphore};

use super::load::{build, ops_of};
use super::start::build_every;
use super::{Indexes, Revocation, TenantIndex};

const POLL: Duration = Duration::from_secs(1);
/// Change records read from the store at once.
const BATCH: u32 = 500;
/// At most this many changes are applied before the snapshot is published.
const STEP: usize = 100;
/// ... or this much time spent applying them.
const STEP_TIME: Duration = Duration::from_millis(20);
/// Tenants caught up at the same time.
const CONCURRENT: usize = 16;
/// An index further behind than this many revisions is rebuilt from a snapshot of the
/// store rather than replayed change by change.
const REBUILD_GAP: i64 = 50_000;
/// ... and so is one that would replay a change record larger than this (an import's):
/// rebuilt, it reads the tenant's rows a page at a time instead of the record whole.
const REPLAY_AT_MOST: u64 = 16 << 20;
/// What the database announces after a lost connection: catch up with everything.
const EVERYTHING: &str = "*";

/// Tenants to catch up, each up to a revision (`None`: whatever the store holds).
type Due = BTreeMap<String, Option<i64>>;

/// Adds a tenant to catch up with: up to the later of two revisions, or to whatever the
/// store holds if either asks so.
fn add(due: &mut Due, tenant: String, until: Option<i64>) {
    due.entry(tenant)
        .and_modify(|was| *was = was.zip(until).map(|(a, b)| a.max(b)))
        .or_insert(until);
}

/// Which tenants have a catch-up task, and which of those were woken again meanwhile.
#[derive(Default)]
struct Running {
    tenants: HashSet<String>,
    again: Due,
}

/// Builds every tenant's index from the store, then starts the follower. Returns once the
/// indexes are built, so the server never answers from an empty index.
pub async fn spawn_follower(store: Arc<dyn Store>) -> Result<Arc<Indexes>, StoreError> {
    let (wake, mut woken) = mpsc::unbounded_channel::<Announcement>();
    let indexes = Arc::new(Indexes {
        tenants: ArcSwap::from_pointee(HashMap::default()),
        wake: wake.clone(),
        store: store.clone(),
        handed_over: Default::default(),
        published: tokio::sync::Notify::new(),
        revocations: broadcast::channel(1024).0,
        replacing: std::sync::Mutex::new(()),
    });
    let started = Instant::now();
    let mut tenants = HashMap::default();
    for (tenant, snapshot, incarnation) in build_every(store.clone()).await? {
        tenants.insert(tenant, Arc::new(TenantIndex::new(snapshot, incarnation)));
    }
    tracing::info!(tenants = tenants.len(), took = ?started.elapsed(), "decision indexes built");
    indexes.tenants.store(Arc::new(tenants));

    // Commits of other nodes, as the database announces them, wake the follower too.
    if let Some(mut commits) = store.commit_notifications().await? {
        tokio::spawn(async move {
            while let Some(commit) = commits.recv().await {
                if wake.send(commit).is_err() {
                    return;
                }
            }
        });
    }

    let weak = Arc::downgrade(&indexes);
    let running = Arc::new(Mutex::new(Running::default()));
    let slots = Arc::new(Semaphore::new(CONCURRENT));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        loop {
            let woken_for = tokio::select! {
                Some(first) = woken.recv() => {
                    let mut due = Due::new();
                    add(&mut due, first.tenant, first.revision);
                    while let Ok(more) = woken.try_recv() {
                        add(&mut due, more.tenant, more.revision);
                    }
                    Some(due)
                }
                _ = tick.tick() => None,
            };
            let Some(indexes) = weak.upgrade() else {
                return;
            };
            let due = match woken_for {
                Some(due) if !due.contains_key(EVERYTHING) => Ok(due),
                _ => behind(&indexes)
                    .await
                    .map(|tenants| tenants.into_iter().map(|t| (t, None)).collect()),
            };
            match due {
                Ok(due) => {
                    for (tenant, until) in due {
                        let applied = indexes.tenant(&tenant).map(|i| i.snapshot().revision());
                        match (until, applied) {
                            // Applied already (read from the store before its writer
                            // handed it over, or this node's own commit announced back):
                            // what was handed over for it is done with.
                            (Some(until), Some(applied)) if applied >= until => {
                                indexes.handed_over.forget(&tenant, Some(applied));
                            }
                            _ => start(&indexes, &running, &slots, tenant, until),
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "index follower could not read the store; will retry")
                }
            }
        }
    });
    Ok(indexes)
}

/// Starts a catch-up task for `tenant` (up to `until`), or tells the running one to go
/// round again.
fn start(
    indexes: &Arc<Indexes>,
    running: &Arc<Mutex<Running>>,
    slots: &Arc<Semaphore>,
    tenant: String,
    mut until: Option<i64>,
) {
    {
        let Ok(mut run) = running.lock() else { return };
        if run.tenants.contains(&tenant) {
            add(&mut run.again, tenant, until);
            return;
        }
        run.tenants.insert(tenant.clone());
    }
    let indexes = Arc::downgrade(indexes);
    let running = running.clone();
    let slots = slots.clone();
    tokio::spawn(async move {
        loop {
            if let (Some(indexes), Ok(_slot)) = (indexes.upgrade(), slots.acquire().await) {
                if let Err(error) = catch_up(&indexes, &tenant, until).await {
                    tracing::warn!(%error, tenant, "index follower could not catch up; will retry");
                }
            }
            let Ok(mut run) = running.lock() else { return };
            match run.again.remove(&tenant) {
                Some(again) => until = again,
                None => {
                    run.tenants.remove(&tenant);
                    return;
                }
            }
        }
    });
}

/// Every tenant whose committed revision is ahead of its index's, whose incarnation is
/// not its index's, or that has no index; tenants deleted are dropped at once.
async fn behind(indexes: &Indexes) -> Result<BTreeSet<String>, StoreError> {
    let heads = indexes.store.tenant_heads().await?;
    let known = indexes.tenants.load_full();
    let mut due: BTreeSet<String> = BTreeSet::new();
    for (tenant, head) in &heads {
        match known.get(tenant) {
            // Another incarnation's index is never served, not even while the new one is
            // built: dropped at once, so that readers wait for the new one.
            Some(index) if index.incarnation != head.incarnation => {
                drop_tenant(indexes, tenant);
                due.insert(tenant.clone());
            }
            Some(index) if index.snapshot().revision() >= head.revision => {}
            _ => {
                due.insert(tenant.clone());
            }
        }
    }
    let live: BTreeSet<&String> = heads.iter().map(|(t, _)| t).collect();
    for gone in known.keys().filter(|t| !live.contains(t)) {
        drop_tenant(indexes, gone);
        // Caught up once more, by the tenant's own task: a build that was under way puts
        // no index back for long.
        due.insert(gone.clone());
    }
    Ok(due)
}

/// Drops a tenant's index, which ends its watch streams, and announces that every token of
/// the tenant is gone (also when this node had no index of it: it may have cached them).
fn drop_tenant(indexes: &Indexes, tenant: &str) {
    indexes.handed_over.forget(tenant, None);
    if indexes.tenant(tenant).is_some() {
        indexes.replace_tenants(|t| drop(t.remove(tenant)));
    }
    indexes.revoke(Revocation::Tenant(Arc::from(tenant)));
}

/// Brings the tenant's index to `until`, with the changes this node's writes handed over
/// if they reach it, else to the store's latest revision of its current incarnation.
async fn catch_up(indexes: &Indexes, tenant: &str, until: Option<i64>) -> Result<(), StoreError> {
    if let (Some(until), Some(index)) = (until, indexes.tenant(tenant)) {
        if apply_handed_over(indexes, tenant, &index).await? >= until {
            return Ok(());
        }
    }
    let store = indexes.store.clone();
    let Some(head) = store.tenant_head(tenant).await? else {
        drop_tenant(indexes, tenant);
        return Ok(());
    };
    let mut current = indexes.tenant(tenant);
    if current
        .as_ref()
        .is_some_and(|i| i.incarnation != head.incarnation)
    {
        // Another incarnation's index is never served, not even while the new one is
        // built: dropped first, so that readers wait for the new one.
        drop_tenant(indexes, tenant);
        current = None;
    }
    let rebuild = match &current {
        None => true,
        Some(index) => {
            let applied = index.snapshot().revision();
            head.revision - applied > REBUILD_GAP
                || (head.revision > applied
                    && store.largest_change(tenant, applied, head.revision).await? > REPLAY_AT_MOST)
        }
    };
    if rebuild {
        // New here, another incarnation, too far behind, or a change too large to
        // replay: a consistent snapshot of the store.
        match build(store, tenant).await? {
            Some((snapshot, incarnation)) => {
                indexes
                    .handed_over
                    .forget(tenant, Some(snapshot.revision()));
                let index = Arc::new(TenantIndex::new(snapshot, incarnation));
                indexes.replace_tenants(|t| drop(t.insert(tenant.to_string(), index)));
                if current.is_some() {
                    // Not replayed: the revocations it skipped are not known
                    // one by one, so every token of the tenant is looked up again.
                    indexes.revoke(Revocation::Tenant(Arc::from(tenant)));
                }
                indexes.published.notify_waiters();
            }
            None => drop_tenant(indexes, tenant),
        }
        return Ok(());
    }
    let Some(index) = current else {
        return Ok(());
    };
    let mut snapshot = (*index.snapshot()).clone();
    while snapshot.revision() < head.revision {
        // No further than the head whose changes were sized above: revisions are dense, so
        // as many records as revisions are left. A change committed since is another
        // catch-up's, sized in turn.
        let left = u32::try_from(head.revision - snapshot.revision()).unwrap_or(BATCH);
        let changes = store
            .list_changes(tenant, snapshot.revision(), BATCH.min(left))
            .await?;
        // The records just read are of the index's incarnation only if the tenant has not
        // been deleted since: incarnations never repeat, so the same one now means the
        // same tenant throughout.
        let still = store.tenant_head(tenant).await?;
        if still.is_none_or(|h| h.incarnation != index.incarnation) {
            indexes.changed(tenant);
            return Ok(());
        }
        if changes.is_empty() {
            break;
        }
        let changes: Vec<Arc<ChangeRecord>> = changes.into_iter().map(Arc::new).collect();
        snapshot = apply(indexes, tenant, &index, snapshot, changes).await?;
    }
    indexes
        .handed_over
        .forget(tenant, Some(snapshot.revision()));
    Ok(())
}

/// Applies the change records this node's writes handed over that lead on from the
/// index's revision; returns the revision the index is then at.
async fn apply_handed_over(
    indexes: &Indexes,
    tenant: &str,
    index: &TenantIndex,
) -> Result<i64, StoreError> {
    let current = index.snapshot();
    let changes = indexes
        .handed_over
        .take(tenant, index.incarnation, current.revision());
    if changes.is_empty() {
        return Ok(current.revision());
    }
    let snapshot = apply(indexes, tenant, index, (*current).clone(), changes).await?;
    Ok(snapshot.revision())
}

/// Applies `changes` to `snapshot` and publishes it as the index, a step at a time; the
/// snapshot as last published.
async fn apply(
    indexes: &Indexes,
    tenant: &str,
    index: &TenantIndex,
    mut snapshot: Snapshot,
    mut changes: Vec<Arc<ChangeRecord>>,
) -> Result<Snapshot, StoreError> {
    while !changes.is_empty() {
        let (applied_to, applied, rest) = tokio::task::spawn_blocking(move || {
            let (applied, rest) = apply_step(&mut snapshot, changes);
            (snapshot, applied, rest)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("applying changes failed: {e}")))?;
        snapshot = applied_to;
        announce_revocations(indexes, tenant, &applied);
        index.publish(snapshot.clone(), applied);
        indexes.published.notify_waiters();
        changes = rest;
    }
    Ok(snapshot)
}

/// Applies changes until `STEP` of them or `STEP_TIME` have gone; returns those applied
/// and those left.
fn apply_step(
    snapshot: &mut Snapshot,
    mut changes: Vec<Arc<ChangeRecord>>,
) -> (Vec<Arc<ChangeRecord>>, Vec<Arc<ChangeRecord>>) {
    let started = Instant::now();
    let mut done = 0;
    for change in &changes {
        snapshot.apply(change.revision, &ops_of(change));
        done += 1;
        if done >= STEP || started.elapsed() >= STEP_TIME {
            break;
        }
    }
    let rest = changes.split_off(done);
    (changes, rest)
}

/// Announces the tokens and access keys that the applied changes revoked.
fn announce_revocations(indexes: &Indexes, tenant: &str, changes: &[Arc<ChangeRecord>]) {
    for change in changes {
        for op in &change.ops {
            if let ChangeOp::Delete { kind, key } = op {
                if kind == "token" {
                    indexes.revoke(Revocation::Token {
                        tenant: Arc::from(tenant),
                        id: Arc::from(key.as_str()),
                    });
                }
            }
        }
    }
}
