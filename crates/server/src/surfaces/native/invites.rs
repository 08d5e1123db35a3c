//! Accepting an invite: `POST /v1/tenants/{tenant}/invites/{email}/accept` makes the
//! invited address a user, with the invite's grants and group memberships.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use grantd_core::model::User;
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::access::{TenantAccess, Write};
use super::error::ApiResult;
use super::extract::{PathParams, Typed};
use super::routes::{schema_ref, Api, Auth, Operation};
use super::view::write_response;
use crate::service::Scope;
use crate::state::AppState;

/// The user the invite becomes; its email is the invited address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvite {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

pub fn register(api: &mut Api) {
    api.add(
        Operation::new(
            "post",
            "/v1/tenants/{tenant}/invites/{email}/accept",
            "accept_invite",
            "invites",
            Auth::Tenant(Scope::Write),
        )
        .summary("Accept an invite: the address becomes a user with the invite's grants and groups")
        .request(schema_ref("AcceptInvite"))
        .response(201, "The new user", Some(schema_ref("User"))),
        post(accept),
    );
}

async fn accept(
    State(state): State<AppState>,
    access: TenantAccess<Write>,
    path: PathParams,
    Typed(body): Typed<AcceptInvite>,
) -> ApiResult<Response> {
    let user = User {
        id: body.id,
        email: None,
        name: body.name,
        attributes: body.attributes,
        disabled: false,
    };
    let (written, _) = state
        .service
        .accept_invite(&access.ctx, path.get("email"), user)
        .await?;
    let location = format!(
        "/v1/tenants/{}/users/{}",
        access.ctx.tenant, written.object.id
    );
    Ok(write_response(
        StatusCode::CREATED,
        &written,
        Some(location),
    ))
}
