//! IAM user groups: the tenant's groups, their members (added by email: an address that is
//! no user yet is invited, and joins on accepting), invites and permissions.

use std::collections::BTreeSet;

use axum::extract::{RawQuery, State};
use grantd_core::model::{Group, Invite, SubjectRef, SubjectType, User};
use grantd_core::{ids, Kind, ObjectKey};
use grantd_store::Expect;
use serde_json::{json, Value};

use super::audit::{self, Event};
use super::error::{SegmentError, SegmentResult};
use super::fields::Fields;
use super::guard::Caller;
use super::users::{minimal, set_permissions};
use super::wire::{Body, Data, PageRequest, PathIds, Query, MAX_ID};
use crate::service::{new_id, AddressChange, Deleted, Service, ServiceResult};
use crate::state::AppState;

fn group_ref(id: &str) -> SubjectRef {
    SubjectRef {
        subject_type: SubjectType::Group,
        id: id.to_string(),
    }
}

fn name_of(group: &Group) -> String {
    group.name.clone().unwrap_or_else(|| group.id.clone())
}

/// The group's direct members that are users.
async fn member_users(service: &Service, tenant: &str, group: &str) -> ServiceResult<Vec<String>> {
    Ok(service
        .current_members(tenant, group)
        .await?
        .into_iter()
        .filter(|m| m.subject_type == SubjectType::User)
        .map(|m| m.id)
        .collect())
}

/// `UserGroupV1`, with its permissions when asked.
async fn render(
    service: &Service,
    tenant: &str,
    group: &Group,
    with_permissions: bool,
) -> SegmentResult<Value> {
    let count = service.current_members(tenant, &group.id).await?.len();
    let mut value = json!({"id": group.id, "name": name_of(group), "memberCount": count});
    if with_permissions {
        value["permissions"] = json!(
            super::policies::permissions_of(service, tenant, &group_ref(&group.id), false).await?
        );
    }
    Ok(value)
}

/// `{"name": ...}`, required.
fn name_body(body: &Value) -> SegmentResult<String> {
    let mut f = Fields::default();
    let name = f
        .body(body)
        .and_then(|b| f.required_string(b, "name", "", MAX_ID));
    f.finish()?;
    name.ok_or_else(|| SegmentError::field("name", "\"name\" is required"))
}

/// `{"emails": [...]}`, each a valid address.
fn emails_body(body: &Value) -> SegmentResult<Vec<String>> {
    let mut f = Fields::default();
    let mut emails = Vec::new();
    if let Some(b) = f.body(body) {
        let v = f.required(b, "emails", "emails");
        for (i, e) in f.array(v, "emails").unwrap_or_default().iter().enumerate() {
            match e.as_str() {
                Some(s) if ids::email(s).is_ok() => emails.push(s.to_string()),
                _ => f.fail(format!("emails.{i}"), "must be an email address"),
            }
        }
    }
    f.finish()?;
    Ok(emails)
}

fn emails_query(raw: Option<&str>) -> SegmentResult<Vec<String>> {
    let emails = Query::parse(raw).array("emails");
    if emails.is_empty() {
        return Err(SegmentError::field("emails", "\"emails\" is required"));
    }
    let mut f = Fields::default();
    for (i, e) in emails.iter().enumerate() {
        if ids::email(e).is_err() {
            f.fail(format!("emails.{i}"), "must be an email address");
        }
    }
    f.finish()?;
    Ok(emails)
}

/// `POST /groups`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> SegmentResult<Data> {
    let name = name_body(&body)?;
    let group = Group {
        id: new_id("grp"),
        name: Some(name.clone()),
        description: None,
    };
    let events = vec![Event::new("User Group Created", "group", &group.id, name)];
    let action = "segment.group.create";
    state
        .service
        .put_audited(
            &caller.ctx,
            &group,
            Expect::Absent,
            action,
            audit::detail(events),
        )
        .await?;
    let value = render(&state.service, &caller.ctx.tenant, &group, true).await?;
    Ok(Data::ok(json!({ "userGroup": value })))
}

/// `GET /groups`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    Body(body): Body,
) -> SegmentResult<Data> {
    let page = PageRequest::of(&Query::parse(raw.as_deref()), &body)?;
    let tenant = &caller.ctx.tenant;
    let groups = state.service.list_all::<Group>(tenant, None).await?;
    let (items, pagination) = page.slice(&groups);
    let mut rendered = Vec::new();
    for g in &items {
        rendered.push(render(&state.service, tenant, &g.object, false).await?);
    }
    Ok(Data::ok(
        json!({"userGroups": rendered, "pagination": pagination}),
    ))
}

/// `GET /groups/{userGroupId}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
) -> SegmentResult<Data> {
    let id = path.id("userGroupId")?;
    let tenant = &caller.ctx.tenant;
    let group = state.service.get::<Group>(tenant, &id).await?.object;
    let value = render(&state.service, tenant, &group, true).await?;
    Ok(Data::ok(json!({ "userGroup": value })))
}

/// `PATCH /groups/{userGroupId}`: renames the group.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    Body(body): Body,
) -> SegmentResult<Data> {
    let id = path.id("userGroupId")?;
    let name = name_body(&body)?;
    let found = state.service.get::<Group>(&caller.ctx.tenant, &id).await?;
    let mut group = found.object;
    group.name = Some(name.clone());
    let events = vec![Event::new("User Group Updated", "group", &id, name)];
    let (action, expect) = ("segment.group.update", Expect::Version(found.version));
    state
        .service
        .put_audited(&caller.ctx, &group, expect, action, audit::detail(events))
        .await?;
    let value = render(&state.service, &caller.ctx.tenant, &group, true).await?;
    Ok(Data::ok(json!({ "userGroup": value })))
}

