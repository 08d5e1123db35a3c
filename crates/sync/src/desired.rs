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
    fn reached(&self, tail: &[String], all: usize, out: &mut BTreeSet<usize>) {
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

/// The privileges `roles` (role, user) should hold on `catalog` at `at`.
pub fn desired(
    snapshot: &Snapshot,
    at: i64,
    scope: &Scope,
    catalog: &Catalog,
    roles: &[(String, String)],
) -> Desired {
    let index = TableIndex::new(catalog);
    // Gathered in a list and sorted once: a set of a million privileges built by inserts
    // costs as much again.
    let mut privileges: Vec<Privilege> = Vec::new();
    let mut filters: BTreeMap<(String, String), TableFilters> = BTreeMap::new();
    let mut problems = Vec::new();
    let filtering = snapshot.has_row_filters();
    for (role, user) in roles {
        let role: Name = Name::from(role.as_str());
        let role = &role;
        for (action, privilege, by_column) in TABLE_ACTIONS {
            let privilege: Name = Name::from(privilege);
            let rules = Rules::of(snapshot, user, action, at, scope);
            if !rules.has_allow() {
                continue;
            }
            let mut reached = BTreeSet::new();
            for (allow, tail) in rules.tails() {
                if allow {
                    index.reached(tail, catalog.tables.len(), &mut reached);
                }
            }
            for i in reached {
                let table = &catalog.tables[i];
                let granted = table_privileges(
                    &rules,
                    table,
                    role,
                    (&privilege, by_column),
                    &mut privileges,
                );
                if granted && filtering && action == "SELECT" {
                    if let Some(filter) = filter_of(snapshot, &rules, table) {
                        if scope.dialect == Dialect::Mysql {
                            privileges.retain(|p| {
                                !(p.role == *role
                                    && &*p.privilege == "SELECT"
                                    && p.on.is_in(&table.schema, &table.name))
                            });
                            problems.push(format!(
                                "{role}: SELECT on {}.{} not granted: it allows filtered rows only, and MariaDB has no row-level security",
                                table.schema, table.name
                            ));
                        } else {
                            filters
                                .entry((table.schema.to_string(), table.name.to_string()))
                                .or_default()
                                .insert(role.to_string(), filter);
                        }
                    }
                }
            }
        }
        let (action, privilege) = SCHEMA_ACTION;
        let privilege: Name = Name::from(privilege);
        let rules = Rules::of(snapshot, user, action, at, scope);
        if rules.has_allow() {
            for schema in &catalog.schemas {
                if rules.allowed(&[schema]) {
                    privileges.push(Privilege::new(
                        role,
                        On::Schema(schema.as_str().into()),
                        &privilege,
                    ));
                }
            }
        }
    }
    if scope.dialect == Dialect::Postgres {
        // A role reaches a table only through its schema.
        let usage_privilege = Name::from("USAGE");
        let usage: BTreeSet<(&Name, &str)> = privileges
            .iter()
            .filter_map(|p| Some((&p.role, p.on.schema()?)))
            .collect();
        let usage: Vec<Privilege> = usage
            .into_iter()
            .map(|(role, schema)| Privilege::new(role, On::Schema(schema.into()), &usage_privilege))
            .collect();
        privileges.extend(usage);
    }
    privileges.sort_unstable();
    privileges.dedup();
    Desired {
        roles: roles.iter().cloned().collect(),
        groups: BTreeMap::new(),
        privileges: privileges.into_iter().collect(),
        filters,
        problems,
    }
}

/// One table's privilege for one role: on the whole table when it is allowed and no rule
/// lies on its columns; else on each column allowed (a whole-row privilege, DELETE, only
/// if every column is allowed). Whether anything was granted.
fn table_privileges(
    rules: &Rules,
    table: &Table,
    role: &Name,
    (privilege, by_column): (&Name, bool),
    out: &mut Vec<Privilege>,
) -> bool {
    let (schema, name) = (&*table.schema, &*table.name);
    let whole = rules.allowed(&[schema, name]);
    // A rule on something within the table (a column): columns decide one by one.
    let deeper = rules.tails().any(|(_, tail)| {
        tail.len() > 2
            && tail
                .iter()
                .zip([schema, name])
                .all(|(p, s)| p == "*" || p == s)
    });
    let on_table = || On::Table(table.schema.clone(), table.name.clone());
    if !deeper {
        if whole {
            out.push(Privilege::new(role, on_table(), privilege));
        }
        return whole;
    }
    let columns: Vec<&Name> = table
        .columns
        .iter()
        .filter(|c| rules.allowed(&[schema, name, c]))
        .collect();
    if whole && columns.len() == table.columns.len() {
        out.push(Privilege::new(role, on_table(), privilege));
        return true;
    }
    if !by_column {
        return false;
    }
    for column in &columns {
        out.push(Privilege::new(
            role,
            On::Column(table.schema.clone(), table.name.clone(), (*column).clone()),
            privilege,
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
