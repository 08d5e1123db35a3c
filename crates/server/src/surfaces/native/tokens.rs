//! Token routes: a tenant's admin (or the operator) issues, lists and revokes its tokens.
//! The secret is in the creation answer only.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::access::{Admin, TenantAccess};
use super::error::ApiResult;
use super::extract::{decode, ApiQuery, JsonBody, PathParams};
use super::kinds::ListParams;
use super::page::{page_json, page_limit, page_query, page_schema, position};
use super::routes::{schema_ref, Api, Auth, Operation};
use crate::service::{Scope, TokenView};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Any of `admin`, `write`, `read`, `check`.
    pub scopes: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// A new token: `token` is its secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub view: TokenView,
    pub token: String,
}

async fn create(
    State(state): State<AppState>,
    access: TenantAccess<Admin>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let request: NewToken = decode(body)?;
    let issued = state
        .service
        .create_token(&access.ctx, &request.scopes, request.name)
        .await?;
    let body = CreatedToken {
        view: issued.view,
        token: issued.secret,
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response
        .headers_mut()
        .insert("grantd-revision", HeaderValue::from(issued.revision));
    Ok(response)
}

/// A new access key: `secret_key` is shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedAccessKey {
    #[serde(flatten)]
    pub view: TokenView,
    /// The AK, for `SDK-HMAC-SHA256` signatures (also the `id`).
    pub access_key: String,
    pub secret_key: String,
}

async fn create_access_key(
    State(state): State<AppState>,
    access: TenantAccess<Admin>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let request: NewToken = decode(body)?;
    let issued = state
        .service
        .create_access_key(&access.ctx, &request.scopes, request.name)
        .await?;
    let body = CreatedAccessKey {
        access_key: issued.view.id.clone(),
        view: issued.view,
        secret_key: issued.secret,
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response
        .headers_mut()
        .insert("grantd-revision", HeaderValue::from(issued.revision));
    Ok(response)
}

async fn list(
    State(state): State<AppState>,
    access: TenantAccess<Admin>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let page = state
        .service
        .list_tokens(
            &access.ctx.tenant,
            position(q.cursor.as_deref())?,
            page_limit(q.limit)?,
        )
        .await?;
    let items = page
        .items
        .iter()
        .map(|t| serde_json::to_value(t).unwrap_or(Value::Null))
        .collect();
    Ok(Json(page_json(items, page.next)))
}

async fn remove(
    State(state): State<AppState>,
    access: TenantAccess<Admin>,
    path: PathParams,
) -> ApiResult<Response> {
    let (hash, revision) = state
        .service
        .delete_token(&access.ctx, path.get("id"))
        .await?;
    state.auth.forget(&hash);
    Ok((
        StatusCode::NO_CONTENT,
        [("grantd-revision", HeaderValue::from(revision))],
    )
        .into_response())
}

pub fn register(api: &mut Api) {
    let (collection, item) = (
        "/v1/tenants/{tenant}/tokens",
        "/v1/tenants/{tenant}/tokens/{id}",
    );
    let admin = Auth::Tenant(Scope::Admin);
    api.add(
        Operation::new("post", collection, "create_token", "tokens", admin)
            .summary("Issue a token; its secret is shown in this answer only")
            .request(schema_ref("NewToken"))
            .response(
                201,
                "The token and its secret",
                Some(schema_ref("CreatedToken")),
            ),
        post(create),
    );
    api.add(
        Operation::new(
            "post",
            "/v1/tenants/{tenant}/access-keys",
            "create_access_key",
            "tokens",
            admin,
        )
        .summary("Issue an access key (AK/SK) for signed requests; the SK is shown in this answer only. Listed and revoked as a token.")
        .request(schema_ref("NewToken"))
        .response(
            201,
            "The access key and its secret key",
            Some(schema_ref("CreatedAccessKey")),
        ),
        post(create_access_key),
    );
    api.add(
        page_query(Operation::new(
            "get",
            collection,
            "list_tokens",
            "tokens",
            admin,
        ))
        .summary("List the tenant's tokens, without secrets")
        .response(
            200,
            "A page of tokens",
            Some(page_schema(schema_ref("TokenView"))),
        ),
        get(list),
    );
    api.add(
        Operation::new("delete", item, "delete_token", "tokens", admin)
            .summary("Revoke a token")
            .response(204, "Revoked", None),
        delete(remove),
    );
}
