//! What nodes share: heartbeats, rate-limit windows, commit notifications.

use std::collections::BTreeMap;
use std::time::Duration;

use grantd_store::testing::unique_name;
use grantd_store::{NodeRecord, SqlStore, Store};
use serde_json::json;

use crate::{put_one, tenant};

pub async fn nodes_heartbeat_and_leave(store: SqlStore) {
    let id = unique_name("node");
    let mut node = NodeRecord {
        id: id.clone(),
        address: "127.0.0.1:1".into(),
        started_at: 1,
        heartbeat_at: chrono_now(),
        applied: BTreeMap::from([("t".to_string(), 3)]),
    };
    store.heartbeat(&node).await.expect("heartbeat");
    node.applied.insert("t".into(), 5);
    node.heartbeat_at += 1;
    store.heartbeat(&node).await.expect("heartbeat again");
    let found: Vec<NodeRecord> = store
        .list_nodes()
        .await
        .expect("list")
        .into_iter()
        .filter(|n| n.id == id)
        .collect();
    assert_eq!(
        found,
        vec![node.clone()],
        "one row per node, the latest heartbeat"
    );
    store.remove_node(&id).await.expect("remove");
    assert!(!store
        .list_nodes()
        .await
        .expect("list")
        .iter()
        .any(|n| n.id == id));
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

pub async fn rate_windows_count_and_reset(store: SqlStore) {
    let key = unique_name("rate");
    let t0 = 1_000_000;
    for expected in 1..=3 {
        let window = store
            .rate_hit(&key, 60_000, t0 + expected)
            .await
            .expect("hit");
        assert_eq!((window.started_at, window.count), (t0 + 1, expected));
    }
    let other = store
        .rate_hit(&unique_name("rate"), 60_000, t0)
        .await
        .expect("hit");
    assert_eq!(other.count, 1, "each key has its own window");
    let next = store
        .rate_hit(&key, 60_000, t0 + 60_001)
        .await
        .expect("hit");
    assert_eq!(
        (next.started_at, next.count),
        (t0 + 60_001, 1),
        "a new window"
    );
}

pub async fn commits_are_announced_where_the_database_can(store: SqlStore) {
    let Some(mut commits) = store.commit_notifications().await.expect("listen") else {
        assert_eq!(store.backend(), "sqlite", "only SQLite has no channel");
        return;
    };
    let t = tenant(&store).await;
    put_one(&store, &t, "user", "u", json!({})).await;
    // The tenant's creation, then the put: each with the revision it made.
    let announced = tokio::time::timeout(Duration::from_secs(5), async {
        let mut revisions = Vec::new();
        while revisions.len() < 2 {
            match commits.recv().await {
                Some(commit) if commit.tenant == t => revisions.push(commit.revision),
                Some(_) => continue,
                None => break,
            }
        }
        revisions
    })
    .await;
    assert_eq!(
        announced,
        Ok(vec![Some(1), Some(2)]),
        "the commits of {t} are announced"
    );
}

pub async fn a_lease_has_one_holder_until_it_expires(store: SqlStore) {
    let name = unique_name("lease");
    let t0 = 1_000_000;
    assert!(store.take_lease(&name, "a", 1000, t0).await.expect("take"));
    assert!(
        !store
            .take_lease(&name, "b", 1000, t0 + 10)
            .await
            .expect("take"),
        "a holds it"
    );
    assert!(store
        .take_lease(&name, "a", 1000, t0 + 500)
        .await
        .expect("renew"));
    assert!(
        !store
            .take_lease(&name, "b", 1000, t0 + 1400)
            .await
            .expect("take"),
        "renewed to 1500"
    );
    assert!(
        store
            .take_lease(&name, "b", 1000, t0 + 1500)
            .await
            .expect("take"),
        "expired: b takes over"
    );
    assert!(!store
        .take_lease(&name, "a", 1000, t0 + 1600)
        .await
        .expect("take"));
    assert!(
        store
            .take_lease(&unique_name("lease"), "a", 1000, t0)
            .await
            .expect("take"),
        "each name its own"
    );
}
