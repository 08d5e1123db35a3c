//! The privileges a database should hold, from the decision index: for each mapped user and
//! each object, what a check on the object's data path allows, through every group, role,
//! wildcard and window, any DENY winning. Lookups only narrow where to ask; every privilege
//! granted is one a check allowed.

use std::collections::BTreeSet;

use grantd_core::decision::{CheckQuery, ResourceQuery, Snapshot, Verdict};

use crate::privileges::{Catalog, Desired, On, Privilege, Table};
use crate::Dialect;

/// The table actions synced: the action grantd checks, the SQL privilege, and whether it
/// can be given on single columns.
pub const TABLE_ACTIONS: [(&str, &str, bool); 4] = [
    ("SELECT", "SELECT", true),
    ("INSERT", "INSERT", true),
    ("UPDATE", "UPDATE", true),
    ("DELETE", "DELETE", false),
];
/// The schema action synced: creating tables in it.
pub const SCHEMA_ACTION: (&str, &str) = ("CREATE_TABLE", "CREATE");

/// Where a source's objects lie among data paths: each root (`dws1`, `dws/dws1`) joined
/// with `base` (`/sales` for a PostgreSQL database; empty for MariaDB, whose schemas are
/// databases), then `/<schema>/<table>/<column>`.
#[derive(Debug, Clone)]
pub struct Scope {
    pub roots: Vec<String>,
    pub base: String,
    pub dialect: Dialect,
}

impl Scope {
    fn prefixes(&self) -> impl Iterator<Item = String> + '_ {
        self.roots.iter().map(|r| format!("{r}{}", self.base))
    }

    fn paths<'a>(&'a self, tail: &'a str) -> impl Iterator<Item = String> + 'a {
        self.prefixes().map(move |p| format!("{p}/{tail}"))
    }
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').collect()
}

/// Whether two patterns agree on their common length (`*` matching anything).
fn overlap(a: &[&str], b: &[&str]) -> bool {
    a.iter().zip(b).all(|(x, y)| x == y || *x == "*" || *y == "*")
}

/// Allowed at every root's path of `tail`: some check allows and none denies.
fn allowed(snapshot: &Snapshot, user: &str, action: &str, at: i64, scope: &Scope, tail: &str) -> bool {
    let mut allow = false;
    for path in scope.paths(tail) {
        let query = CheckQuery {
            user,
            action,
            resource: ResourceQuery::DataPath(&path),
            at,
        };
        match snapshot.check(&query) {
            Verdict::Deny => return false,
            Verdict::Allow => allow = true,
            Verdict::NoMatch => {}
        }
    }
    allow
}

/// The patterns under the scope that bear on `user`'s `action`: the ALLOWs it may act
/// under and the DENYs carved out of them.
fn patterns(snapshot: &Snapshot, user: &str, action: &str, at: i64, scope: &Scope) -> Vec<String> {
    let mut found = Vec::new();
    for prefix in scope.prefixes() {
        for access in snapshot.lookup_data_paths(user, action, &prefix, at) {
            found.push(access.data_path);
            found.extend(access.except);
        }
    }
    found
}

/// The users any of whose checks could allow something under the scope.
pub fn users_with_access(snapshot: &Snapshot, at: i64, scope: &Scope) -> Vec<String> {
    let mut users: Vec<String> = snapshot
        .user_ids()
        .filter(|user| {
            TABLE_ACTIONS
                .iter()
                .map(|(action, _, _)| *action)
                .chain([SCHEMA_ACTION.0])
                .any(|action| {
                    scope
                        .prefixes()
                        .any(|p| !snapshot.lookup_data_paths(user, action, &p, at).is_empty())
                })
        })
        .map(str::to_string)
        .collect();
    users.sort();
    users
}

/// The privileges `roles` (role, user) should hold on `catalog` at `at`.
pub fn desired(
    snapshot: &Snapshot,
    at: i64,
    scope: &Scope,
    catalog: &Catalog,
    roles: &[(String, String)],
) -> Desired {
    let mut privileges = BTreeSet::new();
    for (role, user) in roles {
        for (action, privilege, by_column) in TABLE_ACTIONS {
            let patterns = patterns(snapshot, user, action, at, scope);
            if patterns.is_empty() {
                continue;
            }
            let patterns: Vec<Vec<&str>> = patterns.iter().map(|p| segments(p)).collect();
            for table in &catalog.tables {
                table_privileges(
                    snapshot, at, scope, &patterns, table, (role, user), (action, privilege, by_column),
                    &mut privileges,
                );
            }
        }
        let (action, privilege) = SCHEMA_ACTION;
        if !patterns(snapshot, user, action, at, scope).is_empty() {
            for schema in &catalog.schemas {
                if allowed(snapshot, user, action, at, scope, schema) {
                    privileges.insert(Privilege::new(role, On::Schema(schema.clone()), privilege));
                }
            }
        }
    }
    if scope.dialect == Dialect::Postgres {
        // A role reaches a table only through its schema.
        let usage: Vec<Privilege> = privileges
            .iter()
            .map(|p| Privilege::new(&p.role, On::Schema(p.on.schema().to_string()), "USAGE"))
            .collect();
        privileges.extend(usage);
    }
    Desired {
        roles: roles.iter().cloned().collect(),
        privileges,
    }
}

/// One table's privilege for one role: on the whole table when a check allows it and no
/// rule lies on its columns; else on each column a check allows (a whole-row privilege,
/// DELETE, only if every column is allowed).
#[allow(clippy::too_many_arguments)]
fn table_privileges(
    snapshot: &Snapshot,
    at: i64,
    scope: &Scope,
    patterns: &[Vec<&str>],
    table: &Table,
    (role, user): (&str, &str),
    (action, privilege, by_column): (&str, &str, bool),
    out: &mut BTreeSet<Privilege>,
) {
    let tail = format!("{}/{}", table.schema, table.name);
    // Depth of a table path: the root's and base's segments, then schema and table.
    let relevant = |deeper: bool| {
        scope.prefixes().any(|prefix| {
            let path = format!("{prefix}/{tail}");
            let path = segments(&path);
            patterns
                .iter()
                .any(|p| overlap(p, &path) && (!deeper || p.len() > path.len()))
        })
    };
    if !relevant(false) {
        return;
    }
    let whole = allowed(snapshot, user, action, at, scope, &tail);
    if !relevant(true) {
        if whole {
            out.insert(Privilege::new(role, On::Table(table.schema.clone(), table.name.clone()), privilege));
        }
        return;
    }
    let columns: Vec<&String> = table
        .columns
        .iter()
        .filter(|c| allowed(snapshot, user, action, at, scope, &format!("{tail}/{c}")))
        .collect();
    if whole && columns.len() == table.columns.len() {
        out.insert(Privilege::new(role, On::Table(table.schema.clone(), table.name.clone()), privilege));
    } else if by_column {
        for column in columns {
            out.insert(Privilege::new(
                role,
                On::Column(table.schema.clone(), table.name.clone(), column.clone()),
                privilege,
            ));
        }
    }
}
