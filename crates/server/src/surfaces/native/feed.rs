//! The change feed and the audit trail, as pages in revision order.

use axum::extract::State;
use axum::routing::get;
use axum::Json;
use chrono::DateTime;
use grantd_core::model::DataSource;
use grantd_core::Kind;
use grantd_store::{AuditFilter, ChangeOp, ChangeRecord};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::access::{Read, TenantAccess};
use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
use super::page::{page_json, page_limit, page_query, page_schema, position};
use super::routes::{schema_ref, Api, Auth, Operation};
use super::view::timestamp;
use crate::service::{hide_credential, names_credential, without_credentials, Scope};
use crate::state::AppState;

#[derive(Deserialize)]
struct ChangesQuery {
    after: Option<i64>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct AuditParams {
    from: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// One committed change: every object it put (with its new body) and deleted.
#[derive(Serialize, ToSchema)]
pub struct ChangeView {
    pub revision: i64,
    pub time: String,
    /// `{"op": "put", "kind", "key", "body"}` or `{"op": "delete", "kind", "key"}`.
    pub ops: Vec<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEventView {
    pub revision: i64,
    pub time: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_addr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

/// A change record as it appears on the wire.
pub fn change_view(change: ChangeRecord) -> ChangeView {
    let ops = change
        .ops
        .iter()
        .map(|o| {
            let mut value = serde_json::to_value(o).unwrap_or(Value::Null);
            if matches!(o, ChangeOp::Put { kind, .. } if kind == Kind::DataSource.as_str()) {
                if let Some(Value::Object(body)) = value.get_mut("body") {
                    DataSource::conceal(body);
                }
            }
            value
        })
        .collect();
    ChangeView {
        revision: change.revision,
        time: timestamp(change.at),
        ops,
    }
}

/// The revision a cursor or `after` names; the cursor wins.
fn after(cursor: Option<&str>, after: Option<i64>) -> ApiResult<i64> {
    match position(cursor)? {
        Some(p) => p
            .parse()
            .map_err(|_| ApiError::new("bad_request", "cursor is not one this server issued")),
        None => Ok(after.unwrap_or(0)),
    }
}

fn millis(name: &str, value: Option<&str>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_millis())
                .map_err(|_| {
                    ApiError::new(
                        "bad_request",
                        format!("{name} must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z"),
                    )
                })
        })
        .transpose()
}

async fn changes(
    State(state): State<AppState>,
    access: TenantAccess<Read>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<Value>> {
    let after = after(q.cursor.as_deref(), q.after)?;
    let page = state
        .service
        .changes(&access.ctx.tenant, after, page_limit(q.limit)?)
        .await?;
    let hide = !access.sees_credentials();
    let items = page
        .items
        .into_iter()
        .map(|c| json!(change_view(if hide { without_credentials(c) } else { c })))
        .collect();
    Ok(Json(page_json(items, page.next)))
}

async fn audit_events(
    State(state): State<AppState>,
    access: TenantAccess<Read>,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> ApiResult<Json<Value>> {
    let hide = !access.sees_credentials();
    if hide && q.target.as_deref().is_some_and(names_credential) {
        return Err(ApiError::new(
            "forbidden",
            "the audit events of tokens and access keys need the `admin` scope",
        ));
    }
    let query = AuditFilter {
        after: after(q.cursor.as_deref(), None)?,
        from: millis("from", q.from.as_deref())?,
        to: millis("to", q.to.as_deref())?,
        actor: q.actor,
        target: q.target,
        limit: page_limit(q.limit)?,
        ..AuditFilter::default()
    };
    let page = state
        .service
        .audit_events(&access.ctx.tenant, &query)
        .await?;
    let items = page
        .items
        .into_iter()
        .map(|mut e| {
            if hide {
                hide_credential(&mut e);
            }
            json!(AuditEventView {
                revision: e.revision,
                time: timestamp(e.at),
                actor: e.entry.actor,
                action: e.entry.action,
                target: e.entry.target,
                request_id: e.entry.request_id,
                client_addr: e.entry.client_addr,
                detail: e.entry.detail,
            })
        })
        .collect();
    Ok(Json(page_json(items, page.next)))
}

pub fn register(api: &mut Api) {
    let read = Auth::Tenant(Scope::Read);
    api.add(
        page_query(Operation::new(
            "get",
            "/v1/tenants/{tenant}/changes",
            "list_changes",
            "feed",
            read,
        ))
        .summary("Committed changes after a revision, in revision order; none is ever skipped")
        .query(
            "after",
            "Only changes with a revision above this one (default 0).",
        )
        .response(
            200,
            "A page of changes",
            Some(page_schema(schema_ref("ChangeView"))),
        ),
        get(changes),
    );
    api.add(
        page_query(Operation::new(
            "get",
            "/v1/tenants/{tenant}/audit-events",
            "list_audit_events",
            "feed",
            read,
        ))
        .summary("Audit events in revision order, filtered by time range, actor and target")
        .query("from", "Only events at or after this RFC 3339 time.")
        .query("to", "Only events before this RFC 3339 time.")
        .query(
            "actor",
            "Only events by this actor (`operator` or `token:<id>`).",
        )
        .query(
            "target",
            "Only events on this target (`kind:key`, e.g. `user:alice`).",
        )
        .response(
            200,
            "A page of audit events",
            Some(page_schema(schema_ref("AuditEventView"))),
        ),
        get(audit_events),
    );
}
