//! A grant's row filter is accepted only once the database that would enforce it takes it:
//! for each data source the grant's pattern lies under, PostgreSQL parses it as one boolean
//! expression over the named table (prepared, never run); MariaDB, which has no row-level
//! security, refuses it.

use std::time::Duration;

use grantd_core::model::{DataSource, Grant, SourceKind, Target};
use grantd_core::Invalid;
use grantd_sync::{Connection, Dialect};

use super::batch::Batch;
use super::ServiceResult;

/// Longest a write waits for a data source to check a row filter.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

impl Batch<'_> {
    /// Refuses `grant`'s row filter if a data source it reaches cannot enforce it; a filter
    /// already stored on the same target is not checked again.
    pub(super) async fn check_row_filter(&mut self, grant: &Grant) -> ServiceResult<()> {
        let (Some(filter), Target::DataPath { pattern }) = (&grant.row_filter, &grant.target)
        else {
            return Ok(());
        };
        if grantd_core::ids::row_filter(filter).is_err() {
            // Not one expression: validation refuses it, before any database sees it.
            return Ok(());
        }
        if let Some(stored) = self.get::<Grant>(&grant.id).await? {
            if stored.object.row_filter == grant.row_filter && stored.object.target == grant.target
            {
                return Ok(());
            }
        }
        let refuse = |message: String| Err(Invalid::field("row_filter", message).into());
        for source in self.list::<DataSource>(None).await? {
            let source = source.object;
            let roots = source.roots();
            let Some(tail) = roots
                .iter()
                .find_map(|r| pattern.strip_prefix(&format!("{r}/")))
            else {
                continue;
            };
            if source.kind == SourceKind::Mysql {
                return refuse(format!(
                    "data source {} is MariaDB or MySQL, which has no row-level security: it cannot enforce a row filter",
                    source.id
                ));
            }
            let parts: Vec<&str> = tail.split('/').collect();
            let [database, schema, table] = parts[..] else {
                return refuse(
                    "a row filter is on one table: <source>/<database>/<schema>/<table>".into(),
                );
            };
            if [database, schema, table].contains(&"*") {
                return refuse("a row filter is on one table, not a pattern with *".into());
            }
            let password = self
                .service()
                .data_source_password(self.tenant(), &source)?;
            let checked = tokio::time::timeout(CHECK_TIMEOUT, async {
                let mut conn =
                    Connection::open(Dialect::Postgres, &source.url, password.as_deref()).await?;
                let base = conn.base().await?;
                let outcome = if base.trim_start_matches('/') != database {
                    Err(grantd_sync::SyncError::new(format!(
                        "the source is connected to database {}, not {database}",
                        base.trim_start_matches('/')
                    )))
                } else {
                    conn.check_row_filter(schema, table, filter).await
                };
                conn.close().await;
                outcome
            })
            .await;
            match checked {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    return refuse(format!("data source {}: {}", source.id, error.message))
                }
                Err(_) => {
                    return refuse(format!(
                        "data source {} did not answer within 5 s to check it; try again",
                        source.id
                    ))
                }
            }
        }
        Ok(())
    }
}
