//! A permission set (DataArts Security): a named bundle of data permissions given to its
//! members. Its permissions are grants to the set's own role, and its members hold that
//! role, so the decision engine enforces a set like any other grant. A sub-set names its
//! parent; its permissions must lie within the parent's.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object, ObjectKey, Ref};

pub const SET_TYPES: [&str; 2] = ["COMMON", "MRS_MANAGED"];
pub const MANAGER_TYPES: [&str; 2] = ["USER", "USER_GROUP"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionSet {
    pub id: String,
    /// The DataArts workspace the set belongs to.
    pub workspace: String,
    pub name: String,
    /// The parent set of a sub-set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `COMMON` or `MRS_MANAGED`.
    #[serde(rename = "type")]
    pub set_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_cluster_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_cluster_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_role_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_name: Option<String>,
    /// `USER` or `USER_GROUP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_user: Option<String>,
}

impl PermissionSet {
    /// The role whose grants are the set's permissions and whose holders are its members.
    pub fn role_of(id: &str) -> String {
        format!("dataarts.ps.{id}")
    }

    pub fn role(&self) -> String {
        Self::role_of(&self.id)
    }
}

/// A short name: 1 to 128 characters, no control characters.
pub(crate) fn short(c: &mut Checker, field: &str, value: &Option<String>) {
    if let Some(v) = value {
        if v.is_empty() || v.chars().count() > 128 || v.chars().any(char::is_control) {
            c.fail(
                field,
                "must be 1 to 128 characters without control characters",
            );
        }
    }
}

/// `value` is one of `allowed`.
pub(crate) fn one_of(c: &mut Checker, field: &str, value: &str, allowed: &[&str]) {
    if !allowed.contains(&value) {
        c.fail(field, format!("must be one of {}", allowed.join(", ")));
    }
}

impl Object for PermissionSet {
    const KIND: Kind = Kind::PermissionSet;

    fn key(&self) -> String {
        self.id.clone()
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        c.check("id", ids::identifier(&self.id));
        short(&mut c, "workspace", &Some(self.workspace.clone()));
        short(&mut c, "name", &Some(self.name.clone()));
        if let Some(parent) = &self.parent {
            c.check("parent_id", ids::identifier(parent));
            if *parent == self.id {
                c.fail("parent_id", "a permission set cannot be its own parent");
            }
        }
        c.check("description", ids::text(&self.description));
        one_of(&mut c, "type", &self.set_type, &SET_TYPES);
        for (field, value) in [
            ("managed_cluster_id", &self.managed_cluster_id),
            ("managed_cluster_name", &self.managed_cluster_name),
            ("managed_role_name", &self.managed_role_name),
            ("manager_id", &self.manager_id),
            ("manager_name", &self.manager_name),
            ("create_user", &self.create_user),
            ("update_user", &self.update_user),
        ] {
            short(&mut c, field, value);
        }
        if let Some(t) = &self.manager_type {
            one_of(&mut c, "manager_type", t, &MANAGER_TYPES);
        }
        c.finish()
    }

    fn refs(&self) -> Vec<Ref> {
        let mut refs = vec![Ref::restrict(
            "role",
            ObjectKey::new(Kind::Role, self.role()),
        )];
        if let Some(parent) = &self.parent {
            refs.push(Ref::restrict(
                "parent_id",
                ObjectKey::new(Kind::PermissionSet, parent.clone()),
            ));
        }
        refs
    }

    fn edges(&self) -> Vec<(ObjectKey, ObjectKey)> {
        self.parent
            .iter()
            .map(|p| {
                (
                    self.object_key(),
                    ObjectKey::new(Kind::PermissionSet, p.clone()),
                )
            })
            .collect()
    }
}
