//! A permission: a named capability in the tenant's catalog (SlashID permissions; the names
//! that grants and roles may refer to).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Permission {
    /// The permission's name, e.g. `documents/read`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Object for Permission {
    const KIND: Kind = Kind::Permission;

    fn key(&self) -> String {
        self.id.clone()
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        c.check("id", ids::permission_name(&self.id));
        c.check("description", ids::text(&self.description));
        c.finish()
    }
}
