//! The audit trail's integrity: each tenant's events form a hash chain (each names the hash
//! of the one before), so a changed, removed or reordered event shows. Verification walks
//! the chain from the tenant's floor (the first event kept after pruning) to its latest
//! revision; pruning old events moves the floor without breaking what remains.

use grantd_store::{chain_hash, AuditFilter, AuditRecord};

use super::{Service, ServiceError, ServiceResult};

const PAGE: u32 = 1000;

/// A chain that holds: how many events, from which revision to which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub events: u64,
    pub first: i64,
    pub last: i64,
    /// The last event's hash: keep it elsewhere to anchor later verifications.
    pub head: String,
}

/// Where and why a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the audit trail breaks at revision {revision}: {reason}")]
pub struct ChainBreak {
    pub revision: i64,
    pub reason: String,
}

impl Service {
    /// Every audit event of the tenant from its floor, in revision order, `PAGE` at a time.
    pub async fn audit_chain(
        &self,
        tenant: &str,
        mut visit: impl FnMut(&AuditRecord) -> Result<(), ChainBreak>,
    ) -> ServiceResult<Result<(), ChainBreak>> {
        let mut filter = AuditFilter {
            limit: PAGE,
            ..AuditFilter::default()
        };
        loop {
            let page = self.store.list_audit(tenant, &filter).await?;
            for record in &page {
                if let Err(broken) = visit(record) {
                    return Ok(Err(broken));
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => filter.after = last.revision,
                _ => return Ok(Ok(())),
            }
        }
    }

    /// Checks the tenant's audit chain: consecutive revisions from the floor to the latest,
    /// each event's hash recomputed, each naming its predecessor's.
    pub async fn verify_audit(
        &self,
        tenant: &str,
    ) -> ServiceResult<Result<ChainReport, ChainBreak>> {
        let what = format!("tenant {tenant}");
        let floor = self
            .store
            .audit_floor(tenant)
            .await?
            .ok_or_else(|| ServiceError::NotFound(what.clone()))?;
        let latest = self
            .store
            .tenant_revision(tenant)
            .await?
            .ok_or(ServiceError::NotFound(what))?;
        let mut expected = floor;
        let mut previous: Option<String> = None;
        let mut events = 0u64;
        let walked = self
            .audit_chain(tenant, |record| {
                let broken = |reason: String| ChainBreak {
                    revision: record.revision,
                    reason,
                };
                if record.revision != expected {
                    return Err(broken(format!(
                        "expected revision {expected} next: an event is missing or out of place"
                    )));
                }
                let (Some(prev), Some(hash)) = (&record.prev_hash, &record.hash) else {
                    return Err(broken("the event carries no hash".into()));
                };
                match &previous {
                    Some(p) if p != prev => {
                        return Err(broken(
                            "it does not name the previous event's hash: one was changed, removed or reordered".into(),
                        ))
                    }
                    None if floor == 1 && !prev.is_empty() => {
                        return Err(broken("the first event names a predecessor".into()))
                    }
                    _ => {}
                }
                if chain_hash(tenant, record.revision, record.at, &record.entry, prev) != *hash {
                    return Err(broken("its content does not match its hash: it was changed".into()));
                }
                previous = Some(hash.clone());
                expected += 1;
                events += 1;
                Ok(())
            })
            .await?;
        if let Err(broken) = walked {
            return Ok(Err(broken));
        }
        if expected != latest + 1 {
            return Ok(Err(ChainBreak {
                revision: expected,
                reason: format!("the trail ends before the tenant's latest revision {latest}"),
            }));
        }
        Ok(Ok(ChainReport {
            events,
            first: floor,
            last: latest,
            head: previous.unwrap_or_default(),
        }))
    }

    /// Deletes every tenant's audit events older than `before` (ms), keeping each tenant's
    /// latest; returns how many went.
    pub async fn prune_audit(&self, before: i64) -> ServiceResult<u64> {
        let mut pruned = 0;
        for (tenant, _) in self.store.tenant_heads().await? {
            match self.store.prune_audit(&tenant, before).await {
                Ok(n) => pruned += n,
                Err(grantd_store::StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(pruned)
    }
}
