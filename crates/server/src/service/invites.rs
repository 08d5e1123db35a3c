//! Invitations: the pending invite of an address, and accepting one: the invited address
//! becomes a user with the invite's grants and group memberships, and the invite is gone,
//! in one transaction.

use grantd_core::model::{Group, Invite, Member, SubjectRef, SubjectType, User};
use grantd_core::{Invalid, Kind, ObjectKey};
use grantd_store::Expect;
use serde_json::json;

use super::batch::Batch;
use super::{new_id, Ctx, Service, ServiceError, ServiceResult, Versioned};

impl Batch<'_> {
    /// The pending invite of `email`, or a new empty one, and whether it is new.
    pub(super) async fn invite_of(&mut self, email: &str) -> ServiceResult<(Invite, bool)> {
        Ok(match self.get::<Invite>(email).await? {
            Some(existing) => (existing.object, false),
            None => (
                Invite {
                    email: email.to_string(),
                    grants: Vec::new(),
                    groups: Vec::new(),
                },
                true,
            ),
        })
    }
}

impl Service {
    /// Turns the invite for `email` into `user` (whose email becomes the invite's).
    pub async fn accept_invite(
        &self,
        ctx: &Ctx,
        email: &str,
        mut user: User,
    ) -> ServiceResult<(Versioned<User>, i64)> {
        let key = ObjectKey::new(Kind::Invite, email);
        let mut batch = self.batch(ctx).await?;
        let invite = batch
            .get::<Invite>(email)
            .await?
            .ok_or_else(|| ServiceError::not_found(&key))?
            .object;
        if user.email.as_deref().is_some_and(|e| e != invite.email) {
            return Err(Invalid::field("email", "must be the invited address, or left out").into());
        }
        user.email = Some(invite.email.clone());
        let written = batch.put(&user, Expect::Absent).await?;
        for (i, pending) in invite.grants.iter().enumerate() {
            batch
                .put(&pending.to_grant(new_id("grt"), &user.id), Expect::Absent)
                .await
                .map_err(|e| e.within(&format!("invite.grants[{i}]")))?;
        }
        let mut joined = Vec::new();
        for group in &invite.groups {
            if batch.get::<Group>(group).await?.is_none() {
                continue;
            }
            let member = Member::new(
                group.clone(),
                SubjectRef {
                    subject_type: SubjectType::User,
                    id: user.id.clone(),
                },
            );
            batch.put(&member, Expect::Any).await?;
            joined.push(group.clone());
        }
        batch.delete(&key).await?;
        let detail = json!({"user": user.id, "grants": invite.grants.len(), "groups": joined});
        let revision = batch.commit("invite.accept", &key, Some(detail)).await?;
        Ok((written, revision))
    }
}
