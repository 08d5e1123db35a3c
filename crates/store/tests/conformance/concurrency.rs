//! Concurrent writers: revisions are dense and increase, and a reader that follows the
//! change records in revision order never misses one, however the commits interleave.

use std::sync::Arc;

use grantd_store::{SqlStore, Store};
use serde_json::json;

use grantd_store::Expect;

use crate::{audit, object, put_one, tenant, with_ref};

const WRITERS: i64 = 8;
const WRITES_EACH: i64 = 15;

/// Starts `WRITERS` tasks at once, each making `WRITES_EACH` writes in turn with
/// `write(store, tenant, writer, i)`; what every write returned, once all are done.
async fn writers<T, F, Fut>(store: &Arc<SqlStore>, t: &str, write: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Arc<SqlStore>, String, i64, i64) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = T> + Send,
{
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, t) = (store.clone(), t.to_string());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for i in 0..WRITES_EACH {
                    outcomes.push(write(store.clone(), t.clone(), w, i).await);
                }
                outcomes
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await.expect("writer"));
    }
    outcomes
}

pub async fn concurrent_writers_commit_in_revision_order(store: SqlStore) {
    let store = Arc::new(store);
    let t = tenant(&store).await;
    let total = WRITERS * WRITES_EACH;

    let reader = {
        let (store, t) = (store.clone(), t.clone());
        tokio::spawn(async move {
            let mut seen = vec![1_i64];
            while (seen.len() as i64) < total + 1 {
                let last = *seen.last().expect("not empty");
                for change in store.list_changes(&t, last, 1000).await.expect("changes") {
                    let expected = *seen.last().expect("not empty") + 1;
                    assert_eq!(change.revision, expected, "the reader skipped a revision");
                    seen.push(change.revision);
                }
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    let mut acknowledged = writers(&store, &t, |store, t, w, i| async move {
        put_one(&store, &t, "user", &format!("w{w}-{i}"), json!({"w": w})).await
    })
    .await;
    acknowledged.sort_unstable();
    assert_eq!(acknowledged, (2..=total + 1).collect::<Vec<_>>());
    let seen = reader.await.expect("reader");
    assert_eq!(seen, (1..=total + 1).collect::<Vec<_>>());
    assert_eq!(
        store.tenant_revision(&t).await.expect("rev"),
        Some(total + 1)
    );
}

/// Writers that arrive together share a transaction (group commit), yet each write is its
/// own: a writer that fails or gives up leaves nothing and costs the others nothing, every
/// acknowledged write is there at the revision it was told, and the change records and the
/// audit chain read as if each had committed alone. The change records a writer is handed
/// with its answer are the store's, of the tenant's incarnation, its own among them.
pub async fn grouped_writers_each_commit_or_fail_alone(store: SqlStore) {
    let store = Arc::new(store);
    let t = tenant(&store).await;
    put_one(&store, &t, "user", "taken", json!({})).await;
    let outcomes = writers(&store, &t, |store, t, w, i| async move {
        let key = format!("w{w}-{i}");
        let mut tx = store.begin(&t).await.expect("begin");
        tx.put(object("user", &key, json!({"w": w})), Expect::Absent)
            .await
            .expect("put");
        let outcome = match i % 3 {
            // Fails halfway: its first put must be undone with it.
            0 => {
                let taken = object("user", "taken", json!({}));
                assert!(tx.put(taken, Expect::Absent).await.is_err());
                drop(tx);
                None
            }
            // Gives up.
            1 if w % 2 == 0 => {
                drop(tx);
                None
            }
            _ => Some(tx.commit(audit("user.put", &key)).await.expect("commit")),
        };
        (key, outcome)
    })
    .await;

    let mut acknowledged = Vec::new();
    let mut handed_over = std::collections::BTreeMap::new();
    let incarnation = store
        .tenant_head(&t)
        .await
        .expect("head")
        .expect("t")
        .incarnation;
    for (key, outcome) in outcomes {
        let found = store.get(&t, "user", &key).await.expect("get");
        match outcome {
            Some(committed) => {
                let revision = committed.revision;
                assert_eq!(found.map(|o| o.version), Some(revision), "{key}");
                assert_eq!(committed.incarnation, incarnation, "{key}");
                assert!(
                    committed.changes.iter().any(|c| c.revision == revision),
                    "{key} is handed its own change"
                );
                for change in committed.changes.iter() {
                    handed_over.insert(change.revision, change.clone());
                }
                acknowledged.push(revision);
            }
            None => assert!(found.is_none(), "{key} was not acknowledged yet is there"),
        }
    }
    acknowledged.sort_unstable();
    let first = 3;
    let last = first + acknowledged.len() as i64 - 1;
    assert_eq!(
        acknowledged,
        (first..=last).collect::<Vec<_>>(),
        "dense revisions"
    );
    assert_eq!(store.tenant_revision(&t).await.expect("rev"), Some(last));
    let changes = store.list_changes(&t, 2, 1000).await.expect("changes");
    let revisions: Vec<i64> = changes.iter().map(|c| c.revision).collect();
    assert_eq!(
        revisions,
        (first..=last).collect::<Vec<_>>(),
        "one change each"
    );
    assert!(
        changes.iter().all(|c| c.ops.len() == 1),
        "each holds its own write"
    );
    for change in &changes {
        let handed = handed_over.get(&change.revision).expect("handed over");
        assert_eq!(**handed, *change, "handed over as stored");
    }
    let filter = grantd_store::AuditFilter {
        limit: 1000,
        ..Default::default()
    };
    let events = store.list_audit(&t, &filter).await.expect("audit");
    assert_eq!(events.len() as i64, last, "one event each");
    crate::assert_chained(&t, &events);
}

/// Writers that prefetch their objects, grouped or not, each learn what the writers before
/// them wrote, though a writer's new objects are held back until it commits its part: one
/// of them creates the shared object and the others find it.
pub async fn prefetching_writers_see_the_writes_before_them(store: SqlStore) {
    let store = Arc::new(store);
    let t = tenant(&store).await;
    let outcomes = writers(&store, &t, |store, t, w, i| async move {
        let key = format!("w{w}-{i}");
        let wanted = [("user", key.as_str()), ("user", "shared")];
        let mut tx = store.begin(&t).await.expect("begin");
        tx.prefetch(&wanted).await.expect("prefetch");
        let created = tx.get("user", "shared").await.expect("get").is_none();
        if created {
            tx.put(object("user", "shared", json!({"by": w})), Expect::Absent)
                .await
                .expect("shared");
        }
        let user = with_ref(object("user", &key, json!({"w": w})), "user:shared", true);
        tx.put(user, Expect::Absent).await.expect("put");
        let committed = tx.commit(audit("user.put", &key)).await.expect("commit");
        (key, created, committed.revision)
    })
    .await;
    let mut creators = Vec::new();
    let mut keys = Vec::new();
    for (key, created, revision) in outcomes {
        let found = store.get(&t, "user", &key).await.expect("get");
        assert_eq!(found.map(|o| o.version), Some(revision), "{key}");
        if created {
            creators.push(revision);
        }
        keys.push(key);
    }
    assert_eq!(creators.len(), 1, "one writer creates the shared user");
    let shared = store.get(&t, "user", "shared").await.expect("get");
    assert_eq!(shared.map(|o| o.version), Some(creators[0]));
    let mut holders: Vec<String> = store
        .referencing(&t, "user:shared")
        .await
        .expect("referencing")
        .into_iter()
        .map(|h| h.key)
        .collect();
    holders.sort();
    keys.sort();
    assert_eq!(holders, keys, "every reference written once");
}
