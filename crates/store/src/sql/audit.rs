//! The audit trail's reads and its pruning: events filtered by actor, target, mention and
//! time; the floor below which a tenant's events were pruned.

use std::time::Instant;

use sqlx::Row;

use super::owned_tx::OwnedTx;
use super::{like_pattern, observe, SqlStore};
use crate::{AuditEntry, AuditFilter, AuditRecord, Result, StoreError};

impl SqlStore {
    pub(super) async fn audit_page(
        &self,
        tenant: &str,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRecord>> {
        let started = Instant::now();
        let mut sql = String::from(
            "SELECT revision, at, actor, action, target, request_id, client_addr, detail, \
             prev_hash, hash FROM audit_events WHERE tenant = $1 AND revision > $2",
        );
        let mut texts = Vec::new();
        let mut numbers = Vec::new();
        for (column, value) in [("actor", &filter.actor), ("target", &filter.target)] {
            if let Some(value) = value {
                texts.push(value.clone());
                sql.push_str(&format!(" AND {column} = ${}", 2 + texts.len()));
            }
        }
        for mention in &filter.mentions {
            texts.push(like_pattern(mention));
            let n = 2 + texts.len();
            sql.push_str(&format!(
                " AND (LOWER(target) LIKE ${n} ESCAPE '\\' \
                 OR LOWER(COALESCE(detail, '')) LIKE ${n} ESCAPE '\\')"
            ));
        }
        for (condition, value) in [("at >=", filter.from), ("at <", filter.to)] {
            if let Some(value) = value {
                numbers.push(value);
                sql.push_str(&format!(
                    " AND {condition} ${}",
                    2 + texts.len() + numbers.len()
                ));
            }
        }
        sql.push_str(&format!(
            " ORDER BY revision LIMIT ${}",
            3 + texts.len() + numbers.len()
        ));
        let mut statement = sqlx::query(&sql).bind(tenant).bind(filter.after);
        for text in texts {
            statement = statement.bind(text);
        }
        for number in numbers {
            statement = statement.bind(number);
        }
        let found = statement
            .bind(i64::from(filter.limit))
            .fetch_all(self.pool()?)
            .await?;
        observe("list_audit", started);
        found
            .iter()
            .map(|row| {
                let detail: Option<String> = row.try_get("detail")?;
                Ok(AuditRecord {
                    revision: row.try_get("revision")?,
                    at: row.try_get("at")?,
                    entry: AuditEntry {
                        actor: row.try_get("actor")?,
                        action: row.try_get("action")?,
                        target: row.try_get("target")?,
                        request_id: row.try_get("request_id")?,
                        client_addr: row.try_get("client_addr")?,
                        detail: detail.map(|d| serde_json::from_str(&d)).transpose()?,
                    },
                    prev_hash: row.try_get("prev_hash")?,
                    hash: row.try_get("hash")?,
                })
            })
            .collect()
    }

    pub(super) async fn floor_of_audit(&self, tenant: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT audit_floor FROM tenants WHERE id = $1")
            .bind(tenant)
            .fetch_optional(self.pool()?)
            .await?;
        Ok(row.map(|r| r.try_get("audit_floor")).transpose()?)
    }

    pub(super) async fn prune_audit_before(&self, tenant: &str, before: i64) -> Result<u64> {
        let mut tx = OwnedTx::begin(self.pool()?, self.gate.enter().await).await?;
        // The tenant row's lock keeps writers out while the floor moves.
        let Some(row) = sqlx::query(
            "UPDATE tenants SET audit_floor = audit_floor WHERE id = $1 RETURNING revision",
        )
        .bind(tenant)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Err(StoreError::NotFound);
        };
        let latest: i64 = row.try_get("revision")?;
        let pruned =
            sqlx::query("DELETE FROM audit_events WHERE tenant = $1 AND at < $2 AND revision < $3")
                .bind(tenant)
                .bind(before)
                .bind(latest)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        sqlx::query(
            "UPDATE tenants SET audit_floor = \
             (SELECT COALESCE(MIN(revision), $2) FROM audit_events WHERE tenant = $1) \
             WHERE id = $1",
        )
        .bind(tenant)
        .bind(latest)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(pruned)
    }
}
