//! Persons: the organization's users as SlashID shows them. Handles, region and bucketed
//! attributes live in the user's attributes (`slashid.handles`, `slashid.region`,
//! `slashid.attributes`); the first email handle is also the user's email; `active` is
//! the opposite of `disabled`; groups are the user's direct memberships.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use grantd_core::model::{Group, Member, SubjectRef, SubjectType, User};
use grantd_core::{ids, Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::{SlashIdError, SlashIdResult};
use super::guard::Caller;
use super::permissions;
use super::wire::{group_name, names, no_content, Answer, Body, PathParams};
use crate::service::{Batch, Service, ServiceResult};
use crate::state::AppState;

const HANDLES: &str = "slashid.handles";
const REGION: &str = "slashid.region";
const ATTRIBUTES: &str = "slashid.attributes";
const REGIONS: [&str; 5] = [
    "us-iowa",
    "europe-belgium",
    "asia-japan",
    "europe-england",
    "australia-sydney",
];
const HANDLE_TYPES: [&str; 3] = ["email_address", "phone_number", "username"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handle {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// A person's handles: those recorded through SlashID, or the user's email.
pub fn handles_of(user: &User) -> Vec<Handle> {
    if let Some(recorded) = user
        .attributes
        .get(HANDLES)
        .and_then(|h| serde_json::from_str::<Vec<Handle>>(h).ok())
    {
        return recorded;
    }
    user.email
        .iter()
        .map(|e| Handle {
            kind: "email_address".into(),
            value: e.clone(),
        })
        .collect()
}

pub fn user_ref(id: &str) -> SubjectRef {
    SubjectRef {
        subject_type: SubjectType::User,
        id: id.to_string(),
    }
}

/// The groups `user` is a direct member of, from the keys of its memberships.
pub async fn groups_of(service: &Service, tenant: &str, user: &str) -> ServiceResult<Vec<String>> {
    let holders = service
        .referencing(tenant, &ObjectKey::new(Kind::User, user))
        .await?;
    Ok(holders
        .into_iter()
        .filter(|k| k.kind == Kind::Member)
        .filter_map(|k| k.key.split_once('/').map(|(g, _)| g.to_string()))
        .collect())
}

/// `PersonRet`.
pub fn render(user: &User, groups: Vec<String>) -> Value {
    let mut value = json!({
        "active": !user.disabled,
        "person_id": user.id,
        "person_type": "regular",
        "region": user.attributes.get(REGION).map(String::as_str).unwrap_or(REGIONS[0]),
        "handles": handles_of(user),
        "groups": groups,
    });
    if let Some(attributes) = user
        .attributes
        .get(ATTRIBUTES)
        .and_then(|a| serde_json::from_str::<Value>(a).ok())
    {
        value["attributes"] = attributes;
    }
    value
}

async fn rendered(service: &Service, tenant: &str, user: &User) -> SlashIdResult<Value> {
    let groups = groups_of(service, tenant, &user.id).await?;
    Ok(render(user, groups))
}

/// A person the path names; 404 when there is none.
pub async fn require(batch: &mut Batch<'_>, id: &str) -> SlashIdResult<User> {
    Ok(batch
        .get::<User>(id)
        .await?
        .ok_or_else(|| SlashIdError::not_found(format!("person {id} not found")))?
        .object)
}

/// What a `PersonCreateReq` asks for.
struct PersonReq {
    active: Option<bool>,
    handles: Vec<Handle>,
    groups: Option<Vec<String>>,
    region: Option<String>,
    attributes: Option<String>,
}

fn parse_person(body: &Value) -> SlashIdResult<PersonReq> {
    let active = match body.get("active") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(SlashIdError::bad_request("`active` must be a boolean")),
    };
    let handles: Vec<Handle> = match body.get("handles") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
            SlashIdError::bad_request("`handles` must be an array of {type, value}")
        })?,
    };
    if handles.is_empty() {
        return Err(SlashIdError::bad_request("at least one handle is required"));
    }
    for h in &handles {
        let ok = match h.kind.as_str() {
            "email_address" => ids::email(&h.value).is_ok(),
            "phone_number" => {
                let digits = h.value.strip_prefix('+').unwrap_or("");
                (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
            }
            "username" => {
                (1..=255).contains(&h.value.chars().count())
                    && !h.value.chars().any(char::is_control)
            }
            _ => {
                return Err(SlashIdError::bad_request(format!(
                    "handle type must be one of {}",
                    HANDLE_TYPES.join(", ")
                )))
            }
        };
        if !ok {
            return Err(SlashIdError::bad_request(format!(
                "{:?} is not a valid {}",
                h.value, h.kind
            )));
        }
    }
    let region = match body.get("region") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if REGIONS.contains(&r.as_str()) => Some(r.clone()),
        Some(_) => {
            return Err(SlashIdError::bad_request(format!(
                "`region` must be one of {}",
                REGIONS.join(", ")
            )))
        }
    };
    let attributes = match body.get("attributes") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(buckets)) if buckets.values().all(Value::is_object) => {
            let text = v.to_string();
            if text.len() > ids::MAX_TEXT_LEN {
                return Err(SlashIdError::bad_request(format!(
                    "`attributes` may take at most {} bytes of JSON here",
                    ids::MAX_TEXT_LEN
                )));
            }
            Some(text)
        }
        Some(_) => {
            return Err(SlashIdError::bad_request(
                "`attributes` must be an object of buckets, each an object",
            ))
        }
    };
    Ok(PersonReq {
        active,
        handles,
        groups: names(body, "groups", false, group_name)?,
        region,
        attributes,
    })
}

