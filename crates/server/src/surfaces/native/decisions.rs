//! The decision routes: check, batch check, and the two lookups. Each reads one snapshot,
//! as fresh as the request's `consistency` asks, and answers the revision it read.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::Json;
use grantd_core::decision::{CheckQuery, Explanation, ResourceQuery, Snapshot, Verdict};
use grantd_core::ids;
use grantd_core::invalid::Checker;
use grantd_core::model::{key_of, SubjectRef, SubjectType};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::access::{Check, TenantAccess};
use super::error::{ApiError, ApiResult};
use super::extract::Typed;
use super::page::{page_limit, position};
use super::routes::{schema_ref, Api, Auth, Operation};
use crate::http::cursor;
use crate::service::{Consistency, Scope};
use crate::state::AppState;

/// Most checks in one batch.
pub const MAX_BATCH: usize = 1000;

/// How fresh the snapshot must be; `minimize_latency` when absent.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
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

/// A resource to decide on: a stored one by type and id (`labels` stand in for one grantd
/// does not store), or a data object by path.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckResource {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub id: String,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckItem {
    /// The user asking (`type` must be `user`).
    pub subject: SubjectRef,
    pub action: String,
    /// Either `resource` or `data_path`.
    #[serde(default)]
    pub resource: Option<CheckResource>,
    #[serde(default)]
    pub data_path: Option<String>,
    /// Also answer which grants decided, and through which memberships.
    #[serde(default)]
    pub explain: bool,
    /// For a single check; a batch takes one `consistency` for all its checks.
    #[serde(default)]
    pub consistency: Option<ConsistencyArg>,
}

/// A single check is one item with its `consistency`.
pub type CheckRequest = CheckItem;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1 to 1,000 checks, answered in order on one snapshot.
    pub checks: Vec<CheckItem>,
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
/// `#[serde(flatten)]`ed from `CheckResult`: flattening serializes through a map, and this
/// answer is on the hot path.
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
pub struct LookupResourcesRequest {
    pub subject: SubjectRef,
    pub action: String,
    /// Only resources of this type.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// Instead of resources: the data objects under this path, as patterns.
    #[serde(default)]
    pub data_path: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub consistency: Option<ConsistencyArg>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupSubjectsRequest {
    pub action: String,
    #[serde(default)]
    pub resource: Option<CheckResource>,
    #[serde(default)]
    pub data_path: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub consistency: Option<ConsistencyArg>,
}

/// Checks a check's fields; names each wrong one.
fn validate(
    c: &mut Checker,
    prefix: &str,
    subject: Option<&SubjectRef>,
    action: &str,
    resource: &Option<CheckResource>,
    data_path: &Option<String>,
) {
    if let Some(subject) = subject {
        if subject.subject_type != SubjectType::User {
            c.fail(
                format!("{prefix}subject.type"),
                "checks are asked for a user",
            );
        }
    }
    c.check_at(prefix, "action", ids::action(action));
    match (resource, data_path) {
        (Some(r), None) => {
            c.check_at(
                prefix,
                "resource.type",
                ids::resource_type(&r.resource_type),
            );
            c.check_at(prefix, "resource.id", ids::identifier(&r.id));
        }
        (None, Some(path)) => c.check_at(prefix, "data_path", ids::data_path(path)),
        _ => c.fail(
            format!("{prefix}resource"),
            "give exactly one of `resource` and `data_path`",
        ),
    }
}

fn resource_query<'a>(
    key: &'a Option<String>,
    resource: &'a Option<CheckResource>,
    data_path: &'a Option<String>,
) -> ResourceQuery<'a> {
    match (key, data_path) {
        (Some(key), _) => ResourceQuery::Object {
            key,
            labels: resource.as_ref().and_then(|r| r.labels.as_ref()),
        },
        (None, Some(path)) => ResourceQuery::DataPath(path),
        (None, None) => ResourceQuery::DataPath(""),
    }
}

fn resource_key(resource: &Option<CheckResource>) -> Option<String> {
    resource.as_ref().map(|r| key_of(&r.resource_type, &r.id))
}

