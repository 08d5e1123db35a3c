//! The members of a set: a user or group holds the set's role through a role assignment;
//! a role member includes the set's role, so its holders get it. Removing a member takes
//! that away in the same write.

use grantd_core::model::{Assignment, Group, PermissionSet, Role, SetMember, SubjectType, User};
use grantd_core::{Invalid, Object, ObjectKey};
use grantd_store::Expect;

use super::set_not_found;
use crate::service::batch::Batch;
use crate::service::objects::Versioned;
use crate::service::{ServiceError, ServiceResult};

impl Batch<'_> {
    /// Writes a member record and gives its subject the set's role.
    pub(super) async fn put_set_member(
        &mut self,
        mut member: SetMember,
        expect: Expect,
    ) -> ServiceResult<Versioned<SetMember>> {
        member.validate()?;
        let set = self
            .get::<PermissionSet>(&member.set)
            .await?
            .ok_or_else(|| ServiceError::NotFound(set_not_found(&member.set)))?
            .object;
        let current = self.get::<SetMember>(&member.id).await?.map(|c| c.object);
        if current.as_ref().is_some_and(|c| c.set != member.set) {
            return Err(Invalid::field(
                "permission_set_id",
                "a member cannot move to another permission set",
            )
            .into());
        }
        let subject = &member.member;
        let exists = match subject.subject_type {
            SubjectType::User => self.get::<User>(&subject.id).await?.is_some(),
            SubjectType::Group => self.get::<Group>(&subject.id).await?.is_some(),
            SubjectType::Role => self.get::<Role>(&subject.id).await?.is_some(),
        };
        if !exists {
            return Err(Invalid::field(
                "member_id",
                format!("no {} {} exists", subject.subject_type.as_str(), subject.id),
            )
            .into());
        }
        let already = self
            .holders::<SetMember>(&set.object_key())
            .await?
            .into_iter()
            .any(|m| m.object.id != member.id && m.object.member == member.member);
        if already {
            return Err(ServiceError::Conflict {
                code: "already_exists",
                message: format!(
                    "{} {} is already a member of permission set {}",
                    subject.subject_type.as_str(),
                    subject.id,
                    set.id
                ),
            });
        }
        member.create_user = current
            .as_ref()
            .map_or_else(|| Some(self.actor().to_string()), |c| c.create_user.clone());
        if let Some(old) = current.filter(|c| c.member != member.member) {
            self.withdraw(&set, &old).await?;
        }
        self.enlist(&set, &member).await?;
        self.touch_set(set).await?;
        self.put_plain(&member, expect).await
    }

    /// Deletes a member record and takes the set's role from its subject.
    pub(super) async fn delete_set_member(
        &mut self,
        id: &str,
        expect: Expect,
    ) -> ServiceResult<Vec<ObjectKey>> {
        let member = self
            .get::<SetMember>(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("member {id}")))?
            .object;
        if let Some(set) = self.get::<PermissionSet>(&member.set).await? {
            self.withdraw(&set.object, &member).await?;
            self.touch_set(set.object).await?;
        }
        self.delete_plain(&member.object_key(), expect).await
    }

    /// Writes the set again, updated by this actor: its version is its members' latest
    /// change too, removals included, which a data permission's sync status waits for.
    async fn touch_set(&mut self, mut set: PermissionSet) -> ServiceResult<()> {
        set.update_user = Some(self.actor().to_string());
        self.put_plain(&set, Expect::Present).await?;
        Ok(())
    }

    /// Gives `member` the set's role.
    async fn enlist(&mut self, set: &PermissionSet, member: &SetMember) -> ServiceResult<()> {
        match member.member.subject_type {
            SubjectType::Role => {
                if let Some(role) = self.get::<Role>(&member.member.id).await? {
                    let mut role = role.object;
                    if !role.includes.contains(&set.role()) {
                        role.includes.push(set.role());
                        self.put_plain(&role, Expect::Present).await?;
                    }
                }
            }
            _ => {
                let assignment = Assignment::new(member.member.clone(), set.role());
                self.put_plain(&assignment, Expect::Any).await?;
            }
        }
        Ok(())
    }

    /// Takes the set's role away from `member`.
    pub(super) async fn withdraw(
        &mut self,
        set: &PermissionSet,
        member: &SetMember,
    ) -> ServiceResult<()> {
        match member.member.subject_type {
            SubjectType::Role => {
                if let Some(role) = self.get::<Role>(&member.member.id).await? {
                    let mut role = role.object;
                    if role.includes.contains(&set.role()) {
                        role.includes.retain(|r| *r != set.role());
                        self.put_plain(&role, Expect::Present).await?;
                    }
                }
            }
            _ => {
                let assignment = Assignment::new(member.member.clone(), set.role());
                if self.get::<Assignment>(&assignment.key()).await?.is_some() {
                    self.delete_plain(&assignment.object_key(), Expect::Any)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
