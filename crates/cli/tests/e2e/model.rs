//! The model's own rules through the API: nested groups without cycles, roles including
//! roles, resources with parents, role assignments, grants of every shape, references that
//! must exist, and deletes that cascade or are refused.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, send, spawn_app, TestApp};

async fn ids(app: &TestApp, path: &str, field: &str) -> Vec<String> {
    let (status, body) = send(app.op(Method::GET, path)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            i.pointer(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn groups_nest_without_cycles() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let base = format!("/v1/tenants/{t}");
    app.create(&t, "users", json!({"id": "alice"})).await;
    for g in ["eng", "platform", "sre"] {
        app.create(&t, "groups", json!({"id": g})).await;
    }
    // alice ∈ sre ∈ platform ∈ eng
    app.create(
        &t,
        "groups/sre/members",
        json!({"member": {"type": "user", "id": "alice"}}),
    )
    .await;
    let (status, _) = send(
        app.op(
            Method::PUT,
            &format!("{base}/groups/platform/members/group/sre"),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = send(
        app.op(
            Method::PUT,
            &format!("{base}/groups/platform/members/group/sre"),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "adding a member twice is idempotent"
    );
    app.create(
        &t,
        "groups/eng/members",
        json!({"member": {"type": "group", "id": "platform"}}),
    )
    .await;

    let (status, body) = send(
        app.op(Method::PUT, &format!("{base}/groups/sre/members/group/eng"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let message = assert_error(&body, "cycle_detected");
    assert!(
        message.contains("group eng -> group sre -> group platform -> group eng"),
        "{message}"
    );
    let (status, body) = send(
        app.op(Method::PUT, &format!("{base}/groups/eng/members/group/eng"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, body) = send(
        app.op(Method::POST, &format!("{base}/groups/eng/members"))
            .json(&json!({"member": {"type": "role", "id": "x"}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"][0]["field"], "member.type");
    let (status, body) = send(
        app.op(Method::POST, &format!("{base}/groups/nope/members"))
            .json(&json!({"member": {"type": "user", "id": "alice"}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(assert_error(&body, "validation_failed").contains("group nope does not exist"));
    let (status, _) = send(
        app.op(Method::POST, &format!("{base}/groups/eng/members"))
            .json(&json!({"group": "sre", "member": {"type": "user", "id": "alice"}})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the body cannot contradict the path"
    );

    assert_eq!(
        ids(
            &app,
            &format!("{base}/groups/platform/members"),
            "/member/id"
        )
        .await,
        ["sre"]
    );
    let (status, body) = send(app.op(
        Method::GET,
        &format!("{base}/groups/sre/members/user/alice"),
    ))
    .await;
    assert_eq!(
        (status, body["group"].as_str()),
        (StatusCode::OK, Some("sre"))
    );
    let (status, _) = send(app.op(
        Method::DELETE,
        &format!("{base}/groups/sre/members/user/alice"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(app.op(
        Method::GET,
        &format!("{base}/groups/sre/members/user/alice"),
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Deleting a group takes its memberships, both ways, with it.
    let (status, _) = send(app.op(Method::DELETE, &format!("{base}/groups/platform"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        ids(&app, &format!("{base}/groups/eng/members"), "/member/id")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn roles_include_roles_and_refuse_cycles_and_dangling_deletes() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let base = format!("/v1/tenants/{t}");
    app.create(&t, "roles", json!({"id": "viewer", "actions": ["read"]}))
        .await;
    app.create(
        &t,
        "roles",
        json!({"id": "editor", "actions": ["write"], "includes": ["viewer"]}),
    )
    .await;
    app.create(
        &t,
        "roles",
        json!({"id": "owner", "actions": ["*"], "includes": ["editor"]}),
    )
    .await;

    let (status, body) = send(
        app.op(Method::PATCH, &format!("{base}/roles/viewer"))
            .json(&json!({"includes": ["owner"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&body, "cycle_detected");
    let (status, body) = send(
        app.op(Method::POST, &format!("{base}/roles"))
            .json(&json!({"id": "x", "includes": ["ghost"]})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"][0]["field"], "includes");
    let (status, _) = send(
        app.op(Method::POST, &format!("{base}/roles"))
            .json(&json!({"id": "y", "actions": ["bad action"]})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, body) = send(app.op(Method::DELETE, &format!("{base}/roles/viewer"))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(assert_error(&body, "still_referenced").contains("role editor"));
    let (status, _) = send(app.op(Method::DELETE, &format!("{base}/roles/owner"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn resources_nest_under_parents() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let base = format!("/v1/tenants/{t}");
    app.create(&t, "resources", json!({"type": "WORKSPACE", "id": "w1"}))
        .await;
    app.create(&t, "resources", json!({"type": "SOURCE", "id": "s1", "parent": {"type": "WORKSPACE", "id": "w1"}, "labels": {"env": "prod"}})).await;
    let (status, body) = send(
        app.op(Method::PUT, &format!("{base}/resources/SOURCE/s2"))
            .json(&json!({"parent": {"type": "WORKSPACE", "id": "w9"}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        assert_error(&body, "validation_failed").contains("resource WORKSPACE/w9 does not exist")
    );
    let (status, body) = send(
        app.op(Method::PATCH, &format!("{base}/resources/WORKSPACE/w1"))
            .json(&json!({"parent": {"type": "SOURCE", "id": "s1"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&body, "cycle_detected");
    let (status, body) =
        send(app.op(Method::DELETE, &format!("{base}/resources/WORKSPACE/w1"))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&body, "still_referenced");

    app.create(&t, "resources", json!({"type": "WAREHOUSE", "id": "wh1"}))
        .await;
    assert_eq!(
        ids(&app, &format!("{base}/resources?type=SOURCE"), "/id").await,
        ["s1"]
    );
    assert_eq!(
        ids(&app, &format!("{base}/resources"), "/id").await.len(),
        3
    );
    let (status, body) = send(app.op(Method::GET, &format!("{base}/resources/SOURCE/s1"))).await;
    assert_eq!(
        (status, body["labels"]["env"].as_str()),
        (StatusCode::OK, Some("prod"))
    );
}

#[tokio::test]
async fn permissions_take_slashid_names() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let base = format!("/v1/tenants/{t}");
    let response = app
        .op(Method::POST, &format!("{base}/permissions"))
        .json(&json!({"id": "docs/read:all"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["location"],
        format!("{base}/permissions/docs%2Fread:all").as_str()
    );
    let (status, body) =
        send(app.op(Method::GET, &format!("{base}/permissions/docs%2Fread:all"))).await;
    assert_eq!(
        (status, body["id"].as_str()),
        (StatusCode::OK, Some("docs/read:all"))
    );
    for bad in ["read.", "-read", "a b", &"p".repeat(1025)] {
        let (status, _) = send(
            app.op(Method::POST, &format!("{base}/permissions"))
                .json(&json!({"id": bad})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn assignments_and_grants_bind_subjects_and_go_with_them() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let base = format!("/v1/tenants/{t}");
    app.create(&t, "users", json!({"id": "alice"})).await;
    app.create(&t, "groups", json!({"id": "eng"})).await;
    app.create(
        &t,
        "groups/eng/members",
        json!({"member": {"type": "user", "id": "alice"}}),
    )
    .await;
    app.create(&t, "roles", json!({"id": "viewer", "actions": ["read"]}))
        .await;
    app.create(&t, "permissions", json!({"id": "docs.read"}))
        .await;
    app.create(&t, "resources", json!({"type": "SOURCE", "id": "s1"}))
        .await;

    let (status, _) = send(
        app.op(
            Method::PUT,
            &format!("{base}/role-assignments/user/alice/viewer"),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    app.create(
        &t,
        "role-assignments",
        json!({"subject": {"type": "group", "id": "eng"}, "role": "viewer"}),
    )
    .await;
    assert_eq!(
        ids(
            &app,
            &format!("{base}/role-assignments?subject_type=user&subject_id=alice"),
            "/role"
        )
        .await,
        ["viewer"]
    );
    assert_eq!(
        ids(&app, &format!("{base}/role-assignments"), "/subject/id").await,
        ["eng", "alice"]
    );

    let grants = [
        json!({"id": "g-tenant", "subject": {"type": "user", "id": "alice"}, "privilege": {"type": "actions", "actions": ["read", "write"]}, "target": {"type": "tenant"}, "effect": "ALLOW"}),
        json!({"id": "g-res", "subject": {"type": "group", "id": "eng"}, "privilege": {"type": "role", "id": "viewer"}, "target": {"type": "resource", "resource": {"type": "SOURCE", "id": "s1"}}, "effect": "DENY", "origin": "policy:p1"}),
        json!({"id": "g-labels", "subject": {"type": "role", "id": "viewer"}, "privilege": {"type": "permission", "id": "docs.read"}, "target": {"type": "labels", "resource_type": "SOURCE", "labels": {"env": "prod"}}, "effect": "allow"}),
        json!({"id": "g-data", "subject": {"type": "user", "id": "alice"}, "privilege": {"type": "actions", "actions": ["SELECT"]}, "target": {"type": "data_path", "pattern": "hive/c1/sales/*/orders"}, "effect": "ALLOW"}),
    ];
    for grant in &grants {
        app.create(&t, "grants", grant.clone()).await;
    }
    let generated = app.create(&t, "grants", json!({"subject": {"type": "user", "id": "alice"}, "privilege": {"type": "actions", "actions": ["*"]}, "target": {"type": "tenant"}, "effect": "DENY"})).await;
    assert!(generated["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("grt_")));
    let (_, body) = send(app.op(Method::GET, &format!("{base}/grants/g-labels"))).await;
    assert_eq!(body["effect"], "ALLOW");

    for (bad, field) in [
        (
            json!({"subject": {"type": "user", "id": "alice"}, "privilege": {"type": "actions", "actions": []}, "target": {"type": "tenant"}, "effect": "ALLOW"}),
            "privilege.actions",
        ),
        (
            json!({"subject": {"type": "user", "id": "alice"}, "privilege": {"type": "actions", "actions": ["x"]}, "target": {"type": "data_path", "pattern": "a//b"}, "effect": "ALLOW"}),
            "target.pattern",
        ),
        (
            json!({"subject": {"type": "user", "id": "ghost"}, "privilege": {"type": "actions", "actions": ["x"]}, "target": {"type": "tenant"}, "effect": "ALLOW"}),
            "subject",
        ),
        (
            json!({"subject": {"type": "user", "id": "alice"}, "privilege": {"type": "actions", "actions": ["x"]}, "target": {"type": "tenant"}, "effect": "MAYBE"}),
            "body",
        ),
    ] {
        let (status, body) = send(app.op(Method::POST, &format!("{base}/grants")).json(&bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(body["error"]["details"][0]["field"], field, "{body}");
    }

    // Deleting alice takes her membership, assignment and grants; the group's stay.
    let (status, _) = send(app.op(Method::DELETE, &format!("{base}/users/alice"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        ids(&app, &format!("{base}/grants"), "/id").await,
        ["g-labels", "g-res"]
    );
    assert!(
        ids(&app, &format!("{base}/groups/eng/members"), "/member/id")
            .await
            .is_empty()
    );
    assert_eq!(
        ids(&app, &format!("{base}/role-assignments"), "/subject/id").await,
        ["eng"]
    );
    let (_, audit) = send(app.op(
        Method::GET,
        &format!("{base}/audit-events?target=user:alice"),
    ))
    .await;
    let cascaded = audit["items"]
        .as_array()
        .and_then(|a| a.last())
        .map(|e| e["detail"]["cascaded"].clone())
        .expect("event");
    assert_eq!(cascaded.as_array().map(Vec::len), Some(5), "{cascaded}");

    // Deleting the role takes the grants that use or hold it and its assignments.
    let (status, _) = send(app.op(Method::DELETE, &format!("{base}/roles/viewer"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(ids(&app, &format!("{base}/grants"), "/id").await.is_empty());
    assert!(ids(&app, &format!("{base}/role-assignments"), "/role")
        .await
        .is_empty());
}
