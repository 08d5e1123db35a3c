//! An invitation: an email address not yet a user, with the grants and group memberships
//! the user receives on accepting it (Segment's invites).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::grant::{Effect, Grant, Privilege, Target};
use super::subject::{SubjectRef, SubjectType};
use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object, ObjectKey, Ref};

/// A grant waiting for its subject: the invited user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PendingGrant {
    pub privilege: Privilege,
    pub target: Target,
    pub effect: Effect,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl PendingGrant {
    /// The grant `id` that gives this to `user`.
    pub fn to_grant(&self, id: String, user: &str) -> Grant {
        Grant {
            id,
            subject: SubjectRef {
                subject_type: SubjectType::User,
                id: user.to_string(),
            },
            privilege: self.privilege.clone(),
            target: self.target.clone(),
            effect: self.effect,
            origin: self.origin.clone(),
            not_before: None,
            expires_at: None,
            row_filter: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    pub email: String,
    /// What the user is granted on accepting.
    #[serde(default)]
    pub grants: Vec<PendingGrant>,
    /// The groups the user joins on accepting (groups deleted meanwhile are skipped).
    #[serde(default)]
    pub groups: Vec<String>,
}

impl Object for Invite {
    const KIND: Kind = Kind::Invite;

    fn key(&self) -> String {
        self.email.clone()
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        c.check("email", ids::email(&self.email));
        for (i, pending) in self.grants.iter().enumerate() {
            // Checked as the grant it becomes, for a placeholder user.
            if let Err(Invalid(errors)) = pending.to_grant("pending".into(), "pending").validate() {
                for e in errors {
                    c.fail(format!("grants[{i}].{}", e.field), e.message);
                }
            }
        }
        for (i, group) in self.groups.iter().enumerate() {
            c.check(format!("groups[{i}]"), ids::identifier(group));
        }
        c.finish()
    }

    /// The roles and permissions it would grant must exist, and stay while it is pending.
    fn refs(&self) -> Vec<Ref> {
        self.grants
            .iter()
            .filter_map(|g| match &g.privilege {
                Privilege::Role { id } => Some(ObjectKey::new(Kind::Role, id.clone())),
                Privilege::Permission { id } => Some(ObjectKey::new(Kind::Permission, id.clone())),
                Privilege::Actions { .. } => None,
            })
            .map(|target| Ref::restrict("grants", target))
            .collect()
    }
}
