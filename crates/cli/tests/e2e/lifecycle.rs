//! The binary's life: the operator token at first start, configuration sources, the
//! command line's token issuing, and graceful shutdown on SIGTERM.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{path_str, run_binary, scratch, send, start_binary, OPERATOR};

#[tokio::test]
async fn first_start_prints_an_operator_token_once_and_keeps_only_its_hash() {
    let dir = scratch("bootstrap");
    let data = path_str(&dir);
    let (mut server, printed) = start_binary(&["--data-dir", &data]).await;
    let token = printed
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("gd_"))
        .unwrap_or_else(|| panic!("no token printed: {printed:?}"))
        .to_string();
    let client = reqwest::Client::new();
    let ok = client
        .get(format!("{}/v1/tenants", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(ok.status(), StatusCode::OK);
    server.child.kill().await.expect("stop");

    let stored = std::fs::read(dir.join("grantd.db")).expect("db file");
    assert!(
        !String::from_utf8_lossy(&stored).contains(&token),
        "the token itself is never stored"
    );

    let (server, printed) = start_binary(&["--data-dir", &data]).await;
    assert!(
        !printed.iter().any(|l| l.contains("gd_")),
        "printed again: {printed:?}"
    );
    let ok = client
        .get(format!("{}/v1/tenants", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_command_line_creates_tenants_and_tokens_and_reads_a_config_file() {
    let dir = scratch("cli");
    let config = dir.join("grantd.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\nadmin_token = \"from-the-file-and-long-enough-to-be-strong\"\nmax_body_bytes = 2048\n",
            path_str(&dir.join("data"))
        ),
    )
    .expect("config");
    let config = path_str(&config);
    let (ok, out, err) = run_binary(&["tenant", "create", "acme", "--config", &config]).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "acme");
    let (ok, out, err) = run_binary(&[
        "token", "create", "--tenant", "acme", "--scope", "write", "--config", &config,
    ])
    .await;
    assert!(ok, "{err}");
    let secret = out.trim().to_string();
    assert!(secret.starts_with("gd_"));
    let (ok, _, err) = run_binary(&[
        "token", "create", "--tenant", "nope", "--scope", "write", "--config", &config,
    ])
    .await;
    assert!(!ok && err.contains("tenant nope"), "{err}");
    let (ok, _, err) = run_binary(&[
        "token", "create", "--tenant", "acme", "--scope", "root", "--config", &config,
    ])
    .await;
    assert!(!ok && err.contains("scopes"), "{err}");

    let (server, _) = start_binary(&["--config", &config]).await;
    let client = reqwest::Client::new();
    let (status, _) = send(
        client
            .post(format!("{}/v1/tenants/acme/users", server.base))
            .bearer_auth(&secret)
            .json(&json!({"id": "u1"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "the CLI's token works");
    let (status, _) = send(
        client
            .get(format!("{}/v1/tenants", server.base))
            .bearer_auth("from-the-file-and-long-enough-to-be-strong"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the file's operator token works");
    let (status, _) = send(
        client
            .post(format!("{}/v1/tenants/acme/users", server.base))
            .bearer_auth(&secret)
            .json(&json!({"id": "u2", "name": "x".repeat(3000)})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "the file's body limit holds"
    );

    // A flag wins over the file.
    drop(server);
    let (server, _) = start_binary(&["--config", &config, "--admin-token", OPERATOR]).await;
    let (status, _) = send(
        client
            .get(format!("{}/v1/tenants", server.base))
            .bearer_auth(OPERATOR),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (ok, _, err) = run_binary(&["serve", "--config", "/no/such/file.toml"]).await;
    assert!(!ok && err.contains("/no/such/file.toml"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_requests_finish() {
    let dir = scratch("sigterm");
    let data = path_str(&dir);
    let (mut server, _) = start_binary(&["--data-dir", &data, "--admin-token", OPERATOR]).await;
    let client = reqwest::Client::new();
    let (status, _) = send(
        client
            .post(format!("{}/v1/tenants", server.base))
            .bearer_auth(OPERATOR)
            .json(&json!({"id": "t"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let outcomes: Arc<Mutex<Vec<Result<String, bool>>>> = Arc::default();
    let requests: Vec<_> = (0..40)
        .map(|i| {
            let (client, base, outcomes) = (client.clone(), server.base.clone(), outcomes.clone());
            tokio::spawn(async move {
                let id = format!("u{i}");
                let result = client
                    .post(format!("{base}/v1/tenants/t/users"))
                    .bearer_auth(OPERATOR)
                    .json(&json!({"id": id}))
                    .send()
                    .await;
                let outcome = match result {
                    Ok(r) => {
                        assert_eq!(
                            r.status(),
                            StatusCode::CREATED,
                            "an accepted request is answered in full"
                        );
                        Ok(id)
                    }
                    // Refused, or closed before the server read the request (a connection
                    // accepted as the shutdown began): never answered, never written. A
                    // response cut short would be a body or decode error.
                    Err(e) => Err(e.is_connect() || (e.is_request() && !e.is_body())),
                };
                outcomes.lock().expect("lock").push(outcome);
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let pid = server.child.id().expect("pid").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(killed.success());
    let exit = tokio::time::timeout(Duration::from_secs(20), server.child.wait())
        .await
        .expect("exits")
        .expect("status");
    assert!(exit.success(), "graceful exit: {exit:?}");
    for r in requests {
        r.await.expect("request task");
    }
    let outcomes = outcomes.lock().expect("lock").clone();
    assert!(
        outcomes.iter().all(|o| matches!(o, Ok(_) | Err(true))),
        "only requests the server never read may fail: {outcomes:?}"
    );
    let served: Vec<String> = outcomes.into_iter().filter_map(Result::ok).collect();
    assert!(!served.is_empty());

    let (server, _) = start_binary(&["--data-dir", &data, "--admin-token", OPERATOR]).await;
    for id in served {
        let (status, _) = send(
            client
                .request(
                    Method::GET,
                    format!("{}/v1/tenants/t/users/{id}", server.base),
                )
                .bearer_auth(OPERATOR),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
}
