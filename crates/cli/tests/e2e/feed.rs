//! The change feed and the audit trail.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, send, spawn_app};

#[tokio::test]
async fn changes_list_every_write_in_revision_order() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    app.create(&t, "users", json!({"id": "u1"})).await;
    app.create(&t, "groups", json!({"id": "g1"})).await;
    app.create(
        &t,
        "groups/g1/members",
        json!({"member": {"type": "user", "id": "u1"}}),
    )
    .await;
    let (status, _) = send(app.op(Method::DELETE, &format!("/v1/tenants/{t}/users/u1"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, page) = send(app.op(
        Method::GET,
        &format!("/v1/tenants/{t}/changes?after=1&limit=2"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    let revisions: Vec<i64> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["revision"].as_i64())
        .collect();
    assert_eq!(revisions, [2, 3]);
    assert_eq!(
        page["items"][0]["ops"][0],
        json!({"op": "put", "kind": "user", "key": "u1", "body": {"id": "u1", "attributes": {}, "disabled": false}})
    );
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let (_, rest) = send(app.op(
        Method::GET,
        &format!("/v1/tenants/{t}/changes?cursor={cursor}"),
    ))
    .await;
    let last = &rest["items"].as_array().expect("items")[1];
    assert_eq!(last["revision"], 5);
    let ops = last["ops"].as_array().expect("ops");
    assert_eq!(
        ops.len(),
        2,
        "the user and its membership, in one change: {ops:?}"
    );
    assert!(rest.get("next_cursor").is_none());
}

#[tokio::test]
async fn audit_events_name_actor_action_target_and_filter() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let writer = app.token(&t, "write").await;
    let (status, _) = send(
        app.as_token(&writer, Method::POST, &format!("/v1/tenants/{t}/users"))
            .header("x-request-id", "req-42")
            .json(&json!({"id": "u1"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    app.create(&t, "users", json!({"id": "u2"})).await;

    let (_, all) = send(app.op(Method::GET, &format!("/v1/tenants/{t}/audit-events"))).await;
    let events = all["items"].as_array().expect("items");
    assert_eq!(events.len(), 4, "tenant, token, two users: {all}");
    let by_writer = &events[2];
    assert_eq!(by_writer["action"], "user.create");
    assert_eq!(by_writer["target"], "user:u1");
    assert_eq!(by_writer["request_id"], "req-42");
    assert_eq!(by_writer["client_addr"], "127.0.0.1");
    let actor = by_writer["actor"].as_str().expect("actor");
    assert!(actor.starts_with("token:tok_"));

    let (_, mine) = send(app.op(
        Method::GET,
        &format!("/v1/tenants/{t}/audit-events?actor={actor}"),
    ))
    .await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1));
    let (_, on_u2) = send(app.op(
        Method::GET,
        &format!("/v1/tenants/{t}/audit-events?target=user:u2"),
    ))
    .await;
    assert_eq!(on_u2["items"][0]["actor"], "operator");
    let (_, future) = send(app.op(
        Method::GET,
        &format!("/v1/tenants/{t}/audit-events?from=2999-01-01T00:00:00Z"),
    ))
    .await;
    assert_eq!(future["items"].as_array().map(Vec::len), Some(0));
    let (_, past) = send(app.op(
        Method::GET,
        &format!("/v1/tenants/{t}/audit-events?to=2999-01-01T00:00:00Z&limit=3"),
    ))
    .await;
    assert_eq!(past["items"].as_array().map(Vec::len), Some(3));
    assert!(past["next_cursor"].is_string());
    let (status, body) = send(app.op(
        Method::GET,
        &format!("/v1/tenants/{t}/audit-events?from=yesterday"),
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_error(&body, "bad_request").contains("RFC 3339"));
}
