//! Change records, audit events, tokens and settings.

use grantd_store::{
    AuditEntry, AuditFilter, ChangeOp, Expect, SqlStore, Store, StoreError, TokenRecord,
};
use serde_json::json;

use crate::{audit, begin, object, put_one, tenant};

pub async fn commit_writes_one_change_and_one_audit_event(store: SqlStore) {
    let t = tenant(&store).await;
    let mut tx = begin(&store, &t).await;
    tx.put(object("user", "u", json!({"id": "u"})), Expect::Absent)
        .await
        .expect("put");
    tx.put(object("group", "g", json!({"id": "g"})), Expect::Absent)
        .await
        .expect("put");
    tx.delete("group", "g", Expect::Any).await.expect("delete");
    let revision = tx
        .commit(AuditEntry {
            detail: Some(json!({"why": "test"})),
            ..audit("batch", "user:u")
        })
        .await
        .expect("commit")
        .revision;

    let changes = store.list_changes(&t, 1, 10).await.expect("changes");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].revision, revision);
    assert_eq!(
        changes[0].ops,
        vec![
            ChangeOp::Put {
                kind: "user".into(),
                key: "u".into(),
                body: json!({"id": "u"})
            },
            ChangeOp::Put {
                kind: "group".into(),
                key: "g".into(),
                body: json!({"id": "g"})
            },
            ChangeOp::Delete {
                kind: "group".into(),
                key: "g".into()
            },
        ]
    );
    let all = store.list_changes(&t, 0, 10).await.expect("changes");
    assert_eq!(all.iter().map(|c| c.revision).collect::<Vec<_>>(), [1, 2]);

    let events = store
        .list_audit(
            &t,
            &AuditFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].revision, revision);
    assert_eq!(events[1].entry.action, "batch");
    assert_eq!(events[1].entry.detail, Some(json!({"why": "test"})));
    assert_eq!(events[1].entry.client_addr.as_deref(), Some("127.0.0.1"));
}

/// The largest change record in a range of revisions is told by its size, without reading
/// it; another tenant's count for nothing.
pub async fn the_largest_change_is_told_by_its_size(store: SqlStore) {
    let t = tenant(&store).await;
    let small = put_one(&store, &t, "user", "a", json!({"id": "a"})).await;
    let large = put_one(&store, &t, "user", "b", json!({"note": "x".repeat(10_000)})).await;
    let last = put_one(&store, &t, "user", "c", json!({"id": "c"})).await;
    let other = tenant(&store).await;
    put_one(
        &store,
        &other,
        "user",
        "d",
        json!({"note": "y".repeat(50_000)}),
    )
    .await;
    let size = |after, upto| {
        let (store, t) = (&store, &t);
        async move { store.largest_change(t, after, upto).await.expect("size") }
    };
    let whole = size(0, last).await;
    assert!((10_000..11_000).contains(&whole), "{whole}");
    assert_eq!(size(small - 1, small).await, size(last - 1, last).await);
    assert!(size(small - 1, small).await < 200);
    assert_eq!(size(large - 1, large).await, whole);
    assert_eq!(size(last, last + 10).await, 0, "none after the last");
}

pub async fn audit_events_filter_by_actor_target_and_time(store: SqlStore) {
    let t = tenant(&store).await;
    for (actor, target) in [("alice", "user:a"), ("bob", "user:b"), ("alice", "user:b")] {
        let mut tx = begin(&store, &t).await;
        tx.put(object("user", target, json!({})), Expect::Any)
            .await
            .expect("put");
        tx.commit(AuditEntry {
            actor: actor.into(),
            ..audit("user.put", target)
        })
        .await
        .expect("commit");
    }
    let filter = |f: AuditFilter| AuditFilter { limit: 100, ..f };
    let revisions = |events: Vec<grantd_store::AuditRecord>| -> Vec<i64> {
        events.iter().map(|e| e.revision).collect()
    };
    let by_alice = store
        .list_audit(
            &t,
            &filter(AuditFilter {
                actor: Some("alice".into()),
                ..Default::default()
            }),
        )
        .await
        .expect("audit");
    assert_eq!(revisions(by_alice), [2, 4]);
    let on_b = store
        .list_audit(
            &t,
            &filter(AuditFilter {
                target: Some("user:b".into()),
                ..Default::default()
            }),
        )
        .await
        .expect("audit");
    assert_eq!(revisions(on_b), [3, 4]);
    let both = store
        .list_audit(
            &t,
            &filter(AuditFilter {
                actor: Some("alice".into()),
                target: Some("user:b".into()),
                after: 1,
                ..Default::default()
            }),
        )
        .await
        .expect("audit");
    assert_eq!(revisions(both), [4]);
    let all = store
        .list_audit(&t, &filter(AuditFilter::default()))
        .await
        .expect("audit");
    let future = all.last().map(|e| e.at + 1).expect("events");
    let none = store
        .list_audit(
            &t,
            &filter(AuditFilter {
                from: Some(future),
                ..Default::default()
            }),
        )
        .await
        .expect("audit");
    assert!(none.is_empty());
    let before = store
        .list_audit(
            &t,
            &filter(AuditFilter {
                to: Some(future),
                after: 2,
                ..Default::default()
            }),
        )
        .await
        .expect("audit");
    assert_eq!(revisions(before), [3, 4]);
}

