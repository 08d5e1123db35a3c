//! PostgreSQL: reads the managed schemas' tables and the managed roles' privileges from the
//! catalog, and applies a plan in one transaction.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Row};

use crate::privileges::{Actual, Catalog, On, Privilege, TableRls};
use crate::SyncError;

/// Schemas that are the system's own, never managed.
const SYSTEM: &str =
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'";
/// Relations that hold privileges: tables, partitioned tables, views, materialized views,
/// foreign tables.
const RELATIONS: &str = "c.relkind IN ('r', 'p', 'v', 'm', 'f')";

pub async fn connect(url: &str, password: Option<&str>) -> Result<PgConnection, SyncError> {
    let mut options = PgConnectOptions::from_str(url)
        .map_err(|e| SyncError::new(format!("the data source's url: {e}")))?
        .application_name("grantd-sync");
    if let Some(password) = password {
        options = options.password(password);
    }
    PgConnection::connect_with(&options)
        .await
        .map_err(|e| SyncError::from_sqlx(e, None))
}

fn err(e: sqlx::Error) -> SyncError {
    SyncError::from_sqlx(e, None)
}

/// The database the connection is to.
pub async fn database(conn: &mut PgConnection) -> Result<String, SyncError> {
    sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(conn)
        .await
        .map_err(err)
}

/// The managed schemas (`schemas`, or every one not the system's) and their tables.
pub async fn catalog(conn: &mut PgConnection, schemas: &[String]) -> Result<Catalog, SyncError> {
    let chosen = format!("(cardinality($1::text[]) = 0 AND {SYSTEM} OR n.nspname = ANY($1))");
    let names: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT n.nspname::text FROM pg_namespace n WHERE {chosen} ORDER BY 1"
    ))
    .bind(schemas)
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let rows = sqlx::query(&format!(
        "SELECT n.nspname::text AS s, c.relname::text AS t, a.attname::text AS c \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         WHERE {RELATIONS} AND {chosen} ORDER BY 1, 2, a.attnum"
    ))
    .bind(schemas)
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let mut catalog = Catalog {
        schemas: names,
        tables: Vec::new(),
    };
    for row in rows {
        let (schema, name, column): (String, String, String) = (
            row.try_get("s").map_err(err)?,
            row.try_get("t").map_err(err)?,
            row.try_get("c").map_err(err)?,
        );
        catalog.add_column(&schema, &name, &column);
    }
    Ok(catalog)
}

/// Which of `roles` exist, and which roles this source marked as its own; and the managed
/// roles' privileges within `catalog`'s schemas.
pub async fn actual(
    conn: &mut PgConnection,
    roles: &[String],
    marker: &str,
    catalog: &Catalog,
) -> Result<Actual, SyncError> {
    let rows = sqlx::query(
        "SELECT rolname::text AS r, coalesce(shobj_description(oid, 'pg_authid'), '') AS d, \
         rolcanlogin AS l FROM pg_roles \
         WHERE rolname = ANY($1) OR shobj_description(oid, 'pg_authid') = $2",
    )
    .bind(roles)
    .bind(marker)
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let mut found = Actual::default();
    for row in rows {
        let (role, comment): (String, String) = (
            row.try_get("r").map_err(err)?,
            row.try_get("d").map_err(err)?,
        );
        if comment == marker {
            if row.try_get::<bool, _>("l").map_err(err)? {
                found.login.insert(role.clone());
            }
            found.managed.insert(role);
        } else {
            found.foreign.insert(role);
        }
    }
    let managed: Vec<String> = found.managed.iter().cloned().collect();
    let schemas: BTreeSet<&str> = catalog.schemas.iter().map(String::as_str).collect();
    let queries = [
        "SELECT r.rolname::text AS r, n.nspname::text AS s, NULL::text AS t, NULL::text AS c, a.privilege_type AS p \
         FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a \
         JOIN pg_roles r ON r.oid = a.grantee WHERE r.rolname = ANY($1)",
        "SELECT r.rolname::text AS r, n.nspname::text AS s, c.relname::text AS t, NULL::text AS c, a.privilege_type AS p \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL aclexplode(c.relacl) a \
         JOIN pg_roles r ON r.oid = a.grantee WHERE r.rolname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        "SELECT r.rolname::text AS r, n.nspname::text AS s, c.relname::text AS t, att.attname::text AS c, a.privilege_type AS p \
         FROM pg_attribute att JOIN pg_class c ON c.oid = att.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN LATERAL aclexplode(att.attacl) a JOIN pg_roles r ON r.oid = a.grantee \
         WHERE att.attacl IS NOT NULL AND r.rolname = ANY($1)",
    ];
    for query in queries {
        let rows = sqlx::query(query)
            .bind(&managed)
            .fetch_all(&mut *conn)
            .await
            .map_err(err)?;
        for row in rows {
            let role: String = row.try_get("r").map_err(err)?;
            let schema: String = row.try_get("s").map_err(err)?;
            let table: Option<String> = row.try_get("t").map_err(err)?;
            let column: Option<String> = row.try_get("c").map_err(err)?;
            let privilege: String = row.try_get("p").map_err(err)?;
            if !schemas.contains(schema.as_str()) {
                continue;
            }
            found.privileges.insert(Privilege::read(
                &role,
                &schema,
                table.as_deref(),
                column.as_deref(),
                &privilege,
            ));
        }
    }
    // Who is a member of a managed role: grantd's memberships, and any added by hand.
    let rows = sqlx::query(
        "SELECT m.rolname::text AS m, g.rolname::text AS g FROM pg_auth_members am \
         JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member \
         WHERE g.rolname = ANY($1)",
    )
    .bind(&managed)
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    for row in rows {
        let member: String = row.try_get("m").map_err(err)?;
        let group: String = row.try_get("g").map_err(err)?;
        found.privileges.insert(Privilege::new(
            &member.as_str().into(),
            On::Role(group.as_str().into()),
            &crate::groups::MEMBER.into(),
        ));
    }
    Ok(found)
}

