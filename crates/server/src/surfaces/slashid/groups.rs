//! Groups and their persons. A SlashID group is a grantd group named by its id.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use grantd_core::model::{Group, Member, SubjectType, User};
use grantd_core::{Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde_json::json;

use super::error::{SlashIdError, SlashIdResult};
use super::guard::Caller;
use super::persons::user_ref;
use super::wire::{group_name, names, text, Answer, Body, PathParams, Wait};
use crate::http::time::timestamp;
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    if batch.get::<Group>(&group.id).await?.is_none() {
        batch.put(&group, Expect::Absent).await?;
        let revision = batch
            .commit("slashid.group.create", &group.object_key(), None)
            .await?;
        wait.until_applied(&state, &caller.ctx.tenant, revision)
            .await?;
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
        .list_all::<Member>(tenant, Some(&Member::prefix(group)))
        .await?
        .into_iter()
        .filter(|m| m.object.member.subject_type == SubjectType::User)
        .map(|m| m.object.member.id)
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    if batch.get::<Group>(&name).await?.is_none() {
        return Err(missing(&name));
    }
    batch.delete(&key).await?;
    let revision = batch.commit("slashid.group.delete", &key, None).await?;
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    if batch.get::<Group>(&name).await?.is_none() {
        return Err(missing(&name));
    }
    for person in &persons {
        if batch.get::<User>(person).await?.is_none() {
            return Err(SlashIdError::not_found(format!(
                "person {person} not found"
            )));
        }
        let member = Member {
            group: name.clone(),
            member: user_ref(person),
        };
        batch.put(&member, Expect::Any).await?;
    }
    let key = ObjectKey::new(Kind::Group, name);
    batch
        .commit(
            "slashid.group.persons.add",
            &key,
            Some(json!({ "persons": persons })),
        )
        .await?;
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
    let member = Member {
        group: name.clone(),
        member: user_ref(&person),
    };
    let mut batch = state.service.batch(&caller.ctx).await?;
    if batch.get::<Group>(&name).await?.is_none() {
        return Err(missing(&name));
    }
    if batch.get::<Member>(&member.key()).await?.is_none() {
        return Err(SlashIdError::not_found(format!(
            "person {person} is not in group {name}"
        )));
    }
    batch.delete(&member.object_key()).await?;
    batch
        .commit("slashid.group.persons.remove", &member.object_key(), None)
        .await?;
    Ok(Answer::empty(StatusCode::OK))
}
