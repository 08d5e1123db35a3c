//! Permission sets on the native API (`/v1/tenants/{tenant}/permission-sets`, their
//! permissions and members): the same objects the DataArts surface shows, under the same
//! rules, with ETags, paging and a nested path that names only what belongs to it.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::dataarts::{created, da};
use crate::helpers::{assert_error, send, spawn_app, TestApp};

/// Whether `user` may SELECT on `path`, fully consistent.
async fn selects(app: &TestApp, t: &str, user: &str, path: &str) -> bool {
    let check = json!({"subject": {"type": "user", "id": user}, "action": "SELECT",
                       "data_path": path, "consistency": {"mode": "fully_consistent"}});
    let (status, body) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/check"))
            .json(&check),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["allowed"].as_bool().expect("allowed")
}

fn ids(page: &Value, list: &str) -> Vec<String> {
    let mut ids: Vec<String> = page[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {page}"))
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_set_made_on_either_surface_is_listed_and_enforced_on_both() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let token = app.token(&t, "admin").await;
    app.create(&t, "users", json!({"id": "bob"})).await;
    let sets = format!("/v1/tenants/{t}/permission-sets");

    // Made through DataArts: listed natively, with its permission.
    let from_dataarts = created(&app, &token, &t, "/permission-sets", json!({"name": "da"})).await;
    let on_orders = json!({"permission_actions": ["SELECT"], "datasource_type": "DWS",
                           "cluster_id": "c1", "database_name": "sales", "schema_name": "public",
                           "table_name": "orders"});
    let path = format!("/permission-sets/{from_dataarts}/permissions");
    let permission = created(&app, &token, &t, &path, on_orders).await;
    let (status, native) = send(app.op(Method::GET, &sets)).await;
    assert_eq!(status, StatusCode::OK, "{native}");
    assert_eq!(ids(&native, "items"), vec![from_dataarts.clone()]);
    let (status, held) =
        send(app.op(Method::GET, &format!("{sets}/{from_dataarts}/permissions"))).await;
    assert_eq!(status, StatusCode::OK, "{held}");
    assert_eq!(ids(&held, "items"), vec![permission.clone()]);

    // Made natively: listed by DataArts, and its member may select.
    let set = app
        .create(
            &t,
            "permission-sets",
            json!({"workspace": "ws-1", "name": "native"}),
        )
        .await;
    let set = set["id"].as_str().expect("id").to_string();
    let p = json!({"effect": "allow", "actions": ["SELECT"], "datasource_type": "DWS",
                   "cluster_id": "c1", "database_name": "sales"});
    app.create(&t, &format!("permission-sets/{set}/permissions"), p)
        .await;
    assert!(!selects(&app, &t, "bob", "dws/c1/sales/public/orders").await);
    app.create(
        &t,
        &format!("permission-sets/{set}/members"),
        json!({"member": {"type": "user", "id": "bob"}}),
    )
    .await;
    assert!(selects(&app, &t, "bob", "dws/c1/sales/public/orders").await);
    let (status, listed) = send(da(&app, &token, Method::GET, &t, "/permission-sets")).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let mut both = vec![from_dataarts.clone(), set.clone()];
    both.sort();
    assert_eq!(ids(&listed, "permission_sets"), both);
    let path = format!("/permission-sets/{set}/members");
    let (status, members) = send(da(&app, &token, Method::GET, &t, &path)).await;
    assert_eq!(status, StatusCode::OK, "{members}");
    assert_eq!(
        members["permission_set_members"][0]["member_id"], "bob",
        "{members}"
    );

    // Removing the member natively takes the access away; DataArts lists none.
    let (_, native_members) = send(app.op(Method::GET, &format!("{sets}/{set}/members"))).await;
    let record = native_members["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (status, body) =
        send(app.op(Method::DELETE, &format!("{sets}/{set}/members/{record}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(!selects(&app, &t, "bob", "dws/c1/sales/public/orders").await);
    let (_, members) = send(da(&app, &token, Method::GET, &t, &path)).await;
    assert_eq!(members["total"], 0, "{members}");
}

#[tokio::test]
async fn native_permission_set_writes_keep_the_rules() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let sets = format!("/v1/tenants/{t}/permission-sets");
    let parent = app
        .create(
            &t,
            "permission-sets",
            json!({"id": "parent", "workspace": "w", "name": "p"}),
        )
        .await;
    let version = parent["version"].as_i64().expect("version");
    app.create(
        &t,
        "permission-sets",
        json!({"id": "sub", "workspace": "w", "name": "s", "parent": "parent"}),
    )
    .await;
    let wide = json!({"id": "wide", "effect": "allow", "actions": ["SELECT", "DROP"],
                      "datasource_type": "HIVE", "cluster_id": "c", "database_name": "sales"});
    app.create(&t, "permission-sets/parent/permissions", wide)
        .await;
    let narrow = json!({"id": "narrow", "effect": "allow", "actions": ["DROP"],
                        "datasource_type": "HIVE", "cluster_id": "c", "database_name": "sales"});
    app.create(&t, "permission-sets/sub/permissions", narrow)
        .await;

    // A sub-set's permission beyond its parent's is refused.
    let beyond = json!({"effect": "allow", "actions": ["ALTER"], "datasource_type": "HIVE",
                        "cluster_id": "c", "database_name": "sales"});
    let (status, body) = send(
        app.op(Method::POST, &format!("{sets}/sub/permissions"))
            .json(&beyond),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Narrowing the parent's takes the sub-set's uncovered permission and its grant.
    let (status, body) = send(
        app.op(Method::PATCH, &format!("{sets}/parent/permissions/wide"))
            .json(&json!({"actions": ["SELECT"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, held) = send(app.op(Method::GET, &format!("{sets}/sub/permissions"))).await;
    assert_eq!(held["items"], json!([]), "{held}");
    let (status, _) = send(app.op(
        Method::GET,
        &format!("/v1/tenants/{t}/grants/dataarts.narrow"),
    ))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An item path names only what belongs to the set it names.
    let (status, body) = send(app.op(Method::GET, &format!("{sets}/sub/permissions/wide"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = send(app.op(Method::DELETE, &format!("{sets}/sub/permissions/wide"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A cycle, a stale ETag and a parent with sub-sets are refused; nothing is written.
    let rename = |name: &str| {
        app.op(Method::PATCH, &format!("{sets}/parent"))
            .header("if-match", format!("\"{version}\""))
            .json(&json!({"name": name}))
    };
    let (status, body) = send(rename("renamed")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = app.revision(&t).await;
    let (status, body) = send(
        app.op(Method::PATCH, &format!("{sets}/parent"))
            .json(&json!({"parent": "sub"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_error(&body, "cycle_detected");
    let (status, body) = send(rename("stale")).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    let (status, body) = send(app.op(Method::DELETE, &format!("{sets}/parent"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_error(&body, "still_referenced");
    // A set's role and grants stay the set's.
    let (status, body) = send(app.op(
        Method::DELETE,
        &format!("/v1/tenants/{t}/roles/dataarts.ps.parent"),
    ))
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(app.revision(&t).await, before, "nothing written");

    // Deleting the sub-set then the parent takes their roles and grants.
    for set in ["sub", "parent"] {
        let (status, body) = send(app.op(Method::DELETE, &format!("{sets}/{set}"))).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    for gone in ["roles/dataarts.ps.parent", "grants/dataarts.wide"] {
        let (status, _) = send(app.op(Method::GET, &format!("/v1/tenants/{t}/{gone}"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    }

    // Another tenant sees none of it.
    let other = app.tenant().await;
    app.create(
        &other,
        "permission-sets",
        json!({"id": "parent", "workspace": "w", "name": "theirs"}),
    )
    .await;
    let (_, listed) = send(app.op(Method::GET, &sets)).await;
    assert_eq!(listed["items"], json!([]), "{listed}");
}

/// Found by the agreement property test: SlashID's "a person's roles become exactly
/// these" removed the role assignment a DataArts membership had made, so DataArts listed a
/// member whom the check refused. A permission set's role is now neither listed, taken nor
/// given by another surface.
#[tokio::test]
async fn another_surface_cannot_take_or_give_a_sets_role() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let token = app.token(&t, "admin").await;
    app.create(&t, "users", json!({"id": "bob"})).await;
    let set = created(&app, &token, &t, "/permission-sets", json!({"name": "s"})).await;
    let p = json!({"permission_actions": ["SELECT"], "datasource_type": "DWS",
                   "cluster_id": "c1", "database_name": "sales"});
    created(
        &app,
        &token,
        &t,
        &format!("/permission-sets/{set}/permissions"),
        p,
    )
    .await;
    let member = json!({"member_type": "USER", "member_id": "bob"});
    created(
        &app,
        &token,
        &t,
        &format!("/permission-sets/{set}/members"),
        member,
    )
    .await;
    assert!(selects(&app, &t, "bob", "dws/c1/sales/public/orders").await);
    let sid = |method: Method, path: &str| {
        app.anonymous(method, &format!("/slashid{path}"))
            .header("SlashID-API-Key", &token)
            .header("SlashID-OrgID", &t)
    };
    let (status, roles) = send(sid(Method::GET, "/persons/bob/roles")).await;
    assert_eq!(status, StatusCode::OK, "{roles}");
    assert_eq!(roles["result"], json!([]), "{roles}");
    let (status, body) =
        send(sid(Method::PUT, "/persons/bob/roles").json(&json!({"roles": []}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(
        selects(&app, &t, "bob", "dws/c1/sales/public/orders").await,
        "still a member"
    );
    let given = json!({"roles": [format!("dataarts.ps.{set}")]});
    app.create(&t, "users", json!({"id": "eve"})).await;
    let (status, body) = send(sid(Method::PUT, "/persons/eve/roles").json(&given)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(!selects(&app, &t, "eve", "dws/c1/sales/public/orders").await);
}
