//! Permission sets: named bundles of data permissions given to their members, owned here
//! whichever surface writes them (DataArts' permission-set API or the native
//! `/v1/tenants/{tenant}/permission-sets`).
//!
//! A set is enforced through what it derives, written in the same transaction as the set's
//! own objects and by nothing else: its role (`dataarts.ps.<set>`), one grant of that role
//! per data permission, and a role assignment (or, for a role member, an included role) per
//! member. Every write of a set, a data permission or a member, through any command,
//! passes through `Batch::put` and `Batch::delete`, which send these three kinds here. The
//! sub-set rule (a sub-set's permissions lie within its parent's) is in `rules`.

mod members;
mod permissions;
mod rules;

use grantd_core::model::{DataPermission, PermissionSet, Role, SetMember};
use grantd_core::{Invalid, Kind, Object, ObjectKey};
use grantd_store::Expect;

use super::batch::Batch;

use super::objects::{cast, cast_versioned, Versioned};
use super::{Ctx, Service, ServiceError, ServiceResult};

/// How a missing permission set is named in `ServiceError::NotFound`.
pub fn set_not_found(id: &str) -> String {
    format!("permission set {id}")
}

impl Batch<'_> {
    /// Writes `object` with what it derives if it is a set, a data permission or a member;
    /// `None` for the other kinds.
    pub(super) async fn put_owned<K: Object>(
        &mut self,
        object: &K,
        expect: Expect,
    ) -> ServiceResult<Option<Versioned<K>>> {
        let written = match K::KIND {
            Kind::PermissionSet => cast_versioned(self.put_set(cast(object)?, expect).await?)?,
            Kind::DataPermission => {
                cast_versioned(self.put_data_permission(cast(object)?, expect).await?)?
            }
            Kind::SetMember => cast_versioned(self.put_set_member(cast(object)?, expect).await?)?,
            _ => return Ok(None),
        };
        Ok(Some(written))
    }

    /// Deletes `target` with what it derived if it is a set, a data permission or a
    /// member; `None` for the other kinds.
    pub(super) async fn delete_owned(
        &mut self,
        target: &ObjectKey,
        expect: Expect,
    ) -> ServiceResult<Option<Vec<ObjectKey>>> {
        let removed = match target.kind {
            Kind::PermissionSet => self.delete_set(&target.key, expect).await?,
            Kind::DataPermission => self.delete_data_permission(&target.key, expect).await?,
            Kind::SetMember => self.delete_set_member(&target.key, expect).await?,
            _ => return Ok(None),
        };
        Ok(Some(removed))
    }

    /// The set `id`, if it belongs to `workspace` (any workspace when `None`).
    pub(super) async fn require_set(
        &mut self,
        workspace: Option<&str>,
        id: &str,
    ) -> ServiceResult<Versioned<PermissionSet>> {
        match self.get::<PermissionSet>(id).await? {
            Some(set) if workspace.is_none_or(|w| set.object.workspace == w) => Ok(set),
            _ => Err(ServiceError::NotFound(set_not_found(id))),
        }
    }

    /// Writes a set: its role with it when new; its parent in its workspace; after a move,
    /// its permissions within its new parent's.
    async fn put_set(
        &mut self,
        mut set: PermissionSet,
        expect: Expect,
    ) -> ServiceResult<Versioned<PermissionSet>> {
        set.validate()?;
        let current = self.get::<PermissionSet>(&set.id).await?.map(|c| c.object);
        let actor = self.actor().to_string();
        set.update_user = Some(actor.clone());
        set.create_user = current
            .as_ref()
            .map_or(Some(actor), |c| c.create_user.clone());
        if current
            .as_ref()
            .is_some_and(|c| c.workspace != set.workspace)
        {
            return Err(Invalid::field(
                "workspace",
                "a permission set cannot move to another workspace",
            )
            .into());
        }
        if let Some(parent) = &set.parent {
            if self
                .require_set(Some(&set.workspace), parent)
                .await
                .is_err()
            {
                return Err(Invalid::field(
                    "parent_id",
                    format!("permission set {parent} does not exist in this workspace"),
                )
                .into());
            }
        }
        if current.is_none() {
            let role = Role {
                id: set.role(),
                name: Some(format!("Permission set {}", set.name)),
                description: Some(format!(
                    "Holds the data permissions of permission set {}; changed through the set",
                    set.id
                )),
                actions: Vec::new(),
                includes: Vec::new(),
            };
            self.put_plain(&role, Expect::Any).await?;
        }
        let written = self.put_plain(&set, expect).await?;
        if current.is_some_and(|c| c.parent != set.parent) {
            self.check_moved_set(&set).await?;
        }
        Ok(written)
    }

    /// Deletes a set without sub-sets, with its permissions, members and role.
    async fn delete_set(&mut self, id: &str, expect: Expect) -> ServiceResult<Vec<ObjectKey>> {
        let set = self.require_set(None, id).await?.object;
        let key = set.object_key();
        let children: Vec<String> = self
            .holders::<PermissionSet>(&key)
            .await?
            .into_iter()
            .filter(|s| s.object.parent.as_deref() == Some(id))
            .map(|s| s.object.id)
            .collect();
        if !children.is_empty() {
            return Err(ServiceError::Conflict {
                code: "still_referenced",
                message: format!(
                    "permission set {id} has sub-sets ({}); delete them first",
                    children.join(", ")
                ),
            });
        }
        for member in self.holders::<SetMember>(&key).await? {
            self.withdraw(&set, &member.object).await?;
        }
        let mut removed = self.delete_plain(&key, expect).await?;
        let role = ObjectKey::new(Kind::Role, set.role());
        if self.get::<Role>(&role.key).await?.is_some() {
            removed.extend(self.delete_plain(&role, Expect::Any).await?);
        }
        Ok(removed)
    }
}

