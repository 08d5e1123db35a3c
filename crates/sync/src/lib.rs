//! Data-source sync: the privileges a database should hold, computed from the decision
//! index by the same checks `/check` answers (`desired`), what it holds (`postgres`,
//! `mysql`), and the statements that close the difference (`plan`). No I/O outside the two
//! connectors; the server decides when passes run and records what they did.

pub mod connection;
pub mod desired;
pub mod groups;
pub mod mysql;
pub mod plan;
pub mod postgres;
pub mod privileges;
#[cfg(test)]
mod tests;

pub use connection::Connection;
pub use desired::{desired, users_with_access, Scope};
pub use groups::{fold_groups, GroupMembers};
pub use plan::{plan, role_name_problem, Plan};
pub use privileges::{
    Actual, Catalog, Desired, Name, On, Privilege, Table, TableFilters, TableRls,
};

/// The SQL dialect of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Mysql,
}

/// What a connector reports: the statement that failed, if one did, and the database's
/// message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SyncError {
    pub statement: Option<String>,
    pub message: String,
}

impl SyncError {
    pub fn new(message: impl Into<String>) -> SyncError {
        SyncError {
            statement: None,
            message: message.into(),
        }
    }

    fn from_sqlx(error: sqlx::Error, statement: Option<&str>) -> SyncError {
        let message = match &error {
            sqlx::Error::Database(db) => db.message().to_string(),
            other => other.to_string(),
        };
        SyncError {
            statement: statement.map(str::to_string),
            message,
        }
    }
}

impl Dialect {
    pub(crate) fn ident(self, name: &str) -> String {
        match self {
            Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
            Dialect::Mysql => format!("`{}`", name.replace('`', "``")),
        }
    }

    pub(crate) fn string(self, text: &str) -> String {
        match self {
            Dialect::Postgres => format!("'{}'", text.replace('\'', "''")),
            Dialect::Mysql => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''")),
        }
    }

    /// A role as a grant names it.
    fn role(self, role: &str) -> String {
        match self {
            Dialect::Postgres => self.ident(role),
            Dialect::Mysql => format!("{}@'%'", self.string(role)),
        }
    }

    /// The statements that make a role this source manages. PostgreSQL: a login role with
    /// no password (password sign-in fails until one is set), marked by its comment.
    /// MariaDB: a locked account, unlocked by whoever sets how it signs in, listed in
    /// `grantd_sync.managed_roles`.
    fn create_role(self, role: &str, login: bool, marker: &str) -> Vec<String> {
        match self {
            Dialect::Postgres => vec![
                format!(
                    "CREATE ROLE {} {}",
                    self.ident(role),
                    if login { "LOGIN" } else { "NOLOGIN" }
                ),
                format!(
                    "COMMENT ON ROLE {} IS {}",
                    self.ident(role),
                    self.string(marker)
                ),
            ],
            Dialect::Mysql => vec![
                format!("CREATE USER {} ACCOUNT LOCK", self.role(role)),
                format!(
                    "INSERT IGNORE INTO grantd_sync.managed_roles (source, role) VALUES ({}, {})",
                    self.string(marker),
                    self.string(role)
                ),
            ],
        }
    }

    /// The statement that forgets a role whose account is gone (MariaDB's ledger), so that
    /// an account made later by someone else under its name is not taken for grantd's.
    fn forget_role(self, role: &str, marker: &str) -> Option<String> {
        match self {
            Dialect::Postgres => None,
            Dialect::Mysql => Some(format!(
                "DELETE FROM grantd_sync.managed_roles WHERE source = {} AND role = {}",
                self.string(marker),
                self.string(role)
            )),
        }
    }

    /// Objects of one kind listed in one statement: `TABLE a, b` or `SCHEMA a, b`.
    fn objects(self, on: &[On]) -> String {
        let names: Vec<String> = on
            .iter()
            .map(|o| match o {
                // A database name in a grant is a pattern: `_` and `%` are wildcards.
                On::Schema(s) if self == Dialect::Mysql => {
                    format!("{}.*", self.ident(&mysql::escape_wildcards(s)))
                }
                On::Schema(s) => self.ident(s),
                On::Table(s, t) | On::Column(s, t, _) => {
                    format!("{}.{}", self.ident(s), self.ident(t))
                }
                On::Role(r) => self.ident(r),
            })
            .collect();
        match (self, on.first()) {
            (Dialect::Postgres, Some(On::Schema(_))) => format!("SCHEMA {}", names.join(", ")),
            (Dialect::Postgres, _) => format!("TABLE {}", names.join(", ")),
            (Dialect::Mysql, _) => names.join(", "),
        }
    }

    /// `GRANT group TO member` and its REVOKE.
    fn membership(self, verb: &str, group: &str, member: &str) -> String {
        let to = if verb == "GRANT" { "TO" } else { "FROM" };
        format!("{verb} {} {to} {}", self.ident(group), self.ident(member))
    }

    /// `GRANT SELECT (a, b) ON TABLE s.t, s.u TO r` and its REVOKE.
    fn privilege(
        self,
        verb: &str,
        privilege: &str,
        columns: Option<&[&str]>,
        on: &[On],
        role: &str,
    ) -> String {
        let columns = columns
            .map(|cols| {
                let list: Vec<String> = cols.iter().map(|c| self.ident(c)).collect();
                format!(" ({})", list.join(", "))
            })
            .unwrap_or_default();
        let to = if verb == "GRANT" { "TO" } else { "FROM" };
        format!(
            "{verb} {privilege}{columns} ON {} {to} {}",
            self.objects(on),
            self.role(role)
        )
    }
}
