//! Faults under a write load: PostgreSQL stopped and started again (a private cluster), and
//! a full disk under SQLite (a small tmpfs). In both, grantd refuses writes with 503 in
//! its envelope, acknowledges nothing it did not commit, keeps answering checks from its
//! index, and recovers by itself; the store stays intact and its audit chain verifiable.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    operator as op, path_str, run_binary, scratch, send, start_binary, tenant_with_user, Server,
    OPERATOR,
};
use crate::private_pg::PrivatePostgres;

/// A tenant where user `u` may read everything.
async fn tenant(client: &Client, server: &Server) -> String {
    let t = tenant_with_user(client, server).await;
    let (status, body) = send(
        op(
            client,
            server,
            Method::POST,
            &format!("/v1/tenants/{t}/grants"),
        )
        .json(&json!({
            "subject": {"type": "user", "id": "u"},
            "privilege": {"type": "actions", "actions": ["read"]},
            "target": {"type": "tenant"},
            "effect": "ALLOW"
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t
}

async fn check_allows(client: &Client, server: &Server, tenant: &str) {
    let (status, body) = send(
        op(
            client,
            server,
            Method::POST,
            &format!("/v1/tenants/{tenant}/check"),
        )
        .json(&json!({
            "subject": {"type": "user", "id": "u"},
            "action": "read",
            "resource": {"type": "doc", "id": "d"},
        })),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "checks are answered from the index: {body}"
    );
    assert_eq!(body["allowed"], true, "{body}");
}

async fn readiness(client: &Client, server: &Server) -> (StatusCode, Value) {
    send(client.get(format!("{}/readyz", server.base))).await
}

/// Polls `/readyz` until it answers `want` with a body `accept` takes.
async fn wait_readiness(
    client: &Client,
    server: &Server,
    want: StatusCode,
    accept: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = readiness(client, server).await;
        if status == want && accept(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never became {want}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writers creating users until stopped; every answer is recorded.
struct WriteLoad {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
    refused: Arc<Mutex<Vec<Value>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl WriteLoad {
    fn start(client: &Client, server: &Server, tenant: &str, workers: usize) -> WriteLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let acked: Arc<Mutex<Vec<String>>> = Arc::default();
        let refused: Arc<Mutex<Vec<Value>>> = Arc::default();
        let tasks = (0..workers)
            .map(|w| {
                let url = format!("{}/v1/tenants/{tenant}/users", server.base);
                let (client, stop, acked, refused) =
                    (client.clone(), stop.clone(), acked.clone(), refused.clone());
                tokio::spawn(async move {
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let id = format!("w{w}-{i}");
                        let response = client
                            .post(&url)
                            .bearer_auth(OPERATOR)
                            .json(&json!({"id": id, "attributes": {"pad": "x".repeat(512)}}))
                            .send()
                            .await
                            .expect("grantd answers every write");
                        let status = response.status();
                        let body: Value = response.json().await.unwrap_or(Value::Null);
                        match status {
                            StatusCode::CREATED => acked.lock().expect("lock").push(id),
                            StatusCode::SERVICE_UNAVAILABLE => {
                                refused.lock().expect("lock").push(body);
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            other => panic!("write {id}: unexpected {other}: {body}"),
                        }
                    }
                })
            })
            .collect();
        WriteLoad {
            stop,
            acked,
            refused,
            tasks,
        }
    }

    fn acked(&self) -> usize {
        self.acked.lock().expect("lock").len()
    }

    fn refused(&self) -> usize {
        self.refused.lock().expect("lock").len()
    }

    async fn wait_acked(&self, count: usize) {
        self.wait_for("acknowledged", Self::acked, count).await;
    }

    async fn wait_refused(&self, count: usize) {
        self.wait_for("refused", Self::refused, count).await;
    }

    /// Waits (a minute at most) until `seen` counts at least `count` writes.
    async fn wait_for(&self, what: &str, seen: fn(&Self) -> usize, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while seen(self) < count {
            assert!(
                Instant::now() < deadline,
                "only {} writes {what}",
                seen(self)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the writers; returns the acknowledged ids and the refusals' bodies.
    async fn finish(self) -> (Vec<String>, Vec<Value>) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("writer");
        }
        let acked = self.acked.lock().expect("lock").clone();
        let refused = self.refused.lock().expect("lock").clone();
        (acked, refused)
    }
}

/// Every item of a native list, following its cursors.
async fn all_items(client: &Client, server: &Server, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = send(op(
            client,
            server,
            Method::GET,
            &format!("{path}?limit=1000{cursor}"),
        ))
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return items,
        }
    }
}

/// Every acknowledged user is stored, and every stored change has its audit event.
async fn assert_nothing_lost(client: &Client, server: &Server, tenant: &str, acked: &[String]) {
    let users = all_items(client, server, &format!("/v1/tenants/{tenant}/users")).await;
    let stored: BTreeSet<&str> = users.iter().filter_map(|u| u["id"].as_str()).collect();
    for id in acked {
        assert!(
            stored.contains(id.as_str()),
            "acknowledged user {id} was lost"
        );
    }
    let changes = all_items(client, server, &format!("/v1/tenants/{tenant}/changes")).await;
    let audit = all_items(
        client,
        server,
        &format!("/v1/tenants/{tenant}/audit-events"),
    )
    .await;
    let revisions = |items: &[Value]| -> Vec<i64> {
        items
            .iter()
            .filter_map(|i| i["revision"].as_i64())
            .collect()
    };
    assert_eq!(
        revisions(&changes),
        revisions(&audit),
        "one audit event per change record"
    );
    // The tenant, `u` and the grant, then one change per other stored user.
    assert_eq!(
        changes.len(),
        2 + stored.len(),
        "no change without its object"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_outage_refuses_writes_at_once_and_recovers() {
    let Some(pg) = PrivatePostgres::create() else {
        return;
    };
    let url = pg.url();
    let (server, _) = start_binary(&["--database-url", &url, "--admin-token", OPERATOR]).await;
    let client = Client::new();
    let t = tenant(&client, &server).await;
    let (status, _) = readiness(&client, &server).await;
    assert_eq!(status, StatusCode::OK);

    let load = WriteLoad::start(&client, &server, &t, 4);
    load.wait_acked(40).await;
    pg.stop();
    // The breaker opens: readiness says why, and answers at once.
    let down = wait_readiness(&client, &server, StatusCode::SERVICE_UNAVAILABLE, |body| {
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("has been unreachable"))
    })
    .await;
    assert_eq!(down["status"], "not_ready", "{down}");
    let acked_before = load.acked();
    load.wait_refused(20).await;
    for _ in 0..20 {
        check_allows(&client, &server, &t).await;
    }
    let (status, body) = send(
        op(
            &client,
            &server,
            Method::POST,
            &format!("/v1/tenants/{t}/users"),
        )
        .json(&json!({"id": "during-outage"})),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");

    pg.start();
    let up = wait_readiness(&client, &server, StatusCode::OK, |_| true).await;
    assert_eq!(up["status"], "ready", "{up}");
    load.wait_acked(load.acked() + 40).await;
    let (acked, refused) = load.finish().await;
    for body in &refused {
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
    }
    eprintln!(
        "postgresql outage: {acked_before} writes acknowledged before, {} refused with 503 \
         during, {} acknowledged in all; checks answered throughout",
        refused.len(),
        acked.len()
    );
    assert_nothing_lost(&client, &server, &t, &acked).await;
    let (ok, out, err) =
        run_binary(&["audit", "verify", "--tenant", &t, "--database-url", &url]).await;
    assert!(ok, "audit chain intact after the outage: {out} {err}");
}

/// A tmpfs of a given size mounted on a scratch folder, unmounted when dropped.
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// `None` (said on stderr) where this process may not mount, which CI does not allow.
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = scratch("full-disk");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(SmallDisk { dir }),
            other => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI runs as root and can mount a tmpfs: {other:?}"
                );
                eprintln!("skipping: cannot mount a tmpfs here ({other:?})");
                None
            }
        }
    }

    fn grow(&self, size: &str) {
        let out = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .output()
            .expect("remount");
        assert!(out.status.success(), "remount: {out:?}");
    }

    fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_cleanly_and_keeps_the_file_intact() {
    let Some(disk) = SmallDisk::mount("1536k") else {
        return;
    };
    let data = path_str(disk.path());
    let args = ["--data-dir", data.as_str(), "--admin-token", OPERATOR];
    let (mut server, _) = start_binary(&args).await;
    let client = Client::new();
    let t = tenant(&client, &server).await;

    let load = WriteLoad::start(&client, &server, &t, 2);
    load.wait_refused(10).await;
    let full_at = load.acked();
    for _ in 0..20 {
        check_allows(&client, &server, &t).await;
    }
    let (status, body) = readiness(&client, &server).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "reads still work on a full disk: {body}"
    );
    disk.grow("64m");
    load.wait_acked(full_at + 20).await;
    let (acked, refused) = load.finish().await;
    for body in &refused {
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
    }
    eprintln!(
        "full disk: {full_at} writes acknowledged until the 1.5 MiB disk filled, {} refused \
         with 503, {} acknowledged once it grew",
        refused.len(),
        acked.len() - full_at
    );
    assert_nothing_lost(&client, &server, &t, &acked).await;

    server.child.start_kill().expect("SIGKILL");
    let _ = server.child.wait().await;
    let file = disk.path().join("grantd.db");
    let options = format!("sqlite://{}", file.display());
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&options)
        .await
        .expect("open the file");
    let integrity: (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut db)
        .await
        .expect("integrity_check");
    assert_eq!(integrity.0, "ok");
    drop(db);
    let (ok, out, err) =
        run_binary(&["audit", "verify", "--tenant", &t, "--data-dir", &data]).await;
    assert!(ok, "audit chain intact after the full disk: {out} {err}");
    let (server, _) = start_binary(&args).await;
    assert_nothing_lost(&client, &server, &t, &acked).await;
}
