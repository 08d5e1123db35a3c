//! The security administrator of a DataArts workspace: the user or group that manages its
//! permission sets.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::permission_set::{one_of, short, MANAGER_TYPES};
use crate::invalid::Checker;
use crate::{Invalid, Kind, Object};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityAdmin {
    /// The DataArts workspace it administers.
    pub workspace: String,
    /// `USER` or `USER_GROUP`.
    pub manager_type: String,
    pub manager_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_name: Option<String>,
}

impl Object for SecurityAdmin {
    const KIND: Kind = Kind::SecurityAdmin;

    fn key(&self) -> String {
        self.workspace.clone()
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        short(&mut c, "workspace", &Some(self.workspace.clone()));
        one_of(&mut c, "manager_type", &self.manager_type, &MANAGER_TYPES);
        short(&mut c, "manager_id", &Some(self.manager_id.clone()));
        short(&mut c, "manager_name", &self.manager_name);
        c.finish()
    }
}
