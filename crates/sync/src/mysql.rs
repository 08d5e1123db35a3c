//! MariaDB and MySQL: reads the managed databases' tables and the managed accounts'
//! privileges from `information_schema`, and applies a plan. Their GRANT and REVOKE commit
//! one by one (no DDL transaction): a pass that fails half-way is completed by the next.

use std::collections::BTreeSet;
use std::str::FromStr;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{Connection, Row};

use crate::privileges::{Actual, Catalog, Privilege};
use crate::SyncError;

/// Databases that are the server's own, and grantd's ledger, never managed.
const SYSTEM: [&str; 5] = [
    "mysql",
    "information_schema",
    "performance_schema",
    "sys",
    "grantd_sync",
];

/// Making the ledger of the accounts grantd made, before it makes one.
pub const LEDGER: [&str; 2] = [
    "CREATE DATABASE IF NOT EXISTS grantd_sync",
    "CREATE TABLE IF NOT EXISTS grantd_sync.managed_roles (source VARCHAR(255) NOT NULL, \
     role VARCHAR(80) NOT NULL, PRIMARY KEY (source, role))",
];

pub async fn connect(url: &str, password: Option<&str>) -> Result<MySqlConnection, SyncError> {
    let url = url.replacen("mariadb://", "mysql://", 1);
    let mut options = MySqlConnectOptions::from_str(&url)
        .map_err(|e| SyncError::new(format!("the data source's url: {e}")))?;
    if let Some(password) = password {
        options = options.password(password);
    }
    MySqlConnection::connect_with(&options)
        .await
        .map_err(|e| SyncError::from_sqlx(e, None))
}

fn err(e: sqlx::Error) -> SyncError {
    SyncError::from_sqlx(e, None)
}

fn text(row: &sqlx::mysql::MySqlRow, column: &str) -> Result<String, SyncError> {
    // information_schema columns are text or binary by server version.
    match row.try_get::<String, _>(column) {
        Ok(s) => Ok(s),
        Err(_) => row
            .try_get::<Vec<u8>, _>(column)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(err),
    }
}

/// The managed databases (`schemas`, or every one not the server's) and their tables.
pub async fn catalog(conn: &mut MySqlConnection, schemas: &[String]) -> Result<Catalog, SyncError> {
    let chosen = |name: &str| {
        if schemas.is_empty() {
            !SYSTEM.contains(&name)
        } else {
            schemas.iter().any(|s| s == name)
        }
    };
    let mut names = Vec::new();
    for row in sqlx::query("SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA ORDER BY 1")
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?
    {
        let name = text(&row, "s")?;
        if chosen(&name) {
            names.push(name);
        }
    }
    let rows = sqlx::query(
        "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS \
         ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let mut catalog = Catalog {
        schemas: names,
        tables: Vec::new(),
    };
    for row in rows {
        let schema = text(&row, "s")?;
        if !chosen(&schema) {
            continue;
        }
        let (name, column) = (text(&row, "t")?, text(&row, "c")?);
        catalog.add_column(&schema, &name, &column);
    }
    Ok(catalog)
}

/// A database's name as a database-level grant names it: `_` and `%` are wildcards there,
/// so they (and the escape) are escaped.
pub(crate) fn escape_wildcards(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '_' | '%' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether a database-level grant's name holds a wildcard (`_` or `%` not escaped).
fn is_pattern(name: &str) -> bool {
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '_' | '%' => return true,
            _ => {}
        }
    }
    false
}

