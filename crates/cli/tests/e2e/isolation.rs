//! No tenant ever sees another's data: every tenant route of the OpenAPI document, called
//! with tenant A's admin token on tenant B, is refused and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, send, spawn_app};

#[tokio::test]
async fn a_tenant_token_reaches_nothing_of_another_tenant_on_any_route() {
    let app = spawn_app().await;
    let (a, b) = (app.tenant().await, app.tenant().await);
    let admin_a = app.token(&a, "admin").await;
    // Objects in B under the ids the probes use, so a leak would answer 200.
    app.create(&b, "users", json!({"id": "x"})).await;
    app.create(&b, "groups", json!({"id": "x"})).await;
    app.create(
        &b,
        "groups/x/members",
        json!({"member": {"type": "user", "id": "x"}}),
    )
    .await;
    app.create(&b, "roles", json!({"id": "x"})).await;
    app.create(&b, "permissions", json!({"id": "x"})).await;
    app.create(&b, "resources", json!({"type": "x", "id": "x"}))
        .await;
    app.create(&b, "grants", json!({"id": "x", "subject": {"type": "user", "id": "x"}, "privilege": {"type": "role", "id": "x"}, "target": {"type": "tenant"}, "effect": "ALLOW"})).await;
    let b_before = send(app.op(Method::GET, &format!("/v1/tenants/{b}/changes?limit=1000")))
        .await
        .1;

    let (_, doc) = send(app.anonymous(Method::GET, "/openapi.json")).await;
    let mut probed = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.contains("{tenant}") {
            continue;
        }
        let concrete = path
            .replace("{tenant}", &b)
            .replace("{member_type}", "user")
            .replace("{subject_type}", "user")
            .replace("{resource_type}", "x")
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().expect("methods").keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let (status, body) = send(
                app.as_token(&admin_a, method.clone(), &concrete)
                    .json(&json!({"id": "x", "scopes": ["admin"]})),
            )
            .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {concrete}: {body}");
            assert_error(&body, "forbidden");
            probed += 1;
        }
    }
    assert!(probed >= 50, "probed only {probed} operations");

    let b_after = send(app.op(Method::GET, &format!("/v1/tenants/{b}/changes?limit=1000")))
        .await
        .1;
    assert_eq!(b_before, b_after, "tenant B changed");

    // Under its own tenant, A's token finds none of B's objects.
    for path in [
        "users/x",
        "groups/x",
        "roles/x",
        "grants/x",
        "resources/x/x",
    ] {
        let (status, _) =
            send(app.as_token(&admin_a, Method::GET, &format!("/v1/tenants/{a}/{path}"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (_, listed) =
        send(app.as_token(&admin_a, Method::GET, &format!("/v1/tenants/{a}/users"))).await;
    assert_eq!(listed["items"], Value::Array(vec![]));
}