/// The user whose handles include one of `handles` (compared without case), if any.
fn holder<'u>(users: &'u [User], handles: &[Handle]) -> Option<&'u User> {
    users.iter().find(|u| {
        handles_of(u).iter().any(|h| {
            handles
                .iter()
                .any(|w| w.kind == h.kind && w.value.eq_ignore_ascii_case(&h.value))
        })
    })
}

/// Writes `user` with what `req` asks, and its groups when given (they must exist).
async fn write_person(
    batch: &mut Batch<'_>,
    mut user: User,
    req: &PersonReq,
    expect: Expect,
) -> SlashIdResult<User> {
    if let Some(active) = req.active {
        user.disabled = !active;
    }
    user.email = req
        .handles
        .iter()
        .find(|h| h.kind == "email_address")
        .map(|h| h.value.clone())
        .or(user.email);
    let handles = serde_json::to_string(&req.handles).unwrap_or_default();
    user.attributes.insert(HANDLES.into(), handles);
    if let Some(region) = &req.region {
        user.attributes.insert(REGION.into(), region.clone());
    }
    if let Some(attributes) = &req.attributes {
        user.attributes
            .insert(ATTRIBUTES.into(), attributes.clone());
    }
    batch.put(&user, expect).await?;
    if let Some(groups) = &req.groups {
        set_groups(batch, &user.id, groups).await?;
    }
    Ok(user)
}

/// Makes `user`'s direct groups exactly `groups`, each of which must exist.
pub async fn set_groups(batch: &mut Batch<'_>, user: &str, groups: &[String]) -> SlashIdResult<()> {
    for g in groups {
        if batch.get::<Group>(g).await?.is_none() {
            return Err(SlashIdError::not_found(format!("group {g} not found")));
        }
    }
    let subject = user_ref(user);
    for key in batch.referencing(&subject.object_key()).await? {
        if key.kind != Kind::Member {
            continue;
        }
        let in_group = key.key.split_once('/').map(|(g, _)| g.to_string());
        if in_group.is_some_and(|g| !groups.contains(&g)) {
            batch.delete(&key).await?;
        }
    }
    for g in groups {
        let member = Member {
            group: g.clone(),
            member: subject.clone(),
        };
        if batch.get::<Member>(&member.key()).await?.is_none() {
            batch.put(&member, Expect::Absent).await?;
        }
    }
    Ok(())
}

/// `POST /persons`: 409 when a handle is taken.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> SlashIdResult<Answer> {
    let req = parse_person(&body)?;
    let mut batch = state.service.batch(&caller.ctx).await?;
    let users: Vec<User> = batch
        .list::<User>(None)
        .await?
        .into_iter()
        .map(|u| u.object)
        .collect();
    if let Some(taken) = holder(&users, &req.handles) {
        return Err(SlashIdError::new(
            StatusCode::CONFLICT,
            format!("a handle is already used by person {}", taken.id),
        ));
    }
    let user = User {
        id: uuid::Uuid::now_v7().hyphenated().to_string(),
        email: None,
        name: None,
        attributes: BTreeMap::new(),
        disabled: false,
    };
    let user = write_person(&mut batch, user, &req, Expect::Absent).await?;
    batch
        .commit("slashid.person.create", &user.object_key(), None)
        .await?;
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    let users: Vec<User> = batch
        .list::<User>(None)
        .await?
        .into_iter()
        .map(|u| u.object)
        .collect();
    let existing = holder(&users, &req.handles).cloned();
    let created = existing.is_none();
    let user = existing.unwrap_or_else(|| User {
        id: uuid::Uuid::now_v7().hyphenated().to_string(),
        email: None,
        name: None,
        attributes: BTreeMap::new(),
        disabled: false,
    });
    let expect = if created {
        Expect::Absent
    } else {
        Expect::Present
    };
    let user = write_person(&mut batch, user, &req, expect).await?;
    batch
        .commit("slashid.person.put", &user.object_key(), None)
        .await?;
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
            _ => groups_of(&state.service, tenant, &user.id)
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
            if holder(std::slice::from_ref(&user), std::slice::from_ref(h)).is_none() {
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

/// The person `id`, read outside a transaction; 404 when there is none.
pub async fn find(service: &Service, tenant: &str, id: &str) -> SlashIdResult<User> {
    match service.get::<User>(tenant, id).await {
        Ok(user) => Ok(user.object),
        Err(crate::service::ServiceError::NotFound(_)) => {
            Err(SlashIdError::not_found(format!("person {id} not found")))
        }
        Err(e) => Err(e.into()),
    }
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    let mut user = require(&mut batch, &id).await?;
    if let Some(active) = active {
        user.disabled = !active;
        batch.put(&user, Expect::Present).await?;
    }
    batch
        .commit("slashid.person.patch", &user.object_key(), None)
        .await?;
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    let user = require(&mut batch, &id).await?;
    batch.delete(&user.object_key()).await?;
    batch
        .commit("slashid.person.delete", &user.object_key(), None)
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
    Ok(Answer::ok(groups_of(&state.service, tenant, &id).await?))
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    let user = require(&mut batch, &id).await?;
    set_groups(&mut batch, &id, &groups).await?;
    batch
        .commit("slashid.person.groups", &user.object_key(), None)
        .await?;
    Ok(Answer::ok(
        groups_of(&state.service, &caller.ctx.tenant, &id).await?,
    ))
}
