//! Tenant tokens: shown once, stored hashed, scoped, revocable.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, send, spawn_app};

#[tokio::test]
async fn tokens_are_shown_once_and_listed_without_secrets() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let (status, created) = send(
        app.op(Method::POST, &format!("/v1/tenants/{tenant}/tokens"))
            .json(&json!({"scopes": ["read", "check", "read"], "name": "ci"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["token"].as_str().expect("secret");
    assert!(
        secret.starts_with("gd_") && secret.len() == 46,
        "256 bits in base64url: {secret}"
    );
    assert_eq!(created["scopes"], json!(["check", "read"]));

    let (status, listed) = send(app.op(Method::GET, &format!("/v1/tenants/{tenant}/tokens"))).await;
    assert_eq!(status, StatusCode::OK);
    let text = listed.to_string();
    assert!(!text.contains(secret) && !text.contains("hash") && !text.contains("\"token\""));
    assert_eq!(listed["items"][0]["id"], created["id"]);

    let (status, body) = send(
        app.op(Method::POST, &format!("/v1/tenants/{tenant}/tokens"))
            .json(&json!({"scopes": ["root"]})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"][0]["field"], "scopes[0]");
    let (status, _) = send(
        app.op(Method::POST, &format!("/v1/tenants/{tenant}/tokens"))
            .json(&json!({"scopes": []})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn scopes_decide_what_a_token_may_do() {
    let app = spawn_app().await;
    let tenant = app.tenant().await;
    let users = format!("/v1/tenants/{tenant}/users");
    let tokens = format!("/v1/tenants/{tenant}/tokens");
    let [admin, write, read, check] = [
        app.token(&tenant, "admin").await,
        app.token(&tenant, "write").await,
        app.token(&tenant, "read").await,
        app.token(&tenant, "check").await,
    ];
    let (status, _) = send(
        app.as_token(&write, Method::POST, &users)
            .json(&json!({"id": "u1"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = send(
        app.as_token(&read, Method::POST, &users)
            .json(&json!({"id": "u2"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(assert_error(&body, "forbidden").contains("`write` scope"));
    let (status, _) = send(app.as_token(&read, Method::GET, &users)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(app.as_token(&check, Method::GET, &users)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(app.as_token(&write, Method::GET, &tokens)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, listed) = send(app.as_token(&admin, Method::GET, &tokens)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(4));

    // Revoking takes effect at once.
    let read_id = listed["items"]
        .as_array()
        .and_then(|items| items.iter().find(|t| t["scopes"] == json!(["read"])))
        .and_then(|t| t["id"].as_str())
        .expect("read token")
        .to_string();
    let (status, _) =
        send(app.as_token(&admin, Method::DELETE, &format!("{tokens}/{read_id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = send(app.as_token(&read, Method::GET, &users)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "unauthenticated");
    let (status, _) =
        send(app.as_token(&admin, Method::DELETE, &format!("{tokens}/{read_id}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
