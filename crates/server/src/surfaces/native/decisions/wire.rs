//! The decision routes' requests and answers, as the wire and the OpenAPI document show
//! them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use grantd_core::decision::Explanation;
use grantd_core::model::{SubjectRef, SubjectType};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::Consistency;

/// How fresh the snapshot must be; `minimize_latency` when absent.
#[derive(Debug, PartialEq, Clone, Copy, Deserialize, ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConsistencyArg {
    MinimizeLatency,
    /// At least `revision`: pass a write's `Grantd-Revision` to see that write.
    AtLeastAsFresh {
        revision: i64,
    },
    FullyConsistent,
}

impl From<Option<ConsistencyArg>> for Consistency {
    fn from(arg: Option<ConsistencyArg>) -> Self {
        match arg {
            None | Some(ConsistencyArg::MinimizeLatency) => Consistency::MinimizeLatency,
            Some(ConsistencyArg::AtLeastAsFresh { revision }) => {
                Consistency::AtLeastAsFresh(revision)
            }
            Some(ConsistencyArg::FullyConsistent) => Consistency::FullyConsistent,
        }
    }
}

// The request bodies below borrow their strings from the body's bytes (`Cow`: borrowed
// unless the JSON escapes a character), so that decoding a check copies no string.

/// The user a check or lookup is asked for: a `SubjectRef`, read without copying its id.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectArg<'a> {
    #[serde(rename = "type")]
    pub subject_type: SubjectType,
    #[serde(borrow)]
    pub id: Cow<'a, str>,
}

/// A resource to decide on: a stored one by type and id (`labels` stand in for one grantd
/// does not store), or a data object by path.
#[derive(Debug, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckResource<'a> {
    #[serde(rename = "type", borrow)]
    #[schema(value_type = String)]
    pub resource_type: Cow<'a, str>,
    #[serde(borrow)]
    #[schema(value_type = String)]
    pub id: Cow<'a, str>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckItem<'a> {
    /// The user asking (`type` must be `user`).
    #[serde(borrow)]
    #[schema(value_type = SubjectRef)]
    pub subject: SubjectArg<'a>,
    #[serde(borrow)]
    #[schema(value_type = String)]
    pub action: Cow<'a, str>,
    /// Either `resource` or `data_path`.
    #[serde(default, borrow)]
    pub resource: Option<CheckResource<'a>>,
    #[serde(default, borrow)]
    #[schema(value_type = Option<String>)]
    pub data_path: Option<Cow<'a, str>>,
    /// Also answer which grants decided, and through which memberships.
    #[serde(default)]
    pub explain: bool,
    /// For a single check; a batch takes one `consistency` for all its checks.
    #[serde(default)]
    pub consistency: Option<ConsistencyArg>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest<'a> {
    /// 1 to 1,000 checks, answered in order on one snapshot.
    #[serde(borrow)]
    pub checks: Vec<CheckItem<'a>>,
    #[serde(default)]
    pub consistency: Option<ConsistencyArg>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResult {
    pub allowed: bool,
    /// `allow`, `deny` (a DENY grant matched, or the user is disabled) or `no_match`.
    pub decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

/// A check's result with the revision that answered it. Its fields are spelled out, not
/// `#[serde(flatten)]`ed from `CheckResult`: flattening serializes through a map. Only an
/// explained answer is serialized through this; `check_json` writes the others.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResponse {
    pub allowed: bool,
    /// `allow`, `deny` (a DENY grant matched, or the user is disabled) or `no_match`.
    pub decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// The revision of the snapshot that answered.
    pub revision: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupResourcesRequest<'a> {
    #[serde(borrow)]
    #[schema(value_type = SubjectRef)]
    pub subject: SubjectArg<'a>,
    #[serde(borrow)]
    #[schema(value_type = String)]
    pub action: Cow<'a, str>,
    /// Only resources of this type.
    #[serde(default, borrow)]
    #[schema(value_type = Option<String>)]
    pub resource_type: Option<Cow<'a, str>>,
    /// Instead of resources: the data objects under this path, as patterns.
    #[serde(default, borrow)]
    #[schema(value_type = Option<String>)]
    pub data_path: Option<Cow<'a, str>>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub consistency: Option<ConsistencyArg>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupSubjectsRequest<'a> {
    #[serde(borrow)]
    #[schema(value_type = String)]
    pub action: Cow<'a, str>,
    #[serde(default, borrow)]
    pub resource: Option<CheckResource<'a>>,
    #[serde(default, borrow)]
    #[schema(value_type = Option<String>)]
    pub data_path: Option<Cow<'a, str>>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub consistency: Option<ConsistencyArg>,
}
