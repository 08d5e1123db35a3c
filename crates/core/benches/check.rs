//! In-process check latency with criterion, beside its limit in the same run: a hash map of
//! the materialised answers (every allowed (user, action, document) triple), asked the same
//! queries. The workload is the shape of the peer harness's (../shared/bench/peers/engines,
//! whose script `benches/peers/engines-with-grantd.sh` adds cedar-policy and casbin-rs):
//! 1,000 users spread over 100 tenants' role chains (admin includes editor includes
//! viewer), N grants of a role and its action on a document, N/3 documents; half the
//! queries on a document of the user's own tenant.
//!
//! `grantd-windowed` asks the same of the same grants, each time-bound (issue 20);
//! `grantd-windowed-roles` has, besides, every role assignment time-bound, so that every
//! check decides which of the user's roles hold when asked.
//!
//!     cargo bench -p grantd-core --bench check              # 1k and 100k grants
//!     GRANTD_BENCH_SIZES=1000,100000,1000000 cargo bench -p grantd-core --bench check

use std::collections::HashSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use grantd_core::decision::{CheckQuery, Op, ResourceQuery, Snapshot, Verdict};
use grantd_core::Kind;
use serde_json::json;

const USERS: usize = 1000;
const TENANTS: usize = 100;
const ROLES: [&str; 3] = ["viewer", "editor", "admin"];
const ACTIONS: [&str; 3] = ["read", "write", "delete"];
const QUERIES: usize = 4096;
/// When the bench asks: 2026-11-30, inside the windows of the windowed variant.
const ASKED_AT: i64 = 1_796_000_000_000;

fn tenant_of(user: usize) -> usize {
    user % TENANTS
}

/// 0 viewer, 1 editor, 2 admin: a user's role covers the actions up to its own.
fn role_of(user: usize) -> usize {
    (user / TENANTS) % 3
}

struct Query {
    user: String,
    action: &'static str,
    doc: String,
}

/// A fixed pseudo-random sequence (xorshift), so that every run asks the same queries.
struct Sequence(u64);

