//! The data permissions of a permission set on DataArts' wire. The service writes each with
//! the grant that enforces it and owns the sub-set rule (`service::permission_sets`).

use axum::extract::{RawQuery, State};
use axum::response::Response;
use grantd_core::model::{DataPermission, Effect, DATASOURCE_TYPES};
use grantd_core::Object;
use grantd_store::Expect;
use serde_json::{json, Value};

use super::error::{code, DataArtsError, DataArtsResult};
use super::guard::Caller;
use super::sets::{self, new_hex_id};
use super::wire::{action_code, no_content, ok, Body, Dto, PathParams, Query};
use crate::service::{PermissionSync, ServiceError};

/// The version a permission just written is at, as far as its sync goes: past every pass.
const JUST_WRITTEN: i64 = i64::MAX;
use crate::state::AppState;

/// `PermissionSetPermission` as DataArts answers it, with its sync status as the service
/// derives it from its data source's last pass.
pub fn render(tenant: &str, workspace: &str, p: &DataPermission, sync: &PermissionSync) -> Value {
    let (sync_status, sync_msg) = (sync.sync_status, sync.sync_msg.clone());
    json!({
        "id": p.id,
        "permission_set_id": p.set,
        "project_id": tenant,
        "instance_id": workspace,
        "permission_type": match p.effect { Effect::Allow => "ALLOW", Effect::Deny => "DENY" },
        "permission_action": p.actions.join(","),
        "permission_actions": p.actions,
        "permission_action_code": action_code(&p.actions),
        "cluster_id": p.cluster_id,
        "cluster_name": p.cluster_name,
        "datasource_type": p.datasource_type,
        "database_name": p.database_name,
        "schema_name": p.schema_name,
        "namespace": Value::Null,
        "table_name": p.table_name,
        "column_name": p.column_name,
        "row_level_security": p.row_level_security,
        "sync_status": sync_status,
        "sync_msg": sync_msg,
        "url": p.url,
        "dw_id": p.dw_id,
    })
}

/// A `PermissionSetPermissionCreateDTO` as a permission of `set`.
fn parse(set: &str, value: &Value) -> DataArtsResult<DataPermission> {
    let dto = Dto::of(value)?;
    let effect = match dto
        .choice("permission_type", &["ALLOW", "DENY"])?
        .as_deref()
    {
        Some("DENY") => Effect::Deny,
        _ => Effect::Allow,
    };
    let permission = DataPermission {
        id: new_hex_id(),
        set: set.to_string(),
        effect,
        actions: dto
            .list("permission_actions")?
            .ok_or_else(|| DataArtsError::invalid("permission_actions", "is required"))?,
        datasource_type: dto
            .choice("datasource_type", &DATASOURCE_TYPES)?
            .ok_or_else(|| DataArtsError::invalid("datasource_type", "is required"))?,
        dw_id: dto.text("dw_id")?,
        cluster_id: dto.text("cluster_id")?,
        cluster_name: dto.text("cluster_name")?,
        database_name: dto.text("database_name")?,
        schema_name: dto.text("schema_name")?,
        table_name: dto.text("table_name")?,
        column_name: dto.text("column_name")?,
        url: dto.text_up_to("url", 1024)?,
        auto_sync: dto.flag("auto_sync")?,
        row_level_security: dto.text_up_to("row_level_security", 1000)?,
    };
    permission.validate()?;
    Ok(permission)
}

/// Writes permissions (records and grants) in one transaction.
async fn add(
    state: &AppState,
    caller: &Caller,
    set: &str,
    values: &[Value],
) -> DataArtsResult<Vec<DataPermission>> {
    let permissions = values
        .iter()
        .map(|v| parse(set, v))
        .collect::<DataArtsResult<Vec<_>>>()?;
    let written = state
        .service
        .add_data_permissions(&caller.ctx, Some(&caller.workspace), set, permissions)
        .await
        .map_err(sets::on_set(set))?;
    Ok(written.into_iter().map(|v| v.object).collect())
}

/// `POST .../permission-sets/{permission_set_id}/permissions`: 200 with the permission.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body,
) -> DataArtsResult<Response> {
    let id = path.get("permission_set_id");
    let written = add(&state, &caller, &id, std::slice::from_ref(&body)).await?;
    let p = written
        .first()
        .ok_or_else(|| DataArtsError::invalid("body", "no permission given"))?;
    let states = state.service.sync_states(&caller.ctx.tenant).await?;
    let sync = states.of(p, JUST_WRITTEN);
    Ok(ok(render(&caller.ctx.tenant, &caller.workspace, p, &sync)))
}

