//! A role assignment: a user or group holds a role across the tenant, and with it the
//! grants made to that role. Keyed `type:id/role`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::subject::{SubjectRef, SubjectType};
use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object, ObjectKey, Ref};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub subject: SubjectRef,
    pub role: String,
}

impl Object for Assignment {
    const KIND: Kind = Kind::Assignment;

    fn key(&self) -> String {
        format!("{}/{}", self.subject.key(), self.role)
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        self.subject
            .check(&mut c, "subject", &[SubjectType::User, SubjectType::Group]);
        c.check("role", ids::identifier(&self.role));
        c.finish()
    }

    fn refs(&self) -> Vec<Ref> {
        vec![
            Ref::cascade("subject", self.subject.object_key()),
            Ref::cascade("role", ObjectKey::new(Kind::Role, self.role.clone())),
        ]
    }
}
