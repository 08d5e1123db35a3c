//! Building a tenant's snapshot from the store: its revision first, then every object kind
//! in dependency order. Objects written after the revision was read may already be in the
//! load; replaying their changes afterwards is harmless, since each change sets state
//! absolutely (put this body, delete this key).

use grantd_core::decision::{Op, Snapshot};
use grantd_core::Kind;
use std::sync::Arc;

use grantd_store::{ChangeOp, ChangeRecord, ListQuery, Store, StoreError, StoredObject};
use serde_json::Value;
use tokio::sync::mpsc;

/// The kinds the index holds, in the order that lets references resolve.
pub(super) const LOAD_ORDER: [Kind; 7] = [
    Kind::User,
    Kind::Group,
    Kind::Role,
    Kind::Resource,
    Kind::Member,
    Kind::Assignment,
    Kind::Grant,
];

const PAGE: u32 = 2_000;

/// How often a build is started over when its tenant is deleted and created again while
/// it reads.
const ATTEMPTS: usize = 3;

/// The tenant's snapshot at (at least) its current revision, and the incarnation it is of;
/// `None` if the tenant does not exist.
pub async fn build(
    store: Arc<dyn Store>,
    tenant: &str,
) -> Result<Option<(Snapshot, i64)>, StoreError> {
    for _ in 0..ATTEMPTS {
        let Some(head) = store.tenant_head(tenant).await? else {
            return Ok(None);
        };
        let snapshot = load(store.clone(), tenant, head.revision).await?;
        // Objects read after the tenant was deleted and created again would mix two
        // incarnations: incarnations never repeat, so the same one now means none did.
        match store.tenant_head(tenant).await? {
            Some(now) if now.incarnation == head.incarnation => {
                return Ok(Some((snapshot, head.incarnation)))
            }
            Some(_) => continue,
            None => return Ok(None),
        }
    }
    Err(StoreError::Internal(format!(
        "tenant {tenant} was created again {ATTEMPTS} times while its index was built"
    )))
}

/// Every object of the tenant, as a snapshot at `revision`. One task reads and decodes
/// pages from the store while this one applies the previous page, so that on two cores
/// reading and indexing overlap.
async fn load(store: Arc<dyn Store>, tenant: &str, revision: i64) -> Result<Snapshot, StoreError> {
    let mut snapshot = Snapshot::new();
    let held = store.counts(tenant).await?;
    let count_of = |kind: Kind| {
        held.iter()
            .find(|(k, _)| k == kind.as_str())
            .map_or(0, |(_, n)| usize::try_from(*n).unwrap_or(0))
    };
    let counts: Vec<(Kind, usize)> = LOAD_ORDER.iter().map(|&k| (k, count_of(k))).collect();
    snapshot.reserve(&counts);
    // Kinds the tenant holds none of are not read: a small tenant costs few queries.
    let kinds: Vec<Kind> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, _)| *k)
        .collect();
    let (pages, mut received) = mpsc::channel::<Result<(Kind, Vec<StoredObject>), StoreError>>(2);
    let reader = {
        let tenant = tenant.to_string();
        tokio::spawn(async move {
            for kind in kinds {
                let mut after = None;
                loop {
                    let query = ListQuery {
                        prefix: None,
                        after: after.take(),
                        limit: PAGE,
                    };
                    let page = match store.list(&tenant, kind.as_str(), &query).await {
                        Ok(page) => page,
                        Err(error) => {
                            let _ = pages.send(Err(error)).await;
                            return;
                        }
                    };
                    let full = page.len() == PAGE as usize;
                    after = page.last().filter(|_| full).map(|last| last.key.clone());
                    if pages.send(Ok((kind, page))).await.is_err() || after.is_none() {
                        break;
                    }
                }
            }
        })
    };
    while let Some(page) = received.recv().await {
        let (kind, objects) = page?;
        let ops: Vec<Op> = objects
            .into_iter()
            .map(|o| Op::Put { kind, body: o.body })
            .collect();
        snapshot.apply(0, &ops);
    }
    reader
        .await
        .map_err(|e| StoreError::Internal(format!("index reader failed: {e}")))?;
    snapshot.apply::<Value>(revision, &[]);
    Ok(snapshot)
}

/// A change record as the index's operations; kinds the index does not hold are skipped.
pub fn ops_of(change: &ChangeRecord) -> Vec<Op<&Value>> {
    change
        .ops
        .iter()
        .filter_map(|op| match op {
            ChangeOp::Put { kind, body, .. } => Some(Op::Put {
                kind: Kind::parse(kind)?,
                body,
            }),
            ChangeOp::Delete { kind, key } => Some(Op::Delete {
                kind: Kind::parse(kind)?,
                key: key.clone(),
            }),
        })
        .collect()
}
