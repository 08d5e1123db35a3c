//! Writes recorded under a surface's own name for them: the same commands as in
//! `objects`, with the audit event's action and detail given by the caller (a compatible
//! surface records the events its own audit log shows, computed from what the write did).

use grantd_core::{Object, ObjectKey};
use grantd_store::Expect;
use serde_json::Value;

use super::objects::{describe, Versioned};
use super::{derived, Ctx, Service, ServiceError, ServiceResult};

/// An object a command deleted: its key and its body as it was.
pub struct Deleted {
    pub key: ObjectKey,
    pub body: Value,
    /// What went with it by cascade.
    pub cascaded: Vec<ObjectKey>,
}

impl Service {
    /// Writes `object` if `expect` holds, audited as `action` with `detail`; an object a
    /// surface owns is refused as in `put`.
    pub async fn put_audited<K: Object>(
        &self,
        ctx: &Ctx,
        object: &K,
        expect: Expect,
        action: &str,
        detail: Option<Value>,
    ) -> ServiceResult<Versioned<K>> {
        let target = object.object_key();
        let body = serde_json::to_value(object)
            .map_err(|e| ServiceError::Internal(format!("cannot encode {target}: {e}")))?;
        let mut batch = self.batch(ctx).await?;
        let stored = batch.stored(&target).await?;
        derived::refuse_derived(K::KIND, &describe(&target), stored.as_ref(), Some(&body))?;
        let written = batch.put(object, expect).await?;
        batch.commit(action, &target, detail).await?;
        Ok(written)
    }

    /// Deletes every object of `targets` (each must exist) with what cascades from each,
    /// all or none, audited as `action` on `audit_target` with the detail `detail` makes
    /// of what was deleted. Returns the revision.
    pub async fn delete_all(
        &self,
        ctx: &Ctx,
        targets: &[ObjectKey],
        action: &str,
        audit_target: &ObjectKey,
        detail: impl FnOnce(&[Deleted]) -> Option<Value>,
    ) -> ServiceResult<i64> {
        let mut batch = self.batch(ctx).await?;
        let mut deleted = Vec::new();
        for key in targets {
            let what = describe(key);
            let body = batch
                .stored(key)
                .await?
                .ok_or_else(|| ServiceError::NotFound(what.clone()))?;
            derived::refuse_derived(key.kind, &what, Some(&body), None)?;
            let mut removed = batch.delete(key).await?;
            removed.retain(|k| k != key);
            deleted.push(Deleted {
                key: key.clone(),
                body,
                cascaded: removed,
            });
        }
        let detail = detail(&deleted);
        batch.commit(action, audit_target, detail).await
    }
}
