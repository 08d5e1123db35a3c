//! The permission catalog (`/rbac/permissions`), a person's permissions (direct ones are
//! tenant-wide ALLOW grants of the permission to the user; effective ones add what the
//! person's roles give), and `POST /rbac/check`, decided by grantd's engine.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use grantd_core::decision::{CheckQuery, ResourceQuery, Verdict};
use grantd_core::model::Permission;
use grantd_store::Expect;
use serde_json::json;

use super::error::{SlashIdError, SlashIdResult};
use super::guard::Caller;
use super::people::find;
use super::wire::{
    if_match, missing_with_hint, names, no_content, permission_name, set_etag, set_precondition,
    text, Answer, Body, PathParams, Wait,
};
use crate::http::preconditions;
use crate::http::time::timestamp;
use crate::service::{Consistency, Service, ServiceError, ServiceResult};
use crate::state::AppState;

/// The resource SlashID checks stand for: the organization itself. Only tenant-wide grants
/// (and label grants without a type) reach it, as only they are SlashID permissions.
pub fn org_resource(tenant: &str) -> String {
    grantd_core::model::key_of("ORG", tenant)
}

/// The person's direct ("additional") permissions, sorted.
pub async fn direct(service: &Service, tenant: &str, user: &str) -> ServiceResult<Vec<String>> {
    service.direct_permissions(tenant, user).await
}

/// Whether grantd's engine allows `user` the permission on the organization.
pub async fn granted(
    state: &AppState,
    tenant: &str,
    user: &str,
    permission: &str,
) -> SlashIdResult<bool> {
    let snapshot = state
        .service
        .snapshot(tenant, Consistency::MinimizeLatency)
        .await?;
    let key = org_resource(tenant);
    let query = CheckQuery {
        user,
        action: permission,
        resource: ResourceQuery::Object {
            key: &key,
            labels: None,
        },
        at: crate::service::now_millis(),
    };
    Ok(snapshot.check(&query) == Verdict::Allow)
}