pub async fn audit_events_filter_by_what_their_target_or_detail_mentions(store: SqlStore) {
    let t = tenant(&store).await;
    let events = [
        ("user:Ada_1", None),
        (
            "user:bob",
            Some(json!({"events": [{"resourceId": "ada_1", "resourceType": "policy"}]})),
        ),
        (
            "group:g",
            Some(json!({"events": [{"resourceId": "g", "resourceType": "group"}]})),
        ),
        ("user:ada%1", None),
    ];
    for (target, detail) in events {
        let mut tx = begin(&store, &t).await;
        tx.put(object("user", target, json!({})), Expect::Any)
            .await
            .expect("put");
        tx.commit(AuditEntry {
            detail,
            ..audit("user.put", target)
        })
        .await
        .expect("commit");
    }
    let mentioning = |mentions: &[&str]| {
        let store = &store;
        let t = &t;
        let filter = AuditFilter {
            mentions: mentions.iter().map(|m| m.to_string()).collect(),
            limit: 100,
            ..Default::default()
        };
        async move {
            let found = store.list_audit(t, &filter).await.expect("audit");
            found.iter().map(|e| e.revision).collect::<Vec<_>>()
        }
    };
    // In the target or in the detail, ASCII case ignored; `%` and `_` are plain text.
    assert_eq!(mentioning(&["ADA_1"]).await, [2, 3]);
    assert_eq!(mentioning(&["ada%1"]).await, [5]);
    assert_eq!(mentioning(&["a_a"]).await, Vec::<i64>::new());
    // Every mention must hold.
    assert_eq!(mentioning(&["ada_1", "policy"]).await, [3]);
    assert_eq!(mentioning(&["group", "g"]).await, [4]);
    assert_eq!(mentioning(&[]).await, [1, 2, 3, 4, 5]);
}

