//! The service layer: every command and query of the model, whatever surface it came from.
//!
//! A command validates its input, runs in one store transaction that writes the rows, the
//! change record and the audit event, and returns the revision it produced. Surfaces call
//! these methods and nothing below them; no rule of the model lives in a surface.

mod audit;
mod audited;
mod batch;
mod catalog;
mod context;
mod data_sources;
mod decisions;
pub mod derived;
mod error;
mod expiry;
mod feed;
mod graph;
mod integrity;
mod invites;
mod labels;
mod memberships;
mod objects;
mod permission_sets;
mod policies;
mod row_filters;
pub mod sealing;
pub mod secret;
mod sessions;
mod sync;
mod tenants;
#[cfg(test)]
mod tests;
mod tokens;
mod transfer;

use std::sync::Arc;

use grantd_store::{AuditEntry, Store, WriteTx};

use crate::index::Indexes;

pub use audit::{ChainBreak, ChainReport};
pub use audited::Deleted;

pub use catalog::direct_permission;
pub use context::{Actor, Ctx};
pub use decisions::Consistency;
pub use error::{ServiceError, ServiceResult, UNAVAILABLE_MESSAGE};
pub use expiry::EXPIRY_ACTOR;
pub use feed::{hide_credential, names_credential, without_credentials, Page};
pub use graph::GraphLimits;
pub use memberships::{Addition, AddressChange, Precondition};
pub use objects::{Versioned, Written};
pub use permission_sets::set_not_found;
pub use policies::{
    policy_of, PolicyChange, PolicyRef, PolicyRequest, Prerequisites, RequestedResource,
};
pub use sync::{PassReport, PermissionSync, SyncStates, SyncStatus, SYNC_ACTOR};
pub use tokens::{IssuedToken, Scope, TokenView};
pub use transfer::{Export, Imported};

/// Now, in milliseconds since the epoch: the instant a request is decided at, and the
/// instant a write's windows are judged against.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A new time-ordered identifier such as `grt_0190...`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// The service: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    /// This node's decision indexes; absent for commands that only write (the CLI).
    indexes: Option<Arc<Indexes>>,
    limits: GraphLimits,
    /// How long a check or lookup waits for the freshness it asked for.
    consistency_timeout: std::time::Duration,
    /// Seals and opens stored secrets; absent, writes that carry one are refused.
    sealer: Option<sealing::Sealer>,
}

/// What `consistency_timeout` is unless configured.
const CONSISTENCY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl Service {
    /// A service that writes but does not decide.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            indexes: None,
            limits: GraphLimits::default(),
            consistency_timeout: CONSISTENCY_TIMEOUT,
            sealer: None,
        }
    }

    /// A service that also decides, from `indexes`.
    pub fn with_indexes(store: Arc<dyn Store>, indexes: Arc<Indexes>) -> Self {
        Self {
            store,
            indexes: Some(indexes),
            limits: GraphLimits::default(),
            consistency_timeout: CONSISTENCY_TIMEOUT,
            sealer: None,
        }
    }

    /// This service, its reads waiting up to `timeout` for the freshness they ask.
    pub fn with_consistency_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.consistency_timeout = timeout;
        self
    }

    /// This service, sealing stored secrets with `sealer`.
    pub fn with_sealer(mut self, sealer: Option<sealing::Sealer>) -> Self {
        self.sealer = sealer;
        self
    }

    /// This service, refusing writes that would grow a graph past `limits`.
    pub fn with_limits(mut self, limits: GraphLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Commits a write transaction and tells this node's index to follow it.
    async fn commit(&self, tx: Box<dyn WriteTx>, audit: AuditEntry) -> ServiceResult<i64> {
        let tenant = tx.tenant().to_string();
        let committed = tx.commit(audit).await?;
        if let Some(indexes) = &self.indexes {
            indexes.committed_here(&tenant, &committed);
        }
        Ok(committed.revision)
    }
}
