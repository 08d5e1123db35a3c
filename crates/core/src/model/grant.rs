//! A grant: a subject may (ALLOW) or may not (DENY) exercise a privilege on a target.
//!
//! The privilege is a role's actions, a catalog permission, or a literal list of actions.
//! The target is the whole tenant, one resource (and what lies inside it), every resource
//! whose labels satisfy a selector, or every data object under a path pattern.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::resource::ResourceRef;
use super::subject::{SubjectRef, SubjectType};
use super::window::{check_window, Timestamp, Windowed};
use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object, ObjectKey, Ref};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Effect {
    #[serde(rename = "ALLOW", alias = "allow")]
    Allow,
    #[serde(rename = "DENY", alias = "deny")]
    Deny,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Privilege {
    /// Every action of the role (and the roles it includes).
    Role { id: String },
    /// One permission of the catalog.
    Permission { id: String },
    /// A literal list of actions; `*` or `ALL` covers every action.
    Actions { actions: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// Everything in the tenant.
    Tenant,
    /// One resource and every resource below it.
    Resource { resource: ResourceRef },
    /// Every resource (of `resource_type`, when given) carrying all of `labels`.
    Labels {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resource_type: Option<String>,
        labels: BTreeMap<String, String>,
    },
    /// Every data object under the pattern; `*` matches one segment.
    DataPath { pattern: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub id: String,
    pub subject: SubjectRef,
    pub privilege: Privilege,
    pub target: Target,
    pub effect: Effect,
    /// Where the grant came from (a policy, a person assignment, a permission set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// When it starts to match (RFC 3339); before, it matches nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub not_before: Option<Timestamp>,
    /// When it stops matching (RFC 3339, exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// On an ALLOW of a data path, the rows it allows: a boolean SQL expression over the
    /// table's columns (`region = 'eu'`), enforced by a synced PostgreSQL as a row-level
    /// security policy. grantd's own checks decide on objects, not rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_filter: Option<String>,
}

impl Object for Grant {
    const KIND: Kind = Kind::Grant;

    fn key(&self) -> String {
        self.id.clone()
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        c.check("id", ids::identifier(&self.id));
        self.subject.check(
            &mut c,
            "subject",
            &[SubjectType::User, SubjectType::Group, SubjectType::Role],
        );
        match &self.privilege {
            Privilege::Role { id } => c.check("privilege.id", ids::identifier(id)),
            Privilege::Permission { id } => c.check("privilege.id", ids::permission_name(id)),
            Privilege::Actions { actions } => {
                c.check("privilege.actions", ids::actions(actions, false))
            }
        }
        match &self.target {
            Target::Tenant => {}
            Target::Resource { resource } => resource.check(&mut c, "target.resource"),
            Target::Labels {
                resource_type,
                labels,
            } => {
                if let Some(t) = resource_type {
                    c.check("target.resource_type", ids::resource_type(t));
                }
                c.check("target.labels", ids::labels(labels));
            }
            Target::DataPath { pattern } => c.check("target.pattern", ids::data_path(pattern)),
        }
        c.check("origin", ids::text(&self.origin));
        check_window(&mut c, self.not_before, self.expires_at);
        if let Some(filter) = &self.row_filter {
            c.check("row_filter", ids::row_filter(filter));
            if !matches!(self.target, Target::DataPath { .. }) || self.effect != Effect::Allow {
                c.fail(
                    "row_filter",
                    "only an ALLOW on a data path (a table) filters rows",
                );
            }
            let select_only = matches!(&self.privilege, Privilege::Actions { actions } if actions.iter().all(|a| a == "SELECT"));
            if !select_only {
                c.fail(
                    "row_filter",
                    "a row filter limits what a user reads: its grant allows SELECT only (grant other actions apart)",
                );
            }
        }
        c.finish()
    }

    fn refs(&self) -> Vec<Ref> {
        let mut refs = vec![Ref::cascade("subject", self.subject.object_key())];
        match &self.privilege {
            Privilege::Role { id } => refs.push(Ref::cascade(
                "privilege",
                ObjectKey::new(Kind::Role, id.clone()),
            )),
            Privilege::Permission { id } => refs.push(Ref::cascade(
                "privilege",
                ObjectKey::new(Kind::Permission, id.clone()),
            )),
            Privilege::Actions { .. } => {}
        }
        if let Target::Resource { resource } = &self.target {
            refs.push(Ref::cascade("target", resource.object_key()));
        }
        refs
    }
}

impl Windowed for Grant {
    fn window(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        (self.not_before, self.expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn grant_round_trips_and_names_its_refs() {
        let grant: Grant = serde_json::from_value(json!({
            "id": "g1",
            "subject": {"type": "group", "id": "eng"},
            "privilege": {"type": "role", "id": "viewer"},
            "target": {"type": "resource", "resource": {"type": "SOURCE", "id": "s1"}},
            "effect": "ALLOW"
        }))
        .expect("valid grant");
        assert!(grant.validate().is_ok());
        let targets: Vec<String> = grant.refs().iter().map(|r| r.target.to_string()).collect();
        assert_eq!(targets, ["group:eng", "role:viewer", "resource:SOURCE/s1"]);
    }

    #[test]
    fn invalid_grant_names_every_field() {
        let grant = Grant {
            id: "".into(),
            subject: SubjectRef {
                subject_type: SubjectType::User,
                id: "bad id".into(),
            },
            privilege: Privilege::Actions { actions: vec![] },
            target: Target::DataPath {
                pattern: "a//b".into(),
            },
            effect: Effect::Deny,
            origin: None,
            not_before: None,
            expires_at: None,
            row_filter: None,
        };
        let Err(Invalid(errors)) = grant.validate() else {
            panic!("must be invalid")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["id", "subject.id", "privilege.actions", "target.pattern"]
        );
    }
}
