//! A role assignment: a user or group holds a role across the tenant, and with it the
//! grants made to that role, for as long as its window holds. Keyed `type:id/role`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::subject::{SubjectRef, SubjectType};
use super::window::{check_window, Timestamp, Windowed};
use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object, ObjectKey, Ref};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub subject: SubjectRef,
    pub role: String,
    /// When it starts to hold (RFC 3339); before, it grants nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub not_before: Option<Timestamp>,
    /// When it stops holding (RFC 3339, exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
}

impl Assignment {
    /// An assignment that holds always.
    pub fn new(subject: SubjectRef, role: impl Into<String>) -> Assignment {
        Assignment {
            subject,
            role: role.into(),
            not_before: None,
            expires_at: None,
        }
    }
}

impl Windowed for Assignment {
    fn window(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        (self.not_before, self.expires_at)
    }
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
        check_window(&mut c, self.not_before, self.expires_at);
        c.finish()
    }

    fn refs(&self) -> Vec<Ref> {
        vec![
            Ref::cascade("subject", self.subject.object_key()),
            Ref::cascade("role", ObjectKey::new(Kind::Role, self.role.clone())),
        ]
    }
}
