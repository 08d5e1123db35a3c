//! The generic object routes: list, create, get, replace, patch and delete, the same for
//! every kind. Handlers extract, call one service method and shape the answer.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::Json;
use grantd_store::Expect;
use serde_json::{json, Map, Value};

use super::access::{Read, TenantAccess, Write};
use super::error::{ApiError, ApiResult};
use super::extract::{decode, ApiQuery, JsonBody, PathParams};
use super::kinds::{ListParams, Routed, WindowFilter};
use super::page::{page_json, page_limit, page_query, page_schema, position};
use super::routes::{schema_ref, Api, Auth, Operation};
use super::view::{object_view, write_response};
use crate::http::preconditions;
use crate::service::{Scope, ServiceError, Versioned};
use crate::state::AppState;

/// Fields the server sets; accepted in bodies (so a GET's answer can be sent back) and ignored.
const READ_ONLY: [&str; 4] = ["version", "created_at", "updated_at", "password_set"];

fn body_fields(value: Value) -> ApiResult<Map<String, Value>> {
    match value {
        Value::Object(mut map) => {
            for field in READ_ONLY {
                map.remove(field);
            }
            Ok(map)
        }
        _ => Err(ApiError::new(
            "bad_request",
            "the body must be a JSON object",
        )),
    }
}

/// Sets the fields the path names; a body that names them otherwise is refused.
fn apply_identity(body: &mut Map<String, Value>, identity: Map<String, Value>) -> ApiResult<()> {
    for (field, value) in identity {
        match body.get(&field) {
            Some(given) if *given != value => {
                let message = format!("must match the path ({value})");
                return Err(grantd_core::Invalid::field(field, message).into());
            }
            _ => {
                body.insert(field, value);
            }
        }
    }
    Ok(())
}

/// Refuses a caller whose scope is below what the kind's writes need.
fn may_write<K: Routed>(access: &TenantAccess<Write>) -> ApiResult<()> {
    if access.scope.covers(K::WRITE_SCOPE) {
        return Ok(());
    }
    Err(ApiError::new(
        "forbidden",
        format!(
            "writing {} needs the `{}` scope; the token has `{}`",
            K::TAG,
            K::WRITE_SCOPE.as_str(),
            access.scope.as_str()
        ),
    ))
}

/// Before a change: not found if the object lies under another owner than the path's. A
/// kind that is no other's (`Routed::owner`) needs no look: the service finds the object
/// or says it is not found.
async fn owned_by_path<K: Routed>(
    state: &AppState,
    tenant: &str,
    path: &PathParams,
) -> ApiResult<()> {
    if K::owner(path).is_some() {
        belonging::<K>(state, tenant, path).await?;
    }
    Ok(())
}

/// The object an item path names; not found if it lies under another owner than the
/// path's.
async fn belonging<K: Routed>(
    state: &AppState,
    tenant: &str,
    path: &PathParams,
) -> ApiResult<Versioned<K>> {
    let key = K::path_key(path);
    let found = state.service.get::<K>(tenant, &key).await?;
    if !found.object.within(path) {
        let what = format!("{} {key}", K::KIND);
        return Err(ServiceError::NotFound(what).into());
    }
    Ok(found)
}

/// The window filters a listing asks for, if any.
fn window_filter(query: &ListParams) -> ApiResult<Option<WindowFilter>> {
    if query.expires_within.is_none() && query.expired.is_none() {
        return Ok(None);
    }
    let now = crate::service::now_millis();
    let ends_by = match &query.expires_within {
        Some(text) => Some(now.saturating_add(duration_millis(text)?)),
        None => None,
    };
    Ok(Some(WindowFilter {
        now,
        ends_by,
        expired: query.expired,
    }))
}

/// `90s`, `30m`, `12h` or `7d` in milliseconds.
fn duration_millis(text: &str) -> ApiResult<i64> {
    // Split before the last character, not the last byte: the text is the client's.
    let split = text.char_indices().last().map_or(0, |(i, _)| i);
    let (number, unit) = text.split_at(split);
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => 0,
    };
    match number.parse::<i64>() {
        Ok(n) if n >= 0 && unit_ms > 0 => Ok(n.saturating_mul(unit_ms)),
        _ => Err(ApiError::new(
            "bad_request",
            format!("expires_within must be a number and a unit s, m, h or d (such as 12h), not {text:?}"),
        )),
    }
}

async fn list<K: Routed>(
    State(state): State<AppState>,
    access: TenantAccess<Read>,
    path: PathParams,
    ApiQuery(query): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let limit = page_limit(query.limit)?;
    let after = position(query.cursor.as_deref())?;
    let tenant = &access.ctx.tenant;
    let page = match K::owner(&path) {
        Some(owner) => {
            state
                .service
                .list_held::<K>(tenant, &owner, after, limit)
                .await?
        }
        None => {
            let prefix = K::list_prefix(&path, &query);
            match window_filter(&query)? {
                Some(filter) => {
                    let keep = |k: &K| filter.keeps(k.ends());
                    state
                        .service
                        .list_where::<K>(tenant, prefix, after, limit, keep)
                        .await?
                }
                None => {
                    state
                        .service
                        .list::<K>(tenant, prefix, after, limit)
                        .await?
                }
            }
        }
    };
    Ok(Json(page_json(
        page.items.iter().map(object_view).collect(),
        page.next,
    )))
}

