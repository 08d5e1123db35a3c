//! Concurrent writers: revisions are dense and increase, and a reader that follows the
//! change records in revision order never misses one, however the commits interleave.

use std::sync::Arc;

use grantd_store::{SqlStore, Store};
use serde_json::json;

use crate::{put_one, tenant};

const WRITERS: i64 = 8;
const WRITES_EACH: i64 = 15;

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
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, t) = (store.clone(), t.clone());
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                for i in 0..WRITES_EACH {
                    let key = format!("w{w}-{i}");
                    revisions.push(put_one(&store, &t, "user", &key, json!({"w": w})).await);
                }
                revisions
            })
        })
        .collect();

    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.expect("writer"));
    }
    acknowledged.sort_unstable();
    assert_eq!(acknowledged, (2..=total + 1).collect::<Vec<_>>());
    let seen = reader.await.expect("reader");
    assert_eq!(seen, (1..=total + 1).collect::<Vec<_>>());
    assert_eq!(
        store.tenant_revision(&t).await.expect("rev"),
        Some(total + 1)
    );
}