/// `DELETE /groups/{userGroupId}`: with its memberships and grants.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
) -> SegmentResult<Data> {
    let id = path.id("userGroupId")?;
    let key = ObjectKey::new(Kind::Group, id.clone());
    let events = |deleted: &[Deleted]| {
        let name = deleted
            .first()
            .and_then(|d| serde_json::from_value::<Group>(d.body.clone()).ok())
            .map_or_else(|| id.clone(), |g| name_of(&g));
        audit::detail(vec![Event::new("User Group Deleted", "group", &id, name)])
    };
    state
        .service
        .delete_all(
            &caller.ctx,
            std::slice::from_ref(&key),
            "segment.group.delete",
            &key,
            events,
        )
        .await?;
    Ok(Data::success())
}

async fn answer_group(state: &AppState, caller: &Caller, group: &Group) -> SegmentResult<Data> {
    let value = render(&state.service, &caller.ctx.tenant, group, true).await?;
    Ok(Data::ok(json!({ "userGroup": value })))
}

/// Changes a group's members in one transaction: first removes the members (and invited
/// addresses) for which `keep` says no, then adds `add`.
async fn change_members(
    state: &AppState,
    caller: &Caller,
    id: &str,
    keep: Option<&(dyn Fn(&str) -> bool + Sync)>,
    add: &[String],
    action: &str,
) -> SegmentResult<Group> {
    let events = |group: &Group, change: &AddressChange| {
        audit::detail(audit::membership_events(group, change))
    };
    Ok(state
        .service
        .change_group_addresses(&caller.ctx, id, keep, add, action, events)
        .await?)
}

fn lowercase(emails: &[String]) -> BTreeSet<String> {
    emails.iter().map(|e| e.to_ascii_lowercase()).collect()
}

/// `POST /groups/{userGroupId}/users`.
pub async fn add_users(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    Body(body): Body,
) -> SegmentResult<Data> {
    let id = path.id("userGroupId")?;
    let emails = emails_body(&body)?;
    let group = change_members(
        &state,
        &caller,
        &id,
        None,
        &emails,
        "segment.group.users.add",
    )
    .await?;
    answer_group(&state, &caller, &group).await
}

/// `PUT /group/{userGroupId}/users`: the group's members become exactly these addresses.
pub async fn replace_users(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    Body(body): Body,
) -> SegmentResult<Data> {
    let id = path.id("userGroupId")?;
    let emails = emails_body(&body)?;
    let wanted = lowercase(&emails);
    let keep = move |email: &str| wanted.contains(&email.to_ascii_lowercase());
    let group = change_members(
        &state,
        &caller,
        &id,
        Some(&keep),
        &emails,
        "segment.group.users.replace",
    )
    .await?;
    answer_group(&state, &caller, &group).await
}

/// `DELETE /group/{userGroupId}/users?emails=...`.
pub async fn remove_users(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    RawQuery(raw): RawQuery,
) -> SegmentResult<Data> {
    let id = path.id("userGroupId")?;
    let gone = lowercase(&emails_query(raw.as_deref())?);
    let keep = move |email: &str| !gone.contains(&email.to_ascii_lowercase());
    change_members(
        &state,
        &caller,
        &id,
        Some(&keep),
        &[],
        "segment.group.users.remove",
    )
    .await?;
    Ok(Data::success())
}

/// `GET /groups/{userGroupId}/users`.
pub async fn users(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    RawQuery(raw): RawQuery,
    Body(body): Body,
) -> SegmentResult<Data> {
    let id = path.id("userGroupId")?;
    let page = PageRequest::of(&Query::parse(raw.as_deref()), &body)?;
    let tenant = &caller.ctx.tenant;
    state.service.get::<Group>(tenant, &id).await?;
    let ids = member_users(&state.service, tenant, &id).await?;
    let (items, pagination) = page.slice(&ids);
    let mut users = Vec::new();
    for user in items {
        users.push(minimal(
            &state.service.get::<User>(tenant, &user).await?.object,
        ));
    }
    Ok(Data::ok(json!({"users": users, "pagination": pagination})))
}

/// `GET /groups/{userGroupId}/invites`: the invited addresses that join on accepting.
pub async fn invites(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    RawQuery(raw): RawQuery,
    Body(body): Body,
) -> SegmentResult<Data> {
    let id = path.id("userGroupId")?;
    let page = PageRequest::of(&Query::parse(raw.as_deref()), &body)?;
    let tenant = &caller.ctx.tenant;
    state.service.get::<Group>(tenant, &id).await?;
    let emails: Vec<String> = state
        .service
        .list_all::<Invite>(tenant, None)
        .await?
        .into_iter()
        .filter(|i| i.object.groups.contains(&id))
        .map(|i| i.object.email)
        .collect();
    let (items, pagination) = page.slice(&emails);
    Ok(Data::ok(json!({"emails": items, "pagination": pagination})))
}

/// `POST /groups/{userGroupId}/permissions`.
pub async fn add_permissions(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    Body(body): Body,
) -> SegmentResult<Data> {
    let id = path.id("userGroupId")?;
    set_permissions(&state, &caller, group_ref(&id), &body, false).await
}

/// `PUT /groups/{userGroupId}/permissions`.
pub async fn replace_permissions(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    Body(body): Body,
) -> SegmentResult<Data> {
    let id = path.id("userGroupId")?;
    set_permissions(&state, &caller, group_ref(&id), &body, true).await
}
