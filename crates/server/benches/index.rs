//! The index at scale, measured with plain timers (each figure is a median of repeated runs):
//!
//! 1. index build time from the store and resident memory per grant, at N grants (default
//!    1,000,000) in the peer harness's workload shape: 1,000 users, 100 tenants' role
//!    chains, N/3 documents, N grants of a role on a document. The tenant is written into a
//!    scratch SQLite file (transactions of 10,000 objects, straight through the store), then
//!    `build_snapshot` is timed, and resident memory read before and after (/proc/self/statm);
//! 2. a batch of 1,000 checks on that snapshot;
//! 3. a lookup that returns 10,000 resources (10,000 sources under one workspace);
//! 4. with `--tenants M` instead: M small tenants (a user and 10 grants each) written
//!    straight into a scratch SQLite file, then every tenant's index built as a starting
//!    node builds them (`spawn_follower`): the time it takes and resident memory per tenant.
//!
//! Run:
//!
//!     cargo bench -p grantd-server --bench index [-- N]
//!     cargo bench -p grantd-server --bench index -- --tenants 100000

use std::time::Instant;

use grantd_core::decision::{CheckQuery, Op, ResourceQuery, Snapshot, Verdict};
use grantd_core::Kind;
use grantd_server::index::{build_snapshot, spawn_follower};
use grantd_store::{testing, AuditEntry, Expect, NewObject, SqlStore, Store};
use serde_json::{json, Value};

