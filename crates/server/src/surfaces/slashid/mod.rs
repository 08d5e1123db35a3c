//! The SlashID management API's persons and RBAC surface, wire-compatible with SlashID's
//! clients, served under a base path (`/slashid` by default). An organization is a tenant;
//! `SlashID-API-Key` carries a grantd token and `SlashID-OrgID` names the tenant. Writes
//! answer once this node's decision index has applied them (the consistency headers), so
//! an immediate check sees them.

mod error;
mod groups;
mod guard;
mod people;
mod permissions;
mod persons;
mod roles;
mod wire;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;
use error::SlashIdError;

/// Every SlashID operation, behind the API-key and organization guard.
/// A request past the request timeout, in this surface's envelope.
pub fn timed_out(message: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    SlashIdError::new(axum::http::StatusCode::REQUEST_TIMEOUT, message).into_response()
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/persons",
            get(persons::list).post(persons::create).put(persons::put),
        )
        .route(
            "/persons/{person_id}",
            get(persons::get)
                .patch(persons::patch)
                .delete(persons::delete),
        )
        .route(
            "/persons/{person_id}/permissions",
            get(permissions::get_effective).put(permissions::put_direct),
        )
        .route(
            "/persons/{person_id}/additional-permissions",
            get(permissions::get_direct).put(permissions::put_direct),
        )
        .route(
            "/persons/{person_id}/roles",
            get(roles::get_person_roles).put(roles::put_person_roles),
        )
        .route(
            "/persons/{person_id}/groups",
            get(persons::get_groups).put(persons::put_groups),
        )
        .route(
            "/rbac/permissions",
            get(permissions::list).post(permissions::create),
        )
        .route(
            "/rbac/permissions/{permission_name}",
            get(permissions::get)
                .patch(permissions::patch)
                .delete(permissions::delete),
        )
        .route("/rbac/roles", get(roles::list).post(roles::create))
        .route(
            "/rbac/roles/{role_name}",
            get(roles::get).patch(roles::patch).delete(roles::delete),
        )
        .route("/rbac/check", post(permissions::check))
        .route("/groups", get(groups::list).post(groups::create))
        .route(
            "/groups/{group_name}",
            get(groups::get).delete(groups::delete),
        )
        .route(
            "/groups/{group_name}/persons",
            get(groups::persons).post(groups::add_persons),
        )
        .route(
            "/groups/{group_name}/persons/{person_id}",
            axum::routing::delete(groups::remove_person),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> SlashIdError {
    SlashIdError::not_found("no such path")
}

async fn method_not_allowed() -> SlashIdError {
    SlashIdError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "this path does not take this method",
    )
}
