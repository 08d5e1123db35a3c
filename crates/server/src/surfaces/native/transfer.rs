//! Export and import of a tenant's objects as NDJSON (`service::transfer` does the work).

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc;

use super::access::{Admin, Read, TenantAccess};
use super::error::{ApiError, ApiResult};
use super::routes::{schema_ref, Api, Auth, Operation};
use crate::http::body::{self, BodyError};
use crate::service::Scope;
use crate::state::AppState;

const NDJSON: &str = "application/x-ndjson";

/// Longest an export may stream, and longest it waits for the client to take a chunk:
/// past either it breaks off, and its snapshot and connection are let go.
const EXPORT_DEADLINE: Duration = Duration::from_secs(600);
const EXPORT_STALL: Duration = Duration::from_secs(30);

fn busy(what: &str) -> ApiError {
    ApiError::new(
        "rate_limited",
        format!("this node runs as many {what} as it takes at once; retry shortly"),
    )
}

/// `GET /v1/tenants/{tenant}/export`: every object, one a line, at the revision the
/// `Grantd-Revision` header states, streamed as it is read. A task reads ahead of the
/// client by a few chunks, within the deadlines above.
async fn export(State(state): State<AppState>, access: TenantAccess<Read>) -> ApiResult<Response> {
    let permit = state
        .transfers
        .exports
        .clone()
        .try_acquire_owned()
        .map_err(|_| busy("exports"))?;
    let mut export = state.service.export(&access.ctx.tenant).await?;
    let revision = export.revision();
    let (chunks, received) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let _permit = permit;
        let deadline = tokio::time::Instant::now() + EXPORT_DEADLINE;
        loop {
            let chunk = match tokio::time::timeout_at(deadline, export.next_lines()).await {
                Ok(Ok(Some(lines))) => Ok(Bytes::from(lines)),
                Ok(Ok(None)) => return,
                Ok(Err(e)) => Err(std::io::Error::other(e.to_string())),
                Err(_) => Err(std::io::Error::other(
                    "the export took longer than its deadline",
                )),
            };
            let failed = chunk.is_err();
            if let Err(e) = &chunk {
                tracing::warn!(error = %e, "an export broke off");
            }
            let sent = tokio::time::timeout(EXPORT_STALL, chunks.send(chunk)).await;
            if failed || !matches!(sent, Ok(Ok(()))) {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(received, |mut received| async move {
        received.recv().await.map(|chunk| (chunk, received))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    headers.insert("grantd-revision", HeaderValue::from(revision));
    Ok(response)
}

/// `POST /v1/tenants/{tenant}/import`: NDJSON as an export writes it, checked whole and
/// written in one transaction, or not at all.
async fn import(
    State(state): State<AppState>,
    access: TenantAccess<Admin>,
    request: Request,
) -> ApiResult<Response> {
    let _permit = state
        .transfers
        .imports
        .try_acquire()
        .map_err(|_| busy("imports"))?;
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
    let text = String::from_utf8(Vec::from(bytes))
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
