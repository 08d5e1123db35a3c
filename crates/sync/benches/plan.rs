//! Planning a data source at scale, with plain timers (each figure a median of 5 runs): the
//! privileges 1,000 users should hold on 10,000 tables (10 schemas of 1,000 tables, 5
//! columns each), from grants shaped as teams give them, and the statements that bring an
//! empty database there. No database is touched: the catalog is made up, the actual state
//! empty, so that the figure is grantd's own work.
//!
//! The grants: 10 groups of 100 users, each group allowed SELECT on one schema (`*` under
//! it; in the third run, on 10 of its tables) and INSERT on 10 of its tables; every tenth
//! user denied one column of every table (`*/*/ssn`) and allowed UPDATE on one table. The
//! groups become roles holding what all their users hold, as on PostgreSQL; the second run
//! makes no group roles, as on MariaDB, so that each user's role holds everything.
//!
//! Run:
//!
//!     cargo bench -p grantd-sync --bench plan [-- USERS TABLES]

use std::time::Instant;

use grantd_core::decision::{Op, Snapshot};
use grantd_core::Kind;
use grantd_sync::{Actual, Catalog, Dialect, Scope, Table};
use serde_json::json;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let users = args.first().copied().unwrap_or(1000);
    let tables = args.get(1).copied().unwrap_or(10_000);
    for (wide, group_roles) in [(true, true), (true, false), (false, true)] {
        run(users, tables, wide, group_roles);
    }
}

/// One workload: `wide`, each group may SELECT from a whole schema (1,000 tables); else
/// from 10 of its tables. `group_roles`: groups become roles (PostgreSQL), else each user's
/// role holds all its privileges (MariaDB, or groups that cannot be roles).
fn run(users: usize, tables: usize, wide: bool, group_roles: bool) {
    let groups = 10;
    let schemas = 10;
    let mut ops = Vec::new();
    let grant =
        |id: String, subject: serde_json::Value, pattern: String, action: &str, effect: &str| {
            Op::Put {
                kind: Kind::Grant,
                body: json!({"id": id, "subject": subject, "effect": effect,
                     "privilege": {"type": "actions", "actions": [action]},
                     "target": {"type": "data_path", "pattern": pattern}}),
            }
        };
    for g in 0..groups {
        ops.push(Op::Put {
            kind: Kind::Group,
            body: json!({"id": format!("g{g}")}),
        });
        let group = json!({"type": "group", "id": format!("g{g}")});
        let selected: Vec<String> = if wide {
            vec![format!("wh/db/s{}/*", g % schemas)]
        } else {
            (10..20)
                .map(|t| format!("wh/db/s{}/t{t}", g % schemas))
                .collect()
        };
        for (i, pattern) in selected.into_iter().enumerate() {
            ops.push(grant(
                format!("sel{g}-{i}"),
                group.clone(),
                pattern,
                "SELECT",
                "ALLOW",
            ));
        }
        for t in 0..10 {
            ops.push(grant(
                format!("ins{g}-{t}"),
                group.clone(),
                format!("wh/db/s{}/t{t}", g % schemas),
                "INSERT",
                "ALLOW",
            ));
        }
    }
    for u in 0..users {
        ops.push(Op::Put {
            kind: Kind::User,
            body: json!({"id": format!("u{u}")}),
        });
        ops.push(Op::Put {
            kind: Kind::Member,
            body: json!({"group": format!("g{}", u % groups), "member": {"type": "user", "id": format!("u{u}")}}),
        });
        if u % 10 == 0 {
            let user = json!({"type": "user", "id": format!("u{u}")});
            ops.push(grant(
                format!("ssn{u}"),
                user.clone(),
                "wh/db/*/*/ssn".into(),
                "SELECT",
                "DENY",
            ));
            ops.push(grant(
                format!("upd{u}"),
                user,
                format!("wh/db/s{}/t{}", u % schemas, u % 100),
                "UPDATE",
                "ALLOW",
            ));
        }
    }
    let mut snapshot = Snapshot::new();
    snapshot.apply(1, &ops);
    let per_schema = tables / schemas;
    let columns: Vec<grantd_sync::Name> = ["id", "name", "amount", "region", "ssn"]
        .map(Into::into)
        .to_vec();
    let catalog = Catalog {
        schemas: (0..schemas).map(|s| format!("s{s}")).collect(),
        tables: (0..tables)
            .map(|t| Table {
                schema: format!("s{}", t / per_schema).into(),
                name: format!("t{}", t % per_schema).into(),
                columns: columns.clone(),
            })
            .collect(),
    };
    let scope = Scope {
        roots: vec!["wh".into(), "dws/wh".into()],
        base: "/db".into(),
        dialect: Dialect::Postgres,
    };
    let mut runs = Vec::new();
    let mut figures = (0, 0, 0);
    for _ in 0..5 {
        let started = Instant::now();
        let mapped = grantd_sync::users_with_access(&snapshot, 0, &scope);
        let roles: Vec<(String, String)> = mapped.iter().map(|u| (u.clone(), u.clone())).collect();
        let mapped_at = started.elapsed();
        let mut desired = grantd_sync::desired(&snapshot, 0, &scope, &catalog, &roles);
        let desired_at = started.elapsed();
        // Each group a role holding what all its users hold, as a pass on PostgreSQL does.
        let members = snapshot.group_members_at(0);
        let groups = members
            .keys()
            .filter(|_| group_roles)
            .map(|g| (g.clone(), g.clone()))
            .collect();
        grantd_sync::fold_groups(&mut desired, &members, &groups);
        let folded_at = started.elapsed();
        let plan = grantd_sync::plan(
            Dialect::Postgres,
            &Actual::default(),
            &desired,
            None,
            "bench",
        );
        runs.push(started.elapsed());
        eprintln!(
            "  users {:.3} s, desired {:.3} s, groups {:.3} s, plan {:.3} s",
            mapped_at.as_secs_f64(),
            (desired_at - mapped_at).as_secs_f64(),
            (folded_at - desired_at).as_secs_f64(),
            (started.elapsed() - folded_at).as_secs_f64()
        );
        figures = (roles.len(), desired.privileges.len(), plan.statements.len());
    }
    runs.sort();
    println!(
        "plan ({}, {}): {users} users, {tables} tables: {} roles mapped, {} privileges, {} statements; median {:.3} s (runs: {:?})",
        if wide { "a schema per group" } else { "10 tables per group" },
        if group_roles { "group roles" } else { "no group roles" },
        figures.0,
        figures.1,
        figures.2,
        runs[runs.len() / 2].as_secs_f64(),
        runs.iter().map(|r| format!("{:.3}", r.as_secs_f64())).collect::<Vec<_>>()
    );
}
