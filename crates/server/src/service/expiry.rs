//! Writing down that a grant's window ended, once, whichever node sees it first. A check
//! never waits for this: windows are decided at the time of each request. The record is
//! for what follows the changes (the watch stream, the audit trail, a synced database):
//! a write of the grant as it is, audited as `grant.expired`.
//!
//! Every node looks for ended windows in its index and calls `record_expiry`; the write
//! happens in the tenant's write transaction, and only when no write of the grant came
//! after its end, so that of all the nodes that try, one writes and the others find it
//! written.

use grantd_core::model::Grant;
use grantd_core::Object;
use grantd_store::Expect;
use serde_json::json;

use super::{new_id, now_millis, Actor, Ctx, Service, ServiceError, ServiceResult};

/// The actor of expiry records in the audit trail.
pub const EXPIRY_ACTOR: &str = "grantd:expiry";

impl Service {
    /// Records that grant `id`'s window has ended, unless its end has not come, or a write
    /// since its end already tells it. Returns whether this call wrote the record.
    pub async fn record_expiry(&self, tenant: &str, id: &str) -> ServiceResult<bool> {
        let due = |grant: &super::Versioned<Grant>| {
            grant
                .object
                .expires_at
                .is_some_and(|end| end.0 <= now_millis() && grant.updated_at < end.0)
        };
        // A read first, without the write lock: most calls find it recorded already.
        match self.get::<Grant>(tenant, id).await {
            Ok(grant) if due(&grant) => {}
            Ok(_) | Err(ServiceError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        }
        let ctx = Ctx {
            tenant: tenant.to_string(),
            actor: Actor {
                name: EXPIRY_ACTOR.into(),
                request_id: new_id("exp"),
                client_addr: None,
            },
        };
        let mut batch = self.batch(&ctx).await?;
        let Some(grant) = batch.get::<Grant>(id).await? else {
            return Ok(false);
        };
        if !due(&grant) {
            return Ok(false);
        }
        let end = grant.object.expires_at.map(|e| e.to_rfc3339());
        batch
            .put_plain(&grant.object, Expect::Version(grant.version))
            .await?;
        let detail = json!({ "expires_at": end });
        batch
            .commit("grant.expired", &grant.object.object_key(), Some(detail))
            .await?;
        Ok(true)
    }
}
