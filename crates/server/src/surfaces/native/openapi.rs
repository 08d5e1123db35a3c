//! The OpenAPI 3.1 document of the native API, built from the route table and the model's
//! schemas: what `/openapi.json` serves and `/docs` renders.

use grantd_core::model::{
    Assignment, DataPermission, Effect, Grant, Group, Invite, Label, Member, PendingGrant,
    Permission, PermissionSet, Privilege, Resource, ResourceRef, Role, SetMember, SubjectRef,
    SubjectType, Target, Tenant, User,
};
use grantd_core::FieldError;
use serde_json::{json, Map, Value};
use utoipa::OpenApi;

use super::cluster::{ClusterView, NodeView};
use super::data_sources::SyncedPermission;
use super::decisions::{
    BatchRequest, CheckItem, CheckResource, CheckResponse, CheckResult, ConsistencyArg,
    LookupResourcesRequest, LookupSubjectsRequest,
};
use super::error::{ErrorBody, ErrorDetail, CODES};
use super::feed::{AuditEventView, ChangeView};
use super::invites::AcceptInvite;
use super::routes::{schema_ref, Auth, Operation};
use super::tokens::{CreatedAccessKey, CreatedToken, NewToken};
use super::view::ObjectMeta;
use crate::service::{Imported, PermissionSync, SyncStatus, TokenView};
use grantd_core::decision::{DataPathAccess, Explanation, Match};
use grantd_core::model::{DataSource, SourceKind};

#[derive(OpenApi)]
#[openapi(components(schemas(
    Tenant,
    User,
    Group,
    Member,
    Role,
    Permission,
    Resource,
    ResourceRef,
    Assignment,
    Grant,
    Label,
    Invite,
    PermissionSet,
    DataPermission,
    SetMember,
    PendingGrant,
    AcceptInvite,
    Privilege,
    Target,
    Effect,
    SubjectRef,
    SubjectType,
    ObjectMeta,
    ErrorBody,
    ErrorDetail,
    FieldError,
    NewToken,
    CreatedToken,
    CreatedAccessKey,
    ClusterView,
    NodeView,
    TokenView,
    ChangeView,
    AuditEventView,
    CheckItem,
    CheckResource,
    CheckResponse,
    CheckResult,
    ConsistencyArg,
    BatchRequest,
    LookupResourcesRequest,
    LookupSubjectsRequest,
    Explanation,
    Match,
    DataPathAccess,
    Imported,
    DataSource,
    SourceKind,
    SyncStatus,
    PermissionSync,
    SyncedPermission
)))]
struct Components;

const DESCRIPTION: &str = "grantd's own API. Every route under `/v1/tenants/{tenant}` acts on one \
tenant only. Authenticate with `Authorization: Bearer <token>`: the operator token, or a tenant \
token whose scope covers the route (admin ⊇ write ⊇ read ⊇ check). Objects carry an ETag (their \
version); PUT, PATCH and DELETE honour `If-Match`, PUT honours `If-None-Match: *`. Every write \
answers the tenant revision it produced in `Grantd-Revision`. Errors are \
`{\"error\": {\"code\", \"message\", \"details\"?}}` with the codes listed in `x-error-codes`.";

fn operation_json(op: &Operation) -> Value {
    let mut parameters: Vec<Value> = op
        .path_params()
        .into_iter()
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    parameters.extend(op.query.iter().map(|(name, description)| {
        json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}})
    }));
    if matches!(op.method, "put" | "patch" | "delete") {
        parameters.push(json!({"name": "If-Match", "in": "header", "required": false,
            "description": "Write only if the object is at this ETag; 412 otherwise.", "schema": {"type": "string"}}));
    }
    let mut responses = Map::new();
    for (status, description, schema) in &op.responses {
        let mut response = json!({"description": description});
        if let Some(schema) = schema {
            response["content"] = json!({"application/json": {"schema": schema}});
        }
        responses.insert(status.to_string(), response);
    }
    let error = json!({"application/json": {"schema": schema_ref("ErrorBody")}});
    responses.insert(
        "4XX".into(),
        json!({"description": "A client error; see x-error-codes", "content": error}),
    );
    responses.insert(
        "5XX".into(),
        json!({"description": "internal or unavailable", "content": error}),
    );
    let who = match op.auth {
        Auth::Operator => "Needs the operator token.".to_string(),
        Auth::Tenant(scope) => format!(
            "Needs a token of the tenant with the `{}` scope, or the operator token.",
            scope.as_str()
        ),
    };
    let mut operation = json!({
        "operationId": op.id,
        "summary": op.summary,
        "description": who,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": responses,
        "security": [{"bearer": []}],
    });
    if let Some(schema) = &op.request {
        operation["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": schema}}});
    }
    operation
}

/// The whole document.
pub fn document(operations: &[Operation]) -> Value {
    let mut paths = Map::new();
    for op in operations {
        let item = paths.entry(op.path.clone()).or_insert_with(|| json!({}));
        item[op.method] = operation_json(op);
    }
    let components = serde_json::to_value(Components::openapi().components).unwrap_or_default();
    let mut schemas = components.get("schemas").cloned().unwrap_or_default();
    let codes: Vec<&str> = CODES.iter().map(|(code, _, _)| *code).collect();
    if let Some(code) = schemas.pointer_mut("/ErrorDetail/properties/code") {
        code["enum"] = json!(codes);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "grantd native API", "version": env!("CARGO_PKG_VERSION"), "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "x-error-codes": CODES.iter().map(|(code, status, meaning)| json!({"code": code, "status": status, "meaning": meaning})).collect::<Vec<_>>(),
    })
}
