//! Client mistakes: each a 4xx in the native envelope, and nothing written.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, send, spawn_app, spawn_with};

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_refused_without_a_write() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let users = format!("/v1/tenants/{t}/users");
    let before = app.revision(&t).await;

    let (status, body) = send(
        app.op(Method::POST, &users)
            .header("content-type", "application/json")
            .body("{\"id\": "),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_error(&body, "bad_request").contains("not valid JSON"));
    let (status, body) = send(
        app.op(Method::POST, &users)
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error(&body, "unsupported_media_type");
    let (status, body) = send(app.op(Method::POST, &users).json(&json!({"id": 7}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "validation_failed");
    let (status, body) = send(
        app.op(Method::POST, &users)
            .json(&json!({"id": "u", "colour": "red"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(assert_error(&body, "validation_failed").contains("colour"));
    let (status, _) = send(app.op(Method::POST, &users).json(&json!([1, 2]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = send(
        app.op(Method::POST, &users)
            .json(&json!({"id": "-bad", "email": "nope", "attributes": {"": "x"}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["id", "email", "attributes"],
        "every wrong field is named"
    );

    assert_eq!(app.revision(&t).await, before, "no error writes anything");
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let app = spawn_with(|c| c.max_body_bytes = 4096).await;
    let t = app.tenant().await;
    let big = json!({"id": "u", "name": "x".repeat(5000)});
    let (status, body) = send(
        app.op(Method::POST, &format!("/v1/tenants/{t}/users"))
            .json(&big),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&body, "payload_too_large");
    // Every surface reads its bodies within the same limit, and answers in its envelope.
    let token = app.token(&t, "admin").await;
    let (status, body) = send(
        app.as_token(&token, Method::POST, "/segment/groups")
            .json(&json!({"name": "x".repeat(5000)})),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["errors"][0]["type"], "PayloadTooLarge", "{body}");
    let (status, body) = send(
        app.anonymous(Method::POST, "/slashid/persons")
            .header("SlashID-API-Key", &token)
            .header("SlashID-OrgID", &t)
            .json(&json!({"name": "x".repeat(5000)})),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["errors"][0]["httpcode"], 413, "{body}");
    let (status, body) = send(
        app.anonymous(Method::POST, "/v1/p1/security/permission-sets")
            .json(&json!({"name": "x".repeat(5000)})),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body["error_code"].is_string(), "{body}");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_envelope() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let (status, body) = send(app.op(Method::GET, "/v1/nothing")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found");
    let (status, body) = send(app.op(Method::DELETE, &format!("/v1/tenants/{t}/changes"))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&body, "method_not_allowed");
    let (status, body) =
        send(app.op(Method::GET, &format!("/v1/tenants/{t}/changes?after=x"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "bad_request");
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_trailing_slashes_are_trimmed() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    // Made by grantd, unique per request, on errors too.
    let mut ids = Vec::new();
    for _ in 0..3 {
        let response = app
            .op(Method::GET, "/v1/nothing")
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        ids.push(
            response.headers()["x-request-id"]
                .to_str()
                .expect("ascii")
                .to_string(),
        );
    }
    assert!(ids
        .iter()
        .all(|id| id.len() == 21 && id.as_bytes()[8] == b'-'));
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    // The client's own id is kept, and answered back.
    let response = app
        .op(Method::GET, &format!("/v1/tenants/{t}/users/"))
        .header("x-request-id", "client-chosen-7")
        .send()
        .await
        .expect("send");
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the trailing slash is trimmed"
    );
    assert_eq!(response.headers()["x-request-id"], "client-chosen-7");
    let response = app
        .op(Method::GET, &format!("/v1/tenants/{t}/users/?limit=1"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK, "with its query kept");
}

/// Sends `head` on `stream` and reads one response: (its head, lowercased, and whether the
/// server then closed the connection).
async fn exchange(stream: &mut tokio::net::TcpStream, head: &str) -> (String, bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    let wait = std::time::Duration::from_secs(5);
    let (head, body_len) = loop {
        let n = tokio::time::timeout(wait, stream.read(&mut buffer))
            .await
            .expect("an answer within 5 s")
            .expect("read");
        assert!(
            n > 0,
            "closed before answering: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = text[..end].to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse::<usize>().expect("length"))
                .unwrap_or(0);
            break (head, end + 4 + length);
        }
    };
    while got.len() < body_len {
        let n = tokio::time::timeout(wait, stream.read(&mut buffer))
            .await
            .expect("the body within 5 s")
            .expect("read");
        assert!(n > 0);
        got.extend_from_slice(&buffer[..n]);
    }
    let closed = matches!(
        tokio::time::timeout(
            std::time::Duration::from_millis(500),
            stream.read(&mut buffer)
        )
        .await,
        Ok(Ok(0)) | Ok(Err(_))
    );
    (head, closed)
}

#[tokio::test]
async fn a_refusal_before_the_body_arrives_says_the_connection_closes() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let addr = app.base.trim_start_matches("http://").to_string();
    for (path, auth) in [
        (format!("/v1/tenants/{t}/users"), ""),
        (
            format!("/v1/tenants/{t}/check"),
            "Authorization: Bearer gd_bad\r\n",
        ),
        (
            "/segment/groups".to_string(),
            "Authorization: Bearer gd_bad\r\n",
        ),
        ("/slashid/groups".to_string(), "SlashID-API-Key: gd_bad\r\n"),
    ] {
        let mut stream = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        // The head promises a body that has not been sent when the refusal is answered.
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: 1000\r\n\r\n"
        );
        let (answer, closed) = exchange(&mut stream, &head).await;
        assert!(answer.starts_with("http/1.1 401"), "{path}: {answer}");
        assert!(closed, "{path}: the server closes the connection");
        assert!(
            answer.lines().any(|l| l == "connection: close"),
            "{path}: and says so: {answer}"
        );
    }
    // A refused request without a body keeps the connection open, and says nothing.
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!("GET /v1/tenants/{t}/users HTTP/1.1\r\nHost: x\r\n\r\n");
    let (answer, closed) = exchange(&mut stream, &head).await;
    assert!(answer.starts_with("http/1.1 401"), "{answer}");
    assert!(!closed && !answer.contains("connection: close"), "{answer}");
    let (answer, _) = exchange(&mut stream, &head).await;
    assert!(
        answer.starts_with("http/1.1 401"),
        "the same connection: {answer}"
    );
}
