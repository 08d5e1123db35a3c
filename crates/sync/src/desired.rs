//! The privileges a database should hold, from the decision index: for each mapped user and
//! each object, what a check on the object's data path decides, through every group, role,
//! wildcard and window, any DENY winning. The index hands over a user's rules for an action
//! under the source (`Snapshot::data_rules`), which decide its paths as checks do (the core
//! tests hold them to it); they are asked once per user and action, not once per table.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use grantd_core::decision::{DataRules, Snapshot, Verdict};

use crate::privileges::{Catalog, Desired, Name, On, Privilege, Table, TableFilters};
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
}

/// A user's rules for one action under every root of the scope.
struct Rules {
    /// Per root: its prefix's segments and the rules under it.
    roots: Vec<(Vec<String>, DataRules)>,
}

impl Rules {
    fn of(snapshot: &Snapshot, user: &str, action: &str, at: i64, scope: &Scope) -> Rules {
        let roots = scope
            .prefixes()
            .map(|prefix| {
                let rules = snapshot.data_rules(user, action, &prefix, at);
                (prefix.split('/').map(str::to_string).collect(), rules)
            })
            .collect();
        Rules { roots }
    }

    fn has_allow(&self) -> bool {
        self.roots.iter().any(|(_, r)| r.has_allow())
    }

    /// Every rule's pattern below its root's prefix, with whether it allows.
    fn tails(&self) -> impl Iterator<Item = (bool, &[String])> {
        self.roots.iter().flat_map(|(prefix, rules)| {
            rules.rules.iter().map(move |r| {
                let tail = r.pattern.get(prefix.len()..).unwrap_or_default();
                (r.effect == grantd_core::model::Effect::Allow, tail)
            })
        })
    }

    /// Allowed at `tail` (schema, table[, column]) under every root: some root's rules
    /// allow it and none deny it.
    fn allowed(&self, tail: &[&str]) -> bool {
        let mut allow = false;
        let mut path: Vec<&str> = Vec::with_capacity(8);
        for (prefix, rules) in &self.roots {
            path.clear();
            path.extend(prefix.iter().map(String::as_str));
            path.extend_from_slice(tail);
            match rules.verdict(&path) {
                Verdict::Deny => return false,
                Verdict::Allow => allow = true,
                Verdict::NoMatch => {}
            }
        }
        allow
    }

    /// The grants of the ALLOW rules covering `tail` under any root.
    fn allowing(&self, tail: &[&str]) -> Vec<std::sync::Arc<str>> {
        let mut grants = Vec::new();
        for (prefix, rules) in &self.roots {
            let mut path: Vec<&str> = prefix.iter().map(String::as_str).collect();
            path.extend_from_slice(tail);
            grants.extend(rules.allowing(&path).map(|r| r.grant.clone()));
        }
        grants
    }
}

/// The catalog's tables by schema and by name, to find what a pattern can reach.
struct TableIndex<'a> {
    by_schema: HashMap<&'a str, Vec<usize>>,
    by_name: HashMap<(&'a str, &'a str), usize>,
}

impl<'a> TableIndex<'a> {
    fn new(catalog: &'a Catalog) -> TableIndex<'a> {
        let mut by_schema: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_name = HashMap::new();
        for (i, t) in catalog.tables.iter().enumerate() {
            by_schema.entry(&*t.schema).or_default().push(i);
            by_name.insert((&*t.schema, &*t.name), i);
        }
        TableIndex { by_schema, by_name }
    }

    /// The tables an ALLOW whose pattern below the root is `tail` may reach.
    fn reached(&self, tail: &[String], all: usize, out: &mut Vec<usize>) {
        match (
            tail.first().map(String::as_str),
            tail.get(1).map(String::as_str),
        ) {
            (None | Some("*"), _) => out.extend(0..all),
            (Some(schema), None | Some("*")) => {
                out.extend(self.by_schema.get(schema).into_iter().flatten().copied())
            }
            (Some(schema), Some(table)) => out.extend(self.by_name.get(&(schema, table)).copied()),
        }
    }
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
            actions
                .iter()
                .any(|action| Rules::of(snapshot, user, action, at, scope).has_allow())
        })
        .map(str::to_string)
        .collect();
    users.sort();
    users
}

