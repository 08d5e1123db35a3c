//! Permission sets: create, list (every filter and order), show, update, delete. A set is
//! visible only in the workspace it was created in. Creating one creates its role; deleting
//! one takes its permissions, members and role with it, and is refused while it has
//! sub-sets.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use grantd_core::model::{
    DataPermission, PermissionSet, DATASOURCE_TYPES, MANAGER_TYPES, SET_TYPES,
};
use grantd_store::Expect;
use serde_json::{json, Value};

use super::error::{code, DataArtsError, DataArtsResult};
use super::guard::Caller;
use super::wire::{no_content, ok, Body, Dto, PathParams, Query};
use crate::service::{set_not_found, Service, ServiceError, Versioned};
use crate::state::AppState;

/// A new DataArts id: 32 hexadecimal digits.
pub fn new_hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The set `id` of the caller's workspace; `DLS.3027` otherwise.
pub async fn find(
    service: &Service,
    caller: &Caller,
    id: &str,
) -> DataArtsResult<Versioned<PermissionSet>> {
    service
        .permission_set(&caller.ctx.tenant, Some(&caller.workspace), id)
        .await
        .map_err(on_set(id))
}

/// `on_set` for a listing of what the set holds: `DLS.6036` if the set is missing.
pub fn on_listed_set(id: &str) -> impl FnOnce(ServiceError) -> DataArtsError + '_ {
    move |e| match e {
        ServiceError::NotFound(what) if what == set_not_found(id) => DataArtsError::bad_request(
            code::NO_SET_LISTED,
            format!("permission set {id} does not exist"),
        ),
        other => other.into(),
    }
}

/// A service error about the set `id`: `DLS.3027` if it is the set that is missing.
pub fn on_set(id: &str) -> impl FnOnce(ServiceError) -> DataArtsError + '_ {
    move |e| match e {
        ServiceError::NotFound(what) if what == set_not_found(id) => DataArtsError::no_set(id),
        other => other.into(),
    }
}

/// `PermissionSet` as DataArts answers it.
pub fn render(tenant: &str, v: &Versioned<PermissionSet>, datasource: Option<&str>) -> Value {
    let s = &v.object;
    json!({
        "id": s.id,
        "parent_id": s.parent.clone().unwrap_or_else(|| "0".into()),
        "name": s.name,
        "description": s.description,
        "type": s.set_type,
        "managed_cluster_id": s.managed_cluster_id,
        "managed_cluster_name": s.managed_cluster_name,
        "project_id": tenant,
        "domain_id": tenant,
        "instance_id": s.workspace,
        "manager_id": s.manager_id,
        "manager_name": s.manager_name,
        "manager_type": s.manager_type,
        "datasource_type": datasource,
        "sync_status": "NOT_SYNC",
        "sync_msg": Value::Null,
        "sync_time": Value::Null,
        "create_time": v.created_at,
        "create_user": s.create_user,
        "update_time": v.updated_at,
        "update_user": s.update_user,
    })
}

/// Applies a `PermissionSetCreateDTO` to `set`: given fields replace, absent ones stay.
fn apply_dto(set: &mut PermissionSet, dto: &Dto<'_>) -> DataArtsResult<()> {
    if let Some(name) = dto.text("name")? {
        set.name = name;
    }
    if dto.has("parent_id") {
        set.parent = dto.text("parent_id")?.filter(|p| p != "0");
    }
    if dto.has("description") {
        set.description = dto.text_up_to("description", 1024)?;
    }
    if let Some(t) = dto.choice("type", &SET_TYPES)? {
        set.set_type = t;
    }
    for (key, field) in [
        ("managed_cluster_id", &mut set.managed_cluster_id),
        ("managed_cluster_name", &mut set.managed_cluster_name),
        ("managed_role_name", &mut set.managed_role_name),
        ("manager_id", &mut set.manager_id),
        ("manager_name", &mut set.manager_name),
    ] {
        if dto.has(key) {
            *field = dto.text(key)?;
        }
    }
    if dto.has("manager_type") {
        set.manager_type = dto.choice("manager_type", &MANAGER_TYPES)?;
    }
    Ok(())
}

/// `POST /v1/{project_id}/security/permission-sets`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> DataArtsResult<Response> {
    let dto = Dto::of(&body)?;
    let mut set = PermissionSet {
        id: new_hex_id(),
        workspace: caller.workspace.clone(),
        name: dto.required("name")?,
        parent: None,
        description: None,
        set_type: "COMMON".into(),
        managed_cluster_id: None,
        managed_cluster_name: None,
        managed_role_name: None,
        manager_id: None,
        manager_name: None,
        manager_type: None,
        create_user: Some(caller.ctx.actor.name.clone()),
        update_user: Some(caller.ctx.actor.name.clone()),
    };
    apply_dto(&mut set, &dto)?;
    let written = state.service.create(&caller.ctx, set).await?.value;
    Ok(ok(render(&caller.ctx.tenant, &written, None)))
}

