//! Index build time from the store and resident memory per grant, at N grants (default
//! 1,000,000) in the peer harness's workload shape: 1,000 users, 100 tenants' role chains,
//! N/3 documents, N grants of a role on a document.
//!
//!     cargo bench -p grantd-server --bench index_build [-- N]
//!
//! Writes the tenant into a scratch SQLite file (in transactions of 10,000 objects, straight
//! through the store), then times `build_snapshot` and reads the process's resident memory
//! before and after (from /proc/self/statm), with the snapshot alive.

use std::time::Instant;

use grantd_server::index::build_snapshot;
use grantd_store::{testing, AuditEntry, Expect, NewObject, SqlStore, Store};
use serde_json::{json, Value};

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
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = SqlStore::open(&testing::scratch_sqlite_url("index-build")).await.expect("store");
        let tenant = "bench";
        let audit = || AuditEntry { actor: "bench".into(), action: "load".into(), target: "tenant:bench".into(), request_id: String::new(), client_addr: None, detail: None };
        let tx = store.begin_new_tenant(tenant).await.expect("tenant");
        tx.commit(audit()).await.expect("commit");
        let started = Instant::now();
        let all = objects(n);
        for chunk in all.chunks(BATCH) {
            let mut tx = store.begin(tenant).await.expect("begin");
            for (kind, key, body) in chunk {
                let object = NewObject { kind: kind.to_string(), key: key.clone(), body: body.clone(), refs: Vec::new() };
                tx.put(object, Expect::Absent).await.expect("put");
            }
            tx.commit(audit()).await.expect("commit");
        }
        println!("wrote {} objects ({n} grants) in {:.1?}", all.len(), started.elapsed());
        drop(all);

        let before = resident_bytes();
        let started = Instant::now();
        let snapshot = build_snapshot(&store, tenant).await.expect("build").expect("tenant exists");
        let took = started.elapsed();
        let after = resident_bytes();
        println!("index build from the store: {took:.2?} for {} grants, {} resources, {} users", snapshot.grant_count(), snapshot.resource_count(), snapshot.user_count());
        println!(
            "resident memory: {:.1} MiB before, {:.1} MiB after: {:.0} bytes per grant (index of grants, resources and users together)",
            before as f64 / 1048576.0,
            after as f64 / 1048576.0,
            after.saturating_sub(before) as f64 / snapshot.grant_count() as f64
        );
        drop(snapshot);
    });
}
