//! Decisions: the snapshot a check or lookup reads, as fresh as the request asks. The
//! checks themselves are the core's (`grantd_core::decision`); this picks the snapshot.

use std::sync::Arc;
use std::time::Duration;

use grantd_core::decision::Snapshot;

use super::{Service, ServiceError, ServiceResult};
use crate::index::FreshnessError;

/// How fresh the snapshot behind a check or lookup must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Whatever this node has applied: the fastest.
    MinimizeLatency,
    /// At least this revision (a write's `Grantd-Revision`): sees that write.
    AtLeastAsFresh(i64),
    /// Every write committed before the request: costs one read of the store.
    FullyConsistent,
}

impl Service {
    /// The tenant's snapshot, as fresh as `consistency` asks, waiting up to the configured
    /// consistency timeout: the one freshness policy of every surface.
    pub async fn snapshot(
        &self,
        tenant: &str,
        consistency: Consistency,
    ) -> ServiceResult<Arc<Snapshot>> {
        self.snapshot_within(tenant, consistency, self.consistency_timeout)
            .await
    }

    /// The same, waiting up to `timeout`: for a wire that lets the client say how long
    /// (SlashID's `SlashID-Required-Consistency-Timeout`).
    pub async fn snapshot_within(
        &self,
        tenant: &str,
        consistency: Consistency,
        timeout: Duration,
    ) -> ServiceResult<Arc<Snapshot>> {
        let indexes = self
            .indexes
            .as_ref()
            .ok_or_else(|| ServiceError::Internal("this service has no decision index".into()))?;
        let found = match consistency {
            Consistency::MinimizeLatency => match indexes.tenant(tenant) {
                Some(index) => return Ok(index.snapshot()),
                // A tenant created a moment ago: wait for its first snapshot.
                None => indexes.at_least(tenant, 1, timeout).await,
            },
            Consistency::AtLeastAsFresh(revision) => {
                indexes.at_least(tenant, revision, timeout).await
            }
            Consistency::FullyConsistent => indexes.latest(tenant, timeout).await,
        };
        found.map_err(|e| match e {
            FreshnessError::NoTenant(t) => ServiceError::NotFound(format!("tenant {t}")),
            stale @ FreshnessError::Timeout { .. } => ServiceError::Stale(stale.to_string()),
            future @ FreshnessError::Future { .. } => {
                ServiceError::Invalid(grantd_core::Invalid::field(
                    "consistency.revision",
                    format!("{future}; pass the Grantd-Revision of a write"),
                ))
            }
        })
    }
}
