//! Serving under abuse: TLS with a certificate from files, a cap on open connections,
//! clients too slow to send their headers cut off (slowloris), oversized request heads
//! refused, requests cut off at the request timeout, and every secret compared in
//! constant time (see auth::secret).

use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{path_str, scratch, spawn_with, start_binary, OPERATOR};

#[tokio::test]
async fn serves_tls_from_a_certificate_and_key_file() {
    let dir = scratch("tls");
    let issued = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("certificate");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, issued.cert.pem()).expect("write cert");
    std::fs::write(&key, issued.key_pair.serialize_pem()).expect("write key");
    let data = path_str(&dir.join("data"));
    let (server, _) = start_binary(&[
        "--data-dir",
        &data,
        "--admin-token",
        OPERATOR,
        "--tls-cert",
        &path_str(&cert),
        "--tls-key",
        &path_str(&key),
    ])
    .await;
    let port = server.base.rsplit(':').next().expect("port").to_string();
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(issued.cert.pem().as_bytes()).expect("pem"),
        )
        .build()
        .expect("client");
    let response = client
        .get(format!("https://localhost:{port}/v1/tenants"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .expect("a TLS request");
    assert_eq!(response.status(), StatusCode::OK);
    // Plain HTTP to the TLS port is no request at all.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(plain.is_err() || !plain.expect("response").status().is_success());
    // A key that does not belong to the certificate stops the start with a clear message.
    let other = rcgen::generate_simple_self_signed(vec!["x".into()]).expect("certificate");
    let wrong = dir.join("wrong.pem");
    std::fs::write(&wrong, other.key_pair.serialize_pem()).expect("write");
    let (ok, _, err) = crate::helpers::run_binary(&[
        "serve",
        "--data-dir",
        &data,
        "--tls-cert",
        &path_str(&cert),
        "--tls-key",
        &path_str(&wrong),
        "--listen",
        "127.0.0.1:0",
    ])
    .await;
    assert!(!ok && err.contains("TLS"), "{err}");
}

async fn get_healthz(base: &str) -> Option<StatusCode> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    tokio::time::timeout(
        Duration::from_millis(700),
        client.get(format!("{base}/healthz")).send(),
    )
    .await
    .ok()
    .and_then(|r| r.ok())
    .map(|r| r.status())
}

#[tokio::test]
async fn connections_are_capped_and_slow_clients_cut_off() {
    let app = spawn_with(|c| {
        c.max_connections = 2;
        c.header_read_timeout_secs = 1;
        c.max_header_bytes = 8192;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    // Two clients that connect and send half a request hold both places...
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        slow.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        get_healthz(&app.base).await,
        None,
        "a third connection waits"
    );
    // ...until the header timeout cuts them off: they are closed, and the next is served.
    for stream in &mut slow {
        let answer = read_answer(stream, 5).await;
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }
    assert_eq!(get_healthz(&app.base).await, Some(StatusCode::OK));
    // An oversized request head is refused, not read into memory.
    let mut stream = TcpStream::connect(&addr).await.expect("connect");
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let _ = stream.write_all(big.as_bytes()).await;
    let answer = read_answer(&mut stream, 5).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
}

/// What the server sends within `secs` seconds (empty if it closes the connection).
async fn read_answer(stream: &mut TcpStream, secs: u64) -> String {
    let mut buffer = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(secs), stream.read(&mut buffer))
        .await
        .expect("answered or closed in time")
        .unwrap_or(0);
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

#[tokio::test]
async fn a_request_whose_body_trickles_in_is_cut_off_at_the_request_timeout() {
    let app = spawn_with(|c| c.request_timeout_secs = 1).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).await.expect("connect");
    let head = format!(
        "POST /v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {OPERATOR}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"id\":"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let answer = read_answer(&mut stream, 10).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains(r#"{"error":{"code":"request_timeout","message":"#),
        "in the native envelope: {answer}"
    );
}

#[tokio::test]
async fn per_token_and_per_tenant_limits_hold_on_every_surface() {
    use reqwest::Method;
    use serde_json::Value;
    let app = spawn_with(|c| {
        c.rate_limit_per_token = Some(3);
        c.rate_limit_per_tenant = Some(5);
    })
    .await;
    // Native: the token's 4th request is refused; another token of the tenant gets the
    // tenant's remaining 2, then the tenant's limit refuses it.
    let t = app.tenant().await;
    let first = app.token(&t, "read").await;
    let second = app.token(&t, "read").await;
    let get = |token: &str| {
        crate::helpers::send(app.as_token(token, Method::GET, &format!("/v1/tenants/{t}/users")))
    };
    let mut seen = Vec::new();
    for token in [&first, &first, &first, &first, &second, &second, &second] {
        seen.push(get(token).await.0.as_u16());
    }
    assert_eq!(seen, [200, 200, 200, 429, 200, 200, 429]);
    let (_, body) = get(&second).await;
    crate::helpers::assert_error(&body, "rate_limited");
    // The check, answered before the router, counts the same way.
    let t = app.tenant().await;
    let checker = app.token(&t, "check").await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let check = app
            .as_token(&checker, Method::POST, &format!("/v1/tenants/{t}/check"))
            .json(&serde_json::json!({"subject": {"type": "user", "id": "nobody"}, "action": "read", "data_path": "a"}));
        seen.push(crate::helpers::send(check).await);
    }
    let codes: Vec<u16> = seen.iter().map(|(s, _)| s.as_u16()).collect();
    assert_eq!(codes, [200, 200, 200, 429], "{seen:?}");
    crate::helpers::assert_error(&seen[3].1, "rate_limited");
    // Each compatible surface refuses the 4th request of a token, in its own envelope.
    let fourth = |responses: Vec<(StatusCode, Value)>| {
        let codes: Vec<u16> = responses.iter().map(|(s, _)| s.as_u16()).collect();
        assert_eq!(codes, [200, 200, 200, 429], "{responses:?}");
        responses[3].1.clone()
    };
    let t = app.tenant().await;
    let token = app.token(&t, "admin").await;
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(
            crate::helpers::send(app.as_token(
                &token,
                Method::GET,
                "/segment/roles?pagination[count]=1",
            ))
            .await,
        );
    }
    assert_eq!(fourth(answers)["errors"][0]["type"], "RequestError");
    let t = app.tenant().await;
    let token = app.token(&t, "admin").await;
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(
            crate::helpers::send(
                app.anonymous(Method::GET, "/slashid/groups")
                    .header("SlashID-API-Key", &token)
                    .header("SlashID-OrgID", &t),
            )
            .await,
        );
    }
    assert_eq!(fourth(answers)["errors"][0]["httpcode"], 429);
    let t = app.tenant().await;
    let token = app.token(&t, "admin").await;
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(
            crate::helpers::send(
                app.anonymous(Method::GET, &format!("/v1/{t}/security/permission-sets"))
                    .header("X-Auth-Token", &token)
                    .header("workspace", "w"),
            )
            .await,
        );
    }
    assert_eq!(fourth(answers)["error_code"], "APIGW.0308");
}