fn decide(snapshot: &Snapshot, item: &CheckItem) -> CheckResult {
    let key = resource_key(&item.resource);
    let query = CheckQuery {
        user: &item.subject.id,
        action: &item.action,
        resource: resource_query(&key, &item.resource, &item.data_path),
    };
    let (verdict, explanation) = if item.explain {
        let explanation = snapshot.explain(&query);
        (explanation.verdict, Some(explanation))
    } else {
        (snapshot.check(&query), None)
    };
    CheckResult {
        allowed: verdict == Verdict::Allow,
        decision: verdict.as_str(),
        explanation,
    }
}

/// The tenant's snapshot, as fresh as the request asks.
async fn snapshot(
    state: &AppState,
    tenant: &str,
    consistency: Option<ConsistencyArg>,
) -> ApiResult<Arc<Snapshot>> {
    let timeout = Duration::from_millis(state.config.consistency_timeout_ms);
    Ok(state
        .service
        .snapshot(tenant, consistency.into(), timeout)
        .await?)
}

async fn check(
    State(state): State<AppState>,
    access: TenantAccess<Check>,
    Typed(request): Typed<CheckRequest>,
) -> ApiResult<Json<CheckResponse>> {
    let item = &request;
    let mut c = Checker::new();
    validate(
        &mut c,
        "",
        Some(&item.subject),
        &item.action,
        &item.resource,
        &item.data_path,
    );
    c.finish().map_err(ApiError::from)?;
    let snapshot = snapshot(&state, &access.ctx.tenant, request.consistency).await?;
    let CheckResult {
        allowed,
        decision,
        explanation,
    } = decide(&snapshot, item);
    Ok(Json(CheckResponse {
        allowed,
        decision,
        explanation,
        revision: snapshot.revision(),
    }))
}

async fn batch(
    State(state): State<AppState>,
    access: TenantAccess<Check>,
    Typed(request): Typed<BatchRequest>,
) -> ApiResult<Json<Value>> {
    let mut c = Checker::new();
    if request.checks.is_empty() || request.checks.len() > MAX_BATCH {
        c.fail(
            "checks",
            format!(
                "must hold 1 to {MAX_BATCH} checks, not {}",
                request.checks.len()
            ),
        );
    }
    for (i, item) in request.checks.iter().enumerate() {
        if item.consistency.is_some() {
            c.fail(
                format!("checks[{i}].consistency"),
                "give `consistency` once, for the whole batch",
            );
        }
        validate(
            &mut c,
            &format!("checks[{i}]."),
            Some(&item.subject),
            &item.action,
            &item.resource,
            &item.data_path,
        );
    }
    c.finish().map_err(ApiError::from)?;
    let snapshot = snapshot(&state, &access.ctx.tenant, request.consistency).await?;
    let results: Vec<CheckResult> = request
        .checks
        .iter()
        .map(|item| decide(&snapshot, item))
        .collect();
    Ok(Json(
        json!({"revision": snapshot.revision(), "results": results}),
    ))
}

/// A page of a lookup's complete, sorted answer.
fn lookup_page(
    found: Vec<String>,
    limit: u32,
    to_item: impl Fn(&str) -> Value,
    revision: i64,
) -> Value {
    let more = found.len() > limit as usize;
    let items: Vec<Value> = found
        .iter()
        .take(limit as usize)
        .map(|k| to_item(k))
        .collect();
    let mut page = json!({"revision": revision, "items": items});
    if more {
        if let Some(last) = found.get(limit as usize - 1) {
            page["next_cursor"] = json!(cursor::encode(last));
        }
    }
    page
}

