//! Objects: creation, conditional writes, rollback, listing, references, isolation.

use grantd_store::{Expect, ListQuery, SqlStore, Store, StoreError};
use serde_json::json;

use crate::{audit, begin, object, put_one, tenant, with_ref};

pub async fn new_tenant_starts_at_revision_one(store: SqlStore) {
    let t = tenant(&store).await;
    assert_eq!(store.tenant_revision(&t).await.expect("revision"), Some(1));
    assert!(matches!(
        store.begin_new_tenant(&t).await.err(),
        Some(StoreError::AlreadyExists)
    ));
    assert!(matches!(
        store.begin("no-such-tenant").await.err(),
        Some(StoreError::NotFound)
    ));
    assert_eq!(
        store.tenant_revision("no-such-tenant").await.expect("ok"),
        None
    );
}

/// A tenant deleted and created again is another incarnation, though its revisions repeat.
pub async fn a_recreated_tenant_is_another_incarnation(store: SqlStore) {
    let t = tenant(&store).await;
    let first = store.tenant_head(&t).await.expect("head").expect("exists");
    store.delete_tenant(&t).await.expect("delete");
    let mut tx = store.begin_new_tenant(&t).await.expect("again");
    tx.put(object("tenant", &t, json!({"id": t})), Expect::Absent)
        .await
        .expect("tenant object");
    tx.commit(audit("tenant.create", &t)).await.expect("commit");
    let second = store.tenant_head(&t).await.expect("head").expect("exists");
    assert_eq!(first.revision, second.revision);
    assert_ne!(first.incarnation, second.incarnation);
    let heads = store.tenant_heads().await.expect("heads");
    assert!(heads.contains(&(t.clone(), second)), "{heads:?}");
}

pub async fn put_then_get_round_trips(store: SqlStore) {
    let t = tenant(&store).await;
    let revision = put_one(&store, &t, "user", "u1", json!({"id": "u1", "n": 1})).await;
    assert_eq!(revision, 2);
    let got = store
        .get(&t, "user", "u1")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(got.body, json!({"id": "u1", "n": 1}));
    assert_eq!(got.version, 2);
    assert!(got.created_at > 0 && got.updated_at == got.created_at);

    let mut tx = begin(&store, &t).await;
    let again = tx
        .put(object("user", "u1", json!({})), Expect::Absent)
        .await;
    assert!(matches!(again, Err(StoreError::AlreadyExists)));
    drop(tx);

    let revision = put_one(&store, &t, "user", "u1", json!({"id": "u1", "n": 2})).await;
    let got = store
        .get(&t, "user", "u1")
        .await
        .expect("get")
        .expect("found");
    assert_eq!((got.version, got.body["n"].clone()), (revision, json!(2)));
    assert_eq!(got.created_at, got.created_at.min(got.updated_at));
}

pub async fn conditional_writes_check_versions(store: SqlStore) {
    let t = tenant(&store).await;
    let v1 = put_one(&store, &t, "role", "r", json!({"a": 1})).await;

    let mut tx = begin(&store, &t).await;
    let stale = tx
        .put(
            object("role", "r", json!({"a": 2})),
            Expect::Version(v1 + 100),
        )
        .await;
    assert!(matches!(stale, Err(StoreError::VersionMismatch { current }) if current == v1));
    let missing = tx
        .put(object("role", "x", json!({})), Expect::Present)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
    let missing = tx
        .put(object("role", "x", json!({})), Expect::Version(1))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
    let written = tx
        .put(object("role", "r", json!({"a": 2})), Expect::Version(v1))
        .await
        .expect("matching version");
    let v2 = tx
        .commit(audit("role.update", "role:r"))
        .await
        .expect("commit")
        .revision;
    assert_eq!(written.version, v2);

    let mut tx = begin(&store, &t).await;
    let stale = tx.delete("role", "r", Expect::Version(v1)).await;
    assert!(matches!(stale, Err(StoreError::VersionMismatch { current }) if current == v2));
    let gone = tx.delete("role", "nope", Expect::Any).await;
    assert!(matches!(gone, Err(StoreError::NotFound)));
    let deleted = tx
        .delete("role", "r", Expect::Version(v2))
        .await
        .expect("delete");
    assert_eq!(deleted.body, json!({"a": 2}));
    tx.commit(audit("role.delete", "role:r"))
        .await
        .expect("commit");
    assert_eq!(store.get(&t, "role", "r").await.expect("get"), None);
}

