//! Named permissions held across the whole tenant, as SlashID models them, in grantd's
//! terms: a catalog of permissions; roles whose actions are catalog permissions, each with
//! one grant of the role to its own holders on the tenant (so that assigning the role
//! gives its permissions in every check); a user's own ("direct") catalog permissions, one
//! tenant-wide ALLOW grant each; and users found by what identifies them.

use grantd_core::model::{
    holds_at, Effect, Grant, Group, Permission, Privilege, Role, SubjectRef, SubjectType, Target,
    User,
};
use grantd_core::{Invalid, Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde_json::Value;

use super::batch::Batch;
use super::derived::{SLASHID_PERSON, SLASHID_ROLE};
use super::memberships::{user_ref, Precondition};
use super::objects::{describe, Versioned};
use super::{new_id, Ctx, Service, ServiceError, ServiceResult};

/// The grant that gives a role's holders its actions across the tenant.
fn holders_grant(role: &str) -> Grant {
    Grant {
        id: format!("slashid.role.{role}"),
        subject: SubjectRef {
            subject_type: SubjectType::Role,
            id: role.to_string(),
        },
        privilege: Privilege::Role {
            id: role.to_string(),
        },
        target: Target::Tenant,
        effect: Effect::Allow,
        origin: Some(SLASHID_ROLE.into()),
        not_before: None,
        expires_at: None,
        row_filter: None,
    }
}

/// A direct permission: a tenant-wide ALLOW grant of a catalog permission.
pub fn direct_permission(grant: &Grant) -> Option<&str> {
    match (&grant.privilege, &grant.target, grant.effect) {
        (Privilege::Permission { id }, Target::Tenant, Effect::Allow) => Some(id),
        _ => None,
    }
}

impl Batch<'_> {
    /// Refuses names that are not in the catalog.
    async fn require_permissions(&mut self, field: &str, names: &[String]) -> ServiceResult<()> {
        for name in names {
            if self.get::<Permission>(name).await?.is_none() {
                return Err(
                    Invalid::field(field, format!("permission {name} does not exist")).into(),
                );
            }
        }
        Ok(())
    }
}

impl Service {
    /// Writes a role whose actions are catalog permissions (each must exist), with the
    /// grant that gives its holders those actions across the tenant.
    pub async fn put_tenant_role(
        &self,
        ctx: &Ctx,
        role: &Role,
        expect: Expect,
        action: &str,
    ) -> ServiceResult<Versioned<Role>> {
        let mut batch = self.batch(ctx).await?;
        batch
            .require_permissions("permissions", &role.actions)
            .await?;
        let written = batch.put(role, expect).await?;
        batch.put(&holders_grant(&role.id), Expect::Any).await?;
        batch.commit(action, &role.object_key(), None).await?;
        Ok(written)
    }

