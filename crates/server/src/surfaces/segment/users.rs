//! IAM users: the tenant's users as Segment shows them, their permissions and groups.

use axum::extract::{RawQuery, State};
use grantd_core::model::{Grant, Group, SubjectRef, SubjectType, User};
use grantd_core::{Kind, ObjectKey};
use serde_json::{json, Value};

use super::audit::{self, Event};
use super::error::{SegmentError, SegmentResult};
use super::fields::Fields;
use super::guard::Caller;
use super::permissions_in::{self, PermissionIn};
use super::policies;
use super::wire::{Body, Data, PageRequest, PathIds, Query};
use crate::service::{Deleted, PolicyChange, ServiceError};
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
    let keys: Vec<ObjectKey> = ids
        .iter()
        .map(|id| ObjectKey::new(Kind::User, id.clone()))
        .collect();
    let target = ObjectKey::new(Kind::User, ids.join(","));
    let events = |deleted: &[Deleted]| {
        let mut events = Vec::new();
        for d in deleted {
            let name = serde_json::from_value::<User>(d.body.clone())
                .map(|u| display(&u))
                .unwrap_or_else(|_| d.key.key.clone());
            if d.cascaded.iter().any(|k| k.kind == Kind::Member) {
                events.push(Event::new(
                    "Group Memberships Deleted",
                    "user",
                    &d.key.key,
                    &name,
                ));
            }
            events.push(Event::new(
                "User Removed From Workspace",
                "user",
                &d.key.key,
                name,
            ));
        }
        audit::detail(events)
    };
    state
        .service
        .delete_all(&caller.ctx, &keys, "segment.users.delete", &target, events)
        .await?;
    Ok(Data::success())
}

/// The permissions of a request body (`{"permissions": [...]}`), every failure named.
pub fn permissions_body(body: &Value) -> SegmentResult<Vec<PermissionIn>> {
    let mut f = Fields::default();
    let permissions = match f.body(body) {
        Some(body) => {
            let value = f.required(body, "permissions", "permissions");
            permissions_in::parse_permissions(&mut f, value, "permissions")
        }
        None => Vec::new(),
    };
    f.finish()?;
    Ok(permissions)
}

/// How audit events name a user or group as stored.
fn subject_name(subject: &SubjectRef, stored: &Value) -> String {
    match subject.subject_type {
        SubjectType::User => serde_json::from_value::<User>(stored.clone())
            .map(|u| display(&u))
            .unwrap_or_else(|_| subject.id.clone()),
        _ => serde_json::from_value::<Group>(stored.clone())
            .ok()
            .and_then(|g| g.name)
            .unwrap_or_else(|| subject.id.clone()),
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
    let (requests, prerequisites) = policies::requests(&permissions, &tenant);
    let action = if replace {
        "segment.permissions.replace"
    } else {
        "segment.permissions.add"
    };
    let (kind, updated) = match subject.subject_type {
        SubjectType::User => ("user", "User Policy Updated"),
        _ => ("group", "User Group Policy Updated"),
    };
    let events = |stored: &Value, change: &PolicyChange| {
        let mut events = Vec::new();
        for p in &change.removed {
            events.push(Event::new("Policy Deleted", "policy", &p.id, &p.role));
        }
        for p in &change.created {
            events.push(Event::new("Policy Created", "policy", &p.id, &p.role));
        }
        let name = subject_name(&subject, stored);
        events.push(Event::new(updated, kind, &subject.id, name));
        audit::detail(events)
    };
    let visible: &(dyn Fn(&Grant) -> bool + Sync) = &policies::visible;
    state
        .service
        .give_policies(
            &caller.ctx,
            &subject,
            &requests,
            &prerequisites,
            replace.then_some(visible),
            action,
            events,
        )
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
    for group in state.service.current_groups(tenant, &id).await? {
        let group = match state.service.get::<Group>(tenant, &group).await {
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
