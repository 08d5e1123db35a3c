//! The generic object routes, through users: create, read with ETags, replace, patch,
//! delete, conditional requests, paging.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, send, spawn_app};

#[tokio::test]
async fn users_round_trip_with_etags_and_revisions() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let users = format!("/v1/tenants/{t}/users");
    let alice = format!("{users}/alice");

    let response = app
        .op(Method::POST, &users)
        .json(&json!({"id": "alice", "email": "alice@example.com"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["location"],
        format!("/v1/tenants/{t}/users/alice").as_str()
    );
    let revision: i64 = response.headers()["grantd-revision"]
        .to_str()
        .expect("rev")
        .parse()
        .expect("int");
    assert_eq!(revision, 2);
    assert_eq!(response.headers()["etag"], "\"2\"");

    let (status, body) = send(app.op(Method::POST, &users).json(&json!({"id": "alice"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(assert_error(&body, "already_exists").contains("user alice"));

    let response = app.op(Method::GET, &alice).send().await.expect("get");
    assert_eq!(response.headers()["etag"], "\"2\"");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["version"], 2);
    let (status, _) = send(app.op(Method::GET, &alice).header("if-none-match", "\"2\"")).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);

    // A stale If-Match changes nothing.
    let (status, body) = send(
        app.op(Method::PUT, &alice)
            .header("if-match", "\"1\"")
            .json(&json!({"name": "Eve"})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_error(&body, "precondition_failed");
    let (status, body) = send(
        app.op(Method::PUT, &alice)
            .header("if-none-match", "*")
            .json(&json!({"name": "Eve"})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    let (_, body) = send(app.op(Method::GET, &alice)).await;
    assert_eq!(
        (body["version"].as_i64(), body.get("name")),
        (Some(2), None)
    );

    // Replace with the current ETag; the body may carry the GET's read-only fields.
    let mut replacement = body.clone();
    replacement["name"] = json!("Alice");
    let (status, body) = send(
        app.op(Method::PUT, &alice)
            .header("if-match", "\"2\"")
            .json(&replacement),
    )
    .await;
    assert_eq!(
        (status, body["version"].as_i64()),
        (StatusCode::OK, Some(3))
    );
    let (status, body) = send(
        app.op(Method::PUT, &format!("{users}/bob"))
            .header("if-none-match", "*")
            .json(&json!({})),
    )
    .await;
    assert_eq!(
        (status, body["id"].as_str()),
        (StatusCode::CREATED, Some("bob"))
    );
    let (status, body) = send(app.op(Method::PUT, &alice).json(&json!({"id": "mallory"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"][0]["field"], "id");

    // Patch merges; identity cannot change; null removes.
    let (status, body) = send(
        app.op(Method::PATCH, &alice)
            .json(&json!({"attributes": {"team": "core"}, "email": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            body["name"].as_str(),
            body["attributes"]["team"].as_str(),
            body.get("email")
        ),
        (Some("Alice"), Some("core"), None)
    );
    let (status, _) = send(app.op(Method::PATCH, &alice).json(&json!({"id": "other"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = send(app.op(Method::PATCH, &alice).json(&json!({"email": 42}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = send(
        app.op(Method::PATCH, &alice)
            .header("if-match", "\"3\"")
            .json(&json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _) = send(
        app.op(Method::PATCH, &format!("{users}/nobody"))
            .json(&json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Delete honours If-Match too.
    let (status, _) = send(app.op(Method::DELETE, &alice).header("if-match", "\"3\"")).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let response = app.op(Method::DELETE, &alice).send().await.expect("delete");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.headers().contains_key("grantd-revision"));
    let (status, _) = send(app.op(Method::GET, &alice)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(app.op(Method::DELETE, &alice)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn lists_page_with_opaque_cursors() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    for id in ["u5", "u3", "u1", "u4", "u2"] {
        app.create(&t, "users", json!({"id": id})).await;
    }
    let mut seen = Vec::new();
    let mut path = format!("/v1/tenants/{t}/users?limit=2");
    let mut pages = 0;
    loop {
        let (status, body) = send(app.op(Method::GET, &path)).await;
        assert_eq!(status, StatusCode::OK);
        pages += 1;
        for item in body["items"].as_array().expect("items") {
            seen.push(item["id"].as_str().expect("id").to_string());
        }
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/tenants/{t}/users?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["u1", "u2", "u3", "u4", "u5"]);
    assert_eq!(pages, 3, "the last page has no next cursor");

    for bad in [
        "limit=0",
        "limit=1001",
        "limit=abc",
        "cursor=%%%",
        "cursor=bm9wZQ",
    ] {
        let (status, body) =
            send(app.op(Method::GET, &format!("/v1/tenants/{t}/users?{bad}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_error(&body, "bad_request");
    }
}
