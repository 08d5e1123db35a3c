//! Turning rows into records, and the statements shared by reads inside and outside a
//! transaction.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{ListQuery, ObjectText, RefHolder, Result, StoredObject, TenantHead, TokenRecord};

pub const OBJECT_COLUMNS: &str = "kind, key, version, body, created_at, updated_at";

pub fn object(row: &AnyRow) -> Result<StoredObject> {
    let body: String = row.try_get("body")?;
    Ok(StoredObject {
        kind: row.try_get("kind")?,
        key: row.try_get("key")?,
        version: row.try_get("version")?,
        body: serde_json::from_str(&body)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub fn tenant_head(row: &AnyRow) -> Result<TenantHead> {
    Ok(TenantHead {
        revision: row.try_get("revision")?,
        incarnation: row.try_get("incarnation")?,
    })
}

pub fn token(row: &AnyRow) -> Result<TokenRecord> {
    let scopes: String = row.try_get("scopes")?;
    Ok(TokenRecord {
        id: row.try_get("id")?,
        tenant: row.try_get("tenant")?,
        hash: row.try_get("hash")?,
        scopes: scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        signing_key: row.try_get("signing_key")?,
    })
}

/// The columns `token` reads.
pub const TOKEN_COLUMNS: &str = "id, tenant, hash, scopes, name, created_at, signing_key";

pub async fn get_object<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    tenant: &str,
    kind: &str,
    key: &str,
) -> Result<Option<StoredObject>> {
    let sql = format!(
        "SELECT {OBJECT_COLUMNS} FROM objects WHERE tenant = $1 AND kind = $2 AND key = $3"
    );
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(kind)
        .bind(key)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(object).transpose()
}

/// The objects holding a reference to `target`, ordered by kind, key and field.
pub async fn referencing<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    tenant: &str,
    target: &str,
) -> Result<Vec<RefHolder>> {
    let found = sqlx::query(
        "SELECT kind, key, field, cascade_delete FROM object_refs \
         WHERE tenant = $1 AND target = $2 ORDER BY kind, key, field",
    )
    .bind(tenant)
    .bind(target)
    .fetch_all(executor)
    .await?;
    found
        .iter()
        .map(|row| {
            Ok(RefHolder {
                kind: row.try_get("kind")?,
                key: row.try_get("key")?,
                field: row.try_get("field")?,
                cascade: row.try_get::<i64, _>("cascade_delete")? != 0,
            })
        })
        .collect()
}

/// The smallest string greater than every string starting with `prefix`, for a range scan.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(last as u32 + 1) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Objects of `kind` in key order, within `tenant` (or across every tenant when `None`,
/// which only the operator's tenant listing does).
pub async fn list_objects<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    tenant: Option<&str>,
    kind: &str,
    query: &ListQuery,
) -> Result<Vec<StoredObject>> {
    let rows = list_rows(executor, tenant, kind, query, OBJECT_COLUMNS).await?;
    rows.iter().map(object).collect()
}

/// Objects of `kind` in key order within `tenant`, their documents unparsed.
pub async fn list_texts<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    tenant: &str,
    kind: &str,
    query: &ListQuery,
) -> Result<Vec<ObjectText>> {
    let rows = list_rows(executor, Some(tenant), kind, query, "key, body").await?;
    rows.iter()
        .map(|row| {
            Ok(ObjectText {
                key: row.try_get("key")?,
                body: row.try_get("body")?,
            })
        })
        .collect()
}

/// The rows of a page of objects of `kind`, with `columns`.
async fn list_rows<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    tenant: Option<&str>,
    kind: &str,
    query: &ListQuery,
    columns: &str,
) -> Result<Vec<AnyRow>> {
    let prefix = query.prefix.clone().unwrap_or_default();
    let (start, strict) = match &query.after {
        Some(after) if *after >= prefix => (after.clone(), true),
        _ => (prefix.clone(), false),
    };
    let end = prefix_end(&prefix).unwrap_or_else(|| char::MAX.to_string());
    let sql = format!(
        "SELECT {columns} FROM objects WHERE kind = $1 AND key {} $2 AND key < $3 {} \
         ORDER BY key LIMIT $4",
        if strict { ">" } else { ">=" },
        if tenant.is_some() {
            "AND tenant = $5"
        } else {
            ""
        },
    );
    let mut statement = sqlx::query(&sql)
        .bind(kind)
        .bind(start)
        .bind(end)
        .bind(i64::from(query.limit));
    if let Some(tenant) = tenant {
        statement = statement.bind(tenant);
    }
    Ok(statement.fetch_all(executor).await?)
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_bounds_the_prefix() {
        assert_eq!(prefix_end("g1/").as_deref(), Some("g10"));
        assert_eq!(prefix_end("").as_deref(), None);
    }
}
