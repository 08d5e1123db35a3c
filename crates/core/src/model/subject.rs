//! A reference to a subject: who a grant, membership or role assignment is about.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::invalid::Checker;
use crate::{ids, Kind, ObjectKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    User,
    Group,
    Role,
}

impl SubjectType {
    pub fn kind(self) -> Kind {
        match self {
            SubjectType::User => Kind::User,
            SubjectType::Group => Kind::Group,
            SubjectType::Role => Kind::Role,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.kind().as_str()
    }

    pub fn parse(value: &str) -> Option<SubjectType> {
        [SubjectType::User, SubjectType::Group, SubjectType::Role]
            .into_iter()
            .find(|t| t.as_str() == value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectRef {
    #[serde(rename = "type")]
    pub subject_type: SubjectType,
    pub id: String,
}

impl SubjectRef {
    pub fn object_key(&self) -> ObjectKey {
        ObjectKey::new(self.subject_type.kind(), self.id.clone())
    }

    /// `type:id`, the form used in composite keys.
    pub fn key(&self) -> String {
        format!("{}:{}", self.subject_type.as_str(), self.id)
    }

    /// Checks the id, and that the type is one of `allowed`.
    pub(crate) fn check(&self, c: &mut Checker, field: &str, allowed: &[SubjectType]) {
        if !allowed.contains(&self.subject_type) {
            let names: Vec<_> = allowed.iter().map(|t| t.as_str()).collect();
            c.fail(
                format!("{field}.type"),
                format!("must be one of: {}", names.join(", ")),
            );
        }
        c.check(format!("{field}.id"), ids::identifier(&self.id));
    }
}
