//! Building a tenant's snapshot from the store: its revision first, then every object kind
//! in dependency order. Objects written after the revision was read may already be in the
//! load; replaying their changes afterwards is harmless, since each change sets state
//! absolutely (put this body, delete this key).

use grantd_core::decision::{Op, Snapshot};
use grantd_core::Kind;
use grantd_store::{ChangeOp, ChangeRecord, ListQuery, Store, StoreError};

/// The kinds the index holds, in the order that lets references resolve.
const LOAD_ORDER: [Kind; 7] = [
    Kind::User,
    Kind::Group,
    Kind::Role,
    Kind::Resource,
    Kind::Member,
    Kind::Assignment,
    Kind::Grant,
];

const PAGE: u32 = 10_000;

/// The tenant's snapshot at (at least) its current revision; `None` if it does not exist.
pub async fn build(store: &dyn Store, tenant: &str) -> Result<Option<Snapshot>, StoreError> {
    let Some(revision) = store.tenant_revision(tenant).await? else {
        return Ok(None);
    };
    let mut snapshot = Snapshot::new();
    for kind in LOAD_ORDER {
        let mut after = None;
        loop {
            let query = ListQuery {
                prefix: None,
                after: after.clone(),
                limit: PAGE,
            };
            let page = store.list(tenant, kind.as_str(), &query).await?;
            let ops: Vec<Op> = page
                .iter()
                .map(|o| Op::Put {
                    kind,
                    body: o.body.clone(),
                })
                .collect();
            snapshot.apply(0, &ops);
            match page.last() {
                Some(last) if page.len() == PAGE as usize => after = Some(last.key.clone()),
                _ => break,
            }
        }
    }
    snapshot.apply(revision, &[]);
    Ok(Some(snapshot))
}

/// A change record as the index's operations; kinds the index does not hold are skipped.
pub fn ops_of(change: &ChangeRecord) -> Vec<Op> {
    change
        .ops
        .iter()
        .filter_map(|op| match op {
            ChangeOp::Put { kind, body, .. } => Some(Op::Put {
                kind: Kind::parse(kind)?,
                body: body.clone(),
            }),
            ChangeOp::Delete { kind, key } => Some(Op::Delete {
                kind: Kind::parse(kind)?,
                key: key.clone(),
            }),
        })
        .collect()
}
