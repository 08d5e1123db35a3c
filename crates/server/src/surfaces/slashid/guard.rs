//! What runs before every SlashID operation: `SlashID-API-Key` must be a grantd token
//! (a tenant token, or the operator's), `SlashID-OrgID` must name the organization (the
//! tenant) it may act on, and the token's scope must cover the operation.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{SlashIdError, SlashIdResult};
use crate::auth::Principal;
use crate::http::meta::RequestMeta;
use crate::service::{Actor, Ctx, Scope};
use crate::state::AppState;

pub const API_KEY: &str = "slashid-api-key";
pub const ORG_ID: &str = "slashid-orgid";

/// The authenticated caller; its tenant is the organization.
#[derive(Clone)]
pub struct Caller {
    pub ctx: Ctx,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = SlashIdError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> SlashIdResult<Self> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| SlashIdError::new(StatusCode::UNAUTHORIZED, "unauthorized"))
    }
}

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    match caller(&parts, &state).await {
        Ok(caller) => {
            parts.extensions.insert(caller);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => e.into_response(),
    }
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

async fn caller(parts: &Parts, state: &AppState) -> SlashIdResult<Caller> {
    let key = header(parts, API_KEY).ok_or_else(|| {
        SlashIdError::new(
            StatusCode::UNAUTHORIZED,
            "send a grantd token in the SlashID-API-Key header",
        )
    })?;
    let principal = state.auth.authenticate(key).await?.ok_or_else(|| {
        SlashIdError::new(StatusCode::UNAUTHORIZED, "the SlashID-API-Key is not valid")
    })?;
    let org = header(parts, ORG_ID)
        .ok_or_else(|| SlashIdError::bad_request("the SlashID-OrgID header is required"))?
        .to_string();
    let needed = if parts.method == Method::GET || parts.method == Method::HEAD {
        Scope::Read
    } else if parts.uri.path().ends_with("/rbac/check") {
        Scope::Check
    } else {
        Scope::Write
    };
    match &principal {
        Principal::Operator => {
            if !state.service.tenant_exists(&org).await? {
                return Err(SlashIdError::not_found(format!(
                    "organization {org} does not exist"
                )));
            }
        }
        Principal::Tenant { tenant, scope, .. } => {
            if **tenant != *org {
                return Err(SlashIdError::new(
                    StatusCode::FORBIDDEN,
                    format!("this API key is not valid for organization {org}"),
                ));
            }
            if !scope.covers(needed) {
                return Err(SlashIdError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "this API key's `{}` scope does not allow this operation (it needs `{}`)",
                        scope.as_str(),
                        needed.as_str()
                    ),
                ));
            }
        }
    }
    let now = std::time::SystemTime::now();
    state
        .limits
        .admit(
            state.config.caller_limits(),
            &principal.actor_name(),
            &org,
            now,
        )
        .await
        .map_err(|outcome| {
            SlashIdError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "rate limit of {} requests per minute reached; retry in {} s",
                    outcome.limit,
                    outcome.retry_after(now).as_secs().max(1)
                ),
            )
        })?;
    let meta = RequestMeta::of(parts);
    Ok(Caller {
        ctx: Ctx {
            tenant: org,
            actor: Actor {
                name: principal.actor_name(),
                request_id: meta.request_id,
                client_addr: meta.client_addr,
            },
        },
    })
}
