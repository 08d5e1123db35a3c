//! Pages, and the tenant's change feed and audit trail as queries.

use std::sync::Arc;

use grantd_store::{AuditFilter, AuditRecord, ChangeOp, ChangeRecord};

use super::{Service, ServiceError, ServiceResult};
use crate::index::TenantIndex;

/// One page of a list, with the position after its last item when more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The key or revision of the last item, when another page follows.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says another page follows.
    pub fn from_overfetch<R, E>(
        mut rows: Vec<R>,
        limit: u32,
        position: impl Fn(&R) -> String,
        convert: impl Fn(R) -> Result<T, E>,
    ) -> Result<Page<T>, E> {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more {
            rows.last().map(&position)
        } else {
            None
        };
        let items = rows.into_iter().map(convert).collect::<Result<_, E>>()?;
        Ok(Page { items, next })
    }
}

/// The kind of the tenant's tokens and access keys in the change feed, and in the targets
/// of their audit events (`token:<id>`).
pub const CREDENTIAL_KIND: &str = "token";

/// What an audit event on a credential names as its target for a caller below `admin`.
pub const HIDDEN_CREDENTIAL: &str = "token:hidden";

/// A change as a caller below the `admin` scope sees it: without the puts and deletes of
/// the tenant's tokens and access keys (their ids, names and scopes are for admins, as in
/// `GET /tokens`). Its revision and time stay, its ops possibly empty, so that the feed
/// shows no gap.
pub fn without_credentials(mut change: ChangeRecord) -> ChangeRecord {
    change.ops.retain(|op| match op {
        ChangeOp::Put { kind, .. } | ChangeOp::Delete { kind, .. } => kind != CREDENTIAL_KIND,
    });
    change
}

/// Whether an audit event's target (`kind:key`) is a token or access key.
pub fn names_credential(target: &str) -> bool {
    target
        .split_once(':')
        .is_some_and(|(kind, _)| kind == CREDENTIAL_KIND)
}

/// An audit event as a caller below the `admin` scope sees it: one on a token or access
/// key keeps its revision, time, actor and action, but names no credential (its target
/// is `token:hidden`) and has no detail.
pub fn hide_credential(record: &mut AuditRecord) {
    if names_credential(&record.entry.target) {
        record.entry.target = HIDDEN_CREDENTIAL.into();
        record.entry.detail = None;
    }
}

impl Service {
    /// Changes after revision `after`, in revision order.
    pub async fn changes(
        &self,
        tenant: &str,
        after: i64,
        limit: u32,
    ) -> ServiceResult<Page<ChangeRecord>> {
        let rows = self.store.list_changes(tenant, after, limit + 1).await?;
        Page::from_overfetch(rows, limit, |c| c.revision.to_string(), Ok)
    }

    /// This node's index of the tenant, whose applied changes a stream follows.
    pub fn tenant_index(&self, tenant: &str) -> Option<Arc<TenantIndex>> {
        self.indexes.as_ref()?.tenant(tenant)
    }

    /// Up to `limit` changes after `after` and none past `up_to`, of one incarnation of the
    /// tenant: `NotFound` once the tenant is not that incarnation any more (deleted, or
    /// deleted and created again), so that a stream of the old never reads the new.
    pub async fn changes_of(
        &self,
        tenant: &str,
        incarnation: i64,
        after: i64,
        up_to: i64,
        limit: u32,
    ) -> ServiceResult<Vec<ChangeRecord>> {
        let rows = self.store.list_changes(tenant, after, limit).await?;
        // Incarnations never repeat: the same one after the read means the same tenant
        // throughout it.
        match self.store.tenant_head(tenant).await? {
            Some(head) if head.incarnation == incarnation => {
                Ok(rows.into_iter().filter(|c| c.revision <= up_to).collect())
            }
            _ => Err(ServiceError::NotFound(format!("tenant {tenant}"))),
        }
    }

    /// Audit events matching the filter, in revision order, `filter.limit` at a time.
    pub async fn audit_events(
        &self,
        tenant: &str,
        filter: &AuditFilter,
    ) -> ServiceResult<Page<AuditRecord>> {
        let overfetch = AuditFilter {
            limit: filter.limit + 1,
            ..filter.clone()
        };
        let rows = self.store.list_audit(tenant, &overfetch).await?;
        Page::from_overfetch(rows, filter.limit, |e| e.revision.to_string(), Ok)
    }

    /// The tenant's latest revision, or `None` if there is no such tenant.
    pub async fn revision(&self, tenant: &str) -> ServiceResult<Option<i64>> {
        Ok(self.store.tenant_revision(tenant).await?)
    }

    /// Whether the tenant exists: known to this node's index (no database round trip, so
    /// that checks go on while the database is away), or else to the store.
    pub async fn tenant_exists(&self, tenant: &str) -> ServiceResult<bool> {
        let indexed = self
            .indexes
            .as_ref()
            .is_some_and(|indexes| indexes.tenant(tenant).is_some());
        Ok(indexed || self.revision(tenant).await?.is_some())
    }
}
