//! Policies: a role given to a subject on some targets, written as one ALLOW grant per
//! target that carries the policy's id in `origin` (Segment's permissions, in grantd's
//! terms). The policy owns its grants (`derived`). What a policy needs is created with it:
//! a built-in role the tenant does not hold yet, the labels its targets name, and the
//! resource a target names, on first use. A role already given to the subject on a target
//! is not given twice. Invites carry policies as pending grants, written when accepted.

use std::collections::BTreeMap;

use grantd_core::model::{
    Effect, Grant, Label, PendingGrant, Privilege, Resource, Role, SubjectRef, Target, User,
};
use grantd_core::{FieldError, Invalid, Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde_json::Value;

use super::batch::Batch;
use super::derived::SEGMENT_POLICY;
use super::objects::describe;
use super::{new_id, Ctx, Service, ServiceError, ServiceResult};

/// One policy a request asks for.
#[derive(Debug, Clone)]
pub struct PolicyRequest {
    /// Where the request named it, for errors (`permissions.0`).
    pub at: String,
    pub role: String,
    pub resources: Vec<RequestedResource>,
}

/// A resource a policy request names.
#[derive(Debug, Clone)]
pub struct RequestedResource {
    /// Where the request named it (`permissions.0.resources.1`).
    pub at: String,
    /// The targets it stands for, or why it cannot be granted.
    pub targets: Result<Vec<Target>, String>,
    /// The labels its targets name, created with the policy when the tenant lacks them.
    pub labels: Vec<Label>,
}

impl PolicyRequest {
    /// Its targets, each with where the request named it.
    fn targets(&self) -> impl Iterator<Item = (&str, &Target)> {
        self.resources.iter().flat_map(|r| {
            let targets: &[Target] = r.targets.as_deref().unwrap_or(&[]);
            targets.iter().map(move |t| (r.at.as_str(), t))
        })
    }
}

/// What a policy write creates first when the tenant lacks it.
#[derive(Debug, Clone, Default)]
pub struct Prerequisites {
    /// Built-in roles the requests may name.
    pub roles: Vec<Role>,
}

/// A policy written or removed: its id and its role.
#[derive(Debug, Clone)]
pub struct PolicyRef {
    pub id: String,
    pub role: String,
}

/// What a change of a subject's policies did.
#[derive(Debug, Default)]
pub struct PolicyChange {
    pub removed: Vec<PolicyRef>,
    pub created: Vec<PolicyRef>,
}

/// A new policy's id.
pub fn new_policy() -> String {
    new_id("pol")
}

/// The `origin` of the grants a policy makes.
pub fn policy_origin(policy: &str) -> String {
    format!("{SEGMENT_POLICY}{policy}")
}

/// The policy a grant belongs to: the policy that wrote it, or the grant itself.
pub fn policy_of(grant: &Grant) -> String {
    grant
        .origin
        .as_deref()
        .and_then(|o| o.strip_prefix(SEGMENT_POLICY))
        .unwrap_or(&grant.id)
        .to_string()
}

impl Batch<'_> {
    /// Creates what the requests need and the tenant lacks; every request's role must
    /// exist then, and each resource be grantable. Each failure is named by where the
    /// request named it, in the request's order.
    async fn prepare(
        &mut self,
        requests: &[PolicyRequest],
        prerequisites: &Prerequisites,
    ) -> ServiceResult<()> {
        let mut failures = Vec::new();
        for p in requests {
            if self.get::<Role>(&p.role).await?.is_none() {
                match prerequisites.roles.iter().find(|r| r.id == p.role) {
                    Some(builtin) => {
                        self.put(builtin, Expect::Absent).await?;
                    }
                    None => failures.push(FieldError {
                        field: format!("{}.roleId", p.at),
                        message: format!("role {} does not exist (GET /roles lists them)", p.role),
                    }),
                }
            }
            for r in &p.resources {
                if let Err(message) = &r.targets {
                    failures.push(FieldError {
                        field: format!("{}.id", r.at),
                        message: message.clone(),
                    });
                }
                for (k, label) in r.labels.iter().enumerate() {
                    if self.get::<Label>(&label.key()).await?.is_some() {
                        continue;
                    }
                    match label.validate() {
                        Ok(()) => {
                            self.put(label, Expect::Absent).await?;
                        }
                        Err(invalid) => failures.push(FieldError {
                            field: format!("{}.labels.{k}", r.at),
                            message: invalid.to_string(),
                        }),
                    }
                }
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Invalid(failures).into())
        }
    }

    /// Creates the resource a target names, the first time a policy names it.
    async fn ensure_resource(&mut self, target: &Target) -> ServiceResult<()> {
        if let Target::Resource { resource } = target {
            if self.get::<Resource>(&resource.key()).await?.is_none() {
                let new = Resource {
                    resource_type: resource.resource_type.clone(),
                    id: resource.id.clone(),
                    parent: None,
                    labels: BTreeMap::new(),
                };
                self.put(&new, Expect::Absent).await?;
            }
        }
        Ok(())
    }
}