    /// The user's direct permissions that hold now (a time-bound one outside its window
    /// is not one), sorted.
    pub async fn direct_permissions(&self, tenant: &str, user: &str) -> ServiceResult<Vec<String>> {
        let now = super::now_millis();
        let mut names: Vec<String> = self
            .holders::<Grant>(tenant, &user_ref(user).object_key())
            .await?
            .iter()
            .filter(|g| holds_at(g.object.not_before, g.object.expires_at, now))
            .filter_map(|g| direct_permission(&g.object))
            .map(str::to_string)
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Makes the user's direct permissions exactly `names` (each in the catalog), if
    /// `precondition` holds of the ones it has now.
    pub async fn set_direct_permissions(
        &self,
        ctx: &Ctx,
        user: &str,
        names: &[String],
        precondition: Precondition<'_>,
        action: &str,
        detail: Option<Value>,
    ) -> ServiceResult<i64> {
        let mut batch = self.batch(ctx).await?;
        let subject = batch.require_user(user).await?;
        batch.require_permissions("permissions", names).await?;
        let grants: Vec<Grant> = batch
            .holders::<Grant>(&subject.object_key())
            .await?
            .into_iter()
            .map(|g| g.object)
            .collect();
        let mut current: Vec<String> = grants
            .iter()
            .filter_map(direct_permission)
            .map(str::to_string)
            .collect();
        current.sort();
        current.dedup();
        precondition(&current)?;
        for grant in &grants {
            if direct_permission(grant).is_some_and(|n| !names.iter().any(|w| w == n)) {
                batch
                    .delete(&ObjectKey::new(Kind::Grant, grant.id.clone()))
                    .await?;
            }
        }
        for name in names {
            if current.binary_search(name).is_ok() {
                continue;
            }
            let grant = Grant {
                id: new_id("grt"),
                subject: subject.clone(),
                privilege: Privilege::Permission { id: name.clone() },
                target: Target::Tenant,
                effect: Effect::Allow,
                origin: Some(SLASHID_PERSON.into()),
                not_before: None,
                expires_at: None,
                row_filter: None,
            };
            batch.put(&grant, Expect::Absent).await?;
        }
        batch.commit(action, &subject.object_key(), detail).await
    }

    /// Deletes a catalog permission, revoking it from everyone; refused while a role
    /// names it. Returns the revision and how many grants were revoked.
    pub async fn delete_catalog_permission(
        &self,
        ctx: &Ctx,
        name: &str,
        action: &str,
    ) -> ServiceResult<(i64, usize)> {
        let mut batch = self.batch(ctx).await?;
        let key = ObjectKey::new(Kind::Permission, name);
        if batch.get::<Permission>(name).await?.is_none() {
            return Err(ServiceError::NotFound(describe(&key)));
        }
        let roles: Vec<String> = batch
            .list::<Role>(None)
            .await?
            .into_iter()
            .filter(|r| r.object.actions.iter().any(|a| a == name))
            .map(|r| r.object.id)
            .collect();
        if !roles.is_empty() {
            return Err(ServiceError::Conflict {
                code: "still_referenced",
                message: format!(
                    "permission {name} is included in role(s) {}; remove it from them first",
                    roles.join(", ")
                ),
            });
        }
        let revoked = batch.delete(&key).await?.len() - 1;
        let detail = serde_json::json!({ "revoked_grants": revoked });
        let revision = batch.commit(action, &key, Some(detail)).await?;
        Ok((revision, revoked))
    }

    /// Writes a user found by what identifies it: `matching` finds the stored user it
    /// replaces, and `make` makes the user to write from it (or refuses); with `groups`,
    /// the user's direct groups become exactly those (each must exist). Returns the user
    /// and whether it was created.
    pub async fn put_user_matching(
        &self,
        ctx: &Ctx,
        matching: impl Fn(&User) -> bool,
        make: impl FnOnce(Option<User>) -> ServiceResult<User>,
        groups: Option<&[String]>,
        action: &str,
    ) -> ServiceResult<(Versioned<User>, bool)> {
        let mut batch = self.batch(ctx).await?;
        let found = batch
            .list::<User>(None)
            .await?
            .into_iter()
            .map(|u| u.object)
            .find(|u| matching(u));
        let created = found.is_none();
        let user = make(found)?;
        let expect = if created {
            Expect::Absent
        } else {
            Expect::Present
        };
        let written = batch.put(&user, expect).await?;
        if let Some(groups) = groups {
            batch.set_groups_in(&user.id, groups).await?;
        }
        batch.commit(action, &user.object_key(), None).await?;
        Ok((written, created))
    }
}

impl Batch<'_> {
    /// Makes the user's direct groups exactly `groups`, each of which must exist.
    pub(super) async fn set_groups_in(
        &mut self,
        user: &str,
        groups: &[String],
    ) -> ServiceResult<()> {
        for g in groups {
            if self.get::<Group>(g).await?.is_none() {
                return Err(ServiceError::NotFound(format!("group {g}")));
            }
        }
        let subject = user_ref(user);
        for key in self.referencing(&subject.object_key()).await? {
            let in_group = key.key.split_once('/').map(|(g, _)| g.to_string());
            if key.kind == Kind::Member && in_group.is_some_and(|g| !groups.contains(&g)) {
                self.delete(&key).await?;
            }
        }
        for g in groups {
            self.make_hold(&grantd_core::model::Member::new(g.clone(), subject.clone()))
                .await?;
        }
        Ok(())
    }
}
