//! A resource: something typed that grants can target, optionally inside a parent (a source
//! in a workspace, a table in a schema) and carrying labels that label selectors match.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object, ObjectKey, Ref};

/// A resource's key, `type/id`.
pub fn key_of(resource_type: &str, id: &str) -> String {
    let mut key = String::with_capacity(resource_type.len() + 1 + id.len());
    key.push_str(resource_type);
    key.push('/');
    key.push_str(id);
    key
}

/// Names a resource by type and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceRef {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub id: String,
}

impl ResourceRef {
    /// `type/id`, the resource's key.
    pub fn key(&self) -> String {
        key_of(&self.resource_type, &self.id)
    }

    pub fn object_key(&self) -> ObjectKey {
        ObjectKey::new(Kind::Resource, self.key())
    }

    pub(crate) fn check(&self, c: &mut Checker, field: &str) {
        c.check(
            format!("{field}.type"),
            ids::resource_type(&self.resource_type),
        );
        c.check(format!("{field}.id"), ids::identifier(&self.id));
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub id: String,
    /// The resource this one lies in; grants on the parent cover it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ResourceRef>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Resource {
    pub fn reference(&self) -> ResourceRef {
        ResourceRef {
            resource_type: self.resource_type.clone(),
            id: self.id.clone(),
        }
    }
}

impl Object for Resource {
    const KIND: Kind = Kind::Resource;

    fn key(&self) -> String {
        self.reference().key()
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        self.reference().check(&mut c, "resource");
        if let Some(parent) = &self.parent {
            parent.check(&mut c, "parent");
            if *parent == self.reference() {
                c.fail("parent", "a resource cannot be its own parent");
            }
        }
        c.check("labels", ids::labels(&self.labels));
        c.finish()
    }

    fn refs(&self) -> Vec<Ref> {
        self.parent
            .iter()
            .map(|p| Ref::restrict("parent", p.object_key()))
            .collect()
    }

    fn edges(&self) -> Vec<(ObjectKey, ObjectKey)> {
        self.refs()
            .into_iter()
            .map(|r| (self.object_key(), r.target))
            .collect()
    }
}
