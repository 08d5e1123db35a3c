//! The privileges a database should hold, from the decision index: for each mapped user and
//! each object, what a check on the object's data path allows, through every group, role,
//! wildcard and window, any DENY winning. Lookups only narrow where to ask; every privilege
//! granted is one a check allowed.

use std::collections::BTreeSet;

use grantd_core::decision::{CheckQuery, ResourceQuery, Snapshot, Verdict};
use grantd_core::model::Effect;

use std::collections::BTreeMap;

use crate::privileges::{Catalog, Desired, On, Privilege, Table, TableFilters};
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

/// Allowed at every root's path of `tail`: some check allows and none denies.
fn allowed(
    snapshot: &Snapshot,
    user: &str,
    action: &str,
    at: i64,
    scope: &Scope,
    tail: &str,
) -> bool {
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

/// The rules under the scope that bear on `user`'s `action`, each as whether it allows and
/// its pattern below the scope's prefix (`[]`: the whole source, `[schema, table]`, ...).
/// Rules of every root count alike: a DENY under one root wins over an ALLOW under another.
fn rules(
    snapshot: &Snapshot,
    user: &str,
    action: &str,
    at: i64,
    scope: &Scope,
) -> Vec<(bool, Vec<String>)> {
    let mut found = Vec::new();
    for prefix in scope.prefixes() {
        let depth = prefix.split('/').count();
        for (effect, pattern) in snapshot.data_rules(user, action, &prefix, at) {
            let tail = pattern
                .get(depth..)
                .map(<[String]>::to_vec)
                .unwrap_or_default();
            found.push((effect == Effect::Allow, tail));
        }
    }
    found
}

/// The users any of whose checks could allow something under the scope.
pub fn users_with_access(snapshot: &Snapshot, at: i64, scope: &Scope) -> Vec<String> {
    let actions: Vec<&str> = TABLE_ACTIONS
        .iter()
        .map(|(a, _, _)| *a)
        .chain([SCHEMA_ACTION.0])
        .collect();
    let mut users: Vec<String> = snapshot
        .user_ids()
        .filter(|user| {
            actions.iter().any(|action| {
                rules(snapshot, user, action, at, scope)
                    .iter()
                    .any(|(allow, _)| *allow)
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
            let rules = rules(snapshot, user, action, at, scope);
            if !rules.iter().any(|(allow, _)| *allow) {
                continue;
            }
            for table in &catalog.tables {
                table_privileges(
                    snapshot,
                    at,
                    scope,
                    &rules,
                    table,
                    (role, user),
                    (action, privilege, by_column),
                    &mut privileges,
                );
            }
        }
        let (action, privilege) = SCHEMA_ACTION;
        if rules(snapshot, user, action, at, scope)
            .iter()
            .any(|(allow, _)| *allow)
        {
            for schema in &catalog.schemas {
                if allowed(snapshot, user, action, at, scope, schema) {
                    privileges.insert(Privilege::new(role, On::Schema(schema.clone()), privilege));
                }
            }
        }
    }
    let (filters, problems) = row_filters(snapshot, at, scope, catalog, roles, &mut privileges);
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
        filters,
        problems,
    }
}

/// The row filters of the tables each role may SELECT from: where every ALLOW that lets
/// it (on the table, else on its columns) carries a row filter, their OR; none where one
/// does not. MariaDB cannot filter rows: such a SELECT is not granted at all.
fn row_filters(
    snapshot: &Snapshot,
    at: i64,
    scope: &Scope,
    catalog: &Catalog,
    roles: &[(String, String)],
    privileges: &mut BTreeSet<Privilege>,
) -> (BTreeMap<(String, String), TableFilters>, Vec<String>) {
    let mut filters: BTreeMap<(String, String), TableFilters> = BTreeMap::new();
    let mut problems = Vec::new();
    let selecting: BTreeSet<(String, String, String)> = privileges
        .iter()
        .filter(|p| p.privilege == "SELECT")
        .filter_map(|p| match &p.on {
            On::Table(s, t) | On::Column(s, t, _) => Some((p.role.clone(), s.clone(), t.clone())),
            On::Schema(_) => None,
        })
        .collect();
    for (role, schema, table) in selecting {
        let Some((_, user)) = roles.iter().find(|(r, _)| *r == role) else {
            continue;
        };
        let Some(found) = catalog
            .tables
            .iter()
            .find(|t| t.schema == schema && t.name == table)
        else {
            continue;
        };
        let Some(filter) = filter_of(snapshot, at, scope, user, found) else {
            continue;
        };
        if scope.dialect == Dialect::Mysql {
            privileges.retain(|p| {
                !(p.role == role && p.privilege == "SELECT" && p.on.is_in(&schema, &table))
            });
            problems.push(format!(
                "{role}: SELECT on {schema}.{table} not granted: it allows filtered rows only, and MariaDB has no row-level security"
            ));
            continue;
        }
        filters
            .entry((schema, table))
            .or_default()
            .insert(role, filter);
    }
    (filters, problems)
}

/// The OR of the row filters of the ALLOWs that let `user` SELECT from `table`, if they
/// all carry one.
fn filter_of(
    snapshot: &Snapshot,
    at: i64,
    scope: &Scope,
    user: &str,
    table: &Table,
) -> Option<String> {
    let whole = format!("{}/{}", table.schema, table.name);
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("{whole}/{c}"))
        .collect();
    let mut found: BTreeSet<&str> = BTreeSet::new();
    let mut matched = false;
    for tails in [std::slice::from_ref(&whole), &columns[..]] {
        for tail in tails {
            for path in scope.paths(tail) {
                let query = CheckQuery {
                    user,
                    action: "SELECT",
                    resource: ResourceQuery::DataPath(&path),
                    at,
                };
                let explained = snapshot.explain(&query);
                if explained.verdict != Verdict::Allow {
                    continue;
                }
                for m in &explained.decided_by {
                    matched = true;
                    found.insert(snapshot.row_filter(&m.grant)?);
                }
            }
        }
        if matched {
            break;
        }
    }
    if found.is_empty() {
        return None;
    }
    let parts: Vec<String> = found.iter().map(|f| format!("({f})")).collect();
    Some(parts.join(" OR "))
}

/// One table's privilege for one role: on the whole table when a check allows it and no
/// rule lies on its columns; else on each column a check allows (a whole-row privilege,
/// DELETE, only if every column is allowed).
#[allow(clippy::too_many_arguments)]
fn table_privileges(
    snapshot: &Snapshot,
    at: i64,
    scope: &Scope,
    rules: &[(bool, Vec<String>)],
    table: &Table,
    (role, user): (&str, &str),
    (action, privilege, by_column): (&str, &str, bool),
    out: &mut BTreeSet<Privilege>,
) {
    let tail = format!("{}/{}", table.schema, table.name);
    let path = [table.schema.as_str(), table.name.as_str()];
    let overlaps = |pattern: &[String]| pattern.iter().zip(path).all(|(p, s)| p == "*" || p == s);
    // An ALLOW that may reach it; a rule on something within it (a column).
    let relevant = |deeper: bool| {
        rules.iter().any(|(allow, pattern)| {
            overlaps(pattern)
                && if deeper {
                    pattern.len() > path.len()
                } else {
                    *allow
                }
        })
    };
    let whole = allowed(snapshot, user, action, at, scope, &tail);
    if !relevant(true) {
        if whole {
            out.insert(Privilege::new(
                role,
                On::Table(table.schema.clone(), table.name.clone()),
                privilege,
            ));
        }
        return;
    }
    let columns: Vec<&String> = table
        .columns
        .iter()
        .filter(|c| allowed(snapshot, user, action, at, scope, &format!("{tail}/{c}")))
        .collect();
    if whole && columns.len() == table.columns.len() {
        out.insert(Privilege::new(
            role,
            On::Table(table.schema.clone(), table.name.clone()),
            privilege,
        ));
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
