//! Groups and their members. A group may contain users and other groups; the nesting must
//! stay acyclic, so that a user's groups are a finite set.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::subject::{SubjectRef, SubjectType};
use super::window::{check_window, Timestamp, Windowed};
use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object, ObjectKey, Ref};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Object for Group {
    const KIND: Kind = Kind::Group;

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

/// A user or group's membership in a group, for as long as its window holds. Keyed
/// `group/type:id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub group: String,
    pub member: SubjectRef,
    /// When it starts to hold (RFC 3339); before, it grants nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub not_before: Option<Timestamp>,
    /// When it stops holding (RFC 3339, exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
}

impl Windowed for Member {
    fn window(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        (self.not_before, self.expires_at)
    }
}

impl Member {
    /// A membership that holds always.
    pub fn new(group: impl Into<String>, member: SubjectRef) -> Member {
        Member {
            group: group.into(),
            member,
            not_before: None,
            expires_at: None,
        }
    }

    /// The key prefix shared by every member of `group`.
    pub fn prefix(group: &str) -> String {
        format!("{group}/")
    }
}

impl Object for Member {
    const KIND: Kind = Kind::Member;

    fn key(&self) -> String {
        format!("{}{}", Self::prefix(&self.group), self.member.key())
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        c.check("group", ids::identifier(&self.group));
        self.member
            .check(&mut c, "member", &[SubjectType::User, SubjectType::Group]);
        check_window(&mut c, self.not_before, self.expires_at);
        c.finish()
    }

    fn refs(&self) -> Vec<Ref> {
        vec![
            Ref::cascade("group", ObjectKey::new(Kind::Group, self.group.clone())),
            Ref::cascade("member", self.member.object_key()),
        ]
    }

    fn edges(&self) -> Vec<(ObjectKey, ObjectKey)> {
        match self.member.subject_type {
            SubjectType::Group => vec![(
                self.member.object_key(),
                ObjectKey::new(Kind::Group, self.group.clone()),
            )],
            _ => Vec::new(),
        }
    }
}
