//! The audit trail: every change in revision order, filtered by time, actor and target,
//! a page at a time; the hash chain verified on demand; and new events appearing as they
//! are committed (the page's script asks for the rows after the last one it shows).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use grantd_core::model::Timestamp;
use grantd_store::{AuditFilter, AuditRecord};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::secure;
use super::session::{page, said, Visitor};
use super::{encode, Base};
use crate::service::{Scope, ServiceError};
use crate::state::AppState;

/// Events on one page.
const PAGE: u32 = 50;

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    actor: String,
    /// `kind:key`.
    #[serde(default)]
    target: String,
    /// From and to, UTC (`2026-11-30T09:00` or RFC 3339).
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// Events after this revision.
    #[serde(default)]
    after: Option<i64>,
}

/// A time a filter names: RFC 3339, or a form's `YYYY-MM-DDTHH:MM` read as UTC.
fn instant(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = Timestamp::parse(text) {
        return Ok(Some(t.0));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .map(|t| Some(t.and_utc().timestamp_millis()))
        .map_err(|_| format!("{text:?} is not a time such as 2026-11-30T09:00 (UTC)"))
}

impl Filters {
    fn store_filter(&self, limit: u32) -> Result<AuditFilter, String> {
        let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        Ok(AuditFilter {
            after: self.after.unwrap_or(0),
            from: instant(&self.from)?,
            to: instant(&self.to)?,
            actor: text(&self.actor),
            target: text(&self.target),
            mentions: Vec::new(),
            limit,
        })
    }

    fn query(&self, after: i64) -> String {
        format!(
            "actor={}&target={}&from={}&to={}&after={after}",
            encode(&self.actor),
            encode(&self.target),
            encode(&self.from),
            encode(&self.to)
        )
    }
}

fn rows(events: &[AuditRecord]) -> Markup {
    html! {
        @for event in events {
            tr data-revision=(event.revision) {
                td { (event.revision) }
                td { (Timestamp(event.at).to_rfc3339()) }
                td { code { (event.entry.actor) } }
                td { (event.entry.action) }
                td { code { (event.entry.target) } }
                td { code { (event.entry.detail.as_ref().map(|d| d.to_string()).unwrap_or_default()) } }
            }
        }
    }
}

pub async fn trail(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(filters): Query<Filters>,
) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(visitor.page_for(&state, Scope::Read).await);
    let listed = match filters.store_filter(PAGE) {
        Ok(filter) => state
            .service
            .audit_events(&session.tenant, &filter)
            .await
            .map_err(|e| said(e).1),
        Err(message) => Err(message),
    };
    let body = html! {
        h1 { "Audit trail" }
        form.search method="get" action=(base.link("/audit")) {
            div { label for="actor" { "Actor" } input #actor type="text" name="actor" value=(filters.actor); }
            div { label for="target" { "Target " span.hint { "(kind:key)" } } input #target type="text" name="target" value=(filters.target); }
            div { label for="from" { "From (UTC)" } input #from type="datetime-local" name="from" value=(filters.from); }
            div { label for="to" { "To (UTC)" } input #to type="datetime-local" name="to" value=(filters.to); }
            button type="submit" { "Filter" }
        }
        p {
            a #verify href=(base.link("/audit/verify")) { "Verify the hash chain" }
        }
        @match &listed {
            Err(message) => p.error role="alert" { (message) },
            Ok(found) => {
                // The last page follows new events as they come; an earlier one stays put.
                @let live = found.next.is_none().then(|| format!("{}?{}", base.link("/audit/rows"), filters.query(0)));
                table #trail data-rows=[live] {
                    thead { tr {
                        th scope="col" { "Revision" } th scope="col" { "When" } th scope="col" { "Actor" }
                        th scope="col" { "Action" } th scope="col" { "Target" } th scope="col" { "Detail" }
                    } }
                    tbody { (rows(&found.items)) }
                }
                @if found.next.is_none() {
                    p.hint #live role="status" { "New events appear here as they are committed." }
                }
                @if let Some(next) = found.next.as_deref().and_then(|n| n.parse::<i64>().ok()) {
                    div.pager { a rel="next" href=(format!("{}?{}", base.link("/audit"), filters.query(next))) { "Next page" } }
                }
            }
        }
    };
    page(&base, &session, "Audit trail", body).into_response()
}

/// The rows after `after` that match the filters, for the page's script to add.
pub async fn more_rows(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(filters): Query<Filters>,
) -> Response {
    let session = or_answer!(visitor.page_for(&state, Scope::Read).await);
    let found = match filters.store_filter(PAGE) {
        Ok(filter) => state.service.audit_events(&session.tenant, &filter).await,
        Err(message) => Err(ServiceError::Invalid(grantd_core::Invalid::field(
            "from", message,
        ))),
    };
    let mut response = match found {
        Ok(found) => rows(&found.items).into_string().into_response(),
        Err(error) => said(error).into_response(),
    };
    secure(&mut response, "text/html; charset=utf-8");
    response
}

/// Verifies the tenant's hash chain, from its first event to its last.
pub async fn verify(State(state): State<AppState>, visitor: Visitor) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(visitor.page_for(&state, Scope::Read).await);
    let body = match state.service.verify_audit(&session.tenant).await {
        Ok(Ok(report)) => html! {
            h1 { "Audit trail: verified" }
            p.notice #chain role="status" {
                "The chain holds: " (report.events) " events, revisions " (report.first) " to " (report.last)
                ", each hash recomputed and naming its predecessor's."
            }
            p { "Its head (keep it elsewhere to anchor later checks): " code { (report.head) } }
        },
        Ok(Err(broken)) => html! {
            h1 { "Audit trail: broken" }
            p.error #chain role="alert" { (broken.to_string()) }
        },
        Err(error) => html! { p.error role="alert" { (said(error).1) } },
    };
    page(
        &base,
        &session,
        "Audit trail",
        html! {
            (body)
            p { a href=(base.link("/audit")) { "Back to the trail" } }
        },
    )
    .into_response()
}
