//! Building every tenant's index at start, in a few reads of the store rather than a few per
//! tenant: a node of 100,000 small tenants would otherwise spend most of its start on
//! round trips. Every tenant's head (revision and incarnation) is read first; then one
//! ordered pass over the objects of every tenant (`Store::scan_objects`), each tenant's
//! objects gathered and applied in dependency order. A tenant found to hold more than
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

use super::load::{build, LOAD_ORDER};

/// Objects read at once.
const PAGE: u32 = 5_000;
/// A tenant holding more objects than this is built on its own, in pages.
const LARGE: usize = 20_000;

/// Every tenant's snapshot and the incarnation it is of.
pub async fn build_every(
    store: Arc<dyn Store>,
) -> Result<Vec<(String, Snapshot, i64)>, StoreError> {
    let heads = store.tenant_heads().await?;
    let kinds: Vec<&str> = LOAD_ORDER.iter().map(|k| k.as_str()).collect();
    let mut scanned: HashMap<String, Snapshot> = HashMap::with_capacity(heads.len());
    let mut large: HashSet<String> = HashSet::new();
    let mut gathering: Option<(String, Vec<(Kind, StoredObject)>)> = None;
    let mut after: Option<ScanPosition> = None;
    let mut skip_rest = false;
    loop {
        let page = store
            .scan_objects(&kinds, after.as_ref(), skip_rest, PAGE)
            .await?;
        skip_rest = false;
        let full = page.len() == PAGE as usize;
        let Some((last_tenant, last)) = page.last() else {
            break;
        };
        after = Some(ScanPosition {
            tenant: last_tenant.clone(),
            kind: last.kind.clone(),
            key: last.key.clone(),
        });
        for (tenant, object) in page {
            if large.contains(&tenant) {
                continue;
            }
            if gathering.as_ref().is_some_and(|(t, _)| *t != tenant) {
                if let Some((done, objects)) = gathering.take() {
                    scanned.insert(done, snapshot_of(objects));
                }
            }
            let (_, objects) = gathering.get_or_insert_with(|| (tenant.clone(), Vec::new()));
            if let Some(kind) = Kind::parse(&object.kind) {
                objects.push((kind, object));
            }
            if objects.len() > LARGE {
                // Too large to gather: built on its own, and the pass moves past it.
                gathering = None;
                after = Some(ScanPosition {
                    tenant: tenant.clone(),
                    kind: String::new(),
                    key: String::new(),
                });
                large.insert(tenant);
                skip_rest = true;
                break;
            }
        }
        if !full && !skip_rest {
            break;
        }
    }
    if let Some((done, objects)) = gathering.take() {
        scanned.insert(done, snapshot_of(objects));
    }

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
                let mut snapshot = scanned.remove(&tenant).unwrap_or_else(Snapshot::new);
                snapshot.apply(head.revision, &[]);
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