pub async fn tokens_are_found_by_hash_and_deleted_per_tenant(store: SqlStore) {
    let a = tenant(&store).await;
    let b = tenant(&store).await;
    let token = TokenRecord {
        id: format!("{a}-tok"),
        tenant: a.clone(),
        hash: format!("hash-{a}"),
        scopes: vec!["read".into(), "check".into()],
        name: Some("ci".into()),
        created_at: 42,
        signing_key: None,
    };
    let access_key = TokenRecord {
        id: format!("{a}-AK"),
        hash: format!("ak:{a}"),
        signing_key: Some("secret-key".into()),
        ..token.clone()
    };
    let mut tx = begin(&store, &a).await;
    tx.insert_token(&token).await.expect("insert");
    tx.insert_token(&access_key).await.expect("insert");
    tx.commit(audit("token.create", "token:x"))
        .await
        .expect("commit");

    assert_eq!(
        store.find_token(&token.hash).await.expect("find"),
        Some(token.clone())
    );
    assert_eq!(store.find_token("other").await.expect("find"), None);
    // Access keys are found by id, in their tenant only; bearer tokens are not access keys.
    assert_eq!(
        store
            .find_access_key(&a, &access_key.id)
            .await
            .expect("find"),
        Some(access_key.clone())
    );
    assert_eq!(
        store
            .find_access_key(&b, &access_key.id)
            .await
            .expect("find"),
        None
    );
    assert_eq!(
        store.find_access_key(&a, &token.id).await.expect("find"),
        None
    );
    // Secret keys written in clear are found, and replaced only from what they hold.
    let clear = store
        .access_keys_without("sealed:")
        .await
        .expect("clear keys");
    assert!(clear.iter().any(|k| k.id == access_key.id));
    assert!(
        !clear.iter().any(|k| k.id == token.id),
        "a bearer token has no secret key"
    );
    assert!(!store
        .replace_signing_key(&access_key.id, "other", "sealed:x")
        .await
        .expect("cas"));
    assert!(store
        .replace_signing_key(&access_key.id, "secret-key", "sealed:x")
        .await
        .expect("cas"));
    let still = store
        .access_keys_without("sealed:")
        .await
        .expect("clear keys");
    assert!(!still.iter().any(|k| k.id == access_key.id));
    assert!(store
        .replace_signing_key(&access_key.id, "sealed:x", "secret-key")
        .await
        .expect("back"));
    let listed = store
        .list_tokens(
            &a,
            &grantd_store::ListQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(listed, vec![access_key.clone(), token.clone()]);
    assert!(store
        .list_tokens(
            &b,
            &grantd_store::ListQuery {
                limit: 10,
                ..Default::default()
            }
        )
        .await
        .expect("list")
        .is_empty());

    let mut tx = begin(&store, &b).await;
    assert!(matches!(
        tx.delete_token(&token.id).await,
        Err(StoreError::NotFound)
    ));
    drop(tx);
    let mut tx = begin(&store, &a).await;
    assert_eq!(tx.delete_token(&token.id).await.expect("delete"), token);
    tx.commit(audit("token.delete", "token:x"))
        .await
        .expect("commit");
    assert_eq!(store.find_token(&token.hash).await.expect("find"), None);
    let _ = put_one;
}

pub async fn settings_round_trip(store: SqlStore) {
    let name = grantd_store::testing::unique_name("setting");
    assert_eq!(store.get_setting(&name).await.expect("get"), None);
    store.put_setting(&name, "one").await.expect("put");
    store.put_setting(&name, "two").await.expect("put");
    assert_eq!(
        store.get_setting(&name).await.expect("get").as_deref(),
        Some("two")
    );
    store.ping().await.expect("ping");
}

pub async fn audit_events_chain_and_prune_keeps_the_rest_verifiable(store: SqlStore) {
    let t = tenant(&store).await;
    for i in 0..4 {
        put_one(&store, &t, "user", &format!("u{i}"), json!({})).await;
    }
    let filter = grantd_store::AuditFilter {
        limit: 100,
        ..Default::default()
    };
    let events = store.list_audit(&t, &filter).await.expect("list");
    assert_eq!(events.len(), 5);
    assert_eq!(
        events[0].prev_hash.as_deref(),
        Some(""),
        "the first has no predecessor"
    );
    crate::assert_chained(&t, &events);
    assert_eq!(store.audit_floor(&t).await.expect("floor"), Some(1));
    let pruned = store.prune_audit(&t, i64::MAX).await.expect("prune");
    assert_eq!(pruned, 4, "all but the latest");
    let kept = store.list_audit(&t, &filter).await.expect("list");
    assert_eq!(kept.len(), 1);
    assert_eq!(
        store.audit_floor(&t).await.expect("floor"),
        Some(kept[0].revision)
    );
    assert_eq!(
        kept[0].prev_hash, events[3].hash,
        "the anchor of what remains"
    );
    put_one(&store, &t, "user", "after", json!({})).await;
    let after = store.list_audit(&t, &filter).await.expect("list");
    assert_eq!(after[1].prev_hash, after[0].hash, "the chain goes on");
    assert!(matches!(
        store.prune_audit("no-such-tenant", 0).await,
        Err(StoreError::NotFound)
    ));
}

/// Whatever text a value holds (quotes, backslashes, a statement's syntax, any script) is
/// stored and read back as given: in an object, its references, its change record and its
/// audit event, written as a single write writes them (held back, then several rows a
/// statement).
pub async fn values_are_stored_as_given_whatever_they_hold(store: SqlStore) {
    let t = tenant(&store).await;
    let texts = [
        "it's",
        "''",
        "\\",
        "\\'",
        "'); DELETE FROM objects; --",
        "$$ $tag$ E'\\x41' \\000",
        "é 名 🙂",
        "line\nbreak\ttab\u{1}",
    ];
    for (i, text) in texts.iter().enumerate() {
        let key = format!("k{i}{text}");
        let target = format!("user:{text}");
        let mut tx = begin(&store, &t).await;
        tx.prefetch(&[("user", key.as_str())])
            .await
            .expect("prefetch");
        let body = json!({"text": text, "key": key});
        let user = crate::with_ref(object("user", &key, body.clone()), &target, false);
        tx.put(user, Expect::Absent).await.expect("put");
        let entry = AuditEntry {
            actor: text.to_string(),
            action: "user.create".into(),
            target: key.clone(),
            request_id: text.to_string(),
            client_addr: Some(text.to_string()),
            detail: Some(json!({"text": text})),
        };
        let revision = tx.commit(entry.clone()).await.expect("commit").revision;

        let stored = store.get(&t, "user", &key).await.expect("get");
        assert_eq!(
            stored.map(|o| (o.body, o.version)),
            Some((body.clone(), revision))
        );
        let changes = store
            .list_changes(&t, revision - 1, 1)
            .await
            .expect("changes");
        let put = ChangeOp::Put {
            kind: "user".into(),
            key: key.clone(),
            body,
        };
        assert_eq!(changes[0].ops, vec![put], "{text:?}");
        let holders = store.referencing(&t, &target).await.expect("referencing");
        let holders: Vec<&str> = holders.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(holders, [key.as_str()], "{text:?}");
        let filter = AuditFilter {
            limit: 100,
            ..Default::default()
        };
        let events = store.list_audit(&t, &filter).await.expect("audit");
        let event = events.iter().find(|e| e.revision == revision);
        assert_eq!(event.map(|e| &e.entry), Some(&entry), "{text:?}");
        crate::assert_chained(&t, &events);
    }
}
