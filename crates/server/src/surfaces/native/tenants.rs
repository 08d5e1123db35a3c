//! Tenant routes: the operator creates, lists, changes and deletes tenants; a tenant's own
//! tokens may read its record.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::Json;
use grantd_core::model::Tenant;
use grantd_store::Expect;
use serde_json::{json, Value};

use super::access::{OperatorAccess, Read, TenantAccess};
use super::error::ApiResult;
use super::extract::{decode, ApiQuery, JsonBody, PathParams};
use super::kinds::ListParams;
use super::page::{page_json, page_limit, page_query, page_schema, position};
use super::routes::{schema_ref, Api, Auth, Operation};
use super::view::{object_view, write_response};
use crate::http::preconditions;
use crate::service::{Ctx, Scope};
use crate::state::AppState;

async fn create(
    State(state): State<AppState>,
    op: OperatorAccess,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let tenant: Tenant = decode(body)?;
    let written = state.service.create_tenant(&op.actor, tenant).await?;
    let location = format!("/v1/tenants/{}", written.value.object.id);
    Ok(write_response(
        StatusCode::CREATED,
        &written.value,
        Some(location),
    ))
}

async fn list(
    State(state): State<AppState>,
    _: OperatorAccess,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let page = state
        .service
        .list_tenants(position(q.cursor.as_deref())?, page_limit(q.limit)?)
        .await?;
    Ok(Json(page_json(
        page.items.iter().map(object_view).collect(),
        page.next,
    )))
}

async fn read(State(state): State<AppState>, access: TenantAccess<Read>) -> ApiResult<Response> {
    let tenant = &access.ctx.tenant;
    let found = state.service.get::<Tenant>(tenant, tenant).await?;
    Ok((
        [("etag", preconditions::etag(found.version))],
        Json(object_view(&found)),
    )
        .into_response())
}

async fn update(
    State(state): State<AppState>,
    op: OperatorAccess,
    path: PathParams,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let ctx = Ctx {
        tenant: path.get("tenant").to_string(),
        actor: op.actor,
    };
    let expect = preconditions::expect(&headers, Expect::Any);
    let written = state
        .service
        .patch::<Tenant>(&ctx, &ctx.tenant, &body, expect)
        .await?;
    Ok(write_response(StatusCode::OK, &written.value, None))
}

async fn remove(
    State(state): State<AppState>,
    op: OperatorAccess,
    path: PathParams,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let expect = preconditions::expect(&headers, Expect::Any);
    let tenant = path.get("tenant");
    state
        .service
        .delete_tenant(&op.actor, tenant, expect)
        .await?;
    state.auth.forget_tenant(tenant);
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub fn register(api: &mut Api) {
    let view = json!({"allOf": [schema_ref("Tenant"), schema_ref("ObjectMeta")]});
    let (collection, item) = ("/v1/tenants", "/v1/tenants/{tenant}");
    api.add(
        page_query(Operation::new(
            "get",
            collection,
            "list_tenants",
            "tenants",
            Auth::Operator,
        ))
        .summary("List tenants (operator)")
        .response(200, "A page of tenants", Some(page_schema(view.clone()))),
        get(list),
    );
    api.add(
        Operation::new(
            "post",
            collection,
            "create_tenant",
            "tenants",
            Auth::Operator,
        )
        .summary("Create a tenant (operator); 409 if it exists")
        .request(schema_ref("Tenant"))
        .response(201, "Created at revision 1", Some(view.clone())),
        post(create),
    );
    api.add(
        Operation::new(
            "get",
            item,
            "get_tenant",
            "tenants",
            Auth::Tenant(Scope::Read),
        )
        .summary("Get a tenant's record")
        .response(200, "The tenant", Some(view.clone())),
        get(read),
    );
    api.add(
        Operation::new("patch", item, "patch_tenant", "tenants", Auth::Operator)
            .summary("Change a tenant's name or description (operator); honours If-Match")
            .request(json!({"type": "object"}))
            .response(200, "Updated", Some(view)),
        patch(update),
    );
    api.add(
        Operation::new("delete", item, "delete_tenant", "tenants", Auth::Operator)
            .summary("Delete a tenant and everything in it (operator); honours If-Match")
            .response(204, "Deleted", None),
        delete(remove),
    );
}
