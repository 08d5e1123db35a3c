//! What a user can reach, and from which permission set: the data permissions of every set
//! of the workspace whose role the user holds (directly, through a group, or through a
//! member role), as grantd's decision index sees it.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use grantd_core::model::{DataPermission, Effect, PermissionSet, User};
use serde_json::{json, Value};

use super::error::{DataArtsError, DataArtsResult};
use super::guard::Caller;
use super::permissions;
use super::wire::{action_code, ok, PathParams, Query};
use crate::service::Consistency;
use crate::state::AppState;

/// The user `who` names: by id, else by name.
async fn user(state: &AppState, tenant: &str, who: &str) -> DataArtsResult<User> {
    if let Ok(v) = state.service.get::<User>(tenant, who).await {
        return Ok(v.object);
    }
    state
        .service
        .list_all::<User>(tenant, None)
        .await?
        .into_iter()
        .map(|v| v.object)
        .find(|u| u.name.as_deref() == Some(who))
        .ok_or_else(|| DataArtsError::invalid("user", format!("no user {who} exists")))
}

/// The ALLOW permissions `user` holds, each with its set, filtered by the query.
async fn reached(
    state: &AppState,
    caller: &Caller,
    user: &User,
    q: &Query,
) -> DataArtsResult<Vec<(PermissionSet, DataPermission)>> {
    let tenant = &caller.ctx.tenant;
    let snapshot = state
        .service
        .snapshot(tenant, Consistency::MinimizeLatency)
        .await?;
    let sets: Vec<PermissionSet> = state
        .service
        .list_all::<PermissionSet>(tenant, None)
        .await?
        .into_iter()
        .map(|v| v.object)
        .filter(|s| {
            s.workspace == caller.workspace
                && snapshot.reaches(
                    &user.id,
                    &format!("role:{}", s.role()),
                    crate::service::now_millis(),
                )
        })
        .collect();
    let field = |name: &str, value: &Option<String>| {
        q.get(name).is_none_or(|w| value.as_deref() == Some(w))
    };
    let mut found = Vec::new();
    for p in permissions::all(state, tenant).await? {
        let Some(set) = sets.iter().find(|s| s.id == p.set) else {
            continue;
        };
        if p.effect == Effect::Allow
            && field("datasource_type", &Some(p.datasource_type.clone()))
            && field("database_name", &p.database_name)
            && field("schema_name", &p.schema_name)
            && field("table_name", &p.table_name)
            && field("cluster_name", &p.cluster_name)
        {
            found.push((set.clone(), p));
        }
    }
    Ok(found)
}

/// `AccountPermission` rows, paged: `{total, result}`.
async fn account_permissions(
    state: &AppState,
    caller: &Caller,
    user: &User,
    q: &Query,
) -> DataArtsResult<Response> {
    let (limit, offset) = q.page()?;
    let found = reached(state, caller, user, q).await?;
    let rows: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(_, p)| {
            json!({
                "id": p.id,
                "cluster_id": p.cluster_id,
                "cluster_name": p.cluster_name,
                "column_name": p.column_name,
                "database_name": p.database_name,
                "datasource_type": p.datasource_type,
                "expire_msg": Value::Null,
                "expire_status": "PERMANENTLY_ACTIVE",
                "expire_time": Value::Null,
                "instance_id": caller.workspace,
                "member_id": user.id,
                "member_name": user.name.clone().unwrap_or_else(|| user.id.clone()),
                "permission_action": p.actions.join(","),
                "permission_action_code": action_code(&p.actions),
                "project_id": caller.ctx.tenant,
                "row_level_security": Value::Null,
                "row_level_security_desc": Value::Null,
                "renewal_status": "NO_ORDER",
                "schema_name": p.schema_name,
                "table_name": p.table_name,
                "workspace_id": caller.workspace,
            })
        })
        .collect();
    Ok(ok(json!({"total": found.len(), "result": rows})))
}

/// `GET .../permission-governance/my-permissions?user_name=...`.
pub async fn my_permissions(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> DataArtsResult<Response> {
    let q = Query::parse(raw.as_deref());
    let who = q
        .get("user_name")
        .ok_or_else(|| DataArtsError::invalid("user_name", "is required"))?
        .to_string();
    let user = user(&state, &caller.ctx.tenant, &who).await?;
    account_permissions(&state, &caller, &user, &q).await
}

/// `GET .../member-permission/query/{user_id}`.
pub async fn by_user(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    RawQuery(raw): RawQuery,
) -> DataArtsResult<Response> {
    let q = Query::parse(raw.as_deref());
    let user = user(&state, &caller.ctx.tenant, &path.get("user_id")).await?;
    account_permissions(&state, &caller, &user, &q).await
}

/// `GET .../member-permission/{user_id}`: each table permission with the set it comes from.
pub async fn table_permissions(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    RawQuery(raw): RawQuery,
) -> DataArtsResult<Response> {
    let q = Query::parse(raw.as_deref());
    let (limit, offset) = q.page()?;
    let user = user(&state, &caller.ctx.tenant, &path.get("user_id")).await?;
    let mut found = reached(&state, &caller, &user, &q).await?;
    if let Some(fuzzy) = q.get("fuzzy_table_name").map(str::to_lowercase) {
        found.retain(|(_, p)| {
            p.table_name
                .as_deref()
                .is_some_and(|t| t.to_lowercase().contains(&fuzzy))
        });
    }
    let rows: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(set, p)| {
            json!({
                "permission_set_id": set.id,
                "permission_source": set.name,
                "permission_actions": p.actions.join(","),
                "url": p.url,
                "datasource_type": p.datasource_type,
                "cluster_name": p.cluster_name,
                "database_name": p.database_name,
                "schema_name": p.schema_name,
                "table_name": p.table_name,
                "column_name": p.column_name,
            })
        })
        .collect();
    Ok(ok(
        json!({"total": found.len(), "member_permission_list": rows}),
    ))
}
