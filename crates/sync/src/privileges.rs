//! What a database holds, as grantd sees it: its tables, and the privileges of the roles
//! grantd manages on them.

use std::collections::BTreeSet;

use serde::Serialize;

/// A database object a privilege is on. For MariaDB a schema is a database.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum On {
    Schema(String),
    Table(String, String),
    Column(String, String, String),
}

impl On {
    pub fn schema(&self) -> &str {
        match self {
            On::Schema(s) | On::Table(s, _) | On::Column(s, _, _) => s,
        }
    }
}

/// One privilege of one role on one object: `SELECT` on a table, `USAGE` on a schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Privilege {
    pub role: String,
    pub on: On,
    pub privilege: String,
}

impl Privilege {
    pub fn new(role: &str, on: On, privilege: &str) -> Privilege {
        Privilege {
            role: role.to_string(),
            on,
            privilege: privilege.to_string(),
        }
    }
}

impl std::fmt::Display for Privilege {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let on = match &self.on {
            On::Schema(s) => format!("schema {s}"),
            On::Table(s, t) => format!("table {s}.{t}"),
            On::Column(s, t, c) => format!("column {s}.{t}.{c}"),
        };
        write!(f, "{} on {on} to {}", self.privilege, self.role)
    }
}

/// A table (or view) and its columns, in their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub schema: String,
    pub name: String,
    pub columns: Vec<String>,
}

/// The managed schemas of a database and their tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub schemas: Vec<String>,
    pub tables: Vec<Table>,
}

/// What the database holds now.
#[derive(Debug, Clone, Default)]
pub struct Actual {
    /// The roles this data source made (marked as its own).
    pub managed: BTreeSet<String>,
    /// Roles that exist and are not this source's: left alone.
    pub foreign: BTreeSet<String>,
    /// The managed roles' privileges on the managed schemas and what is in them.
    pub privileges: BTreeSet<Privilege>,
}

/// What the database should hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// Each mapped role, and the user it is.
    pub roles: std::collections::BTreeMap<String, String>,
    pub privileges: BTreeSet<Privilege>,
}
