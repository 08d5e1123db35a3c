//! What runs before every DataArts operation: authentication by an `SDK-HMAC-SHA256`
//! signature with an access key of the path's project (tenant), or by `X-Auth-Token`
//! carrying a token of that project; the scope the method needs; and the `workspace`
//! header. The body is read here, to verify the signature over its exact bytes.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, OriginalUri, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{code, DataArtsError, DataArtsResult};
use super::signature::{self, Authorization, Refusal};
use crate::auth::Principal;
use crate::http::body::{self, BodyError};
use crate::http::caller::{self, Credential, Unauthenticated};
use crate::http::meta::RequestMeta;
use crate::service::{Actor, Ctx, Scope};
use crate::state::AppState;

pub const WORKSPACE: &str = "workspace";
pub const AUTH_TOKEN: &str = "x-auth-token";

/// The authenticated caller: its tenant is the project; `workspace` the header's.
#[derive(Clone)]
pub struct Caller {
    pub ctx: Ctx,
    pub workspace: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = DataArtsError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> DataArtsResult<Self> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| DataArtsError::unauthorized(code::BAD_AUTH, "not authenticated"))
    }
}

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let bytes = match body::read(body, state.config.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(BodyError::Unreadable(message)) => {
            return DataArtsError::invalid("body", message).into_response()
        }
        Err(_) => {
            return DataArtsError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::INVALID,
                "the request body is larger than the server accepts",
            )
            .into_response()
        }
    };
    let project = project_of(&mut parts, &state).await;
    match caller(&parts, &state, &project, &bytes).await {
        Ok(caller) => {
            parts.extensions.insert(caller);
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(e) => e.into_response(),
    }
}

/// The project id the path names (`/v1/{project_id}/security/...`), percent-decoded.
async fn project_of(parts: &mut Parts, state: &AppState) -> String {
    RawPathParams::from_request_parts(parts, state)
        .await
        .ok()
        .and_then(|params| {
            params
                .iter()
                .find(|(name, _)| *name == "project_id")
                .map(|(_, v)| v.to_string())
        })
        .unwrap_or_default()
}

async fn caller(
    parts: &Parts,
    state: &AppState,
    project: &str,
    body: &Bytes,
) -> DataArtsResult<Caller> {
    let project = project.to_string();
    let meta = RequestMeta::of(parts);
    let authorization = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match authorization {
        Some(value) if value.starts_with(signature::ALGORITHM) => {
            caller::gate(state, meta.client_addr).map_err(refused)?;
            match signed(parts, state, &project, value, body).await {
                Ok(principal) => principal,
                Err(e) if e.status == StatusCode::UNAUTHORIZED => {
                    let why = Unauthenticated::Invalid;
                    return Err(match caller::failed(state, meta.client_addr, why) {
                        caller::Refusal::Unauthenticated(_) => e,
                        limited => refused(limited),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        _ => {
            let credential = match parts.headers.get(AUTH_TOKEN) {
                None => Credential::Missing,
                Some(v) => v
                    .to_str()
                    .ok()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map_or(Credential::Malformed, Credential::Secret),
            };
            caller::identify(state, meta.client_addr, credential)
                .await
                .map_err(refused)?
        }
    };
    let needed = if parts.method == Method::GET {
        Scope::Read
    } else {
        Scope::Write
    };
    caller::admit(state, &principal, &project, needed)
        .await
        .map_err(refused)?;
    let workspace = parts
        .headers
        .get(WORKSPACE)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .ok_or_else(|| DataArtsError::invalid("workspace", "the workspace header is required"))?
        .to_string();
    Ok(Caller {
        ctx: Ctx {
            tenant: project,
            actor: Actor {
                name: principal.actor_name(),
                request_id: meta.request_id,
                client_addr: meta.client_addr,
            },
        },
        workspace,
    })
}

/// A refusal of the caller, in DataArts' envelope.
fn refused(refusal: caller::Refusal) -> DataArtsError {
    match refusal {
        caller::Refusal::Unauthenticated(Unauthenticated::Invalid) => DataArtsError::unauthorized(
            code::BAD_AUTH,
            "Incorrect IAM authentication information: the X-Auth-Token is not valid",
        ),
        caller::Refusal::Unauthenticated(_) => DataArtsError::unauthorized(
            code::BAD_AUTH,
            "Incorrect IAM authentication information: sign the request (SDK-HMAC-SHA256) or send X-Auth-Token",
        ),
        caller::Refusal::RateLimited {
            outcome,
            now,
            per_address,
        } => DataArtsError::new(
            StatusCode::TOO_MANY_REQUESTS,
            code::THROTTLED,
            format!(
                "The throttling threshold has been reached: {}",
                caller::Refusal::rate_message(&outcome, now, per_address)
            ),
        ),
        caller::Refusal::NoSuchTenant(project) => DataArtsError::new(
            StatusCode::FORBIDDEN,
            code::FORBIDDEN,
            format!("project {project} does not exist"),
        ),
        caller::Refusal::OtherTenant(project) => DataArtsError::new(
            StatusCode::FORBIDDEN,
            code::FORBIDDEN,
            format!("these credentials are not valid for project {project}"),
        ),
        caller::Refusal::Scope { has, needs } => DataArtsError::new(
            StatusCode::FORBIDDEN,
            code::FORBIDDEN,
            format!(
                "these credentials' `{}` scope does not allow this operation (it needs `{}`)",
                has.as_str(),
                needs.as_str()
            ),
        ),
        caller::Refusal::Failed(error) => error.into(),
    }
}

/// The principal of a signed request: the access key's, if the signature holds.
async fn signed(
    parts: &Parts,
    state: &AppState,
    project: &str,
    value: &str,
    body: &Bytes,
) -> DataArtsResult<Principal> {
    let refused = |why: &str| {
        DataArtsError::unauthorized(
            code::BAD_AUTH,
            format!("Incorrect IAM authentication information: {why}"),
        )
    };
    let auth = Authorization::parse(value).ok_or_else(|| refused("malformed Authorization"))?;
    let (key, secret_key) = state
        .service
        .access_key(project, &auth.access)
        .await?
        .ok_or_else(|| refused("verify aksk signature fail"))?;
    let now = chrono::Utc::now().timestamp();
    // The URI as sent: nesting strips the router's prefix from `parts.uri`.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map(|OriginalUri(u)| u.clone())
        .unwrap_or_else(|| parts.uri.clone());
    signature::verify(
        &auth,
        &secret_key,
        &parts.method,
        uri.path(),
        uri.query(),
        &parts.headers,
        body,
        now,
    )
    .map_err(|refusal| match refusal {
        Refusal::Expired => DataArtsError::unauthorized(
            code::EXPIRED,
            "Incorrect app authentication information: signature expired (X-Sdk-Date is more than 15 minutes from the server's time)",
        ),
        Refusal::NoDate => refused("X-Sdk-Date is missing or malformed"),
        Refusal::Mismatch => refused("verify aksk signature fail"),
        Refusal::Payload => refused(
            "X-Sdk-Content-Sha256 must be signed and be the SHA-256 of the body (UNSIGNED-PAYLOAD only without a body)",
        ),
        Refusal::QueryOrder => {
            refused("a repeated query parameter's values must be sent in sorted order, as signed")
        }
    })?;
    Ok(crate::auth::principal_of(key))
}
