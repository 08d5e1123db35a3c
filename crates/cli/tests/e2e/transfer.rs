//! Export and import (issue 17): a tenant's objects out as NDJSON from one snapshot, and in
//! again all or nothing, in any order, with errors naming the line and the field.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, path_str, run_binary, scratch, send, spawn_app, TestApp, OPERATOR,
};

/// A tenant with one of everything: nested groups, a membership with a window, roles
/// including roles, resources below resources, grants of every target, a permission set
/// with a data permission and a member, an invite.
async fn populated(app: &TestApp) -> String {
    let t = app.tenant().await;
    for (collection, body) in [
        (
            "users",
            json!({"id": "alice", "email": "alice@example.com"}),
        ),
        (
            "users",
            json!({"id": "bob", "attributes": {"team": "data"}}),
        ),
        ("groups", json!({"id": "eng"})),
        ("groups", json!({"id": "sre", "name": "SRE"})),
        (
            "groups/eng/members",
            json!({"member": {"type": "group", "id": "sre"}}),
        ),
        (
            "groups/sre/members",
            json!({"member": {"type": "user", "id": "alice"},
                   "expires_at": "2100-01-01T00:00:00Z"}),
        ),
        ("roles", json!({"id": "viewer", "actions": ["read"]})),
        (
            "roles",
            json!({"id": "editor", "actions": ["write"], "includes": ["viewer"]}),
        ),
        ("permissions", json!({"id": "docs.read"})),
        ("labels", json!({"key": "env", "value": "prod"})),
        ("resources", json!({"type": "WORKSPACE", "id": "w1"})),
        (
            "resources",
            json!({"type": "SOURCE", "id": "s1", "parent": {"type": "WORKSPACE", "id": "w1"},
                   "labels": {"env": "prod"}}),
        ),
        (
            "role-assignments",
            json!({"subject": {"type": "group", "id": "eng"}, "role": "editor"}),
        ),
        (
            "grants",
            json!({"id": "g1", "subject": {"type": "role", "id": "viewer"},
                   "privilege": {"type": "role", "id": "viewer"},
                   "target": {"type": "resource", "resource": {"type": "WORKSPACE", "id": "w1"}},
                   "effect": "ALLOW"}),
        ),
        (
            "grants",
            json!({"id": "g2", "subject": {"type": "user", "id": "bob"},
                   "privilege": {"type": "actions", "actions": ["*"]},
                   "target": {"type": "labels", "labels": {"env": "prod"}}, "effect": "DENY"}),
        ),
        (
            "grants",
            json!({"id": "g3", "subject": {"type": "user", "id": "bob"},
                   "privilege": {"type": "permission", "id": "docs.read"},
                   "target": {"type": "tenant"}, "effect": "ALLOW",
                   "expires_at": "2100-01-01T00:00:00Z"}),
        ),
        (
            "permission-sets",
            json!({"id": "0123456789abcdef0123456789abcdef", "workspace": "ws-1",
                   "name": "analysts"}),
        ),
        (
            "permission-sets/0123456789abcdef0123456789abcdef/permissions",
            json!({"effect": "allow", "actions": ["SELECT"], "datasource_type": "DWS",
                   "cluster_id": "c1", "database_name": "sales"}),
        ),
        (
            "permission-sets/0123456789abcdef0123456789abcdef/members",
            json!({"member": {"type": "user", "id": "bob"}}),
        ),
        (
            "permission-sets/0123456789abcdef0123456789abcdef/members",
            json!({"member": {"type": "role", "id": "viewer"}}),
        ),
        (
            "invites",
            json!({"email": "carol@example.com", "groups": ["eng"]}),
        ),
    ] {
        app.create(&t, collection, body).await;
    }
    t
}

