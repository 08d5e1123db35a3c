//! The decision routes: check, batch check, and the two lookups. Each reads one snapshot,
//! as fresh as the request's `consistency` asks, and answers the revision it read.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Json;
use grantd_core::decision::{CheckQuery, Explanation, ResourceQuery, Snapshot, Verdict};
use grantd_core::ids;
use grantd_core::invalid::Checker;
use grantd_core::model::{key_of, SubjectRef, SubjectType};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::access::{authorize, Check, TenantAccess};
use super::check_scan::scan;
use super::error::{ApiError, ApiResult};
use super::extract::{decode_body, json_body, request_json, PathParams};
use super::page::{page_limit, position};
use super::routes::{schema_ref, Api, Auth, Operation};
use crate::http::cursor;
use crate::http::meta::client_addr;
use crate::service::{Consistency, Scope};
use crate::state::AppState;

/// Most checks in one batch.
pub const MAX_BATCH: usize = 1000;

/// The check route's template: registered with the router, recognised by `direct`, and
/// the name the metrics count it under.
pub const CHECK_ROUTE: &str = "/v1/tenants/{tenant}/check";

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

/// Checks a check's fields; names each wrong one.
fn validate(
    c: &mut Checker,
    prefix: &str,
    subject: Option<&SubjectArg>,
    action: &str,
    resource: Option<&CheckResource>,
    data_path: Option<&str>,
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
        (None, Some(path)) => c.check_at(prefix, "data_path", ids::object_path(path)),
        _ => c.fail(
            format!("{prefix}resource"),
            "give exactly one of `resource` and `data_path`",
        ),
    }
}

fn resource_query<'a>(
    key: Option<&'a str>,
    resource: Option<&'a CheckResource>,
    data_path: Option<&'a str>,
) -> ResourceQuery<'a> {
    match key {
        Some(key) => ResourceQuery::Object {
            key,
            labels: resource.and_then(|r| r.labels.as_ref()),
        },
        None => ResourceQuery::DataPath(data_path.unwrap_or_default()),
    }
}

fn resource_key(resource: Option<&CheckResource>) -> Option<String> {
    resource.map(|r| key_of(&r.resource_type, &r.id))
}

