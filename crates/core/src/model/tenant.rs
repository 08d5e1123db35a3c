//! A tenant: the unit of isolation. Nothing is read or written across tenants.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Object for Tenant {
    const KIND: Kind = Kind::Tenant;

    fn key(&self) -> String {
        self.id.clone()
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        c.check("id", ids::identifier(&self.id));
        c.check("name", ids::text(&self.name));
        c.check("description", ids::text(&self.description));
        c.finish()
    }
}