pub async fn dropped_transaction_leaves_nothing(store: SqlStore) {
    let t = tenant(&store).await;
    let mut tx = begin(&store, &t).await;
    tx.put(object("user", "ghost", json!({})), Expect::Absent)
        .await
        .expect("put");
    drop(tx);
    assert_eq!(store.get(&t, "user", "ghost").await.expect("get"), None);
    assert_eq!(store.tenant_revision(&t).await.expect("rev"), Some(1));
    assert_eq!(
        store.list_changes(&t, 1, 10).await.expect("changes"),
        vec![]
    );
    // The next write takes the revision the dropped one had.
    assert_eq!(put_one(&store, &t, "user", "u", json!({})).await, 2);
}

pub async fn lists_page_in_byte_order_within_prefix(store: SqlStore) {
    let t = tenant(&store).await;
    let mut tx = begin(&store, &t).await;
    for key in [
        "g1/user:b",
        "g1/user:a",
        "g10/user:a",
        "g1/group:Z",
        "g2/user:é",
        "g1/user:é",
    ] {
        tx.put(object("member", key, json!({})), Expect::Absent)
            .await
            .expect("put");
    }
    tx.commit(audit("member.add", "many"))
        .await
        .expect("commit");

    let keys = |objects: Vec<grantd_store::StoredObject>| -> Vec<String> {
        objects.into_iter().map(|o| o.key).collect()
    };
    let all = store
        .list(
            &t,
            "member",
            &ListQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(
        keys(all),
        [
            "g1/group:Z",
            "g1/user:a",
            "g1/user:b",
            "g1/user:é",
            "g10/user:a",
            "g2/user:é"
        ]
    );
    let prefix = Some("g1/".to_string());
    let first = store
        .list(
            &t,
            "member",
            &ListQuery {
                prefix: prefix.clone(),
                after: None,
                limit: 2,
            },
        )
        .await
        .expect("page 1");
    assert_eq!(keys(first), ["g1/group:Z", "g1/user:a"]);
    let second = store
        .list(
            &t,
            "member",
            &ListQuery {
                prefix,
                after: Some("g1/user:a".into()),
                limit: 5,
            },
        )
        .await
        .expect("page 2");
    assert_eq!(keys(second), ["g1/user:b", "g1/user:é"]);
}

pub async fn references_follow_their_holders(store: SqlStore) {
    let t = tenant(&store).await;
    let mut tx = begin(&store, &t).await;
    tx.put(object("user", "u", json!({})), Expect::Absent)
        .await
        .expect("u");
    tx.put(
        with_ref(object("grant", "g", json!({})), "user:u", true),
        Expect::Absent,
    )
    .await
    .expect("g");
    tx.put(
        with_ref(object("role", "r", json!({})), "user:u", false),
        Expect::Absent,
    )
    .await
    .expect("r");
    let holders = tx.referencing("user:u").await.expect("refs");
    let found: Vec<(String, String, bool)> = holders
        .into_iter()
        .map(|h| (h.kind, h.key, h.cascade))
        .collect();
    assert_eq!(
        found,
        [
            ("grant".into(), "g".into(), true),
            ("role".into(), "r".into(), false)
        ]
    );
    // Committed references are readable outside a transaction, by their tenant only.
    tx.commit(audit("x", "y")).await.expect("commit");
    let committed = store.referencing(&t, "user:u").await.expect("refs");
    assert_eq!(committed.len(), 2);
    let other = tenant(&store).await;
    assert!(store
        .referencing(&other, "user:u")
        .await
        .expect("refs")
        .is_empty());
    let mut tx = begin(&store, &t).await;
    // A delete refused (another version, or no such object) leaves every reference.
    let stale = tx.delete("grant", "g", Expect::Version(999)).await;
    assert!(matches!(stale, Err(StoreError::VersionMismatch { .. })));
    assert!(tx.delete("grant", "nothing", Expect::Any).await.is_err());
    assert_eq!(tx.referencing("user:u").await.expect("refs").len(), 2);
    // Rewriting the holder replaces its references; deleting it removes them.
    tx.put(object("role", "r", json!({})), Expect::Present)
        .await
        .expect("r");
    tx.delete("grant", "g", Expect::Any)
        .await
        .expect("delete g");
    assert!(tx.referencing("user:u").await.expect("refs").is_empty());
    tx.commit(audit("x", "y")).await.expect("commit");
}

pub async fn tenants_never_see_each_other(store: SqlStore) {
    let a = tenant(&store).await;
    let b = tenant(&store).await;
    put_one(&store, &a, "user", "same", json!({"owner": "a"})).await;
    put_one(&store, &b, "user", "same", json!({"owner": "b"})).await;
    let got = store
        .get(&b, "user", "same")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(got.body["owner"], "b");
    let listed = store
        .list(
            &a,
            "user",
            &ListQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].body["owner"], "a");
    put_one(&store, &b, "user", "other", json!({})).await;
    let counted = |counts: Vec<(String, u64)>| {
        counts
            .into_iter()
            .map(|(kind, n)| format!("{kind}:{n}"))
            .collect::<Vec<_>>()
    };
    let (in_a, in_b) = (
        store.counts(&a).await.expect("counts"),
        store.counts(&b).await.expect("counts"),
    );
    assert_eq!(counted(in_a), ["tenant:1", "user:1"]);
    assert_eq!(counted(in_b), ["tenant:1", "user:2"]);

    store.delete_tenant(&a).await.expect("delete tenant");
    assert_eq!(store.get(&a, "user", "same").await.expect("get"), None);
    assert_eq!(store.tenant_revision(&a).await.expect("rev"), None);
    assert!(store
        .list_changes(&a, 0, 10)
        .await
        .expect("changes")
        .is_empty());
    assert!(matches!(
        store.delete_tenant(&a).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.get(&b, "user", "same").await.expect("get").is_some());
    let tenants = store
        .list_tenants(&ListQuery {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .expect("tenants");
    assert!(tenants.iter().any(|o| o.key == b) && !tenants.iter().any(|o| o.key == a));
}

/// Every tenant's objects in one ordered pass, paged, skipping a tenant's rest on demand.
pub async fn every_tenants_objects_are_scanned_in_order(store: SqlStore) {
    let (a, b) = (tenant(&store).await, tenant(&store).await);
    for (t, kind, key) in [
        (&a, "user", "u2"),
        (&a, "user", "u1"),
        (&a, "grant", "g1"),
        (&b, "user", "u1"),
        (&a, "label", "skipped"),
    ] {
        put_one(&store, t, kind, key, json!({"id": key})).await;
    }
    let kinds = ["user", "grant"];
    let mut seen = Vec::new();
    let mut after: Option<grantd_store::ScanPosition> = None;
    loop {
        let page = store
            .scan_objects(&kinds, after.as_ref(), false, 2)
            .await
            .expect("scan");
        let Some((t, last)) = page.last() else { break };
        after = Some(grantd_store::ScanPosition {
            tenant: t.clone(),
            kind: last.kind.clone(),
            key: last.key.clone(),
        });
        seen.extend(
            page.iter()
                .filter(|(t, _)| *t == a || *t == b)
                .map(|(t, o)| format!("{}/{}:{}", if *t == a { "a" } else { "b" }, o.kind, o.key)),
        );
    }
    let (first, second) = if a < b { ("a", "b") } else { ("b", "a") };
    let mut expected = vec![
        format!("a/grant:g1"),
        format!("a/user:u1"),
        format!("a/user:u2"),
        format!("b/user:u1"),
    ];
    expected.sort_by_key(|e| (e.starts_with(second), e.clone()));
    assert_eq!(seen, expected, "{first} first");
    // Skipping the rest of the first tenant.
    let skip = grantd_store::ScanPosition {
        tenant: a.clone().min(b.clone()),
        kind: String::new(),
        key: String::new(),
    };
    let rest = store
        .scan_objects(&kinds, Some(&skip), true, 100)
        .await
        .expect("scan");
    assert!(rest.iter().all(|(t, _)| *t > skip.tenant));
    assert!(rest.iter().any(|(t, _)| *t == a.clone().max(b.clone())));
}

/// A read sees the tenant as it was when it began: its revision and its objects agree,
/// whatever commits while it lasts, and it holds up no writer.
pub async fn a_read_sees_one_snapshot(store: SqlStore) {
    let t = tenant(&store).await;
    put_one(&store, &t, "user", "a", json!({"id": "a"})).await;
    let mut read = store.begin_read(&t).await.expect("begin read");
    let seen = read.revision();
    let all = ListQuery {
        prefix: None,
        after: None,
        limit: 100,
    };
    assert_eq!(read.list("user", &all).await.expect("list").len(), 1);
    // Writes commit beside the read, and the read does not see them.
    let later = put_one(&store, &t, "user", "b", json!({"id": "b"})).await;
    assert!(later > seen);
    let mut tx = begin(&store, &t).await;
    tx.delete("user", "a", Expect::Any).await.expect("delete");
    tx.commit(audit("user.delete", "a")).await.expect("commit");
    let users = read.list("user", &all).await.expect("list");
    let keys: Vec<&str> = users.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(keys, ["a"], "as of revision {seen}");
    drop(read);
    let mut read = store.begin_read(&t).await.expect("begin read");
    let users = read.list("user", &all).await.expect("list");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].key, "b");
    assert!(matches!(
        store.begin_read("no-such-tenant").await.err(),
        Some(StoreError::NotFound)
    ));
}

/// A transaction told what it is about to write (an import's prefetch) answers as one that
/// was not: what is there is found, what is not is written, a write over what is there
/// is refused, reads see the writes held back, and a dropped one leaves nothing.
pub async fn prefetched_writes_read_and_write_as_any_other(store: SqlStore) {
    let t = tenant(&store).await;
    put_one(&store, &t, "user", "there", json!({})).await;
    let wanted = [("user", "there"), ("user", "new"), ("group", "g")];

    let mut tx = begin(&store, &t).await;
    tx.prefetch(&wanted).await.expect("prefetch");
    tx.put(object("user", "new", json!({"n": 1})), Expect::Absent)
        .await
        .expect("new");
    let again = tx
        .put(object("user", "there", json!({})), Expect::Absent)
        .await;
    assert!(matches!(again, Err(StoreError::AlreadyExists)), "{again:?}");
    drop(tx);
    assert!(store.get(&t, "user", "new").await.expect("get").is_none());

    let mut tx = begin(&store, &t).await;
    tx.prefetch(&wanted).await.expect("prefetch");
    assert!(tx.get("group", "g").await.expect("get").is_none());
    assert!(tx.get("user", "there").await.expect("get").is_some());
    let group = with_ref(object("group", "g", json!({})), "user:new", true);
    tx.put(group, Expect::Any).await.expect("group");
    tx.put(object("user", "new", json!({"n": 2})), Expect::Absent)
        .await
        .expect("new");
    let mut found = tx
        .existing(&[
            ("user", "new"),
            ("group", "g"),
            ("user", "there"),
            ("user", "none"),
        ])
        .await
        .expect("existing");
    found.sort();
    assert_eq!(
        found,
        [("group", "g"), ("user", "new"), ("user", "there")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    let holders = tx.referencing("user:new").await.expect("referencing");
    assert_eq!(holders.len(), 1, "the held reference is read");
    let query = ListQuery {
        prefix: None,
        after: None,
        limit: 10,
    };
    let listed = tx.list("user", &query).await.expect("list");
    assert_eq!(listed.len(), 2, "the held user is listed");
    let stored = tx
        .get("user", "new")
        .await
        .expect("get")
        .expect("held user");
    assert_eq!(stored.body, json!({"n": 2}));
    let revision = tx
        .commit(audit("import", "t"))
        .await
        .expect("commit")
        .revision;

    let new = store
        .get(&t, "user", "new")
        .await
        .expect("get")
        .expect("new");
    assert_eq!(new.version, revision);
    let changes = store
        .list_changes(&t, revision - 1, 10)
        .await
        .expect("changes");
    assert_eq!(changes[0].ops.len(), 2);
}

/// A long write (an import) holding thousands of new objects hands them to the database
/// on a task of its own while it goes on: what it reads meanwhile sees every one, its
/// commit writes them all with their references, and one dropped midway leaves nothing and
/// frees the tenant for the next write.
pub async fn a_long_write_writes_its_rows_aside_and_loses_none(store: SqlStore) {
    const USERS: usize = 2500;
    let t = tenant(&store).await;
    put_one(&store, &t, "group", "g", json!({})).await;
    let keys: Vec<String> = (0..USERS).map(|i| format!("u{i:05}")).collect();
    let wanted: Vec<(&str, &str)> = keys.iter().map(|k| ("user", k.as_str())).collect();

    let mut tx = store.begin_alone(&t).await.expect("begin alone");
    tx.prefetch(&wanted).await.expect("prefetch");
    for (i, key) in keys.iter().enumerate() {
        let user = with_ref(object("user", key, json!({"i": i})), "group:g", false);
        tx.put(user, Expect::Any).await.expect("put");
        if i == 1500 {
            // Read while the first thousand may still be on their way.
            let holders = tx.referencing("group:g").await.expect("referencing");
            assert_eq!(holders.len(), i + 1, "every reference so far is read");
            let first = tx.get("user", &keys[0]).await.expect("get");
            assert_eq!(first.map(|o| o.body), Some(json!({"i": 0})));
        }
    }
    drop(tx);
    assert!(store
        .get(&t, "user", &keys[0])
        .await
        .expect("get")
        .is_none());
    assert!(store
        .get(&t, "user", &keys[1200])
        .await
        .expect("get")
        .is_none());

    let mut tx = store.begin_alone(&t).await.expect("begin alone again");
    tx.prefetch(&wanted).await.expect("prefetch");
    for (i, key) in keys.iter().enumerate() {
        let user = with_ref(object("user", key, json!({"i": i})), "group:g", false);
        tx.put(user, Expect::Any).await.expect("put");
    }
    let revision = tx
        .commit(audit("tenant.import", &t))
        .await
        .expect("commit")
        .revision;
    let all = ListQuery {
        prefix: None,
        after: None,
        limit: 10_000,
    };
    let mut read = store.begin_read(&t).await.expect("read");
    let users = read.list("user", &all).await.expect("list");
    assert_eq!(users.len(), USERS);
    assert!(users.iter().all(|u| u.key.starts_with('u')));
    let holders = store.referencing(&t, "group:g").await.expect("referencing");
    assert_eq!(holders.len(), USERS, "one reference each");
    let last = store
        .get(&t, "user", &keys[USERS - 1])
        .await
        .expect("get")
        .expect("the last user");
    assert_eq!(
        (last.version, last.body),
        (revision, json!({"i": USERS - 1}))
    );
    let changes = store
        .list_changes(&t, revision - 1, 10)
        .await
        .expect("changes");
    assert_eq!(changes[0].ops.len(), USERS);
}