/// `POST .../permissions/batch-append`: one DTO (as the SDK types it), a list of them, or
/// `{"permissions": [...]}`.
pub async fn batch_append(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body,
) -> DataArtsResult<Response> {
    let id = path.get("permission_set_id");
    let values: Vec<Value> = match &body {
        Value::Array(items) => items.clone(),
        Value::Object(map) => match map.get("permissions") {
            Some(Value::Array(items)) => items.clone(),
            _ => vec![body.clone()],
        },
        _ => {
            return Err(DataArtsError::invalid(
                "body",
                "a JSON object or list is required",
            ))
        }
    };
    if values.is_empty() {
        return Err(DataArtsError::invalid(
            "permissions",
            "at least one is required",
        ));
    }
    let written = add(&state, &caller, &id, &values).await?;
    let states = state.service.sync_states(&caller.ctx.tenant).await?;
    let rendered: Vec<Value> = written
        .iter()
        .map(|p| {
            render(
                &caller.ctx.tenant,
                &caller.workspace,
                p,
                &states.of(p, JUST_WRITTEN),
            )
        })
        .collect();
    Ok(ok(
        json!({"total": rendered.len(), "permissions": rendered}),
    ))
}

/// `GET .../permissions` with its filters, order and paging.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    RawQuery(raw): RawQuery,
) -> DataArtsResult<Response> {
    let id = path.get("permission_set_id");
    let q = Query::parse(raw.as_deref());
    let (limit, offset) = q.page()?;
    let kind = q.choice("permission_type", &["ALLOW", "DENY"])?;
    let order_by = q.choice("order_by", &["CLUSTER_NAME", "DATABASE_NAME"])?;
    let ascending = q.flag("order_by_asc")?;
    let tenant = &caller.ctx.tenant;
    let mut found = state
        .service
        .set_permissions(tenant, Some(&caller.workspace), &id)
        .await
        .map_err(sets::on_listed_set(&id))?;
    let states = state.service.sync_states(tenant).await?;
    let field = |name: &str, value: &Option<String>| {
        q.get(name).is_none_or(|w| value.as_deref() == Some(w))
    };
    found.retain(|v| {
        let p = &v.object;
        kind.as_deref()
            .is_none_or(|k| (k == "DENY") == (p.effect == Effect::Deny))
            && q.get("permission_action")
                .is_none_or(|a| p.actions.iter().any(|x| x == a))
            && field("cluster_id", &p.cluster_id)
            && field("cluster_name", &p.cluster_name)
            && field("datasource_type", &Some(p.datasource_type.clone()))
            && field("database_name", &p.database_name)
            && field("table_name", &p.table_name)
            && field("column_name", &p.column_name)
            && q.get("sync_status")
                .is_none_or(|s| s == states.of(p, v.version).sync_status)
    });
    match order_by.as_deref() {
        Some("CLUSTER_NAME") => {
            found.sort_by(|a, b| a.object.cluster_name.cmp(&b.object.cluster_name))
        }
        Some(_) => found.sort_by(|a, b| a.object.database_name.cmp(&b.object.database_name)),
        None => found.sort_by_key(|v| (v.created_at, v.object.id.clone())),
    }
    if order_by.is_some() && !ascending {
        found.reverse();
    }
    let total = found.len();
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(limit)
        .map(|v| {
            render(
                tenant,
                &caller.workspace,
                &v.object,
                &states.of(&v.object, v.version),
            )
        })
        .collect();
    Ok(ok(json!({"total": total, "permissions": page})))
}

/// `PUT .../permissions/{permission_id}` with `{dw_id, permission_actions}`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body,
) -> DataArtsResult<Response> {
    let set_id = path.get("permission_set_id");
    let id = path.get("permission_id");
    let dto = Dto::of(&body)?;
    sets::find(&state.service, &caller, &set_id).await?;
    let current = match state
        .service
        .get::<DataPermission>(&caller.ctx.tenant, &id)
        .await
    {
        Ok(p) if p.object.set == set_id => p,
        Ok(_) | Err(ServiceError::NotFound(_)) => {
            return Err(DataArtsError::bad_request(
                code::NO_ITEM,
                format!("permission {id} of permission set {set_id} does not exist"),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let mut p = current.object;
    if let Some(actions) = dto.list("permission_actions")? {
        p.actions = actions;
    }
    if dto.has("dw_id") {
        p.dw_id = dto.text("dw_id")?;
    }
    let written = state
        .service
        .put(&caller.ctx, p, Expect::Version(current.version))
        .await
        .map_err(sets::on_set(&set_id))?;
    let states = state.service.sync_states(&caller.ctx.tenant).await?;
    let sync = states.of(&written.value.object, written.value.version);
    Ok(ok(render(
        &caller.ctx.tenant,
        &caller.workspace,
        &written.value.object,
        &sync,
    )))
}

/// `POST .../permissions/batch-delete` with `{ids}`: 204.
pub async fn batch_delete(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    Body(body): Body,
) -> DataArtsResult<Response> {
    let set_id = path.get("permission_set_id");
    let ids = Dto::of(&body)?
        .list("ids")?
        .filter(|ids| !ids.is_empty())
        .ok_or_else(|| DataArtsError::invalid("ids", "a non-empty list is required"))?;
    state
        .service
        .remove_data_permissions(&caller.ctx, Some(&caller.workspace), &set_id, &ids)
        .await
        .map_err(sets::on_set(&set_id))?;
    Ok(no_content())
}

/// The permissions of every set, for the member-permission queries.
pub async fn all(state: &AppState, tenant: &str) -> DataArtsResult<Vec<DataPermission>> {
    Ok(state
        .service
        .list_all::<DataPermission>(tenant, None)
        .await?
        .into_iter()
        .map(|v| v.object)
        .collect())
}
