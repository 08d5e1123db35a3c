//! Commands that make a subject's memberships what a request says: a user's groups or
//! roles exactly these, a group's members by address (users join, other addresses are
//! invited into it), members added to a group. Each is one transaction.

use grantd_core::model::{
    Assignment, Group, Invite, Member, Role, SubjectRef, SubjectType, User, Windowed,
};
use grantd_core::{Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde_json::{json, Value};

use super::batch::Batch;
use super::objects::describe;
use super::{derived, now_millis, Ctx, Service, ServiceError, ServiceResult};

/// Checks the state a command is about to change (the ETag of a set a surface shows),
/// inside the command's transaction.
pub type Precondition<'a> = &'a (dyn Fn(&[String]) -> ServiceResult<()> + Sync);

/// What a change of a group's members by address did.
#[derive(Debug, Default)]
pub struct AddressChange {
    /// Addresses (or, for a user without one, ids) that left the group.
    pub removed: Vec<String>,
    /// Addresses added, in the order given.
    pub added: Vec<(String, Addition)>,
}

/// How an address joined a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addition {
    /// A user with the address became a member.
    Joined,
    /// The address was invited into the group; `new` if it had no invite before.
    Invited { new: bool },
}

pub(super) fn user_ref(id: &str) -> SubjectRef {
    SubjectRef {
        subject_type: SubjectType::User,
        id: id.to_string(),
    }
}

impl Batch<'_> {
    /// Makes `object` (a membership or an assignment that holds always) hold now: written
    /// unless one that holds now is there already, which stays as it is, window and all;
    /// one that does not hold now (ended, or yet to begin) is replaced. Whether it wrote.
    pub(super) async fn make_hold<K: Object + Windowed>(
        &mut self,
        object: &K,
    ) -> ServiceResult<bool> {
        match self.get::<K>(&object.key()).await? {
            Some(current) if current.object.holds_at(now_millis()) => Ok(false),
            Some(current) => {
                self.put(object, Expect::Version(current.version)).await?;
                Ok(true)
            }
            None => {
                self.put(object, Expect::Absent).await?;
                Ok(true)
            }
        }
    }

    /// The user `id` as a subject; not found if there is none.
    pub(super) async fn require_user(&mut self, id: &str) -> ServiceResult<SubjectRef> {
        let subject = user_ref(id);
        if self.get::<User>(id).await?.is_none() {
            return Err(ServiceError::NotFound(describe(&subject.object_key())));
        }
        Ok(subject)
    }
}

impl Service {
    /// Makes the user's direct groups exactly `groups`, each of which must exist.
    pub async fn set_groups(
        &self,
        ctx: &Ctx,
        user: &str,
        groups: &[String],
        action: &str,
    ) -> ServiceResult<i64> {
        let mut batch = self.batch(ctx).await?;
        let subject = batch.require_user(user).await?;
        batch.set_groups_in(user, groups).await?;
        batch.commit(action, &subject.object_key(), None).await
    }

    /// The roles assigned to the user directly that are the tenant's to change (not a
    /// permission set's) and that hold now, in key order.
    pub async fn assigned_roles(&self, tenant: &str, user: &str) -> ServiceResult<Vec<String>> {
        let prefix = format!("{}/", user_ref(user).key());
        let now = now_millis();
        Ok(self
            .list_all::<Assignment>(tenant, Some(&prefix))
            .await?
            .into_iter()
            .filter(|a| a.object.holds_at(now))
            .map(|a| a.object.role)
            .filter(|role| !derived::owned_role(role))
            .collect())
    }

    /// The direct members of `group` whose membership holds now, in key order: what a
    /// vendor surface lists.
    pub async fn current_members(
        &self,
        tenant: &str,
        group: &str,
    ) -> ServiceResult<Vec<SubjectRef>> {
        let now = now_millis();
        Ok(self
            .list_all::<Member>(tenant, Some(&Member::prefix(group)))
            .await?
            .into_iter()
            .filter(|m| m.object.holds_at(now))
            .map(|m| m.object.member)
            .collect())
    }

    /// The groups `user` is a direct member of now, in key order.
    pub async fn current_groups(&self, tenant: &str, user: &str) -> ServiceResult<Vec<String>> {
        let now = now_millis();
        let mut groups: Vec<String> = self
            .holders::<Member>(tenant, &user_ref(user).object_key())
            .await?
            .into_iter()
            .filter(|m| m.object.holds_at(now))
            .map(|m| m.object.group)
            .collect();
        groups.sort();
        Ok(groups)
    }

