//! `grantd backup` while the server serves and writes, then `grantd restore` into a new
//! data folder: a server started on it has every object and a whole audit chain (issue 17).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{
    operator, path_str, run_binary, scratch, send, start_binary, tenant_with_user, OPERATOR,
};

#[tokio::test]
async fn a_backup_taken_while_serving_restores_into_a_working_server() {
    let dir = scratch("backup");
    let data = path_str(&dir.join("data"));
    let (server, _) = start_binary(&["--data-dir", &data, "--admin-token", OPERATOR]).await;
    let client = reqwest::Client::new();
    let t = tenant_with_user(&client, &server).await;
    // Writes go on while the backup is taken; it holds a consistent state whatever they do.
    let writing = {
        let (client, base, t) = (client.clone(), server.base.clone(), t.clone());
        tokio::spawn(async move {
            for i in 0..50 {
                let response = client
                    .post(format!("{base}/v1/tenants/{t}/users"))
                    .bearer_auth(OPERATOR)
                    .json(&json!({"id": format!("w{i}")}))
                    .send()
                    .await
                    .expect("write");
                assert_eq!(response.status(), StatusCode::CREATED);
            }
        })
    };
    let file = path_str(&dir.join("grantd.backup"));
    let (ok, out, err) = run_binary(&["backup", "--data-dir", &data, "--output", &file]).await;
    assert!(ok, "{out} {err}");
    assert!(out.contains("(checked)"), "{out}");
    writing.await.expect("writes");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "it holds signing keys: its owner's only");
    }
    // A mistyped folder is not a new, empty store to back up.
    let wrong = path_str(&dir.join("no-such-data"));
    let other = path_str(&dir.join("other.backup"));
    let (ok, _, err) = run_binary(&["backup", "--data-dir", &wrong, "--output", &other]).await;
    assert!(!ok);
    assert!(err.contains("there is no store"), "{err}");
    assert!(!dir.join("no-such-data").exists() && !dir.join("other.backup").exists());
    // Not over an existing file.
    let (ok, _, err) = run_binary(&["backup", "--data-dir", &data, "--output", &file]).await;
    assert!(!ok);
    assert!(err.contains("exists already"), "{err}");
    drop(server);

    let restored = path_str(&dir.join("restored"));
    let (ok, out, err) = run_binary(&["restore", &file, "--data-dir", &restored]).await;
    assert!(ok, "{out} {err}");
    let (ok, _, err) = run_binary(&["restore", &file, "--data-dir", &restored]).await;
    assert!(!ok, "never over a store");
    assert!(err.contains("holds a store already"), "{err}");
    // Nor into a folder with anything in it (a WAL file left there would be replayed).
    let littered = dir.join("littered");
    std::fs::create_dir_all(&littered).expect("folder");
    std::fs::write(littered.join("grantd.db-wal"), "left over").expect("write");
    let (ok, _, _) = run_binary(&["restore", &file, "--data-dir", &path_str(&littered)]).await;
    assert!(!ok);
    assert!(!littered.join("grantd.db").exists());
    // Not a backup at all: refused, nothing made.
    let junk = path_str(&dir.join("junk"));
    std::fs::write(&junk, "not a database").expect("write");
    let elsewhere = path_str(&dir.join("elsewhere"));
    let (ok, _, err) = run_binary(&["restore", &junk, "--data-dir", &elsewhere]).await;
    assert!(!ok);
    assert!(err.contains("not a usable backup"), "{err}");
    assert!(!dir.join("elsewhere").exists());

    let (server, _) = start_binary(&["--data-dir", &restored, "--admin-token", OPERATOR]).await;
    let (status, users) = send(operator(
        &client,
        &server,
        Method::GET,
        &format!("/v1/tenants/{t}/users?limit=1000"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{users}");
    let count = users["items"].as_array().map_or(0, Vec::len);
    assert!((1..=51).contains(&count), "{users}");
    let (ok, out, err) =
        run_binary(&["audit", "verify", "--tenant", &t, "--data-dir", &restored]).await;
    assert!(ok, "{out} {err}");
    // The restored server takes writes.
    let (status, body) = send(
        operator(
            &client,
            &server,
            Method::POST,
            &format!("/v1/tenants/{t}/users"),
        )
        .json(&json!({"id": "after"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
