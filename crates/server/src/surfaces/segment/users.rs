//! IAM users: the tenant's users as Segment shows them, their permissions and groups.

use axum::extract::{RawQuery, State};
use grantd_core::model::{Group, Member, SubjectRef, SubjectType, User};
use grantd_core::{Kind, ObjectKey};
use serde_json::{json, Value};

use super::audit::{self, Event};
use super::error::{SegmentError, SegmentResult};
use super::guard::Caller;
use super::policies::{self, PermissionIn};
use super::wire::{Body, Data, Fields, PageRequest, PathIds, Query};
use crate::service::{Batch, ServiceError};
use crate::state::AppState;

pub fn user_ref(id: &str) -> SubjectRef {
    SubjectRef {
        subject_type: SubjectType::User,
        id: id.to_string(),
    }
}

/// `MinimalUserV1`.
pub fn minimal(user: &User) -> Value {
    json!({
        "id": user.id,
        "name": user.name.clone().unwrap_or_default(),
        "email": user.email.clone().unwrap_or_default(),
    })
}

/// How audit events name a user: by email when it has one.
fn display(user: &User) -> String {
    user.email.clone().unwrap_or_else(|| user.id.clone())
}

/// `GET /users`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    Body(body): Body,
) -> SegmentResult<Data> {
    let page = PageRequest::of(&Query::parse(raw.as_deref()), &body)?;
    let users = state
        .service
        .list_all::<User>(&caller.ctx.tenant, None)
        .await?;
    let (items, pagination) = page.slice(&users);
    let users: Vec<Value> = items.iter().map(|u| minimal(&u.object)).collect();
    Ok(Data::ok(json!({"users": users, "pagination": pagination})))
}

/// `GET /users/{userId}`: the user with its permissions.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
) -> SegmentResult<Data> {
    let id = path.id("userId")?;
    let tenant = &caller.ctx.tenant;
    let user = state.service.get::<User>(tenant, &id).await?.object;
    let permissions =
        policies::permissions_of(&state.service, tenant, &user_ref(&id), false).await?;
    let mut value = minimal(&user);
    value["permissions"] = json!(permissions);
    Ok(Data::ok(json!({ "user": value })))
}

/// `DELETE /users?userIds=...`: removes the users, their memberships and their grants.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> SegmentResult<Data> {
    let ids = Query::parse(raw.as_deref()).array("userIds");
    if ids.is_empty() {
        return Err(SegmentError::field("userIds", "\"userIds\" is required"));
    }
    let mut batch = state.service.batch(&caller.ctx).await?;
    let mut events = Vec::new();
    for id in &ids {
        let user = batch
            .get::<User>(id)
            .await?
            .ok_or_else(SegmentError::not_found)?
            .object;
        let removed = batch
            .delete(&ObjectKey::new(Kind::User, id.clone()))
            .await?;
        if removed.iter().any(|k| k.kind == Kind::Member) {
            events.push(Event::new(
                "Group Memberships Deleted",
                "user",
                id,
                display(&user),
            ));
        }
        events.push(Event::new(
            "User Removed From Workspace",
            "user",
            id,
            display(&user),
        ));
    }
    let target = ObjectKey::new(Kind::User, ids.join(","));
    batch
        .commit("segment.users.delete", &target, audit::detail(events))
        .await?;
    Ok(Data::success())
}

/// The permissions of a request body (`{"permissions": [...]}`), every failure named.
pub fn permissions_body(body: &Value) -> SegmentResult<Vec<PermissionIn>> {
    let mut f = Fields::default();
    let permissions = match f.body(body) {
        Some(body) => {
            let value = f.required(body, "permissions", "permissions");
            policies::parse_permissions(&mut f, value, "permissions")
        }
        None => Vec::new(),
    };
    f.finish()?;
    Ok(permissions)
}

/// Whether the subject exists, inside the batch; 404 otherwise.
pub async fn require(batch: &mut Batch<'_>, subject: &SubjectRef) -> SegmentResult<String> {
    match subject.subject_type {
        SubjectType::User => Ok(display(
            &batch
                .get::<User>(&subject.id)
                .await?
                .ok_or_else(SegmentError::not_found)?
                .object,
        )),
        _ => {
            let group = batch
                .get::<Group>(&subject.id)
                .await?
                .ok_or_else(SegmentError::not_found)?
                .object;
            Ok(group.name.unwrap_or(group.id))
        }
    }
}

/// Adds (or, with `replace`, replaces) a user's or group's permissions in one transaction
/// and answers with all of them, each naming its policy.
pub async fn set_permissions(
    state: &AppState,
    caller: &Caller,
    subject: SubjectRef,
    body: &Value,
    replace: bool,
) -> SegmentResult<Data> {
    let permissions = permissions_body(body)?;
    let tenant = caller.ctx.tenant.clone();
    let mut batch = state.service.batch(&caller.ctx).await?;
    let name = require(&mut batch, &subject).await?;
    policies::prepare(&mut batch, &permissions, &tenant).await?;
    let mut events = Vec::new();
    if replace {
        for (policy, role) in policies::revoke_visible(&mut batch, &subject).await? {
            events.push(Event::new("Policy Deleted", "policy", policy, role));
        }
    }
    let created = policies::grant(&mut batch, &subject, &permissions, &tenant).await?;
    for c in &created {
        events.push(Event::new(
            "Policy Created",
            "policy",
            &c.policy_id,
            &c.role_id,
        ));
    }
    let (kind, updated) = match subject.subject_type {
        SubjectType::User => ("user", "User Policy Updated"),
        _ => ("group", "User Group Policy Updated"),
    };
    events.push(Event::new(updated, kind, &subject.id, name));
    let action = if replace {
        "segment.permissions.replace"
    } else {
        "segment.permissions.add"
    };
    batch
        .commit(action, &subject.object_key(), audit::detail(events))
        .await?;
    let permissions = policies::permissions_of(&state.service, &tenant, &subject, !replace).await?;
    Ok(Data::ok(json!({ "permissions": permissions })))
}

/// `POST /users/{userId}/permissions`.
pub async fn add_permissions(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    Body(body): Body,
) -> SegmentResult<Data> {
    let id = path.id("userId")?;
    set_permissions(&state, &caller, user_ref(&id), &body, false).await
}

/// `PUT /users/{userId}/permissions`.
pub async fn replace_permissions(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    Body(body): Body,
) -> SegmentResult<Data> {
    let id = path.id("userId")?;
    set_permissions(&state, &caller, user_ref(&id), &body, true).await
}

/// `GET /users/{userId}/groups`: the groups the user is a direct member of.
pub async fn groups(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
    RawQuery(raw): RawQuery,
    Body(body): Body,
) -> SegmentResult<Data> {
    let id = path.id("userId")?;
    let page = PageRequest::of(&Query::parse(raw.as_deref()), &body)?;
    let tenant = &caller.ctx.tenant;
    state.service.get::<User>(tenant, &id).await?;
    let mut groups = Vec::new();
    for member in state
        .service
        .holders::<Member>(tenant, &ObjectKey::new(Kind::User, id.clone()))
        .await?
    {
        let group = match state
            .service
            .get::<Group>(tenant, &member.object.group)
            .await
        {
            Ok(group) => group.object,
            // Deleted since the memberships were read.
            Err(ServiceError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        groups
            .push(json!({"id": group.id, "name": group.name.clone().unwrap_or(group.id.clone())}));
    }
    let (items, pagination) = page.slice(&groups);
    Ok(Data::ok(json!({"groups": items, "pagination": pagination})))
}
