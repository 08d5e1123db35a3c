//! The SlashID surface: persons, the permission catalog, roles, groups, set semantics,
//! ETags and If-Match, consistency headers, errors in SlashID's envelope, agreement with
//! the native check, and isolation between organizations on every route.

use std::sync::Arc;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{send, spawn_app, TestApp};

struct Org {
    id: String,
    key: String,
}

async fn org(app: &TestApp) -> Org {
    let id = app.tenant().await;
    let key = app.token(&id, "admin").await;
    Org { id, key }
}

fn sid(app: &TestApp, org: &Org, method: Method, path: &str) -> RequestBuilder {
    app.anonymous(method, &format!("/slashid{path}"))
        .header("SlashID-API-Key", &org.key)
        .header("SlashID-OrgID", &org.id)
}

fn assert_error(body: &Value, status: StatusCode) {
    assert_eq!(body["errors"][0]["httpcode"], status.as_u16(), "{body}");
    assert!(body["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

async fn person(app: &TestApp, org: &Org, email: &str) -> String {
    let (status, body) = send(sid(app, org, Method::POST, "/persons").json(&json!({
        "handles": [{"type": "email_address", "value": email}]
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["result"]["person_id"]
        .as_str()
        .expect("id")
        .to_string()
}

async fn permission(app: &TestApp, org: &Org, name: &str) {
    let (status, body) =
        send(sid(app, org, Method::POST, "/rbac/permissions").json(&json!({"name": name}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// The native check on the organization, for any resource.
async fn native_allows(app: &TestApp, org: &Org, person: &str, action: &str) -> bool {
    let (status, body) = send(
        app.as_token(
            &org.key,
            Method::POST,
            &format!("/v1/tenants/{}/check", org.id),
        )
        .json(
            &json!({"subject": {"type": "user", "id": person}, "action": action,
                "resource": {"type": "document", "id": "any"}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["allowed"].as_bool().expect("allowed")
}

async fn rbac_check(app: &TestApp, org: &Org, person: &str, permission: &str) -> bool {
    let (status, body) = send(sid(app, org, Method::POST, "/rbac/check").json(&json!({
        "person_id": person, "permission_name": permission
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["result"]["granted"].as_bool().expect("granted")
}

#[tokio::test]
async fn setting_permissions_follows_the_seed() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let p = person(&app, &org, "ada@example.com").await;
    for name in ["billing.invoices.list", "docs/read", "a\\b"] {
        permission(&app, &org, name).await;
    }
    // Set, with a duplicate: granted once; the check sees it at once (local_region).
    let put = |perms: Value| {
        sid(
            &app,
            &org,
            Method::PUT,
            &format!("/persons/{p}/permissions"),
        )
        .json(&json!({ "permissions": perms }))
    };
    let response = put(json!(["billing.invoices.list", "docs/read", "docs/read"]))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.text().await.expect("body").is_empty());
    assert!(rbac_check(&app, &org, &p, "docs/read").await);
    assert!(native_allows(&app, &org, &p, "docs/read").await);
    let (_, direct) = send(sid(
        &app,
        &org,
        Method::GET,
        &format!("/persons/{p}/additional-permissions"),
    ))
    .await;
    assert_eq!(
        direct["result"],
        json!(["billing.invoices.list", "docs/read"])
    );
    // The other path replaces: everything else revoked.
    let (status, _) = send(
        sid(
            &app,
            &org,
            Method::PUT,
            &format!("/persons/{p}/additional-permissions"),
        )
        .json(&json!({"permissions": ["a\\b"]})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!rbac_check(&app, &org, &p, "docs/read").await);
    assert!(!native_allows(&app, &org, &p, "docs/read").await);
    // The seed's validation cases: nothing changes on any of them.
    let long = "a".repeat(1025);
    for (body, status) in [
        (json!({"permissions": ["a"]}), StatusCode::BAD_REQUEST),
        (json!({"permissions": ["-ab"]}), StatusCode::BAD_REQUEST),
        (json!({"permissions": ["ab-"]}), StatusCode::BAD_REQUEST),
        (json!({"permissions": ["a b"]}), StatusCode::BAD_REQUEST),
        (json!({"permissions": ["ä1"]}), StatusCode::BAD_REQUEST),
        (json!({"permissions": [long]}), StatusCode::BAD_REQUEST),
        (json!({"permissions": ["no.such"]}), StatusCode::BAD_REQUEST),
        (json!({"permissions": "docs/read"}), StatusCode::BAD_REQUEST),
        (json!({}), StatusCode::BAD_REQUEST),
    ] {
        let (got, answer) = send(put(body.clone())).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_error(&answer, status);
    }
    let (status, answer) = send(
        sid(&app, &org, Method::PUT, "/persons/nobody/permissions")
            .json(&json!({"permissions": []})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&answer, status);
    let (_, direct) = send(sid(
        &app,
        &org,
        Method::GET,
        &format!("/persons/{p}/additional-permissions"),
    ))
    .await;
    assert_eq!(
        direct["result"],
        json!(["a\\b"]),
        "failed writes changed nothing"
    );
    // An empty list revokes all.
    let (status, _) = send(put(json!([]))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, effective) = send(sid(
        &app,
        &org,
        Method::GET,
        &format!("/persons/{p}/permissions"),
    ))
    .await;
    assert_eq!(effective["result"], json!([]));
}

#[tokio::test]
async fn if_match_guards_the_writes_and_concurrent_writers_lose_nothing() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let p = person(&app, &org, "ada@example.com").await;
    let names: Vec<String> = (0..50).map(|i| format!("perm{i:02}")).collect();
    for name in &names {
        permission(&app, &org, name).await;
    }
    let path = format!("/persons/{p}/additional-permissions");
    let response = sid(&app, &org, Method::GET, &path)
        .send()
        .await
        .expect("send");
    let etag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_string();
    let (status, answer) = send(
        sid(&app, &org, Method::PUT, &path)
            .header("If-Match", "\"stale\"")
            .json(&json!({"permissions": ["perm00"]})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_error(&answer, status);
    let (status, _) = send(
        sid(&app, &org, Method::PUT, &path)
            .header("If-Match", &etag)
            .json(&json!({"permissions": ["perm00"]})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(
        sid(&app, &org, Method::PUT, &path)
            .header("If-Match", &etag)
            .json(&json!({"permissions": []})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::PRECONDITION_FAILED,
        "the old ETag is stale now"
    );

    // 50 writers each add their own permission with read-modify-write under If-Match,
    // retrying on 412: every addition survives.
    let app = Arc::new(app);
    let org = Arc::new(org);
    let writers: Vec<_> = names[1..]
        .iter()
        .cloned()
        .map(|mine| {
            let (app, org, path) = (app.clone(), org.clone(), path.clone());
            tokio::spawn(async move {
                loop {
                    let response = sid(&app, &org, Method::GET, &path)
                        .send()
                        .await
                        .expect("get");
                    let etag = response.headers()["etag"]
                        .to_str()
                        .expect("etag")
                        .to_string();
                    let body: Value = response.json().await.expect("json");
                    let mut set: Vec<String> =
                        serde_json::from_value(body["result"].clone()).expect("names");
                    set.push(mine.clone());
                    let (status, _) = send(
                        sid(&app, &org, Method::PUT, &path)
                            .header("If-Match", &etag)
                            .json(&json!({"permissions": set})),
                    )
                    .await;
                    match status {
                        StatusCode::NO_CONTENT => return,
                        StatusCode::PRECONDITION_FAILED => continue,
                        other => panic!("unexpected {other}"),
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.await.expect("writer");
    }
    let (_, direct) = send(sid(&app, &org, Method::GET, &path)).await;
    let mut got: Vec<String> = serde_json::from_value(direct["result"].clone()).expect("names");
    got.sort();
    assert_eq!(got, names, "no update lost");
}

#[tokio::test]
async fn consistency_headers_are_validated_and_honoured() {
    let app = spawn_app().await;
    let org = org(&app).await;
    let p = person(&app, &org, "ada@example.com").await;
    permission(&app, &org, "docs.read").await;
    let put = || {
        sid(
            &app,
            &org,
            Method::PUT,
            &format!("/persons/{p}/permissions"),
        )
        .json(&json!({"permissions": ["docs.read"]}))
    };
    for (level, timeout) in [
        (Some("everywhere"), None),
        (None, Some("0")),
        (None, Some("121")),
        (None, Some("ten")),
        (Some("local_region"), Some("-1")),
    ] {
        let mut request = put();
        if let Some(level) = level {
            request = request.header("SlashID-Required-Consistency", level);
        }
        if let Some(timeout) = timeout {
            request = request.header("SlashID-Required-Consistency-Timeout", timeout);
        }
        let (status, answer) = send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{level:?} {timeout:?}");
        assert_error(&answer, status);
    }
    assert!(
        !rbac_check(&app, &org, &p, "docs.read").await,
        "nothing written"
    );
    for level in ["local_region", "all_regions"] {
        let (status, _) = send(
            put()
                .header("SlashID-Required-Consistency", level)
                .header("SlashID-Required-Consistency-Timeout", "1"),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        // Answered once applied: the very next check (lowest latency) sees the write.
        assert!(native_allows(&app, &org, &p, "docs.read").await);
    }
}

#[tokio::test]
async fn persons_catalog_roles_and_groups() {
    let app = spawn_app().await;
    let org = org(&app).await;
    // Persons: create, duplicate handle, idempotent PUT, list filters, get, patch, delete.
    let (status, created) = send(sid(&app, &org, Method::POST, "/persons").json(&json!({
        "handles": [{"type": "email_address", "value": "ada@example.com"}, {"type": "phone_number", "value": "+441234567890"}],
        "region": "europe-belgium", "attributes": {"end_user_no_access": {"plan": "pro"}}
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let ada = created["result"]["person_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(created["result"]["region"], "europe-belgium");
    assert_eq!(
        created["result"]["attributes"]["end_user_no_access"]["plan"],
        "pro"
    );
    let (status, answer) = send(sid(&app, &org, Method::POST, "/persons").json(&json!({
        "handles": [{"type": "email_address", "value": "ADA@example.com"}]
    })))
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    for bad in [
        json!({}),
        json!({"handles": []}),
        json!({"handles": [{"type": "fax", "value": "1"}]}),
        json!({"handles": [{"type": "email_address", "value": "nope"}]}),
        json!({"handles": [{"type": "username", "value": "u"}], "region": "mars"}),
    ] {
        let (status, answer) = send(sid(&app, &org, Method::POST, "/persons").json(&bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
    }
    let (status, same) = send(sid(&app, &org, Method::PUT, "/persons").json(&json!({
        "handles": [{"type": "email_address", "value": "ada@example.com"}], "active": false
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["result"]["person_id"], ada.as_str());
    assert_eq!(same["result"]["active"], false);
    let (status, bob) = send(sid(&app, &org, Method::PUT, "/persons").json(&json!({
        "handles": [{"type": "username", "value": "bob"}]
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let bob = bob["result"]["person_id"].as_str().expect("id").to_string();
    let (_, patched) = send(
        sid(&app, &org, Method::PATCH, &format!("/persons/{ada}")).json(&json!({"active": true})),
    )
    .await;
    assert_eq!(patched["result"]["active"], true);
    let (_, listed) = send(sid(
        &app,
        &org,
        Method::GET,
        "/persons?handle=username%3Abob",
    ))
    .await;
    assert_eq!(listed["result"][0]["person_id"], bob.as_str());
    let (_, page) = send(sid(&app, &org, Method::GET, "/persons?limit=1&offset=1")).await;
    assert_eq!(
        page["meta"]["pagination"],
        json!({"limit": 1, "offset": 1, "total_count": 2})
    );
    let (status, _) = send(sid(&app, &org, Method::GET, "/persons?limit=1001")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(sid(
        &app,
        &org,
        Method::GET,
        "/persons?filter=name%20co%20%22x%22",
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Catalog and roles: a role's permissions reach its holders; ETags on the lists.
    for name in ["docs.read", "docs.write"] {
        permission(&app, &org, name).await;
    }
    permission(&app, &org, "docs.read").await; // again: no-op
    let (status, _) =
        send(sid(&app, &org, Method::POST, "/rbac/permissions").json(&json!({"name": "x"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let response = sid(&app, &org, Method::GET, "/rbac/permissions")
        .send()
        .await
        .expect("send");
    assert!(response.headers().contains_key("etag"));
    let (_, one) = send(sid(&app, &org, Method::GET, "/rbac/permissions/docs.read")).await;
    assert_eq!(one["result"]["name"], "docs.read");
    assert!(one["result"]["created"].as_str().is_some());
    let (status, _) = send(
        sid(&app, &org, Method::PATCH, "/rbac/permissions/docs.read")
            .header("If-Match", "\"0\"")
            .json(&json!({"description": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _) = send(
        sid(&app, &org, Method::PATCH, "/rbac/permissions/docs.read")
            .json(&json!({"description": "Read docs"})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(
        sid(&app, &org, Method::POST, "/rbac/roles")
            .json(&json!({"name": "editor", "permissions": ["docs.write", "no.such"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) =
        send(sid(&app, &org, Method::POST, "/rbac/roles").json(
            &json!({"name": "editor", "description": "Edits", "permissions": ["docs.write"]}),
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let response = sid(&app, &org, Method::GET, "/rbac/roles/editor")
        .send()
        .await
        .expect("send");
    let role_etag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_string();
    let role: Value = response.json().await.expect("json");
    assert_eq!(role["result"]["permissions"], json!(["docs.write"]));
    let (status, _) = send(
        sid(&app, &org, Method::PUT, &format!("/persons/{bob}/roles"))
            .json(&json!({"roles": [format!("{}/editor", org.id)]})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, roles) = send(sid(
        &app,
        &org,
        Method::GET,
        &format!("/persons/{bob}/roles"),
    ))
    .await;
    assert_eq!(roles["result"], json!(["editor"]));
    assert!(rbac_check(&app, &org, &bob, "docs.write").await);
    assert!(native_allows(&app, &org, &bob, "docs.write").await);
    let (_, effective) = send(sid(
        &app,
        &org,
        Method::GET,
        &format!("/persons/{bob}/permissions"),
    ))
    .await;
    assert_eq!(effective["result"], json!(["docs.write"]));
    let (_, additional) = send(sid(
        &app,
        &org,
        Method::GET,
        &format!("/persons/{bob}/additional-permissions"),
    ))
    .await;
    assert_eq!(additional["result"], json!([]));
    let (_, filtered) = send(sid(
        &app,
        &org,
        Method::GET,
        "/persons?filter=roles%20eq%20%22editor%22",
    ))
    .await;
    assert_eq!(filtered["result"].as_array().map(Vec::len), Some(1));
    let (status, _) = send(
        sid(&app, &org, Method::PATCH, "/rbac/roles/editor")
            .header("If-Match", &role_etag)
            .json(&json!({"permissions": ["docs.read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(
        sid(&app, &org, Method::PATCH, "/rbac/roles/editor")
            .header("If-Match", &role_etag)
            .json(&json!({"permissions": []})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert!(!rbac_check(&app, &org, &bob, "docs.write").await);
    assert!(rbac_check(&app, &org, &bob, "docs.read").await);
    let (status, answer) = send(sid(
        &app,
        &org,
        Method::DELETE,
        "/rbac/permissions/docs.read",
    ))
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "refused while a role includes it: {answer}"
    );
    // Deleting a permission revokes it from every person.
    let (status, _) = send(
        sid(
            &app,
            &org,
            Method::PUT,
            &format!("/persons/{ada}/permissions"),
        )
        .json(&json!({"permissions": ["docs.write"]})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(sid(
        &app,
        &org,
        Method::DELETE,
        "/rbac/permissions/docs.write",
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!native_allows(&app, &org, &ada, "docs.write").await);
    let (status, _) = send(sid(
        &app,
        &org,
        Method::DELETE,
        "/rbac/permissions/docs.write",
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(sid(&app, &org, Method::DELETE, "/rbac/roles/editor")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!rbac_check(&app, &org, &bob, "docs.read").await);

    // Groups and their persons.
    let (status, _) = send(
        sid(&app, &org, Method::POST, "/groups")
            .json(&json!({"name": "team-a", "description": "A"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) =
        send(sid(&app, &org, Method::POST, "/groups").json(&json!({"name": "team-a"}))).await;
    assert_eq!(status, StatusCode::CREATED, "again: no-op");
    let (status, _) =
        send(sid(&app, &org, Method::POST, "/groups").json(&json!({"name": "bad/name"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(
        sid(&app, &org, Method::POST, "/groups/team-a/persons")
            .json(&json!({"persons": [ada, "nobody"]})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(
        sid(&app, &org, Method::POST, "/groups/team-a/persons").json(&json!({"persons": [ada]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, members) = send(sid(&app, &org, Method::GET, "/groups/team-a/persons")).await;
    assert_eq!(members["result"], json!([ada]));
    let (_, group) = send(sid(&app, &org, Method::GET, "/groups/team-a")).await;
    assert_eq!(group["result"]["members_count"], 1);
    let (_, groups) = send(sid(
        &app,
        &org,
        Method::GET,
        &format!("/persons/{ada}/groups"),
    ))
    .await;
    assert_eq!(groups["result"], json!(["team-a"]));
    let (status, _) = send(
        sid(&app, &org, Method::PUT, &format!("/persons/{bob}/groups"))
            .json(&json!({"groups": ["team-a"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = send(sid(&app, &org, Method::GET, "/groups")).await;
    assert_eq!(listed["result"], json!(["team-a"]));
    let (status, _) = send(sid(
        &app,
        &org,
        Method::DELETE,
        &format!("/groups/team-a/persons/{ada}"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(sid(
        &app,
        &org,
        Method::DELETE,
        &format!("/groups/team-a/persons/{ada}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(sid(&app, &org, Method::DELETE, "/groups/team-a")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(sid(&app, &org, Method::GET, "/groups/team-a")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(sid(&app, &org, Method::DELETE, &format!("/persons/{ada}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = send(sid(&app, &org, Method::GET, &format!("/persons/{ada}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&answer, status);
}

#[tokio::test]
async fn keys_and_organizations_are_checked_on_every_route() {
    let app = spawn_app().await;
    let a = org(&app).await;
    let b = org(&app).await;
    let p = person(&app, &a, "ada@example.com").await;
    permission(&app, &a, "docs.read").await;
    send(sid(&app, &a, Method::POST, "/rbac/roles").json(&json!({"name": "viewer"}))).await;
    send(sid(&app, &a, Method::POST, "/groups").json(&json!({"name": "g1"}))).await;
    let (status, answer) = send(
        app.anonymous(Method::GET, "/slashid/persons")
            .header("SlashID-OrgID", &a.id),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&answer, status);
    let (status, _) = send(
        app.anonymous(Method::GET, "/slashid/persons")
            .header("SlashID-API-Key", &a.key),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "SlashID-OrgID is required");
    let (status, answer) = send(
        app.anonymous(Method::GET, "/slashid/persons")
            .header("SlashID-API-Key", &b.key)
            .header("SlashID-OrgID", &a.id),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a foreign organization is refused"
    );
    assert_error(&answer, status);
    // Organization b's own key, on every route naming a's things: nothing of a's is there.
    let routes: Vec<(Method, String, Value)> = vec![
        (Method::GET, format!("/persons/{p}"), Value::Null),
        (
            Method::PATCH,
            format!("/persons/{p}"),
            json!({"active": false}),
        ),
        (Method::DELETE, format!("/persons/{p}"), Value::Null),
        (
            Method::GET,
            format!("/persons/{p}/permissions"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("/persons/{p}/additional-permissions"),
            Value::Null,
        ),
        (
            Method::PUT,
            format!("/persons/{p}/additional-permissions"),
            json!({"permissions": []}),
        ),
        (
            Method::PUT,
            format!("/persons/{p}/permissions"),
            json!({"permissions": []}),
        ),
        (Method::GET, format!("/persons/{p}/roles"), Value::Null),
        (
            Method::PUT,
            format!("/persons/{p}/roles"),
            json!({"roles": []}),
        ),
        (Method::GET, format!("/persons/{p}/groups"), Value::Null),
        (
            Method::PUT,
            format!("/persons/{p}/groups"),
            json!({"groups": []}),
        ),
        (
            Method::GET,
            "/rbac/permissions/docs.read".into(),
            Value::Null,
        ),
        (
            Method::PATCH,
            "/rbac/permissions/docs.read".into(),
            json!({"description": "x"}),
        ),
        (
            Method::DELETE,
            "/rbac/permissions/docs.read".into(),
            Value::Null,
        ),
        (Method::GET, "/rbac/roles/viewer".into(), Value::Null),
        (
            Method::PATCH,
            "/rbac/roles/viewer".into(),
            json!({"description": "x"}),
        ),
        (Method::DELETE, "/rbac/roles/viewer".into(), Value::Null),
        (
            Method::POST,
            "/rbac/check".into(),
            json!({"person_id": p, "permission_name": "docs.read"}),
        ),
        (Method::GET, "/groups/g1".into(), Value::Null),
        (Method::DELETE, "/groups/g1".into(), Value::Null),
        (Method::GET, "/groups/g1/persons".into(), Value::Null),
        (
            Method::POST,
            "/groups/g1/persons".into(),
            json!({"persons": [p]}),
        ),
        (
            Method::DELETE,
            format!("/groups/g1/persons/{p}"),
            Value::Null,
        ),
    ];
    for (method, path, body) in routes {
        let mut request = sid(&app, &b, method.clone(), &path);
        if !body.is_null() {
            request = request.json(&body);
        }
        let (status, answer) = send(request).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
    }
    for path in ["/persons", "/rbac/permissions", "/rbac/roles", "/groups"] {
        let (_, answer) = send(sid(&app, &b, Method::GET, path)).await;
        assert_eq!(answer["result"], json!([]), "{path}");
    }
    let (_, still) = send(sid(&app, &a, Method::GET, &format!("/persons/{p}"))).await;
    assert_eq!(still["result"]["active"], true, "a's person untouched");
    // A read-only key cannot write; a check-scoped key may check only.
    let reader = Org {
        id: a.id.clone(),
        key: app.token(&a.id, "read").await,
    };
    let (status, _) =
        send(sid(&app, &reader, Method::POST, "/rbac/permissions").json(&json!({"name": "zz"})))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let checker = Org {
        id: a.id.clone(),
        key: app.token(&a.id, "check").await,
    };
    let (status, _) = send(
        sid(&app, &checker, Method::POST, "/rbac/check")
            .json(&json!({"person_id": p, "permission_name": "docs.read"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = send(sid(&app, &a, Method::GET, "/no/such")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&answer, status);
}
