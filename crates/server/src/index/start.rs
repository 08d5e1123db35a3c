//! Building every tenant's index at start, in a few reads of the store rather than a few per
//! tenant: a node of 100,000 small tenants would otherwise spend most of its start on
//! round trips. Every tenant's head (revision and incarnation) is read first; then one
//! ordered pass over the objects of every tenant (`Store::scan_objects`) in a task of its
//! own, each tenant's objects gathered and handed on, and applied here in dependency order. A tenant found to hold more than
//! `LARGE` objects is left out of the pass and built on its own, kind by kind in pages, as
//! the follower builds one. Heads are read again at the end: a tenant deleted meanwhile is
//! left out, one created again is built on its own. As with one tenant's build, objects
//! written after the heads were read may be in the load; replaying their changes is
//! harmless.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use grantd_core::decision::{Op, Snapshot};
use grantd_core::Kind;
use grantd_store::{ScanPosition, Store, StoreError, StoredObject};
use tokio::sync::mpsc;

use super::load::{build, LOAD_ORDER};

/// Objects read at once.
const PAGE: u32 = 5_000;
/// A tenant holding more objects than this is built on its own, in pages.
const LARGE: usize = 20_000;

/// What the reader hands on: a tenant's objects, or a tenant too large to gather.
enum Gathered {
    Objects(String, Vec<(Kind, StoredObject)>),
    Large(String),
}

/// Every tenant's snapshot and the incarnation it is of. One task reads (and decodes) the
/// objects while this one applies them, so that on two cores reading and indexing overlap.
pub async fn build_every(
    store: Arc<dyn Store>,
) -> Result<Vec<(String, Snapshot, i64)>, StoreError> {
    let heads = store.tenant_heads().await?;
    let (sender, mut received) = mpsc::channel::<Result<Gathered, StoreError>>(64);
    let reader = tokio::spawn(read_every(store.clone(), sender));
    let mut scanned: HashMap<String, Snapshot> = HashMap::with_capacity(heads.len());
    let mut large: HashSet<String> = HashSet::new();
    while let Some(gathered) = received.recv().await {
        match gathered? {
            Gathered::Objects(tenant, objects) => {
                scanned.insert(tenant, snapshot_of(objects));
            }
            Gathered::Large(tenant) => {
                large.insert(tenant);
            }
        }
    }
    reader
        .await
        .map_err(|e| StoreError::Internal(format!("index reader failed: {e}")))?;

    let now: HashMap<String, i64> = store
        .tenant_heads()
        .await?
        .into_iter()
        .map(|(tenant, head)| (tenant, head.incarnation))
        .collect();
    let mut built = Vec::with_capacity(heads.len());
    for (tenant, head) in heads {
        match now.get(&tenant) {
            None => continue,
            Some(&incarnation) if incarnation == head.incarnation && !large.contains(&tenant) => {
                // `Snapshot::new`, not `Default`: ids start after the tenant's own.
                let mut snapshot = match scanned.remove(&tenant) {
                    Some(snapshot) => snapshot,
                    None => Snapshot::new(),
                };
                snapshot.apply::<serde_json::Value>(head.revision, &[]);
                built.push((tenant, snapshot, incarnation));
            }
            Some(_) => {
                if let Some((snapshot, incarnation)) = build(store.clone(), &tenant).await? {
                    built.push((tenant, snapshot, incarnation));
                }
            }
        }
    }
    Ok(built)
}

type Page = Result<Vec<(String, StoredObject)>, StoreError>;

/// Reads one page of the pass in a task of its own, so that the next page is read while
/// this one is decoded and handed on.
fn fetch(
    store: &Arc<dyn Store>,
    after: Option<ScanPosition>,
    next_tenant: bool,
) -> tokio::task::JoinHandle<Page> {
    let store = store.clone();
    tokio::spawn(async move {
        let kinds: Vec<&str> = LOAD_ORDER.iter().map(|k| k.as_str()).collect();
        store
            .scan_objects(&kinds, after.as_ref(), next_tenant, PAGE)
            .await
    })
}

/// One ordered pass over every tenant's objects, handing on each tenant's as they end.
async fn read_every(store: Arc<dyn Store>, sender: mpsc::Sender<Result<Gathered, StoreError>>) {
    let mut gathering: Option<(String, Vec<(Kind, StoredObject)>)> = None;
    let mut next = Some(fetch(&store, None, false));
    while let Some(reading) = next.take() {
        let page = match reading.await {
            Ok(Ok(page)) => page,
            Ok(Err(error)) => {
                let _ = sender.send(Err(error)).await;
                return;
            }
            Err(error) => {
                let failed = StoreError::Internal(format!("index reader failed: {error}"));
                let _ = sender.send(Err(failed)).await;
                return;
            }
        };
        if page.len() == PAGE as usize {
            next = page.last().map(|(tenant, last)| {
                let after = ScanPosition {
                    tenant: tenant.clone(),
                    kind: last.kind.clone(),
                    key: last.key.clone(),
                };
                fetch(&store, Some(after), false)
            });
        }
        match forward(page, &mut gathering, &sender).await {
            Forwarded::Page => {}
            Forwarded::Gone => return,
            Forwarded::Large(past) => {
                // The pass moves past the large tenant: the page read ahead is not needed.
                if let Some(ahead) = next.take() {
                    ahead.abort();
                }
                next = Some(fetch(&store, Some(past), true));
            }
        }
    }
    if let Some((done, objects)) = gathering.take() {
        let _ = sender.send(Ok(Gathered::Objects(done, objects))).await;
    }
}

/// How a page was handed on.
enum Forwarded {
    Page,
    /// A tenant too large to gather was met: the pass goes on after it.
    Large(ScanPosition),
    /// The receiver is gone.
    Gone,
}

/// Gathers a page's objects by tenant, handing on each tenant's as they end, and a tenant
/// too large to gather as such.
async fn forward(
    page: Vec<(String, StoredObject)>,
    gathering: &mut Option<(String, Vec<(Kind, StoredObject)>)>,
    sender: &mpsc::Sender<Result<Gathered, StoreError>>,
) -> Forwarded {
    for (tenant, object) in page {
        if gathering.as_ref().is_some_and(|(t, _)| *t != tenant) {
            if let Some((done, objects)) = gathering.take() {
                if sender
                    .send(Ok(Gathered::Objects(done, objects)))
                    .await
                    .is_err()
                {
                    return Forwarded::Gone;
                }
            }
        }
        let (_, objects) = gathering.get_or_insert_with(|| (tenant.clone(), Vec::new()));
        if let Some(kind) = Kind::parse(&object.kind) {
            objects.push((kind, object));
        }
        if objects.len() > LARGE {
            *gathering = None;
            let past = ScanPosition {
                tenant: tenant.clone(),
                kind: String::new(),
                key: String::new(),
            };
            if sender.send(Ok(Gathered::Large(tenant))).await.is_err() {
                return Forwarded::Gone;
            }
            return Forwarded::Large(past);
        }
    }
    Forwarded::Page
}

/// A tenant's snapshot from its objects, applied in dependency order.
fn snapshot_of(mut objects: Vec<(Kind, StoredObject)>) -> Snapshot {
    let rank = |kind: &Kind| LOAD_ORDER.iter().position(|k| k == kind).unwrap_or(0);
    objects.sort_by_key(|(kind, _)| rank(kind));
    let ops: Vec<Op> = objects
        .into_iter()
        .map(|(kind, object)| Op::Put {
            kind,
            body: object.body,
        })
        .collect();
    let mut snapshot = Snapshot::new();
    snapshot.apply(0, &ops);
    snapshot
}