impl Sequence {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn queries(grants: usize) -> Vec<Query> {
    let docs = grants.div_ceil(3);
    let mut sequence = Sequence(0x2545_f491_4f6c_dd1d ^ grants as u64);
    (0..QUERIES)
        .map(|_| {
            let user = sequence.below(USERS);
            let action = ACTIONS[sequence.below(3)];
            let doc = if sequence.below(2) == 0 {
                let own = tenant_of(user);
                own + TENANTS * sequence.below((docs - own).div_ceil(TENANTS))
            } else {
                sequence.below(docs)
            };
            Query {
                user: format!("user:{user}"),
                action,
                doc: format!("doc/doc:{doc}"),
            }
        })
        .collect()
}

/// Which objects are time-bound (a window that holds when asked), to measure what windows
/// cost a check.
#[derive(Clone, Copy, PartialEq)]
enum Windows {
    None,
    Grants,
    GrantsAndRoles,
}

fn window(object: &mut serde_json::Value) {
    object["not_before"] = json!("2020-01-01T00:00:00Z");
    object["expires_at"] = json!("2100-01-01T00:00:00Z");
}

fn build(grants: usize, windows: Windows) -> Snapshot {
    let put = |kind: Kind, body: serde_json::Value| Op::Put { kind, body };
    let mut ops = Vec::new();
    for t in 0..TENANTS {
        ops.push(put(Kind::Role, json!({"id": format!("t{t}.viewer")})));
        ops.push(put(
            Kind::Role,
            json!({"id": format!("t{t}.editor"), "includes": [format!("t{t}.viewer")]}),
        ));
        ops.push(put(
            Kind::Role,
            json!({"id": format!("t{t}.admin"), "includes": [format!("t{t}.editor")]}),
        ));
    }
    for u in 0..USERS {
        ops.push(put(Kind::User, json!({"id": format!("user:{u}")})));
        let mut assignment = json!({"subject": {"type": "user", "id": format!("user:{u}")},
               "role": format!("t{}.{}", tenant_of(u), ROLES[role_of(u)])});
        if windows == Windows::GrantsAndRoles {
            window(&mut assignment);
        }
        ops.push(put(Kind::Assignment, assignment));
    }
    for d in 0..grants.div_ceil(3) {
        ops.push(put(
            Kind::Resource,
            json!({"type": "doc", "id": format!("doc:{d}")}),
        ));
    }
    for i in 0..grants {
        let (d, k) = (i / 3, i % 3);
        let mut grant = json!({"id": format!("r{i}"),
               "subject": {"type": "role", "id": format!("t{}.{}", d % TENANTS, ROLES[k])},
               "privilege": {"type": "actions", "actions": [ACTIONS[k]]},
               "target": {"type": "resource", "resource": {"type": "doc", "id": format!("doc:{d}")}},
               "effect": "ALLOW"});
        if windows != Windows::None {
            window(&mut grant);
        }
        ops.push(put(Kind::Grant, grant));
    }
    let mut snapshot = Snapshot::new();
    snapshot.apply(1, &ops);
    snapshot
}

/// Every allowed (user, action, document): a user may do action k on document d when its
/// tenant's role k holds a grant on d (grant 3d + k exists) and its own role covers k.
fn materialised(grants: usize) -> HashSet<(String, &'static str, String)> {
    let mut allowed = HashSet::new();
    for i in 0..grants {
        let (d, k) = (i / 3, i % 3);
        for u in (d % TENANTS..USERS).step_by(TENANTS) {
            if role_of(u) >= k {
                allowed.insert((format!("user:{u}"), ACTIONS[k], format!("doc/doc:{d}")));
            }
        }
    }
    allowed
}

fn check(snapshot: &Snapshot, q: &Query) -> bool {
    let query = CheckQuery {
        user: &q.user,
        action: q.action,
        resource: ResourceQuery::Object {
            key: &q.doc,
            labels: None,
        },
        at: ASKED_AT,
    };
    snapshot.check(&query) == Verdict::Allow
}

fn sizes() -> Vec<usize> {
    std::env::var("GRANTD_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 100_000])
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    for grants in sizes() {
        let snapshot = build(grants, Windows::None);
        let windowed = build(grants, Windows::Grants);
        let windowed_roles = build(grants, Windows::GrantsAndRoles);
        let limit = materialised(grants);
        let queries = queries(grants);
        // Both must give the same answers, or the comparison means nothing.
        for q in &queries {
            let expected = limit.contains(&(q.user.clone(), q.action, q.doc.clone()));
            assert_eq!(check(&windowed, q), expected, "windowed");
            assert_eq!(check(&windowed_roles, q), expected, "windowed roles");
            assert_eq!(
                check(&snapshot, q),
                expected,
                "{} {} {}",
                q.user,
                q.action,
                q.doc
            );
        }
        let mut next = 0;
        group.bench_function(BenchmarkId::new("grantd", grants), |b| {
            b.iter(|| {
                next = (next + 1) % QUERIES;
                black_box(check(&snapshot, black_box(&queries[next])))
            })
        });
        let mut next = 0;
        group.bench_function(BenchmarkId::new("grantd-windowed", grants), |b| {
            b.iter(|| {
                next = (next + 1) % QUERIES;
                black_box(check(&windowed, black_box(&queries[next])))
            })
        });
        let mut next = 0;
        group.bench_function(BenchmarkId::new("grantd-windowed-roles", grants), |b| {
            b.iter(|| {
                next = (next + 1) % QUERIES;
                black_box(check(&windowed_roles, black_box(&queries[next])))
            })
        });
        // The hash map is keyed by owned strings, as the harness's is: a lookup hashes
        // the three strings and compares them.
        let keys: Vec<(String, &'static str, String)> = queries
            .iter()
            .map(|q| (q.user.clone(), q.action, q.doc.clone()))
            .collect();
        let mut next = 0;
        group.bench_function(BenchmarkId::new("hashmap", grants), |b| {
            b.iter(|| {
                next = (next + 1) % QUERIES;
                black_box(limit.contains(black_box(&keys[next])))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
