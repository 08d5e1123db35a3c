//! The data permissions of a permission set: each is a record with DataArts' fields and a
//! grant of its actions on its data path to the set's role, written and removed together.
//! A sub-set's permissions must lie within its parent's ALLOW permissions: the service
//! owns that rule (`Batch::check_within_parent`, `Batch::narrow_sub_sets`).

use axum::extract::{RawQuery, State};
use axum::response::Response;
use grantd_core::model::{
    DataPermission, Effect, Grant, PermissionSet, Privilege, SubjectRef, SubjectType, Target,
    DATASOURCE_TYPES,
};
use grantd_core::{Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde_json::{json, Value};

use super::error::{code, DataArtsError, DataArtsResult};
use super::guard::Caller;
use super::sets::{self, new_hex_id};
use super::wire::{action_code, no_content, ok, Body, Dto, PathParams, Query};
use crate::service::Batch;
use crate::state::AppState;

/// Why a permission is not synced: there is no connector to the data sources yet.
pub const NO_CONNECTOR: &str = "grantd enforces this permission in its own checks; syncing it to the data source is not available yet (no connector)";

/// `PermissionSetPermission` as DataArts answers it.
pub fn render(tenant: &str, workspace: &str, p: &DataPermission) -> Value {
    let (sync_status, sync_msg) = if p.auto_sync {
        ("SYNC_FAIL", Value::String(NO_CONNECTOR.into()))
    } else {
        ("NOT_SYNC", Value::Null)
    };
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
        "row_level_security": Value::Null,
        "sync_status": sync_status,
        "sync_msg": sync_msg,
        "url": p.url,
        "dw_id": p.dw_id,
    })
}

/// The grant that enforces `p` for the members of `set`.
fn grant_of(set: &PermissionSet, p: &DataPermission) -> Grant {
    Grant {
        id: p.grant_id(),
        subject: SubjectRef {
            subject_type: SubjectType::Role,
            id: set.role(),
        },
        privilege: Privilege::Actions {
            actions: p.grant_actions(),
        },
        target: Target::DataPath { pattern: p.path() },
        effect: p.effect,
        origin: Some(format!(
            "{}{}",
            crate::service::derived::DATAARTS_SET,
            set.id
        )),
    }
}

/// A `PermissionSetPermissionCreateDTO` as a permission of `set`.
fn parse(set: &PermissionSet, value: &Value) -> DataArtsResult<DataPermission> {
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
        set: set.id.clone(),
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
    };
    permission.validate()?;
    Ok(permission)
}

/// Writes permissions (records and grants) in one transaction.
async fn add(
    state: &AppState,
    caller: &Caller,
    set_id: &str,
    values: &[Value],
) -> DataArtsResult<Vec<DataPermission>> {
    let mut batch = state.service.batch(&caller.ctx).await?;
    let set = sets::require(&mut batch, caller, set_id).await?.object;
    let mut written = Vec::new();
    for value in values {
        let p = parse(&set, value)?;
        batch.check_within_parent(&set, &p).await?;
        batch.put(&p, Expect::Absent).await?;
        batch.put(&grant_of(&set, &p), Expect::Absent).await?;
        written.push(p);
    }
    batch
        .commit("dataarts.permissions.add", &set.object_key(), None)
        .await?;
    Ok(written)
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
    Ok(ok(render(&caller.ctx.tenant, &caller.workspace, p)))
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
    let rendered: Vec<Value> = written
        .iter()
        .map(|p| render(&caller.ctx.tenant, &caller.workspace, p))
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
    let Some(set) = sets::find(&state.service, &caller, &id).await? else {
        return Err(DataArtsError::bad_request(
            code::NO_SET_LISTED,
            format!("permission set {id} does not exist"),
        ));
    };
    let mut found = state
        .service
        .holders::<DataPermission>(tenant, &set.object.object_key())
        .await?;
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
                .is_none_or(|s| s == if p.auto_sync { "SYNC_FAIL" } else { "NOT_SYNC" })
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
        .map(|v| render(tenant, &caller.workspace, &v.object))
        .collect();
    Ok(ok(json!({"total": total, "permissions": page})))
}

/// The permission `id` of the set, inside the batch; `DLS.3028` otherwise.
async fn require(
    batch: &mut Batch<'_>,
    set: &PermissionSet,
    id: &str,
) -> DataArtsResult<DataPermission> {
    match batch.get::<DataPermission>(id).await? {
        Some(p) if p.object.set == set.id => Ok(p.object),
        _ => Err(DataArtsError::bad_request(
            code::NO_ITEM,
            format!(
                "permission {id} of permission set {} does not exist",
                set.id
            ),
        )),
    }
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    let set = sets::require(&mut batch, &caller, &set_id).await?.object;
    let mut p = require(&mut batch, &set, &id).await?;
    if let Some(actions) = dto.list("permission_actions")? {
        p.actions = actions;
    }
    if dto.has("dw_id") {
        p.dw_id = dto.text("dw_id")?;
    }
    p.validate()?;
    batch.check_within_parent(&set, &p).await?;
    batch.put(&p, Expect::Present).await?;
    batch.put(&grant_of(&set, &p), Expect::Any).await?;
    // Narrowed: what the sub-sets held beyond it goes with it.
    batch.narrow_sub_sets(&set).await?;
    batch
        .commit("dataarts.permission.update", &p.object_key(), None)
        .await?;
    Ok(ok(render(&caller.ctx.tenant, &caller.workspace, &p)))
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
    let mut batch = state.service.batch(&caller.ctx).await?;
    let set = sets::require(&mut batch, &caller, &set_id).await?.object;
    for id in &ids {
        let p = require(&mut batch, &set, id).await?;
        batch
            .delete(&ObjectKey::new(Kind::Grant, p.grant_id()))
            .await
            .or_else(|e| match e {
                crate::service::ServiceError::NotFound(_) => Ok(Vec::new()),
                other => Err(other),
            })?;
        batch.delete(&p.object_key()).await?;
    }
    // Gone: what the sub-sets held beyond what is left goes with it.
    batch.narrow_sub_sets(&set).await?;
    batch
        .commit("dataarts.permissions.delete", &set.object_key(), None)
        .await?;
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
