//! The difference between what a database holds and what it should, as the SQL statements
//! that close it, in the order they run: roles made first, privileges revoked, then those
//! granted.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::privileges::{Actual, Desired, On, Privilege, TableFilters, TableRls};
use crate::Dialect;

/// What a pass would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The statements, in order.
    pub statements: Vec<String>,
    /// Privileges granted and revoked.
    pub granted: usize,
    pub revoked: usize,
    /// Roles made.
    pub created: Vec<String>,
    /// Drift: privileges someone else added to or took from a managed role since the last
    /// pass this node knows of (`+` added by hand and revoked now, `-` taken by hand and
    /// granted again).
    pub drift: Vec<String>,
    /// Roles a user maps to that exist and are not this source's: left alone.
    pub skipped: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

/// What each of a source's policies' comments holds: the source (its marker), and for a
/// role's policies the role and its filter as written. A source reads only its own.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FilterNote {
    pub source: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub filter: String,
}

/// FNV-1a of the parts: short, stable policy names whatever they hold.
fn hash(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.join("\0").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The policy a source adds to a table whose row-level security it turns on, so that
/// every role it does not filter keeps seeing every row.
pub fn everyone_policy(marker: &str) -> String {
    format!("grantd_all_{:016x}", hash(&[marker]))
}

/// The names of a role's two policies on a table, of one source: the permissive one that
/// lets it see rows, and the restrictive one that keeps them to its filter.
fn policy_names(marker: &str, role: &str) -> (String, String) {
    let h = hash(&[marker, role]);
    (format!("grantd_v_{h:016x}"), format!("grantd_f_{h:016x}"))
}

/// A role name grantd may make: 1 to 63 bytes, no control character, not a system name.
pub fn role_name_problem(role: &str) -> Option<&'static str> {
    if role.is_empty() || role.len() > 63 {
        Some("a database role name is 1 to 63 bytes")
    } else if role
        .chars()
        .any(|c| c.is_control() || matches!(c, '\\' | '\'' | '"' | '`'))
    {
        // Quoted safely either way, but a backslash reads differently under MariaDB's
        // NO_BACKSLASH_ESCAPES: such names are not worth the doubt.
        Some("a database role name has no control characters, quotes or backslashes")
    } else if role.starts_with("pg_")
        || [
            "root",
            "mysql",
            "mariadb.sys",
            "postgres",
            "public",
            "none",
            "current_user",
            "current_role",
            "session_user",
            "all",
        ]
        .contains(&role.to_ascii_lowercase().as_str())
    {
        Some("a system role is never managed")
    } else {
        None
    }
}