    /// Makes the roles assigned to the user directly exactly `roles`, each of which must
    /// exist, if `precondition` holds of the roles it has now; a permission set's role is
    /// neither given nor taken (it is the set's). An assignment that holds now for a while
    /// keeps its window; one that does not hold now is what the caller cannot see, and a
    /// role asked for is given now instead.
    pub async fn set_roles(
        &self,
        ctx: &Ctx,
        user: &str,
        roles: &[String],
        precondition: Precondition<'_>,
        action: &str,
        detail: Option<Value>,
    ) -> ServiceResult<i64> {
        let mut batch = self.batch(ctx).await?;
        let subject = batch.require_user(user).await?;
        for role in roles {
            if derived::owned_role(role) {
                let assignment = json!({"role": role});
                derived::refuse_derived(Kind::Assignment, role, None, Some(&assignment))?;
            }
            if batch.get::<Role>(role).await?.is_none() {
                return Err(grantd_core::Invalid::field(
                    "roles",
                    format!("role {role} does not exist"),
                )
                .into());
            }
        }
        let prefix = format!("{}/", subject.key());
        let mut current = batch.list::<Assignment>(Some(&prefix)).await?;
        // A permission set's role is the set's to give and take.
        current.retain(|a| !derived::owned_role(&a.object.role));
        let at = now_millis();
        let held: Vec<String> = current
            .iter()
            .filter(|a| a.object.holds_at(at))
            .map(|a| a.object.role.clone())
            .collect();
        precondition(&held)?;
        for assignment in &current {
            if !roles.contains(&assignment.object.role) {
                batch.delete(&assignment.object.object_key()).await?;
            }
        }
        for role in roles {
            batch
                .make_hold(&Assignment::new(subject.clone(), role.clone()))
                .await?;
        }
        batch.commit(action, &subject.object_key(), detail).await
    }

    /// Adds users to a group, which must exist, as do they; members already there stay.
    pub async fn add_members(
        &self,
        ctx: &Ctx,
        group: &str,
        users: &[String],
        action: &str,
        detail: Option<Value>,
    ) -> ServiceResult<i64> {
        let mut batch = self.batch(ctx).await?;
        let key = ObjectKey::new(Kind::Group, group);
        if batch.get::<Group>(group).await?.is_none() {
            return Err(ServiceError::NotFound(describe(&key)));
        }
        for user in users {
            batch.require_user(user).await?;
            batch
                .make_hold(&Member::new(group.to_string(), user_ref(user)))
                .await?;
        }
        batch.commit(action, &key, detail).await
    }

    /// Changes a group's members by address: first removes the users (and invited
    /// addresses) for which `keep` says no, then adds `add`: a user with the address
    /// (compared without case) joins, another address is invited into the group. The
    /// detail of the audit event is made of what changed.
    pub async fn change_group_addresses(
        &self,
        ctx: &Ctx,
        group: &str,
        keep: Option<&(dyn Fn(&str) -> bool + Sync)>,
        add: &[String],
        action: &str,
        detail: impl FnOnce(&Group, &AddressChange) -> Option<Value>,
    ) -> ServiceResult<Group> {
        let mut batch = self.batch(ctx).await?;
        let group = batch
            .get::<Group>(group)
            .await?
            .ok_or_else(|| ServiceError::NotFound(describe(&ObjectKey::new(Kind::Group, group))))?
            .object;
        let users: Vec<User> = batch
            .list::<User>(None)
            .await?
            .into_iter()
            .map(|u| u.object)
            .collect();
        let mut change = AddressChange::default();
        if let Some(keep) = keep {
            for member in batch
                .list::<Member>(Some(&Member::prefix(&group.id)))
                .await?
            {
                let m = member.object;
                if m.member.subject_type != SubjectType::User {
                    continue;
                }
                let email = users
                    .iter()
                    .find(|u| u.id == m.member.id)
                    .and_then(|u| u.email.clone())
                    .unwrap_or_default();
                if keep(&email) {
                    continue;
                }
                batch.delete(&m.object_key()).await?;
                change
                    .removed
                    .push(if email.is_empty() { m.member.id } else { email });
            }
            for invite in batch.list::<Invite>(None).await? {
                let mut invite = invite.object;
                if invite.groups.contains(&group.id) && !keep(&invite.email) {
                    invite.groups.retain(|g| *g != group.id);
                    batch.put(&invite, Expect::Any).await?;
                    change.removed.push(invite.email);
                }
            }
        }
        for email in add {
            let holder = users.iter().find(|u| {
                u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            });
            match holder {
                Some(user) => {
                    let member = Member::new(group.id.clone(), user_ref(&user.id));
                    if batch.make_hold(&member).await? {
                        change.added.push((email.clone(), Addition::Joined));
                    }
                }
                None => {
                    let (mut invite, is_new) = batch.invite_of(email).await?;
                    if !invite.groups.contains(&group.id) {
                        invite.groups.push(group.id.clone());
                        batch.put(&invite, Expect::Any).await?;
                        change
                            .added
                            .push((email.clone(), Addition::Invited { new: is_new }));
                    }
                }
            }
        }
        let detail = detail(&group, &change);
        batch.commit(action, &group.object_key(), detail).await?;
        Ok(group)
    }
}
