//! What runs before every SlashID operation: `SlashID-API-Key` must be a grantd token
//! (a tenant token, or the operator's), `SlashID-OrgID` must name the organization (the
//! tenant) it may act on, and the token's scope must cover the operation.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{SlashIdError, SlashIdResult};
use crate::http::caller::{self, Credential, Refusal, Unauthenticated};
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
    let meta = RequestMeta::of(parts);
    let credential = match parts.headers.get(API_KEY) {
        None => Credential::Missing,
        Some(_) => header(parts, API_KEY).map_or(Credential::Malformed, Credential::Secret),
    };
    let principal = caller::identify(state, meta.client_addr, credential)
        .await
        .map_err(refused)?;
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
    caller::admit(state, &principal, &org, needed)
        .await
        .map_err(refused)?;
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

/// A refusal of the caller, in SlashID's envelope.
fn refused(refusal: Refusal) -> SlashIdError {
    match refusal {
        Refusal::Unauthenticated(Unauthenticated::Invalid) => {
            SlashIdError::new(StatusCode::UNAUTHORIZED, "the SlashID-API-Key is not valid")
        }
        Refusal::Unauthenticated(_) => SlashIdError::new(
            StatusCode::UNAUTHORIZED,
            "send a grantd token in the SlashID-API-Key header",
        ),
        Refusal::RateLimited {
            outcome,
            now,
            per_address,
        } => SlashIdError::new(
            StatusCode::TOO_MANY_REQUESTS,
            Refusal::rate_message(&outcome, now, per_address),
        ),
        Refusal::NoSuchTenant(org) => {
            SlashIdError::not_found(format!("organization {org} does not exist"))
        }
        Refusal::OtherTenant(org) => SlashIdError::new(
            StatusCode::FORBIDDEN,
            format!("this API key is not valid for organization {org}"),
        ),
        Refusal::Scope { has, needs } => SlashIdError::new(
            StatusCode::FORBIDDEN,
            format!(
                "this API key's `{}` scope does not allow this operation (it needs `{}`)",
                has.as_str(),
                needs.as_str()
            ),
        ),
        Refusal::Failed(error) => error.into(),
    }
}
