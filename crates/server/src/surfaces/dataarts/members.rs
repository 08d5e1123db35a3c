//! Members of a permission set: users and groups hold the set's role through a role
//! assignment; a workspace-role member includes the set's role, so its holders get it.
//! Removing a member takes that away at once.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use grantd_core::model::{
    Assignment, Group, PermissionSet, Role, SetMember, SubjectRef, SubjectType, User,
};
use grantd_core::{Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde_json::{json, Value};

use super::error::{code, DataArtsError, DataArtsResult};
use super::guard::Caller;
use super::sets::{self, new_hex_id};
use super::wire::{conflict, no_content, ok, Body, Dto, PathParams, Query};
use crate::service::{Batch, Versioned};
use crate::state::AppState;

const MEMBER_TYPES: [&str; 3] = ["USER", "USER_GROUP", "WORKSPACE_ROLE"];

fn wire_type(subject: SubjectType) -> &'static str {
    match subject {
        SubjectType::User => "USER",
        SubjectType::Group => "USER_GROUP",
        SubjectType::Role => "WORKSPACE_ROLE",
    }
}

fn subject_type(wire: &str) -> SubjectType {
    match wire {
        "USER" => SubjectType::User,
        "USER_GROUP" => SubjectType::Group,
        _ => SubjectType::Role,
    }
}

/// `PermissionSetMember` as DataArts answers it.
pub fn render(tenant: &str, workspace: &str, v: &Versioned<SetMember>) -> Value {
    let m = &v.object;
    json!({
        "id": m.id,
        "permission_set_id": m.set,
        "project_id": tenant,
        "instance_id": workspace,
        "member_type": wire_type(m.member.subject_type),
        "member_id": m.member.id,
        "member_name": m.member_name,
        "member_status": "NORMAL",
        "workspace": m.workspace,
        "cluster_type": Value::Null,
        "cluster_id": Value::Null,
        "cluster_name": Value::Null,
        "create_time": v.created_at,
        "create_user": m.create_user,
        "deadline": Value::Null,
    })
}

/// Gives `member` the set's role.
async fn enlist(
    batch: &mut Batch<'_>,
    set: &PermissionSet,
    member: &SetMember,
) -> DataArtsResult<()> {
    match member.member.subject_type {
        SubjectType::Role => {
            let mut role = batch
                .get::<Role>(&member.member.id)
                .await?
                .ok_or_else(|| DataArtsError::invalid("member_id", "no such role"))?
                .object;
            if !role.includes.contains(&set.role()) {
                role.includes.push(set.role());
                batch.put(&role, Expect::Present).await?;
            }
        }
        _ => {
            let assignment = Assignment {
                subject: member.member.clone(),
                role: set.role(),
            };
            batch.put(&assignment, Expect::Any).await?;
        }
    }
    Ok(())
}

/// Takes the set's role away from `member`.
pub async fn withdraw(
    batch: &mut Batch<'_>,
    set: &PermissionSet,
    member: &SetMember,
) -> DataArtsResult<()> {
    match member.member.subject_type {
        SubjectType::Role => {
            if let Some(role) = batch.get::<Role>(&member.member.id).await? {
                let mut role = role.object;
                role.includes.retain(|r| *r != set.role());
                batch.put(&role, Expect::Present).await?;
            }
        }
        _ => {
            let assignment = Assignment {
                subject: member.member.clone(),
                role: set.role(),
            };
            if batch.get::<Assignment>(&assignment.key()).await?.is_some() {
                batch.delete(&assignment.object_key()).await?;
            }
        }
    }
    Ok(())
}

/// A member DTO (`PermissionSetMemberCreateDTO`) checked against the tenant: the named
/// user, group or role must exist, and not already be a member.
async fn member_of(
    batch: &mut Batch<'_>,
    caller: &Caller,
    set: &PermissionSet,
    value: &Value,
    existing: &[SetMember],
) -> DataArtsResult<SetMember> {
    let dto = Dto::of(value)?;
    let kind = dto
        .choice("member_type", &MEMBER_TYPES)?
        .ok_or_else(|| DataArtsError::invalid("member_type", "is required"))?;
    let id = dto.required("member_id")?;
    let subject = SubjectRef {
        subject_type: subject_type(&kind),
        id: id.clone(),
    };
    let exists = match subject.subject_type {
        SubjectType::User => batch.get::<User>(&id).await?.is_some(),
        SubjectType::Group => batch.get::<Group>(&id).await?.is_some(),
        SubjectType::Role => batch.get::<Role>(&id).await?.is_some(),
    };
    if !exists {
        return Err(DataArtsError::invalid(
            "member_id",
            format!("no {} {id} exists", kind.to_lowercase()),
        ));
    }
    if existing.iter().any(|m| m.member == subject) {
        return Err(conflict(format!("{kind} {id} is already a member")));
    }
    Ok(SetMember {
        id: new_hex_id(),
        set: set.id.clone(),
        member: subject,
        member_name: dto.text("member_name")?,
        workspace: dto.text("workspace")?,
        create_user: Some(caller.ctx.actor.name.clone()),
    })
}

