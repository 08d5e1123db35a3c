//! The audit trail is a hash chain: `grantd audit verify` finds a changed, removed or
//! reordered event; `grantd audit export` writes JSON lines; pruning past the retention
//! period leaves what remains verifiable.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{path_str, run_binary, scratch, send, start_binary, Server, OPERATOR};

async fn tenant_with_users(client: &reqwest::Client, server: &Server) -> String {
    let t = grantd_store::testing::unique_name("audit");
    let request = |method: Method, path: String| {
        client
            .request(method, format!("{}{path}", server.base))
            .bearer_auth(OPERATOR)
    };
    let (status, _) =
        send(request(Method::POST, "/v1/tenants".into()).json(&json!({"id": t}))).await;
    assert_eq!(status, StatusCode::CREATED);
    for i in 0..5 {
        let (status, _) = send(
            request(Method::POST, format!("/v1/tenants/{t}/users"))
                .json(&json!({"id": format!("u{i}")})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    t
}

async fn verify(data: &str, tenant: &str) -> (bool, String, String) {
    run_binary(&["audit", "verify", "--tenant", tenant, "--data-dir", data]).await
}

#[tokio::test]
async fn tampering_is_found_and_pruning_keeps_the_rest_verifiable() {
    let dir = scratch("audit-chain");
    let data = path_str(&dir);
    let (mut server, _) = start_binary(&["--data-dir", &data, "--admin-token", OPERATOR]).await;
    let client = reqwest::Client::new();
    let intact = tenant_with_users(&client, &server).await;
    let changed = tenant_with_users(&client, &server).await;
    let removed = tenant_with_users(&client, &server).await;
    let reordered = tenant_with_users(&client, &server).await;

    let (ok, out, err) = verify(&data, &intact).await;
    assert!(ok, "{out} {err}");
    assert!(out.starts_with("ok: 6 events, revisions 1 to 6"), "{out}");
    let (ok, out, _) =
        run_binary(&["audit", "export", "--tenant", &intact, "--data-dir", &data]).await;
    assert!(ok);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[1]["prev_hash"], lines[0]["hash"]);
    assert_eq!(lines[5]["action"], "user.create");

    // Tamper with the database file directly, as an intruder with disk access would.
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{data}/grantd.db"))
        .await
        .expect("open the file");
    let run = |sql: String| {
        let db = db.clone();
        async move { sqlx::query(&sql).execute(&db).await.expect("tamper") }
    };
    run(format!("UPDATE audit_events SET actor = 'someone-else' WHERE tenant = '{changed}' AND revision = 3")).await;
    run(format!(
        "DELETE FROM audit_events WHERE tenant = '{removed}' AND revision = 3"
    ))
    .await;
    // Swap two events' contents (and hashes), keeping the revisions in order.
    run(format!(
        "UPDATE audit_events SET revision = -revision WHERE tenant = '{reordered}' AND revision IN (3, 4)"
    ))
    .await;
    run(format!(
        "UPDATE audit_events SET revision = CASE revision WHEN -3 THEN 4 ELSE 3 END WHERE tenant = '{reordered}' AND revision < 0"
    ))
    .await;
    db.close().await;
    for (tenant, revision, why) in [
        (&changed, 3, "changed"),
        (&removed, 3, "missing"),
        (&reordered, 3, "reordered"),
    ] {
        let (ok, _, err) = verify(&data, tenant).await;
        assert!(!ok, "{why} was not found");
        assert!(
            err.contains(&format!("revision {revision}")) && err.contains(why),
            "{why}: {err}"
        );
    }
    let (ok, out, _) = verify(&data, &intact).await;
    assert!(ok, "{out}");

    // Restart with a retention of 0 days: everything but each tenant's latest event goes;
    // what remains verifies, and new writes chain onto it.
    server.child.kill().await.expect("stop");
    let (server, _) = start_binary(&[
        "--data-dir",
        &data,
        "--admin-token",
        OPERATOR,
        "--audit-retention-days",
        "0",
    ])
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (ok, out, err) = verify(&data, &intact).await;
        assert!(ok, "{out} {err}");
        if out.starts_with("ok: 1 events, revisions 6 to 6") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never pruned: {out}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = send(
        client
            .post(format!("{}/v1/tenants/{intact}/users", server.base))
            .bearer_auth(OPERATOR)
            .json(&json!({"id": "later"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (ok, out, err) = verify(&data, &intact).await;
    assert!(
        ok && out.starts_with("ok: 2 events, revisions 6 to 7"),
        "{out} {err}"
    );
}
