//! What runs before every Segment operation: the bearer token must be a workspace (tenant)
//! token with the scope the method needs, and the operation's rate limit must allow the
//! request. Every answer past authentication carries the limit's headers; a refused one is
//! the 429 Segment documents.

use std::time::SystemTime;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::{ErrorEntry, SegmentError};
use crate::auth::{bearer_secret, Principal};
use crate::http::caller::{self, Credential, Refusal, Unauthenticated};
use crate::http::meta::RequestMeta;
use crate::ratelimit::Outcome;
use crate::service::{Actor, Ctx, Scope};
use crate::state::AppState;

/// The authenticated caller of a Segment operation; its tenant is the workspace.
#[derive(Clone)]
pub struct Caller {
    pub ctx: Ctx,
    /// The token's scope.
    pub scope: Scope,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = SegmentError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, SegmentError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| SegmentError::unauthorized("Unauthorized"))
    }
}

/// The media types Segment answers in; the first is the default.
const MEDIA_TYPES: [&str; 4] = [
    "application/json",
    "application/vnd.segment.v1+json",
    "application/vnd.segment.v1beta+json",
    "application/vnd.segment.v1alpha+json",
];

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let meta = RequestMeta::of(&parts);
    let credential = match parts.headers.get(AUTHORIZATION) {
        None => Credential::Missing,
        Some(value) => match value.to_str().ok().and_then(bearer_secret) {
            Some(secret) => Credential::Secret(secret),
            None => Credential::Malformed,
        },
    };
    let principal = match caller::identify(&state, meta.client_addr, credential).await {
        Ok(p) => p,
        Err(refusal) => return refused(refusal),
    };
    let Principal::Tenant {
        actor,
        tenant,
        scope,
    } = &principal
    else {
        return SegmentError::unauthorized(
            "the operator token has no workspace; use a tenant token (grantd token create)",
        )
        .into_response();
    };
    let writes = parts.method != Method::GET && parts.method != Method::HEAD;
    let needed = if writes { Scope::Write } else { Scope::Read };
    if let Err(refusal) = caller::admit(&state, &principal, tenant, needed).await {
        return refused(refusal);
    }
    let operation = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let limit = if writes {
        state.config.segment_write_limit
    } else {
        state.config.segment_read_limit
    };
    let now = SystemTime::now();
    let outcome = state
        .limits
        .hit(
            &format!("segment {actor} {} {operation}", parts.method),
            limit,
            now,
        )
        .await;
    if !outcome.allowed {
        let mut response = too_many(&outcome, now);
        limit_headers(response.headers_mut(), &outcome, now);
        return response;
    }
    let media = negotiated(&parts.headers);
    parts.extensions.insert(Caller {
        ctx: Ctx {
            tenant: tenant.to_string(),
            actor: Actor {
                name: actor.to_string(),
                request_id: meta.request_id,
                client_addr: meta.client_addr,
            },
        },
        scope: *scope,
    });
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if response.status().is_success() {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(media));
    }
    limit_headers(response.headers_mut(), &outcome, now);
    response
}

/// A refusal of the caller, in Segment's envelope.
fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Unauthenticated(Unauthenticated::Invalid) => {
            SegmentError::unauthorized("the bearer token is not valid").into_response()
        }
        Refusal::Unauthenticated(_) => {
            SegmentError::unauthorized("send a workspace token as `Authorization: Bearer <token>`")
                .into_response()
        }
        Refusal::RateLimited { outcome, now, .. } => {
            let mut response = too_many(&outcome, now);
            limit_headers(response.headers_mut(), &outcome, now);
            response
        }
        Refusal::Scope { has, needs } => SegmentError::unauthorized(format!(
            "this token's `{}` scope does not allow this operation (it needs `{}`)",
            has.as_str(),
            needs.as_str()
        ))
        .into_response(),
        Refusal::NoSuchTenant(_) | Refusal::OtherTenant(_) => {
            SegmentError::unauthorized("the token is not valid for this workspace").into_response()
        }
        Refusal::Failed(error) => SegmentError::from(error).into_response(),
    }
}

/// The response media type the Accept header asks for, `application/json` by default.
fn negotiated(headers: &HeaderMap) -> &'static str {
    let accept = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .find_map(|t| MEDIA_TYPES.iter().find(|m| m.eq_ignore_ascii_case(t)))
        .copied()
        .unwrap_or(MEDIA_TYPES[0])
}

fn limit_headers(headers: &mut HeaderMap, outcome: &Outcome, now: SystemTime) {
    let reset = chrono::DateTime::<chrono::Utc>::from(outcome.reset_at).to_rfc2822();
    let pairs = [
        ("x-ratelimit-consumed", outcome.consumed.to_string()),
        ("x-ratelimit-remaining", outcome.remaining.to_string()),
        ("x-ratelimit-reset", reset),
        ("x-ratelimit-limit", outcome.limit.to_string()),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    if !outcome.allowed {
        let seconds = outcome.retry_after(now).as_secs_f64().ceil() as u64;
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
}

/// Segment's documented 429 body.
fn too_many(outcome: &Outcome, now: SystemTime) -> Response {
    SegmentError {
        status: StatusCode::TOO_MANY_REQUESTS,
        errors: vec![ErrorEntry {
            kind: "RequestError",
            message: "Too many requests".into(),
            field: None,
            data: Some(json!({
                "remainingPoints": outcome.remaining,
                "msBeforeNext": outcome.retry_after(now).as_millis() as u64,
                "consumedPoints": outcome.consumed,
            })),
        }],
    }
    .into_response()
}
