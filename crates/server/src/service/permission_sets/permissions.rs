//! The data permissions of a set: each is enforced by one grant of its actions on its data
//! path to the set's role, written and removed with it. Changing or removing one narrows
//! the sub-sets below it (`rules`).

use grantd_core::model::{
    DataPermission, Grant, PermissionSet, Privilege, SubjectRef, SubjectType, Target,
};
use grantd_core::{Invalid, Kind, Object, ObjectKey};
use grantd_store::Expect;

use super::set_not_found;
use crate::service::batch::Batch;
use crate::service::derived::DATAARTS_SET;
use crate::service::objects::Versioned;
use crate::service::{ServiceError, ServiceResult};

/// The grant that enforces `p` for the members of `set`.
fn grant_of(set: &PermissionSet, p: &DataPermission) -> Grant {
    Grant {
        id: p.grant_id(),
        subject: SubjectRef {
            subject_type: SubjectType::Role,
            id: set.role(),
        },
        privilege: Privilege::Actions {
            actions: p.grant_actions(),
        },
        target: Target::DataPath { pattern: p.path() },
        effect: p.effect,
        origin: Some(format!("{DATAARTS_SET}{}", set.id)),
        not_before: None,
        expires_at: None,
        row_filter: p.row_level_security.clone(),
    }
}

impl Batch<'_> {
    /// Writes a data permission and its grant; within its set's parent's permissions; a
    /// changed one narrows the sub-sets.
    pub(super) async fn put_data_permission(
        &mut self,
        p: DataPermission,
        expect: Expect,
    ) -> ServiceResult<Versioned<DataPermission>> {
        p.validate()?;
        let set = self
            .get::<PermissionSet>(&p.set)
            .await?
            .ok_or_else(|| ServiceError::NotFound(set_not_found(&p.set)))?
            .object;
        let current = self.get::<DataPermission>(&p.id).await?;
        if current.as_ref().is_some_and(|c| c.object.set != p.set) {
            return Err(Invalid::field(
                "permission_set_id",
                "a data permission cannot move to another permission set",
            )
            .into());
        }
        self.check_within_parent(&set, &p).await?;
        let grant = grant_of(&set, &p);
        self.check_row_filter(&grant).await?;
        let written = self.put_plain(&p, expect).await?;
        self.put_plain(&grant, Expect::Any).await?;
        if current.is_some() {
            self.narrow_sub_sets(&set).await?;
        }
        Ok(written)
    }

    /// Deletes a data permission and its grant, and narrows the sub-sets.
    pub(super) async fn delete_data_permission(
        &mut self,
        id: &str,
        expect: Expect,
    ) -> ServiceResult<Vec<ObjectKey>> {
        let p = self
            .get::<DataPermission>(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("data permission {id}")))?
            .object;
        let mut removed = self.delete_plain(&p.object_key(), expect).await?;
        let grant = ObjectKey::new(Kind::Grant, p.grant_id());
        if self.get::<Grant>(&grant.key).await?.is_some() {
            removed.extend(self.delete_plain(&grant, Expect::Any).await?);
        }
        if let Some(set) = self.get::<PermissionSet>(&p.set).await? {
            self.narrow_sub_sets(&set.object).await?;
        }
        Ok(removed)
    }
}
