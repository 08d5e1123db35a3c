//! The Segment Public API's IAM surface (users, groups, roles, invites, labels, audit
//! trail), wire-compatible with Segment's official SDKs, served under a base path
//! (`/segment` by default). A workspace is a tenant; its bearer token is a tenant token.
//! Handlers decode Segment's shapes and call the service; grants made here are enforced by
//! the same decision engine as every other grant.

mod audit;
mod catalog;
mod error;
mod fields;
mod groups;
mod guard;
mod invites;
mod labels;
mod permissions_in;
mod policies;
mod users;
mod wire;

use axum::extract::{RawQuery, State};
use axum::routing::{get, post};
use axum::Router;
use grantd_core::model::{Role, Tenant};
use serde_json::{json, Value};

use crate::state::AppState;
use error::{SegmentError, SegmentResult};
use guard::Caller;
use wire::{Body, Data, PageRequest, Query};

/// Every Segment operation, behind the authentication and rate-limit guard.
/// A request past the request timeout, in this surface's envelope.
pub fn timed_out(message: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    SegmentError::new(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        "RequestTimeout",
        message,
    )
    .into_response()
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(workspace))
        .route("/users", get(users::list).delete(users::delete))
        .route("/users/{userId}", get(users::get))
        .route(
            "/users/{userId}/permissions",
            post(users::add_permissions).put(users::replace_permissions),
        )
        .route("/users/{userId}/groups", get(users::groups))
        .route(
            "/invites",
            get(invites::list)
                .post(invites::create)
                .delete(invites::delete),
        )
        .route("/roles", get(roles))
        .route("/groups", get(groups::list).post(groups::create))
        .route(
            "/groups/{userGroupId}",
            get(groups::get)
                .patch(groups::update)
                .delete(groups::delete),
        )
        .route(
            "/groups/{userGroupId}/users",
            get(groups::users).post(groups::add_users),
        )
        .route(
            "/group/{userGroupId}/users",
            axum::routing::put(groups::replace_users).delete(groups::remove_users),
        )
        .route("/groups/{userGroupId}/invites", get(groups::invites))
        .route(
            "/groups/{userGroupId}/permissions",
            post(groups::add_permissions).put(groups::replace_permissions),
        )
        .route("/labels", get(labels::list).post(labels::create))
        .route(
            "/labels/{key}/{value}",
            axum::routing::delete(labels::delete),
        )
        .route("/audit-events", get(audit::list))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> SegmentError {
    SegmentError::not_found()
}

async fn method_not_allowed() -> SegmentError {
    SegmentError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "this path does not take this method",
    )
}

/// `GET /`: the workspace is the token's tenant.
async fn workspace(State(state): State<AppState>, caller: Caller) -> SegmentResult<Data> {
    let tenant = &caller.ctx.tenant;
    let record = state.service.get::<Tenant>(tenant, tenant).await?.object;
    Ok(Data::ok(json!({"workspace": {
        "id": record.id,
        "slug": record.id,
        "name": record.name.unwrap_or_else(|| record.id.clone()),
    }})))
}

/// `GET /roles`: Segment's built-in roles, then the tenant's own.
async fn roles(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    Body(body): Body,
) -> SegmentResult<Data> {
    let page = PageRequest::of(&Query::parse(raw.as_deref()), &body)?;
    let mut roles: Vec<Value> = catalog::ROLES
        .iter()
        .map(|r| json!({"id": r.id, "name": r.name, "description": r.description}))
        .collect();
    for role in state
        .service
        .list_all::<Role>(&caller.ctx.tenant, None)
        .await?
    {
        let role = role.object;
        if catalog::role(&role.id).is_none() {
            roles.push(json!({
                "id": role.id,
                "name": role.name.clone().unwrap_or_else(|| role.id.clone()),
                "description": role.description.unwrap_or_default(),
            }));
        }
    }
    let (items, pagination) = page.slice(&roles);
    Ok(Data::ok(json!({"roles": items, "pagination": pagination})))
}
