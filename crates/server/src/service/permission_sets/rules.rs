//! The rule of sub-sets, owned here rather than by the DataArts surface that exposes
//! permission sets: every permission of a sub-set lies within one of its parent's ALLOW
//! permissions. It holds after every write that could break it, inside that write: a
//! permission added to or changed in a sub-set, or a sub-set moved under another parent,
//! is refused if its parent does not cover it; a parent's permission narrowed or deleted
//! takes with it (reconciled, not refused, as DataArts' own API does) the sub-sets'
//! permissions, and their grants, that it no longer covers, down the tree.

use grantd_core::model::{DataPermission, PermissionSet};
use grantd_core::{Invalid, Kind, Object, ObjectKey};

use grantd_store::Expect;

use crate::service::batch::Batch;
use crate::service::ServiceResult;

impl Batch<'_> {
    /// Refuses `permission` in `set` unless the set's parent (if it has one) covers it.
    pub(super) async fn check_within_parent(
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

    /// Refuses the write under way unless each of `set`'s permissions lies within its
    /// parent's: after a move.
    pub(super) async fn check_moved_set(&mut self, set: &PermissionSet) -> ServiceResult<()> {
        for own in self.holders::<DataPermission>(&set.object_key()).await? {
            self.check_within_parent(set, &own.object).await?;
        }
        Ok(())
    }

    /// After `set`'s permissions narrowed or went: deletes, with their grants, the
    /// permissions of its sub-sets (and theirs, down the tree) that what is left no longer
    /// covers. Returns the ids of the permissions deleted.
    pub(super) async fn narrow_sub_sets(
        &mut self,
        set: &PermissionSet,
    ) -> ServiceResult<Vec<String>> {
        let mut removed = Vec::new();
        let mut parents = vec![set.clone()];
        while let Some(parent) = parents.pop() {
            let key = parent.object_key();
            let covering: Vec<DataPermission> = self
                .holders::<DataPermission>(&key)
                .await?
                .into_iter()
                .map(|p| p.object)
                .collect();
            for sub in self.holders::<PermissionSet>(&key).await? {
                if sub.object.parent.as_deref() != Some(parent.id.as_str()) {
                    continue;
                }
                for p in self
                    .holders::<DataPermission>(&sub.object.object_key())
                    .await?
                {
                    if covering.iter().any(|q| q.covers(&p.object)) {
                        continue;
                    }
                    let grant = ObjectKey::new(Kind::Grant, p.object.grant_id());
                    if self
                        .get::<grantd_core::model::Grant>(&grant.key)
                        .await?
                        .is_some()
                    {
                        self.delete_plain(&grant, Expect::Any).await?;
                    }
                    self.delete_plain(&p.object.object_key(), Expect::Any)
                        .await?;
                    removed.push(p.object.id);
                }
                parents.push(sub.object);
            }
        }
        Ok(removed)
    }
}