/// The plan from `actual` to `desired`. `known` is what the last pass left (to tell drift
/// apart), `marker` what marks a role as this source's.
pub fn plan(
    dialect: Dialect,
    actual: &Actual,
    desired: &Desired,
    known: Option<&BTreeSet<Privilege>>,
    marker: &str,
) -> Plan {
    let mut out = Plan::default();
    // Users' roles sign in; groups' do not. (Group roles that exist and are not this
    // source's never reach here: their members hold their privileges themselves.)
    let roles = desired.roles.keys().map(|r| (r, true));
    for (role, login) in roles.chain(desired.groups.keys().map(|r| (r, false))) {
        if actual.foreign.contains(role) {
            out.skipped.push(role.clone());
        } else if !actual.managed.contains(role) {
            out.created.push(role.clone());
            out.statements
                .extend(dialect.create_role(role, login, marker));
        }
    }
    for role in &actual.gone {
        if !desired.roles.contains_key(role) {
            out.statements.extend(dialect.forget_role(role, marker));
        }
    }
    // Both sets are sorted: one merge finds what to grant and what to revoke.
    let mut grant: Vec<&Privilege> = Vec::new();
    let mut revoke: Vec<&Privilege> = Vec::new();
    let mut wanted = desired
        .privileges
        .iter()
        .filter(|p| !actual.foreign.contains(&*p.role))
        .peekable();
    let mut held = actual.privileges.iter().peekable();
    loop {
        match (wanted.peek(), held.peek()) {
            (Some(w), Some(h)) => match w.cmp(h) {
                std::cmp::Ordering::Less => grant.extend(wanted.next()),
                std::cmp::Ordering::Greater => revoke.extend(held.next()),
                std::cmp::Ordering::Equal => {
                    wanted.next();
                    held.next();
                }
            },
            (Some(_), None) => grant.extend(wanted.next()),
            (None, Some(_)) => revoke.extend(held.next()),
            (None, None) => break,
        }
    }
    if let Some(known) = known {
        out.drift.extend(
            revoke
                .iter()
                .filter(|p| !known.contains(**p))
                .map(|p| format!("+ {p}")),
        );
        out.drift.extend(
            grant
                .iter()
                .filter(|p| known.contains(**p))
                .map(|p| format!("- {p}")),
        );
    }
    // Grants on database patterns (MariaDB) are none of grantd's: revoked as they are stored.
    let patterns: Vec<String> = actual
        .patterns
        .iter()
        .map(|(role, pattern, privilege)| {
            out.drift.push(format!(
                "+ {privilege} on databases matching {pattern} to {role}"
            ));
            format!(
                "REVOKE {privilege} ON {}.* FROM {}",
                dialect.ident(pattern),
                dialect.role(role)
            )
        })
        .collect();
    out.granted = grant.len();
    out.revoked = revoke.len() + patterns.len();
    out.statements.extend(patterns);
    // Schemas first on grant (a role uses a schema to reach its tables), last on revoke.
    let schema_first = |list: &[&Privilege], first: bool| -> Vec<Privilege> {
        let (schemas, rest): (Vec<&Privilege>, Vec<&Privilege>) =
            list.iter().partition(|p| matches!(p.on, On::Schema(_)));
        let ordered: Vec<&Privilege> = if first {
            schemas.into_iter().chain(rest).collect()
        } else {
            rest.into_iter().chain(schemas).collect()
        };
        ordered.into_iter().cloned().collect()
    };
    // Revokes before grants: PostgreSQL's REVOKE on a table takes its column privileges
    // with it, so a table privilege narrowed to columns is revoked, then granted per column.
    out.statements
        .extend(statements(dialect, "REVOKE", &schema_first(&revoke, false)));
    out.statements
        .extend(statements(dialect, "GRANT", &schema_first(&grant, true)));
    out.statements
        .extend(row_security(dialect, actual, desired, marker));
    out
}

/// The policies that keep each filtered role to its rows, and row-level security on
/// where grantd filters and off again where it turned it on and filters no more.
fn row_security(dialect: Dialect, actual: &Actual, desired: &Desired, marker: &str) -> Vec<String> {
    let everyone = everyone_policy(marker);
    let mark = |name: &str, role: &str, filter: &str, on: &str| {
        let note = FilterNote {
            source: marker.to_string(),
            role: role.to_string(),
            filter: filter.to_string(),
        };
        let note = serde_json::to_string(&note).unwrap_or_default();
        format!(
            "COMMENT ON POLICY {} ON {on} IS {}",
            dialect.ident(name),
            dialect.string(&note)
        )
    };
    let none = TableFilters::new();
    let empty = TableRls::default();
    let tables: BTreeSet<&(String, String)> =
        desired.filters.keys().chain(actual.rls.keys()).collect();
    let mut out = Vec::new();
    for key in tables {
        let (schema, table) = key;
        let on = format!("{}.{}", dialect.ident(schema), dialect.ident(table));
        let wanted: TableFilters = desired
            .filters
            .get(key)
            .unwrap_or(&none)
            .iter()
            .filter(|(role, _)| !actual.foreign.contains(*role))
            .map(|(r, f)| (r.clone(), f.clone()))
            .collect();
        let now = actual.rls.get(key).unwrap_or(&empty);
        let drop = |role: &str, out: &mut Vec<String>| {
            let (view, filter) = policy_names(marker, role);
            for name in [view, filter] {
                out.push(format!(
                    "DROP POLICY IF EXISTS {} ON {on}",
                    dialect.ident(&name)
                ));
            }
        };
        if !wanted.is_empty() && !now.enabled {
            out.push(format!("ALTER TABLE {on} ENABLE ROW LEVEL SECURITY"));
            if !now.ours {
                out.push(format!(
                    "CREATE POLICY {} ON {on} AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true)",
                    dialect.ident(&everyone)
                ));
                out.push(mark(&everyone, "", "", &on));
            }
        }
        for (role, filter) in &now.filters {
            if wanted.get(role) != Some(filter) {
                drop(role, &mut out);
            }
        }
        for (role, filter) in &wanted {
            if now.filters.get(role) == Some(filter) {
                continue;
            }
            let (view, restrict) = policy_names(marker, role);
            out.push(format!(
                "CREATE POLICY {} ON {on} AS PERMISSIVE FOR ALL TO {} USING (true) WITH CHECK (true)",
                dialect.ident(&view),
                dialect.ident(role)
            ));
            out.push(format!(
                "CREATE POLICY {} ON {on} AS RESTRICTIVE FOR ALL TO {} USING ({filter})",
                dialect.ident(&restrict),
                dialect.ident(role)
            ));
            out.push(mark(&view, role, filter, &on));
            out.push(mark(&restrict, role, filter, &on));
        }
        // Row-level security goes back off only where this source turned it on and no
        // other policy (the DBA's, another source's) has come since: those rely on it.
        if wanted.is_empty() && now.ours && now.others == 0 {
            out.push(format!(
                "DROP POLICY IF EXISTS {} ON {on}",
                dialect.ident(&everyone)
            ));
            out.push(format!("ALTER TABLE {on} DISABLE ROW LEVEL SECURITY"));
        }
    }
    out
}

