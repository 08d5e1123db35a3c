//! The permission catalog (`/rbac/permissions`), a person's permissions (direct ones are
//! tenant-wide ALLOW grants of the permission to the user; effective ones add what the
//! person's roles give), and `POST /rbac/check`, decided by grantd's engine.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use grantd_core::decision::{CheckQuery, ResourceQuery, Verdict};
use grantd_core::model::{Effect, Grant, Permission, Privilege, Role, Target};
use grantd_core::{Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde_json::json;

use super::error::{SlashIdError, SlashIdResult};
use super::guard::Caller;
use super::persons::{find, require, user_ref};
use super::wire::{
    if_match, names, no_content, permission_name, set_etag, text, Answer, Body, PathParams, Wait,
};
use crate::http::preconditions;
use crate::http::time::timestamp;
use crate::service::{new_id, Consistency, Service, ServiceResult};
use crate::state::AppState;

use crate::service::derived::SLASHID_PERSON as ORIGIN;

/// The resource SlashID checks stand for: the organization itself. Only tenant-wide grants
/// (and label grants without a type) reach it, as only they are SlashID permissions.
pub fn org_resource(tenant: &str) -> String {
    grantd_core::model::key_of("ORG", tenant)
}

/// A direct permission: a tenant-wide ALLOW grant of a catalog permission.
fn direct_name(grant: &Grant) -> Option<&str> {
    match (&grant.privilege, &grant.target, grant.effect) {
        (Privilege::Permission { id }, Target::Tenant, Effect::Allow) => Some(id),
        _ => None,
    }
}

/// The person's direct ("additional") permissions, sorted.
pub async fn direct(service: &Service, tenant: &str, user: &str) -> ServiceResult<Vec<String>> {
    let mut names: Vec<String> = service
        .holders::<Grant>(tenant, &user_ref(user).object_key())
        .await?
        .iter()
        .filter_map(|g| direct_name(&g.object))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    let user = require(&mut batch, &id).await?;
    let wanted = names(&body, "permissions", true, permission_name)?.unwrap_or_default();
    for name in &wanted {
        if batch.get::<Permission>(name).await?.is_none() {
            return Err(SlashIdError::bad_request(format!(
                "permission {name} does not exist (POST /rbac/permissions creates it)"
            )));
        }
    }
    let grants: Vec<Grant> = batch
        .holders::<Grant>(&user.object_key())
        .await?
        .into_iter()
        .map(|g| g.object)
        .collect();
    let mut current: Vec<String> = grants
        .iter()
        .filter_map(direct_name)
        .map(str::to_string)
        .collect();
    if_match(&headers, &set_etag(&current))?;
    for grant in &grants {
        if direct_name(grant).is_some_and(|n| !wanted.iter().any(|w| w == n)) {
            batch
                .delete(&ObjectKey::new(Kind::Grant, grant.id.clone()))
                .await?;
        }
    }
    current.sort();
    for name in &wanted {
        if current.binary_search(name).is_ok() {
            continue;
        }
        let grant = Grant {
            id: new_id("grt"),
            subject: user_ref(&id),
            privilege: Privilege::Permission { id: name.clone() },
            target: Target::Tenant,
            effect: Effect::Allow,
            origin: Some(ORIGIN.into()),
        };
        batch.put(&grant, Expect::Absent).await?;
    }
    let detail = json!({ "permissions": wanted });
    wait.commit(
        &state,
        batch,
        "slashid.person.permissions",
        &user.object_key(),
        Some(detail),
    )
    .await
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    if batch.get::<Permission>(&permission.id).await?.is_some() {
        return Ok(no_content());
    }
    batch.put(&permission, Expect::Absent).await?;
    wait.commit(
        &state,
        batch,
        "slashid.permission.create",
        &permission.object_key(),
        None,
    )
    .await
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    let found = batch
        .get::<Permission>(&name)
        .await?
        .ok_or_else(|| SlashIdError::not_found(format!("permission {name} not found")))?;
    if_match(&headers, &version_etag(found.version))?;
    let mut permission = found.object;
    if description.is_some() {
        permission.description = description;
    }
    batch.put(&permission, Expect::Present).await?;
    wait.commit(
        &state,
        batch,
        "slashid.permission.update",
        &permission.object_key(),
        None,
    )
    .await
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
    let key = ObjectKey::new(Kind::Permission, name.clone());
    let mut batch = state.service.batch(&caller.ctx).await?;
    if batch.get::<Permission>(&name).await?.is_none() {
        return Err(SlashIdError::not_found(format!(
            "permission {name} not found"
        )));
    }
    let holders: Vec<String> = batch
        .list::<Role>(None)
        .await?
        .into_iter()
        .filter(|r| r.object.actions.contains(&name))
        .map(|r| r.object.id)
        .collect();
    if !holders.is_empty() {
        return Err(SlashIdError::new(
            StatusCode::CONFLICT,
            format!(
                "permission {name} is included in role(s) {}; remove it from them first",
                holders.join(", ")
            ),
        ));
    }
    let removed = batch.delete(&key).await?;
    let revoked = removed.len() - 1;
    wait.commit(
        &state,
        batch,
        "slashid.permission.delete",
        &key,
        Some(json!({ "revoked_grants": revoked })),
    )
    .await
}