/// A database-level grant's name, its escapes undone (one that `is_pattern` is not).
fn unescape_wildcards(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// `'bob'@'%'` as information_schema writes a grantee, to `bob`; other hosts are not ours.
fn grantee(text: &str) -> Option<String> {
    let user = text
        .strip_suffix("@'%'")?
        .strip_prefix('\'')?
        .strip_suffix('\'')?;
    // Written as stored, unescaped; grantd's role names hold no quote or backslash.
    (!user.contains(['\'', '\\'])).then(|| user.to_string())
}

/// Which of `roles` exist as `role@%`, which this source made, and the managed accounts'
/// privileges within `catalog`'s databases.
pub async fn actual(
    conn: &mut MySqlConnection,
    roles: &[String],
    marker: &str,
    catalog: &Catalog,
) -> Result<Actual, SyncError> {
    let mut found = Actual::default();
    let ledger = sqlx::query("SELECT role AS r FROM grantd_sync.managed_roles WHERE source = ?")
        .bind(marker)
        .fetch_all(&mut *conn)
        .await;
    let mine: BTreeSet<String> = match ledger {
        Ok(rows) => rows
            .iter()
            .map(|r| text(r, "r"))
            .collect::<Result<_, _>>()?,
        // No ledger yet: nothing made.
        Err(sqlx::Error::Database(e))
            if matches!(e.code().as_deref(), Some("42S02") | Some("42000")) =>
        {
            BTreeSet::new()
        }
        Err(e) => return Err(err(e)),
    };
    let existing: BTreeSet<String> =
        sqlx::query("SELECT User AS u FROM mysql.user WHERE Host = '%'")
            .fetch_all(&mut *conn)
            .await
            .map_err(err)?
            .iter()
            .map(|r| text(r, "u"))
            .collect::<Result<_, _>>()?;
    found.gone = mine.difference(&existing).cloned().collect();
    for role in existing.iter() {
        if mine.contains(role) {
            found.managed.insert(role.clone());
        } else if roles.contains(role) {
            found.foreign.insert(role.clone());
        }
    }
    let schemas: BTreeSet<&str> = catalog.schemas.iter().map(String::as_str).collect();
    let queries = [
        "SELECT GRANTEE AS g, TABLE_SCHEMA AS s, NULL AS t, NULL AS c, PRIVILEGE_TYPE AS p FROM information_schema.SCHEMA_PRIVILEGES",
        "SELECT GRANTEE AS g, TABLE_SCHEMA AS s, TABLE_NAME AS t, NULL AS c, PRIVILEGE_TYPE AS p FROM information_schema.TABLE_PRIVILEGES",
        "SELECT GRANTEE AS g, TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c, PRIVILEGE_TYPE AS p FROM information_schema.COLUMN_PRIVILEGES",
    ];
    for query in queries {
        for row in sqlx::query(query)
            .fetch_all(&mut *conn)
            .await
            .map_err(err)?
        {
            let Some(role) = grantee(&text(&row, "g")?) else {
                continue;
            };
            let schema = text(&row, "s")?;
            let table = text(&row, "t").ok().filter(|t| !t.is_empty());
            if !found.managed.contains(&role) {
                continue;
            }
            // A database-level grant names a pattern: grantd's escape their wildcards.
            let schema = match table {
                None if is_pattern(&schema) => {
                    found.patterns.push((role, schema, text(&row, "p")?));
                    continue;
                }
                None => unescape_wildcards(&schema),
                Some(_) => schema,
            };
            if !schemas.contains(schema.as_str()) {
                continue;
            }
            let column = text(&row, "c").ok().filter(|c| !c.is_empty());
            let privilege = text(&row, "p")?;
            found.privileges.insert(Privilege::read(
                &role,
                &schema,
                table.as_deref(),
                column.as_deref(),
                &privilege,
            ));
        }
    }
    Ok(found)
}

/// Runs the statements in order, each alone, as one prepared statement; the ledger is
/// made first when the plan makes an account.
pub async fn apply(conn: &mut MySqlConnection, statements: &[String]) -> Result<(), SyncError> {
    let makes_account = statements.iter().any(|s| s.starts_with("CREATE USER"));
    let ledger: &[&str] = if makes_account { &LEDGER } else { &[] };
    for statement in ledger
        .iter()
        .copied()
        .chain(statements.iter().map(String::as_str))
    {
        sqlx::query(statement)
            .execute(&mut *conn)
            .await
            .map_err(|e| SyncError::from_sqlx(e, Some(statement)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_names_in_grants_are_escaped_and_read_back() {
        for name in ["sales", "my_db", "100%", "a\\b"] {
            let escaped = super::escape_wildcards(name);
            assert!(!escaped.contains("_") || escaped.contains("\\_"));
            assert_eq!(super::unescape_wildcards(&escaped), name);
        }
        assert_eq!(super::escape_wildcards("my_db"), "my\\_db");
        assert!(super::is_pattern("my_db") && super::is_pattern("sales%"));
        assert!(!super::is_pattern("my\\_db") && !super::is_pattern("sales"));
    }

    #[test]
    fn grantees_on_any_host_only() {
        assert_eq!(super::grantee("'bob'@'%'").as_deref(), Some("bob"));
        assert_eq!(super::grantee("'o'k'@'%'"), None, "not a name grantd makes");
        assert_eq!(super::grantee("'bob'@'localhost'"), None);
    }
}
