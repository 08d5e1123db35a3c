//! A member of a permission set: a user, a group (and so its members) or a role (and so
//! its holders). Users and groups hold the set's role through a role assignment; a member
//! role includes the set's role.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::permission_set::short;
use super::subject::{SubjectRef, SubjectType};
use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object, ObjectKey, Ref};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMember {
    pub id: String,
    /// The permission set.
    pub set: String,
    pub member: SubjectRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_name: Option<String>,
    /// The DataArts workspace of a workspace-role member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_user: Option<String>,
}

impl Object for SetMember {
    const KIND: Kind = Kind::SetMember;

    fn key(&self) -> String {
        self.id.clone()
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        c.check("id", ids::identifier(&self.id));
        c.check("permission_set_id", ids::identifier(&self.set));
        self.member.check(
            &mut c,
            "member",
            &[SubjectType::User, SubjectType::Group, SubjectType::Role],
        );
        short(&mut c, "member_name", &self.member_name);
        short(&mut c, "workspace", &self.workspace);
        short(&mut c, "create_user", &self.create_user);
        c.finish()
    }

    fn refs(&self) -> Vec<Ref> {
        vec![
            Ref::cascade(
                "permission_set_id",
                ObjectKey::new(Kind::PermissionSet, self.set.clone()),
            ),
            Ref::cascade("member", self.member.object_key()),
        ]
    }
}
