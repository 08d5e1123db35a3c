//! A user: the subject that checks are asked about. Segment users, SlashID persons and
//! DataArts USER members are all users.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free key-value attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// A disabled user is denied every check.
    #[serde(default)]
    pub disabled: bool,
}

impl Object for User {
    const KIND: Kind = Kind::User;

    fn key(&self) -> String {
        self.id.clone()
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        c.check("id", ids::identifier(&self.id));
        if let Some(email) = &self.email {
            c.check("email", ids::email(email));
        }
        c.check("name", ids::text(&self.name));
        c.check("attributes", ids::labels(&self.attributes));
        c.finish()
    }
}