/// `GET /persons/{person_id}/additional-permissions`, with the set's ETag.
pub async fn get_direct(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> SlashIdResult<Answer> {
    let id = path.get("person_id");
    let tenant = &caller.ctx.tenant;
    find(&state.service, tenant, &id).await?;
    let names = direct(&state.service, tenant, &id).await?;
    let etag = set_etag(&names);
    Ok(Answer::ok(names).etag(etag))
}

/// `GET /persons/{person_id}/permissions`: direct and from roles, as the engine decides.
pub async fn get_effective(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> SlashIdResult<Answer> {
    let id = path.get("person_id");
    let tenant = &caller.ctx.tenant;
    find(&state.service, tenant, &id).await?;
    let mut effective = Vec::new();
    for permission in state.service.list_all::<Permission>(tenant, None).await? {
        if granted(&state, tenant, &id, &permission.object.id).await? {
            effective.push(permission.object.id);
        }
    }
    let etag = set_etag(&effective);
    Ok(Answer::ok(effective).etag(etag))
}

/// `PUT /persons/{person_id}/additional-permissions` (and `/permissions`): the listed
/// permissions are granted, every other direct one revoked; each must exist.
pub async fn put_direct(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    headers: HeaderMap,
    Body(body): Body,
) -> SlashIdResult<Response> {
    let wait = Wait::of(&headers)?;
    let id = path.get("person_id");
    let tenant = caller.ctx.tenant.clone();
    find(&state.service, &tenant, &id).await?;
    let wanted = names(&body, "permissions", true, permission_name)?.unwrap_or_default();
    let precondition = set_precondition(&headers);
    let detail = json!({ "permissions": wanted });
    let revision = state
        .service
        .set_direct_permissions(
            &caller.ctx,
            &id,
            &wanted,
            &precondition,
            "slashid.person.permissions",
            Some(detail),
        )
        .await
        .map_err(missing_with_hint("POST /rbac/permissions creates it"))?;
    wait.done(&state, &tenant, revision).await
}

/// `POST /rbac/check`: `{person_id, permission_name}` → `{granted}`.
pub async fn check(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> SlashIdResult<Answer> {
    let person = text(&body, "person_id")?
        .ok_or_else(|| SlashIdError::bad_request("`person_id` is required"))?;
    let permission = text(&body, "permission_name")?
        .ok_or_else(|| SlashIdError::bad_request("`permission_name` is required"))?;
    permission_name(&permission).map_err(SlashIdError::bad_request)?;
    let tenant = &caller.ctx.tenant;
    find(&state.service, tenant, &person).await?;
    let granted = granted(&state, tenant, &person, &permission).await?;
    Ok(Answer::ok(json!({ "granted": granted })))
}

/// `POST /rbac/permissions`: creates the permission; nothing happens if it exists.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Body(body): Body,
) -> SlashIdResult<Response> {
    let wait = Wait::of(&headers)?;
    let name =
        text(&body, "name")?.ok_or_else(|| SlashIdError::bad_request("`name` is required"))?;
    permission_name(&name).map_err(SlashIdError::bad_request)?;
    let permission = Permission {
        id: name,
        description: text(&body, "description")?,
    };
    let tenant = &caller.ctx.tenant;
    let written = state
        .service
        .put_audited(
            &caller.ctx,
            &permission,
            Expect::Absent,
            "slashid.permission.create",
            None,
        )
        .await;
    match written {
        Ok(written) => wait.done(&state, tenant, written.version).await,
        // It exists: nothing happens.
        Err(ServiceError::AlreadyExists(_)) => Ok(no_content()),
        Err(e) => Err(e.into()),
    }
}

/// `GET /rbac/permissions`: the catalog's names, with their ETag.
pub async fn list(State(state): State<AppState>, caller: Caller) -> SlashIdResult<Answer> {
    let names: Vec<String> = state
        .service
        .list_all::<Permission>(&caller.ctx.tenant, None)
        .await?
        .into_iter()
        .map(|p| p.object.id)
        .collect();
    let etag = set_etag(&names);
    Ok(Answer::ok(names).etag(etag))
}

async fn find_permission(
    service: &Service,
    tenant: &str,
    name: &str,
) -> SlashIdResult<crate::service::Versioned<Permission>> {
    match service.get::<Permission>(tenant, name).await {
        Ok(p) => Ok(p),
        Err(crate::service::ServiceError::NotFound(_)) => Err(SlashIdError::not_found(format!(
            "permission {name} not found"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The ETag of one stored object: its version.
pub fn version_etag(version: i64) -> String {
    preconditions::etag(version)
        .to_str()
        .unwrap_or_default()
        .to_string()
}

/// `GET /rbac/permissions/{permission_name}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> SlashIdResult<Answer> {
    let name = path.get("permission_name");
    let found = find_permission(&state.service, &caller.ctx.tenant, &name).await?;
    let mut result = json!({
        "name": found.object.id,
        "created": timestamp(found.created_at),
    });
    if let Some(d) = &found.object.description {
        result["description"] = json!(d);
    }
    Ok(Answer::ok(result).etag(version_etag(found.version)))
}

/// `PATCH /rbac/permissions/{permission_name}`: its description.
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    headers: HeaderMap,
    Body(body): Body,
) -> SlashIdResult<Response> {
    let wait = Wait::of(&headers)?;
    let name = path.get("permission_name");
    let description = text(&body, "description")?;
    let tenant = &caller.ctx.tenant;
    let found = find_permission(&state.service, tenant, &name).await?;
    if_match(&headers, &version_etag(found.version))?;
    let mut permission = found.object;
    if description.is_some() {
        permission.description = description;
    }
    let written = state
        .service
        .put_audited(
            &caller.ctx,
            &permission,
            Expect::Version(found.version),
            "slashid.permission.update",
            None,
        )
        .await?;
    wait.done(&state, tenant, written.version).await
}

/// `DELETE /rbac/permissions/{permission_name}`: revoked from everyone; refused while a
/// role includes it.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    headers: HeaderMap,
) -> SlashIdResult<Response> {
    let wait = Wait::of(&headers)?;
    let name = path.get("permission_name");
    let tenant = &caller.ctx.tenant;
    find_permission(&state.service, tenant, &name).await?;
    let (revision, _) = state
        .service
        .delete_catalog_permission(&caller.ctx, &name, "slashid.permission.delete")
        .await?;
    wait.done(&state, tenant, revision).await
}