/// The export's lines and the revision it states.
async fn export(app: &TestApp, t: &str) -> (Vec<Value>, i64) {
    let response = app
        .op(Method::GET, &format!("/v1/tenants/{t}/export"))
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().ok(),
        Some("application/x-ndjson")
    );
    let revision: i64 = response.headers()["grantd-revision"]
        .to_str()
        .expect("header")
        .parse()
        .expect("revision");
    let text = response.text().await.expect("body");
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a line is JSON"))
        .collect();
    (lines, revision)
}

async fn import(app: &TestApp, t: &str, lines: &[Value]) -> (StatusCode, Value) {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    import_text(app, t, body).await
}

async fn import_text(app: &TestApp, t: &str, body: String) -> (StatusCode, Value) {
    send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/import"))
            .header("content-type", "application/x-ndjson")
            .body(body),
    )
    .await
}

/// The decision on `target` (`{"resource": ...}` or `{"data_path": ...}`).
async fn decide(app: &TestApp, t: &str, user: &str, action: &str, target: Value) -> Value {
    let mut body = json!({"subject": {"type": "user", "id": user}, "action": action,
                          "consistency": {"mode": "fully_consistent"}});
    for (k, v) in target.as_object().expect("object") {
        body[k] = v.clone();
    }
    let (status, answer) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/check"))
            .json(&body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["decision"].clone()
}

/// The decisions that tell the two tenants apart if anything was lost on the way.
async fn decisions(app: &TestApp, t: &str) -> Vec<Value> {
    let source = json!({"resource": {"type": "SOURCE", "id": "s1"}});
    vec![
        decide(app, t, "alice", "read", source.clone()).await,
        decide(app, t, "alice", "write", source.clone()).await,
        decide(app, t, "bob", "read", source).await,
        decide(
            app,
            t,
            "bob",
            "docs.read",
            json!({"resource": {"type": "doc", "id": "d"}}),
        )
        .await,
        decide(
            app,
            t,
            "bob",
            "SELECT",
            json!({"data_path": "dws/c1/sales/public/orders"}),
        )
        .await,
        // alice holds viewer, a member of the set, through eng's editor.
        decide(
            app,
            t,
            "alice",
            "SELECT",
            json!({"data_path": "dws/c1/sales/public/orders"}),
        )
        .await,
    ]
}

#[tokio::test]
async fn an_export_imported_into_an_empty_tenant_exports_the_same() {
    let app = spawn_app().await;
    let t = populated(&app).await;
    let (lines, revision) = export(&app, &t).await;
    assert_eq!(revision, app.revision(&t).await, "the revision it shows");
    let kinds: Vec<&str> = lines.iter().filter_map(|l| l["kind"].as_str()).collect();
    for kind in [
        "user",
        "member",
        "grant",
        "permission_set",
        "data_permission",
        "set_member",
        "invite",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    // What the set derives is its own, and not in the file.
    assert!(
        !lines.iter().any(|l| l["body"]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("dataarts.ps."))),
        "{lines:?}"
    );
    let copy = app.tenant().await;
    let (status, imported) = import(&app, &copy, &lines).await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    assert_eq!(imported["objects"]["user"], 2, "{imported}");
    let (again, _) = export(&app, &copy).await;
    assert_eq!(again, lines, "the same objects, line for line");
    assert_eq!(decisions(&app, &copy).await, decisions(&app, &t).await);
    // References may come in any order: the file reversed imports the same.
    let reversed: Vec<Value> = lines.iter().rev().cloned().collect();
    let third = app.tenant().await;
    let (status, body) = import(&app, &third, &reversed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(export(&app, &third).await.0, lines);
    // An import over what is there replaces it, and leaves it the same.
    let (status, body) = import(&app, &copy, &lines).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(export(&app, &copy).await.0, lines);
    // ...down to what a set gave its member role, which a file does not say: a file with
    // the role alone leaves it the set's member.
    let viewer: Vec<Value> = lines
        .iter()
        .filter(|l| l["kind"] == "role" && l["body"]["id"] == "viewer")
        .cloned()
        .collect();
    let (status, body) = import(&app, &copy, &viewer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(decisions(&app, &copy).await, decisions(&app, &t).await);
}

#[tokio::test]
async fn an_import_is_all_or_nothing_and_names_each_bad_line() {
    let app = spawn_app().await;
    let t = populated(&app).await;
    let (lines, _) = export(&app, &t).await;
    let target = app.tenant().await;
    let before = app.revision(&target).await;

    // The last line refers to a role nobody imports: found only when written, after every
    // other line was; nothing stays.
    let mut broken = lines.clone();
    broken.push(json!({"kind": "grant", "body": {"id": "late",
        "subject": {"type": "user", "id": "bob"}, "privilege": {"type": "role", "id": "ghost"},
        "target": {"type": "tenant"}, "effect": "ALLOW"}}));
    let (status, body) = import(&app, &target, &broken).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = assert_error(&body, "validation_failed");
    let last = broken.len();
    assert!(
        body.to_string().contains(&format!("line {last}")),
        "names line {last}: {body} {message}"
    );
    assert_eq!(app.revision(&target).await, before, "nothing written");
    let (_, users) = send(app.op(Method::GET, &format!("/v1/tenants/{target}/users"))).await;
    assert_eq!(users["items"], json!([]), "{users}");

    // Lines wrong in themselves: each named, with its field; nothing written.
    let text = [
        r#"{"kind": "user", "body": {"id": "fine"}}"#.to_string(),
        "not json".to_string(),
        r#"{"kind": "widget", "body": {}}"#.to_string(),
        r#"{"kind": "user", "body": {"id": "bad id"}}"#.to_string(),
        String::new(),
        r#"{"kind": "role", "body": {"id": "dataarts.ps.0123456789abcdef0123456789abcdef"}}"#
            .to_string(),
        r#"{"kind": "grant", "body": {"id": "g", "subject": {"type": "user", "id": "fine"}, "privilege": {"type": "actions", "actions": ["read"]}, "target": {"type": "tenant"}, "effect": "ALLOW", "expires_at": "soon"}}"#
            .to_string(),
        // What only a permission set may hand out: its role, included, granted or given.
        r#"{"kind": "role", "body": {"id": "sneaky", "includes": ["dataarts.ps.0123456789abcdef0123456789abcdef"]}}"#
            .to_string(),
        r#"{"kind": "grant", "body": {"id": "g2", "subject": {"type": "role", "id": "dataarts.ps.0123456789abcdef0123456789abcdef"}, "privilege": {"type": "actions", "actions": ["*"]}, "target": {"type": "tenant"}, "effect": "ALLOW"}}"#
            .to_string(),
        r#"{"kind": "assignment", "body": {"subject": {"type": "user", "id": "fine"}, "role": "dataarts.ps.0123456789abcdef0123456789abcdef"}}"#
            .to_string(),
        r#"{"kind": "invite", "body": {"email": "x@example.com", "grants": [{"privilege": {"type": "role", "id": "dataarts.ps.0123456789abcdef0123456789abcdef"}, "target": {"type": "tenant"}, "effect": "ALLOW"}]}}"#
            .to_string(),
    ]
    .join("\n");
    let (status, body) = import_text(&app, &target, text).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "validation_failed");
    let fields: Vec<String> = body["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| d["field"].as_str().expect("field").to_string())
        .collect();
    assert_eq!(
        fields,
        [
            "line 2",
            "line 3: kind",
            "line 4: id",
            "line 6: id",
            "line 7: body",
            "line 8: includes",
            "line 9: subject",
            "line 10: role",
            "line 11: grants"
        ],
        "{body}"
    );
    assert_eq!(app.revision(&target).await, before, "nothing written");

    // An object a permission set derived is not replaced by a line that reuses its id.
    let derived = app.grant_with_origin(&t, "dataarts:permission-set:").await;
    let mut forged = derived.clone();
    for meta in ["version", "created_at", "updated_at", "origin"] {
        forged.as_object_mut().expect("object").remove(meta);
    }
    forged["subject"] = json!({"type": "user", "id": "bob"});
    forged["privilege"] = json!({"type": "actions", "actions": ["*"]});
    let before = app.revision(&t).await;
    let (status, body) = import(&app, &t, &[json!({"kind": "grant", "body": forged})]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_error(&body, "derived_object");
    assert!(body.to_string().contains("line 1"), "{body}");
    assert_eq!(app.revision(&t).await, before, "nothing written");
}

#[tokio::test]
async fn export_and_import_keep_to_their_tenant_and_scope() {
    let app = spawn_app().await;
    let t = populated(&app).await;
    let other = app.tenant().await;
    let others = app.token(&other, "admin").await;
    let reader = app.token(&t, "read").await;
    // Another tenant's token reaches neither route of this tenant.
    for (method, path) in [(Method::GET, "export"), (Method::POST, "import")] {
        let response = app
            .as_token(&others, method, &format!("/v1/tenants/{t}/{path}"))
            .body("")
            .send()
            .await
            .expect("send");
        assert!(
            matches!(
                response.status(),
                StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
            ),
            "{path}: {}",
            response.status()
        );
    }
    // A read token exports; only admin imports.
    let response = app
        .as_token(&reader, Method::GET, &format!("/v1/tenants/{t}/export"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let (status, body) = send(
        app.as_token(&reader, Method::POST, &format!("/v1/tenants/{t}/import"))
            .body(r#"{"kind": "user", "body": {"id": "mallory"}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // What one tenant's file names is written to the tenant imported into, and only there.
    let (lines, _) = export(&app, &t).await;
    let (status, body) = import(&app, &other, &lines).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, users) = send(app.op(Method::GET, &format!("/v1/tenants/{other}/users"))).await;
    assert_eq!(users["items"].as_array().map(Vec::len), Some(2), "{users}");
    // An export of a tenant that does not exist is a 404.
    let response = app
        .op(Method::GET, "/v1/tenants/no-such-tenant/export")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// `grantd export` and `grantd import` against a running server: a file out, a file in,
/// and a bad file refused with its line named.
#[tokio::test]
async fn the_cli_exports_and_imports_through_the_server() {
    let app = spawn_app().await;
    let t = populated(&app).await;
    let copy = app.tenant().await;
    let folder = scratch("transfer-cli");
    let file = path_str(&folder.join("tenant.ndjson"));
    let remote = |tenant: &str| {
        vec![
            "--url".to_string(),
            app.base.clone(),
            "--token".to_string(),
            OPERATOR.to_string(),
            "--tenant".to_string(),
            tenant.to_string(),
        ]
    };
    let args = |first: &[&str], tenant: &str| -> Vec<String> {
        first
            .iter()
            .map(|s| s.to_string())
            .chain(remote(tenant))
            .collect()
    };
    let run = |args: Vec<String>| async move {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run_binary(&refs).await
    };
    let (ok, _, err) = run(args(&["export", "--output", &file], &t)).await;
    assert!(ok, "{err}");
    assert!(err.contains("at revision"), "{err}");
    let (ok, out, err) = run(args(&["import", &file], &copy)).await;
    assert!(ok, "{err}");
    assert!(out.contains("\"revision\""), "{out}");
    assert_eq!(export(&app, &copy).await.0, export(&app, &t).await.0);
    // A bad file: nothing written, and the line named.
    let bad = path_str(&folder.join("bad.ndjson"));
    std::fs::write(
        &bad,
        "{\"kind\": \"user\", \"body\": {\"id\": \"ok\"}}\n{\"kind\": \"user\"}\n",
    )
    .expect("write");
    let empty = app.tenant().await;
    let (ok, _, err) = run(args(&["import", &bad], &empty)).await;
    assert!(!ok);
    assert!(err.contains("line 2"), "{err}");
    let (_, users) = send(app.op(Method::GET, &format!("/v1/tenants/{empty}/users"))).await;
    assert_eq!(users["items"], json!([]), "{users}");
}