async fn lookup_resources(
    State(state): State<AppState>,
    access: TenantAccess<Check>,
    Typed(request): Typed<LookupResourcesRequest>,
) -> ApiResult<Json<Value>> {
    let mut c = Checker::new();
    if request.subject.subject_type != SubjectType::User {
        c.fail("subject.type", "lookups are asked for a user");
    }
    c.check("action", ids::action(&request.action));
    if let Some(t) = &request.resource_type {
        c.check("resource_type", ids::resource_type(t));
    }
    if let Some(path) = &request.data_path {
        c.check("data_path", ids::data_path(path));
        if request.resource_type.is_some() {
            c.fail("data_path", "give `resource_type` or `data_path`, not both");
        }
    }
    c.finish().map_err(ApiError::from)?;
    let limit = page_limit(request.limit)?;
    let after = position(request.cursor.as_deref())?;
    let snapshot = snapshot(&state, &access.ctx.tenant, request.consistency).await?;
    if let Some(path) = &request.data_path {
        let found = snapshot.lookup_data_paths(&request.subject.id, &request.action, path);
        let found: Vec<_> = found
            .into_iter()
            .filter(|f| after.as_ref().is_none_or(|a| f.data_path > *a))
            .collect();
        let keys: Vec<String> = found.iter().map(|f| f.data_path.clone()).collect();
        let item = |key: &str| {
            found
                .iter()
                .find(|f| f.data_path == key)
                .map(|f| json!(f))
                .unwrap_or_default()
        };
        return Ok(Json(lookup_page(keys, limit, item, snapshot.revision())));
    }
    let found = snapshot.lookup_resources(
        &request.subject.id,
        &request.action,
        request.resource_type.as_deref(),
        after.as_deref(),
    );
    let item = |key: &str| {
        let (t, id) = key.split_once('/').unwrap_or(("", key));
        json!({"type": t, "id": id})
    };
    Ok(Json(lookup_page(found, limit, item, snapshot.revision())))
}

async fn lookup_subjects(
    State(state): State<AppState>,
    access: TenantAccess<Check>,
    Typed(request): Typed<LookupSubjectsRequest>,
) -> ApiResult<Json<Value>> {
    let mut c = Checker::new();
    validate(
        &mut c,
        "",
        None,
        &request.action,
        &request.resource,
        &request.data_path,
    );
    c.finish().map_err(ApiError::from)?;
    let limit = page_limit(request.limit)?;
    let after = position(request.cursor.as_deref())?;
    let snapshot = snapshot(&state, &access.ctx.tenant, request.consistency).await?;
    let key = resource_key(&request.resource);
    let found = snapshot.lookup_subjects(
        &request.action,
        resource_query(&key, &request.resource, &request.data_path),
        after.as_deref(),
    );
    Ok(Json(lookup_page(
        found,
        limit,
        |id| json!({"type": "user", "id": id}),
        snapshot.revision(),
    )))
}

pub fn register(api: &mut Api) {
    let check_scope = Auth::Tenant(Scope::Check);
    let base = "/v1/tenants/{tenant}";
    api.add(
        Operation::new("post", format!("{base}/check"), "check", "decisions", check_scope)
            .summary("May this user do this action on this resource? With `explain`, which grants decided and why")
            .request(schema_ref("CheckItem"))
            .response(200, "The decision and the revision that answered", Some(schema_ref("CheckResponse"))),
        post(check),
    );
    api.add(
        Operation::new(
            "post",
            format!("{base}/check/batch"),
            "check_batch",
            "decisions",
            check_scope,
        )
        .summary("Up to 1,000 checks answered on one snapshot")
        .request(schema_ref("BatchRequest"))
        .response(
            200,
            "`{revision, results: [CheckResult]}`, in the order asked",
            None,
        ),
        post(batch),
    );
    api.add(
        Operation::new("post", format!("{base}/lookup/resources"), "lookup_resources", "decisions", check_scope)
            .summary("Every resource (of a type) on which the user may do the action, or the data objects under a path (as patterns, with DENY carve-outs); complete, in order, paged")
            .request(schema_ref("LookupResourcesRequest"))
            .response(200, "`{revision, items: [{type, id}], next_cursor?}`", None),
        post(lookup_resources),
    );
    api.add(
        Operation::new("post", format!("{base}/lookup/subjects"), "lookup_subjects", "decisions", check_scope)
            .summary("Every user who may do the action on the resource, groups and roles expanded; complete, paged")
            .request(schema_ref("LookupSubjectsRequest"))
            .response(200, "`{revision, items: [{type: user, id}], next_cursor?}`", None),
        post(lookup_subjects),
    );
}
