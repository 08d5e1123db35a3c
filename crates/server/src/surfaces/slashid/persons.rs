//! Persons: the organization's users as SlashID shows them (`people`), created, found by
//! handle, filtered, changed and deleted.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use grantd_core::model::User;
use grantd_core::Object;
use grantd_store::Expect;
use serde_json::{json, Value};

use super::error::{SlashIdError, SlashIdResult};
use super::guard::Caller;
use super::people::{
    apply, find, find_versioned, holds, new_person, parse_person, rendered, Handle, PersonReq,
};
use super::permissions;
use super::wire::{group_name, names, no_content, Answer, Body, PathParams};
use crate::service::ServiceError;
use crate::state::AppState;

/// Writes the person `req` describes: with `create`, refused (409) when another holds one
/// of its handles; otherwise that person is updated, or a new one made.
async fn write_person(
    state: &AppState,
    caller: &Caller,
    req: &PersonReq,
    create: bool,
) -> SlashIdResult<(User, bool)> {
    let action = if create {
        "slashid.person.create"
    } else {
        "slashid.person.put"
    };
    let (written, created) = state
        .service
        .put_user_matching(
            &caller.ctx,
            |u| holds(u, &req.handles),
            |found| match found {
                Some(taken) if create => Err(ServiceError::Conflict {
                    code: "already_exists",
                    message: format!("a handle is already used by person {}", taken.id),
                }),
                found => Ok(apply(found.unwrap_or_else(new_person), req)),
            },
            req.groups.as_deref(),
            action,
        )
        .await?;
    Ok((written.object, created))
}

/// `POST /persons`: 409 when a handle is taken.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> SlashIdResult<Answer> {
    let req = parse_person(&body)?;
    let (user, _) = write_person(&state, &caller, &req, true).await?;
    Ok(Answer::created(
        rendered(&state.service, &caller.ctx.tenant, &user).await?,
    ))
}

/// `PUT /persons`: updates the person holding one of the handles (200), or creates one (201).
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> SlashIdResult<Answer> {
    let req = parse_person(&body)?;
    let (user, created) = write_person(&state, &caller, &req, false).await?;
    let value = rendered(&state.service, &caller.ctx.tenant, &user).await?;
    Ok(if created {
        Answer::created(value)
    } else {
        Answer::ok(value)
    })
}

/// One `attr eq "value"` comparison of a SCIM filter.
struct Condition {
    attribute: String,
    value: String,
}