fn decide(snapshot: &Snapshot, item: &CheckItem) -> CheckResult {
    let key = resource_key(item.resource.as_ref());
    let query = CheckQuery {
        user: &item.subject.id,
        action: &item.action,
        resource: resource_query(
            key.as_deref(),
            item.resource.as_ref(),
            item.data_path.as_deref(),
        ),
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
    Ok(state.service.snapshot(tenant, consistency.into()).await?)
}

/// `POST /v1/tenants/{tenant}/check`, for the router and for `direct` alike: the caller's
/// authority (from `client`), the body, the decision, the answer.
pub async fn answer_check(
    state: &AppState,
    tenant: &str,
    client: Option<IpAddr>,
    parts: &Parts,
    body: Body,
) -> Response {
    match check(state, tenant, client, parts, body).await {
        Ok(answer) => answer,
        Err(error) => error.into_response(),
    }
}

async fn check(
    state: &AppState,
    tenant: &str,
    client: Option<IpAddr>,
    parts: &Parts,
    body: Body,
) -> ApiResult<Response> {
    authorize(parts, client, state, tenant, Scope::Check).await?;
    let bytes = json_body(&parts.headers, body, state.config.max_body_bytes).await?;
    let item = match scan(&bytes) {
        Some(item) => item,
        None => decode_body(&bytes)?,
    };
    let mut c = Checker::new();
    validate(
        &mut c,
        "",
        Some(&item.subject),
        &item.action,
        item.resource.as_ref(),
        item.data_path.as_deref(),
    );
    c.finish().map_err(ApiError::from)?;
    let snapshot = snapshot(state, tenant, item.consistency).await?;
    let CheckResult {
        allowed,
        decision,
        explanation,
    } = decide(&snapshot, &item);
    let revision = snapshot.revision();
    if explanation.is_some() {
        return Ok(Json(CheckResponse {
            allowed,
            decision,
            explanation,
            revision,
        })
        .into_response());
    }
    let mut answer = Response::new(Body::from(check_json(allowed, decision, revision)));
    answer
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(answer)
}

/// An unexplained check's answer, as serde would write `CheckResponse`, without serde:
/// its three fields are a bool, one of three fixed words and a number. Written on the
/// stack and copied once into the body, which then owns exactly its bytes.
fn check_json(allowed: bool, decision: &'static str, revision: i64) -> Bytes {
    let mut revision_digits = itoa::Buffer::new();
    let revision = revision_digits.format(revision);
    let parts: [&[u8]; 5] = [
        if allowed {
            b"{\"allowed\":true,\"decision\":\""
        } else {
            b"{\"allowed\":false,\"decision\":\""
        },
        decision.as_bytes(),
        b"\",\"revision\":",
        revision.as_bytes(),
        b"}",
    ];
    // 33 + 8 + 12 + 20 + 1: the longest answer fits.
    let mut out = [0u8; 80];
    let mut len = 0;
    for part in parts {
        out[len..len + part.len()].copy_from_slice(part);
        len += part.len();
    }
    Bytes::copy_from_slice(&out[..len])
}

/// The routed check: for a request `direct` leaves to the router (one whose tenant is
/// percent-encoded, say).
async fn routed_check(
    State(state): State<AppState>,
    params: PathParams,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let client = client_addr(&parts);
    answer_check(&state, params.get("tenant"), client, &parts, body).await
}

async fn batch(
    State(state): State<AppState>,
    access: TenantAccess<Check>,
    request: Request,
) -> ApiResult<Json<Value>> {
    let bytes = request_json(request, &state).await?;
    let request: BatchRequest = decode_body(&bytes)?;
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
            item.resource.as_ref(),
            item.data_path.as_deref(),
        );
    }
    let work: u64 = request
        .checks
        .iter()
        .map(|item| if item.explain { EXPLAIN_WORK } else { 1 })
        .sum();
    let budget = u64::from(state.config.max_batch_work);
    if work > budget {
        c.fail(
            "checks",
            format!(
                "this batch is {work} units of work (an explained check counts {EXPLAIN_WORK}); \
                 the limit is {budget} (max_batch_work): split it"
            ),
        );
    }
    c.finish().map_err(ApiError::from)?;
    let snapshot = snapshot(&state, &access.ctx.tenant, request.consistency).await?;
    let mut results: Vec<CheckResult> = Vec::with_capacity(request.checks.len());
    let mut since_yield = Instant::now();
    for item in &request.checks {
        results.push(decide(&snapshot, item));
        // Deciding never waits, so without this a long batch would hold its worker until
        // done: the request timeout could not stop it, nor other requests run beside it.
        if since_yield.elapsed() >= YIELD_EVERY {
            tokio::task::yield_now().await;
            since_yield = Instant::now();
        }
    }
    Ok(Json(
        json!({"revision": snapshot.revision(), "results": results}),
    ))
}

/// What an explained check counts towards `max_batch_work`: it walks the memberships and
/// allocates its answer.
const EXPLAIN_WORK: u64 = 10;
/// A batch gives its worker up at least this often.
const YIELD_EVERY: Duration = Duration::from_millis(2);

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
    request: Request,
) -> ApiResult<Json<Value>> {
    let bytes = request_json(request, &state).await?;
    let request: LookupResourcesRequest = decode_body(&bytes)?;
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
    request: Request,
) -> ApiResult<Json<Value>> {
    let bytes = request_json(request, &state).await?;
    let request: LookupSubjectsRequest = decode_body(&bytes)?;
    let mut c = Checker::new();
    validate(
        &mut c,
        "",
        None,
        &request.action,
        request.resource.as_ref(),
        request.data_path.as_deref(),
    );
    c.finish().map_err(ApiError::from)?;
    let limit = page_limit(request.limit)?;
    let after = position(request.cursor.as_deref())?;
    let snapshot = snapshot(&state, &access.ctx.tenant, request.consistency).await?;
    let key = resource_key(request.resource.as_ref());
    let found = snapshot.lookup_subjects(
        &request.action,
        resource_query(
            key.as_deref(),
            request.resource.as_ref(),
            request.data_path.as_deref(),
        ),
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
        Operation::new("post", CHECK_ROUTE, "check", "decisions", check_scope)
            .summary("May this user do this action on this resource? With `explain`, which grants decided and why")
            .request(schema_ref("CheckItem"))
            .response(200, "The decision and the revision that answered", Some(schema_ref("CheckResponse"))),
        post(routed_check),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_check_answer_is_what_serde_writes() {
        for (allowed, decision, revision) in [
            (true, "allow", 0),
            (false, "deny", 42),
            (false, "no_match", i64::MAX),
            (false, "no_match", i64::MIN),
        ] {
            let serde = serde_json::to_vec(&CheckResponse {
                allowed,
                decision,
                explanation: None,
                revision,
            })
            .expect("serializes");
            assert_eq!(check_json(allowed, decision, revision), serde);
        }
    }
}
