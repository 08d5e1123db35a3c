//! IAM user groups: the tenant's groups, their members (added by email: an address that is
//! no user yet is invited, and joins on accepting), invites and permissions.

use std::collections::BTreeSet;

use axum::extract::{RawQuery, State};
use grantd_core::model::{Group, Invite, Member, SubjectRef, SubjectType, User};
use grantd_core::{ids, Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde_json::{json, Value};

use super::audit::{self, Event};
use super::error::{SegmentError, SegmentResult};
use super::guard::Caller;
use super::users::{minimal, set_permissions};
use super::wire::{Body, Data, Fields, PageRequest, PathIds, Query, MAX_ID};
use crate::service::{new_id, Batch, Service, ServiceResult};
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
        .list_all::<Member>(tenant, Some(&Member::prefix(group)))
        .await?
        .into_iter()
        .filter(|m| m.object.member.subject_type == SubjectType::User)
        .map(|m| m.object.member.id)
        .collect())
}

/// `UserGroupV1`, with its permissions when asked.
async fn render(
    service: &Service,
    tenant: &str,
    group: &Group,
    with_permissions: bool,
) -> SegmentResult<Value> {
    let count = service
        .list_all::<Member>(tenant, Some(&Member::prefix(&group.id)))
        .await?
        .len();
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

/// The group, inside the batch; 404 when it does not exist.
async fn require(batch: &mut Batch<'_>, id: &str) -> SegmentResult<Group> {
    Ok(batch
        .get::<Group>(id)
        .await?
        .ok_or_else(SegmentError::not_found)?
        .object)
}

/// The user with this address (compared without case), if any.
fn by_email<'u>(users: &'u [User], email: &str) -> Option<&'u User> {
    users.iter().find(|u| {
        u.email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(email))
    })
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    batch.put(&group, Expect::Absent).await?;
    let events = vec![Event::new("User Group Created", "group", &group.id, name)];
    batch
        .commit(
            "segment.group.create",
            &group.object_key(),
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    let mut group = require(&mut batch, &id).await?;
    group.name = Some(name.clone());
    batch.put(&group, Expect::Present).await?;
    let events = vec![Event::new("User Group Updated", "group", &id, name)];
    batch
        .commit(
            "segment.group.update",
            &group.object_key(),
            audit::detail(events),
        )
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    let group = require(&mut batch, &id).await?;
    let key = group.object_key();
    batch.delete(&key).await?;
    let events = vec![Event::new(
        "User Group Deleted",
        "group",
        &id,
        name_of(&group),
    )];
    batch
        .commit("segment.group.delete", &key, audit::detail(events))
        .await?;
    Ok(Data::success())
}

/// Adds the addresses to the group: users join it, other addresses are invited into it.
async fn add_emails(
    batch: &mut Batch<'_>,
    group: &Group,
    emails: &[String],
    users: &[User],
    events: &mut Vec<Event>,
) -> SegmentResult<()> {
    let mut added = false;
    for email in emails {
        match by_email(users, email) {
            Some(user) => {
                let member = Member {
                    group: group.id.clone(),
                    member: SubjectRef {
                        subject_type: SubjectType::User,
                        id: user.id.clone(),
                    },
                };
                if batch.get::<Member>(&member_key(&member)).await?.is_none() {
                    batch.put(&member, Expect::Absent).await?;
                    events.push(Event::new(
                        "User Added To User Group",
                        "group",
                        &group.id,
                        email,
                    ));
                    added = true;
                }
            }
            None => {
                let existing = batch.get::<Invite>(email).await?.map(|i| i.object);
                let is_new = existing.is_none();
                let mut invite = existing.unwrap_or_else(|| Invite {
                    email: email.clone(),
                    grants: Vec::new(),
                    groups: Vec::new(),
                });
                if !invite.groups.contains(&group.id) {
                    invite.groups.push(group.id.clone());
                    batch.put(&invite, Expect::Any).await?;
                    if is_new {
                        events.push(Event::new(
                            "New Segment User Invited to Workspace",
                            "invite",
                            email,
                            email,
                        ));
                    }
                    added = true;
                }
            }
        }
    }
    if added {
        events.insert(
            0,
            Event::new(
                "Subjects Added to Group",
                "group",
                &group.id,
                name_of(group),
            ),
        );
    }
    Ok(())
}

fn member_key(member: &Member) -> String {
    member.key()
}

/// Removes the addresses from the group: users' memberships and invites' places in it.
async fn remove_emails(
    batch: &mut Batch<'_>,
    group: &Group,
    keep: &(dyn Fn(&str) -> bool + Sync),
    users: &[User],
    events: &mut Vec<Event>,
) -> SegmentResult<()> {
    let mut removed = Vec::new();
    for member in batch
        .list::<Member>(Some(&Member::prefix(&group.id)))
        .await?
    {
        let m = member.object;
        if m.member.subject_type != SubjectType::User {
            continue;
        }
        let email = users
            .iter()
            .find(|u| u.id == m.member.id)
            .and_then(|u| u.email.clone())
            .unwrap_or_default();
        if keep(&email) {
            continue;
        }
        batch
            .delete(&ObjectKey::new(Kind::Member, member_key(&m)))
            .await?;
        removed.push(if email.is_empty() { m.member.id } else { email });
    }
    for invite in batch.list::<Invite>(None).await? {
        let mut invite = invite.object;
        if invite.groups.contains(&group.id) && !keep(&invite.email) {
            invite.groups.retain(|g| *g != group.id);
            batch.put(&invite, Expect::Any).await?;
            removed.push(invite.email);
        }
    }
    if !removed.is_empty() {
        events.push(Event::new(
            "Group Memberships Deleted",
            "group",
            &group.id,
            name_of(group),
        ));
        for who in removed {
            events.push(Event::new(
                "User Removed From User Group",
                "group",
                &group.id,
                who,
            ));
        }
    }
    Ok(())
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    let group = require(&mut batch, id).await?;
    let users: Vec<User> = batch
        .list::<User>(None)
        .await?
        .into_iter()
        .map(|u| u.object)
        .collect();
    let mut events = Vec::new();
    if let Some(keep) = keep {
        remove_emails(&mut batch, &group, keep, &users, &mut events).await?;
    }
    add_emails(&mut batch, &group, add, &users, &mut events).await?;
    batch
        .commit(action, &group.object_key(), audit::detail(events))
        .await?;
    Ok(group)
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