/// What one user's rules give, whoever holds them. Users whose rules are the same (most
/// members of a group) share it, worked out once.
#[derive(Debug, Default)]
struct Access {
    /// Sorted by object, then privilege.
    privileges: Vec<(On, Name)>,
    /// Each filtered table's row filter.
    filters: Vec<((Name, Name), String)>,
    /// What could not be granted, said after the role's name.
    problems: Vec<String>,
}

/// The rules that decide a user's access, as a key: users with the same key have the same
/// access (the grants are in it, for their row filters).
type Fingerprint = Vec<(usize, usize, bool, Vec<String>, std::sync::Arc<str>)>;

impl Rules {
    fn fingerprint(&self, action: usize, out: &mut Fingerprint) {
        for (root, (_, rules)) in self.roots.iter().enumerate() {
            for r in &rules.rules {
                out.push((
                    action,
                    root,
                    r.effect == grantd_core::model::Effect::Allow,
                    r.pattern.clone(),
                    r.grant.clone(),
                ));
            }
        }
    }
}

/// The privileges `roles` (role, user) should hold on `catalog` at `at`.
pub fn desired(
    snapshot: &Snapshot,
    at: i64,
    scope: &Scope,
    catalog: &Catalog,
    roles: &[(String, String)],
) -> Desired {
    let index = TableIndex::new(catalog);
    // Roles in order, each one's privileges in order: the list is sorted as it is made (a
    // set of a million privileges built by inserts, or sorted after, costs as much again).
    let mut ordered: Vec<&(String, String)> = roles.iter().collect();
    ordered.sort();
    let mut privileges: Vec<Privilege> = Vec::new();
    let mut filters: BTreeMap<(String, String), TableFilters> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut shared: HashMap<Fingerprint, Access> = HashMap::new();
    for (role, user) in ordered {
        let mut rules: Vec<Rules> = TABLE_ACTIONS
            .iter()
            .map(|(action, _, _)| Rules::of(snapshot, user, action, at, scope))
            .collect();
        rules.push(Rules::of(snapshot, user, SCHEMA_ACTION.0, at, scope));
        let mut key = Fingerprint::new();
        for (action, r) in rules.iter().enumerate() {
            r.fingerprint(action, &mut key);
        }
        let access = shared
            .entry(key)
            .or_insert_with(|| access(snapshot, scope, catalog, &index, &rules));
        let role: Name = Name::from(role.as_str());
        privileges.extend(
            access
                .privileges
                .iter()
                .map(|(on, privilege)| Privilege::new(&role, on.clone(), privilege)),
        );
        for ((schema, table), filter) in &access.filters {
            filters
                .entry((schema.to_string(), table.to_string()))
                .or_default()
                .insert(role.to_string(), filter.clone());
        }
        problems.extend(access.problems.iter().map(|p| format!("{role}: {p}")));
    }
    Desired {
        roles: roles.iter().cloned().collect(),
        groups: BTreeMap::new(),
        privileges: privileges.into_iter().collect(),
        filters,
        problems,
    }
}

