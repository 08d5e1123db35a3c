//! Members of a permission set on DataArts' wire: `USER`, `USER_GROUP` and
//! `WORKSPACE_ROLE` members. The service gives each the set's role and takes it away
//! with the member.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use grantd_core::model::{SetMember, SubjectRef, SubjectType};
use serde_json::{json, Value};

use super::error::{DataArtsError, DataArtsResult};
use super::guard::Caller;
use super::sets::{self, new_hex_id};
use super::wire::{no_content, ok, Body, Dto, PathParams, Query};
use crate::service::Versioned;
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

/// A member DTO (`PermissionSetMemberCreateDTO`) as a member of `set`.
fn member_of(caller: &Caller, set: &str, value: &Value) -> DataArtsResult<SetMember> {
    let dto = Dto::of(value)?;
    let kind = dto
        .choice("member_type", &MEMBER_TYPES)?
        .ok_or_else(|| DataArtsError::invalid("member_type", "is required"))?;
    Ok(SetMember {
        id: new_hex_id(),
        set: set.to_string(),
        member: SubjectRef {
            subject_type: subject_type(&kind),
            id: dto.required("member_id")?,
        },
        member_name: dto.text("member_name")?,
        workspace: dto.text("workspace")?,
        create_user: Some(caller.ctx.actor.name.clone()),
    })
}

/// Adds members in one transaction; returns them as written.
async fn add(
    state: &AppState,
    caller: &Caller,
    set: &str,
    values: &[Value],
) -> DataArtsResult<Vec<Versioned<SetMember>>> {
    let members = values
        .iter()
        .map(|v| member_of(caller, set, v))
        .collect::<DataArtsResult<Vec<_>>>()?;
    state
        .service
        .add_set_members(&caller.ctx, Some(&caller.workspace), set, members)
        .await
        .map_err(sets::on_set(set))
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
    let mut members = state
        .service
        .set_members(tenant, Some(&caller.workspace), &id)
        .await
        .map_err(sets::on_listed_set(&id))?;
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
    state
        .service
        .remove_set_members(&caller.ctx, Some(&caller.workspace), &id, &ids)
        .await
        .map_err(sets::on_set(&id))?;
    Ok(no_content())
}
