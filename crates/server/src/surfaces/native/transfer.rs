//! Export and import of a tenant's objects as NDJSON (`service::transfer` does the work).

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde_json::json;

use super::access::{Admin, Read, TenantAccess};
use super::error::{ApiError, ApiResult};
use super::routes::{schema_ref, Api, Auth, Operation};
use crate::http::body::{self, BodyError};
use crate::service::{Export, Scope};
use crate::state::AppState;

const NDJSON: &str = "application/x-ndjson";

/// `GET /v1/tenants/{tenant}/export`: every object, one a line, at the revision the
/// `Grantd-Revision` header states, streamed as it is read.
async fn export(State(state): State<AppState>, access: TenantAccess<Read>) -> ApiResult<Response> {
    let export = state.service.export(&access.ctx.tenant).await?;
    let revision = export.revision();
    let stream = futures_util::stream::try_unfold(export, |mut export: Export| async move {
        let Some(lines) = export.next_lines().await? else {
            return Ok(None);
        };
        let mut chunk = Vec::with_capacity(lines.len() * 256);
        for line in &lines {
            serde_json::to_writer(&mut chunk, line)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            chunk.push(b'\n');
        }
        Ok::<_, ExportError>(Some((Bytes::from(chunk), export)))
    });
    let stream = futures_util::TryStreamExt::map_err(stream, |e: ExportError| {
        tracing::warn!(error = %e.0, "an export broke off");
        std::io::Error::other(e.0)
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    headers.insert("grantd-revision", HeaderValue::from(revision));
    Ok(response)
}

/// An error while an export streams: the answer has begun, so the stream breaks off.
struct ExportError(String);

impl From<crate::service::ServiceError> for ExportError {
    fn from(error: crate::service::ServiceError) -> Self {
        ExportError(error.to_string())
    }
}

impl From<std::io::Error> for ExportError {
    fn from(error: std::io::Error) -> Self {
        ExportError(error.to_string())
    }
}

/// `POST /v1/tenants/{tenant}/import`: NDJSON as an export writes it, checked whole and
/// written in one transaction, or not at all.
async fn import(
    State(state): State<AppState>,
    access: TenantAccess<Admin>,
    request: Request,
) -> ApiResult<Response> {
    let limit = state.config.max_import_bytes;
    let bytes = body::read(request.into_body(), limit)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => ApiError::new(
                "payload_too_large",
                format!("an import may be at most {limit} bytes (see max_import_bytes)"),
            ),
            BodyError::NotJson => ApiError::new("bad_request", "the body is not NDJSON"),
            BodyError::Unreadable(m) => ApiError::new("bad_request", m),
        })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| ApiError::new("bad_request", format!("the body is not UTF-8: {e}")))?;
    let imported = state.service.import(&access.ctx, text).await?;
    let mut response = (StatusCode::OK, Json(json!(imported))).into_response();
    response
        .headers_mut()
        .insert("grantd-revision", HeaderValue::from(imported.revision));
    Ok(response)
}

pub fn register(api: &mut Api) {
    api.add(
        Operation::new(
            "get",
            "/v1/tenants/{tenant}/export",
            "export_tenant",
            "transfer",
            Auth::Tenant(Scope::Read),
        )
        .summary(
            "Every object of the tenant as NDJSON, one {\"kind\", \"body\"} a line, from one \
             snapshot whose revision the Grantd-Revision header states; what a permission \
             set derives is left out (importing the set writes it)",
        )
        .response(200, "NDJSON (application/x-ndjson)", None),
        get(export),
    );
    api.add(
        Operation::new(
            "post",
            "/v1/tenants/{tenant}/import",
            "import_tenant",
            "transfer",
            Auth::Tenant(Scope::Admin),
        )
        .summary(
            "Objects as an export writes them (NDJSON), in any order: every line is checked \
             first (errors name the line and the field), then all are written in one \
             transaction, or none; an object already there is replaced",
        )
        .request(json!({"type": "string", "description": "NDJSON: one {\"kind\": \"user\", \"body\": {...}} a line"}))
        .response(200, "What was written, by kind", Some(schema_ref("Imported"))),
        post(import),
    );
}
