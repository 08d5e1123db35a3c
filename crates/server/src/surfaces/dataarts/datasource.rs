//! The data-source helpers: which permission types and actions each data source takes, the
//! actions a (sub-)set may grant, and the data-source URLs (none: no connector yet).

use axum::extract::{RawQuery, State};
use axum::response::Response;
use grantd_core::model::{actions_of, DataPermission, DATASOURCE_TYPES};
use serde_json::{json, Value};

use super::error::{DataArtsError, DataArtsResult};
use super::guard::Caller;
use super::sets;
use super::wire::{ok, Body, Dto, Query};
use crate::state::AppState;

/// `GET .../permission-sets/datasource/configurations`.
pub async fn configurations(_caller: Caller) -> DataArtsResult<Response> {
    let configurations: Vec<Value> = DATASOURCE_TYPES
        .iter()
        .map(|ds| {
            json!({
                "datasource_type": ds,
                "permission_types": ["ALLOW", "DENY"],
                "permission_actions": actions_of(ds),
            })
        })
        .collect();
    Ok(ok(json!({ "configurations": configurations })))
}

/// The actions of `datasource` a set under `parent` may grant on the object: all of the
/// data source's, or, under a parent, those the parent allows there.
async fn grantable(
    state: &AppState,
    caller: &Caller,
    parent: Option<&str>,
    probe: &DataPermission,
) -> DataArtsResult<Vec<&'static str>> {
    let all = actions_of(&probe.datasource_type);
    let Some(parent) = parent.filter(|p| *p != "0") else {
        return Ok(all.to_vec());
    };
    let theirs: Vec<DataPermission> = state
        .service
        .set_permissions(&caller.ctx.tenant, Some(&caller.workspace), parent)
        .await
        .map_err(sets::on_set(parent))?
        .into_iter()
        .map(|p| p.object)
        .collect();
    Ok(all
        .iter()
        .copied()
        .filter(|action| {
            let mut one = probe.clone();
            one.actions = vec![(*action).to_string()];
            theirs.iter().any(|p| p.covers(&one))
        })
        .collect())
}

fn probe(
    datasource: &str,
    cluster: Option<String>,
    database: Option<String>,
    table: Option<String>,
    column: Option<String>,
) -> DataPermission {
    DataPermission {
        id: "probe".into(),
        set: "probe".into(),
        effect: grantd_core::model::Effect::Allow,
        actions: Vec::new(),
        datasource_type: datasource.to_string(),
        dw_id: None,
        cluster_id: cluster,
        cluster_name: None,
        database_name: database,
        schema_name: None,
        table_name: table,
        column_name: column,
        url: None,
        auto_sync: false,
        row_level_security: None,
    }
}

/// `GET .../permission-sets/datasource/actions`.
pub async fn actions(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> DataArtsResult<Response> {
    let q = Query::parse(raw.as_deref());
    let datasource = q
        .choice("datasource_type", &DATASOURCE_TYPES)?
        .ok_or_else(|| DataArtsError::invalid("datasource_type", "is required"))?;
    let object = probe(
        &datasource,
        q.get("cluster_id").map(String::from),
        q.get("database_name").map(String::from),
        q.get("table_name").map(String::from),
        q.get("column_name").map(String::from),
    );
    let found = grantable(&state, &caller, q.get("parent_permission_set_id"), &object).await?;
    Ok(ok(json!({ "permission_actions": found })))
}

/// `GET .../permission-sets/datasource/urls`: no data-source connector lists them yet.
pub async fn urls(_caller: Caller, RawQuery(raw): RawQuery) -> DataArtsResult<Response> {
    let q = Query::parse(raw.as_deref());
    q.choice("datasource_type", &DATASOURCE_TYPES)?;
    Ok(ok(json!({"total": 0, "urls": []})))
}

/// `POST .../permission-sets/datasource/role/batch-actions`.
pub async fn role_actions(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> DataArtsResult<Response> {
    let dto = Dto::of(&body)?;
    let datasource = dto
        .choice("datasource_type", &DATASOURCE_TYPES)?
        .ok_or_else(|| DataArtsError::invalid("datasource_type", "is required"))?;
    let parent = dto.text("parent_permission_set_id")?;
    let first = |key: &str| -> DataArtsResult<Option<String>> {
        Ok(dto.list(key)?.and_then(|l| l.into_iter().next()))
    };
    let object = probe(
        &datasource,
        dto.text("cluster_id")?,
        first("database_names")?,
        first("table_names")?,
        first("column_names")?,
    );
    let found = grantable(&state, &caller, parent.as_deref(), &object).await?;
    Ok(ok(json!({ "permission_actions": found })))
}
