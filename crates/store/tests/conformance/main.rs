//! The store conformance suite: every storage behaviour, written once, run against SQLite
//! and PostgreSQL. `conformance!` turns each behaviour into one test per backend.

mod cluster;
mod concurrency;
mod objects;
mod records;

use grantd_store::{testing, AuditEntry, Expect, NewObject, NewRef, SqlStore, Store, WriteTx};
use serde_json::{json, Value};

pub async fn sqlite() -> Option<SqlStore> {
    Some(
        SqlStore::open(&testing::scratch_sqlite_url("conformance"))
            .await
            .expect("open sqlite"),
    )
}

pub async fn postgres() -> Option<SqlStore> {
    let url = testing::postgres_url().await?;
    Some(SqlStore::open(&url).await.expect("open postgres"))
}

/// Runs each named behaviour `async fn(SqlStore)` once on each backend.
macro_rules! conformance {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store = crate::sqlite().await.expect("sqlite is always there");
                crate::$module::$name(store).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(store) = crate::postgres().await {
                    crate::$module::$name(store).await;
                }
            })*
        }
    };
}

conformance!(
    objects::new_tenant_starts_at_revision_one,
    objects::a_recreated_tenant_is_another_incarnation,
    objects::every_tenants_objects_are_scanned_in_order,
    objects::put_then_get_round_trips,
    objects::conditional_writes_check_versions,
    objects::dropped_transaction_leaves_nothing,
    objects::lists_page_in_byte_order_within_prefix,
    objects::references_follow_their_holders,
    objects::tenants_never_see_each_other,
    objects::a_read_sees_one_snapshot,
    objects::prefetched_writes_read_and_write_as_any_other,
    objects::a_long_write_writes_its_rows_aside_and_loses_none,
    records::commit_writes_one_change_and_one_audit_event,
    records::the_largest_change_is_told_by_its_size,
    records::audit_events_filter_by_actor_target_and_time,
    records::audit_events_filter_by_what_their_target_or_detail_mentions,
    records::tokens_are_found_by_hash_and_deleted_per_tenant,
    records::settings_round_trip,
    records::audit_events_chain_and_prune_keeps_the_rest_verifiable,
    cluster::nodes_heartbeat_and_leave,
    cluster::rate_windows_count_and_reset,
    cluster::a_lease_has_one_holder_until_it_expires,
    cluster::commits_are_announced_where_the_database_can,
    concurrency::concurrent_writers_commit_in_revision_order,
    concurrency::grouped_writers_each_commit_or_fail_alone,
    concurrency::prefetching_writers_see_the_writes_before_them,
    records::values_are_stored_as_given_whatever_they_hold,
);

/// A new tenant with its creation committed, named uniquely for shared databases.
pub async fn tenant(store: &SqlStore) -> String {
    let name = testing::unique_name("t");
    let mut tx = store.begin_new_tenant(&name).await.expect("new tenant");
    tx.put(object("tenant", &name, json!({"id": name})), Expect::Absent)
        .await
        .expect("tenant object");
    tx.commit(audit("tenant.create", &name))
        .await
        .expect("commit");
    name
}

pub fn object(kind: &str, key: &str, body: Value) -> NewObject {
    NewObject {
        kind: kind.into(),
        key: key.into(),
        body,
        refs: Vec::new(),
    }
}

pub fn with_ref(mut object: NewObject, target: &str, cascade: bool) -> NewObject {
    object.refs.push(NewRef {
        field: "f".into(),
        target: target.into(),
        cascade,
    });
    object
}

pub fn audit(action: &str, target: &str) -> AuditEntry {
    AuditEntry {
        actor: "operator".into(),
        action: action.into(),
        target: target.into(),
        request_id: "req-1".into(),
        client_addr: Some("127.0.0.1".into()),
        detail: None,
    }
}

/// Puts one object in its own committed transaction; returns the revision.
pub async fn put_one(store: &SqlStore, tenant: &str, kind: &str, key: &str, body: Value) -> i64 {
    let mut tx = store.begin(tenant).await.expect("begin");
    tx.put(object(kind, key, body), Expect::Any)
        .await
        .expect("put");
    tx.commit(audit(&format!("{kind}.put"), key))
        .await
        .expect("commit")
        .revision
}

pub async fn begin(store: &SqlStore, tenant: &str) -> Box<dyn WriteTx> {
    store.begin(tenant).await.expect("begin")
}

/// Each event names the one before it and carries the hash of its own fields and that name.
pub fn assert_chained(tenant: &str, events: &[grantd_store::AuditRecord]) {
    for pair in events.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "each names the one before");
    }
    for e in events {
        let expected = grantd_store::chain_hash(
            tenant,
            e.revision,
            e.at,
            &e.entry,
            e.prev_hash.as_deref().unwrap_or_default(),
        );
        assert_eq!(
            e.hash.as_deref(),
            Some(expected.as_str()),
            "event {}",
            e.revision
        );
    }
}