impl Service {
    /// The set `id`, if it belongs to `workspace` (any workspace when `None`).
    pub async fn permission_set(
        &self,
        tenant: &str,
        workspace: Option<&str>,
        id: &str,
    ) -> ServiceResult<Versioned<PermissionSet>> {
        match self.get::<PermissionSet>(tenant, id).await {
            Ok(set) if workspace.is_none_or(|w| set.object.workspace == w) => Ok(set),
            Ok(_) | Err(ServiceError::NotFound(_)) => {
                Err(ServiceError::NotFound(set_not_found(id)))
            }
            Err(e) => Err(e),
        }
    }

    /// Every set of `workspace` (of every workspace when `None`), in id order.
    pub async fn permission_sets(
        &self,
        tenant: &str,
        workspace: Option<&str>,
    ) -> ServiceResult<Vec<Versioned<PermissionSet>>> {
        let mut sets = self.list_all::<PermissionSet>(tenant, None).await?;
        sets.retain(|s| workspace.is_none_or(|w| s.object.workspace == w));
        Ok(sets)
    }

    /// The data permissions of the set `id` of `workspace`.
    pub async fn set_permissions(
        &self,
        tenant: &str,
        workspace: Option<&str>,
        id: &str,
    ) -> ServiceResult<Vec<Versioned<DataPermission>>> {
        let set = self.permission_set(tenant, workspace, id).await?;
        self.holders(tenant, &set.object.object_key()).await
    }

    /// The members of the set `id` of `workspace`.
    pub async fn set_members(
        &self,
        tenant: &str,
        workspace: Option<&str>,
        id: &str,
    ) -> ServiceResult<Vec<Versioned<SetMember>>> {
        let set = self.permission_set(tenant, workspace, id).await?;
        self.holders(tenant, &set.object.object_key()).await
    }

    /// Adds data permissions to the set `set` of `workspace`, all or none.
    pub async fn add_data_permissions(
        &self,
        ctx: &Ctx,
        workspace: Option<&str>,
        set: &str,
        permissions: Vec<DataPermission>,
    ) -> ServiceResult<Vec<Versioned<DataPermission>>> {
        self.add_to_set(ctx, workspace, set, permissions, |p| &mut p.set)
            .await
    }

    /// Adds members to the set `set` of `workspace`, all or none.
    pub async fn add_set_members(
        &self,
        ctx: &Ctx,
        workspace: Option<&str>,
        set: &str,
        members: Vec<SetMember>,
    ) -> ServiceResult<Vec<Versioned<SetMember>>> {
        self.add_to_set(ctx, workspace, set, members, |m| &mut m.set)
            .await
    }

    async fn add_to_set<K: Object>(
        &self,
        ctx: &Ctx,
        workspace: Option<&str>,
        set: &str,
        items: Vec<K>,
        set_of: fn(&mut K) -> &mut String,
    ) -> ServiceResult<Vec<Versioned<K>>> {
        let mut batch = self.batch(ctx).await?;
        let set = batch.require_set(workspace, set).await?.object;
        let mut written = Vec::new();
        for mut item in items {
            *set_of(&mut item) = set.id.clone();
            written.push(batch.put(&item, Expect::Absent).await?);
        }
        let action = format!("permission_set.{}.add", K::KIND);
        batch.commit(&action, &set.object_key(), None).await?;
        Ok(written)
    }

    /// Removes the data permissions `ids` of the set `set` of `workspace`, all or none.
    pub async fn remove_data_permissions(
        &self,
        ctx: &Ctx,
        workspace: Option<&str>,
        set: &str,
        ids: &[String],
    ) -> ServiceResult<i64> {
        self.remove_from_set::<DataPermission>(ctx, workspace, set, ids, |p| &p.set)
            .await
    }

    /// Removes the member records `ids` of the set `set` of `workspace`, all or none.
    pub async fn remove_set_members(
        &self,
        ctx: &Ctx,
        workspace: Option<&str>,
        set: &str,
        ids: &[String],
    ) -> ServiceResult<i64> {
        self.remove_from_set::<SetMember>(ctx, workspace, set, ids, |m| &m.set)
            .await
    }

    async fn remove_from_set<K: Object>(
        &self,
        ctx: &Ctx,
        workspace: Option<&str>,
        set: &str,
        ids: &[String],
        set_of: fn(&K) -> &String,
    ) -> ServiceResult<i64> {
        let mut batch = self.batch(ctx).await?;
        let set = batch.require_set(workspace, set).await?.object;
        for id in ids {
            match batch.get::<K>(id).await? {
                Some(item) if *set_of(&item.object) == set.id => {
                    batch.delete(&item.object.object_key()).await?;
                }
                _ => {
                    return Err(ServiceError::NotFound(format!(
                        "{} {id} of permission set {}",
                        K::KIND.as_str().replace('_', " "),
                        set.id
                    )))
                }
            }
        }
        let action = format!("permission_set.{}.delete", K::KIND);
        batch.commit(&action, &set.object_key(), None).await
    }
}