async fn create<K: Routed>(
    State(state): State<AppState>,
    access: TenantAccess<Write>,
    path: PathParams,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    may_write::<K>(&access)?;
    let mut body = body_fields(body)?;
    apply_identity(&mut body, K::collection_identity(&path))?;
    K::complete(&mut body);
    let object: K = decode(Value::Object(body))?;
    let written = state.service.create(&access.ctx, object).await?;
    Ok(write_response(
        StatusCode::CREATED,
        &written.value,
        Some(format!(
            "/v1/tenants/{}{}",
            access.ctx.tenant,
            written.value.object.item_path()
        )),
    ))
}

async fn read<K: Routed>(
    State(state): State<AppState>,
    access: TenantAccess<Read>,
    path: PathParams,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let found = belonging::<K>(&state, &access.ctx.tenant, &path).await?;
    if preconditions::not_modified(&headers, found.version) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [("etag", preconditions::etag(found.version))],
        )
            .into_response());
    }
    Ok((
        [("etag", preconditions::etag(found.version))],
        Json(object_view(&found)),
    )
        .into_response())
}

async fn replace<K: Routed>(
    State(state): State<AppState>,
    access: TenantAccess<Write>,
    path: PathParams,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    may_write::<K>(&access)?;
    let mut body = body_fields(body)?;
    apply_identity(&mut body, K::identity(&path))?;
    let object: K = decode(Value::Object(body))?;
    let expect = preconditions::expect(&headers, Expect::Any);
    let written = state.service.put(&access.ctx, object, expect).await?;
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(write_response(status, &written.value, None))
}

async fn update<K: Routed>(
    State(state): State<AppState>,
    access: TenantAccess<Write>,
    path: PathParams,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    may_write::<K>(&access)?;
    let key = K::path_key(&path);
    owned_by_path::<K>(&state, &access.ctx.tenant, &path).await?;
    let patch = Value::Object(body_fields(body)?);
    let expect = preconditions::expect(&headers, Expect::Any);
    let written = state
        .service
        .patch::<K>(&access.ctx, &key, &patch, expect)
        .await?;
    Ok(write_response(StatusCode::OK, &written.value, None))
}

async fn remove<K: Routed>(
    State(state): State<AppState>,
    access: TenantAccess<Write>,
    path: PathParams,
    headers: HeaderMap,
) -> ApiResult<Response> {
    may_write::<K>(&access)?;
    let key = K::path_key(&path);
    owned_by_path::<K>(&state, &access.ctx.tenant, &path).await?;
    let expect = preconditions::expect(&headers, Expect::Any);
    let revision = state.service.delete::<K>(&access.ctx, &key, expect).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [("grantd-revision", HeaderValue::from(revision))],
    )
        .into_response())
}

/// Registers the routes of kind `K` and describes them.
pub fn register<K: Routed>(api: &mut Api) {
    let name = K::name().to_string();
    let (collection, item) = (
        format!("/v1/tenants/{{tenant}}{}", K::COLLECTION),
        format!("/v1/tenants/{{tenant}}{}", K::ITEM),
    );
    let view = json!({"allOf": [schema_ref(&name), schema_ref("ObjectMeta")]});
    let (tag, read_scope, write_scope) = (
        K::TAG,
        Auth::Tenant(Scope::Read),
        Auth::Tenant(K::WRITE_SCOPE),
    );
    let mut listing = page_query(Operation::new(
        "get",
        &collection,
        format!("list_{tag}"),
        tag,
        read_scope,
    ))
    .summary(format!("List {tag} in key order"))
    .response(200, "A page of objects", Some(page_schema(view.clone())));
    for (filter, description) in K::FILTERS {
        listing = listing.query(filter, description);
    }
    api.add(listing, get(list::<K>));
    api.add(
        Operation::new(
            "post",
            &collection,
            format!("create_{tag}"),
            tag,
            write_scope,
        )
        .summary(format!("Create one of {tag}; 409 if its key is taken"))
        .request(schema_ref(&name))
        .response(
            201,
            "Created; ETag, Location and Grantd-Revision headers",
            Some(view.clone()),
        ),
        post(create::<K>),
    );
    api.add(
        Operation::new("get", &item, format!("get_{tag}"), tag, read_scope)
            .summary(format!(
                "Get one of {tag}, with its ETag; 304 on a matching If-None-Match"
            ))
            .response(200, "The object", Some(view.clone()))
            .response(304, "Not modified", None),
        get(read::<K>),
    );
    api.add(
        Operation::new("put", &item, format!("put_{tag}"), tag, write_scope)
            .summary("Create or replace; honours If-Match and If-None-Match: *")
            .request(schema_ref(&name))
            .response(200, "Replaced", Some(view.clone()))
            .response(201, "Created", Some(view.clone())),
        put(replace::<K>),
    );
    if K::PATCHABLE {
        api.add(
            Operation::new("patch", &item, format!("patch_{tag}"), tag, write_scope)
                .summary("Change fields with a JSON merge patch (RFC 7396); honours If-Match")
                .request(json!({"type": "object"}))
                .response(200, "Updated", Some(view.clone())),
            patch(update::<K>),
        );
    }
    api.add(
        Operation::new("delete", &item, format!("delete_{tag}"), tag, write_scope)
            .summary("Delete, with what references it by cascade; honours If-Match")
            .response(204, "Deleted; Grantd-Revision header", None),
        delete(remove::<K>),
    );
}

#[cfg(test)]
mod tests {
    use super::duration_millis;

    #[test]
    fn durations_read_units_and_refuse_the_rest() {
        assert_eq!(duration_millis("90s").ok(), Some(90_000));
        assert_eq!(duration_millis("7d").ok(), Some(7 * 86_400_000));
        // Found by the fuzzer: a last character of several bytes.
        for bad in ["", "h", "12", "-1h", "8i \u{50492}Ï", "1é", "ΩΩ"] {
            assert!(duration_millis(bad).is_err(), "{bad:?}");
        }
    }
}