impl Service {
    /// Gives `subject` (a user or group, which must exist) the requested policies, one
    /// transaction; with `replace`, first removes every grant of the subject it says is a
    /// policy's. The audit detail is made of the subject as stored and what changed.
    #[allow(clippy::too_many_arguments)]
    pub async fn give_policies(
        &self,
        ctx: &Ctx,
        subject: &SubjectRef,
        requests: &[PolicyRequest],
        prerequisites: &Prerequisites,
        replace: Option<&(dyn Fn(&Grant) -> bool + Sync)>,
        action: &str,
        detail: impl FnOnce(&Value, &PolicyChange) -> Option<Value>,
    ) -> ServiceResult<PolicyChange> {
        let mut batch = self.batch(ctx).await?;
        let key = subject.object_key();
        let stored = batch
            .stored(&key)
            .await?
            .ok_or_else(|| ServiceError::NotFound(describe(&key)))?;
        batch.prepare(requests, prerequisites).await?;
        let mut change = PolicyChange::default();
        let mut held: Vec<(String, Target)> = Vec::new();
        for grant in batch.holders::<Grant>(&key).await? {
            let grant = grant.object;
            if replace.is_some_and(|policy| policy(&grant)) {
                batch
                    .delete(&ObjectKey::new(Kind::Grant, grant.id.clone()))
                    .await?;
                let id = policy_of(&grant);
                if let Privilege::Role { id: role } = &grant.privilege {
                    if !change.removed.iter().any(|p| p.id == id) {
                        change.removed.push(PolicyRef {
                            id,
                            role: role.clone(),
                        });
                    }
                }
                continue;
            }
            if let (Privilege::Role { id }, Effect::Allow) = (grant.privilege, grant.effect) {
                held.push((id, grant.target));
            }
        }
        for p in requests {
            let policy = new_policy();
            let mut wrote = false;
            for (at, target) in p.targets() {
                if held.iter().any(|(role, t)| *role == p.role && t == target) {
                    continue;
                }
                batch
                    .ensure_resource(target)
                    .await
                    .map_err(|e| e.within(at))?;
                let grant = Grant {
                    id: new_id("grt"),
                    subject: subject.clone(),
                    privilege: Privilege::Role { id: p.role.clone() },
                    target: target.clone(),
                    effect: Effect::Allow,
                    origin: Some(policy_origin(&policy)),
                    not_before: None,
                    expires_at: None,
                    row_filter: None,
                };
                batch
                    .put(&grant, Expect::Absent)
                    .await
                    .map_err(|e| e.within(at))?;
                held.push((p.role.clone(), target.clone()));
                wrote = true;
            }
            if wrote {
                change.created.push(PolicyRef {
                    id: policy,
                    role: p.role.clone(),
                });
            }
        }
        let detail = detail(&stored, &change);
        batch.commit(action, &key, detail).await?;
        Ok(change)
    }

    /// Invites each address (adding to its pending invite) with the requested policies as
    /// pending grants; refused for an address a user already has. Returns, per address,
    /// whether its invite is new and the policies it was given.
    pub async fn invite_with_policies(
        &self,
        ctx: &Ctx,
        invites: &[(String, Vec<PolicyRequest>)],
        prerequisites: &Prerequisites,
        action: &str,
        detail: impl FnOnce(&[(String, bool, Vec<PolicyRef>)]) -> Option<Value>,
    ) -> ServiceResult<Vec<(String, bool, Vec<PolicyRef>)>> {
        let mut batch = self.batch(ctx).await?;
        let users = batch.list::<User>(None).await?;
        let mut taken = Vec::new();
        for (i, (email, _)) in invites.iter().enumerate() {
            let is_user = users.iter().any(|u| {
                u.object
                    .email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            });
            if is_user {
                taken.push(FieldError {
                    field: format!("invites.{i}.email"),
                    message: "is already a user of this workspace".into(),
                });
            }
        }
        if !taken.is_empty() {
            return Err(Invalid(taken).into());
        }
        let mut outcome = Vec::new();
        for (email, requests) in invites {
            batch.prepare(requests, prerequisites).await?;
            let (mut invite, is_new) = batch.invite_of(email).await?;
            let mut given = Vec::new();
            for p in requests {
                let policy = new_policy();
                for (_, target) in p.targets() {
                    batch.ensure_resource(target).await?;
                    invite.grants.push(PendingGrant {
                        privilege: Privilege::Role { id: p.role.clone() },
                        target: target.clone(),
                        effect: Effect::Allow,
                        origin: Some(policy_origin(&policy)),
                    });
                }
                given.push(PolicyRef {
                    id: policy,
                    role: p.role.clone(),
                });
            }
            batch.put(&invite, Expect::Any).await?;
            outcome.push((email.clone(), is_new, given));
        }
        let emails: Vec<&str> = invites.iter().map(|(e, _)| e.as_str()).collect();
        let target = ObjectKey::new(Kind::Invite, emails.join(","));
        let detail = detail(&outcome);
        batch.commit(action, &target, detail).await?;
        Ok(outcome)
    }
}
