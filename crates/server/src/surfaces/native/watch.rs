//! The change stream: `GET /v1/tenants/{tenant}/watch?after=REV` answers Server-Sent Events,
//! one per committed change in revision order, each with `id: <revision>`. A client that
//! reconnects with `Last-Event-ID` (or `after`) resumes with nothing lost and nothing
//! repeated.
//!
//! Streams read what this node's index applies (its broadcast of change records): a
//! change is read from the store once, whatever the number of streams. A stream reads the
//! store itself only to catch up (a resume from an older revision, or after falling more
//! than the broadcast holds behind), and then only revisions the index has applied, of
//! the index's incarnation of the tenant.
//!
//! A stream ends when the server shuts down, when its token is revoked (at the change that
//! revokes it, which it does not deliver), and when its tenant is deleted (its index is
//! dropped or replaced by another incarnation's): a tenant created again under the same
//! id is another tenant, which an old stream never sees.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Weak};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream};
use grantd_store::{ChangeOp, ChangeRecord};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::sync::watch;

use super::access::{Read, TenantAccess};
use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
use super::feed::change_view;
use super::routes::{Api, Auth, Operation};
use crate::index::TenantIndex;
use crate::service::{without_credentials, Consistency, Scope, Service, ServiceError};
use crate::state::AppState;

const BATCH: u32 = 100;

#[derive(Deserialize)]
struct WatchQuery {
    after: Option<i64>,
}

struct Cursor {
    service: Service,
    tenant: String,
    after: i64,
    /// The caller's token, whose revocation ends the stream; `None` for the operator.
    token: Option<String>,
    index: Weak<TenantIndex>,
    incarnation: i64,
    changes: broadcast::Receiver<Arc<ChangeRecord>>,
    pending: VecDeque<Arc<ChangeRecord>>,
    /// Whether the caller sees the tenant's tokens and access keys (`admin`).
    credentials: bool,
    stopping: watch::Receiver<bool>,
}

/// Why a stream stops reading.
struct End;

impl Cursor {
    /// Whether the change revokes the caller's token.
    fn revokes_caller(&self, change: &ChangeRecord) -> bool {
        self.token.as_deref().is_some_and(|token| {
            change.ops.iter().any(|op| {
                matches!(op, ChangeOp::Delete { kind, key } if kind == "token" && key == token)
            })
        })
    }

    /// The index this stream follows, while it is still the tenant's on this node.
    fn index(&self) -> Result<Arc<TenantIndex>, End> {
        let index = self.index.upgrade().ok_or(End)?;
        match self.service.tenant_index(&self.tenant) {
            Some(current) if Arc::ptr_eq(&current, &index) => Ok(index),
            _ => Err(End),
        }
    }

    /// Takes a change from the broadcast: the next one is queued; one already delivered
    /// is skipped; one after a gap sends the stream to the store for what is missing.
    async fn take(&mut self, change: Arc<ChangeRecord>) -> Result<(), End> {
        let last = self.pending.back().map_or(self.after, |c| c.revision);
        if change.revision <= last {
            return Ok(());
        }
        if change.revision > last + 1 {
            self.read_store(change.revision - 1).await?;
        }
        self.pending.push_back(change);
        Ok(())
    }

    /// Reads from the store the changes after the last queued one, up to `up_to`.
    async fn read_store(&mut self, up_to: i64) -> Result<(), End> {
        let mut last = self.pending.back().map_or(self.after, |c| c.revision);
        while last < up_to {
            let read = self
                .service
                .changes_of(&self.tenant, self.incarnation, last, up_to, BATCH)
                .await;
            let page = match read {
                Ok(page) => page,
                Err(ServiceError::NotFound(_)) => return Err(End),
                Err(error) => {
                    tracing::warn!(tenant = %self.tenant, %error, "watch stream ends: cannot read changes");
                    return Err(End);
                }
            };
            let Some(newest) = page.last().map(|c| c.revision) else {
                break;
            };
            self.pending.extend(page.into_iter().map(Arc::new));
            last = newest;
        }
        Ok(())
    }

    /// Fills `pending` with at least one change, or ends.
    async fn fill(&mut self) -> Result<(), End> {
        loop {
            if *self.stopping.borrow() {
                return Err(End);
            }
            let applied = self.index()?.snapshot().revision();
            match self.changes.try_recv() {
                Ok(change) => self.take(change).await?,
                Err(TryRecvError::Lagged(_)) => self.read_store(applied).await?,
                Err(TryRecvError::Closed) => return Err(End),
                Err(TryRecvError::Empty) if applied > self.after => {
                    self.read_store(applied).await?;
                }
                Err(TryRecvError::Empty) => {
                    tokio::select! {
                        received = self.changes.recv() => match received {
                            Ok(change) => self.take(change).await?,
                            Err(RecvError::Lagged(_)) => {}
                            Err(RecvError::Closed) => return Err(End),
                        },
                        _ = self.stopping.changed() => return Err(End),
                    }
                }
            }
            if !self.pending.is_empty() {
                return Ok(());
            }
        }
    }
}

/// The next event, or `None` when the stream should end.
async fn next_event(mut c: Cursor) -> Option<(Result<Event, Infallible>, Cursor)> {
    if c.pending.is_empty() {
        c.fill().await.ok()?;
    }
    let change = c.pending.pop_front()?;
    if c.revokes_caller(&change) {
        return None;
    }
    c.after = change.revision;
    let change = ChangeRecord::clone(&change);
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
    Some((Ok(event), c))
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
    // A tenant created a moment ago on another node may not have its index here yet.
    state
        .service
        .snapshot(&tenant, Consistency::MinimizeLatency)
        .await?;
    let index = state
        .service
        .tenant_index(&tenant)
        .ok_or_else(|| ServiceError::NotFound(format!("tenant {tenant}")))?;
    let cursor = Cursor {
        // Subscribed before anything is read, so that nothing applied from now on is missed.
        changes: index.changes(),
        index: Arc::downgrade(&index),
        incarnation: index.incarnation(),
        service: state.service.clone(),
        token: access
            .ctx
            .actor
            .name
            .strip_prefix("token:")
            .map(str::to_string),
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
