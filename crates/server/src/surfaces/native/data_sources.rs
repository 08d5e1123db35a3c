//! Data sources in the native API: the generic object routes (written with the `admin`
//! scope, since a source holds a database administrator's credentials), its sync status
//! with its data permissions' statuses, and the plan of its next pass.

use axum::extract::State;
use axum::routing::get;
use axum::Json;
use grantd_core::model::{DataPermission, DataSource};
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::access::{Admin, Read, TenantAccess};
use super::error::{ApiError, ApiResult};
use super::extract::PathParams;
use super::kinds::{by_id, keyed_by_id, segment, Routed};
use super::routes::{schema_ref, Api, Auth, Operation};
use super::view::timestamp;
use crate::service::{Consistency, PermissionSync, Scope, SyncStatus};
use crate::state::AppState;

impl Routed for DataSource {
    const COLLECTION: &'static str = "/data-sources";
    const ITEM: &'static str = "/data-sources/{id}";
    const TAG: &'static str = "data-sources";
    const WRITE_SCOPE: Scope = Scope::Admin;

    keyed_by_id!();
}

/// A data permission synced into a source, and its status.
#[derive(Serialize, ToSchema)]
pub struct SyncedPermission {
    pub set: String,
    pub id: String,
    #[serde(flatten)]
    pub sync: PermissionSync,
}

fn status_view(status: &SyncStatus) -> Value {
    let mut value = serde_json::to_value(status).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        for field in ["last_pass_at", "last_success_at", "last_drift_at"] {
            if let Some(ms) = map.get(field).and_then(Value::as_i64) {
                map.insert(field.into(), timestamp(ms).into());
            }
        }
    }
    value
}

async fn status(
    State(state): State<AppState>,
    access: TenantAccess<Read>,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let tenant = &access.ctx.tenant;
    let id = path.get("id");
    let source = state.service.get::<DataSource>(tenant, id).await?.object;
    let status = state.service.sync_status(tenant, id).await?;
    let states = state.service.sync_states(tenant).await?;
    let mut permissions = Vec::new();
    for p in state
        .service
        .list_all::<DataPermission>(tenant, None)
        .await?
    {
        let cluster = (
            p.object.cluster_id.as_deref(),
            p.object.cluster_name.as_deref(),
        );
        if p.object.datasource_type == "DWS" && source.is_cluster(cluster.0, cluster.1) {
            permissions.push(SyncedPermission {
                set: p.object.set.clone(),
                id: p.object.id.clone(),
                sync: states.of(&p.object, p.version),
            });
        }
    }
    let mut body = Map::new();
    body.insert("id".into(), json!(id));
    body.insert("enabled".into(), json!(source.enabled));
    body.insert("status".into(), status_view(&status));
    body.insert("permissions".into(), json!(permissions));
    Ok(Json(Value::Object(body)))
}

async fn plan(
    State(state): State<AppState>,
    access: TenantAccess<Admin>,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let tenant = &access.ctx.tenant;
    let id = path.get("id");
    let source = state.service.get::<DataSource>(tenant, id).await?.object;
    match state
        .service
        .sync_pass(tenant, &source, None, Consistency::FullyConsistent, false)
        .await?
    {
        Ok(report) => Ok(Json(json!({
            "revision": report.revision,
            "statements": report.plan.statements,
            "granted": report.plan.granted,
            "revoked": report.plan.revoked,
            "roles_created": report.plan.created,
            "skipped": report.plan.skipped,
        }))),
        Err(error) => Err(ApiError::new(
            "unavailable",
            format!(
                "data source {} could not be read: {}",
                segment(id),
                error.message
            ),
        )),
    }
}

pub fn register(api: &mut Api) {
    api.add(
        Operation::new(
            "get",
            "/v1/tenants/{tenant}/data-sources/{id}/status",
            "get_data_source_status",
            "data-sources",
            Auth::Tenant(Scope::Read),
        )
        .summary(
            "The source's last sync pass (when, the revision its database holds, statements \
             run, drift repaired, the database's last error) and the sync status of each DWS \
             data permission it enforces",
        )
        .response(
            200,
            "The status",
            Some(json!({"type": "object", "properties": {
                "id": {"type": "string"},
                "enabled": {"type": "boolean"},
                "status": schema_ref("SyncStatus"),
                "permissions": {"type": "array", "items": schema_ref("SyncedPermission")},
            }})),
        ),
        get(status),
    );
    api.add(
        Operation::new(
            "get",
            "/v1/tenants/{tenant}/data-sources/{id}/plan",
            "plan_data_source",
            "data-sources",
            Auth::Tenant(Scope::Admin),
        )
        .summary(
            "The SQL statements the next pass would run, computed now against the database's \
             catalog, without running them",
        )
        .response(
            200,
            "The plan",
            Some(json!({"type": "object", "properties": {
                "revision": {"type": "integer"},
                "statements": {"type": "array", "items": {"type": "string"}},
                "granted": {"type": "integer"},
                "revoked": {"type": "integer"},
                "roles_created": {"type": "array", "items": {"type": "string"}},
                "skipped": {"type": "array", "items": {"type": "string"}},
            }})),
        ),
        get(plan),
    );
}
