//! Roles (`/rbac/roles`) and a person's roles. A SlashID role is a grantd role whose
//! actions are its permissions, with a tenant-wide grant of the role to its own holders
//! (`slashid.role.<name>`), so that assigning the role to a person (a role assignment)
//! gives the person its permissions in every check.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use grantd_core::model::{
    Assignment, Effect, Grant, Permission, Privilege, Role, SubjectRef, SubjectType, Target,
};
use grantd_core::{Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde_json::json;

use super::error::{SlashIdError, SlashIdResult};
use super::guard::Caller;
use super::permissions::version_etag;
use super::persons::{find, require, user_ref};
use super::wire::{
    if_match, names, no_content, permission_name, role_name, set_etag, text, Answer, Body,
    PathParams, Wait,
};
use crate::http::time::timestamp;
use crate::service::{Batch, Service, ServiceResult};
use crate::state::AppState;

/// The grant that gives a role's holders its actions across the organization.
fn holders_grant(role: &str) -> Grant {
    Grant {
        id: format!("slashid.role.{role}"),
        subject: SubjectRef {
            subject_type: SubjectType::Role,
            id: role.to_string(),
        },
        privilege: Privilege::Role {
            id: role.to_string(),
        },
        target: Target::Tenant,
        effect: Effect::Allow,
        origin: Some(crate::service::derived::SLASHID_ROLE.into()),
    }
}

/// The key prefix of a user's role assignments.
fn assignments_prefix(user: &str) -> String {
    format!("{}/", user_ref(user).key())
}

/// The roles assigned to the person directly, sorted.
pub async fn roles_of(service: &Service, tenant: &str, user: &str) -> ServiceResult<Vec<String>> {
    Ok(service
        .list_all::<Assignment>(tenant, Some(&assignments_prefix(user)))
        .await?
        .into_iter()
        .map(|a| a.object.role)
        .collect())
}

/// Every listed permission must exist.
async fn require_permissions(batch: &mut Batch<'_>, names: &[String]) -> SlashIdResult<()> {
    for name in names {
        if batch.get::<Permission>(name).await?.is_none() {
            return Err(SlashIdError::bad_request(format!(
                "permission {name} does not exist"
            )));
        }
    }
    Ok(())
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    if batch.get::<Role>(&name).await?.is_some() {
        return Ok(no_content());
    }
    require_permissions(&mut batch, &permissions).await?;
    let role = Role {
        id: name.clone(),
        name: Some(name.clone()),
        description: text(&body, "description")?,
        actions: permissions,
        includes: Vec::new(),
    };
    batch.put(&role, Expect::Absent).await?;
    batch.put(&holders_grant(&name), Expect::Any).await?;
    wait.commit(
        &state,
        batch,
        "slashid.role.create",
        &role.object_key(),
        None,
    )
    .await
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
    let found = match state.service.get::<Role>(&caller.ctx.tenant, &name).await {
        Ok(r) => r,
        Err(crate::service::ServiceError::NotFound(_)) => {
            return Err(SlashIdError::not_found(format!("role {name} not found")))
        }
        Err(e) => return Err(e.into()),
    };
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    let found = batch
        .get::<Role>(&name)
        .await?
        .ok_or_else(|| SlashIdError::not_found(format!("role {name} not found")))?;
    if_match(&headers, &version_etag(found.version))?;
    let mut role = found.object;
    if let Some(permissions) = permissions {
        require_permissions(&mut batch, &permissions).await?;
        role.actions = permissions;
    }
    if description.is_some() {
        role.description = description;
    }
    batch.put(&role, Expect::Present).await?;
    batch.put(&holders_grant(&name), Expect::Any).await?;
    wait.commit(
        &state,
        batch,
        "slashid.role.update",
        &role.object_key(),
        None,
    )
    .await
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    if batch.get::<Role>(&name).await?.is_none() {
        return Err(SlashIdError::not_found(format!("role {name} not found")));
    }
    batch.delete(&key).await?;
    wait.commit(&state, batch, "slashid.role.delete", &key, None)
        .await
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    let user = require(&mut batch, &id).await?;
    for role in &wanted {
        if batch.get::<Role>(role).await?.is_none() {
            return Err(SlashIdError::bad_request(format!(
                "role {role} does not exist (POST /rbac/roles creates it)"
            )));
        }
    }
    let current = batch
        .list::<Assignment>(Some(&assignments_prefix(&id)))
        .await?;
    let names_now: Vec<String> = current.iter().map(|a| a.object.role.clone()).collect();
    if_match(&headers, &set_etag(&names_now))?;
    for assignment in &current {
        if !wanted.contains(&assignment.object.role) {
            batch.delete(&assignment.object.object_key()).await?;
        }
    }
    for role in &wanted {
        if !names_now.contains(role) {
            let assignment = Assignment {
                subject: user_ref(&id),
                role: role.clone(),
            };
            batch.put(&assignment, Expect::Absent).await?;
        }
    }
    wait.commit(
        &state,
        batch,
        "slashid.person.roles",
        &user.object_key(),
        Some(json!({ "roles": wanted })),
    )
    .await
}
