//! The rule of sub-sets, owned here rather than by the DataArts surface that exposes
//! permission sets: every permission of a sub-set lies within one of its parent's ALLOW
//! permissions. It is checked whenever it could break, inside the write that could break
//! it: a permission added to or changed in a sub-set, a parent's permission narrowed or
//! deleted, a sub-set moved under another parent.

use grantd_core::model::{DataPermission, PermissionSet};
use grantd_core::{Invalid, Object};

use super::batch::Batch;
use super::ServiceResult;

impl Batch<'_> {
    /// Refuses `permission` in `set` unless the set's parent (if it has one) covers it.
    pub async fn check_within_parent(
        &mut self,
        set: &PermissionSet,
        permission: &DataPermission,
    ) -> ServiceResult<()> {
        let Some(parent) = &set.parent else {
            return Ok(());
        };
        let Some(parent) = self.get::<PermissionSet>(parent).await? else {
            return Ok(());
        };
        let covered = self
            .holders::<DataPermission>(&parent.object.object_key())
            .await?
            .iter()
            .any(|q| q.object.covers(permission));
        if covered {
            return Ok(());
        }
        Err(Invalid::field(
            "permission_actions",
            format!(
                "a sub-set's permission must lie within its parent's: {} on {} of permission set {} is not allowed by permission set {}",
                permission.actions.join(","),
                permission.path(),
                set.id,
                parent.object.id
            ),
        )
        .into())
    }

    /// Refuses the write under way unless the rule still holds around `set` as this batch
    /// has left it: each of its permissions within its parent's (it may have moved), and
    /// each permission of each of its sub-sets within its own (they may have narrowed).
    pub async fn check_sub_set_rule(&mut self, set: &PermissionSet) -> ServiceResult<()> {
        let key = set.object_key();
        for own in self.holders::<DataPermission>(&key).await? {
            self.check_within_parent(set, &own.object).await?;
        }
        for sub in self.holders::<PermissionSet>(&key).await? {
            if sub.object.parent.as_deref() != Some(set.id.as_str()) {
                continue;
            }
            for p in self
                .holders::<DataPermission>(&sub.object.object_key())
                .await?
            {
                self.check_within_parent(&sub.object, &p.object).await?;
            }
        }
        Ok(())
    }
}