fn parse_filter(filter: &str) -> SlashIdResult<Vec<Condition>> {
    let bad = || {
        SlashIdError::bad_request(format!(
            "unsupported filter {filter:?}: use `attribute eq \"value\"` joined by `and`, with person_id, permissions, additional_permissions, roles or groups"
        ))
    };
    let mut conditions = Vec::new();
    for part in filter.split(" and ") {
        let mut words = part.trim().splitn(3, ' ');
        let (Some(attribute), Some(op), Some(value)) = (words.next(), words.next(), words.next())
        else {
            return Err(bad());
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(bad)?;
        let known = [
            "person_id",
            "permissions",
            "additional_permissions",
            "roles",
            "groups",
        ];
        if !op.eq_ignore_ascii_case("eq") || !known.contains(&attribute) {
            return Err(bad());
        }
        conditions.push(Condition {
            attribute: attribute.to_string(),
            value: value.to_string(),
        });
    }
    Ok(conditions)
}

async fn matches(
    state: &AppState,
    tenant: &str,
    user: &User,
    conditions: &[Condition],
) -> SlashIdResult<bool> {
    for c in conditions {
        let found = match c.attribute.as_str() {
            "person_id" => user.id == c.value,
            "permissions" => permissions::granted(state, tenant, &user.id, &c.value).await?,
            "additional_permissions" => permissions::direct(&state.service, tenant, &user.id)
                .await?
                .contains(&c.value),
            "roles" => super::roles::roles_of(&state.service, tenant, &user.id)
                .await?
                .contains(&c.value),
            _ => state
                .service
                .current_groups(tenant, &user.id)
                .await?
                .contains(&c.value),
        };
        if !found {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `GET /persons` with `handle`, `filter`, `ids`, `limit` (at most 1,000) and `offset`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> SlashIdResult<Answer> {
    let query: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let number = |name: &str, max: usize| -> SlashIdResult<Option<usize>> {
        get(name)
            .map(|v| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| {
                        SlashIdError::bad_request(format!(
                            "`{name}` must be an integer up to {max}"
                        ))
                    })
            })
            .transpose()
    };
    let limit = number("limit", 1000)?.unwrap_or(1000);
    let offset = number("offset", usize::MAX)?.unwrap_or(0);
    let handle = match get("handle") {
        Some(h) => {
            let (kind, value) = h.split_once(':').ok_or_else(|| {
                SlashIdError::bad_request("`handle` must be type:value, e.g. email_address:a@b.io")
            })?;
            Some(Handle {
                kind: kind.to_string(),
                value: value.to_string(),
            })
        }
        None => None,
    };
    let ids: Option<Vec<String>> =
        get("ids").map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let conditions = match get("filter") {
        Some(f) => parse_filter(&f)?,
        None => Vec::new(),
    };
    let tenant = &caller.ctx.tenant;
    let mut found = Vec::new();
    for user in state.service.list_all::<User>(tenant, None).await? {
        let user = user.object;
        if ids.as_ref().is_some_and(|ids| !ids.contains(&user.id)) {
            continue;
        }
        if let Some(h) = &handle {
            if !holds(&user, std::slice::from_ref(h)) {
                continue;
            }
        }
        if !matches(&state, tenant, &user, &conditions).await? {
            continue;
        }
        found.push(user);
    }
    let total = found.len();
    let mut persons = Vec::new();
    for user in found.iter().skip(offset).take(limit) {
        persons.push(rendered(&state.service, tenant, user).await?);
    }
    let mut answer = Answer::ok(persons);
    answer.meta(json!({"pagination": {"limit": limit, "offset": offset, "total_count": total}}));
    Ok(answer)
}

/// `GET /persons/{person_id}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> SlashIdResult<Answer> {
    let id = path.get("person_id");
    let tenant = &caller.ctx.tenant;
    let user = find(&state.service, tenant, &id).await?;
    Ok(Answer::ok(rendered(&state.service, tenant, &user).await?))
}

/// `PATCH /persons/{person_id}`: `active`.
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body,
) -> SlashIdResult<Answer> {
    let id = path.get("person_id");
    let active = match body.get("active") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(SlashIdError::bad_request("`active` must be a boolean")),
    };
    let tenant = &caller.ctx.tenant;
    let found = find_versioned(&state.service, tenant, &id).await?;
    let mut user = found.object;
    if let Some(active) = active {
        user.disabled = !active;
        let expect = Expect::Version(found.version);
        let action = "slashid.person.patch";
        user = state
            .service
            .put_audited(&caller.ctx, &user, expect, action, None)
            .await?
            .object;
    }
    Ok(Answer::ok(
        rendered(&state.service, &caller.ctx.tenant, &user).await?,
    ))
}

/// `DELETE /persons/{person_id}`: with its memberships, assignments and grants.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> SlashIdResult<Response> {
    let id = path.get("person_id");
    let user = find(&state.service, &caller.ctx.tenant, &id).await?;
    let key = user.object_key();
    state
        .service
        .delete_all(
            &caller.ctx,
            std::slice::from_ref(&key),
            "slashid.person.delete",
            &key,
            |_| None,
        )
        .await?;
    Ok(no_content())
}

/// `GET /persons/{person_id}/groups`.
pub async fn get_groups(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> SlashIdResult<Answer> {
    let id = path.get("person_id");
    let tenant = &caller.ctx.tenant;
    find(&state.service, tenant, &id).await?;
    Ok(Answer::ok(state.service.current_groups(tenant, &id).await?))
}

/// `PUT /persons/{person_id}/groups`: the person's groups become exactly these.
pub async fn put_groups(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body,
) -> SlashIdResult<Answer> {
    let id = path.get("person_id");
    let groups = names(&body, "groups", false, group_name)?.unwrap_or_default();
    find(&state.service, &caller.ctx.tenant, &id).await?;
    state
        .service
        .set_groups(&caller.ctx, &id, &groups, "slashid.person.groups")
        .await?;
    Ok(Answer::ok(
        state
            .service
            .current_groups(&caller.ctx.tenant, &id)
            .await?,
    ))
}
