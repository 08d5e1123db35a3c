//! The workspace's security administrator: shown and modified.

use axum::extract::State;
use axum::response::Response;
use grantd_core::model::{SecurityAdmin, MANAGER_TYPES};
use grantd_store::Expect;
use serde_json::{json, Value};

use super::error::{DataArtsError, DataArtsResult};
use super::guard::Caller;
use super::wire::{ok, Body, Dto};
use crate::state::AppState;

fn render(admin: Option<&SecurityAdmin>) -> Value {
    json!({
        "manager_type": admin.map(|a| a.manager_type.clone()),
        "manager_id": admin.map(|a| a.manager_id.clone()),
        "manager_name": admin.and_then(|a| a.manager_name.clone()),
    })
}

/// `GET /v1/{project_id}/security/admin`: all `null` until one is set.
pub async fn show(State(state): State<AppState>, caller: Caller) -> DataArtsResult<Response> {
    let admin = match state
        .service
        .get::<SecurityAdmin>(&caller.ctx.tenant, &caller.workspace)
        .await
    {
        Ok(v) => Some(v.object),
        Err(crate::service::ServiceError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(ok(render(admin.as_ref())))
}

/// `POST /v1/{project_id}/security/admin` with `{manager_type, manager_id, manager_name}`.
pub async fn modify(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> DataArtsResult<Response> {
    let dto = Dto::of(&body)?;
    let admin = SecurityAdmin {
        workspace: caller.workspace.clone(),
        manager_type: dto
            .choice("manager_type", &MANAGER_TYPES)?
            .ok_or_else(|| DataArtsError::invalid("manager_type", "is required"))?,
        manager_id: dto.required("manager_id")?,
        manager_name: dto.text("manager_name")?,
    };
    let written = state.service.put(&caller.ctx, admin, Expect::Any).await?;
    Ok(ok(render(Some(&written.value.object))))
}
