//! A role: a named set of actions, optionally including other roles' actions. Inclusion
//! must stay acyclic.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object, ObjectKey, Ref};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The actions the role grants; `*` grants every action.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Roles whose actions this role also grants.
    #[serde(default)]
    pub includes: Vec<String>,
}

impl Object for Role {
    const KIND: Kind = Kind::Role;

    fn key(&self) -> String {
        self.id.clone()
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        c.check("id", ids::identifier(&self.id));
        c.check("name", ids::text(&self.name));
        c.check("description", ids::text(&self.description));
        c.check("actions", ids::actions(&self.actions, true));
        for (i, role) in self.includes.iter().enumerate() {
            c.check(format!("includes[{i}]"), ids::identifier(role));
            if *role == self.id {
                c.fail(format!("includes[{i}]"), "a role cannot include itself");
            }
        }
        c.finish()
    }

    fn refs(&self) -> Vec<Ref> {
        self.includes
            .iter()
            .map(|r| Ref::restrict("includes", ObjectKey::new(Kind::Role, r.clone())))
            .collect()
    }

    fn edges(&self) -> Vec<(ObjectKey, ObjectKey)> {
        self.refs()
            .into_iter()
            .map(|r| (self.object_key(), r.target))
            .collect()
    }
}
