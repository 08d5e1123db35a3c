//! The change stream: `GET /v1/tenants/{tenant}/watch?after=REV` answers Server-Sent Events,
//! one per committed change in revision order, each with `id: <revision>`. A client that
//! reconnects with `Last-Event-ID` (or `after`) resumes with nothing lost and nothing
//! repeated. The stream ends when the server shuts down.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream};
use grantd_store::ChangeRecord;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use super::access::{Read, TenantAccess};
use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
use super::feed::change_view;
use super::routes::{Api, Auth, Operation};
use crate::service::{without_credentials, Scope, Service};
use crate::state::AppState;

const BATCH: u32 = 100;
/// How long to wait for a wake-up before looking at the store anyway.
const IDLE: Duration = Duration::from_secs(1);

#[derive(Deserialize)]
struct WatchQuery {
    after: Option<i64>,
}

struct Cursor {
    service: Service,
    tenant: String,
    after: i64,
    pending: VecDeque<ChangeRecord>,
    /// Whether the caller sees the tenant's tokens and access keys (`admin`).
    credentials: bool,
    applied: Option<watch::Receiver<i64>>,
    stopping: watch::Receiver<bool>,
}

/// The next event, or `None` when the stream should end.
async fn next_event(mut c: Cursor) -> Option<(Result<Event, Infallible>, Cursor)> {
    loop {
        if *c.stopping.borrow() {
            return None;
        }
        if let Some(change) = c.pending.pop_front() {
            c.after = change.revision;
            let change = if c.credentials {
                change
            } else {
                without_credentials(change)
            };
            let event = Event::default()
                .id(change.revision.to_string())
                .event("change")
                .json_data(change_view(change))
                .unwrap_or_else(|_| Event::default().comment("unencodable change"));
            return Some((Ok(event), c));
        }
        match c.service.changes(&c.tenant, c.after, BATCH).await {
            Ok(page) if !page.items.is_empty() => c.pending.extend(page.items),
            Ok(_) => {
                let woken = async {
                    match c.applied.as_mut() {
                        Some(rx) => rx.changed().await.is_ok(),
                        None => {
                            tokio::time::sleep(IDLE).await;
                            true
                        }
                    }
                };
                tokio::select! {
                    alive = woken => if !alive { return None },
                    _ = tokio::time::sleep(IDLE) => {},
                    _ = c.stopping.changed() => return None,
                }
            }
            Err(error) => {
                tracing::warn!(tenant = %c.tenant, %error, "watch stream ends: cannot read changes");
                return None;
            }
        }
    }
}

async fn watch_changes(
    State(state): State<AppState>,
    access: TenantAccess<Read>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<WatchQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let credentials = access.sees_credentials();
    let tenant = access.ctx.tenant;
    let resume = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(|| {
                    ApiError::new("bad_request", "Last-Event-ID must be a revision number")
                })?,
        ),
        None => query.after,
    };
    let after = match resume {
        Some(after) => after,
        None => state.service.revision(&tenant).await?.unwrap_or(0),
    };
    let cursor = Cursor {
        applied: state.service.applied_revisions(&tenant),
        service: state.service.clone(),
        tenant,
        after,
        pending: VecDeque::new(),
        credentials,
        stopping: state.stopping.clone(),
    };
    let events = stream::unfold(cursor, next_event);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

pub fn register(api: &mut Api) {
    api.add(
        Operation::new("get", "/v1/tenants/{tenant}/watch", "watch", "feed", Auth::Tenant(Scope::Read))
            .summary("Stream committed changes as Server-Sent Events (`event: change`, `id: <revision>`), from `after` or `Last-Event-ID`, else from now")
            .query("after", "Stream changes with a revision above this one.")
            .response(200, "text/event-stream of ChangeView events", Some(json!({"type": "string"}))),
        get(watch_changes),
    );
}
