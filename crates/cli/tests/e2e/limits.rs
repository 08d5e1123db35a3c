//! Serving under abuse: TLS with a certificate from files, a cap on open connections,
//! clients too slow to send their headers cut off (slowloris), oversized request heads
//! refused, requests cut off at the request timeout, and every secret compared in
//! constant time (see auth::secret).

use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{path_str, scratch, spawn_with, start_binary, store_calls, OPERATOR};

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

#[tokio::test]
async fn check_traffic_cannot_lock_the_admin_out_of_revoking() {
    use reqwest::Method;
    let app = spawn_with(|c| c.rate_limit_per_tenant = Some(3)).await;
    let t = app.tenant().await;
    let checker = app.token(&t, "check").await;
    let reader = app.token(&t, "read").await;
    let admin = app.token(&t, "admin").await;
    let check = || {
        app.as_token(&checker, Method::POST, &format!("/v1/tenants/{t}/check"))
            .json(&serde_json::json!({"subject": {"type": "user", "id": "u"}, "action": "read", "data_path": "a"}))
    };
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(crate::helpers::send(check()).await.0.as_u16());
    }
    assert_eq!(
        codes,
        [200, 200, 200, 429],
        "check traffic spends the tenant's checks"
    );
    // The admin still lists, issues and revokes the tenant's tokens...
    let tokens = format!("/v1/tenants/{t}/tokens");
    let (status, listed) = crate::helpers::send(app.as_token(&admin, Method::GET, &tokens)).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let (status, created) = crate::helpers::send(
        app.as_token(&admin, Method::POST, &tokens)
            .json(&serde_json::json!({"scopes": ["check"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let checker_id = listed["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| i["scopes"] == serde_json::json!(["check"]))
        })
        .map(|i| i["id"].as_str().expect("id").to_string())
        .expect("the check token is listed");
    let (status, body) = crate::helpers::send(app.as_token(
        &admin,
        Method::DELETE,
        &format!("{tokens}/{checker_id}"),
    ))
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "revoking: {body}");
    // ...and reads are not spent by checks either.
    let (status, body) =
        crate::helpers::send(app.as_token(&reader, Method::GET, &format!("/v1/tenants/{t}/users")))
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A client address, and a request with a bad credential to one surface.
type Surface<'a> = (
    &'a str,
    Box<dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + 'a>,
);

/// A client whose requests come from `ip` (any 127.x.y.z reaches the loopback server).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

#[tokio::test]
async fn requests_without_a_valid_token_are_limited_per_client_address() {
    use crate::helpers::send;
    // The default: 60 refused authentications a minute from one address.
    let app = spawn_with(|_| {}).await;
    let t = app.tenant().await;
    let valid = app.token(&t, "admin").await;
    let users = format!("{}/v1/tenants/{t}/users", app.base);
    let flooder = client_from("127.0.0.2");
    assert_eq!(send(flooder.get(&users).bearer_auth(&valid)).await.0, 200);
    let mut codes = Vec::new();
    for i in 0..61 {
        if i == 59 {
            // Authenticated now, so still known when the address is refused below.
            assert_eq!(send(flooder.get(&users).bearer_auth(&valid)).await.0, 200);
        }
        let request = flooder.get(&users);
        let request = match i % 3 {
            0 => request,
            1 => request.bearer_auth("gd_not-a-token"),
            _ => request.bearer_auth(grantd_store::testing::unique_name("gd_random")),
        };
        codes.push(send(request).await.0.as_u16());
    }
    assert!(codes[..60].iter().all(|c| *c == 401), "{codes:?}");
    assert_eq!(codes[60], 429, "{codes:?}");
    let (_, body) = send(flooder.get(&users).bearer_auth("gd_still-wrong")).await;
    let message = crate::helpers::assert_error(&body, "rate_limited");
    assert!(message.contains("address"), "{message}");
    // A token authenticated moments ago still works from there (no lookup needed).
    assert_eq!(send(flooder.get(&users).bearer_auth(&valid)).await.0, 200);
    // Another address is not affected: its bad tokens get 401, its good ones 200.
    let other = client_from("127.0.0.3");
    assert_eq!(send(other.get(&users).bearer_auth("gd_x")).await.0, 401);
    assert_eq!(send(other.get(&users).bearer_auth(&valid)).await.0, 200);
    // Each compatible surface refuses a flood in its own envelope.
    let base = &app.base;
    let surfaces: [Surface; 3] = [
        (
            "127.0.0.4",
            Box::new(move |c: &reqwest::Client| {
                c.get(format!("{base}/segment/roles")).bearer_auth("gd_bad")
            }),
        ),
        (
            "127.0.0.5",
            Box::new(|c: &reqwest::Client| {
                c.get(format!("{base}/slashid/groups"))
                    .header("SlashID-API-Key", "gd_bad")
                    .header("SlashID-OrgID", &t)
            }),
        ),
        (
            "127.0.0.6",
            Box::new(|c: &reqwest::Client| {
                c.get(format!("{base}/v1/{t}/security/permission-sets"))
                    .header("X-Auth-Token", "gd_bad")
                    .header("workspace", "w")
            }),
        ),
    ];
    let mut refusals = Vec::new();
    for (ip, request) in &surfaces {
        let client = client_from(ip);
        for _ in 0..60 {
            assert_eq!(send(request(&client)).await.0, 401);
        }
        let (status, body) = send(request(&client)).await;
        assert_eq!(status, 429, "{ip}: {body}");
        refusals.push(body);
    }
    assert_eq!(refusals[0]["errors"][0]["type"], "RequestError");
    assert_eq!(refusals[1]["errors"][0]["httpcode"], 429);
    assert_eq!(refusals[2]["error_code"], "APIGW.0308");
    // A signed DataArts request with an unknown access key counts as a refusal too.
    let signer = client_from("127.0.0.7");
    let signed = || {
        signer
            .get(format!("{base}/v1/{t}/security/permission-sets"))
            .header(
                "Authorization",
                "SDK-HMAC-SHA256 Access=NOSUCHKEY, SignedHeaders=host;x-sdk-date, Signature=00",
            )
            .header("X-Sdk-Date", "20240101T000000Z")
            .header("workspace", "w")
    };
    for _ in 0..60 {
        assert_eq!(send(signed()).await.0, 401);
    }
    assert_eq!(send(signed()).await.0, 429);
}

#[tokio::test]
async fn a_repeated_bad_token_is_looked_up_once() {
    let data = path_str(&scratch("misses").join("data"));
    let (server, _) = start_binary(&["--data-dir", &data, "--admin-token", OPERATOR]).await;
    let client = reqwest::Client::new();
    let before = store_calls(&client, &server.base, "find_token").await;
    for _ in 0..20 {
        let response = client
            .get(format!("{}/v1/tenants/x/users", server.base))
            .bearer_auth("gd_this-token-was-never-issued")
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let after = store_calls(&client, &server.base, "find_token").await;
    assert_eq!(after - before, 1, "a known miss is not looked up again");
}
