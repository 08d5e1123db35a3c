//! Roles (`/rbac/roles`) and a person's roles. A SlashID role is a grantd role whose
//! actions are its permissions, with a tenant-wide grant of the role to its own holders
//! (`slashid.role.<name>`), so that assigning the role to a person (a role assignment)
//! gives the person its permissions in every check.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use grantd_core::model::Role;
use grantd_core::{Kind, ObjectKey};
use grantd_store::Expect;
use serde_json::json;

use super::error::{SlashIdError, SlashIdResult};
use super::guard::Caller;
use super::people::find;
use super::permissions::version_etag;
use super::wire::{
    if_match, missing_with_hint, names, no_content, permission_name, role_name, set_etag,
    set_precondition, text, Answer, Body, PathParams, Wait,
};
use crate::http::time::timestamp;
use crate::service::{Service, ServiceError, ServiceResult, Versioned};
use crate::state::AppState;

/// The roles assigned to the person directly, sorted.
pub async fn roles_of(service: &Service, tenant: &str, user: &str) -> ServiceResult<Vec<String>> {
    service.assigned_roles(tenant, user).await
}

/// The role `name`; 404 when there is none.
async fn find_role(service: &Service, tenant: &str, name: &str) -> SlashIdResult<Versioned<Role>> {
    match service.get::<Role>(tenant, name).await {
        Ok(r) => Ok(r),
        Err(ServiceError::NotFound(_)) => {
            Err(SlashIdError::not_found(format!("role {name} not found")))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /rbac/roles`: creates the role; nothing happens if it exists.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Body(body): Body,
) -> SlashIdResult<Response> {
    let wait = Wait::of(&headers)?;
    let name =
        text(&body, "name")?.ok_or_else(|| SlashIdError::bad_request("`name` is required"))?;
    role_name(&name).map_err(SlashIdError::bad_request)?;
    let permissions = names(&body, "permissions", false, permission_name)?.unwrap_or_default();
    let tenant = &caller.ctx.tenant;
    if state.service.get::<Role>(tenant, &name).await.is_ok() {
        return Ok(no_content());
    }
    let role = Role {
        id: name.clone(),
        name: Some(name.clone()),
        description: text(&body, "description")?,
        actions: permissions,
        includes: Vec::new(),
    };
    let written = state
        .service
        .put_tenant_role(&caller.ctx, &role, Expect::Absent, "slashid.role.create")
        .await;
    match written {
        Ok(written) => wait.done(&state, tenant, written.version).await,
        // It exists: nothing happens.
        Err(ServiceError::AlreadyExists(_)) => Ok(no_content()),
        Err(e) => Err(e.into()),
    }
}

/// `GET /rbac/roles`: every role's name, with their ETag.
pub async fn list(State(state): State<AppState>, caller: Caller) -> SlashIdResult<Answer> {
    let names: Vec<String> = state
        .service
        .list_all::<Role>(&caller.ctx.tenant, None)
        .await?
        .into_iter()
        .map(|r| r.object.id)
        .collect();
    let etag = set_etag(&names);
    Ok(Answer::ok(names).etag(etag))
}

/// `GET /rbac/roles/{role_name}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> SlashIdResult<Answer> {
    let name = path.get("role_name");
    let found = find_role(&state.service, &caller.ctx.tenant, &name).await?;
    let mut result = json!({
        "name": found.object.id,
        "created": timestamp(found.created_at),
        "permissions": found.object.actions,
    });
    if let Some(d) = &found.object.description {
        result["description"] = json!(d);
    }
    Ok(Answer::ok(result).etag(version_etag(found.version)))
}

/// `PATCH /rbac/roles/{role_name}`: its description and permissions.
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    headers: HeaderMap,
    Body(body): Body,
) -> SlashIdResult<Response> {
    let wait = Wait::of(&headers)?;
    let name = path.get("role_name");
    let description = text(&body, "description")?;
    let permissions = names(&body, "permissions", false, permission_name)?;
    let tenant = &caller.ctx.tenant;
    let found = find_role(&state.service, tenant, &name).await?;
    if_match(&headers, &version_etag(found.version))?;
    let mut role = found.object;
    if let Some(permissions) = permissions {
        role.actions = permissions;
    }
    if description.is_some() {
        role.description = description;
    }
    let expect = Expect::Version(found.version);
    let written = state
        .service
        .put_tenant_role(&caller.ctx, &role, expect, "slashid.role.update")
        .await?;
    wait.done(&state, tenant, written.version).await
}

/// `DELETE /rbac/roles/{role_name}`: with its assignments and grants.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    headers: HeaderMap,
) -> SlashIdResult<Response> {
    let wait = Wait::of(&headers)?;
    let name = path.get("role_name");
    let key = ObjectKey::new(Kind::Role, name.clone());
    let tenant = &caller.ctx.tenant;
    find_role(&state.service, tenant, &name).await?;
    let revision = state
        .service
        .delete_all(
            &caller.ctx,
            std::slice::from_ref(&key),
            "slashid.role.delete",
            &key,
            |_| None,
        )
        .await?;
    wait.done(&state, tenant, revision).await
}

/// `GET /persons/{person_id}/roles`, with the set's ETag.
pub async fn get_person_roles(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> SlashIdResult<Answer> {
    let id = path.get("person_id");
    let tenant = &caller.ctx.tenant;
    find(&state.service, tenant, &id).await?;
    let roles = roles_of(&state.service, tenant, &id).await?;
    let etag = set_etag(&roles);
    Ok(Answer::ok(roles).etag(etag))
}

/// `PUT /persons/{person_id}/roles`: the person's roles become exactly these (names may
/// carry the `{org_id}/` prefix SlashID documents).
pub async fn put_person_roles(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    headers: HeaderMap,
    Body(body): Body,
) -> SlashIdResult<Response> {
    let wait = Wait::of(&headers)?;
    let id = path.get("person_id");
    let tenant = caller.ctx.tenant.clone();
    let prefix = format!("{tenant}/");
    let given = body.get("roles").and_then(|v| v.as_array()).map(|items| {
        items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(|s| json!(s.strip_prefix(&prefix).unwrap_or(s)))
                    .unwrap_or_else(|| i.clone())
            })
            .collect::<Vec<_>>()
    });
    let normalized = match given {
        Some(items) => json!({ "roles": items }),
        None => body.clone(),
    };
    let wanted = names(&normalized, "roles", true, role_name)?.unwrap_or_default();
    find(&state.service, &tenant, &id).await?;
    let precondition = set_precondition(&headers);
    let detail = json!({ "roles": wanted });
    let revision = state
        .service
        .set_roles(
            &caller.ctx,
            &id,
            &wanted,
            &precondition,
            "slashid.person.roles",
            Some(detail),
        )
        .await
        .map_err(missing_with_hint("POST /rbac/roles creates it"))?;
    wait.done(&state, &tenant, revision).await
}
