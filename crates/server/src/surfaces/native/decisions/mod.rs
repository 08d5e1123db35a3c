//! The decision routes: check, batch check, and the two lookups. Each reads one snapshot,
//! as fresh as the request's `consistency` asks, and answers the revision it read.

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
use grantd_core::decision::{CheckQuery, ResourceQuery, Snapshot, Verdict};
use grantd_core::ids;
use grantd_core::invalid::Checker;
use grantd_core::model::{key_of, SubjectType};
use serde_json::{json, Value};

mod lookups;
mod scan;
mod wire;

use lookups::{lookup_resources, lookup_subjects};
use scan::scan;
pub use wire::{
    BatchRequest, CheckItem, CheckResource, CheckResponse, CheckResult, ConsistencyArg,
    LookupResourcesRequest, LookupSubjectsRequest, SubjectArg,
};

use super::access::{authorize, Check, TenantAccess};
use super::error::{ApiError, ApiResult};
use super::extract::{decode_body, json_body, request_json, PathParams};
use super::routes::{schema_ref, Api, Auth, Operation};
use crate::http::meta::client_addr;
use crate::service::{now_millis, Scope};
use crate::state::AppState;

/// Most checks in one batch.
pub const MAX_BATCH: usize = 1000;

/// The check route's template: registered with the router, recognised by `direct`, and
/// the name the metrics count it under.
pub const CHECK_ROUTE: &str = "/v1/tenants/{tenant}/check";

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

fn decide(snapshot: &Snapshot, item: &CheckItem, at: i64) -> CheckResult {
    let key = resource_key(item.resource.as_ref());
    let query = CheckQuery {
        user: &item.subject.id,
        action: &item.action,
        resource: resource_query(
            key.as_deref(),
            item.resource.as_ref(),
            item.data_path.as_deref(),
        ),
        at,
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
    } = decide(&snapshot, &item, now_millis());
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
    // Every check of a batch is decided at one instant, as on one snapshot.
    let at = now_millis();
    let mut since_yield = Instant::now();
    for item in &request.checks {
        results.push(decide(&snapshot, item, at));
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