/// The data source of each set: that of its first permission.
async fn datasources(
    service: &Service,
    tenant: &str,
) -> DataArtsResult<std::collections::HashMap<String, String>> {
    let mut found = std::collections::HashMap::new();
    for p in service.list_all::<DataPermission>(tenant, None).await? {
        found
            .entry(p.object.set.clone())
            .or_insert(p.object.datasource_type.clone());
    }
    Ok(found)
}

/// `GET .../permission-sets` with its filters, order and paging.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> DataArtsResult<Response> {
    let q = Query::parse(raw.as_deref());
    let (limit, offset) = q.page()?;
    let type_filter = q.choice(
        "type_filter",
        &[
            "TOP_PERMISSION_SET",
            "SUB_PERMISSION_SET",
            "ALL_PERMISSION_SET",
        ],
    )?;
    let manager_type = q.choice("manager_type", &MANAGER_TYPES)?;
    let datasource = q.choice("datasource_type", &DATASOURCE_TYPES)?;
    let sync_status = q.choice(
        "sync_status",
        &[
            "UNKNOWN",
            "NOT_SYNC",
            "SYNCING",
            "SYNC_SUCCESS",
            "SYNC_FAIL",
        ],
    )?;
    let order_by = q.choice("order_by", &["NAME", "CREATE_TIME", "UPDATE_TIME"])?;
    let ascending = q.flag("order_by_asc")?;
    let tenant = &caller.ctx.tenant;
    let sources = datasources(&state.service, tenant).await?;
    let contains = |value: &Option<String>, wanted: Option<&str>| match wanted {
        None => true,
        Some(w) => value
            .as_deref()
            .is_some_and(|v| v.to_lowercase().contains(&w.to_lowercase())),
    };
    let mut sets: Vec<Versioned<PermissionSet>> = state
        .service
        .permission_sets(tenant, Some(&caller.workspace))
        .await?
        .into_iter()
        .filter(|v| {
            let s = &v.object;
            contains(&Some(s.name.clone()), q.get("name"))
                && q.get("parent_id")
                    .is_none_or(|p| s.parent.as_deref().unwrap_or("0") == p)
                && match type_filter.as_deref() {
                    Some("TOP_PERMISSION_SET") => s.parent.is_none(),
                    Some("SUB_PERMISSION_SET") => s.parent.is_some(),
                    _ => true,
                }
                && q.get("manager_id")
                    .is_none_or(|m| s.manager_id.as_deref() == Some(m))
                && contains(&s.manager_name, q.get("manager_name"))
                && manager_type
                    .as_deref()
                    .is_none_or(|t| s.manager_type.as_deref() == Some(t))
                && datasource
                    .as_deref()
                    .is_none_or(|d| sources.get(&s.id).map(String::as_str) == Some(d))
                && sync_status.as_deref().is_none_or(|st| st == "NOT_SYNC")
        })
        .collect();
    match order_by.as_deref() {
        Some("NAME") => sets.sort_by(|a, b| a.object.name.cmp(&b.object.name)),
        Some("UPDATE_TIME") => sets.sort_by_key(|v| v.updated_at),
        Some(_) => sets.sort_by_key(|v| v.created_at),
        None => {}
    }
    if order_by.is_some() && !ascending {
        sets.reverse();
    }
    let total = sets.len();
    let page: Vec<Value> = sets
        .iter()
        .skip(offset)
        .take(limit)
        .map(|v| render(tenant, v, sources.get(&v.object.id).map(String::as_str)))
        .collect();
    Ok(ok(json!({"total": total, "permission_sets": page})))
}

/// `GET .../permission-sets/{permission_set_id}`.
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> DataArtsResult<Response> {
    let id = path.get("permission_set_id");
    let set = find(&state.service, &caller, &id).await?;
    let tenant = &caller.ctx.tenant;
    let sources = datasources(&state.service, tenant).await?;
    Ok(ok(render(
        tenant,
        &set,
        sources.get(&id).map(String::as_str),
    )))
}

/// `PUT .../permission-sets/{permission_set_id}`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body,
) -> DataArtsResult<Response> {
    let id = path.get("permission_set_id");
    let dto = Dto::of(&body)?;
    let current = find(&state.service, &caller, &id).await?;
    let mut set = current.object;
    apply_dto(&mut set, &dto)?;
    let written = state
        .service
        .put(&caller.ctx, set, Expect::Version(current.version))
        .await
        .map_err(on_set(&id))?
        .value;
    Ok(ok(render(&caller.ctx.tenant, &written, None)))
}

/// `DELETE .../permission-sets/{permission_set_id}`: refused while it has sub-sets; its
/// permissions, members and role go with it.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> DataArtsResult<Response> {
    let id = path.get("permission_set_id");
    let current = find(&state.service, &caller, &id).await?;
    state
        .service
        .delete::<PermissionSet>(&caller.ctx, &id, Expect::Version(current.version))
        .await
        .map_err(on_set(&id))?;
    Ok(no_content())
}
