//! A label of the tenant's catalog: a `key: value` pair that resources carry and that
//! label-restricted grants select on (Segment's workspace labels).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub key: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Label {
    /// The store key of the label `key: value`; label keys hold no `=`, so it parses back.
    pub fn key_of(key: &str, value: &str) -> String {
        format!("{key}={value}")
    }
}

impl Object for Label {
    const KIND: Kind = Kind::Label;

    fn key(&self) -> String {
        Label::key_of(&self.key, &self.value)
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        let pair = BTreeMap::from([(self.key.clone(), self.value.clone())]);
        c.check("key", ids::labels(&pair));
        if self.value.is_empty() {
            c.fail("value", "must not be empty");
        }
        c.check("description", ids::text(&self.description));
        c.finish()
    }
}