/// The allocator the server runs with, so that memory figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USERS: usize = 1000;
const TENANTS: usize = 100;
const ROLES: [&str; 3] = ["viewer", "editor", "admin"];
const ACTIONS: [&str; 3] = ["read", "write", "delete"];
const BATCH: usize = 10_000;

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn objects(n: usize) -> Vec<(&'static str, String, Value)> {
    let mut out = Vec::new();
    for t in 0..TENANTS {
        out.push((
            "role",
            format!("t{t}.viewer"),
            json!({"id": format!("t{t}.viewer")}),
        ));
        out.push((
            "role",
            format!("t{t}.editor"),
            json!({"id": format!("t{t}.editor"), "includes": [format!("t{t}.viewer")]}),
        ));
        out.push((
            "role",
            format!("t{t}.admin"),
            json!({"id": format!("t{t}.admin"), "includes": [format!("t{t}.editor")]}),
        ));
    }
    for u in 0..USERS {
        let role = format!("t{}.{}", u % TENANTS, ROLES[(u / TENANTS) % 3]);
        out.push((
            "user",
            format!("user:{u}"),
            json!({"id": format!("user:{u}")}),
        ));
        out.push((
            "assignment",
            format!("user:user:{u}/{role}"),
            json!({"subject": {"type": "user", "id": format!("user:{u}")}, "role": role}),
        ));
    }
    for d in 0..n.div_ceil(3) {
        out.push((
            "resource",
            format!("doc/doc:{d}"),
            json!({"type": "doc", "id": format!("doc:{d}")}),
        ));
    }
    for i in 0..n {
        let (d, k) = (i / 3, i % 3);
        out.push(("grant", format!("r{i}"), json!({
            "id": format!("r{i}"),
            "subject": {"type": "role", "id": format!("t{}.{}", d % TENANTS, ROLES[k])},
            "privilege": {"type": "actions", "actions": [ACTIONS[k]]},
            "target": {"type": "resource", "resource": {"type": "doc", "id": format!("doc:{d}")}},
            "effect": "ALLOW"
        })));
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // Measuring runs in a fresh process, so that the writer's memory does not blur it.
    if let Some(at) = args.iter().position(|a| a == "--measure") {
        let url = args[at + 1].clone();
        let n: usize = args[at + 2].parse().expect("N");
        runtime.block_on(measure(&url, n));
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--measure-tenants") {
        let url = args[at + 1].clone();
        let m: usize = args[at + 2].parse().expect("M");
        runtime.block_on(measure_tenants(&url, m));
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--tenants") {
        let m: usize = args[at + 1].parse().expect("M");
        let url = testing::scratch_sqlite_url("index-tenants");
        runtime.block_on(write_tenants(&url, m));
        let status = std::process::Command::new(std::env::current_exe().expect("exe"))
            .args(["--measure-tenants", &url, &m.to_string()])
            .status()
            .expect("measure");
        assert!(status.success());
        return;
    }
    let n: usize = args
        .iter()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let url = testing::scratch_sqlite_url("index-build");
    runtime.block_on(write(&url, n));
    let status = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--measure", &url, &n.to_string()])
        .status()
        .expect("measure");
    assert!(status.success());
}

/// M tenants of a user and 10 grants each, in one transaction of plain inserts (the index
/// reads objects only; a server would also have their change records and audit events).
async fn write_tenants(url: &str, m: usize) {
    use sqlx::Connection;
    drop(SqlStore::open(url).await.expect("store"));
    let started = Instant::now();
    let mut db = sqlx::SqliteConnection::connect(url).await.expect("connect");
    let mut tx = db.begin().await.expect("begin");
    let insert = "INSERT INTO objects (tenant, kind, key, version, body, created_at, updated_at) \
                  VALUES ($1, $2, $3, 1, $4, 0, 0)";
    for t in 0..m {
        let tenant = format!("t{t:06}");
        sqlx::query(
            "INSERT INTO tenants (id, revision, created_at, incarnation) VALUES ($1, 12, 0, $2)",
        )
        .bind(&tenant)
        .bind(t as i64)
        .execute(&mut *tx)
        .await
        .expect("tenant");
        let mut rows = vec![
            ("tenant", tenant.clone(), json!({"id": tenant})),
            ("user", "u".to_string(), json!({"id": "u"})),
        ];
        for g in 0..10 {
            rows.push(("grant", format!("g{g}"), json!({
                "id": format!("g{g}"),
                "subject": {"type": "user", "id": "u"},
                "privilege": {"type": "actions", "actions": [ACTIONS[g % 3]]},
                "target": {"type": "resource", "resource": {"type": "doc", "id": format!("d{g}")}},
                "effect": "ALLOW"
            })));
        }
        for (kind, key, body) in rows {
            sqlx::query(insert)
                .bind(&tenant)
                .bind(kind)
                .bind(key)
                .bind(body.to_string())
                .execute(&mut *tx)
                .await
                .expect("object");
        }
    }
    tx.commit().await.expect("commit");
    println!(
        "wrote {m} tenants of a user and 10 grants in {:.1?}",
        started.elapsed()
    );
}

async fn measure_tenants(url: &str, m: usize) {
    let store: std::sync::Arc<dyn Store> =
        std::sync::Arc::new(SqlStore::open(url).await.expect("store"));
    let before = resident_bytes();
    let started = Instant::now();
    let indexes = spawn_follower(store).await.expect("indexes");
    let took = started.elapsed();
    let after = resident_bytes();
    println!(
        "{} tenants' indexes built in {took:.2?}; resident memory {:.1} MiB before, {:.1} MiB after: {:.0} bytes per tenant",
        indexes.applied_revisions().len(),
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / m as f64
    );
}

async fn write(url: &str, n: usize) {
    let store = SqlStore::open(url).await.expect("store");
    let tenant = "bench";
    let tx = store.begin_new_tenant(tenant).await.expect("tenant");
    tx.commit(audit()).await.expect("commit");
    let started = Instant::now();
    let all = objects(n);
    for chunk in all.chunks(BATCH) {
        let mut tx = store.begin(tenant).await.expect("begin");
        for (kind, key, body) in chunk {
            let object = NewObject {
                kind: kind.to_string(),
                key: key.clone(),
                body: body.clone(),
                refs: Vec::new(),
            };
            tx.put(object, Expect::Absent).await.expect("put");
        }
        tx.commit(audit()).await.expect("commit");
    }
    println!(
        "wrote {} objects ({n} grants) in {:.1?}",
        all.len(),
        started.elapsed()
    );
}

fn audit() -> AuditEntry {
    AuditEntry {
        actor: "bench".into(),
        action: "load".into(),
        target: "tenant:bench".into(),
        request_id: String::new(),
        client_addr: None,
        detail: None,
    }
}

async fn measure(url: &str, n: usize) {
    {
        let store: std::sync::Arc<dyn Store> =
            std::sync::Arc::new(SqlStore::open(url).await.expect("store"));
        let tenant = "bench";
        let before = resident_bytes();
        let started = Instant::now();
        let snapshot = build_snapshot(store, tenant)
            .await
            .expect("build")
            .expect("tenant exists")
            .0;
        let took = started.elapsed();
        let after = resident_bytes();
        println!(
            "index build from the store: {took:.2?} for {} grants, {} resources, {} users",
            snapshot.grant_count(),
            snapshot.resource_count(),
            snapshot.user_count()
        );
        println!(
            "resident memory: {:.1} MiB before, {:.1} MiB after: {:.0} bytes per grant (index of grants, resources and users together)",
            before as f64 / 1048576.0,
            after as f64 / 1048576.0,
            after.saturating_sub(before) as f64 / snapshot.grant_count() as f64
        );
        let queries: Vec<(String, String, String)> = (0..1000)
            .map(|i| {
                (
                    format!("user:{}", i * 7 % USERS),
                    ACTIONS[i % 3].to_string(),
                    format!("doc/doc:{}", i * 331 % n.div_ceil(3)),
                )
            })
            .collect();
        let batch = median(21, || {
            let started = Instant::now();
            let allowed = queries
                .iter()
                .filter(|(user, action, key)| {
                    let query = CheckQuery {
                        user,
                        action,
                        resource: ResourceQuery::Object { key, labels: None },
                        at: 0,
                    };
                    snapshot.check(&query) == Verdict::Allow
                })
                .count();
            std::hint::black_box(allowed);
            started.elapsed()
        });
        println!("a batch of 1,000 checks at {n} grants: {batch:.1?} (median of 21)");
    }

    let mut tenant = Snapshot::new();
    let mut ops = vec![
        Op::Put {
            kind: Kind::User,
            body: json!({"id": "alice"}),
        },
        Op::Put {
            kind: Kind::Resource,
            body: json!({"type": "WORKSPACE", "id": "w"}),
        },
        Op::Put {
            kind: Kind::Grant,
            body: json!({"id": "g", "subject": {"type": "user", "id": "alice"}, "privilege": {"type": "actions", "actions": ["read"]}, "target": {"type": "resource", "resource": {"type": "WORKSPACE", "id": "w"}}, "effect": "ALLOW"}),
        },
    ];
    for i in 0..10_000 {
        ops.push(Op::Put { kind: Kind::Resource, body: json!({"type": "SOURCE", "id": format!("s{i:05}"), "parent": {"type": "WORKSPACE", "id": "w"}}) });
    }
    tenant.apply(1, &ops);
    let mut found = 0;
    let lookup = median(21, || {
        let started = Instant::now();
        found = tenant
            .lookup_resources("alice", "read", Some("SOURCE"), None, 0)
            .len();
        started.elapsed()
    });
    println!("a lookup returning {found} resources: {lookup:.2?} (median of 21)");
}

fn median(runs: usize, mut run: impl FnMut() -> std::time::Duration) -> std::time::Duration {
    let mut times: Vec<_> = (0..runs).map(|_| run()).collect();
    times.sort();
    times[runs / 2]
}