/// What `rules` (one per table action, then the schema action's) give on `catalog`.
fn access(
    snapshot: &Snapshot,
    scope: &Scope,
    catalog: &Catalog,
    index: &TableIndex<'_>,
    rules: &[Rules],
) -> Access {
    let mut out = Access::default();
    let filtering = snapshot.has_row_filters();
    for ((action, privilege, by_column), rules) in TABLE_ACTIONS.iter().zip(rules) {
        if !rules.has_allow() {
            continue;
        }
        let privilege: Name = Name::from(*privilege);
        let mut reached = Vec::new();
        for (allow, tail) in rules.tails() {
            if allow {
                index.reached(tail, catalog.tables.len(), &mut reached);
            }
        }
        reached.sort_unstable();
        reached.dedup();
        // The rules on something within a table (a column), found once.
        let deep: Vec<&[String]> = rules
            .tails()
            .map(|(_, tail)| tail)
            .filter(|tail| tail.len() > 2)
            .collect();
        for i in reached {
            let table = &catalog.tables[i];
            let before = out.privileges.len();
            let granted = table_privileges(
                rules,
                &deep,
                table,
                (&privilege, *by_column),
                &mut out.privileges,
            );
            if !(granted && filtering && *action == "SELECT") {
                continue;
            }
            let Some(filter) = filter_of(snapshot, rules, table) else {
                continue;
            };
            if scope.dialect == Dialect::Mysql {
                out.privileges.truncate(before);
                out.problems.push(format!(
                    "SELECT on {}.{} not granted: it allows filtered rows only, and MariaDB has no row-level security",
                    table.schema, table.name
                ));
            } else {
                out.filters
                    .push(((table.schema.clone(), table.name.clone()), filter));
            }
        }
    }
    let schema_rules = &rules[TABLE_ACTIONS.len()];
    if schema_rules.has_allow() {
        let privilege: Name = Name::from(SCHEMA_ACTION.1);
        for schema in &catalog.schemas {
            if schema_rules.allowed(&[schema]) {
                out.privileges
                    .push((On::Schema(schema.as_str().into()), privilege.clone()));
            }
        }
    }
    if scope.dialect == Dialect::Postgres {
        // A role reaches a table only through its schema.
        let usage = Name::from("USAGE");
        let schemas: BTreeSet<&str> = out
            .privileges
            .iter()
            .filter_map(|(on, _)| on.schema())
            .collect();
        let schemas: Vec<On> = schemas.into_iter().map(|s| On::Schema(s.into())).collect();
        out.privileges
            .extend(schemas.into_iter().map(|on| (on, usage.clone())));
    }
    out.privileges.sort_unstable();
    out.privileges.dedup();
    out
}

/// One table's privilege for one role: on the whole table when it is allowed and no rule
/// lies on its columns; else on each column allowed (a whole-row privilege, DELETE, only
/// if every column is allowed). Whether anything was granted.
fn table_privileges(
    rules: &Rules,
    deep: &[&[String]],
    table: &Table,
    (privilege, by_column): (&Name, bool),
    out: &mut Vec<(On, Name)>,
) -> bool {
    let (schema, name) = (&*table.schema, &*table.name);
    let whole = rules.allowed(&[schema, name]);
    // A rule on something within the table (a column): columns decide one by one.
    let deeper = deep.iter().any(|tail| {
        tail.iter()
            .zip([schema, name])
            .all(|(p, s)| p == "*" || p == s)
    });
    let on_table = || On::Table(table.schema.clone(), table.name.clone());
    if !deeper {
        if whole {
            out.push((on_table(), privilege.clone()));
        }
        return whole;
    }
    let columns: Vec<&Name> = table
        .columns
        .iter()
        .filter(|c| rules.allowed(&[schema, name, c]))
        .collect();
    if whole && columns.len() == table.columns.len() {
        out.push((on_table(), privilege.clone()));
        return true;
    }
    if !by_column {
        return false;
    }
    for column in &columns {
        out.push((
            On::Column(table.schema.clone(), table.name.clone(), (*column).clone()),
            privilege.clone(),
        ));
    }
    !columns.is_empty()
}

/// The OR of the row filters of the ALLOWs that let the user SELECT from `table` (on the
/// table, else on its columns), if they all carry one.
fn filter_of(snapshot: &Snapshot, rules: &Rules, table: &Table) -> Option<String> {
    let (schema, name) = (&*table.schema, &*table.name);
    let mut grants = rules.allowing(&[schema, name]);
    if grants.is_empty() {
        for column in &table.columns {
            grants.extend(rules.allowing(&[schema, name, column]));
        }
    }
    let mut found: BTreeSet<&str> = BTreeSet::new();
    for grant in &grants {
        found.insert(snapshot.row_filter(grant)?);
    }
    if found.is_empty() {
        return None;
    }
    let parts: Vec<String> = found.iter().map(|f| format!("({f})")).collect();
    Some(parts.join(" OR "))
}
