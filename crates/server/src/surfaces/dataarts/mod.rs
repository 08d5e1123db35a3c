//! Huawei Cloud DataArts Security's permission-set API, wire-compatible with Huawei's SDKs,
//! at its own paths (`/v1/{project_id}/security/...`). A project is a tenant; requests are
//! signed with an access key the native API issues (`SDK-HMAC-SHA256`) or carry a tenant
//! token in `X-Auth-Token`. A permission set's data permissions are grants to its role and
//! its members hold that role, so grantd's checks enforce them.

mod admin;
mod datasource;
mod error;
mod governance;
mod guard;
mod members;
mod permissions;
mod sets;
pub mod signature;
mod wire;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;
use error::{code, DataArtsError};

/// Every DataArts operation, behind the authentication guard, relative to
/// `/v1/{project_id}/security`.
/// A request past the request timeout, in this surface's envelope.
pub fn timed_out(message: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    DataArtsError::new(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        error::code::TIMEOUT,
        message,
    )
    .into_response()
}

pub fn router(state: &AppState) -> Router<AppState> {
    let sets = "/permission-sets/{permission_set_id}";
    Router::new()
        .route("/permission-sets", get(sets::list).post(sets::create))
        .route(sets, get(sets::show).put(sets::update).delete(sets::delete))
        .route(
            &format!("{sets}/permissions"),
            get(permissions::list).post(permissions::create),
        )
        .route(
            &format!("{sets}/permissions/batch-append"),
            post(permissions::batch_append),
        )
        .route(
            &format!("{sets}/permissions/batch-delete"),
            post(permissions::batch_delete),
        )
        .route(
            &format!("{sets}/permissions/{{permission_id}}"),
            axum::routing::put(permissions::update),
        )
        .route(
            &format!("{sets}/members"),
            get(members::list).post(members::create),
        )
        .route(
            &format!("{sets}/members/batch-create"),
            post(members::batch_create),
        )
        .route(
            &format!("{sets}/members/batch-delete"),
            post(members::batch_delete),
        )
        .route(
            "/permission-sets/datasource/configurations",
            get(datasource::configurations),
        )
        .route(
            "/permission-sets/datasource/actions",
            get(datasource::actions),
        )
        .route("/permission-sets/datasource/urls", get(datasource::urls))
        .route(
            "/permission-sets/datasource/role/batch-actions",
            post(datasource::role_actions),
        )
        .route("/admin", get(admin::show).post(admin::modify))
        .route(
            "/permission-governance/my-permissions",
            get(governance::my_permissions),
        )
        .route(
            "/member-permission/query/{user_id}",
            get(governance::by_user),
        )
        .route(
            "/member-permission/{user_id}",
            get(governance::table_permissions),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> DataArtsError {
    DataArtsError::new(
        axum::http::StatusCode::NOT_FOUND,
        code::NO_ROUTE,
        "no such path",
    )
}

async fn method_not_allowed() -> DataArtsError {
    DataArtsError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        code::NO_ROUTE,
        "this path does not take this method",
    )
}
