//! SIGKILL during a burst of writes loses no acknowledged write, change record or audit
//! event, and leaves the audit chain verifiable, on either store.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{path_str, run_binary, scratch, send, start_binary, OPERATOR};

const WORKERS: usize = 8;
/// Kill once this many writes are acknowledged, while the others are in flight.
const KILL_AFTER: usize = 40;

async fn acknowledged_writes_survive_sigkill(store_args: Vec<String>) {
    let mut args: Vec<&str> = store_args.iter().map(String::as_str).collect();
    args.extend(["--admin-token", OPERATOR]);
    let (mut server, _) = start_binary(&args).await;
    let client = reqwest::Client::new();
    let tenant = grantd_store::testing::unique_name("crash");
    let created = client
        .post(format!("{}/v1/tenants", server.base))
        .bearer_auth(OPERATOR)
        .json(&json!({"id": tenant}))
        .send()
        .await
        .expect("create tenant");
    assert_eq!(created.status(), StatusCode::CREATED);

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (client, base, tenant, acked) = (
                client.clone(),
                server.base.clone(),
                tenant.clone(),
                acked.clone(),
            );
            tokio::spawn(async move {
                for i in 0.. {
                    let id = format!("w{w}-{i}");
                    let response = client
                        .post(format!("{base}/v1/tenants/{tenant}/users"))
                        .bearer_auth(OPERATOR)
                        .json(&json!({"id": id}))
                        .send()
                        .await;
                    match response {
                        Ok(r) if r.status() == StatusCode::CREATED => {
                            acked.lock().expect("lock").push(id)
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect();
    while acked.lock().expect("lock").len() < KILL_AFTER {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.child.start_kill().expect("SIGKILL");
    let _ = server.child.wait().await;
    for worker in workers {
        let _ = worker.await;
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() >= KILL_AFTER);

    let (server, _) = start_binary(&args).await;
    let get = |path: String| {
        client
            .request(Method::GET, format!("{}{path}", server.base))
            .bearer_auth(OPERATOR)
    };
    for id in &acked {
        let (status, _) = send(get(format!("/v1/tenants/{tenant}/users/{id}"))).await;
        assert_eq!(status, StatusCode::OK, "acknowledged user {id} was lost");
    }
    let (_, changes) = send(get(format!("/v1/tenants/{tenant}/changes?limit=1000"))).await;
    let (_, audit) = send(get(format!("/v1/tenants/{tenant}/audit-events?limit=1000"))).await;
    let count = |v: &serde_json::Value| v["items"].as_array().map_or(0, Vec::len);
    assert!(
        count(&changes) > acked.len(),
        "every acknowledged write has its change record"
    );
    assert_eq!(count(&changes), count(&audit), "and its audit event");
    let mut verify = vec!["audit", "verify", "--tenant", tenant.as_str()];
    verify.extend(store_args.iter().map(String::as_str));
    let (ok, out, err) = run_binary(&verify).await;
    assert!(ok, "the audit chain is intact after SIGKILL: {out} {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_write_on_sqlite() {
    let dir = scratch("crash");
    acknowledged_writes_survive_sigkill(vec!["--data-dir".into(), path_str(&dir)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_write_on_postgres() {
    if let Some(url) = grantd_store::testing::postgres_url().await {
        acknowledged_writes_survive_sigkill(vec!["--database-url".into(), url]).await;
    }
}
