//! Writing down that a window ended (a grant's, a membership's, a role assignment's),
//! once, whichever node sees it first. A check never waits for this: windows are decided
//! at the time of each request. The record is for what follows the changes (the watch
//! stream, the audit trail, a synced database): a write of the object as it is, audited as
//! `grant.expired`, `member.expired` or `assignment.expired`.
//!
//! Every node looks for ended windows in its index and calls `record_expiry`; the write
//! happens in the tenant's write transaction, and only when no write of the object came
//! after its end, so that of all the nodes that try, one writes and the others find it
//! written.

use grantd_core::model::{Assignment, Grant, Member, Windowed};
use grantd_core::{Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde_json::json;

use super::{new_id, now_millis, Actor, Ctx, Service, ServiceError, ServiceResult, Versioned};

/// The actor of expiry records in the audit trail.
pub const EXPIRY_ACTOR: &str = "grantd:expiry";

impl Service {
    /// Records that `object`'s window has ended, unless its end has not come, or a write
    /// since its end already tells it. Returns whether this call wrote the record.
    pub async fn record_expiry(&self, tenant: &str, object: &ObjectKey) -> ServiceResult<bool> {
        match object.kind {
            Kind::Grant => self.record_expiry_of::<Grant>(tenant, &object.key).await,
            Kind::Member => self.record_expiry_of::<Member>(tenant, &object.key).await,
            Kind::Assignment => {
                self.record_expiry_of::<Assignment>(tenant, &object.key)
                    .await
            }
            _ => Ok(false),
        }
    }

    async fn record_expiry_of<K: Object + Windowed>(
        &self,
        tenant: &str,
        key: &str,
    ) -> ServiceResult<bool> {
        let due = |object: &Versioned<K>| {
            object
                .object
                .expires_at()
                .is_some_and(|end| end.0 <= now_millis() && object.updated_at < end.0)
        };
        // A read first, without the write lock: most calls find it recorded already.
        match self.get::<K>(tenant, key).await {
            Ok(object) if due(&object) => {}
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
        let Some(object) = batch.get::<K>(key).await? else {
            return Ok(false);
        };
        if !due(&object) {
            return Ok(false);
        }
        let end = object.object.expires_at().map(|e| e.to_rfc3339());
        batch
            .put_plain(&object.object, Expect::Version(object.version))
            .await?;
        let detail = json!({ "expires_at": end });
        let action = format!("{}.expired", K::KIND);
        batch
            .commit(&action, &object.object.object_key(), Some(detail))
            .await?;
        Ok(true)
    }
}
