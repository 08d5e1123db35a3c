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

#[tokio::test]
async fn credentials_are_hidden_from_feeds_below_the_admin_scope() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    app.create(&t, "users", json!({"id": "u1"})).await;
    let token = app
        .create(
            &t,
            "tokens",
            json!({"scopes": ["write"], "name": "deploy-bot"}),
        )
        .await;
    let key = app
        .create(
            &t,
            "access-keys",
            json!({"scopes": ["read"], "name": "etl-key"}),
        )
        .await;
    let (token_id, key_id) = (
        token["id"].as_str().expect("id").to_string(),
        key["id"].as_str().expect("id").to_string(),
    );
    let (status, _) = send(app.op(
        Method::DELETE,
        &format!("/v1/tenants/{t}/tokens/{token_id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.create(&t, "users", json!({"id": "u2"})).await;
    let last = app.revision(&t).await;
    let reader = app.token(&t, "read").await;
    let admin = app.token(&t, "admin").await;
    let last = last + 2; // the two tokens just issued
    let secret_words = |text: &str| {
        ["deploy-bot", "etl-key", token_id.as_str(), key_id.as_str()]
            .into_iter()
            .filter(|w| text.contains(w))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // Changes: every revision is there, with no credential in it.
    let changes = format!("/v1/tenants/{t}/changes?after=0&limit=1000");
    let (status, feed) = send(app.as_token(&reader, Method::GET, &changes)).await;
    assert_eq!(status, StatusCode::OK);
    let revisions: Vec<i64> = feed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["revision"].as_i64().expect("revision"))
        .collect();
    assert_eq!(revisions, (1..=last).collect::<Vec<_>>(), "no gap: {feed}");
    assert_eq!(
        secret_words(&feed.to_string()),
        Vec::<String>::new(),
        "{feed}"
    );
    assert!(!feed.to_string().contains("\"token\""), "{feed}");
    let (_, full) = send(app.as_token(&admin, Method::GET, &changes)).await;
    assert_eq!(
        secret_words(&full.to_string()).len(),
        4,
        "the admin sees them: {full}"
    );
    // The audit trail: every event is there; a credential's is only named by its kind.
    let audit = format!("/v1/tenants/{t}/audit-events?limit=1000");
    let (status, trail) = send(app.as_token(&reader, Method::GET, &audit)).await;
    assert_eq!(status, StatusCode::OK);
    let events = trail["items"].as_array().expect("items");
    assert_eq!(events.len() as i64, last, "{trail}");
    assert_eq!(
        secret_words(&trail.to_string()),
        Vec::<String>::new(),
        "{trail}"
    );
    assert!(
        events.iter().any(|e| e["action"] == "token.delete"),
        "{trail}"
    );
    let (status, body) = send(app.as_token(
        &reader,
        Method::GET,
        &format!("/v1/tenants/{t}/audit-events?target=token:{token_id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, full) = send(app.as_token(&admin, Method::GET, &audit)).await;
    assert!(full.to_string().contains(&token_id), "{full}");
    // The watch stream, as the change feed.
    let mut response = app
        .as_token(
            &reader,
            Method::GET,
            &format!("/v1/tenants/{t}/watch?after=0"),
        )
        .send()
        .await
        .expect("watch");
    assert_eq!(response.status(), StatusCode::OK);
    let mut text = String::new();
    while !text.contains(&format!("id: {last}\n")) {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), response.chunk())
            .await
            .expect("events within 10 s")
            .expect("read")
            .expect("open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    for revision in 1..=last {
        assert!(
            text.contains(&format!("id: {revision}\n")),
            "{revision}: {text}"
        );
    }
    assert_eq!(secret_words(&text), Vec::<String>::new(), "{text}");
    // Segment's audit trail, read with the same token.
    let (status, segment) = send(app.as_token(
        &reader,
        Method::GET,
        "/segment/audit-events?pagination[count]=100",
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{segment}");
    assert!(segment.to_string().contains("Token Created"), "{segment}");
    assert_eq!(
        secret_words(&segment.to_string()),
        Vec::<String>::new(),
        "{segment}"
    );
}
