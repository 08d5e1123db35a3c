//! What a database holds, as grantd sees it: its tables, and the privileges of the roles
//! grantd manages on them.

use std::collections::BTreeSet;

use serde::Serialize;

/// A database object a privilege is on. For MariaDB a schema is a database.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum On {
    Schema(Name),
    Table(Name, Name),
    Column(Name, Name, Name),
    /// A role, for a membership: the member holds `MEMBER` on it (PostgreSQL).
    Role(Name),
}

/// A name shared by every privilege that holds it: cloning one costs a count, not a copy.
pub type Name = std::sync::Arc<str>;

impl On {
    /// Whether it is table `schema.table` or one of its columns.
    pub fn is_in(&self, schema: &str, table: &str) -> bool {
        matches!(self, On::Table(s, t) | On::Column(s, t, _) if &**s == schema && &**t == table)
    }

    /// The schema it is or lies in; none for a role.
    pub fn schema(&self) -> Option<&str> {
        match self {
            On::Schema(s) | On::Table(s, _) | On::Column(s, _, _) => Some(s),
            On::Role(_) => None,
        }
    }
}

/// One privilege of one role on one object: `SELECT` on a table, `USAGE` on a schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Privilege {
    pub role: Name,
    pub on: On,
    pub privilege: Name,
}

impl Privilege {
    pub fn new(role: &Name, on: On, privilege: &Name) -> Privilege {
        Privilege {
            role: role.clone(),
            on,
            privilege: privilege.clone(),
        }
    }
}

impl Privilege {
    /// A privilege as a catalog lists it: on a column, else a table, else a schema.
    pub fn read(
        role: &str,
        schema: &str,
        table: Option<&str>,
        column: Option<&str>,
        privilege: &str,
    ) -> Privilege {
        let on = match (table, column) {
            (Some(t), Some(c)) => On::Column(schema.into(), t.into(), c.into()),
            (Some(t), None) => On::Table(schema.into(), t.into()),
            _ => On::Schema(schema.into()),
        };
        Privilege {
            role: role.into(),
            on,
            privilege: privilege.into(),
        }
    }
}

impl std::fmt::Display for Privilege {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let On::Role(group) = &self.on {
            return write!(f, "{} member of role {group}", self.role);
        }
        let on = match &self.on {
            On::Schema(s) => format!("schema {s}"),
            On::Table(s, t) => format!("table {s}.{t}"),
            On::Column(s, t, c) => format!("column {s}.{t}.{c}"),
            On::Role(_) => unreachable!("written above"),
        };
        write!(f, "{} on {on} to {}", self.privilege, self.role)
    }
}

/// A table (or view) and its columns, in their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub schema: Name,
    pub name: Name,
    pub columns: Vec<Name>,
}

/// The managed schemas of a database and their tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub schemas: Vec<String>,
    pub tables: Vec<Table>,
}

impl Catalog {
    /// Adds a column, read in (schema, table, position) order: to the last table if it is
    /// the column's, else to a new one.
    pub fn add_column(&mut self, schema: &str, table: &str, column: &str) {
        match self.tables.last_mut() {
            Some(last) if &*last.schema == schema && &*last.name == table => {
                last.columns.push(column.into())
            }
            _ => self.tables.push(Table {
                schema: schema.into(),
                name: table.into(),
                columns: vec![column.into()],
            }),
        }
    }
}

/// What the database holds now.
#[derive(Debug, Clone, Default)]
pub struct Actual {
    /// The roles this data source made (marked as its own).
    pub managed: BTreeSet<String>,
    /// Roles that exist and are not this source's: left alone.
    pub foreign: BTreeSet<String>,
    /// The managed roles that can sign in (PostgreSQL).
    pub login: BTreeSet<String>,
    /// Database-level grants to managed accounts on a pattern (MariaDB: a name with an
    /// unescaped `_` or `%`, made by hand or before grantd escaped them): (role, pattern
    /// as stored, privilege). grantd makes none, so each is drift.
    pub patterns: Vec<(String, String, String)>,
    /// Roles this source made whose account someone has since dropped (MariaDB).
    pub gone: BTreeSet<String>,
    /// The managed roles' privileges on the managed schemas and what is in them.
    pub privileges: BTreeSet<Privilege>,
    /// Row-level security on the tables that have it on, or a policy of grantd's, by
    /// (schema, table).
    pub rls: std::collections::BTreeMap<(String, String), TableRls>,
}

/// What the database should hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// Each mapped role, and the user it is.
    pub roles: std::collections::BTreeMap<String, String>,
    /// Each group role (PostgreSQL), and the group it is.
    pub groups: std::collections::BTreeMap<String, String>,
    pub privileges: BTreeSet<Privilege>,
    /// The rows each role may see of a table, by (schema, table): tables whose every
    /// granting ALLOW carries a row filter.
    pub filters: std::collections::BTreeMap<(String, String), TableFilters>,
    /// What could not be granted as decided, and why.
    pub problems: Vec<String>,
}

/// Row filters on one table: each filtered role's expression.
pub type TableFilters = std::collections::BTreeMap<String, String>;

/// What grantd holds of row-level security on one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableRls {
    /// Whether row-level security is on.
    pub enabled: bool,
    /// Whether grantd turned it on (and keeps every other role seeing every row).
    pub ours: bool,
    /// The filtered roles and their expressions.
    pub filters: TableFilters,
    /// Policies on the table that are not this source's.
    pub others: usize,
}
