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

/// Runs `grantd serve` with `args` (and `env`) and returns its stderr if it exits within
/// 30 s; fails if it starts listening instead.
async fn refused_start(args: &[&str], env: &[(&str, &str)]) -> String {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_grantd"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .env("GRANTD_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn grantd");
    let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = String::new();
    let read = async {
        while let Ok(Some(line)) = lines.next_line().await {
            assert!(
                !line.contains("listening"),
                "started with a weak token: {line}"
            );
            seen.push_str(&line);
            seen.push('\n');
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), read)
        .await
        .expect("grantd exits within 30 s");
    let status = child.wait().await.expect("exit status");
    assert!(!status.success(), "{seen}");
    seen
}

#[tokio::test]
async fn a_weak_operator_token_is_refused_at_start() {
    let data = crate::helpers::path_str(&crate::helpers::scratch("weak").join("data"));
    let err = refused_start(&["--data-dir", &data, "--admin-token", "x"], &[]).await;
    assert!(err.contains("at least 32 characters"), "{err}");
    let err = refused_start(
        &["--data-dir", &data],
        &[(
            "GRANTD_ADMIN_TOKEN",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        )],
    )
    .await;
    assert!(err.contains("admin token"), "{err}");
}
