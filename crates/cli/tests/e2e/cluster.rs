//! Three grantd nodes over one PostgreSQL database, as real processes on loopback: writes
//! on one are seen by checks on another (at once with the write's revision, within
//! milliseconds without it: figures printed, not asserted), the cluster view, a killed
//! node dropping out of `all_regions`, a rate limit held across the three, and a restart
//! of PostgreSQL (a private cluster this test starts) losing no change on any node.

use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    operator as op, send, start_binary, tenant_with_user as tenant, Server, OPERATOR,
};
use crate::private_pg::PrivatePostgres;

/// Starts a node over `url`.
async fn node(url: &str, id: &str, extra: &[&str]) -> Server {
    let mut args = vec![
        "--database-url",
        url,
        "--admin-token",
        OPERATOR,
        "--node-id",
        id,
        "--heartbeat-ms",
        "200",
        "--node-timeout-ms",
        "2000",
    ];
    args.extend_from_slice(extra);
    start_binary(&args).await.0
}

/// Grants `u` read on `doc/<name>` through `node`; returns the write's revision.
async fn grant(client: &Client, node: &Server, tenant: &str, name: &str) -> i64 {
    let response = op(
        client,
        node,
        Method::POST,
        &format!("/v1/tenants/{tenant}/grants"),
    )
    .json(&json!({
        "subject": {"type": "user", "id": "u"},
        "privilege": {"type": "actions", "actions": ["read"]},
        "target": {"type": "labels", "resource_type": "doc", "labels": {"name": name}},
        "effect": "ALLOW"
    }))
    .send()
    .await
    .expect("send");
    assert_eq!(response.status(), StatusCode::CREATED);
    response.headers()["grantd-revision"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("revision")
}

async fn allowed(
    client: &Client,
    node: &Server,
    tenant: &str,
    name: &str,
    consistency: Value,
) -> bool {
    let (status, body) = send(
        op(
            client,
            node,
            Method::POST,
            &format!("/v1/tenants/{tenant}/check"),
        )
        .json(&json!({
            "subject": {"type": "user", "id": "u"},
            "action": "read",
            "resource": {"type": "doc", "id": name, "labels": {"name": name}},
            "consistency": consistency,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["allowed"].as_bool().expect("allowed")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Waits until the node's `/readyz` answers 200 (its store answers again).
async fn wait_ready(client: &Client, node: &Server) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("{}/readyz", node.base))
        .send()
        .await
        .map_or(true, |r| r.status() != StatusCode::OK)
    {
        assert!(
            Instant::now() < deadline,
            "{} never became ready",
            node.base
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn cluster_view(client: &Client, node: &Server) -> Value {
    let (status, body) = send(op(client, node, Method::GET, "/v1/cluster")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_answer_as_one() {
    let Some(url) = grantd_store::testing::fresh_postgres_url().await else {
        return;
    };
    let limit = ["--segment-write-limit", "5"];
    let nodes = [
        node(&url, "n1", &limit).await,
        node(&url, "n2", &limit).await,
        node(&url, "n3", &limit).await,
    ];
    let client = Client::new();
    let t = tenant(&client, &nodes[0]).await;

    // With the write's revision, another node's check sees it at once.
    let revision = grant(&client, &nodes[0], &t, "first").await;
    let fresh = json!({"mode": "at_least_as_fresh", "revision": revision});
    assert!(allowed(&client, &nodes[1], &t, "first", fresh.clone()).await);
    assert!(allowed(&client, &nodes[2], &t, "first", fresh).await);

    // Without it: how long until another node's fastest check sees a write.
    let mut seen = Vec::new();
    for i in 0..1000 {
        let name = format!("d{i}");
        let writer = &nodes[i % 3];
        let reader = &nodes[(i + 1) % 3];
        grant(&client, writer, &t, &name).await;
        let written = Instant::now();
        while !allowed(
            &client,
            reader,
            &t,
            &name,
            json!({"mode": "minimize_latency"}),
        )
        .await
        {
            assert!(
                written.elapsed() < Duration::from_secs(10),
                "write {i} never propagated"
            );
        }
        seen.push(written.elapsed());
    }
    seen.sort();
    eprintln!(
        "propagation over 1000 writes, another node's minimize_latency check: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&seen, 0.5),
        percentile(&seen, 0.99),
        seen[seen.len() - 1]
    );

    // The cluster view: three live nodes, none behind.
    let view = cluster_view(&client, &nodes[0]).await;
    let live: Vec<&str> = view["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["live"] == true)
        .filter_map(|n| n["id"].as_str())
        .collect();
    assert_eq!(live, ["n1", "n2", "n3"], "{view}");
    let (status, _) = send(
        client
            .get(format!("{}/v1/cluster", nodes[0].base))
            .bearer_auth(grantd_store::testing::unique_name("not-the-operator")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The rate limit holds across the three: 5 writes per minute in all.
    let (status, token) = send(
        op(
            &client,
            &nodes[0],
            Method::POST,
            &format!("/v1/tenants/{t}/tokens"),
        )
        .json(&json!({"scopes": ["admin"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = token["token"].as_str().expect("token").to_string();
    let mut statuses = Vec::new();
    for i in 0..7 {
        let (status, _) = send(
            client
                .post(format!("{}/segment/groups", nodes[i % 3].base))
                .bearer_auth(&token)
                .json(&json!({"name": format!("g{i}")})),
        )
        .await;
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);

    // SlashID's all_regions waits for every live node: a killed node is waited for (408,
    // the write kept) until it drops out of the live set; then not.
    let (status, key) = send(
        op(
            &client,
            &nodes[0],
            Method::POST,
            &format!("/v1/tenants/{t}/tokens"),
        )
        .json(&json!({"scopes": ["admin"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let key = key["token"].as_str().expect("token").to_string();
    let slashid = |node: &Server, name: &str| {
        client
            .post(format!("{}/slashid/rbac/permissions", node.base))
            .header("SlashID-API-Key", &key)
            .header("SlashID-OrgID", &t)
            .header("SlashID-Required-Consistency", "all_regions")
            .header("SlashID-Required-Consistency-Timeout", "1")
            .json(&json!({"name": name}))
    };
    let (status, body) = send(slashid(&nodes[0], "docs.read")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "all three apply it: {body}");
    let [n1, n2, mut n3] = nodes;
    n3.child.kill().await.expect("kill n3");
    let (status, body) = send(slashid(&n1, "docs.write")).await;
    assert_eq!(
        status,
        StatusCode::REQUEST_TIMEOUT,
        "n3 is still live and behind: {body}"
    );
    assert_eq!(body["errors"][0]["httpcode"], 408);
    let (status, _) = send(
        client
            .get(format!("{}/slashid/rbac/permissions/docs.write", n2.base))
            .header("SlashID-API-Key", &key)
            .header("SlashID-OrgID", &t),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the write was kept");
    let dropped = Instant::now();
    loop {
        let view = cluster_view(&client, &n1).await;
        let n3_live = view["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .any(|n| n["id"] == "n3" && n["live"] == true);
        if !n3_live {
            break;
        }
        assert!(
            dropped.elapsed() < Duration::from_secs(10),
            "n3 never dropped out: {view}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = send(slashid(&n1, "docs.admin")).await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "n3 is no longer waited for: {body}"
    );
    drop(n2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_postgresql_loses_no_change() {
    let Some(pg) = PrivatePostgres::create() else {
        return;
    };
    let url = pg.url();
    let nodes = [
        node(&url, "p1", &[]).await,
        node(&url, "p2", &[]).await,
        node(&url, "p3", &[]).await,
    ];
    let client = Client::new();
    let t = tenant(&client, &nodes[0]).await;
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    let mut restarted = false;
    // 100 writes, PostgreSQL stopped for 6, then started again (each node ready again,
    // its breaker closed) for 100 more.
    for i in 0..206 {
        if i == 100 {
            pg.stop();
        }
        if i == 106 {
            pg.start();
            restarted = true;
            for node in &nodes {
                wait_ready(&client, node).await;
            }
        }
        let name = format!("w{i}");
        let response = op(
            &client,
            &nodes[i % 3],
            Method::POST,
            &format!("/v1/tenants/{t}/grants"),
        )
        .json(&json!({
            "subject": {"type": "user", "id": "u"},
            "privilege": {"type": "actions", "actions": ["read"]},
            "target": {"type": "labels", "resource_type": "doc", "labels": {"name": name}},
            "effect": "ALLOW"
        }))
        .send()
        .await
        .expect("send");
        match response.status() {
            StatusCode::CREATED => acknowledged.push(name),
            StatusCode::SERVICE_UNAVAILABLE => {
                let body: Value = response.json().await.expect("json");
                assert_eq!(body["error"]["code"], "unavailable", "{body}");
                refused += 1;
            }
            other => panic!("write {i}: unexpected {other}"),
        }
    }
    assert!(restarted);
    assert!(refused > 0, "writes were refused while PostgreSQL was down");
    assert!(
        acknowledged.len() >= 200,
        "writes resumed: {}",
        acknowledged.len()
    );
    // Every node converges on every acknowledged write.
    for node in &nodes {
        let deadline = Instant::now() + Duration::from_secs(15);
        for name in &acknowledged {
            while !allowed(&client, node, &t, name, json!({"mode": "minimize_latency"})).await {
                assert!(Instant::now() < deadline, "{} never saw {name}", node.base);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let view = cluster_view(&client, &nodes[0]).await;
    eprintln!(
        "postgres restart: {} writes acknowledged, {refused} refused with 503; every node converged",
        acknowledged.len()
    );
    assert!(
        view["nodes"].as_array().is_some_and(|n| n.len() == 3),
        "{view}"
    );
}

/// Issue 20: a grant's window that ends is written down once (a change record and a
/// `grant.expired` audit event) however many nodes see it end, while every node's check
/// stopped allowing at the end itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_that_ends_is_written_down_once() {
    let Some(url) = grantd_store::testing::fresh_postgres_url().await else {
        return;
    };
    let nodes = [
        node(&url, "n1", &[]).await,
        node(&url, "n2", &[]).await,
        node(&url, "n3", &[]).await,
    ];
    let client = Client::new();
    let t = tenant(&client, &nodes[0]).await;
    let ends = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let ends = ends.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let response = op(
        &client,
        &nodes[0],
        Method::POST,
        &format!("/v1/tenants/{t}/grants"),
    )
    .json(
        &json!({"id": "brief", "subject": {"type": "user", "id": "u"},
            "privilege": {"type": "actions", "actions": ["read"]},
            "target": {"type": "labels", "resource_type": "doc", "labels": {"name": "x"}},
            "effect": "ALLOW", "expires_at": ends}),
    )
    .send()
    .await
    .expect("send");
    assert_eq!(response.status(), StatusCode::CREATED);
    // A membership and a role assignment that end at the same time.
    for (path, body) in [
        ("groups", json!({"id": "oncall"})),
        ("roles", json!({"id": "responder", "actions": ["read"]})),
        (
            "groups/oncall/members",
            json!({"member": {"type": "user", "id": "u"}, "expires_at": ends}),
        ),
        (
            "role-assignments",
            json!({"subject": {"type": "user", "id": "u"}, "role": "responder", "expires_at": ends}),
        ),
    ] {
        let (status, created) = send(
            op(
                &client,
                &nodes[0],
                Method::POST,
                &format!("/v1/tenants/{t}/{path}"),
            )
            .json(&body),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    tokio::time::sleep(Duration::from_millis(4_000)).await;
    let fresh = json!({"mode": "fully_consistent"});
    for node in &nodes {
        assert!(!allowed(&client, node, &t, "x", fresh.clone()).await);
    }
    let (status, events) = send(op(
        &client,
        &nodes[1],
        Method::GET,
        &format!("/v1/tenants/{t}/audit-events?limit=1000"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let expired: Vec<&Value> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| {
            e["action"]
                .as_str()
                .is_some_and(|a| a.ends_with(".expired"))
        })
        .collect();
    let mut written: Vec<(String, String)> = expired
        .iter()
        .map(|e| (e["action"].to_string(), e["target"].to_string()))
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            ("\"assignment.expired\"", "\"assignment:user:u/responder\""),
            ("\"grant.expired\"", "\"grant:brief\""),
            ("\"member.expired\"", "\"member:oncall/user:u\""),
        ]
        .map(|(a, t)| (a.to_string(), t.to_string())),
        "each written down once: {events}"
    );
    assert!(
        expired.iter().all(|e| e["actor"] == "grantd:expiry"),
        "{events}"
    );
    // Each record is one change in the feed too, putting the object as it was, at the
    // revision of its audit event: what a follower of the changes sees.
    let (status, changes) = send(op(
        &client,
        &nodes[2],
        Method::GET,
        &format!("/v1/tenants/{t}/changes?after=0&limit=1000"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{changes}");
    for event in &expired {
        let target = event["target"].as_str().expect("target");
        let (kind, key) = target.split_once(':').expect("kind:key");
        let at: Vec<&Value> = changes["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|c| c["revision"] == event["revision"])
            .collect();
        assert_eq!(at.len(), 1, "{target}: {changes}");
        let ops = at[0]["ops"].as_array().expect("ops");
        assert_eq!(ops.len(), 1, "only the object: {changes}");
        assert_eq!(
            (
                ops[0]["op"].as_str(),
                ops[0]["kind"].as_str(),
                ops[0]["key"].as_str()
            ),
            (Some("put"), Some(kind), Some(key)),
            "{changes}"
        );
    }
}

/// A source's passes run on one node at a time; when it dies, another takes the lease
/// once it expires, and goes on from where the database is.
#[tokio::test]
async fn a_data_source_is_synced_by_one_node_and_another_takes_over() {
    let Some(url) = grantd_store::testing::fresh_postgres_url().await else {
        return;
    };
    let mut nodes = vec![node(&url, "s1", &[]).await, node(&url, "s2", &[]).await];
    let client = Client::new();
    let t = tenant(&client, &nodes[0]).await;
    let db = grantd_store::testing::unique_name("gdlease").replace('-', "_");
    let role = format!("{db}_u");
    let admin = "postgres://postgres@127.0.0.1:5432";
    let psql = |target: &str, sql: &str| {
        let out = std::process::Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", target, "-c", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    psql(
        &format!("{admin}/postgres"),
        &format!("CREATE DATABASE {db}"),
    );
    psql(
        &format!("{admin}/{db}"),
        "CREATE TABLE public.t1 (id int); CREATE TABLE public.t2 (id int)",
    );
    let write = |node: usize, path: &str, body: Value| {
        op(
            &client,
            &nodes[node],
            Method::POST,
            &format!("/v1/tenants/{t}/{path}"),
        )
        .json(&body)
    };
    let (code, body) = send(write(
        0,
        "data-sources",
        json!({"id": "src", "kind": "postgresql",
        "url": format!("{admin}/{db}"), "interval_seconds": 5}),
    ))
    .await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    let (code, _) = send(
        op(
            &client,
            &nodes[0],
            Method::PATCH,
            &format!("/v1/tenants/{t}/users/u"),
        )
        .json(&json!({"attributes": {"db_role": role}})),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let grant_on = |table: &str| {
        json!({"id": table, "subject": {"type": "user", "id": "u"},
        "effect": "ALLOW", "privilege": {"type": "actions", "actions": ["SELECT"]},
        "target": {"type": "data_path", "pattern": format!("src/{db}/public/{table}")}})
    };
    // Waits until a pass on any node holds `revision`; the node that ran it.
    let synced = |revision: i64, nodes: &[Server]| {
        let (client, t) = (client.clone(), t.clone());
        let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
        async move {
            for _ in 0..400 {
                for base in &bases {
                    let status = client
                        .get(format!("{base}/v1/tenants/{t}/data-sources/src/status"))
                        .bearer_auth(OPERATOR)
                        .send()
                        .await;
                    if let Ok(response) = status {
                        let body: Value = response.json().await.unwrap_or_default();
                        let s = &body["status"];
                        if s["state"] == "ok" && s["revision"].as_i64().unwrap_or(0) >= revision {
                            return s["node"].as_str().unwrap_or_default().to_string();
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("revision {revision} never synced");
        }
    };
    let response = write(1, "grants", grant_on("t1"))
        .send()
        .await
        .expect("send");
    let revision: i64 = response.headers()["grantd-revision"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("revision");
    let first = synced(revision, &nodes).await;
    assert!(first == "s1" || first == "s2", "{first}");
    // The holder dies; the other takes the lease once it expires, and syncs what follows.
    let (dead, alive) = if first == "s1" { (0, 1) } else { (1, 0) };
    nodes[dead].child.kill().await.expect("kill");
    let response = op(
        &client,
        &nodes[alive],
        Method::POST,
        &format!("/v1/tenants/{t}/grants"),
    )
    .json(&grant_on("t2"))
    .send()
    .await
    .expect("send");
    let revision: i64 = response.headers()["grantd-revision"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("revision");
    let survivors = vec![nodes.remove(alive)];
    let second = synced(revision, &survivors).await;
    assert_ne!(second, first, "the other node took over");
    psql(
        &format!("postgres://{role}@127.0.0.1:5432/{db}"),
        "SELECT * FROM public.t1; SELECT * FROM public.t2",
    );
    psql(
        &format!("{admin}/postgres"),
        &format!("DROP DATABASE {db} WITH (FORCE)"),
    );
    psql(
        &format!("{admin}/postgres"),
        &format!("DROP ROLE \"{role}\""),
    );
}