/// Row-level security on the managed schemas' tables that have it on or hold a policy of
/// grantd's: whether grantd turned it on (its `grantd_all` policy) and its filters (read
/// from each `grantd_f_*` policy's comment).
pub async fn rls(
    conn: &mut PgConnection,
    catalog: &Catalog,
    marker: &str,
) -> Result<BTreeMap<(String, String), TableRls>, SyncError> {
    let rows = sqlx::query(
        "SELECT n.nspname::text AS s, c.relname::text AS t, c.relrowsecurity AS on, \
         p.polname::text AS name, coalesce(obj_description(p.oid, 'pg_policy'), '') AS note \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_policy p ON p.polrelid = c.oid \
         WHERE c.relkind IN ('r', 'p') AND (c.relrowsecurity OR p.polname IS NOT NULL)",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let schemas: BTreeSet<&str> = catalog.schemas.iter().map(String::as_str).collect();
    let mut found: BTreeMap<(String, String), TableRls> = BTreeMap::new();
    for row in rows {
        let schema: String = row.try_get("s").map_err(err)?;
        if !schemas.contains(schema.as_str()) {
            continue;
        }
        let table: String = row.try_get("t").map_err(err)?;
        let entry = found.entry((schema, table)).or_default();
        entry.enabled = row.try_get("on").map_err(err)?;
        let name: Option<String> = row.try_get("name").map_err(err)?;
        let note: String = row.try_get("note").map_err(err)?;
        let Some(name) = name else { continue };
        // Only this source's policies are its own: named by it and noted with its marker.
        let note = serde_json::from_str::<crate::plan::FilterNote>(&note)
            .ok()
            .filter(|n| n.source == marker);
        match note {
            Some(_) if name == crate::plan::everyone_policy(marker) => entry.ours = true,
            Some(n) if name.starts_with("grantd_f_") => {
                entry.filters.insert(n.role, n.filter);
            }
            Some(_) if name.starts_with("grantd_v_") => {}
            _ => entry.others += 1,
        }
    }
    Ok(found)
}

/// Whether `filter` is one boolean expression over `schema.table`'s columns, as the
/// database parses it: prepared, never run.
pub async fn check_row_filter(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
    filter: &str,
) -> Result<(), SyncError> {
    // A policy is on a table, not a view.
    let kind: Option<String> = sqlx::query_scalar(
        "SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relname = $2",
    )
    .bind(schema)
    .bind(table)
    .fetch_optional(&mut *conn)
    .await
    .map_err(err)?;
    match kind.as_deref() {
        Some("r" | "p") => {}
        Some(_) => {
            return Err(SyncError::new(format!(
                "{schema}.{table} is not a table: only a table filters rows"
            )))
        }
        None => {
            return Err(SyncError::new(format!(
                "there is no table {schema}.{table}"
            )))
        }
    }
    // In a WHERE clause, as in a policy: no aggregate, window or set-returning function.
    let sql = format!(
        "SELECT 1 FROM {}.{} WHERE ({filter})::boolean",
        crate::Dialect::Postgres.ident(schema),
        crate::Dialect::Postgres.ident(table)
    );
    sqlx::Executor::prepare(&mut *conn, sql.as_str())
        .await
        .map(|_| ())
        .map_err(|e| SyncError::from_sqlx(e, None))
}

/// Runs the statements in one transaction: all or none. Each is sent alone, as one
/// prepared statement, so none can carry a second.
pub async fn apply(conn: &mut PgConnection, statements: &[String]) -> Result<(), SyncError> {
    let mut tx = conn.begin().await.map_err(err)?;
    // A pass waits for no lock long, and runs no statement long: a table's readers queue
    // behind a lock it waits for.
    for limit in [
        "SET LOCAL lock_timeout = '5s'",
        "SET LOCAL statement_timeout = '60s'",
    ] {
        sqlx::query(limit).execute(&mut *tx).await.map_err(err)?;
    }
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .map_err(|e| SyncError::from_sqlx(e, Some(statement)))?;
    }
    tx.commit().await.map_err(err)
}