/// Adds members in one transaction; returns them as written.
async fn add(
    state: &AppState,
    caller: &Caller,
    set_id: &str,
    values: &[Value],
) -> DataArtsResult<Vec<Versioned<SetMember>>> {
    let mut batch = state.service.batch(&caller.ctx).await?;
    let set = sets::require(&mut batch, caller, set_id).await?.object;
    let mut existing: Vec<SetMember> = batch
        .holders::<SetMember>(&set.object_key())
        .await?
        .into_iter()
        .map(|m| m.object)
        .collect();
    let mut written = Vec::new();
    for value in values {
        let member = member_of(&mut batch, caller, &set, value, &existing).await?;
        enlist(&mut batch, &set, &member).await?;
        written.push(batch.put(&member, Expect::Absent).await?);
        existing.push(member);
    }
    batch
        .commit("dataarts.members.add", &set.object_key(), None)
        .await?;
    Ok(written)
}

/// `POST .../permission-sets/{permission_set_id}/members`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body,
) -> DataArtsResult<Response> {
    let id = path.get("permission_set_id");
    let written = add(&state, &caller, &id, std::slice::from_ref(&body)).await?;
    let member = written
        .first()
        .ok_or_else(|| DataArtsError::invalid("body", "no member given"))?;
    Ok(ok(render(&caller.ctx.tenant, &caller.workspace, member)))
}

/// `POST .../members/batch-create`: all or nothing, 204.
pub async fn batch_create(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body,
) -> DataArtsResult<Response> {
    let id = path.get("permission_set_id");
    let dto = Dto::of(&body)?;
    let members = dto
        .value("members")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| DataArtsError::invalid("members", "a non-empty list is required"))?;
    add(&state, &caller, &id, members).await?;
    Ok(no_content())
}

/// `GET .../members` with `member_name`, `member_type`, order and paging.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    RawQuery(raw): RawQuery,
) -> DataArtsResult<Response> {
    let id = path.get("permission_set_id");
    let q = Query::parse(raw.as_deref());
    let (limit, offset) = q.page()?;
    let member_type = q.choice("member_type", &MEMBER_TYPES)?;
    let order_by = q.choice("order_by", &["CREATE_TIME", "MEMBER_NAME"])?;
    let ascending = q.flag("order_by_asc")?;
    let tenant = &caller.ctx.tenant;
    let Some(set) = sets::find(&state.service, &caller, &id).await? else {
        return Err(DataArtsError::bad_request(
            code::NO_SET_LISTED,
            format!("permission set {id} does not exist"),
        ));
    };
    let mut members = state
        .service
        .holders::<SetMember>(tenant, &set.object.object_key())
        .await?;
    let name = q.get("member_name").map(str::to_lowercase);
    members.retain(|m| {
        member_type
            .as_deref()
            .is_none_or(|t| wire_type(m.object.member.subject_type) == t)
            && name.as_deref().is_none_or(|n| {
                m.object
                    .member_name
                    .as_deref()
                    .unwrap_or(&m.object.member.id)
                    .to_lowercase()
                    .contains(n)
            })
    });
    match order_by.as_deref() {
        Some("MEMBER_NAME") => {
            members.sort_by(|a, b| a.object.member_name.cmp(&b.object.member_name))
        }
        _ => members.sort_by_key(|m| (m.created_at, m.object.id.clone())),
    }
    if order_by.is_some() && !ascending {
        members.reverse();
    }
    let total = members.len();
    let page: Vec<Value> = members
        .iter()
        .skip(offset)
        .take(limit)
        .map(|m| render(tenant, &caller.workspace, m))
        .collect();
    Ok(ok(json!({"total": total, "permission_set_members": page})))
}

/// `POST .../members/batch-delete` with `{ids}` (member record ids): 204.
pub async fn batch_delete(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body,
) -> DataArtsResult<Response> {
    let id = path.get("permission_set_id");
    let ids = Dto::of(&body)?
        .list("ids")?
        .filter(|ids| !ids.is_empty())
        .ok_or_else(|| DataArtsError::invalid("ids", "a non-empty list is required"))?;
    let mut batch = state.service.batch(&caller.ctx).await?;
    let set = sets::require(&mut batch, &caller, &id).await?.object;
    for member_id in &ids {
        let member = match batch.get::<SetMember>(member_id).await? {
            Some(m) if m.object.set == set.id => m.object,
            _ => {
                return Err(DataArtsError::bad_request(
                    code::NO_ITEM,
                    format!("member {member_id} of permission set {id} does not exist"),
                ))
            }
        };
        withdraw(&mut batch, &set, &member).await?;
        batch
            .delete(&ObjectKey::new(Kind::SetMember, member.id.clone()))
            .await?;
    }
    batch
        .commit("dataarts.members.delete", &set.object_key(), None)
        .await?;
    Ok(no_content())
}
