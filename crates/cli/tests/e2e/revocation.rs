//! No allow after revoke: once access is taken away, no node, stream or cache gives it back.
//! Each test here reproduces a way grantd was made to answer allow (or go on streaming)
//! after a revocation, found by attacking it as a hostile tenant would (issue 15).

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Connection;

use crate::helpers::{send, spawn_app, spawn_with, TestApp};
use crate::private_pg::PrivatePostgres;

/// Two nodes in this process over one PostgreSQL database.
async fn two_nodes(url: &str) -> (TestApp, TestApp) {
    let node = |id: &'static str| {
        let url = url.to_string();
        spawn_with(move |c| {
            c.database_url = Some(url);
            c.node_id = Some(id.into());
            c.heartbeat_ms = 200;
        })
    };
    (node("a").await, node("b").await)
}

async fn create_tenant(app: &TestApp, id: &str) {
    let (status, body) = send(app.op(Method::POST, "/v1/tenants").json(&json!({"id": id}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn delete_tenant(app: &TestApp, id: &str) {
    let (status, body) = send(app.op(Method::DELETE, &format!("/v1/tenants/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// Gives user `u` `read` on every resource of the tenant; returns the tenant's revision.
async fn grant_read(app: &TestApp, t: &str) -> i64 {
    let grant = app
        .create(
            t,
            "grants",
            json!({
                "subject": {"type": "user", "id": "u"},
                "privilege": {"type": "actions", "actions": ["read"]},
                "target": {"type": "tenant"},
                "effect": "ALLOW"
            }),
        )
        .await;
    assert!(grant["id"].is_string(), "{grant}");
    app.revision(t).await
}

async fn check(app: &TestApp, t: &str, consistency: Value) -> Value {
    let (status, body) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/check"))
            .json(&json!({
                "subject": {"type": "user", "id": "u"},
                "action": "read",
                "resource": {"type": "doc", "id": "d1"},
                "consistency": consistency,
                "explain": true,
            })),
    )
    .await;
    assert!(
        status == StatusCode::OK || status == StatusCode::NOT_FOUND,
        "{status} {body}"
    );
    body
}

/// Node b answers for the tenant `t` as now created (user `u`, no grant), never from the
/// deleted tenant's index, in checks and lookups, at once and from then on.
async fn never_allows_the_deleted(b: &TestApp, t: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        let body = check(b, t, json!({"mode": "fully_consistent"})).await;
        assert_ne!(
            body["allowed"], true,
            "the deleted tenant's grant allowed: {body}"
        );
        let (status, found) = send(
            b.op(Method::POST, &format!("/v1/tenants/{t}/lookup/subjects"))
                .json(&json!({
                    "action": "read", "resource": {"type": "doc", "id": "d1"},
                    "consistency": {"mode": "fully_consistent"}
                })),
        )
        .await;
        assert!(
            status != StatusCode::OK || found["items"] == json!([]),
            "lookup found the deleted tenant's grant: {found}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A tenant with user `u` allowed to read, its revision padded past what the tenant
/// created again will reach.
async fn tenant_with_grant(a: &TestApp, b: &TestApp, t: &str) {
    create_tenant(a, t).await;
    a.create(t, "users", json!({"id": "u"})).await;
    grant_read(a, t).await;
    for i in 0..5 {
        a.create(t, "users", json!({"id": format!("pad{i}")})).await;
    }
    let revision = a.revision(t).await;
    let fresh = json!({"mode": "at_least_as_fresh", "revision": revision});
    assert_eq!(check(b, t, fresh).await["allowed"], true);
}

/// Finding 1: a tenant deleted and created again within a second kept the old tenant's
/// index on the other node, whose deleted grants went on allowing: deleting a tenant was
/// not announced, and a revision alone cannot tell two incarnations of a tenant apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recreated_tenant_keeps_nothing_of_the_deleted_one_on_any_node() {
    let Some(url) = grantd_store::testing::fresh_postgres_url().await else {
        return;
    };
    let (a, b) = two_nodes(&url).await;
    let t = grantd_store::testing::unique_name("reborn");

    // Deleted through the API: announced to every node.
    tenant_with_grant(&a, &b, &t).await;
    delete_tenant(&a, &t).await;
    create_tenant(&a, &t).await;
    a.create(&t, "users", json!({"id": "u"})).await;
    never_allows_the_deleted(&b, &t).await;
    // Later writes apply to the new tenant's index, not on top of the old one.
    let revision = grant_read(&a, &t).await;
    let fresh = json!({"mode": "at_least_as_fresh", "revision": revision});
    let body = check(&b, &t, fresh).await;
    assert_eq!(body["allowed"], true, "{body}");
    delete_tenant(&a, &t).await;

    // Deleted with the announcement lost (straight in the database, as a node whose
    // notification connection dropped would miss it): the next commit of the tenant of
    // the same name is of another incarnation, and node b rebuilds.
    tenant_with_grant(&a, &b, &t).await;
    let mut db = sqlx::PgConnection::connect(&url).await.expect("connect");
    for table in [
        "tenants",
        "objects",
        "object_refs",
        "changes",
        "audit_events",
        "tokens",
    ] {
        let column = if table == "tenants" { "id" } else { "tenant" };
        sqlx::query(&format!("DELETE FROM {table} WHERE {column} = $1"))
            .bind(&t)
            .execute(&mut db)
            .await
            .expect("delete");
    }
    create_tenant(&a, &t).await;
    a.create(&t, "users", json!({"id": "u"})).await;
    never_allows_the_deleted(&b, &t).await;
}

/// Finding 6: node b refused a token revoked on node a, then accepted it again while the
/// database was unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_before_an_outage_stays_revoked_during_it() {
    let Some(pg) = PrivatePostgres::create() else {
        return;
    };
    let (a, b) = two_nodes(&pg.url()).await;
    let t = grantd_store::testing::unique_name("outage");
    create_tenant(&a, &t).await;
    let (status, issued) = send(
        a.op(Method::POST, &format!("/v1/tenants/{t}/tokens"))
            .json(&json!({"scopes": ["check"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let secret = issued["token"].as_str().expect("token").to_string();
    let id = issued["id"].as_str().expect("id").to_string();
    let on_b = || {
        b.as_token(&secret, Method::POST, &format!("/v1/tenants/{t}/check"))
            .json(
                &json!({"subject": {"type": "user", "id": "u"}, "action": "read",
                "resource": {"type": "doc", "id": "d1"}}),
            )
    };
    assert_eq!(send(on_b()).await.0, StatusCode::OK);

    let (status, _) = send(a.op(Method::DELETE, &format!("/v1/tenants/{t}/tokens/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let revoked = Instant::now();
    while send(on_b()).await.0 == StatusCode::OK {
        assert!(
            revoked.elapsed() < Duration::from_secs(10),
            "node b never refused the revoked token"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("revocation reached node b in {:?}", revoked.elapsed());

    pg.stop();
    for _ in 0..20 {
        let (status, body) = send(on_b()).await;
        assert_ne!(
            status,
            StatusCode::OK,
            "the revoked token works again during the outage: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    pg.start();
}

/// Reads a stream's text until it ends or `within` passes; true if it ended.
async fn ends_within(
    response: &mut reqwest::Response,
    within: Duration,
    seen: &mut String,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Err(_) => return false,
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Ok(None)) | Ok(Err(_)) => return true,
        }
    }
}

/// Finding 5: an open watch stream went on delivering changes after its token was
/// revoked, and after its tenant was deleted and created again, the new tenant's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_end_when_their_token_or_tenant_goes() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let reader = app.token(&t, "read").await;
    let reader_id = {
        let (_, tokens) = send(app.op(Method::GET, &format!("/v1/tenants/{t}/tokens"))).await;
        tokens["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["scopes"] == json!(["read"])))
            .and_then(|i| i["id"].as_str())
            .expect("the read token is listed")
            .to_string()
    };
    let watch = |token: &str| {
        app.as_token(token, Method::GET, &format!("/v1/tenants/{t}/watch"))
            .send()
    };
    let mut stream = watch(&reader).await.expect("watch");
    assert_eq!(stream.status(), StatusCode::OK);
    let mut seen = String::new();
    let (status, _) = send(app.op(
        Method::DELETE,
        &format!("/v1/tenants/{t}/tokens/{reader_id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.create(&t, "users", json!({"id": "secret-after-revoke"}))
        .await;
    assert!(
        ends_within(&mut stream, Duration::from_secs(3), &mut seen).await,
        "the stream of a revoked token stays open"
    );
    assert!(!seen.contains("secret-after-revoke"), "{seen}");

    // The operator's stream ends with the tenant; a tenant of the same name is another.
    let mut stream = app
        .op(Method::GET, &format!("/v1/tenants/{t}/watch"))
        .send()
        .await
        .expect("watch");
    assert_eq!(stream.status(), StatusCode::OK);
    let mut seen = String::new();
    delete_tenant(&app, &t).await;
    create_tenant(&app, &t).await;
    app.create(&t, "users", json!({"id": "new-incarnation"}))
        .await;
    assert!(
        ends_within(&mut stream, Duration::from_secs(3), &mut seen).await,
        "the stream outlives its tenant"
    );
    assert!(!seen.contains("new-incarnation"), "{seen}");
}
