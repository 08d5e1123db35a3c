//! The two lookups: what a subject can reach, and who can reach a resource (or data path),
//! each a complete, sorted answer read from one snapshot and served a page at a time.

use axum::extract::{Request, State};
use axum::Json;
use grantd_core::ids;
use grantd_core::invalid::Checker;
use grantd_core::model::SubjectType;
use serde_json::{json, Value};

use super::super::access::{Check, TenantAccess};
use super::super::error::{ApiError, ApiResult};
use super::super::extract::{decode_body, request_json};
use super::super::page::{page_limit, position};
use super::wire::{LookupResourcesRequest, LookupSubjectsRequest};
use super::{resource_key, resource_query, snapshot, validate};
use crate::http::cursor;
use crate::service::now_millis;
use crate::state::AppState;

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

pub(super) async fn lookup_resources(
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
        let found =
            snapshot.lookup_data_paths(&request.subject.id, &request.action, path, now_millis());
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
        now_millis(),
    );
    let item = |key: &str| {
        let (t, id) = key.split_once('/').unwrap_or(("", key));
        json!({"type": t, "id": id})
    };
    Ok(Json(lookup_page(found, limit, item, snapshot.revision())))
}

pub(super) async fn lookup_subjects(
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
        now_millis(),
    );
    Ok(Json(lookup_page(
        found,
        limit,
        |id| json!({"type": "user", "id": id}),
        snapshot.revision(),
    )))
}