/// Most objects one PostgreSQL GRANT or REVOKE names.
const PER_STATEMENT: usize = 500;

/// The statements for `privileges`, in their order. Each statement is one role and one
/// privilege on schemas, on tables, or on the same columns of tables. PostgreSQL lists up to
/// `PER_STATEMENT` objects in one statement; MariaDB names one table each, and lists a
/// table's columns together.
fn statements(dialect: Dialect, verb: &str, privileges: &[Privilege]) -> Vec<String> {
    // A statement: role, privilege, columns (none: whole objects), whether on schemas.
    type Key<'a> = (&'a str, &'a str, Vec<&'a str>, bool);
    // One table's columns for one role and privilege.
    type Table<'a> = (&'a str, &'a str, &'a str, &'a str);
    enum Slot<'a> {
        Whole(Key<'a>),
        Columns(Table<'a>),
    }
    let mut slots: Vec<Slot<'_>> = Vec::new();
    let mut objects: HashMap<Key<'_>, Vec<On>> = HashMap::new();
    let mut columns: HashMap<Table<'_>, Vec<&str>> = HashMap::new();
    let mut memberships = Vec::new();
    for p in privileges {
        match &p.on {
            On::Role(group) => memberships.push(dialect.membership(verb, group, &p.role)),
            On::Column(schema, table, column) => {
                let key = (&*p.role, &*p.privilege, &**schema, &**table);
                let listed = columns.entry(key).or_default();
                if listed.is_empty() {
                    slots.push(Slot::Columns(key));
                }
                listed.push(column);
            }
            on => {
                let key = (
                    &*p.role,
                    &*p.privilege,
                    Vec::new(),
                    matches!(on, On::Schema(_)),
                );
                let listed = objects.entry(key.clone()).or_default();
                if listed.is_empty() {
                    slots.push(Slot::Whole(key));
                }
                listed.push(on.clone());
            }
        }
    }
    // Tables with the same columns for one role and privilege share a statement.
    let slots: Vec<Key<'_>> = slots
        .into_iter()
        .map(|slot| match slot {
            Slot::Whole(key) => key,
            Slot::Columns(table) => {
                let (role, privilege, schema, name) = table;
                let key = (role, privilege, columns[&table].clone(), false);
                objects
                    .entry(key.clone())
                    .or_default()
                    .push(On::Table(schema.into(), name.into()));
                key
            }
        })
        .collect();
    let per_statement = match dialect {
        Dialect::Postgres => PER_STATEMENT,
        Dialect::Mysql => 1,
    };
    let mut out = Vec::new();
    for key in slots {
        // Each statement where its first object came; the rest of its objects with it.
        let Some(list) = objects.remove(&key) else {
            continue;
        };
        let (role, privilege, cols, _) = &key;
        let cols = (!cols.is_empty()).then_some(&cols[..]);
        for chunk in list.chunks(per_statement) {
            out.push(dialect.privilege(verb, privilege, cols, chunk, role));
        }
    }
    // A member joins its groups once they hold their privileges, and leaves them first.
    if verb == "GRANT" {
        out.append(&mut memberships);
        out
    } else {
        memberships.append(&mut out);
        memberships
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: &str, on: On, privilege: &str) -> Privilege {
        Privilege::new(&role.into(), on, &privilege.into())
    }

    #[test]
    fn the_plan_closes_the_difference_and_names_drift() {
        let table = |t: &str| On::Table("public".into(), t.into());
        let mut actual = Actual::default();
        actual.managed.insert("bob".into());
        actual.foreign.insert("dba".into());
        actual
            .privileges
            .insert(p("bob", table("orders"), "SELECT"));
        actual
            .privileges
            .insert(p("bob", table("orders"), "DELETE"));
        let mut desired = Desired::default();
        for (role, user) in [("bob", "bob"), ("ann", "ann"), ("dba", "dba")] {
            desired.roles.insert(role.into(), user.into());
        }
        desired
            .privileges
            .insert(p("bob", table("orders"), "SELECT"));
        desired
            .privileges
            .insert(p("bob", On::Schema("public".into()), "USAGE"));
        desired
            .privileges
            .insert(p("dba", table("orders"), "SELECT"));
        for c in ["id", "amount"] {
            desired.privileges.insert(p(
                "ann",
                On::Column("public".into(), "orders".into(), c.into()),
                "SELECT",
            ));
        }
        let known: BTreeSet<Privilege> = [
            p("bob", On::Schema("public".into()), "USAGE"),
            p("bob", table("orders"), "SELECT"),
        ]
        .into();
        let plan = plan(
            Dialect::Postgres,
            &actual,
            &desired,
            Some(&known),
            "managed by grantd",
        );
        assert_eq!(
            plan.statements,
            [
                "CREATE ROLE \"ann\" LOGIN",
                "COMMENT ON ROLE \"ann\" IS 'managed by grantd'",
                "REVOKE DELETE ON TABLE \"public\".\"orders\" FROM \"bob\"",
                "GRANT USAGE ON SCHEMA \"public\" TO \"bob\"",
                "GRANT SELECT (\"amount\", \"id\") ON TABLE \"public\".\"orders\" TO \"ann\"",
            ]
        );
        assert_eq!(plan.skipped, ["dba"]);
        assert_eq!(
            plan.drift,
            [
                "+ DELETE on table public.orders to bob",
                "- USAGE on schema public to bob"
            ]
        );
    }

    #[test]
    fn a_group_role_is_made_nologin() {
        let mut actual = Actual::default();
        actual.managed.insert("eng".into());
        let mut desired = Desired::default();
        desired.groups.insert("eng".into(), "eng".into());
        desired.groups.insert("ops".into(), "ops".into());
        desired
            .privileges
            .insert(p("bob", On::Role("ops".into()), "MEMBER"));
        let plan = plan(Dialect::Postgres, &actual, &desired, None, "m");
        assert_eq!(
            plan.statements,
            [
                "CREATE ROLE \"ops\" NOLOGIN",
                "COMMENT ON ROLE \"ops\" IS 'm'",
                "GRANT \"ops\" TO \"bob\"",
            ]
        );
    }

    #[test]
    fn names_are_quoted_whatever_they_hold() {
        let on = On::Table("we\"ird".into(), "t`'x".into());
        assert_eq!(
            Dialect::Postgres.privilege("GRANT", "SELECT", None, std::slice::from_ref(&on), "a\"b"),
            "GRANT SELECT ON TABLE \"we\"\"ird\".\"t`'x\" TO \"a\"\"b\""
        );
        assert_eq!(
            Dialect::Mysql.privilege(
                "REVOKE",
                "SELECT",
                Some(&["c`1"]),
                std::slice::from_ref(&on),
                "o'k\\"
            ),
            "REVOKE SELECT (`c``1`) ON `we\"ird`.`t``'x` FROM 'o''k\\\\'@'%'"
        );
        assert_eq!(
            role_name_problem("pg_read_all_data"),
            Some("a system role is never managed")
        );
        assert!(role_name_problem("bob").is_none());
        assert!(role_name_problem("o'k").is_some());
        assert!(role_name_problem("a\\b").is_some());
    }
}
