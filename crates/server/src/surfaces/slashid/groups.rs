//! Groups and their persons. A SlashID group is a grantd group named by its id.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use grantd_core::model::{Group, Member, SubjectType};
use grantd_core::{Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde_json::json;

use super::error::{SlashIdError, SlashIdResult};
use super::guard::Caller;
use super::people::user_ref;
use super::wire::{group_name, names, text, Answer, Body, PathParams, Wait};
use crate::http::time::timestamp;
use crate::service::ServiceError;
use crate::state::AppState;

fn missing(name: &str) -> SlashIdError {
    SlashIdError::not_found(format!("group {name} not found"))
}

/// `POST /groups`: creates the group; nothing happens if it exists.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Body(body): Body,
) -> SlashIdResult<Answer> {
    let wait = Wait::of(&headers)?;
    let name =
        text(&body, "name")?.ok_or_else(|| SlashIdError::bad_request("`name` is required"))?;
    group_name(&name).map_err(SlashIdError::bad_request)?;
    let group = Group {
        id: name.clone(),
        name: Some(name),
        description: text(&body, "description")?,
    };
    let written = state
        .service
        .put_audited(
            &caller.ctx,
            &group,
            Expect::Absent,
            "slashid.group.create",
            None,
        )
        .await;
    match written {
        Ok(written) => {
            wait.until_applied(&state, &caller.ctx.tenant, written.version)
                .await?
        }
        // It exists: nothing happens.
        Err(ServiceError::AlreadyExists(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Answer::empty(StatusCode::CREATED))
}

/// `GET /groups`: every group's name.
pub async fn list(State(state): State<AppState>, caller: Caller) -> SlashIdResult<Answer> {
    let names: Vec<String> = state
        .service
        .list_all::<Group>(&caller.ctx.tenant, None)
        .await?
        .into_iter()
        .map(|g| g.object.id)
        .collect();
    Ok(Answer::ok(names))
}

/// The user members of a group.
async fn members(state: &AppState, tenant: &str, group: &str) -> SlashIdResult<Vec<String>> {
    Ok(state
        .service
        .current_members(tenant, group)
        .await?
        .into_iter()
        .filter(|m| m.subject_type == SubjectType::User)
        .map(|m| m.id)
        .collect())
}

/// `GET /groups/{group_name}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> SlashIdResult<Answer> {
    let name = path.get("group_name");
    let tenant = &caller.ctx.tenant;
    let group = match state.service.get::<Group>(tenant, &name).await {
        Ok(g) => g,
        Err(crate::service::ServiceError::NotFound(_)) => return Err(missing(&name)),
        Err(e) => return Err(e.into()),
    };
    let count = members(&state, tenant, &name).await?.len();
    let mut result = json!({
        "name": group.object.id,
        "members_count": count,
        "created": timestamp(group.created_at),
    });
    if let Some(d) = &group.object.description {
        result["description"] = json!(d);
    }
    Ok(Answer::ok(result))
}

/// `DELETE /groups/{group_name}`: with its memberships and grants.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    headers: HeaderMap,
) -> SlashIdResult<Answer> {
    let wait = Wait::of(&headers)?;
    let name = path.get("group_name");
    let key = ObjectKey::new(Kind::Group, name.clone());
    let revision = state
        .service
        .delete_all(
            &caller.ctx,
            std::slice::from_ref(&key),
            "slashid.group.delete",
            &key,
            |_| None,
        )
        .await
        .map_err(|e| match e {
            ServiceError::NotFound(_) => missing(&name),
            other => other.into(),
        })?;
    wait.until_applied(&state, &caller.ctx.tenant, revision)
        .await?;
    Ok(Answer::empty(StatusCode::OK))
}

/// `POST /groups/{group_name}/persons`: adds the persons, each of which must exist.
pub async fn add_persons(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body,
) -> SlashIdResult<Answer> {
    let name = path.get("group_name");
    let persons = names(&body, "persons", true, |id| {
        grantd_core::ids::identifier(id).map_err(|m| format!("person id {id:?} {m}"))
    })?
    .unwrap_or_default();
    let tenant = &caller.ctx.tenant;
    if state.service.get::<Group>(tenant, &name).await.is_err() {
        return Err(missing(&name));
    }
    let detail = json!({ "persons": persons });
    state
        .service
        .add_members(
            &caller.ctx,
            &name,
            &persons,
            "slashid.group.persons.add",
            Some(detail),
        )
        .await
        .map_err(|e| match e {
            ServiceError::NotFound(what) => {
                SlashIdError::not_found(format!("{} not found", what.replacen("user", "person", 1)))
            }
            other => other.into(),
        })?;
    Ok(Answer::empty(StatusCode::CREATED))
}

/// `GET /groups/{group_name}/persons`: the member persons' ids.
pub async fn persons(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> SlashIdResult<Answer> {
    let name = path.get("group_name");
    let tenant = &caller.ctx.tenant;
    if state.service.get::<Group>(tenant, &name).await.is_err() {
        return Err(missing(&name));
    }
    Ok(Answer::ok(members(&state, tenant, &name).await?))
}

/// `DELETE /groups/{group_name}/persons/{person_id}`.
pub async fn remove_person(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> SlashIdResult<Answer> {
    let name = path.get("group_name");
    let person = path.get("person_id");
    let member = Member::new(name.clone(), user_ref(&person));
    let tenant = &caller.ctx.tenant;
    if state.service.get::<Group>(tenant, &name).await.is_err() {
        return Err(missing(&name));
    }
    let key = member.object_key();
    state
        .service
        .delete_all(
            &caller.ctx,
            std::slice::from_ref(&key),
            "slashid.group.persons.remove",
            &key,
            |_| None,
        )
        .await
        .map_err(|e| match e {
            ServiceError::NotFound(_) => {
                SlashIdError::not_found(format!("person {person} is not in group {name}"))
            }
            other => other.into(),
        })?;
    Ok(Answer::empty(StatusCode::OK))
}
